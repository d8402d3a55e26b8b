//! Where a rule's alerts go: `topicArn` or `notify` (a list of topics and formats).

use std::collections::HashMap;

use serde_yaml_ng::{Mapping, Value};

use crate::domain::catalog::Format;

use super::positions::Path;
use super::scope::{self, Field, Scope};
use super::values::{describe, lookup, mapping, parse_name, string};
use crate::domain::rule::{Destination, InvalidValue, TopicArn};

pub(super) const NOTIFY_FIELDS: &[&str] = &["topicArn", "format"];
const NOTIFY_ALLOWED: &str = "expected a list like [{topicArn: arn:aws:sns:...:alerts, format: json}] \
     (format: text, json or chat; default text)";

/// The destinations a rule (or `defaults`) sets itself: `notify`, or `topicArn` as one `text`
/// target. Both at once is an error: which one should win is not obvious to a reader.
pub(super) fn destinations(
    scope: &mut Scope<'_>,
    map: &Mapping,
    topic_arn: Field<TopicArn>,
    notify: Field<Vec<Destination>>,
) -> Field<Vec<Destination>> {
    let present = |key: &str| !matches!(map.get(key), None | Some(Value::Null));
    if present("topicArn") && present("notify") {
        scope.error(
            "notify",
            "`topicArn` and `notify` are both set; use one: `notify` alone (list the topic \
             there too: {topicArn: <arn>, format: text}), or `topicArn` alone for one `text` \
             target",
        );
        return Field::Invalid;
    }
    match (topic_arn, notify) {
        (Field::Valid(arn), _) => Field::Valid(vec![Destination::text(arn)]),
        (Field::Invalid, _) => Field::Invalid,
        (Field::Absent, notify) => notify,
    }
}

/// `notify: [{topicArn, format}]`: a non-empty list, each entry a valid topic ARN and an
/// allowed format, no unknown keys, no topic twice. Every problem of every entry is
/// reported.
pub(super) fn check_notify(scope: &mut Scope<'_>, map: &Mapping) -> Field<Vec<Destination>> {
    let list = scope.field(map, "notify", |v| match v {
        Value::Sequence(list) if list.is_empty() => {
            Err(format!("must list at least one target; {NOTIFY_ALLOWED}"))
        }
        Value::Sequence(list) => Ok(list),
        other => Err(format!("{NOTIFY_ALLOWED}, got {}", describe(other))),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Field::Absent,
        Field::Invalid => return Field::Invalid,
    };
    let mut destinations: Vec<Destination> = Vec::with_capacity(list.len());
    let mut first_seen: HashMap<TopicArn, usize> = HashMap::new();
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let at = Path::from("notify").index(index);
        let Some(Destination { topic_arn, format }) = check_target(scope, &at, item, &mut valid)
        else {
            valid = false;
            continue;
        };
        match first_seen.get(&topic_arn) {
            Some(first) => {
                scope.error(
                    at.key("topicArn"),
                    format!(
                        "`{topic_arn}` is already the topic of notify[{first}]; list each topic \
                         once, in one format"
                    ),
                );
                valid = false;
            }
            None => {
                first_seen.insert(topic_arn.clone(), index);
                destinations.push(Destination { topic_arn, format });
            }
        }
    }
    if valid {
        Field::Valid(destinations)
    } else {
        Field::Invalid
    }
}

/// One entry of `notify`, every problem of it reported. An unknown key clears `valid` but
/// still gives the target when `topicArn` and `format` are valid, so that a later entry
/// with the same topic is reported as a repeat all the same.
fn check_target(
    scope: &mut Scope<'_>,
    at: &Path,
    item: &Value,
    valid: &mut bool,
) -> Option<Destination> {
    let entry = match mapping(item, "a mapping of topicArn and format") {
        Ok(entry) => entry,
        Err(message) => {
            scope.error(at.clone(), message);
            return None;
        }
    };
    let typos = scope.unknown_keys(at, entry, NOTIFY_FIELDS);
    if !scope::known_keys(entry, NOTIFY_FIELDS) {
        *valid = false;
    }
    let topic_arn = match lookup(entry, "topicArn", |v| check_topic_arn(string(v)?)) {
        Ok(Some(arn)) => Some(arn),
        Ok(None) => {
            // A misspelt `topicArn` is already reported, with the suggestion.
            if !typos.contains("topicArn") {
                scope.error(
                    at.key("topicArn"),
                    "required; the ARN of the SNS topic to publish to",
                );
            }
            None
        }
        Err(message) => {
            scope.error(at.key("topicArn"), message);
            None
        }
    };
    let format = match lookup(entry, "format", parse_name::<Format>) {
        Ok(format) => Some(format.unwrap_or(Format::Text)),
        Err(message) => {
            scope.error(at.key("format"), message);
            None
        }
    };
    Some(Destination {
        topic_arn: topic_arn?,
        format: format?,
    })
}

