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
        period: Some(300),
        alarm_open: state == Alarm && notified.is_some(),
        delivered: None,
        held: None,
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
        let outcome = decide(before.as_ref(), five_minutes(*state, at(5)), at(6), policy);
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
    let same = decide(Some(&alarm), five_minutes(Alarm, at(5)), at(6), &policy);
    assert_eq!(same.store.unwrap().changed_at, at(0));
    let changed = decide(Some(&alarm), five_minutes(Ok, at(5)), at(6), &policy);
    assert_eq!(changed.store.unwrap().changed_at, at(6));
    let first = decide(None, five_minutes(Ok, at(5)), at(6), &policy);
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
            five_minutes(Alarm, at(*t)),
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
            five_minutes(state, at(100)),
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
                five_minutes(state, at(5)),
                at(100),
                &policy,
            );
            let expected = Outcome {
                store: None,
                notice: None,
                why: Why::Stale,
                released: None,
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
            five_minutes(state, at(10)),
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
        five_minutes(Alarm, at(10)),
        at(11),
        &Policy::default(),
    );
    assert_eq!(outcome.why, Why::Transition);
    assert_eq!(outcome.store.unwrap().version, 8);
}

/// An evaluation of a 5-minute rule for the range ending at `range_end`.
fn five_minutes(state: AlarmState, range_end: DateTime<Utc>) -> Evaluated<'static> {
    Evaluated {
        state,
        range_end,
        period: 300,
        reason: "now",
    }
}

/// The same with another period.
fn with_period(state: AlarmState, range_end: DateTime<Utc>, period: u32) -> Evaluated<'static> {
    Evaluated {
        period,
        ..five_minutes(state, range_end)
    }
}

#[test]
fn alarm_then_insufficient_data_then_ok_recovers_the_incident() {
    let policy = Policy::default();
    let alarm = stored(Alarm, 0, Some(0));
    let gap = decide(
        Some(&alarm),
        five_minutes(Insufficient, at(5)),
        at(5),
        &policy,
    );
    assert_eq!(gap.why, Why::NotInNotifyOn);
    let gap = gap.store.unwrap();
    assert!(
        gap.alarm_open,
        "the incident stays open through INSUFFICIENT_DATA"
    );
    let back = decide(Some(&gap), five_minutes(Ok, at(10)), at(10), &policy);
    assert_eq!(back.why, Why::Transition);
    assert_eq!(
        back.notice,
        Some(Notice::Transition {
            from: Some(Insufficient),
            to: Ok
        })
    );
    assert!(!back.store.unwrap().alarm_open, "recovered");
    // Without an ALARM notified before, INSUFFICIENT_DATA -> OK stays quiet.
    let quiet = stored(Insufficient, 0, None);
    let outcome = decide(Some(&quiet), five_minutes(Ok, at(5)), at(5), &policy);
    assert_eq!((outcome.notice, outcome.why), (None, Why::InsufficientToOk));
}

#[test]
fn an_alarm_is_open_only_once_notified() {
    let notified = decide(None, five_minutes(Alarm, at(5)), at(5), &Policy::default());
    assert!(notified.store.unwrap().alarm_open);
    let silent = decide(None, five_minutes(Alarm, at(5)), at(5), &policy(&[Ok], 0));
    assert!(!silent.store.unwrap().alarm_open);
}

#[test]
fn a_rule_whose_period_changed_is_not_stale() {
    // Stored at minute 10 with a 5-minute period; the rule now has a 1-hour period,
    // whose last complete period ended earlier.
    let before = stored(Alarm, 10, Some(10));
    let outcome = decide(
        Some(&before),
        with_period(Ok, at(0), 3_600),
        at(12),
        &Policy::default(),
    );
    assert_eq!(outcome.why, Why::Transition);
    let new = outcome.store.unwrap();
    assert_eq!((new.period, new.version), (Some(3_600), 8));
    // With the period unchanged the same evaluation is stale.
    let outcome = decide(
        Some(&before),
        five_minutes(Ok, at(0)),
        at(12),
        &Policy::default(),
    );
    assert_eq!(outcome.why, Why::Stale);
}

