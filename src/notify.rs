//! Rendering alerts (SPEC §5) and publishing them to SNS through an [`AlertSink`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;

use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sns::types::MessageAttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::evaluate::Evaluation;
use crate::rules::{Rule, TopicArn};
use crate::settings::RegionalClients;

/// SNS rejects subjects of 100 characters or more.
const MAX_SUBJECT: usize = 99;
/// SNS FIFO `MessageGroupId` and `MessageDeduplicationId` limit.
const MAX_FIFO_ID: usize = 128;

/// One SNS `Publish`, fully rendered. In a dry run it goes into the report instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub topic_arn: TopicArn,
    pub subject: String,
    pub message: String,
    pub attributes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
}

/// Renders the alert for one rule, instance and evaluation.
pub fn render(
    rule: &Rule,
    instance: &str,
    evaluation: &Evaluation,
    evaluated_at: DateTime<Utc>,
) -> Alert {
    let state = evaluation.state.as_str();
    let topic = &rule.topic_arn;
    let attributes = BTreeMap::from(
        [
            ("severity", rule.severity.as_str()),
            ("rule", rule.name.as_str()),
            ("instance", instance),
            ("metric", rule.metric.as_str()),
            ("state", state),
            ("region", rule.region.as_str()),
        ]
        .map(|(k, v)| (k.to_owned(), sns_text(v))),
    );
    let (message_group_id, message_deduplication_id) = if topic.is_fifo() {
        let group = fifo_group_id(rule.name.as_str(), instance);
        let dedup = hex_sha256(&[
            rule.name.as_str(),
            &rule.region,
            instance,
            state,
            &rfc3339(evaluation.range_end),
        ]);
        (Some(group), Some(dedup))
    } else {
        (None, None)
    };
    Alert {
        topic_arn: topic.clone(),
        subject: subject(rule, instance, evaluation),
        message: sns_text(&message(rule, instance, evaluation, evaluated_at)),
        attributes,
        message_group_id,
        message_deduplication_id,
    }
}

/// `[ALARM] <rule>: <instance> <metric> <op> <threshold>`, made safe for SNS: ASCII only,
/// no control characters, at most 99 characters.
fn subject(rule: &Rule, instance: &str, evaluation: &Evaluation) -> String {
    let raw = format!(
        "[{}] {}: {} {} {} {}",
        evaluation.state.as_str(),
        rule.name,
        instance,
        rule.metric,
        rule.comparison.symbol(),
        rule.threshold,
    );
    sns_subject(&raw)
}

/// Replaces what SNS refuses in a subject and truncates with `...`.
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

fn fifo_group_id(rule: &str, instance: &str) -> String {
    let id = utf8_percent_encode(&format!("{rule}#{instance}"), GROUP_ID_ESCAPES).to_string();
    if id.len() <= MAX_FIFO_ID {
        id
    } else {
        hex_sha256(&[rule, instance])
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

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What may not stand as is in one URL path segment.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The Lightsail console page with the instance's metric graphs.
pub fn console_url(region: &str, instance: &str) -> String {
    format!(
        "https://lightsail.aws.amazon.com/ls/webapp/{}/instances/{}/metrics",
        utf8_percent_encode(region, PATH_SEGMENT),
        utf8_percent_encode(instance, PATH_SEGMENT),
    )
}

fn message(
    rule: &Rule,
    instance: &str,
    evaluation: &Evaluation,
    evaluated_at: DateTime<Utc>,
) -> String {
    let state = evaluation.state.as_str();
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{state}: rule \"{}\" on instance \"{instance}\" ({})",
        rule.name, rule.region
    );
    let _ = writeln!(m);
    let _ = writeln!(m, "Rule:        {}", rule.name);
    if let Some(description) = &rule.description {
        let _ = writeln!(m, "Description: {description}");
    }
    let _ = writeln!(m, "Instance:    {instance}");
    let _ = writeln!(m, "Region:      {}", rule.region);
    let _ = writeln!(m, "State:       {state}");
    let _ = writeln!(m, "Severity:    {}", rule.severity);
    let _ = writeln!(
        m,
        "Condition:   {} {} {} {} for {} of {} period(s) of {} s; missing data treated as {}",
        rule.metric,
        rule.statistic,
        rule.comparison.symbol(),
        rule.threshold,
        rule.datapoints_to_alarm,
        rule.evaluation_periods,
        rule.period,
        rule.treat_missing_data,
    );
    let _ = writeln!(
        m,
        "Evaluated:   {} (most recent complete period ended {})",
        rfc3339(evaluated_at),
        rfc3339(evaluation.range_end)
    );
    let _ = writeln!(m, "Reason:      {}", evaluation.reason);
    let _ = writeln!(m);
    if evaluation.datapoints.is_empty() {
        let _ = writeln!(m, "Datapoints:  none");
    } else {
        let _ = writeln!(
            m,
            "Datapoints ({} {}, oldest first):",
            rule.metric, rule.statistic
        );
        for point in &evaluation.datapoints {
            let mark = if rule.comparison.breaches(point.value, rule.threshold) {
                "  breaching"
            } else {
                ""
            };
            let _ = writeln!(
                m,
                "  {}  {} {}{mark}",
                rfc3339(point.timestamp),
                point.value,
                rule.unit
            );
        }
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "Metrics:     {}", console_url(&rule.region, instance));
    let _ = write!(m, "Sent by lightsail-alerts.");
    m
}

/// Why an alert could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Publish to {topic_arn} failed: {message}")]
pub struct PublishError {
    pub topic_arn: String,
    pub message: String,
}

/// Where alerts go. One SDK implementation; a dry run publishes nothing.
pub trait AlertSink: Sync {
    /// Publishes and returns the SNS message id.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<String, PublishError>> + Send;
}

/// SNS through the AWS SDK, in the region named by each topic's ARN.
pub struct SnsSink {
    clients: RegionalClients<aws_sdk_sns::Client>,
}

impl SnsSink {
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self {
            clients: RegionalClients::new(config, |config, region| {
                let config = aws_sdk_sns::config::Builder::from(config)
                    .region(aws_sdk_sns::config::Region::new(region.to_owned()))
                    .build();
                aws_sdk_sns::Client::from_conf(config)
            }),
        }
    }
}

impl AlertSink for SnsSink {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let failed = |message: String| PublishError {
            topic_arn: alert.topic_arn.to_string(),
            message,
        };
        // A topic may live in another region than the function.
        let mut request = self
            .clients
            .get(alert.topic_arn.region())
            .publish()
            .topic_arn(alert.topic_arn.as_str())
            .subject(&alert.subject)
            .message(&alert.message)
            .set_message_group_id(alert.message_group_id.clone())
            .set_message_deduplication_id(alert.message_deduplication_id.clone());
        for (name, value) in &alert.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| failed(e.to_string()))?;
            request = request.message_attributes(name, value);
        }
        let output = request.send().await.map_err(|err| {
            failed(match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => DisplayErrorContext(&err).to_string(),
            })
        })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn console_links_escape_instance_names() {
        assert_eq!(
            console_url("us-east-1", "web 1"),
            "https://lightsail.aws.amazon.com/ls/webapp/us-east-1/instances/web%201/metrics"
        );
    }
}
