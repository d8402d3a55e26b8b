//! Rendering alerts (SPEC §5, §9): one SNS `Publish` per destination of a rule, with its
//! subject, message in the destination's format, attributes and FIFO ids; the digests
//! that carry many of one run's alerts to one target in one message (SPEC §16, `digest`);
//! and the test notice of `test-alert` (SPEC §16), rendered the same way.

mod chat;
mod digest;
mod format;
mod json;
mod test_notice;
mod text;

pub use digest::{DIGEST_VERSION, Digest, Summary, digests};
pub use format::{console_url, headline};
pub use json::{JSON_SOURCE, JSON_VERSION};
pub use test_notice::test_notices;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::domain::catalog::{Format, ResourceType};
use crate::domain::evaluate::Evaluation;
use crate::domain::rule::{Rule, TopicArn};
use crate::domain::time;
use crate::domain::transition::{Held, Notice, TEST_STATE};
use format::AlertFacts;

/// SNS rejects subjects of 100 characters or more.
const MAX_SUBJECT: usize = 99;
/// SNS FIFO `MessageGroupId` and `MessageDeduplicationId` limit.
const MAX_FIFO_ID: usize = 128;
/// SNS refuses a publish whose message and attributes together exceed 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// One SNS `Publish`, fully rendered. In a dry run it goes into the report instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub topic_arn: TopicArn,
    /// How `message` is rendered for this topic.
    pub format: Format,
    pub subject: String,
    pub message: String,
    pub attributes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// What a digest lists of this alert, should it go in one; `None` on a digest.
    #[serde(skip)]
    pub summary: Option<Arc<Summary>>,
}

/// Renders the alerts for one rule, resource and evaluation: one per destination of the
/// rule, each in its destination's format, with the same subject, attributes and ids.
/// `released` is the hold a released notice was held by (SPEC §16): every format says
/// so; it changes neither the subject nor the ids.
pub fn render(
    rule: &Rule,
    region: &str,
    resource: &str,
    evaluation: &Evaluation,
    evaluated_at: DateTime<Utc>,
    notice: Notice,
    released: Option<&Held>,
) -> Vec<Alert> {
    let test = notice == Notice::Test;
    let state = if test {
        TEST_STATE
    } else {
        evaluation.state.as_str()
    };
    // Also the FIFO deduplication id: the same alert, retried, is the same message.
    // A reminder always covers a newer range than the notice before it, so it gets its
    // own id without a part of its own. A test notice is new each time it is sent (to
    // the nanosecond): SNS must not drop a second test as a duplicate of the first.
    let range = if test {
        evaluation
            .range_end
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    } else {
        time::rfc3339(evaluation.range_end)
    };
    let id = hex_sha256(&[rule.name.as_str(), region, resource, state, &range]);
    let subject = if test {
        sns_subject(&format::test_headline(rule))
    } else {
        format::headline_within(
            rule,
            resource,
            evaluation.state,
            notice.reminder_since().is_some(),
            MAX_SUBJECT,
            sns_subject,
        )
    };
    let facts = AlertFacts {
        rule,
        region,
        resource,
        evaluation,
        evaluated_at,
        previous_state: notice.previous_state(),
        reminder_since: notice.reminder_since(),
        id: &id,
        test,
        released: released.filter(|_| !test),
    };
    let summary = Arc::new(Summary::of(&facts));
    rule.destinations
        .iter()
        .map(|destination| {
            // `instance` stays on instance alerts, for the filter policies written
            // before SPEC §11; `resourceType` and `resource` are on every alert. A test
            // notice is about no resource and no metric: it has neither attribute.
            let instance = (rule.resource_type == ResourceType::Instance && !test)
                .then_some(("instance", resource));
            let about = (!test).then_some([
                ("resourceType", rule.resource_type.as_str()),
                ("resource", resource),
                ("metric", rule.metric.as_str()),
            ]);
            let attributes: BTreeMap<String, String> = [
                ("severity", rule.severity.as_str()),
                ("rule", rule.name.as_str()),
                ("state", state),
                ("region", region),
                ("format", destination.format.as_str()),
            ]
            .into_iter()
            .chain(about.into_iter().flatten())
            .chain(instance)
            .map(|(k, v)| (k.to_owned(), sns_text(v)))
            .collect();
            let limit = MAX_MESSAGE_BYTES.saturating_sub(envelope_size(&subject, &attributes));
            // `sns_text` only ever replaces a character by a shorter one: still in the limit.
            let message = sns_text(&format::message(destination.format, &facts, limit));
            let (message_group_id, message_deduplication_id) = if destination.topic_arn.is_fifo() {
                (
                    Some(fifo_group_id(rule.name.as_str(), resource)),
                    Some(id.clone()),
                )
            } else {
                (None, None)
            };
            Alert {
                topic_arn: destination.topic_arn.clone(),
                format: destination.format,
                subject: subject.clone(),
                message,
                attributes,
                message_group_id,
                message_deduplication_id,
                summary: Some(summary.clone()),
            }
        })
        .collect()
}

