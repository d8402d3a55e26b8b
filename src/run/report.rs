//! The run report: the Lambda's response and `check --output json`, and what in it makes
//! an invocation fail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use std::collections::BTreeMap;

use crate::domain::alert::Alert;
use crate::domain::catalog::{Comparison, ResourceType, Severity, Statistic, Unit};
use crate::domain::evaluate::{AlarmState, Datapoint};
use crate::domain::rule::Rule;
use crate::domain::silence::Origin;
use crate::domain::transition::Why;

/// The version of the report's format (`schemas/report-v1.schema.json`). Fields may be
/// added within a version, never removed, renamed or retyped.
pub const REPORT_VERSION: u32 = 1;

/// The run report: the Lambda's response and `check --output json`. Serialised as
/// version [`REPORT_VERSION`], with `reportVersion` and `counts` first.
#[derive(Debug, Clone)]
pub struct Report {
    pub evaluated_at: DateTime<Utc>,
    pub dry_run: bool,
    pub results: Vec<RuleResult>,
    /// Alerts published to SNS.
    pub published: usize,
    pub errors: Vec<RunError>,
    /// Globs and selections that matched no resource: not errors, but worth a look.
    pub warnings: Vec<RunWarning>,
    /// In a dry run, the alerts that would have been published.
    pub alerts: Option<Vec<Alert>>,
    /// What was left out to keep the Lambda response small (see
    /// [`Report::bounded`](super::response)); absent from a full report.
    pub omitted: Option<super::response::Omitted>,
}

/// The report as it is written: the version and the counts, then the report's fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Versioned<'a> {
    report_version: u32,
    #[serde(serialize_with = "crate::domain::time::serialize")]
    evaluated_at: DateTime<Utc>,
    dry_run: bool,
    /// Results per state: `ALARM`, `OK`, `INSUFFICIENT_DATA` and `ERROR`, each present.
    counts: BTreeMap<&'static str, usize>,
    results: &'a [RuleResult],
    published: usize,
    errors: &'a [RunError],
    warnings: &'a [RunWarning],
    #[serde(skip_serializing_if = "Option::is_none")]
    alerts: Option<&'a [Alert]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    omitted: Option<&'a super::response::Omitted>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut counts: BTreeMap<&'static str, usize> =
            ["ALARM", "OK", "INSUFFICIENT_DATA", "ERROR"]
                .into_iter()
                .map(|state| (state, 0))
                .collect();
        for (state, n) in self.counts() {
            counts.insert(state, n);
        }
        Versioned {
            report_version: REPORT_VERSION,
            evaluated_at: self.evaluated_at,
            dry_run: self.dry_run,
            counts,
            results: &self.results,
            published: self.published,
            errors: &self.errors,
            warnings: &self.warnings,
            alerts: self.alerts.as_deref(),
            omitted: self.omitted.as_ref(),
        }
        .serialize(s)
    }
}

/// The state of a result: an alarm state, or `ERROR` when its datapoints could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ResultState {
    Alarm(AlarmState),
    #[serde(serialize_with = "error_state")]
    Error,
}

fn error_state<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("ERROR")
}

impl ResultState {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultState::Alarm(state) => state.as_str(),
            ResultState::Error => "ERROR",
        }
    }
}

/// One rule evaluated for one resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub rule: String,
    pub severity: Severity,
    pub region: String,
    pub resource_type: ResourceType,
    pub resource: String,
    /// The resource's name again on `Instance` results, as reports had it before SPEC §11.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub metric: String,
    pub statistic: Statistic,
    pub unit: Unit,
    pub period: u32,
    pub comparison: Comparison,
    pub threshold: f64,
    pub state: ResultState,
    pub reason: String,
    /// The datapoints evaluated, oldest first, each marked when it breaches `threshold`.
    pub datapoints: Vec<ReportDatapoint>,
    #[serde(serialize_with = "crate::domain::time::serialize")]
    pub range_end: DateTime<Utc>,
    /// The stored state before this run (`null` without a state store or for a first
    /// evaluation).
    pub previous_state: Option<AlarmState>,
    pub notified: bool,
    /// Why it was or was not notified.
    pub why: Why,
    /// The silence or inhibition covering it in this run (SPEC §16), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<HeldBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What holds a result's notices: a silence in force, or a rule that inhibits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldBy {
    /// `silence` or `inhibition`.
    pub kind: HoldKind,
    /// The silence's name (an ad hoc silence's ID, or the tag
    /// `lightsail-alerts:silence-until`), or the inhibiting rule's.
    pub name: String,
    /// Where a silence is defined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// When a silence's window ends.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::domain::time::serialize_option"
    )]
    pub until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HoldKind {
    Silence,
    Inhibition,
}

