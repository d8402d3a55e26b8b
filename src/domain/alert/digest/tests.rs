//! Digests rendered: the golden digest of each format, attributes, FIFO ids, and the
//! split of a digest too large for one message.

use super::super::render;
use super::super::tests::{at, golden, golden_evaluation, golden_rule, held};
use super::*;
use crate::domain::evaluate::{Datapoint, Evaluation};
use crate::domain::rule::Rule;
use crate::domain::transition::{Held, Notice};

/// The golden rule's alerts for `resource`: `state` (ALARM, a reminder of one, or a
/// recovery), one per target (text, json, chat).
fn alerts_for(rule: &Rule, resource: &str, notice: Notice) -> Vec<Alert> {
    alerts_released(rule, resource, notice, None)
}

/// [`alerts_for`], of a notice held by `released` and sent now that it ended.
fn alerts_released(
    rule: &Rule,
    resource: &str,
    notice: Notice,
    released: Option<&Held>,
) -> Vec<Alert> {
    let mut evaluation = golden_evaluation(rule);
    if let Notice::Transition {
        to: AlarmState::Ok, ..
    } = notice
    {
        evaluation.state = AlarmState::Ok;
        evaluation.reason = "Threshold Crossed: 1 out of the last 3 datapoints [35.0 \
                             (2026-11-24T13:00:00Z)] was not less than the threshold (20.0)."
            .to_owned();
        for point in &mut evaluation.datapoints {
            point.value += 20.0;
        }
    }
    render(
        rule,
        "us-east-1",
        resource,
        &evaluation,
        at(),
        notice,
        released,
    )
}

/// Three alerts of the golden rule: web-3 recovered, web-2 in ALARM for the first
/// time, web-1 a reminder; listed out of order, as a run would meet them.
fn golden_alerts() -> Vec<Vec<Alert>> {
    let rule = golden_rule();
    let since = at() - chrono::TimeDelta::minutes(45);
    vec![
        alerts_for(
            &rule,
            "web-3",
            Notice::Transition {
                from: Some(AlarmState::Alarm),
                to: AlarmState::Ok,
            },
        ),
        alerts_for(
            &rule,
            "web-2",
            Notice::Transition {
                from: Some(AlarmState::Ok),
                to: AlarmState::Alarm,
            },
        ),
        alerts_for(&rule, "web-1", Notice::Reminder { since }),
    ]
}

/// The digest of the golden alerts for the target in `format`.
fn golden_digest(format: Format) -> Digest {
    let all = golden_alerts();
    let target: Vec<&Alert> = all
        .iter()
        .map(|alerts| alerts.iter().find(|a| a.format == format).unwrap())
        .collect();
    let mut digests = digests(&target);
    assert_eq!(digests.len(), 1, "three alerts are one digest");
    let digest = digests.remove(0);
    assert_eq!(digest.covers, [2, 1, 0], "ALARM first, the recovery last");
    digest
}

#[test]
fn golden_text_digest() {
    let digest = golden_digest(Format::Text);
    assert_eq!(
        digest.alert.subject,
        "[ALARM] 3 alerts: 2 ALARM, 1 OK (lightsail-alerts)"
    );
    golden(
        "tests/golden/digest.text.txt",
        include_str!("../../../../tests/golden/digest.text.txt"),
        &digest.alert.message,
    );
}

#[test]
fn golden_json_digest() {
    let digest = golden_digest(Format::Json);
    golden(
        "tests/golden/digest.json.json",
        include_str!("../../../../tests/golden/digest.json.json"),
        &digest.alert.message,
    );
    let document: serde_json::Value = serde_json::from_str(&digest.alert.message).unwrap();
    assert_eq!(document["type"], "digest");
    assert_eq!(document["count"], 3);
    assert_eq!(
        document["counts"],
        serde_json::json!({"ALARM": 2, "INSUFFICIENT_DATA": 0, "OK": 1})
    );
    // Each alert is its own document, as a single alert would have it.
    let all = golden_alerts();
    let single: serde_json::Value = serde_json::from_str(&all[0][1].message).unwrap();
    assert_eq!(document["alerts"][2], single);
    assert_eq!(document["alerts"][0]["resource"], "web-1");
}

