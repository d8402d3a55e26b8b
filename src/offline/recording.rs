//! The offline [`MetricSource`] and [`ResourceSource`]: datapoints (and optionally the
//! fleet) recorded in a file instead of Lightsail, so a run (the embedded default, or a
//! rules change under review) needs no AWS account.
//!
//! The format is documented in `examples/README.md`. Each series holds datapoints of one
//! resource of any type in the shape the `Get*MetricData` operations return, so
//! `aws lightsail get-instance-metric-data` (or `get-bucket-metric-data`, ...) output can
//! be pasted in; the fleet may be the `aws lightsail get-*` listings' output as-is
//! ([`listings`](super::listings)). `record` writes the same format
//! ([`Recorder`](super::Recorder)).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::catalog::{MetricName, ResourceType, Statistic, Unit};
use crate::domain::plan::{MetricDatapoint, Query};
use crate::domain::select::Resource;
use crate::domain::time;
use crate::ports::{FetchError, ListError, MetricSource, ResourceSource};

/// The version of the format this build reads and writes (`recordingVersion`). A file
/// without one is a version 1 recording (written before the field existed).
pub const RECORDING_VERSION: u64 = 1;

/// A recording: the evaluation time it was made for, and the series it holds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recording {
    /// [`RECORDING_VERSION`]; optional on input. [`Recording::parse`] checks it before
    /// anything else, so a newer file is refused for its version, not for a new field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_version: Option<u64>,
    /// The evaluation time to use when the run names none (`--at`), so the recording
    /// replays the same way whenever it is run.
    #[serde(serialize_with = "time::serialize")]
    pub recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fleet as the listing operations would list it, for rules with globs, tags or
    /// states (`instances` is the older name). Left out (and no `listings`): every
    /// resource of `series`, in its type's usual state, without tags.
    #[serde(default, alias = "instances", skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<RecordedResource>>,
    /// The fleet as `aws lightsail get-instances` (and the other `get-*` listings) print
    /// it, each output as-is; [`Recording::parse`] adds its resources to `resources`.
    #[serde(default, skip_serializing)]
    listings: Option<Vec<serde_json::Value>>,
    pub series: Vec<Series>,
    /// Positions in `series` by resource name, so a query does not scan every series.
    #[serde(skip)]
    by_resource: HashMap<String, Vec<usize>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Series {
    /// `Instance` when left out.
    #[serde(default = "instance_type")]
    pub resource_type: ResourceType,
    /// The resource's name (`instance` is the older name).
    #[serde(alias = "instance")]
    pub resource: String,
    pub metric: MetricName,
    /// Serves every region when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The period (seconds) the datapoints were asked for: they then answer only queries
    /// of that period, as Lightsail's would. Serves every period when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// The metric's published unit when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    pub metric_data: Vec<RecordedDatapoint>,
}

/// One resource of the recorded fleet.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordedResource {
    /// `Instance` when left out.
    #[serde(default = "instance_type")]
    pub resource_type: ResourceType,
    pub name: String,
    /// Listed in every region when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The type's usual state when left out (`running` for an instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Tag key to value; `null` for a tag without a value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Option<String>>,
}

fn instance_type() -> ResourceType {
    ResourceType::Instance
}

/// The state a resource is listed in when the recording says none: a healthy one.
pub(super) fn usual_state(kind: ResourceType) -> &'static str {
    match kind {
        ResourceType::Instance => "running",
        ResourceType::RelationalDatabase => "available",
        ResourceType::LoadBalancer => "active",
        ResourceType::ContainerService => "RUNNING",
        ResourceType::Distribution | ResourceType::Bucket => "",
    }
}

/// One element of a `Get*MetricData` operation's `metricData`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordedDatapoint {
    #[serde(deserialize_with = "timestamp", serialize_with = "time::serialize")]
    pub timestamp: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_count: Option<f64>,
}

