//! A fake Amazon Lightsail endpoint: awsJson1.1 `GetInstanceMetricData` with the real service's quirks, plus injectable faults.
//!
//! Point the binary at it with `AWS_ENDPOINT_URL_LIGHTSAIL=<url()>` (see [`FakeLightsail::env`]).
//!
//! What it does like the real service (and where it had to choose):
//! - Every input is required; `period` is 60..=86400 and a multiple of 60; `startTime` <
//!   `endTime`; more than 1,440 periods in the range is an error. All of these are
//!   HTTP 400 `InvalidInputException`. Enum values (metric, unit, statistics) are checked
//!   against the Lightsail model.
//! - The range is **start-inclusive, end-exclusive** on the period's start timestamp, as
//!   CloudWatch's GetMetricStatistics documents (Lightsail's own reference is silent).
//! - Stored points are aggregated into `period` buckets counted from `startTime`
//!   (sum/min/max/sampleCount combined, average weighted by sampleCount); a bucket's
//!   timestamp is its earliest stored point, so a period below the stored spacing gives the
//!   stored (native) points back unchanged, as Lightsail does.
//! - Only the requested statistics appear; datapoints come in a shuffled order (never
//!   ascending); timestamps are written as Java writes doubles, `1.7640003E9`.
//! - A unit other than the stored one: HTTP 200 with `metricData: []`.
//! - Unknown instance: HTTP 400 `NotFoundException` with Lightsail's `code`/`docs`/`tip`
//!   members. Note the body's `code` (`NotFound`) is what the Rust SDK reads when the
//!   `x-amzn-ErrorType` header is absent (see [`FakeLightsail::without_error_type_header`]).
//! - Throttling: HTTP 400 `ThrottlingException` "Rate exceeded" (not 429), which the SDK's
//!   standard retry classifies as throttling. Server faults: HTTP 500 `ServiceException`.
//! - An unknown `X-Amz-Target`: `UnknownOperationException`, HTTP 404 as AWS documents it.

use super::http::{Background, header, read_body, respond};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tiny_http::Request;

/// The `X-Amz-Target` of the one operation served.
pub const GET_INSTANCE_METRIC_DATA: &str = "Lightsail_20161128.GetInstanceMetricData";

/// Most periods one call may span (Lightsail and CloudWatch: 1,440 datapoints).
pub const MAX_DATAPOINTS: i64 = 1440;

const METRIC_NAMES: &[&str] = &[
    "BurstCapacityPercentage",
    "BurstCapacityTime",
    "CPUUtilization",
    "DiskQueueLength",
    "DiskReadBytes",
    "DiskReadOps",
    "DiskTotalReadTime",
    "DiskTotalWriteTime",
    "DiskWriteBytes",
    "DiskWriteOps",
    "MetadataNoToken",
    "NetworkIn",
    "NetworkOut",
    "StatusCheckFailed",
    "StatusCheckFailed_Instance",
    "StatusCheckFailed_System",
];

const UNITS: &[&str] = &[
    "Bits",
    "Bits/Second",
    "Bytes",
    "Bytes/Second",
    "Count",
    "Count/Second",
    "Gigabits",
    "Gigabits/Second",
    "Gigabytes",
    "Gigabytes/Second",
    "Kilobits",
    "Kilobits/Second",
    "Kilobytes",
    "Kilobytes/Second",
    "Megabits",
    "Megabits/Second",
    "Megabytes",
    "Megabytes/Second",
    "Microseconds",
    "Milliseconds",
    "None",
    "Percent",
    "Seconds",
    "Terabits",
    "Terabits/Second",
    "Terabytes",
    "Terabytes/Second",
];

/// Statistic names as requested, and the member each one fills in a datapoint.
const STATISTICS: &[(&str, &str)] = &[
    ("Average", "average"),
    ("Sum", "sum"),
    ("Maximum", "maximum"),
    ("Minimum", "minimum"),
    ("SampleCount", "sampleCount"),
];

const DOCS: &str = "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference";

