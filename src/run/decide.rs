//! The evaluate and decide stages for one alarm: its datapoints evaluated with
//! CloudWatch's semantics, the result decided against the stored state (SPEC §9), and the
//! alerts rendered. No I/O: what to publish and store goes to the deliver stage.

use chrono::{DateTime, Utc};

use super::deliver::{Pending, StateWrite};
use super::hold::Holding;
use super::plan::Planned;
use super::report::{ResultState, RuleResult, RunError, Stage};
use crate::domain::alert;
use crate::domain::evaluate::{self, AlarmState, Datapoint, Evaluation};
use crate::domain::plan::MetricDatapoint;
use crate::domain::silence::Active;
use crate::domain::transition::{self, Delivered, Evaluated, Notice, Stored, Why};
use crate::ports::{FetchError, Loaded};

/// The alarm states a run decides against.
#[derive(Debug)]
pub(super) enum States {
    /// No state store: every ALARM is notified, nothing is stored.
    Stateless,
    /// The stored state of each key that has one, and the items that could not be
    /// decoded (each treated as absent for its key alone).
    Loaded(Loaded),
    /// The store could not be read (why): nothing that depends on it is sent.
    Unavailable(String),
}

impl States {
    /// The ad hoc silences in force at `t`.
    pub(super) fn ad_hoc_silences(&self, t: DateTime<Utc>) -> Vec<Active> {
        match self {
            States::Loaded(loaded) => loaded.silences.active_at(t),
            States::Stateless | States::Unavailable(_) => Vec::new(),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Stored> {
        match self {
            States::Loaded(loaded) => loaded.states.get(key),
            States::Stateless | States::Unavailable(_) => None,
        }
    }

    /// The record of the notice an earlier run delivered to some targets of `key`.
    fn delivered(&self, key: &str) -> Option<&Delivered> {
        match self {
            States::Loaded(loaded) => match loaded.states.get(key) {
                Some(stored) => stored.delivered.as_ref(),
                None => loaded.delivered.get(key),
            },
            States::Stateless | States::Unavailable(_) => None,
        }
    }

    /// The version a write to `key` expects: the stored one's, or an unreadable item's
    /// (which the write replaces).
    fn version(&self, key: &str) -> Option<u64> {
        match self {
            States::Loaded(loaded) => loaded
                .states
                .get(key)
                .map(|s| s.version)
                .or_else(|| loaded.unreadable.get(key).and_then(|u| u.version)),
            States::Stateless | States::Unavailable(_) => None,
        }
    }
}

/// One alarm decided: its result, and what is left to deliver.
#[derive(Debug)]
pub(super) struct Decision {
    pub result: RuleResult,
    pub error: Option<RunError>,
    pub pending: Pending,
}

/// Decides `planned` at `t` from its query's datapoints (or why there are none), its
/// notices held by `holding` (a silence or an inhibition) if any.
pub(super) fn decide(
    planned: &Planned<'_>,
    fetched: &Result<Vec<MetricDatapoint>, FetchError>,
    states: &States,
    t: DateTime<Utc>,
    holding: Option<Holding>,
) -> Decision {
    let previous = states.get(&planned.key);
    let points = match fetched {
        Ok(points) => points,
        Err(err) => {
            let mut decision = failed(planned, previous, err, t);
            decision.result.held_by = holding.map(|h| h.held_by);
            return decision;
        }
    };
    let hold = holding.as_ref().map(|h| &h.hold);
    let evaluation = evaluate_one(planned, points, previous.map(|p| p.state), t);
    let (why, notice, write, released) = match states {
        States::Unavailable(_) => (Why::StateUnavailable, None, None, None),
        States::Loaded(_) => {
            let evaluated = Evaluated {
                state: evaluation.state,
                range_end: evaluation.range_end,
                period: planned.alarm.rule.period,
                reason: &evaluation.reason,
            };
            let policy = planned.alarm.rule.policy();
            let outcome = transition::decide_with(previous, evaluated, t, &policy, hold);
            let expected_version = states.version(&planned.key);
            let write = outcome.store.map(|mut new| {
                // Replacing an unreadable item still moves its version on, so that a
                // run that read the same item cannot write too.
                if let Some(version) = expected_version {
                    new.version = new.version.max(version + 1);
                }
                StateWrite {
                    key: planned.key.clone(),
                    expected_version,
                    new,
                }
            });
            (outcome.why, outcome.notice, write, outcome.released)
        }
        // Without a store there is nothing to hold a notice in: a silenced ALARM is
        // not sent, and the next run after the silence sends it (as it sends every ALARM).
        States::Stateless => match (evaluation.state, hold) {
            (AlarmState::Alarm, Some(hold)) => (Why::from(hold), None, None, None),
            (AlarmState::Alarm, None) => (
                Why::Stateless,
                Some(Notice::first(AlarmState::Alarm)),
                None,
                None,
            ),
            _ => (Why::Stateless, None, None, None),
        },
    };
    let alarm = &planned.alarm;
    let alerts = notice
        .map(|notice| {
            alert::render(
                alarm.rule,
                alarm.region,
                &alarm.resource,
                &evaluation,
                t,
                notice,
                released.as_ref(),
            )
        })
        .unwrap_or_default();
    let mut result = evaluated(planned, evaluation, previous.map(|p| p.state));
    result.why = why;
    result.held_by = holding.map(|h| h.held_by);
    let mut pending = Pending {
        alerts,
        write,
        notice: notice.map(Notice::id),
        delivered_before: Default::default(),
    };
    skip_delivered(&mut pending, states.delivered(&planned.key), t);
    Decision {
        result,
        error: None,
        pending,
    }
}

/// A notice that already reached some of its targets (a run whose other publishes
/// failed) goes to the others alone.
fn skip_delivered(pending: &mut Pending, delivered: Option<&Delivered>, t: DateTime<Utc>) {
    let Some(delivered) = delivered else {
        return;
    };
    if pending.notice.as_ref() != Some(&delivered.notice) || pending.alerts.is_empty() {
        return;
    }
    pending
        .alerts
        .retain(|alert| !delivered.topics.contains(alert.topic_arn.as_str()));
    pending.delivered_before = delivered.topics.clone();
    if pending.alerts.is_empty() {
        // Every target has it: what is left is to record it as notified.
        if let Some(write) = pending.write.as_mut() {
            write.new.notified_at = Some(t);
        }
    }
}

/// The alarm's datapoints of its rule's statistic, evaluated against its threshold (or
/// its recovery threshold while in ALARM).
fn evaluate_one(
    planned: &Planned<'_>,
    points: &[MetricDatapoint],
    previous: Option<AlarmState>,
    t: DateTime<Utc>,
) -> Evaluation {
    let rule = planned.alarm.rule;
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
    evaluate::evaluate(&criteria, &datapoints, t, previous)
}

fn evaluated(
    planned: &Planned<'_>,
    evaluation: Evaluation,
    previous_state: Option<AlarmState>,
) -> RuleResult {
    let alarm = &planned.alarm;
    let mut result = RuleResult::of(
        alarm.rule,
        alarm.region,
        &alarm.resource,
        ResultState::Alarm(evaluation.state),
        evaluation.range_end,
    )
    .with_datapoints(alarm.rule, &evaluation.datapoints);
    result.reason = evaluation.reason;
    result.previous_state = previous_state;
    result
}

/// An alarm whose datapoints could not be had: a result in ERROR, and its error.
fn failed(
    planned: &Planned<'_>,
    previous: Option<&Stored>,
    err: &FetchError,
    t: DateTime<Utc>,
) -> Decision {
    let alarm = &planned.alarm;
    let rule = alarm.rule;
    let (stage, why, reason) = match err {
        FetchError::Deadline { deadline, .. } => (
            Stage::Deadline,
            Why::Deadline,
            format!("Not evaluated: {deadline} passed before its datapoints arrived."),
        ),
        FetchError::NotFound { .. } | FetchError::Failed { .. } => (
            Stage::Fetch,
            Why::FetchFailed,
            "The datapoints could not be fetched.".to_owned(),
        ),
    };
    let mut result = RuleResult::of(
        rule,
        alarm.region,
        &alarm.resource,
        ResultState::Error,
        evaluate::range_end(t, rule.period),
    );
    result.reason = reason;
    result.previous_state = previous.map(|p| p.state);
    result.why = why;
    result.error = Some(err.to_string());
    let error = RunError::about(
        stage,
        rule.name.as_str(),
        alarm.region,
        rule.resource_type,
        &alarm.resource,
        err.to_string(),
    )
    .with_code(err.code());
    Decision {
        result,
        error: Some(error),
        pending: Pending::default(),
    }
}

/// Why an explicit name the region's listing does not have is an ERROR without a call.
pub(super) fn not_listed(planned: &Planned<'_>) -> FetchError {
    let kind = planned.alarm.rule.resource_type;
    FetchError::NotFound {
        region: planned.alarm.region.to_owned(),
        resource_type: kind,
        resource: planned.alarm.resource.clone(),
        message: format!(
            "{} lists no {} by that name",
            kind.listing_operation(),
            kind.noun()
        ),
    }
}
