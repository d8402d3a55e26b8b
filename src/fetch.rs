//! Query planning (one `GetInstanceMetricData` per distinct query) and concurrent
//! fetching from a [`MetricSource`]: Lightsail through the SDK, or a recording.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use aws_sdk_lightsail::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lightsail::primitives::DateTime as SdkDateTime;
use aws_sdk_lightsail::types::{InstanceMetricName, MetricStatistic, MetricUnit};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use tracing::Instrument;

use crate::catalog::{MAX_DATAPOINTS_PER_CALL, MetricName, Statistic, Unit};
use crate::evaluate;
use crate::select::{Instance, InstanceSource, ListError, Subject};
use crate::settings::RegionalClients;

/// What makes two rules share one `GetInstanceMetricData` call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryKey {
    pub region: String,
    pub instance: String,
    pub metric: MetricName,
    pub period: u32,
    pub unit: Unit,
}

/// One call's worth of work: the union of the statistics and the widest range of every
/// rule that shares the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub key: QueryKey,
    pub statistics: BTreeSet<Statistic>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One period's statistics as Lightsail returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatapoint {
    pub timestamp: DateTime<Utc>,
    pub values: BTreeMap<Statistic, f64>,
}

/// Why the datapoints of one query could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("instance `{instance}` was not found in {region}: {message}")]
    NotFound {
        region: String,
        instance: String,
        message: String,
    },
    #[error("GetInstanceMetricData failed for `{instance}` in {region}: {message}")]
    Failed {
        region: String,
        instance: String,
        message: String,
    },
}

/// Where datapoints come from. One SDK implementation, one offline (a recording).
pub trait MetricSource: Sync {
    fn fetch(
        &self,
        query: &Query,
    ) -> impl Future<Output = Result<Vec<MetricDatapoint>, FetchError>> + Send;
}

/// Plans the calls for a run at `t`: one per distinct (region, instance, metric, period,
/// unit), covering ages 1..=N+2 of the rule with the largest N.
pub fn plan(subjects: &[Subject<'_>], t: DateTime<Utc>) -> Vec<Query> {
    let mut queries: BTreeMap<QueryKey, Query> = BTreeMap::new();
    for subject in subjects {
        let rule = subject.rule;
        let (start, end) = evaluate::range(t, rule.period, rule.evaluation_periods + 2);
        let key = key_of(subject);
        let query = queries.entry(key.clone()).or_insert_with(|| Query {
            key,
            statistics: BTreeSet::new(),
            start,
            end,
        });
        query.statistics.insert(rule.statistic);
        query.start = query.start.min(start);
    }
    queries.into_values().collect()
}

/// The query a subject is served by.
pub fn key_of(subject: &Subject<'_>) -> QueryKey {
    QueryKey {
        region: subject.region.to_owned(),
        instance: subject.instance.clone(),
        metric: subject.rule.metric,
        period: subject.rule.period,
        unit: subject.rule.unit,
    }
}

/// Splits a query's range into pieces of at most 1,440 periods, the most one call returns.
pub fn split(query: &Query) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let step = TimeDelta::seconds(i64::from(query.key.period) * i64::from(MAX_DATAPOINTS_PER_CALL));
    let mut pieces = Vec::new();
    let mut start = query.start;
    while start < query.end {
        let end = (start + step).min(query.end);
        pieces.push((start, end));
        start = end;
    }
    pieces
}