/// One stored datapoint: every statistic of one period, starting at `timestamp` (epoch s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Datapoint {
    pub timestamp: i64,
    pub average: f64,
    pub sum: f64,
    pub maximum: f64,
    pub minimum: f64,
    pub sample_count: f64,
}

impl Datapoint {
    /// A period with one sample: `value` is its average, sum, maximum and minimum.
    pub fn single(timestamp: i64, value: f64) -> Datapoint {
        Datapoint {
            timestamp,
            average: value,
            sum: value,
            maximum: value,
            minimum: value,
            sample_count: 1.0,
        }
    }

    fn statistic(&self, member: &str) -> f64 {
        match member {
            "average" => self.average,
            "sum" => self.sum,
            "maximum" => self.maximum,
            "minimum" => self.minimum,
            _ => self.sample_count,
        }
    }

    /// Combines the points of one bucket as CloudWatch combines statistic sets.
    fn aggregate(points: &[Datapoint]) -> Datapoint {
        if let [only] = points {
            return *only;
        }
        let sample_count: f64 = points.iter().map(|p| p.sample_count).sum();
        let weighted: f64 = points.iter().map(|p| p.average * p.sample_count).sum();
        Datapoint {
            timestamp: points.iter().map(|p| p.timestamp).min().unwrap_or_default(),
            average: if sample_count > 0.0 {
                weighted / sample_count
            } else {
                0.0
            },
            sum: points.iter().map(|p| p.sum).sum(),
            maximum: points
                .iter()
                .map(|p| p.maximum)
                .fold(f64::NEG_INFINITY, f64::max),
            minimum: points
                .iter()
                .map(|p| p.minimum)
                .fold(f64::INFINITY, f64::min),
            sample_count,
        }
    }
}

/// A request as the fake saw it, and what it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `X-Amz-Target`, e.g. `Lightsail_20161128.GetInstanceMetricData`.
    pub target: Option<String>,
    /// The JSON body (`Value::Null` when it did not parse).
    pub body: Value,
    /// The region of the SigV4 credential scope (`Credential=AKID/date/REGION/service/aws4_request`).
    pub region: Option<String>,
    /// The service of the SigV4 credential scope (`lightsail`).
    pub service: Option<String>,
    /// Every header, names lower-cased (e.g. `amz-sdk-request: attempt=2; max=5`).
    pub headers: BTreeMap<String, String>,
    /// The HTTP status the fake answered.
    pub status: u16,
    /// The error type answered (`__type`), if any.
    pub error: Option<String>,
}

impl RecordedRequest {
    /// The body's `instanceName`.
    pub fn instance(&self) -> Option<&str> {
        self.body.get("instanceName").and_then(Value::as_str)
    }

    /// The body's `metricName`.
    pub fn metric(&self) -> Option<&str> {
        self.body.get("metricName").and_then(Value::as_str)
    }

    /// The SDK's attempt number, from `amz-sdk-request: attempt=N; max=M`.
    pub fn attempt(&self) -> Option<u32> {
        let value = self.headers.get("amz-sdk-request")?;
        value
            .split(';')
            .find_map(|part| part.trim().strip_prefix("attempt="))
            .and_then(|n| n.parse().ok())
    }
}

#[derive(Default)]
struct Faults {
    /// Answer the next n calls with a throttling error.
    throttle: usize,
    /// Answer the next n calls with HTTP 500.
    server_error: usize,
    /// Answer every call with this status (and a matching error), until cleared.
    always: Option<u16>,
    /// Hold every answer this long (for concurrency and timeout tests).
    delay: Duration,
}

struct Series {
    unit: String,
    points: BTreeMap<i64, Datapoint>,
}

#[derive(Default)]
struct State {
    /// instance -> metric -> stored series.
    instances: BTreeMap<String, BTreeMap<String, Series>>,
    faults: HashMap<String, Faults>,
    requests: Vec<RecordedRequest>,
    error_type_header: bool,
    /// Seed of the shuffle and of request ids, advanced per call.
    calls: u64,
    in_flight: usize,
    max_in_flight: usize,
}

