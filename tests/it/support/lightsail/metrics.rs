//! Stored metrics and the metric operations (`GetInstanceMetricData`, `GetBucketMetricData`, …): validation, range and period semantics, aggregation, and the answer's shape, like the real service.
//!
//! Every type's metric operation behaves alike; where it had to choose, the fake does
//! what Lightsail does:
//! - Every input is required; `period` is 60..=86400 and a multiple of 60; `startTime` <
//!   `endTime`; more than 1,440 periods in the range is an error. All of these are
//!   HTTP 400 `InvalidInputException`. Enum values (the type's metric names, unit,
//!   statistics) are checked against the Lightsail model.
//! - The range is **start-inclusive, end-exclusive** on the period's start timestamp, as
//!   CloudWatch's GetMetricStatistics documents (Lightsail's own reference is silent).
//! - Stored points are aggregated into `period` buckets counted from `startTime`
//!   (sum/min/max/sampleCount combined, average weighted by sampleCount); a bucket's
//!   timestamp is its earliest stored point, so a period below the stored spacing gives the
//!   stored (native) points back unchanged, as Lightsail does.
//! - Only the requested statistics appear; datapoints come in a shuffled order (never
//!   ascending); timestamps are written as Java writes doubles, `1.7640003E9`.
//! - A unit other than the stored one: HTTP 200 with `metricData: []`.
//!   `GetContainerServiceMetricData` has no `unit` member: its data comes in whatever unit
//!   it is stored in (and a request that sends a `unit` is refused, see [`super::protocol`]).
//! - A resource unknown in the request's region (of the operation's type):
//!   HTTP 400 `NotFoundException` with Lightsail's `code`/`docs`/`tip` members.
//! - Faults set for the resource's name ([`super::faults`]) come before any look at the
//!   input; then a global type's home region (distributions: `us-east-1`).

use super::protocol::{Reply, invalid_input, java_double, not_found, outside_home};
use super::resources::{Kind, instance_kind, kind};
use super::{DEFAULT_REGION, FakeLightsail, State, splitmix64};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Most periods one call may span (Lightsail and CloudWatch: 1,440 datapoints).
pub const MAX_DATAPOINTS: i64 = 1440;

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

/// One metric of one resource: the unit it is published in, and its points by timestamp.
pub(super) struct Series {
    unit: String,
    points: BTreeMap<i64, Datapoint>,
}

impl FakeLightsail {
    /// Stores one-sample periods for instance `instance` in `us-east-1`: see
    /// [`add_resource_points`](Self::add_resource_points).
    pub fn add_points(&self, instance: &str, metric: &str, unit: &str, points: &[(i64, f64)]) {
        self.add_points_in(DEFAULT_REGION, instance, metric, unit, points);
    }

    /// Stores one-sample periods for instance `instance` in `region`: see
    /// [`add_resource_points`](Self::add_resource_points).
    pub fn add_points_in(
        &self,
        region: &str,
        instance: &str,
        metric: &str,
        unit: &str,
        points: &[(i64, f64)],
    ) {
        self.add_resource_points("Instance", region, instance, metric, unit, points);
    }

    /// Stores periods with a value per statistic, for instance `instance` in `us-east-1`.
    pub fn add_datapoints(&self, instance: &str, metric: &str, unit: &str, points: &[Datapoint]) {
        self.add_datapoints_in(DEFAULT_REGION, instance, metric, unit, points);
    }

    /// Stores periods with a value per statistic, creating instance `instance` in `region`
    /// if needed.
    pub fn add_datapoints_in(
        &self,
        region: &str,
        instance: &str,
        metric: &str,
        unit: &str,
        points: &[Datapoint],
    ) {
        self.store(instance_kind(), region, instance, metric, unit, points);
    }

    /// Stores one-sample periods: each `(timestamp, value)` stands for every statistic
    /// (sampleCount 1). `timestamp` is the period's start, epoch seconds. Creates `name`,
    /// a `resource_type` (`Instance`, `Bucket`, …), in `region` if needed (in its type's
    /// healthy state, no tags); replaces points at the same timestamp. `unit` is the unit
    /// the metric is published in: a request for any other unit gets no data.
    pub fn add_resource_points(
        &self,
        resource_type: &str,
        region: &str,
        name: &str,
        metric: &str,
        unit: &str,
        points: &[(i64, f64)],
    ) {
        let points: Vec<Datapoint> = points
            .iter()
            .map(|&(t, v)| Datapoint::single(t, v))
            .collect();
        self.add_resource_datapoints(resource_type, region, name, metric, unit, &points);
    }