/// What SNS counts against its 256 KB limit: the message, and the envelope.
pub fn publish_size(alert: &Alert) -> usize {
    alert.message.len() + envelope_size(&alert.subject, &alert.attributes)
}

/// The subject and the attributes (name, type, value) count against the limit too;
/// counting them all leaves a margin.
fn envelope_size(subject: &str, attributes: &BTreeMap<String, String>) -> usize {
    subject.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum::<usize>()
}

/// Replaces what SNS refuses in a subject (one character for one) and truncates with
/// `...`.
pub fn sns_subject(raw: &str) -> String {
    let safe: String = raw
        .chars()
        .map(|c| match c {
            c if c.is_ascii_control() || c.is_control() => ' ',
            c if c.is_ascii() => c,
            _ => '?',
        })
        .collect();
    if safe.len() <= MAX_SUBJECT {
        safe
    } else {
        format!("{}...", &safe[..MAX_SUBJECT - 3])
    }
}

/// SNS takes message bodies and attribute values as XML text: a character XML does not
/// allow (most control characters) fails the whole publish, so it becomes `?`.
pub fn sns_text(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => '?',
            c => c,
        })
        .collect()
}

/// Characters outside ASCII 33..=126 are percent-encoded; `%` too, so the encoding
/// cannot collide with a name that contains a literal `%XX`.
const GROUP_ID_ESCAPES: &AsciiSet = &CONTROLS.add(b' ').add(b'%');

fn fifo_group_id(rule: &str, resource: &str) -> String {
    let id = utf8_percent_encode(&format!("{rule}#{resource}"), GROUP_ID_ESCAPES).to_string();
    if id.len() <= MAX_FIFO_ID {
        id
    } else {
        hex_sha256(&[rule, resource])
    }
}

