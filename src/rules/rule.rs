//! One rule of the document: `check_rule` reads it in steps (name, metric, condition,
//! evaluation, notification policy, regions and destinations) and fills what it leaves out
//! from `defaults`, the catalog and the environment.

use std::collections::{BTreeSet, HashMap};

use serde_yaml_ng::{Mapping, Value};

use crate::domain::catalog::{
    Comparison, MetricName, ResourceType, Severity, Statistic, TreatMissingData, Unit,
};
use crate::domain::evaluate::AlarmState;
use crate::domain::transition::Policy;

use super::Fallbacks;
use super::errors::ValidationError;
use super::metric::{
    check_datapoints_to_alarm, check_evaluation_periods, check_metric, check_period,
    check_recovery_threshold, check_statistic, check_unit,
};
use super::notify::{check_notify, check_topic_arn, destinations};
use super::policy::{check_notify_on, check_reminders, check_renotify_minutes};
use super::positions::Path;
use super::scope::{Defaults, Field, RULE_FIELDS, Scope};
use super::selection::{check_region, check_regions, check_selection};
use super::values::{describe, finite_number, lookup, mapping, parse_name, string};
use crate::domain::rule::{Destination, RULE_NAME_ALLOWED, Rule, RuleName};

const REGION_REQUIRED: &str = "required; set `region` or `regions` on the rule, `defaults.region` \
     in the document, or the AWS_REGION environment variable (on the command line also \
     --region, or the profile's `region` in ~/.aws/config)";
/// `evaluationPeriods` when a rule sets none.
pub(super) const DEFAULT_EVALUATION_PERIODS: u32 = 1;
const TOPIC_REQUIRED: &str = "required; set `topicArn` on the rule, `defaults.topicArn` in the \
     document, or the ALERT_TOPIC_ARN environment variable";

/// What is measured: `metric`, and its `statistic`, `unit` and `period` (by default the
/// catalog's for the metric). `None` where a field is wrong; its error is recorded.
struct MetricStat {
    metric: Option<MetricName>,
    statistic: Option<Statistic>,
    unit: Option<Unit>,
    period: Option<u32>,
}

/// When a datapoint breaches, and when it stops: `comparison`, `threshold`,
/// `recoveryThreshold`.
struct Condition {
    comparison: Option<Comparison>,
    threshold: Option<f64>,
    recovery_threshold: Option<Option<f64>>,
}

/// How breaching datapoints make an alarm: `evaluationPeriods`, `datapointsToAlarm`,
/// `treatMissingData`.
struct Evaluation {
    evaluation_periods: Option<u32>,
    datapoints_to_alarm: Option<u32>,
    treat_missing_data: Option<TreatMissingData>,
}

/// `rules[index]`, every field checked and every error recorded; `None` if any was wrong.
pub(super) fn check_rule(
    index: usize,
    value: &Value,
    source: &str,
    errors: &mut Vec<ValidationError>,
    defaults: &Defaults,
    fallbacks: &Fallbacks,
    names: &mut HashMap<RuleName, usize>,
) -> Option<Rule> {
    let position = format!("rules[{index}]");
    // The name comes first so every other error can say which rule it is about.
    let name = mapping(
        value,
        "a mapping of rule fields (name, instances, metric, ...)",
    )
    .map(|map| {
        let name = lookup(map, "name", |v| {
            RuleName::try_from(string(v)?.to_owned()).map_err(|e| e.to_string())
        });
        (map, name)
    });
    let rule = match &name {
        Ok((_, Ok(Some(name)))) => format!("{position} ({name})"),
        _ => position.clone(),
    };
    let mut scope = Scope {
        rule: Some(rule),
        ..Scope::new(source, Path::root().key("rules").index(index), errors)
    };
    let (map, name) = match name {
        Ok((map, name)) => (map, name),
        Err(message) => {
            scope.error("", message);
            return None;
        }
    };
    let unknown = scope.find_unknown(map, RULE_FIELDS);

    // In this order, so the errors of a rule come in the order of its concerns.
    let name = check_name(&mut scope, name, index, names);
    let description = scope.field(map, "description", |v| string(v).map(str::to_owned));
    let resource_type = scope
        .field(map, "resourceType", parse_name::<ResourceType>)
        .or_else(|| Some(ResourceType::Instance));
    let selection = check_selection(&mut scope, map, resource_type);
    let stat = check_metric_stat(&mut scope, map, resource_type);
    let condition = check_condition(&mut scope, map);
    let evaluation = check_evaluation(&mut scope, map, stat.period);
    let severity = scope.field(map, "severity", parse_name::<Severity>);
    let severity = severity.or_default(&defaults.severity, Severity::Warning);
    let (notify_on, renotify_minutes) = check_notification_policy(&mut scope, map, defaults);
    let regions = rule_regions(&mut scope, map, defaults, fallbacks, resource_type);
    let destinations = rule_targets(&mut scope, map, defaults, fallbacks);
    let inhibited_by = check_inhibited_by(&mut scope, map, name.as_ref());
    let description = description.optional();
    scope.report_unknown(unknown);

    Some(Rule {
        name: name?,
        description: description?,
        resource_type: resource_type?,
        selection: selection?,
        metric: stat.metric?,
        statistic: stat.statistic?,
        unit: stat.unit?,
        period: stat.period?,
        comparison: condition.comparison?,
        threshold: condition.threshold?,
        recovery_threshold: condition.recovery_threshold?,
        evaluation_periods: evaluation.evaluation_periods?,
        datapoints_to_alarm: evaluation.datapoints_to_alarm?,
        treat_missing_data: evaluation.treat_missing_data?,
        severity: severity?,
        notify_on: notify_on?,
        renotify_minutes: renotify_minutes?,
        regions: regions?,
        destinations: destinations?,
        inhibited_by: inhibited_by?,
    })
}

