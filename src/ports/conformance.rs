//! The behaviour suite every [`StateStore`] must pass: run by the unit tests of
//! [`MemoryStore`](crate::offline::MemoryStore) and by `tests/it/state_store.rs` on
//! [`DynamoStore`](crate::aws::DynamoStore) against moto. Each case uses its own keys,
//! so all can share one store. Panics on a failure.
#![doc(hidden)]

use super::*;
use crate::domain::evaluate::AlarmState;

/// Calls `$suite!` with the name of every case: the one list that [`CASES`] and the
/// stores' unit suites (a `#[tokio::test]` per case) are made from.
macro_rules! each_case {
    ($suite:ident) => {
        $suite!(
            first_claim_on_a_missing_item_wins,
            racing_claims_have_one_winner,
            a_second_claim_on_the_same_version_loses,
            confirm_needs_our_token,
            release_lets_the_next_claim_win,
            an_expired_claim_can_be_taken_over,
            record_with_a_stale_version_fails,
            load_many_keys,
            a_held_notice_is_kept_until_a_write_clears_it,
            silences_are_written_whole_on_their_version,
        );
    };
}
#[cfg(test)]
pub(crate) use each_case;

macro_rules! names {
    ($($case:ident),* $(,)?) => {
        /// The cases, by name.
        pub const CASES: &[&str] = &[$(stringify!($case)),*];
    };
}
each_case!(names);

/// Runs the case called `name` (one of [`CASES`]).
pub async fn run(store: &impl StateStore, name: &str) {
    match name {
        "first_claim_on_a_missing_item_wins" => first_claim_on_a_missing_item_wins(store).await,
        "racing_claims_have_one_winner" => one_claim_wins(store, true).await,
        "a_second_claim_on_the_same_version_loses" => one_claim_wins(store, false).await,
        "confirm_needs_our_token" => confirm_needs_our_token(store).await,
        "release_lets_the_next_claim_win" => release_lets_the_next_claim_win(store).await,
        "an_expired_claim_can_be_taken_over" => an_expired_claim_can_be_taken_over(store).await,
        "record_with_a_stale_version_fails" => record_with_a_stale_version_fails(store).await,
        "load_many_keys" => load_many_keys(store).await,
        "a_held_notice_is_kept_until_a_write_clears_it" => held_notice(store).await,
        "silences_are_written_whole_on_their_version" => silences(store).await,
        other => panic!("no conformance case {other}; the cases are {CASES:?}"),
    }
}

/// Runs every case.
pub async fn all(store: &impl StateStore) {
    for name in CASES {
        run(store, name).await;
    }
}

/// 2026-11-24T13:00:00Z plus `minutes`.
pub fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_525_200, 0).expect("a valid time") + TimeDelta::minutes(minutes)
}

/// A state written at minute `minute` with `version`.
pub fn state(state: AlarmState, minute: i64, version: u64) -> Stored {
    Stored {
        state,
        changed_at: at(minute),
        range_end: at(minute),
        notified_at: None,
        reason: format!("Threshold Crossed: minute {minute} — “quoted”"),
        version,
        // Varied, so that every store round-trips them.
        period: Some(60 * (1 + u32::try_from(minute.rem_euclid(5)).expect("small"))),
        alarm_open: state == AlarmState::Alarm,
        delivered: None,
        held: None,
    }
}

async fn load_one(store: &impl StateStore, key: &str) -> Option<Stored> {
    let mut found = store.load(&[key.to_owned()]).await.expect("load");
    found.states.remove(key)
}

/// `claim` with a lease of [`LEASE`] from `now`; panics on an error.
async fn claim(
    store: &impl StateStore,
    key: &str,
    expected: Option<u64>,
    token: &str,
    now: DateTime<Utc>,
    pending: &Stored,
) -> bool {
    store
        .claim(ClaimRequest {
            key,
            expected_version: expected,
            token,
            now,
            lease_until: now + LEASE,
            pending,
        })
        .await
        .unwrap_or_else(|e| panic!("claim {key} as {token}: {e}"))
}

