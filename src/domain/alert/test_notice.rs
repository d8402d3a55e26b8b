//! The test notice of `lightsail-alerts test-alert` (SPEC §16): a placeholder rule and
//! evaluation, rendered by [`render`] as a [`Notice::Test`], so that it reaches each
//! target exactly as an alert would: its format, subject, attributes and FIFO ids.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Alert, render};
use crate::domain::catalog::{
    Comparison, MetricName, ResourceType, Severity, Statistic, TreatMissingData, Unit,
};
use crate::domain::evaluate::{AlarmState, Evaluation};
use crate::domain::rule::{Destination, Rule};
use crate::domain::select::{Selection, Selector};
use crate::domain::transition::{Notice, Policy};

/// The `rule` of a test notice (its `rule` attribute, the rule of its json document).
const TEST_RULE: &str = "test-alert";
/// The resource a test notice names where a format needs one: none is evaluated.
const TEST_RESOURCE: &str = "test-alert";
/// What every format says a test notice is.
const DESCRIPTION: &str = "A test notice sent by `lightsail-alerts test-alert` to check that \
     alerts published to this topic reach its subscribers and pass their filter policies. \
     Nothing was evaluated and nothing is wrong.";
const REASON: &str = "Test notice: no metric was evaluated.";

/// The test notice for each target, in the target's format, sent at `at`, with
/// `severity` as its severity (the attribute filter policies route on). Its region (the
/// `region` attribute) is the topic's.
pub fn test_notices(targets: &[Destination], severity: Severity, at: DateTime<Utc>) -> Vec<Alert> {
    let evaluation = Evaluation {
        // Not shown: a test notice shows TEST for its state.
        state: AlarmState::InsufficientData,
        reason: REASON.to_owned(),
        datapoints: Vec::new(),
        range_end: at,
    };
    targets
        .iter()
        .flat_map(|target| {
            let region = target.topic_arn.region();
            let rule = placeholder(target, severity);
            render(
                &rule,
                region,
                TEST_RESOURCE,
                &evaluation,
                at,
                Notice::Test,
                None,
            )
        })
        .collect()
}

