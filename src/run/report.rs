//! The run report: the Lambda's response and `check --output json`, and what in it makes
//! an invocation fail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::alert::Alert;
use crate::domain::catalog::ResourceType;
use crate::domain::evaluate::{AlarmState, Datapoint};
use crate::domain::transition::Why;

/// The run report: the Lambda's response and `check --output json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(serialize_with = "crate::domain::time::serialize")]
    pub evaluated_at: DateTime<Utc>,
    pub dry_run: bool,
    pub results: Vec<RuleResult>,
    /// Alerts published to SNS.
    pub published: usize,
    pub errors: Vec<RunError>,
    /// Globs and selections that matched no instance: not errors, but worth a look.
    pub warnings: Vec<RunWarning>,
    /// In a dry run, the alerts that would have been published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Alert>>,
    /// What was left out to keep the Lambda response small (see
    /// [`Report::bounded`](super::response)); absent from a full report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<super::response::Omitted>,
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
    pub region: String,
    pub resource_type: ResourceType,
    pub resource: String,
    /// The resource's name again on `Instance` results, as reports had it before SPEC §11.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub metric: String,
    pub state: ResultState,
    pub reason: String,
    pub datapoints: Vec<Datapoint>,
    #[serde(serialize_with = "crate::domain::time::serialize")]
    pub range_end: DateTime<Utc>,
    /// The stored state before this run (`null` without a state store or for a first
    /// evaluation).
    pub previous_state: Option<AlarmState>,
    pub notified: bool,
    /// Why it was or was not notified.
    pub why: Why,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
        }
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
    /// Listing a region's instances (`GetInstances`) for a rule's selection.
    Select,
    Fetch,
    Publish,
    /// Reading or writing the alarm state store.
    State,
    /// Not done before the run's deadline (SPEC §12).
    Deadline,
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
                e.stage == Stage::Select || (e.stage == Stage::Deadline && e.instance.is_none())
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
                    "{unlisted} rule(s) not evaluated in a region whose GetInstances failed or was cut short by the deadline"
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