impl RecordedDatapoint {
    /// A datapoint as a [`MetricSource`] returned it, with every statistic it had.
    pub fn from_fetched(point: &MetricDatapoint) -> Self {
        let value = |statistic| point.values.get(&statistic).copied();
        RecordedDatapoint {
            timestamp: point.timestamp,
            unit: None,
            average: value(Statistic::Average),
            sum: value(Statistic::Sum),
            maximum: value(Statistic::Maximum),
            minimum: value(Statistic::Minimum),
            sample_count: value(Statistic::SampleCount),
        }
    }
}

/// Accepts RFC 3339 text (the AWS CLI's output) or epoch seconds (the API's, often in
/// exponent form such as `1.7955246E9`).
fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Seconds(f64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(text) => DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("timestamp `{text}`: {e}"))),
        Raw::Seconds(secs) => DateTime::from_timestamp(secs.round() as i64, 0)
            .ok_or_else(|| serde::de::Error::custom(format!("timestamp {secs} is out of range"))),
    }
}

/// Why a recording could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct RecordingError {
    pub source_name: String,
    pub message: String,
}

/// The one field read before the rest, so that a file of another version is refused for
/// its version rather than for a field this build does not know.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionOnly {
    #[serde(default)]
    recording_version: Option<serde_json::Value>,
}

impl Recording {
    /// A recording of `resources` and `series` made for `recorded_at`, at this build's
    /// [`RECORDING_VERSION`] (written by `record`, or made in code for a rule test's
    /// series, `crate::ruletest`), indexed as `parse` indexes one read from a file.
    pub fn new(
        recorded_at: DateTime<Utc>,
        description: Option<String>,
        resources: Option<Vec<RecordedResource>>,
        series: Vec<Series>,
    ) -> Self {
        let mut recording = Recording {
            recording_version: Some(RECORDING_VERSION),
            recorded_at,
            description,
            resources,
            listings: None,
            series,
            by_resource: HashMap::new(),
        };
        recording.index();
        recording
    }

    pub fn parse(text: &str, source_name: &str) -> Result<Self, RecordingError> {
        let error = |message: String| RecordingError {
            source_name: source_name.to_owned(),
            message,
        };
        // Text that is not JSON, or not an object, is left for the full parse to explain.
        if let Ok(VersionOnly {
            recording_version: Some(version),
        }) = serde_json::from_str(text)
            && version.as_u64() != Some(RECORDING_VERSION)
        {
            return Err(error(format!(
                "recordingVersion: `{version}` is not a recording version this \
                 lightsail-alerts reads; allowed: {RECORDING_VERSION} (or leave it out)"
            )));
        }
        let mut recording: Recording =
            serde_json::from_str(text).map_err(|e| error(e.to_string()))?;
        // A run's ranges reach up to a day and 1,440 periods back from the evaluation
        // time; near chrono's limits (year -262143) that arithmetic would overflow.
        if !(1970..=9999).contains(&recording.recorded_at.year()) {
            return Err(error(format!(
                "recordedAt: `{}` is out of range; allowed: a time from 1970 to 9999",
                recording.recorded_at.to_rfc3339()
            )));
        }
        if let Some(listings) = recording.listings.take() {
            let listed = super::listings::resources(&listings).map_err(error)?;
            recording
                .resources
                .get_or_insert_with(Vec::new)
                .extend(listed);
        }
        recording.index();
        Ok(recording)
    }

    /// The recording as `record` writes it: pretty JSON, ending in a newline.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self).map(|json| json + "\n")
    }

    /// Fills `by_resource` from `series`.
    fn index(&mut self) {
        self.by_resource.clear();
        for (position, series) in self.series.iter().enumerate() {
            self.by_resource
                .entry(series.resource.clone())
                .or_default()
                .push(position);
        }
    }

    /// The series recorded for the query's resource in the query's region.
    fn of_resource<'a>(&'a self, query: &'a Query) -> impl Iterator<Item = &'a Series> + 'a {
        self.by_resource
            .get(&query.key.resource)
            .into_iter()
            .flatten()
            // In range: `index` built `by_resource` from the positions of `series`.
            .map(|&position| &self.series[position])
            .filter(|s| s.resource_type == query.key.resource_type)
            .filter(|s| s.region.as_deref().is_none_or(|r| r == query.key.region))
    }
}