/// `record`; panics on an error.
async fn record(
    store: &impl StateStore,
    key: &str,
    expected: Option<u64>,
    now: DateTime<Utc>,
    new: &Stored,
) -> bool {
    store
        .record(key, expected, now, new)
        .await
        .unwrap_or_else(|e| panic!("record {key}: {e}"))
}

fn assert_lost(result: Result<(), StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::ClaimLost { .. })),
        "{what}: expected ClaimLost, got {result:?}"
    );
}

async fn first_claim_on_a_missing_item_wins(store: &impl StateStore) {
    let key = "first#us-east-1#web-1";
    let pending = state(AlarmState::Alarm, 0, 1);
    assert!(claim(store, key, None, "run-a", at(0), &pending).await);
    // A claim alone stores no state.
    assert_eq!(load_one(store, key).await, None);
    let confirmed = Stored {
        notified_at: Some(at(0)),
        ..pending
    };
    store
        .confirm(key, "run-a", &confirmed)
        .await
        .expect("confirm");
    assert_eq!(load_one(store, key).await, Some(confirmed));
}

/// Two runs claim the same notification, at once or one after the other: one wins.
async fn one_claim_wins(store: &impl StateStore, concurrently: bool) {
    let prefix = if concurrently { "race" } else { "turns" };
    // On a missing item, and on an item at version 1.
    for (key, expected) in [
        (format!("{prefix}#us-east-1#new"), None),
        (format!("{prefix}#us-east-1#old"), Some(1)),
    ] {
        let key = key.as_str();
        if expected.is_some() {
            assert!(record(store, key, None, at(0), &state(AlarmState::Ok, 0, 1)).await);
        }
        let pending = state(AlarmState::Alarm, 5, expected.map_or(1, |v| v + 1));
        let (a, b) = if concurrently {
            tokio::join!(
                claim(store, key, expected, "run-a", at(5), &pending),
                claim(store, key, expected, "run-b", at(5), &pending),
            )
        } else {
            let a = claim(store, key, expected, "run-a", at(5), &pending).await;
            (
                a,
                claim(store, key, expected, "run-b", at(5), &pending).await,
            )
        };
        assert!(a ^ b, "{key}: exactly one claim wins, got a={a} b={b}");
        let (winner, loser) = if a {
            ("run-a", "run-b")
        } else {
            ("run-b", "run-a")
        };
        assert_lost(
            store.confirm(key, loser, &pending).await,
            "the loser's confirm",
        );
        store.confirm(key, winner, &pending).await.expect("confirm");
        assert_eq!(load_one(store, key).await, Some(pending));
    }
}

async fn confirm_needs_our_token(store: &impl StateStore) {
    let key = "token#us-east-1#web-1";
    let before = state(AlarmState::Ok, 0, 1);
    assert!(record(store, key, None, at(0), &before).await);
    let after = Stored {
        notified_at: Some(at(5)),
        ..state(AlarmState::Alarm, 5, 2)
    };
    assert!(claim(store, key, Some(1), "run-a", at(5), &after).await);
    let error = store
        .confirm(key, "run-b", &after)
        .await
        .expect_err("a confirm with another token fails");
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::ClaimLost { .. }) && message.contains(key),
        "{message}"
    );
    assert_eq!(load_one(store, key).await, Some(before));
    assert_lost(
        store
            .confirm("token#us-east-1#never", "run-a", &after)
            .await,
        "a confirm of an item nobody claimed",
    );
    store.confirm(key, "run-a", &after).await.expect("confirm");
    assert_eq!(load_one(store, key).await, Some(after.clone()));
    assert_lost(
        store.confirm(key, "run-a", &after).await,
        "a second confirm (the claim is gone)",
    );
}

