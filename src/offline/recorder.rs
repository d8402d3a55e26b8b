//! The recording's writing half: a decorator around the live sources that forwards every
//! listing and query and keeps what came back, so that `record` writes exactly what a
//! `check` run saw, and `check --replay` of it answers the same.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::recording::usual_state;
use super::{RecordedDatapoint, RecordedResource, Recording, Series};
use crate::domain::catalog::ResourceType;
use crate::domain::plan::{MetricDatapoint, Query, QueryKey};
use crate::domain::select::Resource;
use crate::ports::{FetchError, ListError, MetricSource, ResourceSource};

/// A [`MetricSource`] and [`ResourceSource`] that answers from `inner` and keeps every
/// answer.
pub struct Recorder<S> {
    inner: S,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// Each listing that answered: its type, region and resources.
    listings: Vec<(ResourceType, String, Vec<Resource>)>,
    /// Each query that answered, with its datapoints (none is an answer too: the
    /// resource exists).
    series: Vec<(QueryKey, Vec<MetricDatapoint>)>,
    /// Calls that failed for another reason than a resource not found: the recording
    /// has no answer for them, so a replay answers differently (see `failed`).
    failed: usize,
}

/// What a [`Recorder`] kept, as a recording.
pub struct Recorded {
    pub recording: Recording,
    /// Resources of every listing.
    pub resources: usize,
    /// Queries answered.
    pub series: usize,
    /// Calls that failed (not a resource not found): nothing of them is in the
    /// recording.
    pub failed: usize,
}

impl<S> Recorder<S> {
    pub fn new(inner: S) -> Self {
        Recorder {
            inner,
            kept: Mutex::new(Kept::default()),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // Kept is only ever pushed to: what a panicking holder left is still whole.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The recording of every answer, made for `recorded_at`: resources by type, region
    /// and name, series by type, resource, metric and region, datapoints by time, so
    /// that two recordings of the same answers are the same file.
    pub fn into_recording(
        self,
        recorded_at: DateTime<Utc>,
        description: Option<String>,
    ) -> Recorded {
        let kept = self.kept.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut resources: Vec<RecordedResource> = kept
            .listings
            .into_iter()
            .flat_map(|(kind, region, listed)| {
                listed.into_iter().map(move |resource| RecordedResource {
                    resource_type: kind,
                    // A type without a state lists none; a state that is empty where the
                    // type has one is written, or the replay would give the usual one.
                    state: (!resource.state.is_empty() || !usual_state(kind).is_empty())
                        .then_some(resource.state),
                    name: resource.name,
                    region: Some(region.clone()),
                    tags: resource.tags.into_iter().collect(),
                })
            })
            .collect();
        resources.sort_by(|a, b| {
            (a.resource_type, &a.region, &a.name).cmp(&(b.resource_type, &b.region, &b.name))
        });
        let mut series = kept.series;
        series.sort_by(|(a, _), (b, _)| a.cmp(b));
        let series: Vec<Series> = series
            .into_iter()
            .map(|(key, mut points)| {
                points.sort_by_key(|p| p.timestamp);
                Series {
                    resource_type: key.resource_type,
                    resource: key.resource,
                    metric: key.metric,
                    region: Some(key.region),
                    period: Some(key.period),
                    unit: Some(key.unit),
                    metric_data: points.iter().map(RecordedDatapoint::from_fetched).collect(),
                }
            })
            .collect();
        Recorded {
            resources: resources.len(),
            series: series.len(),
            failed: kept.failed,
            recording: Recording::new(recorded_at, description, Some(resources), series),
        }
    }
}

impl<S: MetricSource> MetricSource for Recorder<S> {
    async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
        let fetched = self.inner.fetch(query).await;
        match &fetched {
            Ok(points) => self.kept().series.push((query.key.clone(), points.clone())),
            // Replayed alike: a resource without any series is not found.
            Err(FetchError::NotFound { .. }) => {}
            Err(_) => self.kept().failed += 1,
        }
        fetched
    }
}

impl<S: ResourceSource> ResourceSource for Recorder<S> {
    async fn resources(
        &self,
        kind: ResourceType,
        region: &str,
    ) -> Result<Vec<Resource>, ListError> {
        let listed = self.inner.resources(kind, region).await;
        match &listed {
            Ok(resources) => {
                self.kept()
                    .listings
                    .push((kind, region.to_owned(), resources.clone()));
            }
            Err(_) => self.kept().failed += 1,
        }
        listed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::domain::catalog::{MetricName, Statistic, Unit};

    /// Answers every listing with one resource and every query with one datapoint of
    /// every statistic; `missing` is not found, `broken` fails.
    struct Live;

    impl MetricSource for Live {
        async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
            let key = &query.key;
            match key.resource.as_str() {
                "missing" => Err(FetchError::NotFound {
                    region: key.region.clone(),
                    resource_type: key.resource_type,
                    resource: key.resource.clone(),
                    message: "no such instance".into(),
                }),
                "broken" => Err(FetchError::Failed {
                    region: key.region.clone(),
                    resource_type: key.resource_type,
                    resource: key.resource.clone(),
                    message: "ServiceUnavailable".into(),
                    code: None,
                }),
                _ => Ok(vec![MetricDatapoint {
                    timestamp: query.start,
                    values: BTreeMap::from([
                        (Statistic::Average, 50.0),
                        (Statistic::Maximum, 90.0),
                        (Statistic::SampleCount, 5.0),
                    ]),
                }]),
            }
        }
    }