pub(super) fn check_topic_arn(arn: &str) -> Result<TopicArn, String> {
    arn.parse().map_err(|e: InvalidValue| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse;
    use crate::rules::test_support::{Changes, SOURCE, error_lines, fallbacks, none, one_rule};

    const OPS: &str = "arn:aws:sns:us-east-1:123456789012:ops";
    const MACHINES: &str = "arn:aws:sns:eu-west-1:123456789012:machines.fifo";
    const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";

    fn destination(arn: &str, format: Format) -> Destination {
        Destination {
            topic_arn: arn.parse().unwrap(),
            format,
        }
    }

    #[test]
    fn notify_lists_the_targets_and_their_formats() {
        let notify = format!(
            "[{{topicArn: {OPS}}}, {{topicArn: '{MACHINES}', format: json}}, \
             {{topicArn: {CHAT}, format: chat}}]"
        );
        // The rule's `notify` wins over `defaults.topicArn`.
        let rules = parse(&one_rule(&[("notify", Some(&notify))]), SOURCE, &none()).unwrap();
        assert_eq!(
            rules.rules[0].destinations,
            [
                destination(OPS, Format::Text),
                destination(MACHINES, Format::Json),
                destination(CHAT, Format::Chat),
            ]
        );
        assert_eq!(
            serde_json::to_value(&rules.rules[0]).unwrap()["notify"],
            serde_json::json!([
                {"topicArn": OPS, "format": "text"},
                {"topicArn": MACHINES, "format": "json"},
                {"topicArn": CHAT, "format": "chat"},
            ])
        );
    }

    #[test]
    fn defaults_notify_serves_rules_without_a_target_of_their_own() {
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  notify: [{{topicArn: {OPS}, format: chat}}]\n\
             rules:\n\
             - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n\
             - {{name: b, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1, topicArn: {CHAT}}}\n"
        );
        let rules = parse(&doc, SOURCE, &fallbacks("us-east-1", MACHINES)).unwrap();
        assert_eq!(
            rules.rules[0].destinations,
            [destination(OPS, Format::Chat)]
        );
        assert_eq!(
            rules.rules[1].destinations,
            [destination(CHAT, Format::Text)]
        );
    }

    #[test]
    fn each_notify_error_names_the_entry_the_field_and_what_is_allowed() {
        let cases: &[(&str, Changes, &str)] = &[
            (
                "both",
                &[
                    ("topicArn", Some(OPS)),
                    ("notify", Some(&format!("[{{topicArn: {CHAT}}}]"))),
                ],
                "13:13: notify: `topicArn` and `notify` are both set; use one: `notify` alone (list the \
                 topic there too: {topicArn: <arn>, format: text}), or `topicArn` alone for one \
                 `text` target",
            ),
            (
                "empty",
                &[("notify", Some("[]"))],
                "12:13: notify: must list at least one target; expected a list like [{topicArn: \
                 arn:aws:sns:...:alerts, format: json}] (format: text, json or chat; default text)",
            ),
            (
                "not a list",
                &[("notify", Some(OPS))],
                "12:13: notify: expected a list like [{topicArn: arn:aws:sns:...:alerts, format: json}] \
                 (format: text, json or chat; default text), got the string \
                 \"arn:aws:sns:us-east-1:123456789012:ops\"",
            ),
            (
                "entry not a mapping",
                &[("notify", Some(&format!("[{OPS}]")))],
                "12:14: notify[0]: expected a mapping of topicArn and format, got the string \
                 \"arn:aws:sns:us-east-1:123456789012:ops\"",
            ),
            (
                "bad arn",
                &[(
                    "notify",
                    Some("[{topicArn: 'arn:aws:sqs:us-east-1:123456789012:q'}]"),
                )],
                "12:25: notify[0].topicArn: `arn:aws:sqs:us-east-1:123456789012:q` is not an SNS topic ARN \
                 (the service is `sqs`, not `sns`); expected arn:aws:sns:<region>:<12-digit \
                 account>:<topic name>",
            ),
            (
                "bad format",
                &[(
                    "notify",
                    Some(&format!("[{{topicArn: {OPS}, format: html}}]")),
                )],
                "12:73: notify[0].format: `html` is not a valid format; allowed: text, json, chat",
            ),
            (
                "format typo",
                &[(
                    "notify",
                    Some(&format!("[{{topicArn: {OPS}, fromat: json}}]")),
                )],
                "12:65: notify[0].fromat: unknown field `fromat` (did you mean `format`?); allowed: \
                 topicArn, format",
            ),
            (
                "missing arn",
                &[("notify", Some("[{format: json}]"))],
                "12:14: notify[0].topicArn: required; the ARN of the SNS topic to publish to",
            ),
            // A misspelt topicArn is one error, not also "required".
            (
                "arn typo",
                &[("notify", Some(&format!("[{{topicarn: {OPS}}}]")))],
                "12:15: notify[0].topicarn: unknown field `topicarn` (did you mean `topicArn`?); allowed: \
                 topicArn, format",
            ),
            (
                "duplicate",
                &[(
                    "notify",
                    Some(&format!(
                        "[{{topicArn: {OPS}}}, {{topicArn: {OPS}, format: json}}]"
                    )),
                )],
                "12:77: notify[1].topicArn: `arn:aws:sns:us-east-1:123456789012:ops` is already the topic \
                 of notify[0]; list each topic once, in one format",
            ),
        ];
        for (case, changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [{
                    let (at, expected) = expected.split_once(' ').unwrap();
                    format!("{SOURCE}:{at} rules[0] (cpu-high): {expected}")
                }],
                "{case}; document:\n{doc}"
            );
        }

        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {OPS}\n  notify: [{{topicArn: {CHAT}}}]\n\
             rules:\n- {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n"
        );
        let lines = error_lines(&doc, &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "rules.yaml:5:11: defaults.notify: `topicArn` and `notify` are both set; use one:"
            ),
            "{lines:?}"
        );
    }
}
