//! Transitions (SPEC §9): from the stored state and a new evaluation, what to notify and
//! what to store. Pure functions, no I/O.

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
}

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
        }
    }

    /// For a reminder, since when the ALARM has lasted.
    pub fn reminder_since(self) -> Option<DateTime<Utc>> {
        match self {
            Notice::Transition { .. } => None,
            Notice::Reminder { since } => Some(since),
        }
    }
}

/// Why a result was or was not notified, for the run report: the transition rules
/// ([`decide`] gives the first seven), or what the run itself found.
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
}

/// Decides what to store and whether (and why) to notify, for an evaluation of `state`
/// over the range ending at `range_end`, at evaluation time `t`.
///
/// `notified_at` is carried over from `stored`: the caller sets it to `t` when it
/// confirms a published notice.
pub fn decide(
    stored: Option<&Stored>,
    state: AlarmState,
    range_end: DateTime<Utc>,
    reason: &str,
    t: DateTime<Utc>,
    policy: &Policy,
) -> Outcome {
    if let Some(stored) = stored {
        if range_end < stored.range_end {
            return Outcome::nothing(Why::Stale);
        }
        // A retry of an invocation already handled, or a second run in the same
        // period: the first one notified (or will, through its claim).
        if range_end == stored.range_end && state == stored.state {
            return Outcome::nothing(Why::SameRange);
        }
    }
    let previous = stored.map(|s| s.state);
    let changed = previous != Some(state);
    let changed_at = match stored {
        Some(stored) if !changed => stored.changed_at,
        _ => t,
    };
    let new = Stored {
        state,
        changed_at,
        range_end,
        notified_at: stored.and_then(|s| s.notified_at),
        reason: reason.to_owned(),
        version: stored.map_or(1, |s| s.version + 1),
    };
    let (notice, why) = if changed {
        if state == AlarmState::Ok && previous != Some(AlarmState::Alarm) {
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
    } else if reminder_due(&new, t, policy) {
        (Some(Notice::Reminder { since: changed_at }), Why::Renotify)
    } else {
        (None, Why::Unchanged)
    };
    Outcome {
        store: Some(new),
        notice,
        why,
    }
}

/// A persisting ALARM is re-sent once `renotifyMinutes` of evaluation time have passed
/// since the last notice (at once if it was never notified, e.g. `notifyOn` changed).
fn reminder_due(stored: &Stored, t: DateTime<Utc>, policy: &Policy) -> bool {
    if stored.state != AlarmState::Alarm
        || policy.renotify_minutes == 0
        || !policy.notify_on.contains(&AlarmState::Alarm)
    {
        return false;
    }
    match stored.notified_at {
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
mod tests {
    use super::*;
    use AlarmState::{Alarm, InsufficientData as Insufficient, Ok};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    /// An item written at minute `minute` for the range ending then, in `state`,
    /// notified at `notified`.
    fn stored(state: AlarmState, minute: i64, notified: Option<i64>) -> Stored {
        Stored {
            state,
            changed_at: at(minute),
            range_end: at(minute),
            notified_at: notified.map(at),
            reason: "before".into(),
            version: 7,
        }
    }

    fn policy(notify_on: &[AlarmState], renotify_minutes: u32) -> Policy {
        Policy {
            notify_on: notify_on.iter().copied().collect(),
            renotify_minutes,
        }
    }

    #[test]
    fn default_policy_is_alarm_and_ok_without_reminders() {
        assert_eq!(Policy::default(), policy(&[Alarm, Ok], 0));
    }

    /// (case, stored, new state, policy, notice, why)
    type TransitionCase<'a> = (
        &'a str,
        Option<Stored>,
        AlarmState,
        &'a Policy,
        Option<Notice>,
        Why,
    );

    #[test]
    fn transitions_follow_notify_on() {
        let default = Policy::default();
        let all = policy(&[Alarm, Ok, Insufficient], 0);
        let alarm_only = policy(&[Alarm], 0);
        let ok_only = policy(&[Ok], 0);
        let transition = |from, to| {
            Some(Notice::Transition {
                from: Some(from),
                to,
            })
        };
        let first = |to| Some(Notice::Transition { from: None, to });
        #[rustfmt::skip]
        let cases: &[TransitionCase] = &[
            ("first ALARM notifies", None, Alarm, &default, first(Alarm), Why::Transition),
            ("first ALARM, not in notifyOn", None, Alarm, &ok_only, None, Why::NotInNotifyOn),
            ("first OK never notifies", None, Ok, &all, None, Why::InsufficientToOk),
            ("first INSUFFICIENT_DATA is opt-in", None, Insufficient, &default, None, Why::NotInNotifyOn),
            ("first INSUFFICIENT_DATA, opted in", None, Insufficient, &all, first(Insufficient), Why::Transition),
            ("OK -> ALARM", Some(stored(Ok, 0, None)), Alarm, &default, transition(Ok, Alarm), Why::Transition),
            ("INSUFFICIENT_DATA -> ALARM", Some(stored(Insufficient, 0, None)), Alarm, &default, transition(Insufficient, Alarm), Why::Transition),
            ("ALARM -> OK is a recovery", Some(stored(Alarm, 0, Some(0))), Ok, &default, transition(Alarm, Ok), Why::Transition),
            ("ALARM -> OK, OK not in notifyOn", Some(stored(Alarm, 0, Some(0))), Ok, &alarm_only, None, Why::NotInNotifyOn),
            ("INSUFFICIENT_DATA -> OK never notifies", Some(stored(Insufficient, 0, None)), Ok, &all, None, Why::InsufficientToOk),
            ("ALARM -> INSUFFICIENT_DATA is opt-in", Some(stored(Alarm, 0, Some(0))), Insufficient, &default, None, Why::NotInNotifyOn),
            ("ALARM -> INSUFFICIENT_DATA, opted in", Some(stored(Alarm, 0, Some(0))), Insufficient, &all, transition(Alarm, Insufficient), Why::Transition),
            ("OK -> INSUFFICIENT_DATA, opted in", Some(stored(Ok, 0, None)), Insufficient, &all, transition(Ok, Insufficient), Why::Transition),
            ("OK -> ALARM, ALARM not in notifyOn", Some(stored(Ok, 0, None)), Alarm, &ok_only, None, Why::NotInNotifyOn),
            ("OK stays OK", Some(stored(Ok, 0, None)), Ok, &all, None, Why::Unchanged),
            ("ALARM stays ALARM without renotify", Some(stored(Alarm, 0, Some(0))), Alarm, &default, None, Why::Unchanged),
            ("INSUFFICIENT_DATA stays", Some(stored(Insufficient, 0, None)), Insufficient, &all, None, Why::Unchanged),
        ];
        for (case, before, state, policy, notice, why) in cases {
            let outcome = decide(before.as_ref(), *state, at(5), "now", at(6), policy);
            assert_eq!((&outcome.notice, &outcome.why), (notice, why), "{case}");
            let new = outcome.store.expect(case);
            assert_eq!(new.state, *state, "{case}");
            assert_eq!(new.range_end, at(5), "{case}");
            assert_eq!(new.reason, "now", "{case}");
            assert_eq!(
                new.version,
                before.as_ref().map_or(1, |s| s.version + 1),
                "{case}"
            );
            // notified_at is the caller's to set on confirm.
            assert_eq!(
                new.notified_at,
                before.as_ref().and_then(|s| s.notified_at),
                "{case}"
            );
        }
    }

    #[test]
    fn changed_at_moves_only_on_a_state_change() {
        let policy = Policy::default();
        let alarm = stored(Alarm, 0, Some(0));
        let same = decide(Some(&alarm), Alarm, at(5), "r", at(6), &policy);
        assert_eq!(same.store.unwrap().changed_at, at(0));
        let changed = decide(Some(&alarm), Ok, at(5), "r", at(6), &policy);
        assert_eq!(changed.store.unwrap().changed_at, at(6));
        let first = decide(None, Ok, at(5), "r", at(6), &policy);
        assert_eq!(first.store.unwrap().changed_at, at(6));
    }

    /// (case, notified minute, t minute, renotify minutes, notifyOn, reminder due)
    type ReminderCase<'a> = (&'a str, Option<i64>, i64, u32, &'a [AlarmState], bool);

    #[test]
    fn renotify_resends_a_persisting_alarm_when_due() {
        #[rustfmt::skip]
        let cases: &[ReminderCase] = &[
            ("renotify 0 never reminds", Some(0), 10_000, 0, &[Alarm, Ok], false),
            ("not yet due", Some(0), 59, 60, &[Alarm, Ok], false),
            ("due exactly at renotifyMinutes", Some(0), 60, 60, &[Alarm, Ok], true),
            ("overdue", Some(0), 61, 60, &[Alarm, Ok], true),
            ("counted from the last notice", Some(30), 61, 60, &[Alarm, Ok], false),
            ("never notified: due at once", None, 1, 60, &[Alarm, Ok], true),
            ("ALARM not in notifyOn: no reminder", Some(0), 100, 60, &[Ok], false),
        ];
        for (case, notified, t, renotify, notify_on, due) in cases {
            let before = stored(Alarm, 0, *notified);
            let outcome = decide(
                Some(&before),
                Alarm,
                at(*t),
                "still",
                at(*t),
                &policy(notify_on, *renotify),
            );
            let expected = if *due {
                (Some(Notice::Reminder { since: at(0) }), Why::Renotify)
            } else {
                (None, Why::Unchanged)
            };
            assert_eq!((outcome.notice, outcome.why), expected, "{case}");
            let new = outcome.store.expect(case);
            assert_eq!((new.changed_at, new.version), (at(0), 8), "{case}");
        }
    }

    #[test]
    fn reminders_are_for_alarm_only() {
        let policy = policy(&[Alarm, Ok, Insufficient], 1);
        for state in [Ok, Insufficient] {
            let outcome = decide(
                Some(&stored(state, 0, Some(0))),
                state,
                at(100),
                "r",
                at(100),
                &policy,
            );
            assert_eq!(outcome.why, Why::Unchanged, "{state}");
        }
    }

    #[test]
    fn an_older_range_end_is_discarded() {
        let policy = policy(&[Alarm, Ok, Insufficient], 1);
        for before in [Alarm, Ok, Insufficient] {
            for state in [Alarm, Ok, Insufficient] {
                let outcome = decide(
                    Some(&stored(before, 10, None)),
                    state,
                    at(5),
                    "late",
                    at(100),
                    &policy,
                );
                let expected = Outcome {
                    store: None,
                    notice: None,
                    why: Why::Stale,
                };
                assert_eq!(outcome, expected, "{before} -> {state}");
            }
        }
    }

    #[test]
    fn the_same_range_end_and_state_is_done_already() {
        // Even with a reminder due by `t`: a retried invocation must not notify twice.
        let policy = policy(&[Alarm, Ok, Insufficient], 1);
        for state in [Alarm, Ok, Insufficient] {
            let outcome = decide(
                Some(&stored(state, 10, Some(0))),
                state,
                at(10),
                "retry",
                at(100),
                &policy,
            );
            assert_eq!((outcome.store, outcome.notice), (None, None), "{state}");
            assert_eq!(outcome.why, Why::SameRange, "{state}");
        }
    }

    #[test]
    fn the_same_range_end_with_a_new_state_is_a_transition() {
        // Late datapoints or an edited rule can change the verdict for the same range.
        let outcome = decide(
            Some(&stored(Ok, 10, None)),
            Alarm,
            at(10),
            "late data",
            at(11),
            &Policy::default(),
        );
        assert_eq!(outcome.why, Why::Transition);
        assert_eq!(outcome.store.unwrap().version, 8);
    }

    #[test]
    fn why_is_spelled_for_the_report() {
        assert_eq!(
            serde_json::to_string(&Why::NotInNotifyOn).unwrap(),
            "\"notInNotifyOn\""
        );
        for why in [
            Why::Transition,
            Why::Renotify,
            Why::Unchanged,
            Why::NotInNotifyOn,
            Why::InsufficientToOk,
            Why::Stale,
            Why::SameRange,
        ] {
            assert_eq!(
                serde_json::to_string(&why).unwrap(),
                format!("\"{}\"", why.as_str())
            );
        }
    }

    /// (comparison, threshold, recovery, safe)
    #[test]
    fn a_recovery_threshold_must_lie_on_the_safe_side() {
        use Comparison::*;
        #[rustfmt::skip]
        let cases = [
            (LessThanThreshold, 20.0, 30.0, true),
            (LessThanThreshold, 20.0, 20.0, false),
            (LessThanThreshold, 20.0, 10.0, false),
            (LessThanOrEqualToThreshold, 20.0, 20.5, true),
            (LessThanOrEqualToThreshold, 20.0, 20.0, false),
            (LessThanOrEqualToThreshold, 20.0, 19.0, false),
            (GreaterThanThreshold, 80.0, 70.0, true),
            (GreaterThanThreshold, 80.0, 80.0, false),
            (GreaterThanThreshold, 80.0, 90.0, false),
            (GreaterThanOrEqualToThreshold, 80.0, 79.9, true),
            (GreaterThanOrEqualToThreshold, 80.0, 80.0, false),
            (GreaterThanOrEqualToThreshold, 80.0, 81.0, false),
            (GreaterThanThreshold, 80.0, f64::NAN, false),
            (LessThanThreshold, 20.0, f64::INFINITY, false),
        ];
        for (comparison, threshold, recovery, safe) in cases {
            assert_eq!(
                recovery_threshold_is_safe(comparison, threshold, recovery),
                safe,
                "{comparison:?} {threshold} recovery {recovery}"
            );
        }
    }

    /// (previous, recovery, effective)
    #[test]
    fn hysteresis_applies_while_in_alarm() {
        use Comparison::LessThanThreshold as Lt;
        #[rustfmt::skip]
        let cases = [
            (Some(Alarm), Some(30.0), 30.0),
            (Some(Ok), Some(30.0), 20.0),
            (Some(Insufficient), Some(30.0), 20.0),
            (None, Some(30.0), 20.0),
            (Some(Alarm), None, 20.0),
            // Unsafe: would make recovery easier; never used.
            (Some(Alarm), Some(10.0), 20.0),
        ];
        for (previous, recovery, effective) in cases {
            assert_eq!(
                effective_threshold(Lt, 20.0, recovery, previous),
                effective,
                "{previous:?} {recovery:?}"
            );
        }
        // For LessThanThreshold 20 / recovery 30: 25 keeps the ALARM, 30 recovers.
        let threshold = effective_threshold(Lt, 20.0, Some(30.0), Some(Alarm));
        assert!(Lt.breaches(25.0, threshold));
        assert!(!Lt.breaches(30.0, threshold));
    }
}
