//! Transitions (SPEC §9): from the stored state and a new evaluation, what to notify and
//! what to store. Pure functions, no I/O.
//!
//! A silence or an inhibition (SPEC §16) *holds* the notices of a result: it is still
//! evaluated and its state kept, and the notice it would have sent is kept in the item
//! ([`Held`]) instead. When the hold ends, the held notice is sent if it is still news to
//! the subscriber (an ALARM still open that they never heard of, a recovery of an ALARM
//! they were paged for); one whose state passed meanwhile is dropped, so an ALARM that
//! recovered during a silence sends nothing at all.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::domain::catalog::Comparison;
use crate::domain::evaluate::AlarmState;

/// A rule's notification policy: `notifyOn` and `renotifyMinutes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The states whose transitions are notified. OK is only ever sent as a recovery
    /// (leaving ALARM), whatever this says.
    pub notify_on: BTreeSet<AlarmState>,
    /// Re-send a persisting ALARM once this many minutes of evaluation time have passed
    /// since the last notice; 0 = never.
    pub renotify_minutes: u32,
}

impl Default for Policy {
    /// `notifyOn: [ALARM, OK]`, `renotifyMinutes: 0`.
    fn default() -> Self {
        Self {
            notify_on: BTreeSet::from([AlarmState::Alarm, AlarmState::Ok]),
            renotify_minutes: 0,
        }
    }
}

/// What the state store holds for one (rule, region, instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub state: AlarmState,
    /// Evaluation time of the last state change.
    pub changed_at: DateTime<Utc>,
    /// End of the most recent complete period of the evaluation that wrote this.
    pub range_end: DateTime<Utc>,
    /// Evaluation time of the last notice sent (transition or reminder).
    pub notified_at: Option<DateTime<Utc>>,
    /// The CloudWatch-style reason of that evaluation.
    pub reason: String,
    /// Bumped by every write; the claim and record conditions compare it.
    pub version: u64,
    /// The rule's period (seconds) when this was written; `None` in items written
    /// before periods were recorded. A rule whose period changed since is not held to
    /// the stored range end.
    pub period: Option<u32>,
    /// An ALARM was notified and no recovery has been since: OK is a recovery notice
    /// even when INSUFFICIENT_DATA came between.
    pub alarm_open: bool,
    /// The targets a notice already reached in a run whose other targets failed: the
    /// retry sends it to the others alone. Every state write clears it.
    pub delivered: Option<Delivered>,
    /// The notice a silence or an inhibition is holding back, to send when it ends.
    pub held: Option<Held>,
}

/// A notice held back by a silence or an inhibition (SPEC §16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The transition it announces.
    pub from: Option<AlarmState>,
    pub to: AlarmState,
    /// Evaluation time it was first held.
    pub since: DateTime<Utc>,
    /// What held it: `silence <name>` or `inhibited by <rule>`.
    pub by: String,
}

impl Held {
    /// What held it, as words to follow "held": `by silence deploys`, `while inhibited
    /// by status-check-failed`.
    pub fn by_words(&self) -> String {
        match self.by.strip_prefix("inhibited by ") {
            Some(rule) => format!("while inhibited by {rule}"),
            None => format!("by {}", self.by),
        }
    }
}

/// What holds a result's notices in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// A silence (from the rules, ad hoc, or a resource's tag), by name.
    Silenced { by: String },
    /// An inhibiting rule in ALARM for the same resource, by name.
    Inhibited { by: String },
}

impl From<&Hold> for Why {
    fn from(hold: &Hold) -> Why {
        match hold {
            Hold::Silenced { .. } => Why::Silenced,
            Hold::Inhibited { .. } => Why::Inhibited,
        }
    }
}

impl Hold {
    /// How the stored item names it.
    fn describe(&self) -> String {
        match self {
            Hold::Silenced { by } => format!("silence {by}"),
            Hold::Inhibited { by } => format!("inhibited by {by}"),
        }
    }
}

/// A notice delivered to some of its targets (SPEC §13, per-target delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Which notice: [`Notice::id`].
    pub notice: String,
    /// The topic ARNs that received it.
    pub topics: BTreeSet<String>,
}

/// The `state` a test notice shows wherever an alert shows its alarm state: the subject's
/// `[TEST]`, the `state` attribute, the body of every format.
pub const TEST_STATE: &str = "TEST";