#[test]
fn a_notice_delivered_to_some_targets_is_finished_in_the_same_range() {
    let mut before = stored(Ok, 10, None);
    before.delivered = Some(Delivered {
        notice: Notice::first(Alarm).id(),
        topics: BTreeSet::from(["arn:a".to_owned()]),
    });
    // The retried invocation: same range end, same verdict as the notice.
    let outcome = decide(
        Some(&before),
        five_minutes(Alarm, at(10)),
        at(11),
        &Policy::default(),
    );
    assert_eq!(outcome.why, Why::Transition);
    // The verdict went back: the record is cleared by the write.
    let outcome = decide(
        Some(&before),
        five_minutes(Ok, at(10)),
        at(11),
        &Policy::default(),
    );
    assert_eq!(outcome.why, Why::Unchanged);
    assert_eq!(outcome.store.unwrap().delivered, None);
}

#[test]
fn notices_are_named_for_partial_delivery() {
    assert_eq!(Notice::first(Alarm).id(), "ALARM");
    assert_eq!(Notice::Reminder { since: at(0) }.id(), "ALARM reminder");
    let ok = Notice::Transition {
        from: Some(Alarm),
        to: Ok,
    };
    assert_eq!(ok.id(), "OK");
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
        Why::Silenced,
        Why::Inhibited,
        Why::Released,
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

fn silence() -> Hold {
    Hold::Silenced {
        by: "nightly".into(),
    }
}

/// One run of a sequence: the evaluation at minute `minute` (for the range ending
/// then), with or without the silence.
fn step(before: Option<&Stored>, state: AlarmState, minute: i64, held: bool) -> Outcome {
    decide_with(
        before,
        five_minutes(state, at(minute)),
        at(minute),
        &Policy::default(),
        held.then(silence).as_ref(),
    )
}

/// The item after a run, as the deliver stage leaves it: a notice sent is confirmed with
/// `notified_at`.
fn written(outcome: &Outcome, minute: i64) -> Stored {
    let mut new = outcome.store.clone().expect("a write");
    if outcome.notice.is_some() {
        new.notified_at = Some(at(minute));
    }
    new
}

/// A sequence of (state, silenced) runs from `first`, five minutes apart: each run's
/// (notice, why).
fn sequence(first: Option<Stored>, runs: &[(AlarmState, bool)]) -> Vec<(Option<Notice>, Why)> {
    let mut item = first;
    let mut seen = Vec::new();
    for (k, (state, held)) in runs.iter().enumerate() {
        let minute = 5 * (k as i64 + 1);
        let outcome = step(item.as_ref(), *state, minute, *held);
        item = Some(written(&outcome, minute));
        seen.push((outcome.notice, outcome.why));
    }
    seen
}

fn alarm_from(from: Option<AlarmState>) -> Option<Notice> {
    Some(Notice::Transition { from, to: Alarm })
}

#[test]
fn an_alarm_during_a_silence_is_sent_when_it_ends_if_still_alarm() {
    let ok = stored(Ok, 0, None);
    let seen = sequence(
        Some(ok),
        &[(Alarm, true), (Alarm, true), (Alarm, false), (Alarm, false)],
    );
    assert_eq!(
        seen,
        [
            (None, Why::Silenced),
            (None, Why::Unchanged),
            // The silence is over: the held ALARM goes out, once, saying what it left.
            (alarm_from(Some(Ok)), Why::Released),
            (None, Why::Unchanged),
        ]
    );
}

#[test]
fn an_alarm_that_recovered_during_a_silence_sends_nothing() {
    let ok = stored(Ok, 0, None);
    let seen = sequence(
        Some(ok),
        &[(Alarm, true), (Ok, true), (Ok, false), (Ok, false)],
    );
    // Neither the held ALARM nor the OK: the subscriber never heard of the incident.
    assert_eq!(
        seen,
        [
            (None, Why::Silenced),
            (None, Why::InsufficientToOk),
            (None, Why::Unchanged),
            (None, Why::Unchanged),
        ]
    );
    // Nor one that recovered in the very run after the silence.
    let seen = sequence(Some(stored(Ok, 0, None)), &[(Alarm, true), (Ok, false)]);
    assert_eq!(seen[1], (None, Why::InsufficientToOk));
}

#[test]
fn a_first_alarm_during_a_silence_is_held_as_a_first_alarm() {
    let seen = sequence(None, &[(Alarm, true), (Alarm, false)]);
    assert_eq!(
        seen,
        [(None, Why::Silenced), (alarm_from(None), Why::Released)]
    );
}

#[test]
fn a_held_alarm_is_not_open_and_keeps_its_item() {
    let outcome = step(Some(&stored(Ok, 0, None)), Alarm, 5, true);
    let item = outcome.store.unwrap();
    assert_eq!(item.state, Alarm, "the state is kept");
    assert!(!item.alarm_open, "nobody was paged for it");
    assert_eq!(
        item.held,
        Some(Held {
            from: Some(Ok),
            to: Alarm,
            since: at(5),
            by: "silence nightly".into(),
        })
    );
    // Held on: since the first hold.
    let again = step(Some(&item), Alarm, 10, true);
    assert_eq!(again.store.unwrap().held.unwrap().since, at(5));
}

#[test]
fn a_recovery_during_a_silence_is_sent_when_it_ends_if_still_ok() {
    // Paged for an ALARM before the silence.
    let alarm = stored(Alarm, 0, Some(0));
    let seen = sequence(Some(alarm.clone()), &[(Ok, true), (Ok, true), (Ok, false)]);
    let recovery = Some(Notice::Transition {
        from: Some(Alarm),
        to: Ok,
    });
    assert_eq!(
        seen,
        [
            (None, Why::Silenced),
            (None, Why::Unchanged),
            (recovery, Why::Released),
        ]
    );
    // Back into ALARM before it ended: the ALARM they were paged for never closed.
    let seen = sequence(
        Some(alarm.clone()),
        &[(Ok, true), (Alarm, true), (Alarm, false)],
    );
    assert_eq!(
        seen,
        [
            (None, Why::Silenced),
            (None, Why::Silenced),
            (None, Why::Unchanged),
        ]
    );
    // ... or in the run right after it.
    let seen = sequence(Some(alarm), &[(Ok, true), (Alarm, false)]);
    assert_eq!(seen[1], (None, Why::Unchanged));
}

#[test]
fn an_alarm_that_persists_through_a_silence_sends_nothing_more() {
    let alarm = stored(Alarm, 0, Some(0));
    let seen = sequence(Some(alarm), &[(Alarm, true), (Alarm, false)]);
    assert_eq!(seen, [(None, Why::Unchanged), (None, Why::Unchanged)]);
}

#[test]
fn reminders_are_not_held_but_the_first_due_after_the_silence_goes_out() {
    let reminding = policy(&[Alarm, Ok], 10);
    let alarm = stored(Alarm, 0, Some(0));
    let held = decide_with(
        Some(&alarm),
        five_minutes(Alarm, at(15)),
        at(15),
        &reminding,
        Some(&silence()),
    );
    assert_eq!((held.notice, held.why), (None, Why::Silenced));
    assert_eq!(held.store.as_ref().unwrap().held, None);
    let after = decide(
        held.store.as_ref(),
        five_minutes(Alarm, at(20)),
        at(20),
        &reminding,
    );
    assert_eq!(after.why, Why::Renotify);
}

#[test]
fn a_release_takes_the_place_of_a_reminder() {
    // Never notified: a reminder would be due at once; the held ALARM goes instead.
    let reminding = policy(&[Alarm, Ok], 10);
    let ok = stored(Ok, 0, None);
    let held = decide_with(
        Some(&ok),
        five_minutes(Alarm, at(5)),
        at(5),
        &reminding,
        Some(&silence()),
    );
    let released = decide(
        held.store.as_ref(),
        five_minutes(Alarm, at(10)),
        at(10),
        &reminding,
    );
    assert_eq!(
        (released.notice, released.why),
        (alarm_from(Some(Ok)), Why::Released)
    );
}

#[test]
fn a_release_is_not_a_retry_of_the_same_range() {
    let ok = stored(Ok, 0, None);
    let held = written(&step(Some(&ok), Alarm, 5, true), 5);
    // The silence ends within the same period: the run sends what it held.
    let released = step(Some(&held), Alarm, 5, false);
    assert_eq!(released.why, Why::Released);
    // And a retry of that run finds nothing left to do.
    let done = written(&released, 5);
    assert_eq!(step(Some(&done), Alarm, 5, false).why, Why::SameRange);
}

#[test]
fn inhibition_holds_like_a_silence() {
    let ok = stored(Ok, 0, None);
    let inhibited = decide_with(
        Some(&ok),
        five_minutes(Alarm, at(5)),
        at(5),
        &Policy::default(),
        Some(&Hold::Inhibited {
            by: "status-check".into(),
        }),
    );
    assert_eq!((inhibited.notice, inhibited.why), (None, Why::Inhibited));
    let item = inhibited.store.unwrap();
    assert_eq!(item.held.as_ref().unwrap().by, "inhibited by status-check");
    let released = decide(
        Some(&item),
        five_minutes(Alarm, at(10)),
        at(10),
        &Policy::default(),
    );
    assert_eq!(released.why, Why::Released);
    let hold = released
        .released
        .expect("the released notice carries its hold");
    assert_eq!(hold.by_words(), "while inhibited by status-check");
}

#[test]
fn a_released_notice_carries_what_held_it_and_since_when() {
    let ok = stored(Ok, 0, None);
    let held = written(&step(Some(&ok), Alarm, 5, true), 5);
    let still = step(Some(&held), Alarm, 10, true);
    assert_eq!(still.released, None, "nothing is released while held");
    let released = step(Some(&written(&still, 10)), Alarm, 15, false);
    assert_eq!(released.why, Why::Released);
    let hold = released
        .released
        .as_ref()
        .expect("the hold it was released from");
    assert_eq!((hold.since, hold.by.as_str()), (at(5), "silence nightly"));
    assert_eq!(hold.by_words(), "by silence nightly");
    // A plain transition, and what follows the release, carry none.
    let after = step(Some(&written(&released, 15)), Ok, 20, false);
    assert_eq!((after.why, after.released), (Why::Transition, None));
}

#[test]
fn a_held_notice_follows_notify_on_when_released() {
    // INSUFFICIENT_DATA opted in: held, and sent after if it is still so.
    let all = policy(&[Alarm, Ok, Insufficient], 0);
    let ok = stored(Ok, 0, None);
    let held = decide_with(
        Some(&ok),
        five_minutes(Insufficient, at(5)),
        at(5),
        &all,
        Some(&silence()),
    );
    assert_eq!(held.why, Why::Silenced);
    let released = decide(
        held.store.as_ref(),
        five_minutes(Insufficient, at(10)),
        at(10),
        &all,
    );
    assert_eq!(released.why, Why::Released);
    // With ALARM taken out of notifyOn since, a held ALARM is not sent.
    let held = step(Some(&stored(Ok, 0, None)), Alarm, 5, true);
    let quiet = decide(
        held.store.as_ref(),
        five_minutes(Alarm, at(10)),
        at(10),
        &policy(&[Ok], 0),
    );
    assert_eq!((quiet.notice, quiet.why), (None, Why::Unchanged));
    assert_eq!(quiet.store.unwrap().held, None);
}