async fn release_lets_the_next_claim_win(store: &impl StateStore) {
    let key = "release#us-east-1#web-1";
    let before = Stored {
        notified_at: Some(at(0)),
        ..state(AlarmState::Alarm, 0, 1)
    };
    assert!(record(store, key, None, at(0), &before).await);
    let pending = state(AlarmState::Ok, 5, 2);
    assert!(claim(store, key, Some(1), "run-a", at(5), &pending).await);
    assert!(!claim(store, key, Some(1), "run-b", at(5), &pending).await);
    // A record cannot slip in under a running claim either.
    assert!(!record(store, key, Some(1), at(5), &pending).await);
    assert_lost(
        store.release(key, "run-b", None).await,
        "a release by another run",
    );
    store.release(key, "run-a", None).await.expect("release");
    // The state is as it was, and the next run's claim wins.
    assert_eq!(load_one(store, key).await, Some(before.clone()));
    assert!(claim(store, key, Some(1), "run-b", at(5), &pending).await);
    assert_lost(store.release(key, "run-a", None).await, "a second release");
    // A release after a partial delivery records who received the notice, without
    // changing the state or its version.
    let delivered = Delivered {
        notice: "OK".into(),
        topics: ["arn:aws:sns:us-east-1:123456789012:a".to_owned()].into(),
    };
    store
        .release(key, "run-b", Some(&delivered))
        .await
        .expect("release b");
    let partly = Stored {
        delivered: Some(delivered),
        ..before.clone()
    };
    assert_eq!(load_one(store, key).await, Some(partly));
    // The next confirmed write clears the record.
    assert!(claim(store, key, Some(1), "run-c", at(6), &pending).await);
    store
        .confirm(key, "run-c", &pending)
        .await
        .expect("confirm");
    assert_eq!(load_one(store, key).await, Some(pending));
}

async fn an_expired_claim_can_be_taken_over(store: &impl StateStore) {
    let key = "expired#us-east-1#web-1";
    let pending = state(AlarmState::Alarm, 0, 1);
    assert!(claim(store, key, None, "dead-run", at(0), &pending).await);
    let expiry = at(0) + LEASE;
    let just_before = expiry - TimeDelta::seconds(1);
    assert!(!claim(store, key, None, "next-run", just_before, &pending).await);
    assert!(claim(store, key, None, "next-run", expiry, &pending).await);
    // The run that died can neither confirm nor release any more.
    assert_lost(store.confirm(key, "dead-run", &pending).await, "confirm");
    assert_lost(store.release(key, "dead-run", None).await, "release");
    store
        .confirm(key, "next-run", &pending)
        .await
        .expect("confirm");
    assert_eq!(load_one(store, key).await, Some(pending.clone()));

    // A record clears an expired claim: its owner's confirm fails afterwards.
    let next = state(AlarmState::Alarm, 10, 2);
    assert!(claim(store, key, Some(1), "slow-run", at(10), &next).await);
    let recorded = state(AlarmState::Ok, 20, 2);
    assert!(record(store, key, Some(1), at(20), &recorded).await);
    assert_lost(store.confirm(key, "slow-run", &next).await, "confirm");
    assert_eq!(load_one(store, key).await, Some(recorded));
}

async fn record_with_a_stale_version_fails(store: &impl StateStore) {
    let key = "record#us-east-1#web-1";
    let first = state(AlarmState::InsufficientData, 0, 1);
    assert!(record(store, key, None, at(0), &first).await);
    assert!(!record(store, key, None, at(0), &first).await);
    let second = Stored {
        notified_at: Some(at(1)),
        ..state(AlarmState::Ok, 5, 2)
    };
    assert!(record(store, key, Some(1), at(5), &second).await);
    assert!(!record(store, key, Some(1), at(5), &second).await);
    let pending = state(AlarmState::Alarm, 10, 2);
    assert!(!claim(store, key, Some(1), "run-a", at(10), &pending).await);
    assert_eq!(load_one(store, key).await, Some(second.clone()));
    // A record may clear notified_at.
    let third = state(AlarmState::Ok, 15, 3);
    assert!(record(store, key, Some(2), at(15), &third).await);
    assert_eq!(load_one(store, key).await, Some(third));
}

async fn load_many_keys(store: &impl StateStore) {
    let keys: Vec<String> = (0..250)
        .map(|i| key("many", "us-east-1", &format!("web-{i}")))
        .collect();
    let minute = |i: usize| i64::try_from(i).expect("small");
    for (i, key) in keys.iter().enumerate() {
        let stored = state(AlarmState::Ok, minute(i), 1);
        assert!(record(store, key, None, at(minute(i)), &stored).await);
    }
    let mut asked = keys.clone();
    asked.extend((0..30).map(|i| key("many", "us-east-1", &format!("absent-{i}"))));
    // Duplicates are allowed.
    asked.extend(keys[..10].iter().cloned());
    let found = store.load(&asked).await.expect("load").states;
    assert_eq!(found.len(), keys.len());
    for (i, key) in keys.iter().enumerate() {
        let expected = state(AlarmState::Ok, minute(i), 1);
        assert_eq!(found.get(key), Some(&expected), "{key}");
    }
    let nothing = store.load(&[]).await.expect("load nothing");
    assert!(nothing.states.is_empty() && nothing.unreadable.is_empty());
}