/// A fake Lightsail on `127.0.0.1:<free port>`, serving until dropped.
pub struct FakeLightsail {
    state: Arc<Mutex<State>>,
    server: Background,
}

/// An answer: status, error type (for the header), body.
struct Reply {
    status: u16,
    error: Option<&'static str>,
    body: String,
}

impl FakeLightsail {
    pub fn start() -> FakeLightsail {
        let state = Arc::new(Mutex::new(State {
            error_type_header: true,
            ..State::default()
        }));
        let server = {
            let state = state.clone();
            Background::start("fake-lightsail", move |request| handle(&state, request))
        };
        FakeLightsail { state, server }
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_LIGHTSAIL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// `[("AWS_ENDPOINT_URL_LIGHTSAIL", url)]`, for `Command::envs`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("AWS_ENDPOINT_URL_LIGHTSAIL".to_owned(), self.url())]
    }

    /// Makes `name` exist, with no data yet.
    pub fn add_instance(&self, name: &str) {
        self.lock().instances.entry(name.to_owned()).or_default();
    }

    /// Stores one-sample periods: each `(timestamp, value)` stands for every statistic
    /// (sampleCount 1). `timestamp` is the period's start, epoch seconds. Creates the
    /// instance if needed; replaces points at the same timestamp. `unit` is the unit the
    /// metric is published in: a request for any other unit gets no data.
    pub fn add_points(&self, instance: &str, metric: &str, unit: &str, points: &[(i64, f64)]) {
        let points: Vec<Datapoint> = points
            .iter()
            .map(|&(t, v)| Datapoint::single(t, v))
            .collect();
        self.add_datapoints(instance, metric, unit, &points);
    }

    /// Stores periods with a value per statistic.
    pub fn add_datapoints(&self, instance: &str, metric: &str, unit: &str, points: &[Datapoint]) {
        let mut state = self.lock();
        let metrics = state.instances.entry(instance.to_owned()).or_default();
        let series = metrics.entry(metric.to_owned()).or_insert_with(|| Series {
            unit: unit.to_owned(),
            points: BTreeMap::new(),
        });
        assert_eq!(
            series.unit, unit,
            "{instance}/{metric} is stored in {}; one metric has one published unit",
            series.unit
        );
        for point in points {
            series.points.insert(point.timestamp, *point);
        }
    }

    /// The next `n` calls for `instance` answer HTTP 400 `ThrottlingException`.
    pub fn throttle(&self, instance: &str, n: usize) {
        self.lock()
            .faults
            .entry(instance.to_owned())
            .or_default()
            .throttle += n;
    }

    /// The next `n` calls for `instance` answer HTTP 500 `ServiceException`.
    pub fn server_error(&self, instance: &str, n: usize) {
        self.lock()
            .faults
            .entry(instance.to_owned())
            .or_default()
            .server_error += n;
    }

    /// Every call for `instance` fails with `status` until [`clear_faults`](Self::clear_faults):
    /// 400 `InvalidInputException`, 401 `UnauthenticatedException`, 403
    /// `AccessDeniedException`, 404 `NotFoundException` (sent as HTTP 400, as Lightsail
    /// does), 429 or any other 4xx `ThrottlingException` (HTTP 400), 5xx `ServiceException`.
    pub fn always_fail(&self, instance: &str, status: u16) {
        self.lock()
            .faults
            .entry(instance.to_owned())
            .or_default()
            .always = Some(status);
    }

    /// Every answer for `instance` is held back for `delay` (concurrency, timeouts).
    pub fn delay(&self, instance: &str, delay: Duration) {
        self.lock()
            .faults
            .entry(instance.to_owned())
            .or_default()
            .delay = delay;
    }

    /// Removes every fault and delay set for `instance`.
    pub fn clear_faults(&self, instance: &str) {
        self.lock().faults.remove(instance);
    }

