//! One evaluation run: rules -> queries -> datapoints -> results -> alerts -> report.
//! The Lambda handler and the `check` command both call [`evaluate_all`] then
//! [`publish`]; only their sources, sinks and state stores differ.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

mod fetch;
mod list;

use crate::domain::alert::{self, Alert};
use crate::domain::evaluate::{self, AlarmState, Datapoint, Evaluation};
use crate::domain::plan::{self, MetricDatapoint, QueryKey};
use crate::domain::select::{self, Alarm};
use crate::domain::transition::{self, Notice, Stored, Why};
use crate::ports::{
    self, AlertSink, FetchError, InstanceSource, MetricSource, PublishError, StateStore,
};
use crate::rules::RuleSet;

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
    /// Notifications and state writes not yet handed to [`publish`].
    #[serde(skip)]
    pub pending: Vec<Pending>,
}

/// What [`publish`] has to do for one result.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The result's index in the report.
    pub index: usize,
    /// The alerts to publish (one per target); empty for a state change without notice.
    pub alerts: Vec<Alert>,
    /// With a state store: the item's key, the version read, and what to store.
    pub write: Option<StateWrite>,
}

#[derive(Debug, Clone)]
pub struct StateWrite {
    pub key: String,
    pub expected_version: Option<u64>,
    pub new: Stored,
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
    pub instance: Option<String>,
    pub message: String,
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
        let unlisted = count(Stage::Select);
        if evaluated == 0 && failed + unlisted > 0 {
            let mut causes = Vec::new();
            if failed > 0 {
                causes.push(format!(
                    "{failed} result(s) in ERROR (their datapoints could not be had)"
                ));
            }
            if unlisted > 0 {
                causes.push(format!(
                    "{unlisted} rule(s) not evaluated in a region whose GetInstances failed"
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

/// Evaluates every rule for every instance at `options.at`, against the stored alarm
/// states when there is a store. What to publish and store is in the report: shown in
/// a dry run, else waiting for [`publish`].
pub async fn evaluate_all<S: MetricSource + InstanceSource, D: StateStore>(
    rules: &RuleSet,
    source: &S,
    store: Option<&D>,
    options: RunOptions,
) -> Report {
    let t = options.at;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    // The fleet, listed once per region that some rule's selection needs.
    let regions = select::regions_to_list(
        rules
            .rules
            .iter()
            .map(|rule| (&rule.selection, rule.regions.as_slice())),
    );
    if !regions.is_empty() {
        tracing::info!(regions = ?regions, "listing instances");
    }
    let listings = list::list_all(source, regions, options.concurrency).await;
    let resolution = select::resolve(&rules.rules, &listings);
    for (rule, region, err) in &resolution.failed {
        tracing::error!(rule = %rule.name, %region, error = %err, "rule not evaluated in this region");
        errors.push(RunError {
            stage: Stage::Select,
            rule: Some(rule.name.to_string()),
            region: Some((*region).to_owned()),
            instance: None,
            message: err.to_string(),
        });
    }
    for (rule, region, message) in &resolution.warnings {
        tracing::warn!(rule = %rule.name, %region, "{message}");
        warnings.push(RunWarning {
            rule: rule.name.to_string(),
            region: (*region).to_owned(),
            message: message.clone(),
        });
    }
    // Explicit names the listing does not have are results in ERROR, after the rest.
    let alarms: Vec<(&Alarm<'_>, bool)> = resolution
        .alarms
        .iter()
        .map(|alarm| (alarm, true))
        .chain(resolution.missing.iter().map(|alarm| (alarm, false)))
        .collect();

    let queries = plan::plan(&resolution.alarms, t);
    tracing::info!(queries = queries.len(), at = %t, "fetching datapoints");
    let keys: Vec<String> = alarms
        .iter()
        .map(|(s, _)| ports::key(s.rule.name.as_str(), s.region, &s.instance))
        .collect();
    let (fetched, stored) = tokio::join!(
        fetch::fetch_all(source, queries, options.concurrency),
        async {
            match store {
                Some(store) => Some(store.load(&keys).await),
                None => None,
            }
        }
    );

    let stored = match stored {
        None => None,
        Some(Ok(stored)) => Some(stored),
        Some(Err(err)) => {
            tracing::error!(error = %err, "the alarm state could not be read");
            errors.push(RunError {
                stage: Stage::State,
                rule: None,
                region: None,
                instance: None,
                message: err.to_string(),
            });
            None
        }
    };
    let state_failed = store.is_some() && stored.is_none();

    let mut results = Vec::new();
    let mut pending = Vec::new();
    for (&(alarm, exists), key) in alarms.iter().zip(keys) {
        let rule = alarm.rule;
        let previous = stored.as_ref().and_then(|s| s.get(&key));
        let index = results.len();
        let evaluated = if exists {
            evaluate_one(alarm, &fetched, previous.map(|p| p.state), t)
        } else {
            Err(FetchError::NotFound {
                region: alarm.region.to_owned(),
                instance: alarm.instance.clone(),
                message: "GetInstances lists no instance by that name".to_owned(),
            })
        };
        let evaluation = match evaluated {
            Ok(evaluation) => evaluation,
            Err(err) => {
                errors.push(RunError {
                    stage: Stage::Fetch,
                    rule: Some(rule.name.to_string()),
                    region: Some(alarm.region.to_owned()),
                    instance: Some(alarm.instance.clone()),
                    message: err.to_string(),
                });
                results.push(error_result(alarm, previous, &err, t));
                continue;
            }
        };
        let (why, notice, write) = if state_failed {
            (Why::StateUnavailable, None, None)
        } else if let Some(stored) = &stored {
            let previous = stored.get(&key);
            let outcome = transition::decide(
                previous,
                evaluation.state,
                evaluation.range_end,
                &evaluation.reason,
                t,
                &rule.policy(),
            );
            let notice = outcome.notice;
            let write = outcome.store.map(|new| StateWrite {
                key: key.clone(),
                expected_version: previous.map(|p| p.version),
                new,
            });
            (outcome.why, notice, write)
        } else if evaluation.state == AlarmState::Alarm {
            (Why::Stateless, Some(Notice::first(AlarmState::Alarm)), None)
        } else {
            (Why::Stateless, None, None)
        };
        let alerts = notice
            .map(|notice| {
                alert::render(rule, alarm.region, &alarm.instance, &evaluation, t, notice)
            })
            .unwrap_or_default();
        let would_notify = !alerts.is_empty();
        let mut result = rule_result(alarm, evaluation, previous.map(|p| p.state));
        result.why = if options.dry_run && would_notify {
            Why::DryRun
        } else {
            why
        };
        results.push(result);
        if would_notify || write.is_some() {
            pending.push(Pending {
                index,
                alerts,
                write,
            });
        }
    }

    let (shown, pending) = if options.dry_run {
        let alerts = pending.into_iter().flat_map(|p| p.alerts).collect();
        (Some(alerts), Vec::new())
    } else {
        (None, pending)
    };
    Report {
        evaluated_at: t,
        dry_run: options.dry_run,
        results,
        published: 0,
        errors,
        warnings,
        alerts: shown,
        pending,
    }
}

/// Publishes the report's pending notifications, at most `concurrency` at once, and
/// records in the report which were sent and which failed. With a state store each
/// notification is claimed first (only the claimant publishes), confirmed after a
/// successful publish, and released after a failed one.
pub async fn publish<K: AlertSink, D: StateStore>(
    report: &mut Report,
    sink: &K,
    store: Option<&D>,
    concurrency: usize,
) {
    let pending = std::mem::take(&mut report.pending);
    let t = report.evaluated_at;
    let outcomes: Vec<Done> = futures_util::stream::iter(pending)
        .map(|pending| deliver(pending, sink, store, t))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for done in outcomes {
        let result = &mut report.results[done.index];
        if done.claimed_elsewhere {
            result.why = Why::ClaimedElsewhere;
        }
        for (alert, outcome) in done.published {
            match outcome {
                Ok(message_id) => {
                    tracing::info!(rule = %result.rule, instance = %result.instance, %message_id, alarm = %alert.subject, topic = %alert.topic_arn, "alert published");
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
                        region: Some(result.region.clone()),
                        instance: Some(result.instance.clone()),
                        message: err.to_string(),
                    });
                }
            }
        }
        if let Some(message) = done.state_error {
            tracing::error!(rule = %result.rule, instance = %result.instance, error = %message, "alarm state store failed");
            if result.why != Why::ClaimedElsewhere && !result.notified {
                result.why = Why::StateUnavailable;
            }
            report.errors.push(RunError {
                stage: Stage::State,
                rule: Some(result.rule.clone()),
                region: Some(result.region.clone()),
                instance: Some(result.instance.clone()),
                message,
            });
        }
    }
}

/// What happened to one [`Pending`].
struct Done {
    index: usize,
    published: Vec<(Alert, Result<String, PublishError>)>,
    claimed_elsewhere: bool,
    state_error: Option<String>,
}

/// A claim token unique to this process and this notification.
fn claim_token(key: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}:{}:{}:{key}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn deliver<K: AlertSink, D: StateStore>(
    pending: Pending,
    sink: &K,
    store: Option<&D>,
    t: DateTime<Utc>,
) -> Done {
    let mut done = Done {
        index: pending.index,
        published: Vec::new(),
        claimed_elsewhere: false,
        state_error: None,
    };
    let (Some(store), Some(write)) = (store, pending.write) else {
        // Stateless: publish, nothing to claim.
        for alert in pending.alerts {
            let outcome = sink.publish(&alert).await;
            done.published.push((alert, outcome));
        }
        return done;
    };
    // Leases are wall-clock time, whatever the evaluation time.
    let now = Utc::now();
    if pending.alerts.is_empty() {
        match store
            .record(&write.key, write.expected_version, now, &write.new)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(key = %write.key, "the state changed under this run; not recorded")
            }
            Err(err) => done.state_error = Some(err.to_string()),
        }
        return done;
    }
    let token = claim_token(&write.key);
    match store
        .claim(
            &write.key,
            write.expected_version,
            &token,
            now,
            now + ports::LEASE,
            &write.new,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            done.claimed_elsewhere = true;
            return done;
        }
        Err(err) => {
            done.state_error = Some(err.to_string());
            return done;
        }
    }
    for alert in pending.alerts {
        let outcome = sink.publish(&alert).await;
        done.published.push((alert, outcome));
    }
    let all_sent = done.published.iter().all(|(_, outcome)| outcome.is_ok());
    let settled = if all_sent {
        let mut new = write.new;
        new.notified_at = Some(t);
        store.confirm(&write.key, &token, &new).await
    } else {
        // The state stays as it was, so the next run sends the notification again.
        store.release(&write.key, &token).await
    };
    if let Err(err) = settled {
        done.state_error = Some(err.to_string());
    }
    done
}

fn evaluate_one(
    alarm: &Alarm<'_>,
    fetched: &HashMap<QueryKey, Result<Vec<MetricDatapoint>, FetchError>>,
    previous: Option<AlarmState>,
    t: DateTime<Utc>,
) -> Result<Evaluation, FetchError> {
    let rule = alarm.rule;
    let key = plan::key_of(alarm);
    let points = match fetched.get(&key) {
        Some(Ok(points)) => points,
        Some(Err(err)) => return Err(err.clone()),
        None => unreachable!("every alarm is planned"),
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
    // Hysteresis: while in ALARM, the rule is held to its recovery threshold.
    let mut criteria = rule.criteria();
    criteria.threshold = transition::effective_threshold(
        rule.comparison,
        rule.threshold,
        rule.recovery_threshold,
        previous,
    );
    // `ignore` keeps the stored state.
    Ok(evaluate::evaluate(&criteria, &datapoints, t, previous))
}

fn rule_result(
    alarm: &Alarm<'_>,
    evaluation: Evaluation,
    previous_state: Option<AlarmState>,
) -> RuleResult {
    RuleResult {
        rule: alarm.rule.name.to_string(),
        region: alarm.region.to_owned(),
        instance: alarm.instance.clone(),
        metric: alarm.rule.metric.to_string(),
        state: ResultState::Alarm(evaluation.state),
        reason: evaluation.reason,
        datapoints: evaluation.datapoints,
        range_end: evaluation.range_end,
        previous_state,
        notified: false,
        why: Why::Stateless,
        error: None,
    }
}

fn error_result(
    alarm: &Alarm<'_>,
    previous: Option<&Stored>,
    err: &FetchError,
    t: DateTime<Utc>,
) -> RuleResult {
    let rule = alarm.rule;
    RuleResult {
        rule: rule.name.to_string(),
        region: alarm.region.to_owned(),
        instance: alarm.instance.clone(),
        metric: rule.metric.to_string(),
        state: ResultState::Error,
        reason: "The datapoints could not be fetched.".to_owned(),
        datapoints: Vec::new(),
        range_end: evaluate::range_end(t, rule.period),
        previous_state: previous.map(|p| p.state),
        notified: false,
        why: Why::FetchFailed,
        error: Some(err.to_string()),
    }
}