/// What to tell subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The state changed (`from: None` for the first evaluation ever stored).
    Transition {
        from: Option<AlarmState>,
        to: AlarmState,
    },
    /// ALARM persists; it has lasted since `since`.
    Reminder { since: DateTime<Utc> },
    /// A test notice (`lightsail-alerts test-alert`, SPEC §16): nothing was evaluated; it
    /// checks that a topic's subscribers receive alerts. Never the outcome of a
    /// transition.
    Test,
}

impl Notice {
    /// The notice of a state with nothing known before it: what a run without a state
    /// store sends for every ALARM.
    pub fn first(to: AlarmState) -> Self {
        Notice::Transition { from: None, to }
    }

    /// The state before this notice, when known.
    pub fn previous_state(self) -> Option<AlarmState> {
        match self {
            Notice::Transition { from, .. } => from,
            Notice::Reminder { .. } => Some(AlarmState::Alarm),
            Notice::Test => None,
        }
    }

    /// For a reminder, since when the ALARM has lasted.
    pub fn reminder_since(self) -> Option<DateTime<Utc>> {
        match self {
            Notice::Transition { .. } | Notice::Test => None,
            Notice::Reminder { since } => Some(since),
        }
    }

    /// What this notice is, as a [`Delivered`] record names it: `ALARM`, `OK`,
    /// `INSUFFICIENT_DATA`, or `ALARM reminder` (`TEST` for a test notice, which no run
    /// records). The state it leaves is the stored one, which a partial delivery does not
    /// change.
    pub fn id(self) -> String {
        match self {
            Notice::Transition { to, .. } => to.as_str().to_owned(),
            Notice::Reminder { .. } => "ALARM reminder".to_owned(),
            Notice::Test => TEST_STATE.to_owned(),
        }
    }
}

/// Why a result was or was not notified, for the run report: the transition rules
/// ([`decide`] gives the first seven, [`decide_with`] the holds), or what the run
/// itself found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Why {
    /// A transition into a state of `notifyOn`.
    Transition,
    /// ALARM persists and `renotifyMinutes` have passed since the last notice.
    Renotify,
    /// Same state as stored, no reminder due.
    Unchanged,
    /// A transition into a state that `notifyOn` leaves out.
    NotInNotifyOn,
    /// OK that does not leave ALARM (from INSUFFICIENT_DATA, or the first state ever
    /// seen): there is nothing to recover from.
    InsufficientToOk,
    /// The evaluation's range end is older than the stored one: discarded.
    Stale,
    /// Already evaluated for this range end with this state (a retried invocation).
    SameRange,
    /// Without a state store: every ALARM is published, nothing else.
    Stateless,
    /// A dry run: it would have been notified.
    DryRun,
    /// Another run claimed this notification first.
    ClaimedElsewhere,
    /// The state store could not be read or written: nothing was sent, the invocation
    /// fails and is retried.
    StateUnavailable,
    /// Its datapoints could not be fetched.
    FetchFailed,
    /// Not evaluated: the run's deadline came before its datapoints.
    Deadline,
    /// A silence holds the notice: sent when the silence ends, if still news.
    Silenced,
    /// An inhibiting rule in ALARM for the same resource holds the notice.
    Inhibited,
    /// A notice held by a silence or an inhibition, sent now that it has ended.
    Released,
}

impl Why {
    /// The report's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Transition => "transition",
            Why::Renotify => "renotify",
            Why::Unchanged => "unchanged",
            Why::NotInNotifyOn => "notInNotifyOn",
            Why::InsufficientToOk => "insufficientToOk",
            Why::Stale => "stale",
            Why::SameRange => "sameRange",
            Why::Stateless => "stateless",
            Why::DryRun => "dryRun",
            Why::ClaimedElsewhere => "claimedElsewhere",
            Why::StateUnavailable => "stateUnavailable",
            Why::FetchFailed => "fetchFailed",
            Why::Deadline => "deadline",
            Why::Silenced => "silenced",
            Why::Inhibited => "inhibited",
            Why::Released => "released",
        }
    }
}

/// The decision for one result.
///
/// - `store: Some(new), notice: Some(_)`: claim, publish, then confirm `new` with
///   `notified_at: Some(t)` (or release the claim if the publish fails).
/// - `store: Some(new), notice: None`: record `new` without notifying.
/// - `store: None`: write nothing (and notify nothing).
///
/// `new.version` is the stored version + 1 (1 for a new item): what the item holds
/// after the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub store: Option<Stored>,
    pub notice: Option<Notice>,
    pub why: Why,
    /// On a `released` notice: the hold that held it (what, and since when), for the
    /// alert to say so.
    pub released: Option<Held>,
}