async fn held_notice(store: &impl StateStore) {
    let key = "held#us-east-1#web-1";
    let mut held = state(AlarmState::Alarm, 0, 1);
    held.alarm_open = false;
    held.held = Some(crate::domain::transition::Held {
        from: Some(AlarmState::Ok),
        to: AlarmState::Alarm,
        since: at(0),
        by: "silence nightly-backups".into(),
    });
    assert!(record(store, key, None, at(0), &held).await);
    assert_eq!(load_one(store, key).await, Some(held.clone()));
    // A first evaluation held: no state it came from.
    let mut first = held.clone();
    first.version = 2;
    if let Some(h) = first.held.as_mut() {
        h.from = None;
    }
    assert!(record(store, key, Some(1), at(5), &first).await);
    assert_eq!(load_one(store, key).await, Some(first.clone()));
    // The release is a notice like any other: claimed, then confirmed without it.
    let released = Stored {
        notified_at: Some(at(10)),
        alarm_open: true,
        held: None,
        ..state(AlarmState::Alarm, 10, 3)
    };
    assert!(claim(store, key, Some(2), "run-a", at(10), &released).await);
    store
        .confirm(key, "run-a", &released)
        .await
        .expect("confirm");
    assert_eq!(load_one(store, key).await, Some(released));
}

/// An ad hoc silence `id` on web-* from minute `from` to `to`.
pub fn ad_hoc(id: &str, from: i64, to: i64) -> crate::domain::silence::AdHoc {
    use crate::domain::select::Selector;
    let glob = |g: &str| Some(Selector::parse(g).expect("a glob"));
    crate::domain::silence::AdHoc {
        id: id.to_owned(),
        matcher: crate::domain::silence::Matcher {
            rule: glob("cpu-*"),
            resource: glob("web-?"),
            region: None,
            tags: [("env".to_owned(), Selector::parse("prod").expect("a name"))].into(),
        },
        start: at(from),
        end: at(to),
        comment: "deploy — “quoted”".to_owned(),
        created_at: at(from - 1),
        expired_at: None,
    }
}

async fn silences(store: &impl StateStore) {
    use crate::domain::silence::Book;
    let read = || async {
        store
            .load(&[SILENCES_KEY.to_owned()])
            .await
            .expect("load")
            .silences
    };
    assert_eq!(read().await, Book::default(), "no item yet");
    let mut book = Book::default();
    book.silences.insert("a1".into(), ad_hoc("a1", 0, 60));
    assert!(store.write_silences(&book).await.expect("write"));
    let first = read().await;
    assert_eq!(first.version, Some(1));
    assert_eq!(first.silences, book.silences);
    // Another writer that read no item loses.
    assert!(!store.write_silences(&book).await.expect("write"));
    let mut second = first.clone();
    let mut expired = ad_hoc("b2", 10, 20);
    expired.matcher.tags.clear();
    expired.expired_at = Some(at(15));
    second.silences.insert("b2".into(), expired);
    assert!(store.write_silences(&second).await.expect("write"));
    assert!(!store.write_silences(&first).await.expect("a stale write"));
    let read_back = read().await;
    assert_eq!(
        (read_back.version, &read_back.silences),
        (Some(2), &second.silences)
    );
    // Pruned to nothing.
    let empty = Book {
        version: Some(2),
        silences: Default::default(),
    };
    assert!(store.write_silences(&empty).await.expect("write"));
    assert_eq!(
        read().await,
        Book {
            version: Some(3),
            silences: Default::default()
        }
    );
    // An alarm's load does not need it.
    let alarms = store.load(&["x#y#z".to_owned()]).await.expect("load");
    assert!(alarms.states.is_empty() && alarms.unreadable.is_empty());
}