/// A stable hash of the parts, separated so that ("ab", "c") and ("a", "bc") differ.
fn hex_sha256(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluate::{self, AlarmState, Datapoint};
    use crate::rules::{self, Fallbacks};

    /// The rule and evaluation every golden file is rendered from.
    const GOLDEN_RULES: &str = r#"
version: 1
rules:
  - name: burst-capacity-low
    description: CPU burst capacity is running out
    instances: [web-1]
    metric: BurstCapacityPercentage
    comparison: LessThanThreshold
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 2
    severity: critical
    region: us-east-1
    notify:
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:ops-mail"}
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:machines", format: json}
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:slack", format: chat}
"#;

    pub(super) fn golden_rule() -> Rule {
        let rules = rules::parse(GOLDEN_RULES, "golden", &Fallbacks::default()).unwrap();
        rules.rules.into_iter().next().unwrap()
    }

    pub(super) fn at() -> DateTime<Utc> {
        "2026-11-24T13:05:00Z".parse().unwrap()
    }

    pub(super) fn golden_evaluation(rule: &Rule) -> Evaluation {
        let t = at();
        let points: Vec<Datapoint> = [45.0, 38.5, 25.5, 18.2, 12.0]
            .iter()
            .enumerate()
            .map(|(i, &value)| Datapoint {
                timestamp: t - chrono::TimeDelta::seconds(300 * (5 - i as i64)),
                value,
            })
            .collect();
        evaluate::evaluate(&rule.criteria(), &points, t, None)
    }

    /// The alerts for web-1 in us-east-1.
    fn render_web_1(
        rule: &Rule,
        evaluation: &Evaluation,
        t: DateTime<Utc>,
        notice: Notice,
    ) -> Vec<Alert> {
        render(rule, "us-east-1", "web-1", evaluation, t, notice, None)
    }

    fn golden_alerts() -> Vec<Alert> {
        let rule = golden_rule();
        let evaluation = golden_evaluation(&rule);
        assert_eq!(evaluation.state, AlarmState::Alarm);
        render_web_1(&rule, &evaluation, at(), Notice::first(AlarmState::Alarm))
    }

    /// Compares `actual` with the golden file at `path` (from the crate root; its text is
    /// `expected`). When the output changes on purpose, `UPDATE_GOLDEN=1 cargo test golden`
    /// rewrites the files; review the diff before committing it.
    pub(super) fn golden(path: &str, expected: &str, actual: &str) {
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            std::fs::write(file, actual).unwrap();
            return;
        }
        assert!(
            actual == expected,
            "{path} differs from the rendered alert (UPDATE_GOLDEN=1 cargo test golden \
             rewrites it if the change is intended):\n--- rendered\n{actual}\n--- golden\n{expected}"
        );
    }

    #[test]
    fn reminders_and_recoveries_say_what_they_are_in_every_format() {
        let rule = golden_rule();
        let evaluation = golden_evaluation(&rule);
        let since = at() - chrono::TimeDelta::minutes(45);
        let reminder = Notice::Reminder { since };
        let alerts = render_web_1(&rule, &evaluation, at(), reminder);
        for alert in &alerts {
            assert!(alert.subject.ends_with(" (reminder)"), "{}", alert.subject);
        }
        let by_format = |f: Format| alerts.iter().find(|a| a.format == f).unwrap();
        assert!(
            by_format(Format::Text)
                .message
                .contains("Reminder:    still in ALARM, since 2026-11-24T12:20:00Z (45 min)"),
            "{}",
            by_format(Format::Text).message
        );
        let json: serde_json::Value =
            serde_json::from_str(&by_format(Format::Json).message).unwrap();
        assert_eq!(json["reminderSince"], "2026-11-24T12:20:00Z");
        assert_eq!(json["previousState"], "ALARM");
        let chat: serde_json::Value =
            serde_json::from_str(&by_format(Format::Chat).message).unwrap();
        assert!(
            chat["content"]["title"]
                .as_str()
                .unwrap()
                .ends_with("(reminder)"),
            "{chat:#}"
        );
    }

    /// A hold that ended: `by` since 13:00.
    pub(super) fn held(by: &str, to: AlarmState) -> Held {
        Held {
            from: Some(AlarmState::Ok),
            to,
            since: "2026-11-24T13:00:00Z".parse().unwrap(),
            by: by.to_owned(),
        }
    }

    #[test]
    fn a_released_notice_says_what_held_it_in_every_format_and_keeps_its_ids() {
        let rule = golden_rule();
        let evaluation = golden_evaluation(&rule);
        let notice = Notice::Transition {
            from: Some(AlarmState::Ok),
            to: AlarmState::Alarm,
        };
        let silence = held("silence deploys", AlarmState::Alarm);
        let plain = render_web_1(&rule, &evaluation, at(), notice);
        let released = render(
            &rule,
            "us-east-1",
            "web-1",
            &evaluation,
            at(),
            notice,
            Some(&silence),
        );
        for (plain, released) in plain.iter().zip(&released) {
            assert_eq!(released.subject, plain.subject, "the subject is the same");
            assert_eq!(released.attributes, plain.attributes);
            assert_eq!(
                released.message_deduplication_id,
                plain.message_deduplication_id
            );
            assert_eq!(
                released.summary.as_ref().unwrap().id,
                plain.summary.as_ref().unwrap().id
            );
        }
        let message = |alerts: &[Alert], f: Format| {
            alerts
                .iter()
                .find(|a| a.format == f)
                .unwrap()
                .message
                .clone()
        };
        let text = message(&released, Format::Text);
        let line = "Held:        by silence deploys since 2026-11-24T13:00:00Z; sent when it ended";
        assert!(
            text.contains(&format!(
                "State:       ALARM\nPrevious:    OK\n{line}\nSeverity:"
            )),
            "{text}"
        );
        assert!(!message(&plain, Format::Text).contains("Held:"));

        let json: serde_json::Value =
            serde_json::from_str(&message(&released, Format::Json)).unwrap();
        assert_eq!(
            json["held"],
            serde_json::json!({"by": "silence deploys", "since": "2026-11-24T13:00:00Z"})
        );
        let plain_json: serde_json::Value =
            serde_json::from_str(&message(&plain, Format::Json)).unwrap();
        assert!(plain_json["held"].is_null() && plain_json.get("held").is_some());
        assert_eq!(json["id"], plain_json["id"], "one notice, one id");

        let chat: serde_json::Value =
            serde_json::from_str(&message(&released, Format::Chat)).unwrap();
        let description = chat["content"]["description"].as_str().unwrap();
        assert!(
            description.contains(
                "\n*Held* by silence deploys since 2026-11-24T13:00:00Z; sent when it ended\n"
            ),
            "{description}"
        );
        assert_eq!(chat["id"], plain_json["id"]);
        assert!(!message(&plain, Format::Chat).contains("*Held*"));

        // An inhibition, on a released recovery.
        let mut recovered = evaluation.clone();
        recovered.state = AlarmState::Ok;
        let inhibition = held("inhibited by status-check-failed", AlarmState::Ok);
        let recovery = Notice::Transition {
            from: Some(AlarmState::Alarm),
            to: AlarmState::Ok,
        };
        let alerts = render(
            &rule,
            "us-east-1",
            "web-1",
            &recovered,
            at(),
            recovery,
            Some(&inhibition),
        );
        let text = message(&alerts, Format::Text);
        assert!(
            text.contains(
                "Previous:    ALARM (recovered)\nHeld:        while inhibited by \
                 status-check-failed since 2026-11-24T13:00:00Z; sent when it ended\n"
            ),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&message(&alerts, Format::Json)).unwrap();
        assert_eq!(json["held"]["by"], "inhibited by status-check-failed");
    }

    #[test]
    fn golden_text_alert() {
        let alerts = golden_alerts();
        assert_eq!(alerts[0].format, Format::Text);
        golden(
            "tests/golden/alert.text.txt",
            include_str!("../../../tests/golden/alert.text.txt"),
            &alerts[0].message,
        );
    }

    #[test]
    fn golden_json_alert() {
        let alerts = golden_alerts();
        assert_eq!(alerts[1].format, Format::Json);
        golden(
            "tests/golden/alert.json.json",
            include_str!("../../../tests/golden/alert.json.json"),
            &alerts[1].message,
        );
        // The documented example is the same alert, so it cannot drift from the code.
        golden(
            "examples/alert.json",
            include_str!("../../../examples/alert.json"),
            &format!("{}\n", alerts[1].message),
        );
    }

    #[test]
    fn golden_chat_alert() {
        let alerts = golden_alerts();
        assert_eq!(alerts[2].format, Format::Chat);
        golden(
            "tests/golden/alert.chat.json",
            include_str!("../../../tests/golden/alert.chat.json"),
            &alerts[2].message,
        );
    }

    #[test]
    fn every_target_gets_its_format_with_the_same_subject_and_attributes() {
        let alerts = golden_alerts();
        let topics: Vec<(&str, Format)> = alerts
            .iter()
            .map(|a| (a.topic_arn.name(), a.format))
            .collect();
        assert_eq!(
            topics,
            [
                ("ops-mail", Format::Text),
                ("machines", Format::Json),
                ("slack", Format::Chat)
            ]
        );
        for alert in &alerts {
            assert_eq!(
                alert.subject,
                "[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20"
            );
            assert_eq!(alert.attributes["format"], alert.format.as_str());
            assert_eq!(alert.attributes["severity"], "critical");
            assert_eq!(alert.attributes["resourceType"], "Instance");
            assert_eq!(alert.attributes["resource"], "web-1");
            assert_eq!(alert.attributes["instance"], "web-1");
            assert_eq!(alert.attributes.len(), 9);
        }
    }

    /// The fields `schemas/alert-v1.schema.json` requires, with their JSON types.
    const JSON_REQUIRED: &[(&str, &str)] = &[
        ("version", "string"),
        ("source", "string"),
        ("id", "string"),
        ("state", "string"),
        ("previousState", "null"),
        ("reminderSince", "null"),
        ("held", "null"),
        ("rule", "string"),
        ("description", "string"),
        ("severity", "string"),
        ("resourceType", "string"),
        ("resource", "string"),
        ("instance", "string"),
        ("region", "string"),
        ("metric", "string"),
        ("statistic", "string"),
        ("unit", "string"),
        ("period", "integer"),
        ("comparison", "string"),
        ("threshold", "number"),
        ("evaluationPeriods", "integer"),
        ("datapointsToAlarm", "integer"),
        ("treatMissingData", "string"),
        ("reason", "string"),
        ("datapoints", "array"),
        ("datapointsOmitted", "integer"),
        ("evaluatedAt", "string"),
        ("rangeEnd", "string"),
        ("consoleUrl", "string"),
    ];

    fn json_type(value: &serde_json::Value) -> &'static str {
        match value {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "boolean",
            serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        }
    }

    #[test]
    fn the_json_document_has_every_documented_field_and_nothing_else() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/alert-v1.schema.json")).unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let documented: Vec<&str> = JSON_REQUIRED.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            required, documented,
            "the schema and this test list the same fields"
        );
        let example: serde_json::Value =
            serde_json::from_str(include_str!("../../../examples/alert.json")).unwrap();

        let alerts = golden_alerts();
        let document: serde_json::Value = serde_json::from_str(&alerts[1].message).unwrap();
        for doc in [&document, &example] {
            let object = doc.as_object().unwrap();
            for (field, kind) in JSON_REQUIRED {
                let value = object.get(*field).unwrap_or_else(|| panic!("no {field}"));
                assert_eq!(json_type(value), *kind, "{field}: {value}");
                let property = &schema["properties"][*field];
                assert!(property.is_object(), "{field} is documented in the schema");
            }
            assert_eq!(object.len(), JSON_REQUIRED.len(), "no undocumented field");
            for point in doc["datapoints"].as_array().unwrap() {
                assert_eq!(json_type(&point["timestamp"]), "string");
                assert!(point["value"].is_number() && point["breaching"].is_boolean());
            }
        }
        assert_eq!(document["version"], JSON_VERSION);
        assert_eq!(document["source"], "lightsail-alerts");
        assert_eq!(document["state"], "ALARM");
        assert_eq!(document["threshold"], 20.0);
        assert_eq!(document["datapoints"].as_array().unwrap().len(), 3);
        assert_eq!(document["id"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn the_chat_notification_follows_the_amazon_q_developer_schema() {
        let alerts = golden_alerts();
        let chat: serde_json::Value = serde_json::from_str(&alerts[2].message).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        assert_eq!(
            chat["metadata"]["threadId"],
            "burst-capacity-low#us-east-1#web-1"
        );
        for key in ["title", "description"] {
            assert!(chat["content"][key].is_string(), "{key}");
        }
        for key in ["nextSteps", "keywords"] {
            assert!(chat["content"][key].is_array(), "{key}");
        }
        let document: serde_json::Value = serde_json::from_str(&alerts[1].message).unwrap();
        assert_eq!(
            chat["id"], document["id"],
            "one alert, one id in every format"
        );
    }

    #[test]
    fn every_format_fits_in_256_kb_by_dropping_the_oldest_datapoints() {
        let rule = golden_rule();
        let end = at();
        let count = 20_000;
        let datapoints: Vec<Datapoint> = (0..count)
            .map(|i| Datapoint {
                timestamp: end - chrono::TimeDelta::seconds(60 * (count - i)),
                value: 10.0 + i as f64 / 1000.0,
            })
            .collect();
        let evaluation = Evaluation {
            state: AlarmState::Alarm,
            reason: "Threshold Crossed: many datapoints".to_owned(),
            datapoints: datapoints.clone(),
            range_end: end,
        };
        let newest = "29.999";
        let oldest = time::rfc3339(datapoints[0].timestamp);
        for alert in render_web_1(&rule, &evaluation, end, Notice::first(AlarmState::Alarm)) {
            let size = alert.message.len()
                + alert.subject.len()
                + alert
                    .attributes
                    .iter()
                    .map(|(k, v)| k.len() + 6 + v.len())
                    .sum::<usize>();
            assert!(size <= MAX_MESSAGE_BYTES, "{}: {size}", alert.format);
            assert!(
                size > MAX_MESSAGE_BYTES * 9 / 10 || alert.format == Format::Chat,
                "{}: only what must go is dropped ({size})",
                alert.format
            );
            assert!(
                alert.message.contains(newest),
                "{}: the newest datapoint is kept",
                alert.format
            );
            assert!(
                !alert.message.contains(&oldest),
                "{}: the oldest is dropped",
                alert.format
            );
            match alert.format {
                Format::Text => assert!(
                    alert
                        .message
                        .contains("older datapoint(s) omitted to fit the 256 KB SNS message limit"),
                    "{}",
                    &alert.message[..600]
                ),
                Format::Json => {
                    let doc: serde_json::Value = serde_json::from_str(&alert.message).unwrap();
                    let kept = doc["datapoints"].as_array().unwrap().len();
                    let omitted = doc["datapointsOmitted"].as_u64().unwrap() as usize;
                    assert!(kept > 0 && omitted > 0);
                    assert_eq!(kept + omitted, count as usize);
                }
                Format::Chat => {
                    let doc: serde_json::Value = serde_json::from_str(&alert.message).unwrap();
                    assert!(
                        doc["content"]["description"]
                            .as_str()
                            .unwrap()
                            .contains("19990 older datapoint(s) not shown")
                    );
                }
            }
        }
    }

    #[test]
    fn texts_too_long_even_without_datapoints_are_shortened() {
        let mut rule = golden_rule();
        rule.description = Some("é".repeat(200_000));
        let evaluation = golden_evaluation(&rule);
        for alert in render_web_1(&rule, &evaluation, at(), Notice::first(AlarmState::Alarm)) {
            assert!(alert.message.len() < MAX_MESSAGE_BYTES, "{}", alert.format);
            assert!(alert.message.contains("é..."), "{}", alert.format);
            if alert.format != Format::Text {
                serde_json::from_str::<serde_json::Value>(&alert.message).unwrap();
            }
        }
    }

    #[test]
    fn subjects_are_ascii_without_controls_and_at_most_99_characters() {
        assert_eq!(
            sns_subject("[ALARM] r: wéb\u{1}-1 CPU > 80"),
            "[ALARM] r: w?b -1 CPU > 80"
        );
        let long = format!("[ALARM] r: {} CPUUtilization > 80", "x".repeat(200));
        let s = sns_subject(&long);
        assert_eq!(s.len(), 99);
        assert!(s.ends_with("..."));
        let emoji = format!("[ALARM] r: {} > 1", "😀".repeat(120));
        let s = sns_subject(&emoji);
        assert!(s.is_ascii() && s.len() == 99, "{s}");
    }

    #[test]
    fn a_long_reminder_subject_keeps_its_state_and_marker_and_shortens_the_names() {
        let mut rule = golden_rule();
        rule.name = "r".repeat(64).parse().unwrap();
        let instance = "i".repeat(255);
        let evaluation = golden_evaluation(&rule);
        let reminder = Notice::Reminder { since: at() };
        for (notice, marker) in [
            (reminder, " (reminder)"),
            (Notice::first(AlarmState::Alarm), ""),
        ] {
            let alerts = render(
                &rule,
                "us-east-1",
                &instance,
                &evaluation,
                at(),
                notice,
                None,
            );
            let subject = &alerts[0].subject;
            assert!(subject.len() <= 99, "{subject}");
            assert!(subject.starts_with("[ALARM] rrr"), "{subject}");
            let tail = format!("BurstCapacityPercentage < 20{marker}");
            assert!(subject.ends_with(&tail), "{subject}");
            assert!(
                subject.contains("...: iii") && subject.contains("i... Burst"),
                "{subject}"
            );
        }
        // A short name keeps all of itself; the long one gives way.
        rule.name = "cpu".parse().unwrap();
        let alerts = render(
            &rule,
            "us-east-1",
            &instance,
            &evaluation,
            at(),
            reminder,
            None,
        );
        assert!(
            alerts[0].subject.starts_with("[ALARM] cpu: iii"),
            "{}",
            alerts[0].subject
        );
        assert!(alerts[0].subject.ends_with("(reminder)"));
    }

    #[test]
    fn message_text_keeps_lines_and_unicode_but_not_other_controls() {
        assert_eq!(sns_text("wéb-1\u{7}\n\tok\u{0}"), "wéb-1?\n\tok?");
    }

    #[test]
    fn fifo_group_ids_encode_what_sns_refuses_and_hash_when_too_long() {
        assert_eq!(fifo_group_id("cpu-high", "web-1"), "cpu-high#web-1");
        assert_eq!(fifo_group_id("cpu", "wéb 1%"), "cpu#w%C3%A9b%201%25");
        let long = fifo_group_id("cpu", &"é".repeat(40));
        assert_eq!(long.len(), 64);
        assert!(long.bytes().all(|b| (33..=126).contains(&b)));
    }

    #[test]
    fn dedup_hashes_keep_their_parts_apart() {
        assert_ne!(hex_sha256(&["ab", "c"]), hex_sha256(&["a", "bc"]));
        assert_eq!(hex_sha256(&["a"]), hex_sha256(&["a"]));
    }
}