impl HeldBy {
    /// `silence nightly-backups until 2026-11-24T04:00:00Z`, `inhibited by status-check`.
    pub fn describe(&self) -> String {
        match (self.kind, self.until) {
            (HoldKind::Silence, Some(until)) => format!(
                "silence {} until {}",
                self.name,
                crate::domain::time::rfc3339(until)
            ),
            (HoldKind::Silence, None) => format!("silence {}", self.name),
            (HoldKind::Inhibition, _) => format!("inhibited by {}", self.name),
        }
    }
}

/// One evaluated datapoint of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDatapoint {
    #[serde(serialize_with = "crate::domain::time::serialize")]
    pub timestamp: DateTime<Utc>,
    pub value: f64,
    pub breaching: bool,
}

impl RuleResult {
    /// A result of `rule` for `resource` in `region`, in `state`, with what the rule says
    /// of it filled in and no datapoints yet.
    pub fn of(
        rule: &Rule,
        region: &str,
        resource: &str,
        state: ResultState,
        range_end: DateTime<Utc>,
    ) -> RuleResult {
        RuleResult {
            rule: rule.name.to_string(),
            severity: rule.severity,
            region: region.to_owned(),
            resource_type: rule.resource_type,
            resource: resource.to_owned(),
            instance: instance_field(rule.resource_type, resource),
            metric: rule.metric.to_string(),
            statistic: rule.statistic,
            unit: rule.unit,
            period: rule.period,
            comparison: rule.comparison,
            threshold: rule.threshold,
            state,
            reason: String::new(),
            datapoints: Vec::new(),
            range_end,
            previous_state: None,
            notified: false,
            why: Why::Stateless,
            held_by: None,
            error: None,
        }
    }

    /// `points` as the report shows them, each marked when it breaches the rule.
    pub fn with_datapoints(mut self, rule: &Rule, points: &[Datapoint]) -> RuleResult {
        self.datapoints = points
            .iter()
            .map(|point| ReportDatapoint {
                timestamp: point.timestamp,
                value: point.value,
                breaching: rule.comparison.breaches(point.value, rule.threshold),
            })
            .collect();
        self
    }
}

/// Something that went wrong in a run: a listing, a fetch, a publish, the state store.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunError {
    pub stage: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<ResourceType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The resource's name again for `Instance` resources, as before SPEC §11.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub message: String,
    /// The AWS error code when the service answered with one (`AccessDeniedException`,
    /// `ThrottlingException`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The `instance` field of a result or error: the name, for instances only.
pub fn instance_field(kind: ResourceType, resource: &str) -> Option<String> {
    (kind == ResourceType::Instance).then(|| resource.to_owned())
}

impl RunError {
    /// An error about one resource of one rule.
    pub fn about(
        stage: Stage,
        rule: &str,
        region: &str,
        kind: ResourceType,
        resource: &str,
        message: String,
    ) -> RunError {
        RunError {
            stage,
            rule: Some(rule.to_owned()),
            region: Some(region.to_owned()),
            resource_type: Some(kind),
            resource: Some(resource.to_owned()),
            instance: instance_field(kind, resource),
            message,
            code: None,
        }
    }

    /// An error of the run or of a rule, about no one resource.
    pub fn general(
        stage: Stage,
        rule: Option<String>,
        region: Option<String>,
        message: String,
    ) -> RunError {
        RunError {
            stage,
            rule,
            region,
            resource_type: None,
            resource: None,
            instance: None,
            message,
            code: None,
        }
    }

    /// The same with the service's error code.
    pub fn with_code(mut self, code: Option<&str>) -> RunError {
        self.code = code.map(str::to_owned);
        self
    }
}

/// A selection that matched nothing, or a glob of one that did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunWarning {
    pub rule: String,
    pub region: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Listing a region's resources of a type (`GetInstances`, ...) for a rule's selection.
    Select,
    Fetch,
    Publish,
    /// Reading or writing the alarm state store.
    State,
    /// Not done before the run's deadline (SPEC §12).
    Deadline,
}

