//! The notification policy: `notifyOn` (which transitions are notified) and
//! `renotifyMinutes` (reminders of a persisting ALARM), and the two together; and
//! `defaults.groupAbove` (when a run's notices for one target go as a digest).

use std::collections::{BTreeSet, HashMap};

use serde_yaml_ng::{Mapping, Value};

use crate::domain::evaluate::AlarmState;
use crate::domain::rule::DEFAULT_GROUP_ABOVE;

use super::positions::Path;
use super::scope::{Field, Scope};
use super::suggest::with_suggestion;
use super::values::{describe, string, whole_number};

pub(super) const STATES: [AlarmState; 3] = [
    AlarmState::Alarm,
    AlarmState::Ok,
    AlarmState::InsufficientData,
];
const NOTIFY_ON_ALLOWED: &str = "ALARM, OK, INSUFFICIENT_DATA";
/// `renotifyMinutes` at most: a week.
pub(super) const MAX_RENOTIFY_MINUTES: u32 = 10_080;
/// `groupAbove` at most: beyond this many single messages from one run, grouping is as
/// good as off, which `none` says plainly.
pub(super) const MAX_GROUP_ABOVE: u32 = 10_000;
/// How `groupAbove` says "never group".
pub(super) const GROUP_NEVER: &str = "none";

/// `groupAbove: 25`, `0` (the default, 10) or `none` (never group): how many notices for
/// one target one run sends one by one, at most, before the rest go as a digest.
pub(super) fn check_group_above(value: &Value) -> Result<Option<u32>, String> {
    let allowed = format!(
        "allowed: a whole number of notices from 1 to {MAX_GROUP_ABOVE} (0 means the default, \
         {DEFAULT_GROUP_ABOVE}), or `{GROUP_NEVER}` to send every notice alone"
    );
    if let Value::String(text) = value {
        if text == GROUP_NEVER {
            return Ok(None);
        }
        return Err(with_suggestion(
            format!("`{text}` is not allowed; {allowed}"),
            text,
            [GROUP_NEVER],
        ));
    }
    let n = whole_number(
        value,
        &format!("a whole number or `{GROUP_NEVER}`; {allowed}"),
    )?;
    match u32::try_from(n) {
        Ok(0) => Ok(Some(DEFAULT_GROUP_ABOVE)),
        Ok(n) if n <= MAX_GROUP_ABOVE => Ok(Some(n)),
        _ => Err(format!("`{n}` is not allowed; {allowed}")),
    }
}

/// `notifyOn: [ALARM, OK]`: a non-empty list of alarm states, each once.
pub(super) fn check_notify_on(scope: &mut Scope<'_>, map: &Mapping) -> Field<BTreeSet<AlarmState>> {
    let list = scope.field(map, "notifyOn", |v| match v {
        Value::Sequence(list) if list.is_empty() => Err(format!(
            "must list at least one state; allowed: {NOTIFY_ON_ALLOWED} (default [ALARM, OK])"
        )),
        Value::Sequence(list) => Ok(list),
        other => Err(format!(
            "expected a list of states like [ALARM, OK], got {}; allowed: {NOTIFY_ON_ALLOWED}",
            describe(other)
        )),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Field::Absent,
        Field::Invalid => return Field::Invalid,
    };
    let mut states = BTreeSet::new();
    let mut first_seen: HashMap<AlarmState, usize> = HashMap::new();
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let field = Path::from("notifyOn").index(index);
        match check_state(item) {
            Ok(state) => match first_seen.get(&state) {
                Some(first) => {
                    scope.error(
                        field,
                        format!("`{state}` is listed twice (also notifyOn[{first}])"),
                    );
                    valid = false;
                }
                None => {
                    first_seen.insert(state, index);
                    states.insert(state);
                }
            },
            Err(message) => {
                scope.error(field, message);
                valid = false;
            }
        }
    }
    if valid {
        Field::Valid(states)
    } else {
        Field::Invalid
    }
}

