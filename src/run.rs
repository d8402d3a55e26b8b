//! One evaluation run: rules -> queries -> datapoints -> results -> alerts -> report.
//! The Lambda handler and the `check` command both call [`evaluate_all`] then
//! [`publish`]; only their sources and sinks differ.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use crate::evaluate::{self, AlarmState, Datapoint, Evaluation};
use crate::fetch::{self, FetchError, MetricDatapoint, MetricSource, QueryKey};
use crate::notify::{self, Alert, AlertSink};
use crate::rules::{Rule, RuleSet};

/// How a run is made.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// The evaluation time `t`: the scheduled time, `--at`, or now.
    pub at: DateTime<Utc>,
    /// Publish nothing; put the alerts into the report instead.
    pub dry_run: bool,
    /// Calls in flight at once (`ALERT_MAX_CONCURRENCY`).
    pub concurrency: usize,
}

/// The run report: the Lambda's response and `check --output json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(serialize_with = "evaluate::rfc3339")]
    pub evaluated_at: DateTime<Utc>,
    pub dry_run: bool,
    pub results: Vec<RuleResult>,
    /// Alerts published to SNS.
    pub published: usize,
    pub errors: Vec<RunError>,
    /// In a dry run, the alerts that would have been published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Alert>>,
    /// Alerts not yet handed to [`publish`], with the index of their result.
    #[serde(skip)]
    pub pending: Vec<(usize, Alert)>,
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

/// One rule evaluated for one instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub rule: String,
    pub region: String,
    pub instance: String,
    pub metric: String,
    pub state: ResultState,
    pub reason: String,
    pub datapoints: Vec<Datapoint>,
    #[serde(serialize_with = "evaluate::rfc3339")]
    pub range_end: DateTime<Utc>,
    pub notified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Something that went wrong in a run: a fetch or a publish.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunError {
    pub stage: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub region: String,
    pub instance: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    Fetch,
    Publish,
}

impl Report {
    /// Why the invocation must fail so that Lambda retries it and keeps it on the
    /// on-failure destination, or `None` when the run completed.
    pub fn failure(&self) -> Option<String> {
        let publish_failures = self
            .errors
            .iter()
            .filter(|e| e.stage == Stage::Publish)
            .count();
        if publish_failures > 0 {
            return Some(format!(
                "{publish_failures} alert(s) could not be published after retries"
            ));
        }
        let fetches = self.results.len();
        let failed = self
            .results
            .iter()
            .filter(|r| r.state == ResultState::Error)
            .count();
        if fetches > 0 && failed == fetches {
            return Some(format!(
                "every GetInstanceMetricData call failed ({failed} result(s) in ERROR)"
            ));
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

/// Evaluates every rule for every instance at `options.at`. The alerts it finds are
/// in the report: shown in a dry run, else waiting for [`publish`].
pub async fn evaluate_all<S: MetricSource>(
    rules: &RuleSet,
    source: &S,
    options: RunOptions,
) -> Report {
    let t = options.at;
    let queries = fetch::plan(&rules.rules, t);
    tracing::info!(queries = queries.len(), at = %t, "fetching datapoints");
    let fetched = fetch::fetch_all(source, queries, options.concurrency).await;

    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut alerts: Vec<(usize, Alert)> = Vec::new();
    for rule in &rules.rules {
        for instance in &rule.instances {
            let result = evaluate_one(rule, instance, &fetched, t);
            match &result {
                Ok(evaluation) if evaluation.state == AlarmState::Alarm => {
                    let index = results.len();
                    alerts.extend(
                        notify::render(rule, instance, evaluation, t)
                            .into_iter()
                            .map(|alert| (index, alert)),
                    );
                }
                Ok(_) => {}
                Err(err) => errors.push(RunError {
                    stage: Stage::Fetch,
                    rule: Some(rule.name.to_string()),
                    region: rule.region.clone(),
                    instance: instance.clone(),
                    message: err.to_string(),
                }),
            }
            results.push(rule_result(rule, instance, result, t));
        }
    }

    let (shown, pending) = if options.dry_run {
        (
            Some(alerts.into_iter().map(|(_, alert)| alert).collect()),
            Vec::new(),
        )
    } else {
        (None, alerts)
    };
    Report {
        evaluated_at: t,
        dry_run: options.dry_run,
        results,
        published: 0,
        errors,
        alerts: shown,
        pending,
    }
}

/// Publishes the report's pending alerts, at most `concurrency` at once, and records
/// in the report which were sent and which failed.
pub async fn publish<K: AlertSink>(report: &mut Report, sink: &K, concurrency: usize) {
    let pending = std::mem::take(&mut report.pending);
    let outcomes: Vec<_> = futures_util::stream::iter(pending)
        .map(|(index, alert)| async move {
            let outcome = sink.publish(&alert).await;
            (index, alert, outcome)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (index, alert, outcome) in outcomes {
        let result = &mut report.results[index];
        match outcome {
            Ok(message_id) => {
                tracing::info!(rule = %result.rule, instance = %result.instance, %message_id, subject = %alert.subject, "alert published");
                result.notified = true;
                report.published += 1;
            }
            Err(err) => {
                // The whole alert goes into the log so it is not lost even if the
                // retried invocation never succeeds.
                tracing::error!(rule = %result.rule, instance = %result.instance, error = %err, alert = ?alert, "alert could not be published");
                report.errors.push(RunError {
                    stage: Stage::Publish,
                    rule: Some(result.rule.clone()),
                    region: result.region.clone(),
                    instance: result.instance.clone(),
                    message: err.to_string(),
                });
            }
        }
    }
}

fn evaluate_one(
    rule: &Rule,
    instance: &str,
    fetched: &HashMap<QueryKey, Result<Vec<MetricDatapoint>, FetchError>>,
    t: DateTime<Utc>,
) -> Result<Evaluation, FetchError> {
    let key = fetch::key_of(rule, instance);
    let points = match fetched.get(&key) {
        Some(Ok(points)) => points,
        Some(Err(err)) => return Err(err.clone()),
        None => unreachable!("every rule's instance is planned"),
    };
    let mut datapoints: Vec<Datapoint> = points
        .iter()
        .filter_map(|p| {
            Some(Datapoint {
                timestamp: p.timestamp,
                value: *p.values.get(&rule.statistic)?,
            })
        })
        .collect();
    // Lightsail returns datapoints in no particular order.
    datapoints.sort_by_key(|p| p.timestamp);
    Ok(evaluate::evaluate(&rule.criteria(), &datapoints, t, None))
}

fn rule_result(
    rule: &Rule,
    instance: &str,
    result: Result<Evaluation, FetchError>,
    t: DateTime<Utc>,
) -> RuleResult {
    let base = |state, reason: String, datapoints, range_end, error| RuleResult {
        rule: rule.name.to_string(),
        region: rule.region.clone(),
        instance: instance.to_owned(),
        metric: rule.metric.to_string(),
        state,
        reason,
        datapoints,
        range_end,
        notified: false,
        error,
    };
    match result {
        Ok(evaluation) => base(
            ResultState::Alarm(evaluation.state),
            evaluation.reason,
            evaluation.datapoints,
            evaluation.range_end,
            None,
        ),
        Err(err) => base(
            ResultState::Error,
            "The datapoints could not be fetched.".to_owned(),
            Vec::new(),
            evaluate::range_end(t, rule.period),
            Some(err.to_string()),
        ),
    }
}