impl Stage {
    /// As the report spells it (`select`, `fetch`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Select => "select",
            Stage::Fetch => "fetch",
            Stage::Publish => "publish",
            Stage::State => "state",
            Stage::Deadline => "deadline",
        }
    }
}

impl Report {
    /// Why the invocation must fail so that Lambda retries it and keeps it on the
    /// on-failure destination, or `None` when the run completed.
    pub fn failure(&self) -> Option<String> {
        let count = |stage: Stage| self.errors.iter().filter(|e| e.stage == stage).count();
        let publish_failures = count(Stage::Publish);
        if publish_failures > 0 {
            return Some(format!(
                "{publish_failures} alert(s) could not be published after retries"
            ));
        }
        let state_failures = count(Stage::State);
        if state_failures > 0 {
            return Some(format!(
                "the alarm state store failed {state_failures} time(s); nothing that depended on it was sent"
            ));
        }
        // Nothing evaluated because of faults: the run did nothing useful, so it is
        // retried and lands on the on-failure destination. Some evaluated is a success
        // with errors in the report, so one bad instance or region does not re-run (and
        // re-notify, without a state store) the rest.
        let evaluated = self
            .results
            .iter()
            .filter(|r| r.state != ResultState::Error)
            .count();
        let failed = self.results.len() - evaluated;
        // Rules a listing could not place: it failed, or the deadline came first.
        let unlisted = self
            .errors
            .iter()
            .filter(|e| {
                e.stage == Stage::Select || (e.stage == Stage::Deadline && e.resource.is_none())
            })
            .count();
        if evaluated == 0 && failed + unlisted > 0 {
            let mut causes = Vec::new();
            if failed > 0 {
                causes.push(format!(
                    "{failed} result(s) in ERROR (their datapoints could not be had)"
                ));
            }
            if unlisted > 0 {
                causes.push(format!(
                    "{unlisted} rule(s) not evaluated in a region whose listing failed or was cut short by the deadline"
                ));
            }
            return Some(format!("nothing could be evaluated: {}", causes.join("; ")));
        }
        None
    }

    /// Results per state, for summaries and logs.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for result in &self.results {
            let state = result.state.as_str();
            match counts.iter_mut().find(|(s, _)| *s == state) {
                Some((_, n)) => *n += 1,
                None => counts.push((state, 1)),
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_spelled_in_logs_as_in_the_report() {
        for stage in [
            Stage::Select,
            Stage::Fetch,
            Stage::Publish,
            Stage::State,
            Stage::Deadline,
        ] {
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::json!(stage.as_str())
            );
        }
    }

    fn at() -> DateTime<Utc> {
        "2026-11-24T13:05:00Z".parse().unwrap()
    }

    /// A database whose datapoints did not come before the deadline: its error names the
    /// resource, so it counts as a result in ERROR, not as a rule left unlisted.
    #[test]
    fn a_resource_past_the_deadline_is_a_failed_result_whatever_its_type() {
        for kind in ResourceType::ALL.iter().copied() {
            let rule = crate::rules::parse(
                &format!(
                    "version: 1\nrules:\n  - {{name: r, resourceType: {kind}, resources: [db-1], \
                     metric: {}, comparison: '>', threshold: 1, region: us-east-1, \
                     topicArn: 'arn:aws:sns:us-east-1:123456789012:t'}}\n",
                    kind.metrics().next().unwrap()
                ),
                "test",
                &crate::rules::Fallbacks::default(),
            )
            .unwrap()
            .rules
            .remove(0);
            let result = RuleResult::of(&rule, "us-east-1", "db-1", ResultState::Error, at());
            let error = RunError::about(
                Stage::Deadline,
                "r",
                "us-east-1",
                kind,
                "db-1",
                "not evaluated".into(),
            );
            let report = Report {
                evaluated_at: at(),
                dry_run: false,
                results: vec![result],
                published: 0,
                errors: vec![error],
                warnings: Vec::new(),
                alerts: None,
                omitted: None,
            };
            assert_eq!(
                report.failure().as_deref(),
                Some(
                    "nothing could be evaluated: 1 result(s) in ERROR (their datapoints could \
                     not be had)"
                ),
                "{kind}"
            );
        }
    }
}