    /// Whether error answers carry the `x-amzn-ErrorType` header (default: yes). Without
    /// it the Rust SDK takes the code from the body, where Lightsail's `code` member
    /// (`NotFound`, `InvalidInput`, …) wins over `__type`: the SDK then reports an
    /// unmodeled error with code `NotFound` instead of a typed `NotFoundException`. Public
    /// reports of Lightsail clients getting the base exception for "not found" suggest the
    /// real service may answer that way, so the binary should handle both.
    pub fn without_error_type_header(&self) {
        self.lock().error_type_header = false;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many requests named `instance` (faulted ones and retries included).
    pub fn calls_for(&self, instance: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.instance() == Some(instance))
            .count()
    }

    /// The most requests that were being answered at the same time (see [`delay`](Self::delay)).
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test thread must not hide every later answer behind a poisoned lock.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn handle(state: &Mutex<State>, mut request: Request) {
    let text = read_body(&mut request);
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let target = header(&request, "x-amz-target");
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let (region, service) = credential_scope(headers.get("authorization").map(String::as_str));

    let (reply, delay, call, with_header) = {
        let mut state = lock(state);
        state.calls += 1;
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let call = state.calls;
        let reply = answer(&mut state, request.url(), target.as_deref(), &body, call);
        let delay = instance_of(&body)
            .and_then(|i| state.faults.get(i))
            .map(|f| f.delay)
            .unwrap_or_default();
        state.requests.push(RecordedRequest {
            target,
            body,
            region,
            service,
            headers,
            status: reply.status,
            error: reply.error.map(str::to_owned),
        });
        (reply, delay, call, state.error_type_header)
    };

    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let request_id = format!("5f0c1a2b-{:04x}-4d3e-8f90-{call:012x}", call & 0xffff);
    let mut headers = vec![
        ("Content-Type", "application/x-amz-json-1.1".to_owned()),
        ("x-amzn-RequestId", request_id),
    ];
    if let (Some(error), true) = (reply.error, with_header) {
        headers.push((
            "x-amzn-ErrorType",
            format!("{error}:{}", error_namespace(error)),
        ));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    respond(request, reply.status, &headers, reply.body);
    let mut state = lock(state);
    state.in_flight = state.in_flight.saturating_sub(1);
}

fn instance_of(body: &Value) -> Option<&str> {
    body.get("instanceName").and_then(Value::as_str)
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/lightsail/aws4_request, ...` ->
/// (`us-east-1`, `lightsail`).
fn credential_scope(authorization: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(credential) = authorization
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|rest| rest.split([',', ' ']).next())
    else {
        return (None, None);
    };
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [_, _, region, service, ..] => (Some((*region).to_owned()), Some((*service).to_owned())),
        _ => (None, None),
    }
}

/// The Coral namespace suffix real services put after the code in `x-amzn-ErrorType`
/// (the SDK strips everything from the `:`).
fn error_namespace(error: &str) -> &'static str {
    match error {
        "ThrottlingException" => "http://internal.amazon.com/coral/com.amazon.coral.availability/",
        "UnknownOperationException" | "SerializationException" => {
            "http://internal.amazon.com/coral/com.amazon.coral.service/"
        }
        _ => "http://internal.amazon.com/coral/com.amazonaws.lightsail/",
    }
}

fn answer(state: &mut State, url: &str, target: Option<&str>, body: &Value, call: u64) -> Reply {
    if url != "/" || target != Some(GET_INSTANCE_METRIC_DATA) {
        let message = format!(
            "Unknown operation {}",
            target.unwrap_or("(no X-Amz-Target)")
        );
        return plain_error(404, "UnknownOperationException", &message);
    }
    let Some(input) = body.as_object() else {
        return plain_error(
            400,
            "SerializationException",
            "Start of structure or map found where not expected.",
        );
    };

    // Faults first: the front door throttles before the service looks at the input.
    if let Some(faults) = instance_of(body).and_then(|i| state.faults.get_mut(i)) {
        if let Some(status) = faults.always {
            return fault(status);
        }
        if faults.throttle > 0 {
            faults.throttle -= 1;
            return fault(429);
        }
        if faults.server_error > 0 {
            faults.server_error -= 1;
            return fault(500);
        }
    }

    let query = match Query::parse(input) {
        Ok(query) => query,
        Err(message) => {
            return lightsail_error(400, "InvalidInputException", "InvalidInput", &message);
        }
    };
    let Some(metrics) = state.instances.get(&query.instance) else {
        let message = format!("The Instance does not exist: {}", query.instance);
        return lightsail_error(400, "NotFoundException", "NotFound", &message);
    };
    let points = match metrics.get(&query.metric) {
        Some(series) if series.unit == query.unit => query.select(series),
        _ => Vec::new(),
    };
    Reply {
        status: 200,
        error: None,
        body: query.render(points, call),
    }
}

/// A validated `GetInstanceMetricData` input.
struct Query {
    instance: String,
    metric: String,
    period: i64,
    start: f64,
    end: f64,
    unit: String,
    /// (requested name, datapoint member)
    statistics: Vec<(&'static str, &'static str)>,
}

impl Query {
    fn parse(input: &Map<String, Value>) -> Result<Query, String> {
        let required = [
            "instanceName",
            "metricName",
            "period",
            "startTime",
            "endTime",
            "unit",
            "statistics",
        ];
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|k| input.get(*k).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "Missing required parameter(s): {}",
                missing.join(", ")
            ));
        }
        let string = |key: &str| {
            input[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{key} must be a string"))
        };
        let number = |key: &str| {
            input[key]
                .as_f64()
                .ok_or_else(|| format!("{key} must be a number"))
        };

        let instance = string("instanceName")?;
        if !valid_resource_name(&instance) {
            return Err(format!(
                "instanceName {instance:?} does not match pattern \\w[\\w\\-]*\\w"
            ));
        }
        let metric = string("metricName")?;
        if !METRIC_NAMES.contains(&metric.as_str()) {
            return Err(format!(
                "metricName {metric:?} is not one of {}",
                METRIC_NAMES.join(", ")
            ));
        }
        let period = input["period"]
            .as_i64()
            .ok_or_else(|| "period must be an integer".to_owned())?;
        if !(60..=86400).contains(&period) || period % 60 != 0 {
            return Err(format!(
                "period {period} must be a multiple of 60 between 60 and 86400"
            ));
        }
        let start = number("startTime")?;
        let end = number("endTime")?;
        if start >= end {
            return Err(
                "The parameter startTime must be less than the parameter endTime.".to_owned(),
            );
        }
        let requested = ((end - start) / period as f64).ceil() as i64;
        if requested > MAX_DATAPOINTS {
            return Err(format!(
                "You have requested up to {requested} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. \
                 You may reduce the datapoints requested by increasing period, or decreasing the time range."
            ));
        }
        let unit = string("unit")?;
        if !UNITS.contains(&unit.as_str()) {
            return Err(format!("unit {unit:?} is not a valid MetricUnit"));
        }
        let names = input["statistics"]
            .as_array()
            .ok_or_else(|| "statistics must be a list".to_owned())?;
        if names.is_empty() {
            return Err("statistics must name at least one statistic".to_owned());
        }
        let mut statistics = Vec::new();
        for name in names {
            let found = STATISTICS.iter().find(|(n, _)| Some(*n) == name.as_str());
            match found {
                Some(statistic) if !statistics.contains(statistic) => statistics.push(*statistic),
                Some(_) => {}
                None => {
                    return Err(format!(
                        "statistics: {name} is not one of Average, Sum, Maximum, Minimum, SampleCount"
                    ));
                }
            }
        }
        Ok(Query {
            instance,
            metric,
            period,
            start,
            end,
            unit,
            statistics,
        })
    }

    /// The stored points in [start, end), aggregated into `period` buckets counted from start.
    fn select(&self, series: &Series) -> Vec<Datapoint> {
        let origin = self.start.floor() as i64;
        let mut buckets: BTreeMap<i64, Vec<Datapoint>> = BTreeMap::new();
        for point in series.points.values() {
            let t = point.timestamp as f64;
            if self.start <= t && t < self.end {
                let bucket = (point.timestamp - origin).div_euclid(self.period);
                buckets.entry(bucket).or_default().push(*point);
            }
        }
        buckets
            .values()
            .map(|points| Datapoint::aggregate(points))
            .collect()
    }

    /// The response body, written by hand for the exponent-form timestamps.
    fn render(&self, mut points: Vec<Datapoint>, seed: u64) -> String {
        shuffle(&mut points, seed);
        let unit = Value::from(self.unit.as_str());
        let data: Vec<String> = points
            .iter()
            .map(|p| {
                let mut fields = vec![format!("\"timestamp\":{}", java_double(p.timestamp as f64))];
                for (_, member) in &self.statistics {
                    fields.push(format!("\"{member}\":{}", Value::from(p.statistic(member))));
                }
                fields.push(format!("\"unit\":{unit}"));
                format!("{{{}}}", fields.join(","))
            })
            .collect();
        format!(
            "{{\"metricName\":{},\"metricData\":[{}]}}",
            Value::from(self.metric.as_str()),
            data.join(",")
        )
    }
}

/// Lightsail's resource name pattern `\w[\w\-]*\w`.
fn valid_resource_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    name.len() >= 2
        && name.chars().all(|c| word(c) || c == '-')
        && name.starts_with(word)
        && name.ends_with(word)
}

/// A number as Java's `Double.toString` writes it at 10^7 and above, the form Lightsail's
/// timestamps take: shortest round-trip digits, at least one fraction digit, `E` exponent.
/// `1764000300.0` -> `1.7640003E9`, `1.0e9` -> `1.0E9`.
pub fn java_double(value: f64) -> String {
    let text = format!("{value:E}");
    match text.split_once('E') {
        Some((mantissa, exponent)) if !mantissa.contains('.') => format!("{mantissa}.0E{exponent}"),
        _ => text,
    }
}

/// Deterministic Fisher-Yates (splitmix64), then a guarantee that the result is not in
/// ascending order, since the real service's order is unspecified and code must not rely on it.
fn shuffle(points: &mut [Datapoint], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..points.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        points.swap(i, j);
    }
    if points.windows(2).all(|w| w[0].timestamp <= w[1].timestamp) && points.len() >= 2 {
        points.reverse();
    }
}

/// An error of the Lightsail model: `__type`, `code`, `docs`, `message`, `tip`.
fn lightsail_error(status: u16, error: &'static str, code: &str, message: &str) -> Reply {
    let body = json!({
        "__type": error,
        "code": code,
        "docs": DOCS,
        "message": message,
        "tip": "Check the request and try again.",
    });
    Reply {
        status,
        error: Some(error),
        body: body.to_string(),
    }
}

/// An error from AWS's front door, outside the Lightsail model: `__type` and `message`.
fn plain_error(status: u16, error: &'static str, message: &str) -> Reply {
    Reply {
        status,
        error: Some(error),
        body: json!({ "__type": error, "message": message }).to_string(),
    }
}

/// The error an injected fault answers with; 429 stands for "throttled", which Lightsail
/// sends as HTTP 400.
fn fault(status: u16) -> Reply {
    match status {
        400 => lightsail_error(
            400,
            "InvalidInputException",
            "InvalidInput",
            "Injected invalid input",
        ),
        401 => lightsail_error(
            401,
            "UnauthenticatedException",
            "Unauthenticated",
            "Injected: not authenticated",
        ),
        403 => lightsail_error(
            403,
            "AccessDeniedException",
            "AccessDenied",
            "Injected: access denied",
        ),
        404 => lightsail_error(
            400,
            "NotFoundException",
            "NotFound",
            "Injected: the Instance does not exist",
        ),
        500..=599 => lightsail_error(
            status,
            "ServiceException",
            "InternalFailure",
            "Request processing has failed due to some unknown error, exception or failure.",
        ),
        _ => plain_error(400, "ThrottlingException", "Rate exceeded"),
    }
}
