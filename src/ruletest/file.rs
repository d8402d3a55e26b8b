//! The rule test file as written (SPEC §15): its YAML shape, read with serde, whose
//! errors carry the line and column of the value (or the key) they are about. Names
//! (`resourceType`, `metric`, `state`), times and `interval` are read by visitors of
//! their own, so a mistake in one is placed at the value itself and says "did you mean".
//! What needs more than one field, or the rules, is checked in `load`.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::notation;
use crate::domain::catalog::{MetricName, ResourceType, UnknownName};
use crate::domain::evaluate::AlarmState;
use crate::rules::{Position, closest};
use crate::run::ResultState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawFile {
    /// The rules document, relative to the test file.
    pub rules: String,
    pub tests: Vec<RawTest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawTest {
    pub name: String,
    pub start: Time,
    #[serde(default)]
    pub resources: Option<Vec<RawResource>>,
    #[serde(default)]
    pub series: Vec<RawSeries>,
    pub expect: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawResource {
    pub name: String,
    #[serde(default)]
    pub resource_type: Option<Named<ResourceType>>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawSeries {
    pub resource: String,
    #[serde(default)]
    pub resource_type: Option<Named<ResourceType>>,
    #[serde(default)]
    pub region: Option<String>,
    pub metric: Named<MetricName>,
    #[serde(default)]
    pub interval: Option<Interval>,
    /// In the series notation, expanded in `load` (where a mistake can be placed at its
    /// character).
    pub values: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawStep {
    pub at: Time,
    #[serde(default)]
    pub results: Option<Vec<RawEntry>>,
    #[serde(default)]
    pub alerts: Option<Vec<RawEntry>>,
}

/// One expected result or alert.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawEntry {
    pub rule: String,
    pub resource: String,
    pub state: Named<StateName>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub resource_type: Option<Named<ResourceType>>,
    /// Alerts only: whether the notice is a reminder (`renotifyMinutes`).
    #[serde(default)]
    pub reminder: Option<bool>,
}

/// A value of a closed set of names, read with a "did you mean" when it is none of them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Named<T>(pub T);

impl<'de, T: FromStr<Err = UnknownName>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Scalar(PhantomData::<Named<T>>))
    }
}

impl<T: FromStr<Err = UnknownName>> FromStr for Named<T> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse().map(Named).map_err(|unknown: UnknownName| {
            let message = unknown.to_string();
            match closest(&unknown.value, unknown.allowed.split(", ")) {
                Some(name) => format!("{message}; did you mean `{name}`?"),
                None => message,
            }
        })
    }
}

/// The state of an expected result or alert, as reports spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StateName(pub ResultState);

impl FromStr for StateName {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        let state = match s {
            "ALARM" => ResultState::Alarm(AlarmState::Alarm),
            "OK" => ResultState::Alarm(AlarmState::Ok),
            "INSUFFICIENT_DATA" => ResultState::Alarm(AlarmState::InsufficientData),
            "ERROR" => ResultState::Error,
            _ => {
                return Err(UnknownName {
                    kind: "state",
                    value: s.to_owned(),
                    allowed: "ALARM, OK, INSUFFICIENT_DATA, ERROR".to_owned(),
                });
            }
        };
        Ok(StateName(state))
    }
}

/// An RFC 3339 time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Time(pub DateTime<Utc>);

impl FromStr for Time {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Time(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!("`{s}` is not an RFC 3339 time; expected e.g. 2026-11-24T12:00:00Z")
            })
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Scalar(PhantomData::<Time>))
    }
}

/// Seconds between a series' values.
#[derive(Debug, Clone, Copy)]
pub(super) struct Interval(pub u32);

impl FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        notation::interval_seconds(s).map(Interval)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Scalar(PhantomData::<Interval>))
    }
}

/// Reads a scalar through `T::from_str`: its error is raised while the YAML reader is
/// at the scalar, so it carries the scalar's line and column.
struct Scalar<T>(PhantomData<T>);

impl<T: FromStr<Err = E>, E: fmt::Display> Visitor<'_> for Scalar<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a single value")
    }

    fn visit_str<X: de::Error>(self, v: &str) -> Result<T, X> {
        v.parse().map_err(X::custom)
    }
}

