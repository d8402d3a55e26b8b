//! Query planning: one `Get*MetricData` call per distinct (region, resource type,
//! resource, metric, period, unit), serving every rule that shares it, split into calls
//! of at most 1,440 periods.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::catalog::{MAX_DATAPOINTS_PER_CALL, MetricName, ResourceType, Statistic, Unit};
use crate::domain::evaluate;
use crate::domain::select::Alarm;

/// What makes two rules share one `Get*MetricData` call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryKey {
    pub region: String,
    pub resource_type: ResourceType,
    pub resource: String,
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

/// Plans the calls for a run at `t`: one per distinct (region, type, resource, metric,
/// period, unit), covering ages 1..=N+2 of the rule with the largest N.
pub fn plan(alarms: &[Alarm<'_>], t: DateTime<Utc>) -> Vec<Query> {
    let mut queries: BTreeMap<QueryKey, Query> = BTreeMap::new();
    for alarm in alarms {
        let rule = alarm.rule;
        let (start, end) = evaluate::range(t, rule.period, rule.evaluation_periods + 2);
        let key = key_of(alarm);
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

/// The query an alarm is served by.
pub fn key_of(alarm: &Alarm<'_>) -> QueryKey {
    QueryKey {
        region: alarm.region.to_owned(),
        resource_type: alarm.rule.resource_type,
        resource: alarm.resource.clone(),
        metric: alarm.rule.metric,
        period: alarm.rule.period,
        unit: alarm.rule.unit,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::select;
    use crate::rules::{self, Fallbacks, Rule};
    use std::collections::HashMap;

    fn ruleset(yaml: &str) -> Vec<Rule> {
        let fallbacks = Fallbacks {
            region: Some("us-east-1".into()),
            topic_arn: Some("arn:aws:sns:us-east-1:123456789012:alerts".into()),
        };
        rules::parse(yaml, "test", &fallbacks).unwrap().rules
    }

    fn alarms(rules: &[Rule]) -> Vec<Alarm<'_>> {
        select::resolve::<String>(rules, &HashMap::new()).alarms
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
        let queries = plan(&alarms(&rules), at("2026-11-24T13:07:30Z"));
        assert_eq!(queries.len(), 3, "{queries:#?}");
        let web1 = queries
            .iter()
            .find(|q| q.key.resource == "web-1" && q.key.period == 300)
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
        let queries = plan(&alarms(&rules), at("2026-11-24T13:07:30Z"));
        let regions: BTreeSet<_> = queries.iter().map(|q| q.key.region.as_str()).collect();
        assert_eq!(regions, BTreeSet::from(["eu-west-1", "us-east-1"]));
    }

    #[test]
    fn resources_of_different_types_never_share_a_call_and_each_type_dedupes() {
        let rules = ruleset(
            r#"
version: 1
rules:
  - {name: a, instances: [api], metric: CPUUtilization, comparison: ">", threshold: 80}
  - {name: b, resourceType: ContainerService, resources: [api], metric: CPUUtilization, comparison: ">", threshold: 80}
  - {name: c, resourceType: ContainerService, resources: [api], metric: CPUUtilization, statistic: Maximum, comparison: ">", threshold: 95}
  - {name: d, resourceType: Distribution, resources: [cdn], metric: Requests, comparison: ">", threshold: 1000}
"#,
        );
        let queries = plan(&alarms(&rules), at("2026-11-24T13:07:30Z"));
        let keys: Vec<(ResourceType, &str, &str)> = queries
            .iter()
            .map(|q| {
                (
                    q.key.resource_type,
                    q.key.resource.as_str(),
                    q.key.region.as_str(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (ResourceType::Instance, "api", "us-east-1"),
                (ResourceType::Distribution, "cdn", "us-east-1"),
                (ResourceType::ContainerService, "api", "us-east-1"),
            ]
        );
        let service = &queries[2];
        assert_eq!(
            service.statistics,
            BTreeSet::from([Statistic::Average, Statistic::Maximum])
        );
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
        let queries = plan(&alarms(&rules), at("2026-11-24T13:00:00Z"));
        let pieces = split(&queries[0]);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].0, queries[0].start);
        assert_eq!(pieces[1].1, queries[0].end);
        assert_eq!(pieces[0].1, pieces[1].0);
        assert_eq!((pieces[0].1 - pieces[0].0).num_seconds(), 1440 * 60);
        assert_eq!((pieces[1].1 - pieces[1].0).num_seconds(), 2 * 60);
    }
}
