//! A fake Amazon Lightsail endpoint: awsJson1.1 `GetInstances` and `GetInstanceMetricData` for fleets in several regions, with the real service's quirks, plus injectable faults.
//!
//! Point the binary at it with `AWS_ENDPOINT_URL_LIGHTSAIL=<url()>` (see [`FakeLightsail::env`]).
//!
//! Regions and fleets:
//! - Every instance lives in one region, and a request sees only the instances of its
//!   region: the SigV4 credential scope's (`Credential=AKID/date/REGION/lightsail/...`), or
//!   `us-east-1` when the request is unsigned. Methods that name no region (`add_instance`,
//!   `add_points`, `add_datapoints`, the per-instance faults) mean `us-east-1`, the region
//!   of the tests' hermetic environment; `calls_for` counts in every region.
//! - An instance has a state (`running`, `stopped`, …) and tags (a key and an optional
//!   value); one created implicitly by storing data is `running` without tags.
//! - `GetInstances` pages the region's instances in creation order (not by name, so a
//!   client cannot lean on an order), [`DEFAULT_PAGE_SIZE`] per page. Each instance carries
//!   the members of Lightsail's `Instance` shape that matter here (name, ARN, support code,
//!   `createdAt` in Java's double form, location, tags, blueprint, bundle, addresses,
//!   hardware, state with its code, username, key pair), with made-up but well-formed
//!   values; a public address only while `pending` or `running`. `nextPageToken` is
//!   opaque (hex of region and offset) and absent on the last page; a token this fake did
//!   not hand out, or handed out for another region, is HTTP 400 `InvalidInputException`.
//!   A fleet that changes between pages is continued by offset, as a paginated API may do.
//! - Faults per region ([`FakeLightsail::fail_region`]) fail both operations before the
//!   input is read; faults per instance apply to `GetInstanceMetricData` only.
//! - Errors of either operation have Lightsail's shape (below); an unknown `X-Amz-Target`
//!   is `UnknownOperationException`, HTTP 404 as AWS documents it.
//!
//! `GetInstanceMetricData`, like the real service (and where it had to choose):
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
//! - An instance unknown in the request's region: HTTP 400 `NotFoundException` with
//!   Lightsail's `code`/`docs`/`tip` members. Note the body's `code` (`NotFound`) is what
//!   the Rust SDK reads when the `x-amzn-ErrorType` header is absent (see
//!   [`FakeLightsail::without_error_type_header`]).
//! - Throttling: HTTP 400 `ThrottlingException` "Rate exceeded" (not 429), which the SDK's
//!   standard retry classifies as throttling. Server faults: HTTP 500 `ServiceException`.

use super::http::{Background, header, read_body, respond};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tiny_http::Request;

/// What every Lightsail `X-Amz-Target` starts with; the operation follows.
const TARGET_PREFIX: &str = "Lightsail_20161128.";

/// The `X-Amz-Target` of the metrics operation.
pub const GET_INSTANCE_METRIC_DATA: &str = "Lightsail_20161128.GetInstanceMetricData";

/// The `X-Amz-Target` of the fleet listing.
pub const GET_INSTANCES: &str = "Lightsail_20161128.GetInstances";

/// The region of a request without a SigV4 credential scope, and of every method that
/// names no region (the tests' hermetic environment sets `AWS_REGION=us-east-1`).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Instances per `GetInstances` page unless [`FakeLightsail::page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 3;

/// The account in ARNs and support codes (moto's default account too).
const ACCOUNT: &str = "123456789012";