/// Runs every query with at most `concurrency` in flight. A failed query fails only
/// itself: its error is its result.
pub async fn fetch_all<S: MetricSource>(
    source: &S,
    queries: Vec<Query>,
    concurrency: usize,
) -> HashMap<QueryKey, Result<Vec<MetricDatapoint>, FetchError>> {
    futures_util::stream::iter(queries)
        .map(|query| {
            let span = tracing::info_span!(
                "fetch",
                region = %query.key.region,
                instance = %query.key.instance,
                metric = %query.key.metric,
            );
            async move {
                let result = source.fetch(&query).await;
                match &result {
                    Ok(points) => tracing::debug!(datapoints = points.len(), "fetched"),
                    Err(err) => tracing::warn!(error = %err, "fetch failed"),
                }
                (query.key, result)
            }
            .instrument(span)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// Lightsail through the AWS SDK, with a client per region.
pub struct LightsailSource {
    clients: RegionalClients<aws_sdk_lightsail::Client>,
}

impl LightsailSource {
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self {
            clients: RegionalClients::new(config, |config, region| {
                let config = aws_sdk_lightsail::config::Builder::from(config)
                    .region(aws_sdk_lightsail::config::Region::new(region.to_owned()))
                    .build();
                aws_sdk_lightsail::Client::from_conf(config)
            }),
        }
    }
}

impl MetricSource for LightsailSource {
    async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
        let client = self.clients.get(&query.key.region);
        let statistics: Vec<MetricStatistic> = query
            .statistics
            .iter()
            .map(|s| MetricStatistic::from(s.as_str()))
            .collect();
        let mut points = Vec::new();
        for (start, end) in split(query) {
            let output = client
                .get_instance_metric_data()
                .instance_name(&query.key.instance)
                .metric_name(InstanceMetricName::from(query.key.metric.as_str()))
                .period(query.key.period as i32)
                .start_time(SdkDateTime::from_secs(start.timestamp()))
                .end_time(SdkDateTime::from_secs(end.timestamp()))
                .unit(MetricUnit::from(query.key.unit.as_str()))
                .set_statistics(Some(statistics.clone()))
                .send()
                .await
                .map_err(|err| fetch_error(query, err))?;
            points.extend(output.metric_data().iter().filter_map(datapoint_from_sdk));
        }
        Ok(points)
    }
}

/// Pages `GetInstances` can take before the listing is refused as endless: 10,000 pages
/// is far beyond any Lightsail quota of instances per region.
const MAX_PAGES: usize = 10_000;

impl InstanceSource for LightsailSource {
    async fn instances(&self, region: &str) -> Result<Vec<Instance>, ListError> {
        let client = self.clients.get(region);
        let failed = |message: String| ListError {
            region: region.to_owned(),
            message,
        };
        let mut instances = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let page = client
                .get_instances()
                .set_page_token(token.take())
                .send()
                .await
                .map_err(|err| failed(sdk_message(&err)))?;
            instances.extend(page.instances().iter().filter_map(instance_from_sdk));
            match page.next_page_token() {
                Some(next) if !next.is_empty() => {
                    if !tokens_seen.insert(next.to_owned()) {
                        return Err(failed(format!(
                            "the page token {next:?} came back twice; the listing would never end"
                        )));
                    }
                    token = Some(next.to_owned());
                }
                _ => return Ok(instances),
            }
        }
        Err(failed(format!(
            "more than {MAX_PAGES} pages of instances; the listing was stopped"
        )))
    }
}

fn instance_from_sdk(instance: &aws_sdk_lightsail::types::Instance) -> Option<Instance> {
    Some(Instance {
        name: instance.name()?.to_owned(),
        state: instance
            .state()
            .and_then(|s| s.name())
            .unwrap_or_default()
            .to_owned(),
        tags: instance
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().map(str::to_owned))))
            .collect(),
    })
}

fn datapoint_from_sdk(
    point: &aws_sdk_lightsail::types::MetricDatapoint,
) -> Option<MetricDatapoint> {
    let ts = point.timestamp()?;
    let timestamp = DateTime::from_timestamp(ts.secs(), ts.subsec_nanos())?;
    let values = [
        (Statistic::Average, point.average()),
        (Statistic::Sum, point.sum()),
        (Statistic::Maximum, point.maximum()),
        (Statistic::Minimum, point.minimum()),
        (Statistic::SampleCount, point.sample_count()),
    ]
    .into_iter()
    .filter_map(|(statistic, value)| Some((statistic, value?)))
    .collect();
    Some(MetricDatapoint { timestamp, values })
}