/// `inhibitedBy: [rule, ...]`: rule names, each once, not the rule itself. That they
/// are rules of the document, of the same type, without a cycle, is checked once every
/// rule is read ([`super::inhibition`]).
fn check_inhibited_by(
    scope: &mut Scope<'_>,
    map: &Mapping,
    own: Option<&RuleName>,
) -> Option<Vec<RuleName>> {
    let list = scope.field(map, "inhibitedBy", |v| match v {
        Value::Sequence(list) if !list.is_empty() => Ok(list),
        Value::Sequence(_) => Err("must name at least one rule (or leave the field out)".into()),
        other => Err(format!(
            "expected a list of rule names, e.g. [status-check-failed], got {}",
            describe(other)
        )),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Some(Vec::new()),
        Field::Invalid => return None,
    };
    let mut names: Vec<RuleName> = Vec::with_capacity(list.len());
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let at = Path::from("inhibitedBy").index(index);
        let name =
            string(item).and_then(|s| RuleName::try_from(s.to_owned()).map_err(|e| e.to_string()));
        match name {
            Ok(name) if Some(&name) == own => {
                scope.error(
                    at,
                    format!("`{name}` is this rule; a rule cannot inhibit itself"),
                );
                valid = false;
            }
            Ok(name) => match names.iter().position(|n| *n == name) {
                Some(first) => {
                    scope.error(
                        at,
                        format!("`{name}` is listed twice (also inhibitedBy[{first}])"),
                    );
                    valid = false;
                }
                None => names.push(name),
            },
            Err(message) => {
                scope.error(at, message);
                valid = false;
            }
        }
    }
    valid.then_some(names)
}

/// `name`, already read: required, and unique in the document.
fn check_name(
    scope: &mut Scope<'_>,
    name: Result<Option<RuleName>, String>,
    index: usize,
    names: &mut HashMap<RuleName, usize>,
) -> Option<RuleName> {
    let name = scope.record("name", name);
    let name = scope.required(
        name,
        "name",
        &format!("a unique name of {RULE_NAME_ALLOWED}"),
    );
    name.and_then(|name| match names.get(&name) {
        Some(first) => {
            scope.error(
                "name",
                format!("`{name}` is already the name of rules[{first}]; names must be unique"),
            );
            None
        }
        None => {
            names.insert(name.clone(), index);
            Some(name)
        }
    })
}