    /// Stores periods with a value per statistic, creating `name`, a `resource_type`, in
    /// `region` if needed: see [`add_resource_points`](Self::add_resource_points).
    pub fn add_resource_datapoints(
        &self,
        resource_type: &str,
        region: &str,
        name: &str,
        metric: &str,
        unit: &str,
        points: &[Datapoint],
    ) {
        self.store(kind(resource_type), region, name, metric, unit, points);
    }

    fn store(
        &self,
        kind: &'static Kind,
        region: &str,
        name: &str,
        metric: &str,
        unit: &str,
        points: &[Datapoint],
    ) {
        let mut state = self.lock();
        let metrics = &mut state.resource_or_create(kind, region, name).metrics;
        let series = metrics.entry(metric.to_owned()).or_insert_with(|| Series {
            unit: unit.to_owned(),
            points: BTreeMap::new(),
        });
        assert_eq!(
            series.unit, unit,
            "{region}/{}/{name}/{metric} is stored in {}; one metric has one published unit",
            kind.resource_type, series.unit
        );
        for point in points {
            series.points.insert(point.timestamp, *point);
        }
    }
}

/// The answer of `kind`'s metric operation in `region`.
pub(super) fn get_metric_data(
    state: &mut State,
    kind: &Kind,
    region: &str,
    input: &Map<String, Value>,
    call: u64,
) -> Reply {
    // Faults first: the front door throttles before the service looks at the input.
    if let Some(reply) = state.resource_fault(region, input.get(kind.name_field)) {
        return reply;
    }
    if let Some(reply) = outside_home(kind, region) {
        return reply;
    }

    let query = match Query::parse(kind, input) {
        Ok(query) => query,
        Err(message) => {
            return invalid_input(&message);
        }
    };
    let Some(resource) = state.resource(kind, region, &query.resource) else {
        return not_found(kind, &query.resource);
    };
    let (points, unit) = match resource.metrics.get(&query.metric) {
        // Without a unit in the input (container services), any stored unit is the one.
        Some(series) if query.unit.as_ref().is_none_or(|u| *u == series.unit) => {
            (query.select(series), Some(series.unit.as_str()))
        }
        _ => (Vec::new(), None),
    };
    Reply::ok(query.render(points, unit, call))
}

/// A validated metric input.
struct Query {
    /// The resource named (by the type's name member).
    resource: String,
    metric: String,
    period: i64,
    start: f64,
    end: f64,
    /// `None` for a type whose input has no unit.
    unit: Option<String>,
    /// (requested name, datapoint member)
    statistics: Vec<(&'static str, &'static str)>,
}

impl Query {
    fn parse(kind: &Kind, input: &Map<String, Value>) -> Result<Query, String> {
        let required = [
            kind.name_field,
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
            .filter(|k| *k != "unit" || kind.has_unit)
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

        let resource = string(kind.name_field)?;
        if !valid_resource_name(&resource) {
            return Err(format!(
                "{} {resource:?} does not match pattern \\w[\\w\\-]*\\w",
                kind.name_field
            ));
        }
        let metric = string("metricName")?;
        if !kind.metric_names.contains(&metric.as_str()) {
            return Err(format!(
                "metricName {metric:?} is not one of {}",
                kind.metric_names.join(", ")
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
        let unit = if kind.has_unit {
            let unit = string("unit")?;
            if !UNITS.contains(&unit.as_str()) {
                return Err(format!("unit {unit:?} is not a valid MetricUnit"));
            }
            Some(unit)
        } else {
            None
        };
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
            resource,
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

    /// The response body, written by hand for the exponent-form timestamps; `unit` is
    /// the series' (whenever there are points).
    fn render(&self, mut points: Vec<Datapoint>, unit: Option<&str>, seed: u64) -> String {
        shuffle(&mut points, seed);
        let unit = Value::from(unit.unwrap_or("None"));
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