/// One evaluation of a rule on one resource, as [`decide`] weighs it.
#[derive(Debug, Clone, Copy)]
pub struct Evaluated<'a> {
    pub state: AlarmState,
    /// End of the most recent complete period evaluated.
    pub range_end: DateTime<Utc>,
    /// The rule's period in seconds.
    pub period: u32,
    pub reason: &'a str,
}

/// Decides what to store and whether (and why) to notify, for `evaluated` at evaluation
/// time `t`, with nothing holding its notices.
///
/// `notified_at` is carried over from `stored`: the caller sets it to `t` when it
/// confirms a published notice.
pub fn decide(
    stored: Option<&Stored>,
    evaluated: Evaluated<'_>,
    t: DateTime<Utc>,
    policy: &Policy,
) -> Outcome {
    decide_with(stored, evaluated, t, policy, None)
}

/// [`decide`], with `hold` (a silence or an inhibition) holding the notice, if any:
///
/// - While held, nothing is sent. A notice that would have been is kept in the item
///   ([`Held`]): the latest one, since its `from` state, unless it tells the subscriber
///   nothing new (back into ALARM while the ALARM they were paged for is still open).
///   A held notice whose state has passed is dropped. Reminders are not kept: the
///   first one due after the hold goes out then.
/// - With no hold, a held notice still news is sent (`released`): the ALARM if it is
///   still ALARM and the subscriber never heard of it; the recovery if it is still OK
///   and they were paged for the ALARM. Otherwise it is dropped: an ALARM that
///   recovered during a silence sends neither the ALARM nor the OK.
///
/// An ALARM whose notice is held is not open: its recovery is not news either.
pub fn decide_with(
    stored: Option<&Stored>,
    evaluated: Evaluated<'_>,
    t: DateTime<Utc>,
    policy: &Policy,
    hold: Option<&Hold>,
) -> Outcome {
    let Evaluated {
        state, range_end, ..
    } = evaluated;
    let held_before = stored.and_then(|s| s.held.as_ref());
    let release_due = hold.is_none() && held_before.is_some();
    if let Some(stored) = stored {
        // An item written with another period has range ends on another grid: the rule
        // was edited, and its evaluations are not older for that.
        let same_period = stored.period.is_none_or(|p| p == evaluated.period);
        if same_period && range_end < stored.range_end {
            return Outcome::nothing(Why::Stale);
        }
        // A retry of an invocation already handled, or a second run in the same
        // period: the first one notified (or will, through its claim). Not when a
        // notice reached only some of its targets: this run finishes it; nor when a
        // hold has ended on a notice it held: this run sends it.
        if same_period
            && range_end == stored.range_end
            && state == stored.state
            && stored.delivered.is_none()
            && !release_due
        {
            return Outcome::nothing(Why::SameRange);
        }
    }
    let previous = stored.map(|s| s.state);
    let changed = previous != Some(state);
    let changed_at = match stored {
        Some(stored) if !changed => stored.changed_at,
        _ => t,
    };
    // The incident a subscriber was paged for: open until OK recovers it. An ALARM
    // whose notice is held was never heard of.
    let alarm_open =
        stored.is_some_and(|s| s.alarm_open || (s.state == AlarmState::Alarm && s.held.is_none()));
    let mut released = None;
    let (mut notice, mut why) = if changed {
        if state == AlarmState::Ok && !alarm_open {
            (None, Why::InsufficientToOk)
        } else if !policy.notify_on.contains(&state) {
            (None, Why::NotInNotifyOn)
        } else {
            let notice = Notice::Transition {
                from: previous,
                to: state,
            };
            (Some(notice), Why::Transition)
        }
    } else if reminder_due(stored, state, t, policy) {
        (Some(Notice::Reminder { since: changed_at }), Why::Renotify)
    } else {
        (None, Why::Unchanged)
    };
    let held = match hold {
        Some(hold) => {
            let held = match notice.take() {
                // Back into ALARM while the one they were paged for is open: not news.
                Some(Notice::Transition {
                    to: AlarmState::Alarm,
                    ..
                }) if alarm_open => None,
                Some(Notice::Transition { from, to }) => Some(Held {
                    from,
                    to,
                    since: held_before.map_or(t, |h| h.since),
                    by: hold.describe(),
                }),
                Some(Notice::Reminder { .. }) => held_before.cloned(),
                // Never decided here: test notices are sent by `test-alert` alone.
                Some(Notice::Test) => None,
                None => held_before.filter(|h| h.to == state).cloned(),
            };
            if why == Why::Transition || why == Why::Renotify {
                why = Why::from(hold);
            }
            held
        }
        None => {
            if let Some(held) = held_before {
                let news = state == held.to
                    && policy.notify_on.contains(&state)
                    && match state {
                        AlarmState::Alarm => !alarm_open,
                        AlarmState::Ok => alarm_open,
                        AlarmState::InsufficientData => true,
                    };
                match notice {
                    Some(Notice::Transition { .. }) if held.to != AlarmState::Ok => {}
                    // Back into ALARM before the recovery was heard: the ALARM the
                    // subscriber was paged for never closed for them.
                    Some(Notice::Transition {
                        to: AlarmState::Alarm,
                        ..
                    }) if alarm_open => {
                        notice = None;
                        why = Why::Unchanged;
                    }
                    Some(Notice::Transition { .. }) => {}
                    _ if news => {
                        notice = Some(Notice::Transition {
                            from: held.from,
                            to: held.to,
                        });
                        why = Why::Released;
                        released = Some(held.clone());
                    }
                    _ => {}
                }
            }
            None
        }
    };
    let new = Stored {
        state,
        changed_at,
        range_end,
        notified_at: stored.and_then(|s| s.notified_at),
        reason: evaluated.reason.to_owned(),
        version: stored.map_or(1, |s| s.version + 1),
        period: Some(evaluated.period),
        alarm_open: match state {
            // Written with the notice confirmed, or recorded without one.
            AlarmState::Alarm => notice.is_some() || stored.is_some_and(|s| s.alarm_open),
            // A recovery held: the subscriber still has the ALARM open.
            AlarmState::Ok => held.as_ref().is_some_and(|h| h.to == AlarmState::Ok),
            AlarmState::InsufficientData => alarm_open,
        },
        delivered: None,
        held,
    };
    Outcome {
        store: Some(new),
        notice,
        why,
        released,
    }
}