fn check_metric_stat(
    scope: &mut Scope<'_>,
    map: &Mapping,
    kind: Option<ResourceType>,
) -> MetricStat {
    let metric = scope.field(map, "metric", |v| check_metric(v, kind));
    let allowed = match kind {
        Some(kind) => kind
            .metrics()
            .map(MetricName::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        None => MetricName::allowed(),
    };
    let metric = scope.required(metric, "metric", &format!("allowed: {allowed}"));
    let known = kind
        .zip(metric)
        .and_then(|(kind, metric)| kind.metric(metric).map(|info| (kind, metric, info)));
    let info = known.map(|(_, _, info)| info);
    let of_metric = known.map(|(_, metric, info)| (metric, info));

    let statistic = scope
        .field(map, "statistic", |v| check_statistic(v, known))
        .or_else(|| info.map(|i| i.statistic));
    let unit = scope
        .field(map, "unit", |v| check_unit(v, of_metric))
        .or_else(|| info.map(|i| i.unit));
    let period = scope
        .field(map, "period", |v| check_period(v, of_metric))
        .or_else(|| info.map(|i| i.default_period));
    MetricStat {
        metric,
        statistic,
        unit,
        period,
    }
}

fn check_condition(scope: &mut Scope<'_>, map: &Mapping) -> Condition {
    let comparison = scope.field(map, "comparison", parse_name::<Comparison>);
    let comparison = scope.required(
        comparison,
        "comparison",
        &format!("allowed: {}", Comparison::allowed()),
    );
    let threshold = scope.field(map, "threshold", finite_number);
    let threshold = scope.required(threshold, "threshold", "a finite number");
    let recovery_threshold = match scope.field(map, "recoveryThreshold", finite_number) {
        Field::Valid(recovery) => match (comparison, threshold) {
            (Some(comparison), Some(threshold)) => {
                match check_recovery_threshold(comparison, threshold, recovery) {
                    Ok(()) => Field::Valid(recovery),
                    Err(message) => {
                        scope.error("recoveryThreshold", message);
                        Field::Invalid
                    }
                }
            }
            // Cannot be checked; the comparison or threshold error is already recorded.
            _ => Field::Invalid,
        },
        other => other,
    };
    Condition {
        comparison,
        threshold,
        recovery_threshold: recovery_threshold.optional(),
    }
}

fn check_evaluation(scope: &mut Scope<'_>, map: &Mapping, period: Option<u32>) -> Evaluation {
    let evaluation_periods = scope
        .field(map, "evaluationPeriods", |v| {
            check_evaluation_periods(v, period)
        })
        .or_else(|| Some(DEFAULT_EVALUATION_PERIODS));
    let datapoints_to_alarm = scope
        .field(map, "datapointsToAlarm", |v| {
            check_datapoints_to_alarm(v, evaluation_periods)
        })
        .or_else(|| evaluation_periods);
    let treat_missing_data = scope
        .field(map, "treatMissingData", parse_name::<TreatMissingData>)
        .or_else(|| Some(TreatMissingData::Missing));
    Evaluation {
        evaluation_periods,
        datapoints_to_alarm,
        treat_missing_data,
    }
}

/// `notifyOn` and `renotifyMinutes`: the rule's own, else from `defaults`, else the
/// default policy.
fn check_notification_policy(
    scope: &mut Scope<'_>,
    map: &Mapping,
    defaults: &Defaults,
) -> (Option<BTreeSet<AlarmState>>, Option<u32>) {
    let notify_on = check_notify_on(scope, map);
    let renotify_minutes = scope.field(map, "renotifyMinutes", check_renotify_minutes);
    let own = (
        matches!(notify_on, Field::Valid(_)),
        matches!(renotify_minutes, Field::Valid(_)),
    );
    let policy = Policy::default();
    let notify_on = notify_on.or_default(&defaults.notify_on, policy.notify_on);
    let renotify_minutes =
        renotify_minutes.or_default(&defaults.renotify_minutes, policy.renotify_minutes);
    // Only a combination this rule made: one `defaults` made is reported there.
    match (notify_on, renotify_minutes, own) {
        (Some(states), Some(minutes), (own_states, own_minutes)) if own_states || own_minutes => {
            let inherited = if own_minutes { "" } else { " (from defaults)" };
            match check_reminders(&states, minutes, inherited) {
                Ok(()) => (Some(states), Some(minutes)),
                Err(message) => {
                    let field = if own_minutes {
                        "renotifyMinutes"
                    } else {
                        "notifyOn"
                    };
                    scope.error(field, message);
                    (None, None)
                }
            }
        }
        (states, minutes, _) => (states, minutes),
    }
}

/// Where the rule is evaluated: its `regions` or `region`, else from `defaults`, else
/// `AWS_REGION`.
fn rule_regions(
    scope: &mut Scope<'_>,
    map: &Mapping,
    defaults: &Defaults,
    fallbacks: &Fallbacks,
    kind: Option<ResourceType>,
) -> Option<Vec<String>> {
    let regions = check_regions(scope, map);
    // Distributions are global: their metrics are only served in us-east-1, whatever
    // region the defaults or AWS_REGION name; a rule that names another says so.
    if let Some(global) = kind.and_then(ResourceType::global_region) {
        let kind = kind.map_or("", ResourceType::as_str);
        return match regions {
            Field::Valid(regions) if regions.iter().any(|r| r != global) => {
                let field = if map.contains_key("regions") {
                    "regions"
                } else {
                    "region"
                };
                scope.error(
                    field,
                    format!(
                        "{kind} resources are global and their metrics are served only in \
                         {global}; allowed: {global}, or leave the region out"
                    ),
                );
                None
            }
            Field::Invalid => None,
            _ => Some(vec![global.to_owned()]),
        };
    }
    scope.inherit(
        "region",
        regions,
        &defaults.regions,
        ("AWS_REGION", fallbacks.region.as_deref()),
        |region| check_region(region).map(|region| vec![region]),
        REGION_REQUIRED,
    )
}

/// Where the rule's alerts go: its `notify` or `topicArn`, else from `defaults`, else
/// `ALERT_TOPIC_ARN`.
fn rule_targets(
    scope: &mut Scope<'_>,
    map: &Mapping,
    defaults: &Defaults,
    fallbacks: &Fallbacks,
) -> Option<Vec<Destination>> {
    let topic_arn = scope.field(map, "topicArn", |v| check_topic_arn(string(v)?));
    let notify = check_notify(scope, map);
    let own = destinations(scope, map, topic_arn, notify);
    scope.inherit(
        "topicArn",
        own,
        &defaults.destinations,
        ("ALERT_TOPIC_ARN", fallbacks.topic_arn.as_deref()),
        |arn| check_topic_arn(arn).map(|arn| vec![Destination::text(arn)]),
        TOPIC_REQUIRED,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{Changes, SOURCE, error_lines, fallbacks, none, one_rule};
    use crate::rules::{RuleSet, parse};

    #[test]
    fn comparison_symbols_are_accepted_and_spelt_out() {
        for (symbol, comparison) in [
            (">=", Comparison::GreaterThanOrEqualToThreshold),
            (">", Comparison::GreaterThanThreshold),
            ("<", Comparison::LessThanThreshold),
            ("<=", Comparison::LessThanOrEqualToThreshold),
        ] {
            let doc = one_rule(&[("comparison", Some(&format!("\"{symbol}\"")))]);
            let rules = parse(&doc, SOURCE, &none()).unwrap();
            assert_eq!(rules.rules[0].comparison, comparison);
        }
    }

    #[test]
    fn each_rule_error_names_the_rule_the_field_and_what_is_allowed() {
        let cases: &[(Changes, &str)] = &[
            (
                &[
                    ("name", Some("burst-capacity-low")),
                    ("metric", Some("BurstCapacityPercentage")),
                    ("unit", Some("Bytes")),
                ],
                "12:11: rules[0] (burst-capacity-low): unit: `Bytes` is not published for BurstCapacityPercentage \
                 (Lightsail returns no data for any other unit); allowed: Percent",
            ),
            (
                &[("unit", Some("percent"))],
                "12:11: rules[0] (cpu-high): unit: `percent` is not published for CPUUtilization (Lightsail \
                 returns no data for any other unit); allowed: Percent; did you mean `Percent`?",
            ),
            (
                &[("period", Some("1.5"))],
                "12:13: rules[0] (cpu-high): period: expected a whole number of seconds, got the number 1.5",
            ),
            (
                &[("period", Some("\"300\""))],
                "12:13: rules[0] (cpu-high): period: expected a whole number of seconds, got the string \"300\"",
            ),
            (
                &[("period", Some("60"))],
                "12:13: rules[0] (cpu-high): period: `60` is not a valid period for CPUUtilization, which \
                 Lightsail stores every 300 seconds; allowed: a multiple of 300 from 300 to 86400 \
                 (300, 600, 900, ..., 86400)",
            ),
            (
                &[
                    ("metric", Some("StatusCheckFailed")),
                    ("period", Some("90")),
                ],
                "12:13: rules[0] (cpu-high): period: `90` is not a valid period for StatusCheckFailed, which \
                 Lightsail stores every 60 seconds; allowed: a multiple of 60 from 60 to 86400 \
                 (60, 120, 180, ..., 86400)",
            ),
            (
                &[("period", Some("172800"))],
                "12:13: rules[0] (cpu-high): period: `172800` is not a valid period for CPUUtilization, which \
                 Lightsail stores every 300 seconds; allowed: a multiple of 300 from 300 to 86400 \
                 (300, 600, 900, ..., 86400)",
            ),
            (
                &[("threshold", Some("high"))],
                "11:16: rules[0] (cpu-high): threshold: expected a number, got the string \"high\"",
            ),
            (
                &[("threshold", Some(".inf"))],
                "11:16: rules[0] (cpu-high): threshold: `.inf` is not allowed; expected a finite number",
            ),
            (
                &[("threshold", None)],
                "7:5: rules[0] (cpu-high): threshold: required; a finite number",
            ),
            (
                &[("instances", Some("web-1"))],
                "8:16: rules[0] (cpu-high): instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance, \
                 got the string \"web-1\"",
            ),
            (
                &[("instances", Some("[]"))],
                "8:16: rules[0] (cpu-high): instances: must name at least one instance; expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance",
            ),
            (
                &[("instances", Some("[web-1, db-1, web-1]"))],
                "8:30: rules[0] (cpu-high): instances[2]: `web-1` is listed twice (also instances[0])",
            ),
            (
                &[("instances", Some("[web-1, '']"))],
                "8:24: rules[0] (cpu-high): instances[1]: is empty; expected an instance name or a glob",
            ),
            (
                &[("instances", Some("[web-1, 2]"))],
                "8:24: rules[0] (cpu-high): instances[1]: expected an instance name or a glob (a string; \
                 quote globs, e.g. \"web-*\"), got the number 2",
            ),
            (
                &[("instances", None)],
                "7:5: rules[0] (cpu-high): instances: required; a list of instance names and globs, e.g. \
                 [web-1, \"web-*\"], or \"*\" for every instance",
            ),
            (
                &[("metric", Some("CPU"))],
                "9:13: rules[0] (cpu-high): metric: `CPU` is not a metric of Instance; allowed: CPUUtilization, \
                 BurstCapacityPercentage, BurstCapacityTime, NetworkIn, NetworkOut, StatusCheckFailed, \
                 StatusCheckFailed_Instance, StatusCheckFailed_System, MetadataNoToken, DiskReadOps, \
                 DiskWriteOps, DiskReadBytes, DiskWriteBytes, DiskTotalReadTime, DiskTotalWriteTime, \
                 DiskQueueLength",
            ),
            (
                &[("metric", Some("cpu_utilization"))],
                "9:13: rules[0] (cpu-high): metric: `cpu_utilization` is not a metric of Instance; allowed: \
                 CPUUtilization, BurstCapacityPercentage, BurstCapacityTime, NetworkIn, NetworkOut, \
                 StatusCheckFailed, StatusCheckFailed_Instance, StatusCheckFailed_System, \
                 MetadataNoToken, DiskReadOps, DiskWriteOps, DiskReadBytes, DiskWriteBytes, \
                 DiskTotalReadTime, DiskTotalWriteTime, DiskQueueLength; did you mean `CPUUtilization`?",
            ),
            (
                &[("statistic", Some("Mean"))],
                "12:16: rules[0] (cpu-high): statistic: `Mean` is not a valid statistic; allowed: Minimum, \
                 Maximum, Sum, Average, SampleCount",
            ),
            (
                &[("comparison", Some("\"=>\""))],
                "10:17: rules[0] (cpu-high): comparison: `=>` is not a valid comparison; allowed: \
                 GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
                 LessThanOrEqualToThreshold, <=",
            ),
            (
                &[("comparison", None)],
                "7:5: rules[0] (cpu-high): comparison: required; allowed: GreaterThanOrEqualToThreshold, >=, \
                 GreaterThanThreshold, >, LessThanThreshold, <, LessThanOrEqualToThreshold, <=",
            ),
            (
                &[("evaluationPeriods", Some("0"))],
                "12:24: rules[0] (cpu-high): evaluationPeriods: `0` is not allowed; allowed: a whole number \
                 >= 1 with evaluationPeriods * period <= 86400",
            ),
            (
                &[("evaluationPeriods", Some("300"))],
                "12:24: rules[0] (cpu-high): evaluationPeriods: `300` periods of 300 s span 90000 s, more \
                 than evaluationPeriods * period <= 86400 s allows; allowed: 1 to 288",
            ),
            (
                &[
                    ("evaluationPeriods", Some("3")),
                    ("datapointsToAlarm", Some("4")),
                ],
                "13:24: rules[0] (cpu-high): datapointsToAlarm: `4` is more than evaluationPeriods (3); \
                 allowed: 1 to 3",
            ),
            (
                &[("datapointsToAlarm", Some("2"))],
                "12:24: rules[0] (cpu-high): datapointsToAlarm: `2` is more than evaluationPeriods (1); \
                 allowed: 1 to 1",
            ),
            (
                &[("datapointsToAlarm", Some("0"))],
                "12:24: rules[0] (cpu-high): datapointsToAlarm: `0` is not allowed; allowed: 1 to 1",
            ),
            (
                &[("treatMissingData", Some("Missing"))],
                "12:23: rules[0] (cpu-high): treatMissingData: `Missing` is not a valid treatMissingData; \
                 allowed: missing, ignore, breaching, notBreaching; did you mean `missing`?",
            ),
            (
                &[("severity", Some("high"))],
                "12:15: rules[0] (cpu-high): severity: `high` is not a valid severity; allowed: critical, \
                 warning, info",
            ),
            (
                &[("region", Some("us-east"))],
                "12:13: rules[0] (cpu-high): region: `us-east` is not an AWS region name; expected one like \
                 us-east-1 or eu-west-2",
            ),
            (
                &[(
                    "topicArn",
                    Some("arn:aws:sqs:us-east-1:123456789012:alerts"),
                )],
                "12:15: rules[0] (cpu-high): topicArn: `arn:aws:sqs:us-east-1:123456789012:alerts` is not an \
                 SNS topic ARN (the service is `sqs`, not `sns`); expected \
                 arn:aws:sns:<region>:<12-digit account>:<topic name>",
            ),
            (
                &[("description", Some("5"))],
                "12:18: rules[0] (cpu-high): description: expected a string, got the number 5",
            ),
            (
                &[("name", Some("cpu high"))],
                "7:11: rules[0]: name: `cpu high` is not a valid rule name (' ' is not allowed); allowed: \
                 1 to 64 characters from A-Z a-z 0-9 _ . -",
            ),
            (
                &[("name", Some("[cpu]"))],
                "7:11: rules[0]: name: expected a string, got a list",
            ),
            (
                &[("name", None)],
                "7:5: rules[0]: name: required; a unique name of 1 to 64 characters from A-Z a-z 0-9 _ . -",
            ),
            (
                &[("treatMissingData", Some("breach"))],
                "12:23: rules[0] (cpu-high): treatMissingData: `breach` is not a valid treatMissingData; \
                 allowed: missing, ignore, breaching, notBreaching; did you mean `breaching`?",
            ),
            (
                &[("comparison", Some("GreaterThan"))],
                "10:17: rules[0] (cpu-high): comparison: `GreaterThan` is not a valid comparison; allowed: \
                 GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
                 LessThanOrEqualToThreshold, <=; did you mean `GreaterThanThreshold`?",
            ),
            (
                &[("colour", Some("red"))],
                "12:5: rules[0] (cpu-high): colour: unknown field `colour`; allowed: name, description, \
                 resourceType, resources, instances, exclude, tags, states, metric, statistic, unit, period, comparison, threshold, \
                 recoveryThreshold, evaluationPeriods, datapointsToAlarm, treatMissingData, severity, \
                 notifyOn, renotifyMinutes, region, regions, topicArn, notify, inhibitedBy",
            ),
            // A misspelt required field is one error, not also "threshold: required".
            (
                &[("threshold", None), ("treshold", Some("80"))],
                "11:5: rules[0] (cpu-high): treshold: unknown field `treshold` (did you mean `threshold`?); \
                 allowed: name, description, resourceType, resources, instances, exclude, tags, states, metric, statistic, unit, period, comparison, \
                 threshold, recoveryThreshold, evaluationPeriods, datapointsToAlarm, treatMissingData, \
                 severity, notifyOn, renotifyMinutes, region, regions, topicArn, notify, inhibitedBy",
            ),
            (
                &[("evaluation_periods", Some("3"))],
                "12:5: rules[0] (cpu-high): evaluation_periods: unknown field `evaluation_periods` (did you \
                 mean `evaluationPeriods`?); allowed: name, description, resourceType, resources, instances, exclude, tags, states, metric, statistic, \
                 unit, period, comparison, threshold, recoveryThreshold, evaluationPeriods, \
                 datapointsToAlarm, treatMissingData, severity, notifyOn, renotifyMinutes, region, \
                 regions, topicArn, notify, inhibitedBy",
            ),
            (
                &[("Unit", Some("Percent"))],
                "12:5: rules[0] (cpu-high): Unit: unknown field `Unit` (did you mean `unit`?); allowed: \
                 name, description, resourceType, resources, instances, exclude, tags, states, metric, statistic, unit, period, comparison, \
                 threshold, recoveryThreshold, evaluationPeriods, datapointsToAlarm, treatMissingData, \
                 severity, notifyOn, renotifyMinutes, region, regions, topicArn, notify, inhibitedBy",
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [format!("{SOURCE}:{expected}")],
                "document:\n{doc}"
            );
        }
    }

    /// SPEC §11: every error names the resource type and what it allows.
    #[test]
    fn resource_type_errors_name_the_type_and_what_it_allows() {
        const DB: (&str, Option<&str>) = ("resourceType", Some("RelationalDatabase"));
        const DIST: (&str, Option<&str>) = ("resourceType", Some("Distribution"));
        const NO_INSTANCES: (&str, Option<&str>) = ("instances", None);
        let cases: &[(Changes, &str)] = &[
            (
                &[("resourceType", Some("LoadBalancers"))],
                "12:19: rules[0] (cpu-high): resourceType: `LoadBalancers` is not a valid resourceType; \
                 allowed: Instance, RelationalDatabase, LoadBalancer, Distribution, \
                 ContainerService, Bucket; did you mean `LoadBalancer`?",
            ),
            (
                &[DB],
                "8:16: rules[0] (cpu-high): instances: `instances` selects instances, but this rule \
                 watches RelationalDatabase resources; name them in `resources`",
            ),
            (
                &[("resources", Some("[web-2]"))],
                "8:16: rules[0] (cpu-high): instances: `instances` and `resources` are both set; use one \
                 of them (`resources` works for every type)",
            ),
            (
                &[DB, NO_INSTANCES],
                "7:5: rules[0] (cpu-high): resources: required; a list of database names and globs, e.g. \
                 [web-1, \"web-*\"], or \"*\" for every database",
            ),
            (
                &[
                    DB,
                    NO_INSTANCES,
                    ("resources", Some("[db-1]")),
                    ("metric", Some("HealthyHostCount")),
                ],
                "8:13: rules[0] (cpu-high): metric: `HealthyHostCount` is not a metric of RelationalDatabase \
                 (it is one of LoadBalancer: set `resourceType` to watch that type); allowed for \
                 RelationalDatabase: CPUUtilization, DatabaseConnections, DiskQueueDepth, \
                 FreeStorageSpace, NetworkReceiveThroughput, NetworkTransmitThroughput",
            ),
            (
                &[
                    ("resourceType", Some("LoadBalancer")),
                    NO_INSTANCES,
                    ("resources", Some("[lb-1]")),
                    ("metric", Some("HTTPCode_LB_5XX_Count")),
                    ("statistic", Some("Average")),
                ],
                "13:16: rules[0] (cpu-high): statistic: `Average` is not useful for LoadBalancer \
                 HTTPCode_LB_5XX_Count: Lightsail returns 1 for this load balancer count's Minimum, \
                 Maximum and Average; allowed: Sum, SampleCount",
            ),
            (
                &[
                    DIST,
                    NO_INSTANCES,
                    ("resources", Some("[cdn]")),
                    ("metric", Some("5xxErrorRate")),
                ],
                "8:13: rules[0] (cpu-high): metric: `5xxErrorRate` is not a metric of Distribution; \
                 allowed: Requests, BytesDownloaded, BytesUploaded, TotalErrorRate, Http4xxErrorRate, \
                 Http5xxErrorRate, WafAllowedRequests, WafBlockedRequests; did you mean \
                 `Http5xxErrorRate`? (the API spells it so, though the Lightsail guide writes \
                 `5xxErrorRate`)",
            ),
            (
                &[
                    DIST,
                    NO_INSTANCES,
                    ("resources", Some("[cdn]")),
                    ("metric", Some("Http5xxErrorRate")),
                    ("states", Some("[Deployed]")),
                ],
                "13:13: rules[0] (cpu-high): states: Distribution resources have no state to select by; \
                 remove `states`",
            ),
            (
                &[
                    DIST,
                    NO_INSTANCES,
                    ("resources", Some("[cdn]")),
                    ("metric", Some("Requests")),
                    ("region", Some("eu-west-1")),
                ],
                "13:13: rules[0] (cpu-high): region: Distribution resources are global and their metrics \
                 are served only in us-east-1; allowed: us-east-1, or leave the region out",
            ),
            (
                &[
                    ("resourceType", Some("ContainerService")),
                    NO_INSTANCES,
                    ("resources", Some("[api]")),
                    ("metric", Some("MemoryUtilization")),
                    ("states", Some("[running]")),
                ],
                "13:14: rules[0] (cpu-high): states[0]: `running` is not a container service state; \
                 allowed: PENDING, READY, RUNNING, UPDATING, DELETING, DISABLED, DEPLOYING; did \
                 you mean `RUNNING`?",
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [format!("{SOURCE}:{expected}")],
                "document:\n{doc}"
            );
        }
    }

    #[test]
    fn region_and_topic_come_from_the_rule_then_defaults_then_fallbacks() {
        let env = fallbacks("eu-west-1", "arn:aws:sns:eu-west-1:111111111111:from-env");
        let doc = |defaults: &str| {
            format!(
                "version: 1\n{defaults}rules:\n\
                 - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n\
                 - {{name: b, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1,\n   \
                   region: ap-southeast-2, topicArn: 'arn:aws:sns:ap-southeast-2:333333333333:own.fifo'}}\n"
            )
        };
        let placed = |rules: &RuleSet| -> Vec<(String, String)> {
            rules
                .rules
                .iter()
                .map(|r| {
                    (
                        r.regions[0].clone(),
                        r.destinations[0].topic_arn.to_string(),
                    )
                })
                .collect()
        };
        let own = (
            "ap-southeast-2".to_owned(),
            "arn:aws:sns:ap-southeast-2:333333333333:own.fifo".to_owned(),
        );

        let from_env = parse(&doc(""), SOURCE, &env).unwrap();
        assert_eq!(
            placed(&from_env),
            [
                (
                    "eu-west-1".to_owned(),
                    "arn:aws:sns:eu-west-1:111111111111:from-env".to_owned()
                ),
                own.clone()
            ]
        );

        let defaults = "defaults:\n  region: us-west-2\n  topicArn: arn:aws:sns:us-west-2:222222222222:from-defaults\n";
        let from_defaults = parse(&doc(defaults), SOURCE, &env).unwrap();
        assert_eq!(
            placed(&from_defaults),
            [
                (
                    "us-west-2".to_owned(),
                    "arn:aws:sns:us-west-2:222222222222:from-defaults".to_owned()
                ),
                own
            ]
        );

        let severity = parse(&doc("defaults:\n  severity: info\n"), SOURCE, &env).unwrap();
        assert_eq!(severity.rules[0].severity, Severity::Info);
    }

    #[test]
    fn blank_fallbacks_count_as_unset_and_bad_ones_say_where_they_came_from() {
        let doc = "version: 1\nrules:\n- {name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}\n";
        let lines = error_lines(doc, &fallbacks("", "  "));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("rules.yaml:3:3: rules[0] (a): region: required; "),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("rules.yaml:3:3: rules[0] (a): topicArn: required; "),
            "{lines:?}"
        );

        let lines = error_lines(doc, &fallbacks("nowhere", "arn:aws:sns:us-east-1:1234:t"));
        assert_eq!(
            lines,
            [
                "rules.yaml:3:3: rules[0] (a): region: from AWS_REGION: `nowhere` is not an AWS region \
                 name; expected one like us-east-1 or eu-west-2",
                "rules.yaml:3:3: rules[0] (a): topicArn: from ALERT_TOPIC_ARN: \
                 `arn:aws:sns:us-east-1:1234:t` is not an SNS topic ARN (the account `1234` is not 12 \
                 digits); expected arn:aws:sns:<region>:<12-digit account>:<topic name>",
            ]
        );
    }
}