/// A rule whose one destination is `target`. The json document has every rule field, so
/// they are filled with the values of a plausible status check rule; the document's
/// `state` (TEST) and `description` say it is a test.
fn placeholder(target: &Destination, severity: Severity) -> Rule {
    let policy = Policy::default();
    Rule {
        name: TEST_RULE.parse().expect("test-alert is a valid rule name"),
        description: Some(DESCRIPTION.to_owned()),
        resource_type: ResourceType::Instance,
        selection: Selection {
            resources: vec![Selector::Name(TEST_RESOURCE.to_owned())],
            exclude: Vec::new(),
            tags: BTreeMap::new(),
            states: None,
        },
        metric: MetricName::StatusCheckFailed,
        statistic: Statistic::Maximum,
        unit: Unit::Count,
        period: 60,
        comparison: Comparison::GreaterThanThreshold,
        threshold: 0.0,
        recovery_threshold: None,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        treat_missing_data: TreatMissingData::Missing,
        severity,
        notify_on: policy.notify_on,
        renotify_minutes: policy.renotify_minutes,
        regions: vec![target.topic_arn.region().to_owned()],
        destinations: vec![target.clone()],
        inhibited_by: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::Format;

    fn target(topic: &str, format: Format) -> Destination {
        Destination {
            topic_arn: topic.parse().unwrap(),
            format,
        }
    }

    fn at() -> DateTime<Utc> {
        "2026-11-24T13:05:00.123456789Z".parse().unwrap()
    }

    fn notices() -> Vec<Alert> {
        let targets = [
            target("arn:aws:sns:eu-west-1:123456789012:ops-mail", Format::Text),
            target("arn:aws:sns:us-east-1:123456789012:machines", Format::Json),
            target("arn:aws:sns:us-east-1:123456789012:slack", Format::Chat),
            target(
                "arn:aws:sns:us-east-1:123456789012:pager.fifo",
                Format::Text,
            ),
        ];
        test_notices(&targets, Severity::Info, at())
    }

    #[test]
    fn each_target_gets_one_test_notice_in_its_format_marked_test() {
        let alerts = notices();
        let sent: Vec<(&str, Format)> = alerts
            .iter()
            .map(|a| (a.topic_arn.name(), a.format))
            .collect();
        assert_eq!(
            sent,
            [
                ("ops-mail", Format::Text),
                ("machines", Format::Json),
                ("slack", Format::Chat),
                ("pager.fifo", Format::Text)
            ]
        );
        for alert in &alerts {
            assert_eq!(
                alert.subject,
                "[TEST] test-alert: a test notice from lightsail-alerts"
            );
            let attributes: Vec<(&str, &str)> = alert
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                attributes,
                [
                    ("format", alert.format.as_str()),
                    ("region", alert.topic_arn.region()),
                    ("rule", "test-alert"),
                    ("severity", "info"),
                    ("state", "TEST"),
                ]
            );
        }
    }

    #[test]
    fn every_format_says_it_is_a_test_and_shows_no_condition() {
        let alerts = notices();
        let text = &alerts[0].message;
        assert!(
            text.starts_with("TEST: a test notice from lightsail-alerts\n"),
            "{text}"
        );
        for expected in [
            "Nothing was evaluated and nothing is wrong.",
            "Rule:        test-alert",
            "Severity:    info",
            "State:       TEST",
            "Region:      eu-west-1",
            "Sent:        2026-11-24T13:05:00Z",
        ] {
            assert!(text.contains(expected), "{expected}:\n{text}");
        }
        assert!(
            !text.contains("Condition") && !text.contains("Datapoints"),
            "{text}"
        );

        let json: serde_json::Value = serde_json::from_str(&alerts[1].message).unwrap();
        assert_eq!(json["state"], "TEST");
        assert_eq!(json["rule"], "test-alert");
        assert_eq!(json["severity"], "info");
        assert_eq!(json["region"], "us-east-1");
        assert_eq!(json["previousState"], serde_json::Value::Null);
        assert_eq!(json["datapoints"], serde_json::json!([]));
        assert_eq!(json["evaluatedAt"], "2026-11-24T13:05:00Z");
        assert!(
            json["description"]
                .as_str()
                .unwrap()
                .contains("lightsail-alerts test-alert")
        );

        let chat: serde_json::Value = serde_json::from_str(&alerts[2].message).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(
            chat["content"]["title"],
            "[TEST] test-alert: a test notice from lightsail-alerts"
        );
        assert_eq!(chat["metadata"]["eventType"], "TEST");
        assert_eq!(chat["content"]["keywords"][0], "TEST");
        let description = chat["content"]["description"].as_str().unwrap();
        assert!(description.starts_with("*TEST*"), "{description}");
        assert!(!description.contains("Condition"), "{description}");
    }

    #[test]
    fn fifo_topics_get_ids_and_a_second_test_is_not_a_duplicate() {
        let alerts = notices();
        let fifo = &alerts[3];
        assert_eq!(
            fifo.message_group_id.as_deref(),
            Some("test-alert#test-alert")
        );
        let id = fifo.message_deduplication_id.clone().unwrap();
        assert_eq!(id.len(), 64);
        assert!(alerts[..3].iter().all(|a| a.message_group_id.is_none()));
        let target = target(
            "arn:aws:sns:us-east-1:123456789012:pager.fifo",
            Format::Text,
        );
        let later = test_notices(
            &[target],
            Severity::Info,
            at() + chrono::TimeDelta::nanoseconds(1),
        );
        assert_ne!(
            later[0].message_deduplication_id.as_deref(),
            Some(id.as_str())
        );
    }

    #[test]
    fn the_severity_is_the_one_asked_for() {
        let target = target("arn:aws:sns:us-east-1:123456789012:pager", Format::Json);
        let alerts = test_notices(&[target], Severity::Critical, at());
        assert_eq!(alerts[0].attributes["severity"], "critical");
        let json: serde_json::Value = serde_json::from_str(&alerts[0].message).unwrap();
        assert_eq!(json["severity"], "critical");
    }
}