fn check_state(value: &Value) -> Result<AlarmState, String> {
    let name = string(value)?;
    STATES
        .into_iter()
        .find(|state| state.as_str() == name)
        .ok_or_else(|| {
            with_suggestion(
                format!("`{name}` is not a valid state; allowed: {NOTIFY_ON_ALLOWED}"),
                name,
                STATES.map(AlarmState::as_str),
            )
        })
}

pub(super) fn check_renotify_minutes(value: &Value) -> Result<u32, String> {
    let allowed = format!(
        "allowed: a whole number of minutes from 0 (never) to {MAX_RENOTIFY_MINUTES} (a week)"
    );
    let minutes = whole_number(value, &format!("a whole number of minutes; {allowed}"))?;
    u32::try_from(minutes)
        .ok()
        .filter(|&m| m <= MAX_RENOTIFY_MINUTES)
        .ok_or_else(|| format!("`{minutes}` is not allowed; {allowed}"))
}

/// A reminder repeats the ALARM notice, so `renotifyMinutes` needs ALARM in `notifyOn`.
/// `inherited` says where `renotifyMinutes` came from when the rule did not set it.
pub(super) fn check_reminders(
    notify_on: &BTreeSet<AlarmState>,
    renotify_minutes: u32,
    inherited: &str,
) -> Result<(), String> {
    if renotify_minutes == 0 || notify_on.contains(&AlarmState::Alarm) {
        return Ok(());
    }
    let states: Vec<&str> = notify_on.iter().map(|s| s.as_str()).collect();
    Err(format!(
        "renotifyMinutes {renotify_minutes}{inherited} would never send a reminder: a reminder \
         repeats the ALARM notice, and notifyOn [{}] leaves ALARM out; add ALARM to notifyOn, or \
         set renotifyMinutes to 0",
        states.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transition::Policy;
    use crate::rules::parse;
    use crate::rules::test_support::{Changes, SOURCE, TOPIC, error_lines, none, one_rule};

    fn states(list: &[AlarmState]) -> BTreeSet<AlarmState> {
        list.iter().copied().collect()
    }

    #[test]
    fn notification_policy_defaults_to_transitions_into_alarm_and_ok() {
        let rules = parse(&one_rule(&[]), SOURCE, &none()).unwrap();
        let rule = &rules.rules[0];
        assert_eq!(rule.notify_on, states(&[AlarmState::Alarm, AlarmState::Ok]));
        assert_eq!(rule.renotify_minutes, 0);
        assert_eq!(rule.recovery_threshold, None);
        assert_eq!(rule.policy(), Policy::default());
        let json = serde_json::to_value(rule).unwrap();
        assert_eq!(json["notifyOn"], serde_json::json!(["OK", "ALARM"]));
        assert_eq!(json["renotifyMinutes"], 0);
        assert!(json.get("recoveryThreshold").is_none(), "{json}");
    }

    #[test]
    fn notify_on_renotify_minutes_and_recovery_threshold_are_read() {
        let doc = one_rule(&[
            ("notifyOn", Some("[INSUFFICIENT_DATA, ALARM, OK]")),
            ("renotifyMinutes", Some("60")),
            ("recoveryThreshold", Some("70")),
        ]);
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        let rule = &rules.rules[0];
        let all = states(&[
            AlarmState::Alarm,
            AlarmState::Ok,
            AlarmState::InsufficientData,
        ]);
        assert_eq!(rule.notify_on, all);
        assert_eq!(rule.renotify_minutes, 60);
        assert_eq!(rule.recovery_threshold, Some(70.0));
        assert_eq!(
            rule.policy(),
            Policy {
                notify_on: all,
                renotify_minutes: 60
            }
        );
        let json = serde_json::to_value(rule).unwrap();
        assert_eq!(
            json["notifyOn"],
            serde_json::json!(["OK", "ALARM", "INSUFFICIENT_DATA"])
        );
        assert_eq!(json["renotifyMinutes"], 60);
        assert_eq!(json["recoveryThreshold"], 70.0);

        // The bounds, and the safe side for each comparison.
        for (changes, recovery) in [
            (&[("renotifyMinutes", Some("10080"))][..], None),
            (&[("notifyOn", Some("[OK]"))][..], None),
            (
                &[
                    ("comparison", Some("'<'")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("30")),
                ][..],
                Some(30.0),
            ),
            (
                &[
                    ("comparison", Some("'<='")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("20.5")),
                ][..],
                Some(20.5),
            ),
            (
                &[
                    ("comparison", Some("'>='")),
                    ("threshold", Some("80")),
                    ("recoveryThreshold", Some("79.9")),
                ][..],
                Some(79.9),
            ),
        ] {
            let rules = parse(&one_rule(changes), SOURCE, &none()).unwrap();
            assert_eq!(rules.rules[0].recovery_threshold, recovery, "{changes:?}");
        }
    }

    #[test]
    fn notification_policy_comes_from_defaults_unless_the_rule_sets_it() {
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  notifyOn: [ALARM]\n  renotifyMinutes: 30\n\
             rules:\n\
             - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n\
             - {{name: b, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1, \
                 notifyOn: [ALARM, OK, INSUFFICIENT_DATA], renotifyMinutes: 0}}\n\
             - {{name: c, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1, \
                 notifyOn: [OK], renotifyMinutes: 0}}\n"
        );
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        assert_eq!(
            rules.rules[0].policy(),
            Policy {
                notify_on: states(&[AlarmState::Alarm]),
                renotify_minutes: 30
            }
        );
        assert_eq!(rules.rules[1].notify_on.len(), 3);
        assert_eq!(rules.rules[1].renotify_minutes, 0);
        assert_eq!(rules.rules[2].notify_on, states(&[AlarmState::Ok]));
    }

    #[test]
    fn each_notification_policy_error_names_the_field_and_what_is_allowed() {
        let cases: &[(Changes, &str)] = &[
            (
                &[("notifyOn", Some("[]"))],
                "12:15: notifyOn: must list at least one state; allowed: ALARM, OK, INSUFFICIENT_DATA \
                 (default [ALARM, OK])",
            ),
            (
                &[("notifyOn", Some("ALARM"))],
                "12:15: notifyOn: expected a list of states like [ALARM, OK], got the string \"ALARM\"; \
                 allowed: ALARM, OK, INSUFFICIENT_DATA",
            ),
            (
                &[("notifyOn", Some("[ALARM, alarm]"))],
                "12:23: notifyOn[1]: `alarm` is not a valid state; allowed: ALARM, OK, INSUFFICIENT_DATA; \
                 did you mean `ALARM`?",
            ),
            (
                &[("notifyOn", Some("[INSUFFICIENT]"))],
                "12:16: notifyOn[0]: `INSUFFICIENT` is not a valid state; allowed: ALARM, OK, \
                 INSUFFICIENT_DATA; did you mean `INSUFFICIENT_DATA`?",
            ),
            (
                &[("notifyOn", Some("[OK, 1]"))],
                "12:20: notifyOn[1]: expected a string, got the number 1",
            ),
            (
                &[("notifyOn", Some("[ALARM, OK, ALARM]"))],
                "12:27: notifyOn[2]: `ALARM` is listed twice (also notifyOn[0])",
            ),
            (
                &[("renotifyMinutes", Some("-1"))],
                "12:22: renotifyMinutes: `-1` is not allowed; allowed: a whole number of minutes from 0 \
                 (never) to 10080 (a week)",
            ),
            (
                &[("renotifyMinutes", Some("10081"))],
                "12:22: renotifyMinutes: `10081` is not allowed; allowed: a whole number of minutes from 0 \
                 (never) to 10080 (a week)",
            ),
            (
                &[("renotifyMinutes", Some("1.5"))],
                "12:22: renotifyMinutes: expected a whole number of minutes; allowed: a whole number of \
                 minutes from 0 (never) to 10080 (a week), got the number 1.5",
            ),
            (
                &[("renotifyMinutes", Some("'60'"))],
                "12:22: renotifyMinutes: expected a whole number of minutes; allowed: a whole number of \
                 minutes from 0 (never) to 10080 (a week), got the string \"60\"",
            ),
            (
                &[
                    ("notifyOn", Some("[OK, INSUFFICIENT_DATA]")),
                    ("renotifyMinutes", Some("60")),
                ],
                "13:22: renotifyMinutes: renotifyMinutes 60 would never send a reminder: a reminder repeats \
                 the ALARM notice, and notifyOn [OK, INSUFFICIENT_DATA] leaves ALARM out; add ALARM \
                 to notifyOn, or set renotifyMinutes to 0",
            ),
            (
                &[
                    ("comparison", Some("LessThanThreshold")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("10")),
                ],
                "12:24: recoveryThreshold: `10` is on the breaching side of threshold 20 (values < 20 \
                 breach); use a value above 20, e.g. 30",
            ),
            (
                &[
                    ("comparison", Some("LessThanOrEqualToThreshold")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("20")),
                ],
                "12:24: recoveryThreshold: `20` is threshold 20 itself, so it would change nothing; use a \
                 value above 20, e.g. 30",
            ),
            (
                &[("recoveryThreshold", Some("90"))],
                "12:24: recoveryThreshold: `90` is on the breaching side of threshold 80 (values > 80 \
                 breach); use a value below 80, e.g. 70",
            ),
            (
                &[
                    ("comparison", Some("'>'")),
                    ("threshold", Some("0")),
                    ("recoveryThreshold", Some("0.5")),
                ],
                "12:24: recoveryThreshold: `0.5` is on the breaching side of threshold 0 (values > 0 \
                 breach); use a value below 0, e.g. -1",
            ),
            (
                &[("recoveryThreshold", Some(".nan"))],
                "12:24: recoveryThreshold: `.nan` is not allowed; expected a finite number",
            ),
            (
                &[("recoveryThreshold", Some("low"))],
                "12:24: recoveryThreshold: expected a number, got the string \"low\"",
            ),
            // Without a valid comparison it cannot be checked: one error, the comparison's.
            (
                &[
                    ("comparison", Some("above")),
                    ("recoveryThreshold", Some("90")),
                ],
                "10:17: comparison: `above` is not a valid comparison; allowed: \
                 GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
                 LessThanOrEqualToThreshold, <=",
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [{
                    let (at, expected) = expected.split_once(' ').unwrap();
                    format!("{SOURCE}:{at} rules[0] (cpu-high): {expected}")
                }],
                "document:\n{doc}"
            );
        }
    }

    #[test]
    fn a_reminder_without_alarm_notices_is_reported_where_it_was_made() {
        let rule = |name: &str, extra: &str| {
            format!(
                "- {{name: {name}, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1{extra}}}\n"
            )
        };
        // Made in `defaults`: reported once there, not again in each rule inheriting it.
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  notifyOn: [OK]\n  renotifyMinutes: 15\n\
             rules:\n{}{}",
            rule("a", ""),
            rule("b", "")
        );
        assert_eq!(
            error_lines(&doc, &none()),
            [
                "rules.yaml:6:20: defaults.renotifyMinutes: renotifyMinutes 15 would never send a reminder: \
              a reminder repeats the ALARM notice, and notifyOn [OK] leaves ALARM out; add ALARM to \
              notifyOn, or set renotifyMinutes to 0"
            ]
        );
        // A rule's notifyOn against the default renotifyMinutes: the rule's field.
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  renotifyMinutes: 15\n\
             rules:\n{}{}",
            rule("a", ""),
            rule("b", ", notifyOn: [OK]")
        );
        assert_eq!(
            error_lines(&doc, &none()),
            [
                "rules.yaml:8:89: rules[1] (b): notifyOn: renotifyMinutes 15 (from defaults) would never \
              send a reminder: a reminder repeats the ALARM notice, and notifyOn [OK] leaves ALARM \
              out; add ALARM to notifyOn, or set renotifyMinutes to 0"
            ]
        );
        // Each field's own errors in `defaults`, and recoveryThreshold is per rule only.
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  notifyOn: [ALARM, ALARM]\n  \
             renotifyMinutes: 20000\n  recoveryThreshold: 5\nrules:\n{}",
            rule("a", "")
        );
        assert_eq!(
            error_lines(&doc, &none()),
            [
                "rules.yaml:5:21: defaults.notifyOn[1]: `ALARM` is listed twice (also notifyOn[0])",
                "rules.yaml:6:20: defaults.renotifyMinutes: `20000` is not allowed; allowed: a whole \
                 number of minutes from 0 (never) to 10080 (a week)",
                "rules.yaml:7:3: defaults.recoveryThreshold: unknown field `recoveryThreshold`; allowed: \
                 region, regions, topicArn, severity, notify, notifyOn, renotifyMinutes, groupAbove",
            ]
        );
    }

    /// A document with `defaults.groupAbove: value` (`None`: without it) and a rule
    /// with `extra`.
    fn grouping(value: Option<&str>, extra: &str) -> String {
        let group_above = value.map_or(String::new(), |v| format!("  groupAbove: {v}\n"));
        format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n{group_above}rules:\n\
             - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1{extra}}}\n"
        )
    }

    #[test]
    fn group_above_is_a_number_of_notices_zero_for_the_default_or_none() {
        let parsed = |value| parse(&grouping(value, ""), SOURCE, &none()).unwrap();
        assert_eq!(parsed(None).group_above, Some(10));
        assert_eq!(
            parsed(Some("0")).group_above,
            Some(10),
            "0 means the default"
        );
        assert_eq!(parsed(Some("25")).group_above, Some(25));
        assert_eq!(parsed(Some("1")).group_above, Some(1));
        assert_eq!(parsed(Some("none")).group_above, None);
        // `validate` shows it where it was set, as a document would have it.
        let shown = serde_json::to_value(parsed(Some("none"))).unwrap();
        assert_eq!(shown["defaults"], serde_json::json!({"groupAbove": "none"}));
        let shown = serde_json::to_value(parsed(None)).unwrap();
        assert_eq!(shown["defaults"], serde_json::json!({"groupAbove": 10}));
    }

    #[test]
    fn a_bad_group_above_is_reported_where_it_is_with_what_is_allowed() {
        let allowed = "allowed: a whole number of notices from 1 to 10000 (0 means the default, \
                       10), or `none` to send every notice alone";
        let cases = [
            ("never", format!("`never` is not allowed; {allowed}")),
            (
                "None",
                format!("`None` is not allowed; {allowed}; did you mean `none`?"),
            ),
            ("-1", format!("`-1` is not allowed; {allowed}")),
            ("10001", format!("`10001` is not allowed; {allowed}")),
            (
                "2.5",
                format!("expected a whole number or `none`; {allowed}, got the number 2.5"),
            ),
            (
                "false",
                format!("expected a whole number or `none`; {allowed}, got `false`"),
            ),
        ];
        for (value, message) in cases {
            assert_eq!(
                error_lines(&grouping(Some(value), ""), &none()),
                [format!("rules.yaml:5:15: defaults.groupAbove: {message}")],
                "{value}"
            );
        }
        // Not in a rule, nor in a notify entry.
        let lines = error_lines(&grouping(None, ", groupAbove: 3"), &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "rules.yaml:6:79: rules[0] (a): groupAbove: unknown field `groupAbove` \
                 (`groupAbove` is set in `defaults` only: a target's digest gathers the notices \
                 of every rule that names it); allowed: name,"
            ),
            "{}",
            lines[0]
        );
        let notify = format!(", notify: [{{topicArn: {TOPIC}, groupAbove: 3}}]");
        let lines = error_lines(&grouping(None, &notify), &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("notify[0].groupAbove: unknown field `groupAbove`"),
            "{}",
            lines[0]
        );
    }
}