/// A serde error as a test file error: its place, and its message without the place
/// (which leads the line instead), an unknown field with "did you mean".
pub(super) fn serde_error(err: &serde_yaml_ng::Error) -> (Option<Position>, String) {
    let at = err.location().map(|at| Position {
        line: at.line(),
        column: at.column(),
    });
    let mut message = err.to_string();
    if let Some(Position { line, column }) = at {
        message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
    }
    (at, with_field_suggestion(&message))
}

/// serde's `unknown field `nme`, expected one of `name`, `start`` as the rules say it:
/// `unknown field `nme` (did you mean `name`?); allowed: name, start`.
fn with_field_suggestion(message: &str) -> String {
    const UNKNOWN: &str = "unknown field `";
    let Some(start) = message.find(UNKNOWN) else {
        return message.to_owned();
    };
    let rest = &message[start + UNKNOWN.len()..];
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    // The allowed names are the other backquoted words: `a`, `b` or `c`.
    let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if allowed.is_empty() {
        return message.to_owned();
    }
    let hint = closest(field, allowed.iter().copied())
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default();
    format!(
        "{}unknown field `{field}`{hint}; allowed: {}",
        &message[..start],
        allowed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(yaml: &str) -> String {
        let err = serde_yaml_ng::from_str::<RawFile>(yaml).unwrap_err();
        match serde_error(&err) {
            (Some(at), message) => format!("{}:{}: {message}", at.line, at.column),
            (None, message) => message,
        }
    }

    const START: &str = "rules: r.yaml\ntests:\n  - name: t\n    start: 2026-11-24T12:00:00Z\n";

    #[test]
    fn an_unknown_field_says_did_you_mean_at_its_key() {
        let yaml = format!(
            "{START}    series:\n      - {{resource: web-1, metric: CPUUtilization, valuse: \"1\"}}\n    expect: []\n"
        );
        assert_eq!(
            error(&yaml),
            "6:51: tests[0].series[0]: unknown field `valuse` (did you mean `values`?); \
             allowed: resource, resourceType, region, metric, interval, values"
        );
        let yaml = "rules: r.yaml\ntest: []\n";
        assert_eq!(
            error(yaml),
            "2:1: unknown field `test` (did you mean `tests`?); allowed: rules, tests"
        );
    }

    #[test]
    fn a_wrong_name_is_placed_at_its_value_with_did_you_mean() {
        let yaml = format!(
            "{START}    series:\n      - {{resource: web-1, metric: CPUUtilisation, values: \"1\"}}\n    expect: []\n"
        );
        let message = error(&yaml);
        assert!(
            message.starts_with(
                "6:35: tests[0].series[0].metric: `CPUUtilisation` is not a valid metric"
            ),
            "{message}"
        );
        assert!(
            message.ends_with("did you mean `CPUUtilization`?"),
            "{message}"
        );

        let yaml = format!(
            "{START}    expect:\n      - at: 2026-11-24T12:05:00Z\n        alerts: [{{rule: r, resource: web-1, state: ALRM}}]\n"
        );
        assert_eq!(
            error(&yaml),
            "7:52: tests[0].expect[0].alerts[0].state: `ALRM` is not a valid state; allowed: \
             ALARM, OK, INSUFFICIENT_DATA, ERROR; did you mean `ALARM`?"
        );
    }

    #[test]
    fn times_and_intervals_are_checked_where_they_are() {
        let yaml =
            "rules: r.yaml\ntests:\n  - name: t\n    start: 2026-11-24 12:00\n    expect: []\n";
        assert_eq!(
            error(yaml),
            "4:12: tests[0].start: `2026-11-24 12:00` is not an RFC 3339 time; expected e.g. \
             2026-11-24T12:00:00Z"
        );
        let yaml = format!(
            "{START}    series:\n      - {{resource: a, metric: CPUUtilization, interval: 7s, values: \"1\"}}\n    expect: []\n"
        );
        let message = error(&yaml);
        assert!(
            message.starts_with("6:57: tests[0].series[0].interval: `7s` is not a period"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let yaml = "rules: r.yaml\ntests:\n  - name: t\n    expect: []\n";
        assert_eq!(error(yaml), "3:5: tests[0]: missing field `start`");
    }

    #[test]
    fn other_messages_are_kept() {
        assert_eq!(with_field_suggestion("invalid type"), "invalid type");
        assert_eq!(
            with_field_suggestion("unknown field `x`, there are no fields"),
            "unknown field `x`, there are no fields"
        );
    }
}
