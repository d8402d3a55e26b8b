//! The deliver stage: claim, publish, confirm (or release) one result's notification,
//! and record in its result what happened. With grouping (SPEC §16) the publishing in
//! the middle is the grouper's (`group`): the notice is claimed here, its alerts go out
//! alone or in digests, and each alert's outcome comes back to be confirmed or released
//! here, per key as before.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::deadline;
use super::report::{RuleResult, RunError, Stage};
use crate::domain::alert::Alert;
use crate::domain::transition::{Delivered, Stored, Why};
use crate::ports::{self, AlertSink, PublishError, StateStore};

/// What the deliver stage has to do for one result.
#[derive(Debug, Clone, Default)]
pub(super) struct Pending {
    /// The alerts to publish (one per destination); empty for a state change without
    /// notice.
    pub alerts: Vec<Alert>,
    /// With a state store: the item's key, the version read, and what to store.
    pub write: Option<StateWrite>,
    /// Which notice the alerts carry ([`Notice::id`](crate::domain::transition::Notice::id)).
    pub notice: Option<String>,
    /// The targets an earlier run already delivered this notice to (left out of
    /// `alerts`).
    pub delivered_before: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(super) struct StateWrite {
    pub key: String,
    pub expected_version: Option<u64>,
    pub new: Stored,
}

/// What happened to one [`Pending`].
#[derive(Debug, Default)]
pub(super) struct Done {
    published: Vec<(Alert, Sent)>,
    claimed_elsewhere: bool,
    state_error: Option<String>,
    /// Alerts not attempted because the run's deadline came first.
    abandoned: Vec<Alert>,
}

/// What became of one alert's publish.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    /// The SNS message id, or why it was not published.
    pub outcome: Result<String, PublishError>,
    /// Set when it went in a digest: how many alerts that digest carried.
    pub digest_of: Option<usize>,
}

impl Sent {
    fn alone(outcome: Result<String, PublishError>) -> Sent {
        Sent {
            outcome,
            digest_of: None,
        }
    }
}

/// A notification this run may publish: claimed, or needing no claim (no state store).
/// What is left to do after the publishes: [`finish`].
#[derive(Debug)]
pub(super) struct Claim {
    /// The key, what to store, and the claim's token.
    held: Option<(StateWrite, String)>,
    notice: Option<String>,
    delivered_before: BTreeSet<String>,
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

/// Delivers `pending`, giving up at `until`: what was not published by then counts as not
/// delivered (the invocation fails and is retried; a claim left behind expires after its
/// lease).
pub(super) async fn deliver<K: AlertSink, D: StateStore>(
    pending: Pending,
    sink: &K,
    store: Option<&D>,
    t: DateTime<Utc>,
    until: Option<Instant>,
) -> Done {
    let alerts = pending.alerts.clone();
    let mut done = Done::default();
    let work = attempt(pending, sink, store, t, &mut done);
    if deadline::within(until, work).await.is_none() {
        done.abandoned = alerts[done.published.len()..].to_vec();
    }
    done
}

async fn attempt<K: AlertSink, D: StateStore>(
    pending: Pending,
    sink: &K,
    store: Option<&D>,
    t: DateTime<Utc>,
    done: &mut Done,
) {
    let Some((alerts, claim)) = take(pending, store, done).await else {
        return;
    };
    for alert in alerts {
        let outcome = sink.publish(&alert).await;
        done.published.push((alert, Sent::alone(outcome)));
    }
    finish(claim, store, t, done).await;
}

/// Takes `pending` up to its publishes, giving up at `until`: records a change that needs
/// no notice, or claims the notice. Returns the alerts to publish and the claim to
/// [`finish`] after them; `None` (with what happened in [`Done`]) when there is nothing to
/// publish: no notice, claimed by another run, the store failed, or the deadline came
/// first.
pub(super) async fn claim<D: StateStore>(
    pending: Pending,
    store: Option<&D>,
    until: Option<Instant>,
) -> (Option<(Vec<Alert>, Claim)>, Done) {
    let alerts = pending.alerts.clone();
    let mut done = Done::default();
    match deadline::within(until, take(pending, store, &mut done)).await {
        Some(taken) => (taken, done),
        None => {
            done.abandoned = alerts;
            (None, done)
        }
    }
}

async fn take<D: StateStore>(
    pending: Pending,
    store: Option<&D>,
    done: &mut Done,
) -> Option<(Vec<Alert>, Claim)> {
    let (Some(store), Some(write)) = (store, pending.write) else {
        // Stateless: publish, nothing to claim.
        let claim = Claim {
            held: None,
            notice: pending.notice,
            delivered_before: pending.delivered_before,
        };
        return Some((pending.alerts, claim));
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
        return None;
    }
    let token = claim_token(&write.key);
    match store
        .claim(ports::ClaimRequest {
            key: &write.key,
            expected_version: write.expected_version,
            token: &token,
            now,
            lease_until: now + ports::LEASE,
            pending: &write.new,
        })
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            done.claimed_elsewhere = true;
            return None;
        }
        Err(err) => {
            done.state_error = Some(err.to_string());
            return None;
        }
    }
    let claim = Claim {
        held: Some((write, token)),
        notice: pending.notice,
        delivered_before: pending.delivered_before,
    };
    Some((pending.alerts, claim))
}