/// `createdAt` of instance serial 0, epoch seconds (2023-11-14T22:13:20.25Z); each later
/// instance was created a day after the one before.
const CREATED_EPOCH: f64 = 1_700_000_000.25;

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
    /// The operation: the target after its dot, e.g. `GetInstances`.
    pub fn operation(&self) -> Option<&str> {
        self.target.as_deref()?.split_once('.').map(|(_, op)| op)
    }

    /// The body's `instanceName`.
    pub fn instance(&self) -> Option<&str> {
        instance_of(&self.body)
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

    /// The region the fake served the request in: the credential scope's, else the default.
    fn served_region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
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

/// One instance of one region: what `GetInstances` says of it, and its stored metrics.
struct Instance {
    region: String,
    name: String,
    /// The state's name (`running`, `stopped`, …).
    state: String,
    /// Lightsail tags: a key and an optional value, in the order given.
    tags: Vec<(String, Option<String>)>,
    /// Creation number (1, 2, …), from which its ARN, addresses and `createdAt` derive, so
    /// an instance removed and created again is a new resource.
    serial: u64,
    /// metric -> stored series.
    metrics: BTreeMap<String, Series>,
}

/// (region, instance name): what keys an instance and its faults.
type Key = (String, String);

fn key(region: &str, name: &str) -> Key {
    (region.to_owned(), name.to_owned())
}

#[derive(Default)]
struct State {
    /// Every instance of every region, in creation order (the order `GetInstances` pages in).
    instances: Vec<Instance>,
    /// Instances created so far (the last serial handed out).
    created: u64,
    faults: HashMap<Key, Faults>,
    /// region -> the status every call in it fails with.
    region_faults: HashMap<String, u16>,
    /// Instances per `GetInstances` page.
    page_size: usize,
    /// Every page token handed out -> (region that issued it, offset it continues at).
    page_tokens: HashMap<String, (String, usize)>,
    requests: Vec<RecordedRequest>,
    error_type_header: bool,
    /// Seed of the shuffle and of request ids, advanced per call.
    calls: u64,
    in_flight: usize,
    max_in_flight: usize,
}

impl State {
    fn instance(&self, region: &str, name: &str) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.region == region && i.name == name)
    }

    /// The instance, created `running` without tags (at the end of the order) if needed.
    fn instance_or_create(&mut self, region: &str, name: &str) -> &mut Instance {
        let found = self
            .instances
            .iter()
            .position(|i| i.region == region && i.name == name);
        let index = match found {
            Some(index) => index,
            None => {
                self.created += 1;
                self.instances.push(Instance {
                    region: region.to_owned(),
                    name: name.to_owned(),
                    state: "running".to_owned(),
                    tags: Vec::new(),
                    serial: self.created,
                    metrics: BTreeMap::new(),
                });
                self.instances.len() - 1
            }
        };
        &mut self.instances[index]
    }

    fn faults(&mut self, instance: &str) -> &mut Faults {
        self.faults
            .entry(key(DEFAULT_REGION, instance))
            .or_default()
    }

    /// A token for the page of `region` starting at `offset`: opaque (hex of both), and
    /// remembered, so that only tokens this fake handed out are accepted.
    fn page_token(&mut self, region: &str, offset: usize) -> String {
        let token: String = format!("{region}/{offset}")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.page_tokens
            .insert(token.clone(), (region.to_owned(), offset));
        token
    }
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
            page_size: DEFAULT_PAGE_SIZE,
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

    /// Makes `name` exist in `us-east-1` (running, no tags), with no data yet.
    pub fn add_instance(&self, name: &str) {
        self.lock().instance_or_create(DEFAULT_REGION, name);
    }

    /// Creates `name` in `region`, or replaces its state and tags (keeping its metrics and
    /// its place in the order). `state` is a Lightsail state name (`running`, `stopped`,
    /// `pending`, …); a tag is a key and an optional value.
    pub fn put_instance(
        &self,
        region: &str,
        name: &str,
        state: &str,
        tags: &[(&str, Option<&str>)],
    ) {
        let mut fleet = self.lock();
        let instance = fleet.instance_or_create(region, name);
        instance.state = state.to_owned();
        instance.tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect();
    }

    /// Deletes `name` from `region`, with its metrics: from then on it is `NotFoundException`.
    pub fn remove_instance(&self, region: &str, name: &str) {
        let mut state = self.lock();
        let before = state.instances.len();
        state
            .instances
            .retain(|i| !(i.region == region && i.name == name));
        assert!(
            state.instances.len() < before,
            "remove_instance: there is no {name} in {region}"
        );
    }

    /// Stores one-sample periods for `instance` in `us-east-1`: see [`add_points_in`](Self::add_points_in).
    pub fn add_points(&self, instance: &str, metric: &str, unit: &str, points: &[(i64, f64)]) {
        self.add_points_in(DEFAULT_REGION, instance, metric, unit, points);
    }

    /// Stores one-sample periods: each `(timestamp, value)` stands for every statistic
    /// (sampleCount 1). `timestamp` is the period's start, epoch seconds. Creates the
    /// instance in `region` if needed (running, no tags); replaces points at the same
    /// timestamp. `unit` is the unit the metric is published in: a request for any other
    /// unit gets no data.
    pub fn add_points_in(
        &self,
        region: &str,
        instance: &str,
        metric: &str,
        unit: &str,
        points: &[(i64, f64)],
    ) {
        let points: Vec<Datapoint> = points
            .iter()
            .map(|&(t, v)| Datapoint::single(t, v))
            .collect();
        self.add_datapoints_in(region, instance, metric, unit, &points);
    }

    /// Stores periods with a value per statistic, for `instance` in `us-east-1`.
    pub fn add_datapoints(&self, instance: &str, metric: &str, unit: &str, points: &[Datapoint]) {
        self.add_datapoints_in(DEFAULT_REGION, instance, metric, unit, points);
    }

    /// Stores periods with a value per statistic, creating the instance in `region` if needed.
    pub fn add_datapoints_in(
        &self,
        region: &str,
        instance: &str,
        metric: &str,
        unit: &str,
        points: &[Datapoint],
    ) {
        let mut state = self.lock();
        let metrics = &mut state.instance_or_create(region, instance).metrics;
        let series = metrics.entry(metric.to_owned()).or_insert_with(|| Series {
            unit: unit.to_owned(),
            points: BTreeMap::new(),
        });
        assert_eq!(
            series.unit, unit,
            "{region}/{instance}/{metric} is stored in {}; one metric has one published unit",
            series.unit
        );
        for point in points {
            series.points.insert(point.timestamp, *point);
        }
    }

    /// How many instances each `GetInstances` page holds (default 3, so that paging
    /// happens in most tests).
    pub fn page_size(&self, n: usize) {
        assert!(n > 0, "a page holds at least one instance");
        self.lock().page_size = n;
    }

    /// The next `n` metric calls for `instance` (in `us-east-1`) answer HTTP 400 `ThrottlingException`.
    pub fn throttle(&self, instance: &str, n: usize) {
        self.lock().faults(instance).throttle += n;
    }

    /// The next `n` metric calls for `instance` (in `us-east-1`) answer HTTP 500 `ServiceException`.
    pub fn server_error(&self, instance: &str, n: usize) {
        self.lock().faults(instance).server_error += n;
    }

    /// Every metric call for `instance` (in `us-east-1`) fails with `status` until
    /// [`clear_faults`](Self::clear_faults): 400 `InvalidInputException`, 401
    /// `UnauthenticatedException`, 403 `AccessDeniedException`, 404 `NotFoundException`
    /// (sent as HTTP 400, as Lightsail does), 429 or any other 4xx `ThrottlingException`
    /// (HTTP 400), 5xx `ServiceException`.
    pub fn always_fail(&self, instance: &str, status: u16) {
        self.lock().faults(instance).always = Some(status);
    }

    /// Every metric answer for `instance` (in `us-east-1`) is held back for `delay`
    /// (concurrency, timeouts).
    pub fn delay(&self, instance: &str, delay: Duration) {
        self.lock().faults(instance).delay = delay;
    }

    /// Removes every fault and delay set for `instance`.
    pub fn clear_faults(&self, instance: &str) {
        self.lock().faults.remove(&key(DEFAULT_REGION, instance));
    }

    /// Every call (`GetInstances` and `GetInstanceMetricData`) whose request region is
    /// `region` fails with `status` until [`clear_region`](Self::clear_region), mapped to
    /// an error as [`always_fail`](Self::always_fail) maps it. It comes before any look at
    /// the input, as a denial by policy or a region that is not enabled would.
    pub fn fail_region(&self, region: &str, status: u16) {
        self.lock().region_faults.insert(region.to_owned(), status);
    }

    /// Ends [`fail_region`](Self::fail_region) for `region`.
    pub fn clear_region(&self, region: &str) {
        self.lock().region_faults.remove(region);
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

    /// How many requests named `instance`, in any region (faulted ones and retries included).
    pub fn calls_for(&self, instance: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.instance() == Some(instance))
            .count()
    }

    /// How many requests for `operation` (`GetInstances`, `GetInstanceMetricData`) came
    /// in `region` (a request without a credential scope counts as `us-east-1`), faulted
    /// ones and retries included.
    pub fn calls(&self, operation: &str, region: &str) -> usize {
        let target = format!("{TARGET_PREFIX}{operation}");
        self.lock()
            .requests
            .iter()
            .filter(|r| r.target.as_deref() == Some(target.as_str()) && r.served_region() == region)
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
    let served_region = region.as_deref().unwrap_or(DEFAULT_REGION);

    let (reply, delay, call, with_header) = {
        let mut state = lock(state);
        state.calls += 1;
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let call = state.calls;
        let reply = answer(
            &mut state,
            request.url(),
            target.as_deref(),
            &body,
            served_region,
            call,
        );
        let delay = instance_of(&body)
            .and_then(|i| state.faults.get(&key(served_region, i)))
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
    // Done before the answer leaves: once the client has it, it may send its next call
    // at once, which must not be counted as one more in flight.
    {
        let mut state = lock(state);
        state.in_flight = state.in_flight.saturating_sub(1);
    }
    respond(request, reply.status, &headers, reply.body);
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

/// The operations served.
enum Operation {
    GetInstanceMetricData,
    GetInstances,
}

fn answer(
    state: &mut State,
    url: &str,
    target: Option<&str>,
    body: &Value,
    region: &str,
    call: u64,
) -> Reply {
    let operation = match target {
        Some(GET_INSTANCE_METRIC_DATA) if url == "/" => Operation::GetInstanceMetricData,
        Some(GET_INSTANCES) if url == "/" => Operation::GetInstances,
        _ => {
            let message = format!(
                "Unknown operation {}",
                target.unwrap_or("(no X-Amz-Target)")
            );
            return plain_error(404, "UnknownOperationException", &message);
        }
    };
    if let Some(&status) = state.region_faults.get(region) {
        return fault(status);
    }
    let Some(input) = body.as_object() else {
        return plain_error(
            400,
            "SerializationException",
            "Start of structure or map found where not expected.",
        );
    };
    match operation {
        Operation::GetInstanceMetricData => get_instance_metric_data(state, region, input, call),
        Operation::GetInstances => get_instances(state, region, input),
    }
}

fn get_instance_metric_data(
    state: &mut State,
    region: &str,
    input: &Map<String, Value>,
    call: u64,
) -> Reply {
    // Faults first: the front door throttles before the service looks at the input.
    let instance = input.get("instanceName").and_then(Value::as_str);
    if let Some(faults) = instance.and_then(|i| state.faults.get_mut(&key(region, i))) {
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
    let Some(instance) = state.instance(region, &query.instance) else {
        let message = format!("The Instance does not exist: {}", query.instance);
        return lightsail_error(400, "NotFoundException", "NotFound", &message);
    };
    let points = match instance.metrics.get(&query.metric) {
        Some(series) if series.unit == query.unit => query.select(series),
        _ => Vec::new(),
    };
    Reply {
        status: 200,
        error: None,
        body: query.render(points, call),
    }
}

/// One page of the region's instances, in creation order, from the offset the token names.
fn get_instances(state: &mut State, region: &str, input: &Map<String, Value>) -> Reply {
    let offset = match input.get("pageToken") {
        None | Some(Value::Null) => 0,
        Some(token) => match token.as_str().and_then(|t| state.page_tokens.get(t)) {
            Some((issuer, offset)) if issuer == region => *offset,
            _ => {
                let message = format!("The pageToken is not valid: {token}");
                return lightsail_error(400, "InvalidInputException", "InvalidInput", &message);
            }
        },
    };
    let fleet: Vec<&Instance> = state
        .instances
        .iter()
        .filter(|i| i.region == region)
        .collect();
    // The fleet may have shrunk since the token was handed out: go on from the same offset.
    let start = offset.min(fleet.len());
    let end = (start + state.page_size).min(fleet.len());
    let page: Vec<String> = fleet[start..end].iter().map(|i| i.render()).collect();
    let mut body = format!("{{\"instances\":[{}]", page.join(","));
    if end < fleet.len() {
        let token = state.page_token(region, end);
        body.push_str(&format!(",\"nextPageToken\":{}", Value::from(token)));
    }
    body.push('}');
    Reply {
        status: 200,
        error: None,
        body,
    }
}

impl Instance {
    /// The instance as `GetInstances` describes it, with made-up but well-formed values
    /// (a nano Ubuntu instance) derived from its serial.
    fn render(&self) -> String {
        let mut seed = self.serial;
        let mut random = || splitmix64(&mut seed);
        let (a, b) = (random(), random());
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        );
        let tags: Vec<Value> = self
            .tags
            .iter()
            .map(|(k, v)| match v {
                Some(v) => json!({ "key": k, "value": v }),
                None => json!({ "key": k }),
            })
            .collect();
        let mut instance = json!({
            "name": self.name,
            "arn": format!("arn:aws:lightsail:{}:{ACCOUNT}:Instance/{uuid}", self.region),
            "supportCode": format!("{ACCOUNT}/i-0{:016x}", random()),
            "location": {
                "availabilityZone": format!("{}a", self.region),
                "regionName": self.region,
            },
            "resourceType": "Instance",
            "tags": tags,
            "blueprintId": "ubuntu_22_04",
            "blueprintName": "Ubuntu",
            "bundleId": "nano_3_0",
            "isStaticIp": false,
            "privateIpAddress": format!("172.26.{}.{}", self.serial / 250 % 256, self.serial % 250 + 2),
            "hardware": { "cpuCount": 2, "ramSizeInGb": 0.5, "disks": [] },
            "state": { "code": state_code(&self.state), "name": self.state },
            "username": "ubuntu",
            "sshKeyName": "LightsailDefaultKeyPair",
        });
        // A stopped instance gives its dynamic public address back.
        if matches!(self.state.as_str(), "pending" | "running") {
            let [_, x, y, z, ..] = random().to_be_bytes();
            instance["publicIpAddress"] = json!(format!("3.{x}.{y}.{z}"));
        }
        // serde_json cannot write Java's double form, so `createdAt` goes in by hand.
        let created_at = CREATED_EPOCH + self.serial as f64 * 86_400.0;
        let rest = instance.to_string();
        format!("{{\"createdAt\":{},{}", java_double(created_at), &rest[1..])
    }
}

/// Lightsail's `InstanceState.code` for a state name (0 for names it has no code for).
fn state_code(state: &str) -> u8 {
    match state {
        "running" => 16,
        "shutting-down" => 32,
        "terminated" => 48,
        "stopping" => 64,
        "stopped" => 80,
        _ => 0,
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
    for i in (1..points.len()).rev() {
        let j = (splitmix64(&mut x) % (i as u64 + 1)) as usize;
        points.swap(i, j);
    }
    if points.windows(2).all(|w| w[0].timestamp <= w[1].timestamp) && points.len() >= 2 {
        points.reverse();
    }
}

/// The next number of splitmix64's sequence from state `x`: small, seedable, well mixed.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
