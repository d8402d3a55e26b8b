//! Times as every output shows them: RFC 3339 in UTC, whole seconds, `Z`
//! (`2026-11-24T13:05:00Z`). Reports, reasons, alerts and the command line use this one
//! form, so a time can be matched by eye or by `grep` across all of them.

use chrono::{DateTime, SecondsFormat, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_whole_seconds_in_utc_with_a_z() {
        let t: DateTime<Utc> = "2026-11-24T13:05:00.750+01:00".parse().unwrap();
        assert_eq!(rfc3339(t), "2026-11-24T12:05:00Z");
    }
}