impl MetricSource for Recording {
    async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
        let kind = query.key.resource_type;
        let mut of_resource = self.of_resource(query).peekable();
        if of_resource.peek().is_none() {
            return Err(FetchError::NotFound {
                region: query.key.region.clone(),
                resource_type: kind,
                resource: query.key.resource.clone(),
                message: format!(
                    "The {kind} does not exist: {} (not in the recording)",
                    query.key.resource
                ),
            });
        }
        let points = of_resource
            .filter(|s| s.metric == query.key.metric)
            .filter(|s| s.period.is_none_or(|p| p == query.key.period))
            .flat_map(|s| {
                let published = kind.metric(s.metric).map(|info| info.unit);
                let series_unit = s.unit.or(published);
                s.metric_data.iter().filter(move |p| {
                    // Like Lightsail: a unit other than the published one gets no data;
                    // a container service's request names no unit at all.
                    kind == ResourceType::ContainerService
                        || p.unit.or(series_unit) == Some(query.key.unit)
                })
            })
            .filter(|p| p.timestamp >= query.start && p.timestamp < query.end)
            .map(|p| MetricDatapoint {
                timestamp: p.timestamp,
                values: requested(p, query),
            })
            .collect();
        Ok(points)
    }
}

impl ResourceSource for Recording {
    async fn resources(
        &self,
        kind: ResourceType,
        region: &str,
    ) -> Result<Vec<Resource>, ListError> {
        let in_region = |r: &Option<String>| r.as_deref().is_none_or(|r| r == region);
        let Some(resources) = &self.resources else {
            let mut names: Vec<&str> = self
                .series
                .iter()
                .filter(|s| s.resource_type == kind && in_region(&s.region))
                .map(|s| s.resource.as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            return Ok(names
                .into_iter()
                .map(|name| Resource {
                    name: name.to_owned(),
                    state: usual_state(kind).to_owned(),
                    tags: Vec::new(),
                })
                .collect());
        };
        Ok(resources
            .iter()
            .filter(|r| r.resource_type == kind && in_region(&r.region))
            .map(|r| Resource {
                name: r.name.clone(),
                state: r
                    .state
                    .clone()
                    .unwrap_or_else(|| usual_state(kind).to_owned()),
                tags: r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            })
            .collect())
    }
}

fn requested(point: &RecordedDatapoint, query: &Query) -> BTreeMap<Statistic, f64> {
    query
        .statistics
        .iter()
        .filter_map(|&statistic| {
            let value = match statistic {
                Statistic::Average => point.average,
                Statistic::Sum => point.sum,
                Statistic::Maximum => point.maximum,
                Statistic::Minimum => point.minimum,
                Statistic::SampleCount => point.sample_count,
            };
            Some((statistic, value?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::plan::QueryKey;

    const RECORDING: &str = r#"{
      "recordedAt": "2026-11-24T13:05:00Z",
      "series": [
        {"instance": "web-1", "metric": "CPUUtilization", "metricData": [
          {"timestamp": 1.7955246E9, "average": 50.0, "maximum": 90.0, "unit": "Percent"},
          {"timestamp": "2026-11-24T12:55:00Z", "average": 40.0, "unit": "Percent"},
          {"timestamp": "2026-11-24T13:05:00Z", "average": 99.0, "unit": "Percent"}
        ]},
        {"instance": "web-1", "region": "eu-west-1", "metric": "NetworkIn", "metricData": []}
      ]
    }"#;

    fn query(instance: &str, unit: Unit, stats: &[Statistic]) -> Query {
        Query {
            key: QueryKey {
                region: "us-east-1".into(),
                resource_type: ResourceType::Instance,
                resource: instance.into(),
                metric: MetricName::CpuUtilization,
                period: 300,
                unit,
            },
            statistics: stats.iter().copied().collect::<BTreeSet<_>>(),
            start: "2026-11-24T12:40:00Z".parse().unwrap(),
            end: "2026-11-24T13:05:00Z".parse().unwrap(),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn serves_points_in_range_with_the_requested_statistics() {
        let recording = Recording::parse(RECORDING, "test").unwrap();
        let points =
            block_on(recording.fetch(&query("web-1", Unit::Percent, &[Statistic::Average])))
                .unwrap();
        // 13:05 is the end of the range (exclusive); 1.7955246E9 is 12:50.
        let got: Vec<_> = points
            .iter()
            .map(|p| (p.timestamp.to_rfc3339(), p.values.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "2026-11-24T12:50:00+00:00".to_owned(),
                    BTreeMap::from([(Statistic::Average, 50.0)])
                ),
                (
                    "2026-11-24T12:55:00+00:00".to_owned(),
                    BTreeMap::from([(Statistic::Average, 40.0)])
                ),
            ]
        );
    }

    #[test]
    fn another_unit_gets_no_data_and_an_unknown_instance_is_not_found() {
        let recording = Recording::parse(RECORDING, "test").unwrap();
        let points =
            block_on(recording.fetch(&query("web-1", Unit::Count, &[Statistic::Sum]))).unwrap();
        assert!(points.is_empty());
        let err = block_on(recording.fetch(&query("db-9", Unit::Percent, &[Statistic::Average])))
            .unwrap_err();
        assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
    }

    #[test]
    fn every_resource_type_is_recorded_and_listed_by_its_type() {
        let text = r#"{"recordedAt": "2026-11-24T13:05:00Z",
          "resources": [
            {"resourceType": "RelationalDatabase", "name": "db-1"},
            {"resourceType": "RelationalDatabase", "name": "db-2", "state": "stopped"},
            {"name": "db-1", "state": "stopped"}
          ],
          "series": [
            {"resourceType": "ContainerService", "resource": "api", "metric": "MemoryUtilization",
             "metricData": [{"timestamp": "2026-11-24T12:55:00Z", "average": 91.0}]},
            {"instance": "api", "metric": "CPUUtilization",
             "metricData": [{"timestamp": "2026-11-24T12:55:00Z", "average": 5.0}]}
          ]}"#;
        let recording = Recording::parse(text, "test").unwrap();
        let listed = |kind| {
            block_on(recording.resources(kind, "us-east-1"))
                .unwrap()
                .into_iter()
                .map(|r| (r.name, r.state))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            listed(ResourceType::RelationalDatabase),
            [
                ("db-1".to_owned(), "available".to_owned()),
                ("db-2".to_owned(), "stopped".to_owned())
            ]
        );
        assert_eq!(
            listed(ResourceType::Instance),
            [("db-1".to_owned(), "stopped".to_owned())]
        );
        assert!(listed(ResourceType::Bucket).is_empty());

        // A container service's query names no unit: any recorded unit answers it; the
        // instance of the same name is another resource.
        let mut memory = query("api", Unit::Count, &[Statistic::Average]);
        memory.key.resource_type = ResourceType::ContainerService;
        memory.key.metric = MetricName::MemoryUtilization;
        let points = block_on(recording.fetch(&memory)).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].values[&Statistic::Average], 91.0);
        let mut cpu = memory.clone();
        cpu.key.metric = MetricName::CpuUtilization;
        assert!(block_on(recording.fetch(&cpu)).unwrap().is_empty());
        let mut bucket = memory;
        bucket.key.resource_type = ResourceType::Bucket;
        let err = block_on(recording.fetch(&bucket)).unwrap_err();
        assert!(
            err.to_string().starts_with("bucket `api` was not found"),
            "{err}"
        );
    }

    #[test]
    fn the_fleet_is_the_recorded_instances_or_else_every_recorded_series() {
        let recording = Recording::parse(RECORDING, "test").unwrap();
        let names = |region: &str| -> Vec<String> {
            block_on(recording.resources(ResourceType::Instance, region))
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect()
        };
        assert_eq!(names("us-east-1"), ["web-1"]);
        assert_eq!(names("eu-west-1"), ["web-1"]);

        let with_fleet = r#"{"recordedAt": "2026-11-24T13:05:00Z", "series": [],
          "instances": [
            {"name": "web-1", "tags": {"env": "prod", "backup": null}},
            {"name": "web-2", "region": "eu-west-1", "state": "stopped"}
          ]}"#;
        let recording = Recording::parse(with_fleet, "test").unwrap();
        let us = block_on(recording.resources(ResourceType::Instance, "us-east-1")).unwrap();
        assert_eq!(
            us,
            [Resource {
                name: "web-1".into(),
                state: "running".into(),
                tags: vec![("backup".into(), None), ("env".into(), Some("prod".into()))],
            }]
        );
        let eu = block_on(recording.resources(ResourceType::Instance, "eu-west-1")).unwrap();
        assert_eq!(eu.len(), 2);
        assert_eq!(eu[1].state, "stopped");
    }

    #[test]
    fn a_recording_time_out_of_range_is_refused() {
        for at in [
            "-262143-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
        ] {
            let text = format!(r#"{{"recordedAt": "{at}", "series": []}}"#);
            let err = Recording::parse(&text, "rec.json").unwrap_err();
            assert!(
                err.to_string().starts_with("rec.json: recordedAt: `")
                    && err
                        .to_string()
                        .ends_with("` is out of range; allowed: a time from 1970 to 9999"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_version_is_one_or_left_out_and_any_other_is_refused_first() {
        for version in [
            "",
            r#""recordingVersion": 1,"#,
            r#""recordingVersion": null,"#,
        ] {
            let text =
                format!(r#"{{{version} "recordedAt": "2026-11-24T13:05:00Z", "series": []}}"#);
            let recording = Recording::parse(&text, "rec.json").unwrap();
            assert_eq!(
                recording.recorded_at.to_rfc3339(),
                "2026-11-24T13:05:00+00:00"
            );
        }
        // Refused for its version, not for the field this build does not know.
        for (version, shown) in [("2", "2"), (r#""1""#, r#""1""#), ("1.5", "1.5"), ("0", "0")] {
            let text = format!(
                r#"{{"recordingVersion": {version}, "recordedAt": "2026-11-24T13:05:00Z",
                   "series": [], "fleet": []}}"#
            );
            let err = Recording::parse(&text, "rec.json").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "rec.json: recordingVersion: `{shown}` is not a recording version this \
                     lightsail-alerts reads; allowed: 1 (or leave it out)"
                )
            );
        }
    }

    #[test]
    fn a_series_with_a_period_answers_only_queries_of_that_period() {
        let text = r#"{"recordedAt": "2026-11-24T13:05:00Z", "series": [
            {"resource": "web-1", "metric": "CPUUtilization", "period": 300, "metricData": [
              {"timestamp": "2026-11-24T12:50:00Z", "average": 50.0}]},
            {"resource": "web-1", "metric": "CPUUtilization", "period": 600, "metricData": [
              {"timestamp": "2026-11-24T12:50:00Z", "average": 70.0}]}
          ]}"#;
        let recording = Recording::parse(text, "rec.json").unwrap();
        let mut q = query("web-1", Unit::Percent, &[Statistic::Average]);
        for (period, value) in [(300, 50.0), (600, 70.0)] {
            q.key.period = period;
            let points = block_on(recording.fetch(&q)).unwrap();
            assert_eq!(points.len(), 1, "{period}");
            assert_eq!(points[0].values[&Statistic::Average], value);
        }
        q.key.period = 3600;
        assert!(block_on(recording.fetch(&q)).unwrap().is_empty());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = Recording::parse(
            r#"{"recordedAt": "2026-11-24T13:05:00Z", "series": [], "extra": 1}"#,
            "rec.json",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rec.json: unknown field `extra`"),
            "{err}"
        );
    }
}
