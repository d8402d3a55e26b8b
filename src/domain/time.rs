//! Times as every output shows them: RFC 3339 in UTC, whole seconds, `Z`
//! (`2026-11-24T13:05:00Z`). Reports, reasons, alerts and the command line use this one
//! form, so a time can be matched by eye or by `grep` across all of them. And the one
//! check of an evaluation time against the clock.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// `2026-11-24T13:05:00Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// [`rfc3339`] for `#[serde(serialize_with = "...")]`.
pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// [`rfc3339`] of an optional time, for `#[serde(serialize_with = "...")]`.
pub fn serialize_option<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize(t, s),
        None => s.serialize_none(),
    }
}

/// How far ahead of the clock an evaluation time may be: clock skew between the
/// scheduler and the function, not a run from the future (SPEC §13).
pub const FUTURE_ALLOWANCE: TimeDelta = TimeDelta::minutes(5);

/// An evaluation time more than [`FUTURE_ALLOWANCE`] after the clock. Evaluated, it would
/// be stored as the newest range end, and every real run after it discarded as stale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FutureTime {
    /// Where the time came from: `--at`, `the event's evaluation time`, ...
    pub what: &'static str,
    pub at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

impl fmt::Display for FutureTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at < DateTime::UNIX_EPOCH {
            return write!(
                f,
                "{} {} is before 1970-01-01T00:00:00Z; an evaluation time must lie between \
                 1970 and at most {} minutes after the clock ({}), so nothing was evaluated",
                self.what,
                rfc3339(self.at),
                FUTURE_ALLOWANCE.num_minutes(),
                rfc3339(self.now)
            );
        }
        write!(
            f,
            "{} {} is {} after the clock ({}); an evaluation time may be at most {} minutes \
             ahead of the clock (for clock skew), so nothing was evaluated",
            self.what,
            rfc3339(self.at),
            span(self.at - self.now),
            rfc3339(self.now),
            FUTURE_ALLOWANCE.num_minutes()
        )
    }
}

/// Refuses an evaluation time `at` more than [`FUTURE_ALLOWANCE`] after `now` (the clock,
/// passed in so that tests can set it), or before 1970; `what` names where `at` came
/// from.
pub fn not_in_future(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    what: &'static str,
) -> Result<(), FutureTime> {
    // Before 1970 no Lightsail metric exists, and near chrono's limits the evaluation
    // range arithmetic would overflow.
    if at < DateTime::UNIX_EPOCH {
        return Err(FutureTime { what, at, now });
    }
    match now.checked_add_signed(FUTURE_ALLOWANCE) {
        Some(latest) if at > latest => Err(FutureTime { what, at, now }),
        _ => Ok(()),
    }
}

/// `400 days`, `2 hours 5 minutes`, `6 minutes 1 second`: the two largest units, rounded
/// to the unit below the largest (so 23:59:59.9 is `1 day`, not `23 hours 59 minutes`).
fn span(delta: TimeDelta) -> String {
    let ms = delta.num_milliseconds().max(0);
    let granule = match ms {
        86_400_000.. => 3_600_000,
        3_600_000.. => 60_000,
        _ => 1_000,
    };
    let total = (ms.saturating_add(granule / 2) / granule).saturating_mul(granule / 1_000);
    let units = [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ];
    let parts: Vec<String> = units
        .iter()
        .scan(total, |left, (name, size)| {
            let n = *left / size;
            *left %= size;
            Some((n, name))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}{}", if n == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() {
        "0 seconds".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_time_before_1970_is_refused() {
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let far: DateTime<Utc> = "-262143-01-01T00:00:00Z".parse().unwrap();
        let error = not_in_future(far, now, "the event's evaluation time").unwrap_err();
        assert!(error.to_string().contains("before 1970"), "{error}");
        assert!(not_in_future(DateTime::UNIX_EPOCH, now, "--at").is_ok());
    }

    #[test]
    fn an_evaluation_time_may_be_at_most_five_minutes_ahead_of_the_clock() {
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let at = |offset: TimeDelta| now + offset;
        for fine in [
            TimeDelta::days(-400),
            TimeDelta::zero(),
            TimeDelta::minutes(5),
        ] {
            assert_eq!(not_in_future(at(fine), now, "--at"), Ok(()), "{fine}");
        }
        let err = not_in_future(at(TimeDelta::seconds(301)), now, "--at").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--at 2026-11-28T10:05:01Z is 5 minutes 1 second after the clock \
             (2026-11-28T10:00:00Z); an evaluation time may be at most 5 minutes ahead of the \
             clock (for clock skew), so nothing was evaluated"
        );
        let err = not_in_future(at(TimeDelta::days(400)), now, "the event's `at`").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the event's `at` 2028-01-02T10:00:00Z is 400 days after the clock"),
            "{err}"
        );
        let latest = DateTime::<Utc>::MAX_UTC;
        assert!(not_in_future(latest, now, "--at").is_err());
        assert_eq!(not_in_future(latest, latest, "--at"), Ok(()));
    }

    #[test]
    fn spans_name_their_two_largest_units() {
        assert_eq!(span(TimeDelta::seconds(0)), "0 seconds");
        assert_eq!(span(TimeDelta::seconds(61)), "1 minute 1 second");
        assert_eq!(span(TimeDelta::hours(2) + TimeDelta::seconds(5)), "2 hours");
        assert_eq!(
            span(TimeDelta::days(400) + TimeDelta::hours(3)),
            "400 days 3 hours"
        );
    }

    #[test]
    fn times_are_whole_seconds_in_utc_with_a_z() {
        let t: DateTime<Utc> = "2026-11-24T13:05:00.750+01:00".parse().unwrap();
        assert_eq!(rfc3339(t), "2026-11-24T12:05:00Z");
    }
}