fn fetch_error<E, R>(query: &Query, err: SdkError<E, R>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let region = query.key.region.clone();
    let instance = query.key.instance.clone();
    // Lightsail's error bodies carry `code: "NotFound"` besides `__type`; without an
    // `x-amzn-ErrorType` header the SDK reports that code instead of the exception name.
    if matches!(err.code(), Some("NotFoundException" | "NotFound")) {
        let message = err.message().unwrap_or("no such instance").to_owned();
        return FetchError::NotFound {
            region,
            instance,
            message,
        };
    }
    FetchError::Failed {
        region,
        instance,
        message: sdk_message(&err),
    }
}

/// `Code: message` when the service said so, else the whole error chain (timeouts,
/// connection failures).
fn sdk_message<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(err).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{self, Fallbacks, Rule};
    use crate::select;

    fn ruleset(yaml: &str) -> Vec<Rule> {
        let fallbacks = Fallbacks {
            region: Some("us-east-1".into()),
            topic_arn: Some("arn:aws:sns:us-east-1:123456789012:alerts".into()),
        };
        rules::parse(yaml, "test", &fallbacks).unwrap().rules
    }

    fn subjects(rules: &[Rule]) -> Vec<Subject<'_>> {
        select::resolve(rules, &HashMap::new()).subjects
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn rules_sharing_a_query_share_one_call_with_the_union_of_statistics_and_widest_range() {
        let rules = ruleset(
            r#"
version: 1
rules:
  - {name: a, instances: [web-1, web-2], metric: CPUUtilization, comparison: ">", threshold: 80, evaluationPeriods: 3}
  - {name: b, instances: [web-1], metric: CPUUtilization, statistic: Maximum, comparison: ">", threshold: 95, evaluationPeriods: 1}
  - {name: c, instances: [web-1], metric: CPUUtilization, period: 600, comparison: ">", threshold: 95}
"#,
        );
        let queries = plan(&subjects(&rules), at("2026-11-24T13:07:30Z"));
        assert_eq!(queries.len(), 3, "{queries:#?}");
        let web1 = queries
            .iter()
            .find(|q| q.key.instance == "web-1" && q.key.period == 300)
            .unwrap();
        assert_eq!(
            web1.statistics,
            BTreeSet::from([Statistic::Average, Statistic::Maximum])
        );
        // Rule a: N = 3, so ages 1..=5 of 300 s ending at the last complete period.
        assert_eq!(web1.end, at("2026-11-24T13:05:00Z"));
        assert_eq!(web1.start, at("2026-11-24T12:40:00Z"));
        let web1_600 = queries.iter().find(|q| q.key.period == 600).unwrap();
        assert_eq!(web1_600.end, at("2026-11-24T13:00:00Z"));
        assert_eq!(web1_600.start, at("2026-11-24T12:30:00Z"));
    }

    #[test]
    fn rules_in_different_regions_do_not_share_a_call() {
        let rules = ruleset(
            r#"
version: 1
rules:
  - {name: a, instances: [web-1], metric: CPUUtilization, comparison: ">", threshold: 80}
  - {name: b, instances: [web-1], metric: CPUUtilization, comparison: ">", threshold: 80, region: eu-west-1}
"#,
        );
        let queries = plan(&subjects(&rules), at("2026-11-24T13:07:30Z"));
        let regions: BTreeSet<_> = queries.iter().map(|q| q.key.region.as_str()).collect();
        assert_eq!(regions, BTreeSet::from(["eu-west-1", "us-east-1"]));
    }

    #[test]
    fn ranges_longer_than_1440_periods_are_split() {
        let rules = ruleset(
            r#"
version: 1
rules:
  - {name: a, instances: [web-1], metric: StatusCheckFailed, period: 60, evaluationPeriods: 1440, comparison: ">", threshold: 0}
"#,
        );
        let queries = plan(&subjects(&rules), at("2026-11-24T13:00:00Z"));
        let pieces = split(&queries[0]);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].0, queries[0].start);
        assert_eq!(pieces[1].1, queries[0].end);
        assert_eq!(pieces[0].1, pieces[1].0);
        assert_eq!((pieces[0].1 - pieces[0].0).num_seconds(), 1440 * 60);
        assert_eq!((pieces[1].1 - pieces[1].0).num_seconds(), 2 * 60);
    }
}