/// A persisting ALARM is re-sent once `renotifyMinutes` of evaluation time have passed
/// since the last notice (at once if it was never notified, e.g. `notifyOn` changed).
fn reminder_due(
    stored: Option<&Stored>,
    state: AlarmState,
    t: DateTime<Utc>,
    policy: &Policy,
) -> bool {
    if state != AlarmState::Alarm
        || policy.renotify_minutes == 0
        || !policy.notify_on.contains(&AlarmState::Alarm)
    {
        return false;
    }
    match stored.and_then(|s| s.notified_at) {
        None => true,
        Some(notified_at) => {
            t - notified_at >= TimeDelta::minutes(i64::from(policy.renotify_minutes))
        }
    }
}

impl Outcome {
    fn nothing(why: Why) -> Self {
        Self {
            store: None,
            notice: None,
            why,
            released: None,
        }
    }
}

/// The threshold to evaluate against: `recoveryThreshold` while the previous state is
/// ALARM (hysteresis), else `threshold`. An unsafe recovery threshold (see
/// [`recovery_threshold_is_safe`]; validation rejects it) is not used.
pub fn effective_threshold(
    comparison: Comparison,
    threshold: f64,
    recovery_threshold: Option<f64>,
    previous: Option<AlarmState>,
) -> f64 {
    match recovery_threshold {
        Some(recovery)
            if previous == Some(AlarmState::Alarm)
                && recovery_threshold_is_safe(comparison, threshold, recovery) =>
        {
            recovery
        }
        _ => threshold,
    }
}

/// Whether `recovery` lies strictly on the non-breaching side of `threshold`, so that
/// using it while in ALARM makes returning to OK harder, never easier: for
/// `LessThanThreshold 20`, 30 is safe and 10 or 20 are not; for
/// `GreaterThanThreshold 80`, 70 is safe. Non-finite values are never safe.
pub fn recovery_threshold_is_safe(comparison: Comparison, threshold: f64, recovery: f64) -> bool {
    threshold.is_finite()
        && recovery.is_finite()
        && recovery != threshold
        && !comparison.breaches(recovery, threshold)
}

#[cfg(test)]
mod tests;