    impl ResourceSource for Live {
        async fn resources(
            &self,
            kind: ResourceType,
            _region: &str,
        ) -> Result<Vec<Resource>, ListError> {
            Ok(vec![Resource {
                name: "web-1".into(),
                state: if kind == ResourceType::Bucket {
                    String::new()
                } else {
                    "stopped".into()
                },
                tags: vec![("env".into(), Some("prod".into())), ("backup".into(), None)],
            }])
        }
    }

    fn query(resource: &str, period: u32) -> Query {
        Query {
            key: QueryKey {
                region: "eu-west-1".into(),
                resource_type: ResourceType::Instance,
                resource: resource.into(),
                metric: MetricName::CpuUtilization,
                period,
                unit: Unit::Percent,
            },
            statistics: BTreeSet::from([
                Statistic::Average,
                Statistic::Maximum,
                Statistic::SampleCount,
            ]),
            start: "2026-11-24T12:40:00Z".parse().unwrap(),
            end: "2026-11-24T13:05:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn what_was_answered_replays_the_same_and_failures_are_counted() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let recorder = Recorder::new(Live);
        let (five, hour) = (query("web-1", 300), query("web-1", 3600));
        let live = runtime.block_on(async {
            for kind in [ResourceType::Instance, ResourceType::Bucket] {
                recorder.resources(kind, "eu-west-1").await.unwrap();
            }
            for q in [query("missing", 300), query("broken", 300)] {
                assert!(recorder.fetch(&q).await.is_err());
            }
            (
                recorder.fetch(&five).await.unwrap(),
                recorder.fetch(&hour).await.unwrap(),
            )
        });
        let at = "2026-11-24T13:05:00Z".parse().unwrap();
        let recorded = recorder.into_recording(at, None);
        assert_eq!(
            (recorded.resources, recorded.series, recorded.failed),
            (2, 2, 1)
        );

        // Through the file, as `check --replay` reads it.
        let json = recorded.recording.to_json().unwrap();
        let replay = Recording::parse(&json, "rec.json").unwrap();
        assert_eq!(replay.recording_version, Some(1));
        assert_eq!(replay.recorded_at, at);
        runtime.block_on(async {
            // Each period's series answers its own query only, with every statistic
            // that came back; a query for fewer gets only those.
            assert_eq!(replay.fetch(&five).await.unwrap(), live.0);
            assert_eq!(replay.fetch(&hour).await.unwrap(), live.1);
            let mut fewer = five.clone();
            fewer.statistics = BTreeSet::from([Statistic::Maximum]);
            assert_eq!(
                replay.fetch(&fewer).await.unwrap()[0].values,
                BTreeMap::from([(Statistic::Maximum, 90.0)])
            );
            let mut day = five.clone();
            day.key.period = 86_400;
            assert!(replay.fetch(&day).await.unwrap().is_empty());
            assert!(matches!(
                replay.fetch(&query("missing", 300)).await,
                Err(FetchError::NotFound { .. })
            ));
            let instances = replay
                .resources(ResourceType::Instance, "eu-west-1")
                .await
                .unwrap();
            assert_eq!(instances[0].state, "stopped");
            assert_eq!(
                instances[0].tags,
                [("backup".into(), None), ("env".into(), Some("prod".into()))]
            );
            assert!(
                replay
                    .resources(ResourceType::Instance, "us-east-1")
                    .await
                    .unwrap()
                    .is_empty()
            );
            let buckets = replay
                .resources(ResourceType::Bucket, "eu-west-1")
                .await
                .unwrap();
            assert_eq!(buckets[0].state, "");
        });
        // A bucket has no state to write.
        assert!(!json.contains(r#""state": """#), "{json}");
    }
}