/// Waits for the outcome of each of a claimed notification's alerts, which the grouper
/// publishes alone or in digests, then [`finish`]es it, giving up at `until` as
/// [`deliver`] does.
pub(super) async fn await_sent<D: StateStore>(
    claim: Claim,
    replies: Vec<(Alert, oneshot::Receiver<Sent>)>,
    store: Option<&D>,
    t: DateTime<Utc>,
    until: Option<Instant>,
) -> Done {
    let alerts: Vec<Alert> = replies.iter().map(|(alert, _)| alert.clone()).collect();
    let mut done = Done::default();
    let work = async {
        for (alert, reply) in replies {
            let sent = reply.await.unwrap_or_else(|_| {
                Sent::alone(Err(PublishError {
                    topic_arn: alert.topic_arn.to_string(),
                    message: "not published: the run stopped before it was sent".to_owned(),
                }))
            });
            done.published.push((alert, sent));
        }
        finish(claim, store, t, &mut done).await;
    };
    if deadline::within(until, work).await.is_none() {
        done.abandoned = alerts[done.published.len()..].to_vec();
    }
    done
}

/// After the publishes (in `done`): confirms the new state when every alert went out;
/// else releases the claim, recording the targets that did receive it, so that the next
/// run sends it to the others alone.
async fn finish<D: StateStore>(claim: Claim, store: Option<&D>, t: DateTime<Utc>, done: &mut Done) {
    let (Some(store), Some((write, token))) = (store, claim.held) else {
        return;
    };
    let all_sent = done.published.iter().all(|(_, sent)| sent.outcome.is_ok());
    let settled = if all_sent {
        let mut new = write.new;
        new.notified_at = Some(t);
        store.confirm(&write.key, &token, &new).await
    } else {
        // The state stays as it was, so the next run sends the notification again, to
        // the targets that did not receive it.
        let mut topics = claim.delivered_before;
        topics.extend(
            done.published
                .iter()
                .filter(|(_, sent)| sent.outcome.is_ok())
                .map(|(alert, _)| alert.topic_arn.to_string()),
        );
        let delivered = claim
            .notice
            .filter(|_| !topics.is_empty())
            .map(|notice| Delivered { notice, topics });
        store.release(&write.key, &token, delivered.as_ref()).await
    };
    if let Err(err) = settled {
        done.state_error = Some(err.to_string());
    }
}

/// The sink of a simulation (`run::simulate`): takes every alert and sends none.
pub(super) struct Simulated;

impl AlertSink for Simulated {
    fn publish(
        &self,
        _alert: &Alert,
    ) -> impl std::future::Future<Output = Result<String, PublishError>> + Send {
        std::future::ready(Ok(String::new()))
    }
}

/// Records in `result` what a simulated delivery did: the alerts [`Simulated`] took are
/// the ones a run with `--publish` would have sent (returned, for the report), and the
/// result is `notified` as the store now records it; nothing counts as published.
pub(super) fn simulated(
    mut done: Done,
    result: &mut RuleResult,
    errors: &mut Vec<RunError>,
) -> Vec<Alert> {
    let alerts: Vec<Alert> = std::mem::take(&mut done.published)
        .into_iter()
        .map(|(alert, _)| alert)
        .collect();
    result.notified = !alerts.is_empty();
    record(done, result, errors);
    alerts
}

/// An alert that was not published goes into the log whole, so that it is not lost even
/// if the retried invocation never succeeds: each part a field of its own, the body
/// (`body`) as the string it would have been published as.
fn log_unsent(result: &RuleResult, alert: &Alert, error: &str) {
    tracing::error!(
        rule = %result.rule,
        region = %result.region,
        resource_type = %result.resource_type,
        resource = %result.resource,
        state = result.state.as_str(),
        severity = result.severity.as_str(),
        error,
        topic = %alert.topic_arn,
        format = %alert.format,
        subject = %alert.subject,
        message_group_id = alert.message_group_id.as_deref(),
        body = %alert.message,
        "alert could not be published"
    );
}

/// Records in `result` and the run's errors what happened to its notification; returns
/// how many alerts were published.
pub(super) fn record(done: Done, result: &mut RuleResult, errors: &mut Vec<RunError>) -> usize {
    let mut published = 0;
    if done.claimed_elsewhere {
        result.why = Why::ClaimedElsewhere;
    }
    let (rule, region, kind, resource) = (
        result.rule.clone(),
        result.region.clone(),
        result.resource_type,
        result.resource.clone(),
    );
    let error = |stage: Stage, message: String| {
        RunError::about(stage, &rule, &region, kind, &resource, message)
    };
    for (alert, sent) in done.published {
        match sent.outcome {
            Ok(message_id) => {
                match sent.digest_of {
                    None => {
                        tracing::info!(rule = %result.rule, resource_type = %result.resource_type, resource = %result.resource, %message_id, subject = %alert.subject, topic = %alert.topic_arn, "alert published");
                        published += 1;
                    }
                    // The digest is counted once, where it was published.
                    Some(count) => {
                        tracing::info!(rule = %result.rule, resource_type = %result.resource_type, resource = %result.resource, %message_id, subject = %alert.subject, topic = %alert.topic_arn, digest_of = count, "alert published in a digest")
                    }
                }
                result.notified = true;
            }
            Err(err) => {
                log_unsent(result, &alert, &err.to_string());
                errors.push(error(Stage::Publish, err.to_string()));
            }
        }
    }
    for alert in done.abandoned {
        log_unsent(result, &alert, "the run's deadline came first");
        errors.push(error(
            Stage::Publish,
            format!(
                "Publish to {} was abandoned at the run's deadline; the invocation fails so that it is retried",
                alert.topic_arn
            ),
        ));
    }
    if let Some(message) = done.state_error {
        tracing::error!(rule = %result.rule, resource_type = %result.resource_type, resource = %result.resource, error = %message, "alarm state store failed");
        if result.why != Why::ClaimedElsewhere && !result.notified {
            result.why = Why::StateUnavailable;
        }
        errors.push(error(Stage::State, message));
    }
    published
}