#[test]
fn golden_chat_digest() {
    let digest = golden_digest(Format::Chat);
    golden(
        "tests/golden/digest.chat.json",
        include_str!("../../../../tests/golden/digest.chat.json"),
        &digest.alert.message,
    );
    let card: serde_json::Value = serde_json::from_str(&digest.alert.message).unwrap();
    assert_eq!(card["version"], "1.0");
    assert_eq!(card["source"], "custom");
    assert_eq!(card["content"]["textType"], "client-markdown");
    assert_eq!(
        card["content"]["title"],
        "[ALARM] 3 alerts: 2 ALARM, 1 OK (lightsail-alerts)"
    );
}

#[test]
fn a_digest_marks_the_notices_a_hold_released() {
    let rule = golden_rule();
    let alarm = Notice::Transition {
        from: Some(AlarmState::Ok),
        to: AlarmState::Alarm,
    };
    let recovery = Notice::Transition {
        from: Some(AlarmState::Alarm),
        to: AlarmState::Ok,
    };
    let silence = held("silence deploys", AlarmState::Alarm);
    let inhibition = held("inhibited by status-check-failed", AlarmState::Ok);
    let all = [
        alerts_released(&rule, "web-1", alarm, Some(&silence)),
        alerts_released(&rule, "web-2", recovery, Some(&inhibition)),
        alerts_for(&rule, "web-3", alarm),
    ];
    let digest = |format: Format| {
        let target: Vec<&Alert> = all
            .iter()
            .map(|alerts| alerts.iter().find(|a| a.format == format).unwrap())
            .collect();
        let mut digests = digests(&target);
        assert_eq!(digests.len(), 1);
        digests.remove(0).alert.message
    };
    let text = digest(Format::Text);
    for line in [
        "1. ALARM (held by silence deploys)  burst-capacity-low: instance \"web-1\"",
        "2. ALARM  burst-capacity-low: instance \"web-3\"",
        "3. OK (recovered; held while inhibited by status-check-failed)  burst-capacity-low: \
         instance \"web-2\"",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let card: serde_json::Value = serde_json::from_str(&digest(Format::Chat)).unwrap();
    let description = card["content"]["description"].as_str().unwrap();
    assert!(
        description.contains(
            "• *ALARM (held by silence deploys)* `burst-capacity-low` on instance `web-1`"
        ),
        "{description}"
    );
    assert!(description.contains("• *ALARM* `burst-capacity-low` on instance `web-3`"));
    let document: serde_json::Value = serde_json::from_str(&digest(Format::Json)).unwrap();
    assert_eq!(document["alerts"][0]["held"]["by"], "silence deploys");
    assert!(document["alerts"][1]["held"].is_null());
    assert_eq!(
        document["alerts"][2]["held"]["by"],
        "inhibited by status-check-failed"
    );
}

#[test]
fn a_digests_attributes_keep_filter_policies_working() {
    let digest = golden_digest(Format::Text);
    let attributes = &digest.alert.attributes;
    let expected: BTreeMap<String, String> = [
        ("count", "3"),
        ("digest", "true"),
        ("format", "text"),
        ("metric", "BurstCapacityPercentage"),
        ("region", "us-east-1"),
        ("resourceType", "Instance"),
        ("rule", "burst-capacity-low"),
        ("severity", "critical"),
        ("state", "ALARM"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(*attributes, expected, "no `resource`: the three differ");
    assert!(attributes.len() <= 10, "SNS allows ten attributes");

    // Of two rules, of different severities, all recovered.
    let mut other = golden_rule();
    other.name = "cpu-high".parse().unwrap();
    other.severity = Severity::Info;
    let recovery = Notice::Transition {
        from: Some(AlarmState::Alarm),
        to: AlarmState::Ok,
    };
    let a = alerts_for(&golden_rule(), "web-1", recovery);
    let b = alerts_for(&other, "web-1", recovery);
    let digest = &digests(&[&a[0], &b[0]])[0];
    let attributes = &digest.alert.attributes;
    assert_eq!(attributes["state"], "OK");
    assert_eq!(attributes["severity"], "critical", "the highest");
    assert_eq!(attributes["resource"], "web-1", "shared by both");
    assert!(!attributes.contains_key("rule"), "{attributes:?}");
    assert_eq!(
        digest.alert.subject,
        "[OK] 2 alerts: 2 OK (lightsail-alerts)"
    );
}

#[test]
fn one_alert_alone_is_itself_and_a_digest_passes_through() {
    let all = golden_alerts();
    let one = digests(&[&all[0][0]]);
    assert_eq!(one.len(), 1);
    assert!(one[0].is_single());
    assert_eq!(one[0].alert, all[0][0]);
    let digest = golden_digest(Format::Text).alert;
    let again = digests(&[&digest, &all[1][0]]);
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.covers.len() == 1));
    assert_eq!(again[0].alert, digest);
    assert!(digests(&[]).is_empty());
}

#[test]
fn fifo_digests_have_one_group_and_a_deduplication_id_of_what_they_carry() {
    let mut rule = golden_rule();
    for destination in &mut rule.destinations {
        destination.topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts.fifo"
            .parse()
            .unwrap();
    }
    let alarm = Notice::first(AlarmState::Alarm);
    let a = alerts_for(&rule, "web-1", alarm);
    let b = alerts_for(&rule, "web-2", alarm);
    let digest = &digests(&[&a[0], &b[0]])[0].alert;
    assert_eq!(digest.message_group_id.as_deref(), Some(DIGEST_GROUP_ID));
    let again = &digests(&[&b[0], &a[0]])[0].alert;
    assert_eq!(
        digest.message_deduplication_id, again.message_deduplication_id,
        "the same alerts, the same digest"
    );
    let other = &digests(&[&a[0], &a[0]])[0].alert;
    assert_ne!(
        digest.message_deduplication_id,
        other.message_deduplication_id
    );
}

/// `count` alerts of the golden rule, web-0000 on, each with `points` datapoints.
fn storm(count: usize, points: usize) -> Vec<Vec<Alert>> {
    let rule = golden_rule();
    let end = at();
    let datapoints: Vec<Datapoint> = (0..points)
        .map(|i| Datapoint {
            timestamp: end - chrono::TimeDelta::seconds(60 * (points - i) as i64),
            value: 10.0 + i as f64 / 1000.0,
        })
        .collect();
    let evaluation = Evaluation {
        state: AlarmState::Alarm,
        reason: "Threshold Crossed: many datapoints".to_owned(),
        datapoints,
        range_end: end,
    };
    (0..count)
        .map(|i| {
            render(
                &rule,
                "us-east-1",
                &format!("web-{i:04}"),
                &evaluation,
                end,
                Notice::first(AlarmState::Alarm),
                None,
            )
        })
        .collect()
}

#[test]
fn a_digest_too_large_for_one_message_is_split_into_parts_that_each_fit() {
    // 3,000 text alerts (about 400 bytes each) and 60 json documents of 300
    // datapoints (about 30 KB each): several parts each.
    for (format, count, points) in [(Format::Text, 3_000, 3), (Format::Json, 60, 300)] {
        let all = storm(count, points);
        let target: Vec<&Alert> = all
            .iter()
            .map(|alerts| alerts.iter().find(|a| a.format == format).unwrap())
            .collect();
        let digests = digests(&target);
        assert!(digests.len() > 1, "{format}: {}", digests.len());
        let parts = digests.len();
        let mut covered: Vec<usize> = Vec::new();
        for (i, digest) in digests.iter().enumerate() {
            let size = publish_size(&digest.alert);
            assert!(size <= MAX_MESSAGE_BYTES, "{format} part {i}: {size}");
            assert!(
                size > MAX_MESSAGE_BYTES / 2 || i == parts - 1,
                "{format} part {i} is filled: {size}"
            );
            let marker = format!("part {} of {parts})", i + 1);
            assert!(
                digest.alert.subject.ends_with(&marker),
                "{}",
                digest.alert.subject
            );
            assert_eq!(
                digest.alert.attributes["count"],
                digest.covers.len().to_string()
            );
            covered.extend(&digest.covers);
        }
        covered.sort_unstable();
        assert_eq!(
            covered,
            (0..count).collect::<Vec<_>>(),
            "{format}: each alert once"
        );
        if format == Format::Json {
            let document: serde_json::Value =
                serde_json::from_str(&digests[1].alert.message).unwrap();
            assert_eq!(document["part"], 2);
            assert_eq!(document["parts"], parts);
        } else {
            let first = digests[0].covers.len() + 1;
            assert!(
                digests[1]
                    .alert
                    .message
                    .contains(&format!("alerts {first} to ")),
                "text parts number their alerts on"
            );
        }
    }
}

#[test]
fn a_chat_digest_is_one_card_that_lists_what_fits_and_counts_the_rest() {
    let all = storm(500, 3);
    let target: Vec<&Alert> = all.iter().map(|alerts| &alerts[2]).collect();
    let digests = digests(&target);
    assert_eq!(digests.len(), 1);
    let card: serde_json::Value = serde_json::from_str(&digests[0].alert.message).unwrap();
    let description = card["content"]["description"].as_str().unwrap();
    assert!(
        description.chars().count() <= super::super::chat::MAX_CHAT_DESCRIPTION,
        "{}",
        description.chars().count()
    );
    let listed = description.lines().filter(|l| l.starts_with("• *")).count();
    assert!(listed > 10, "{listed}");
    assert!(
        description.ends_with(&format!(
            "• … and {} more, not shown here (the text and json formats list every one)",
            500 - listed
        )),
        "{description}"
    );
    assert_eq!(card["metadata"]["additionalContext"]["count"], "500");
    assert_eq!(
        card["metadata"]["relatedResources"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
}

#[test]
fn packing_fills_each_range_up_to_the_budget_and_never_leaves_one_empty() {
    assert_eq!(pack(&[3, 3, 3, 3], 6), [0..2, 2..4]);
    assert_eq!(pack(&[3, 3, 3], 7), [0..2, 2..3]);
    assert_eq!(pack(&[10, 1, 1], 5), [0..1, 1..3], "a large one goes alone");
    assert_eq!(pack(&[1, 10, 1], 5), [0..1, 1..2, 2..3]);
    assert_eq!(pack(&[2; 5], 100), vec![0..5]);
    assert!(pack(&[], 5).is_empty());
}

#[test]
fn a_tally_names_the_states_it_has_most_urgent_first() {
    let tally = Tally {
        alarm: 35,
        insufficient_data: 0,
        ok: 2,
    };
    assert_eq!(tally.words(), "35 ALARM, 2 OK");
    assert_eq!(tally.worst(), AlarmState::Alarm);
    assert_eq!(tally.count(), 37);
    let part = Part {
        number: 1,
        of: 1,
        first: 1,
    };
    assert_eq!(
        title(&tally, part),
        "[ALARM] 37 alerts: 35 ALARM, 2 OK (lightsail-alerts)"
    );
    let recovered = Tally {
        alarm: 0,
        insufficient_data: 0,
        ok: 25,
    };
    let second = Part {
        number: 2,
        of: 3,
        first: 11,
    };
    assert_eq!(
        title(&recovered, second),
        "[OK] 25 alerts: 25 OK (lightsail-alerts, part 2 of 3)"
    );
}
