//! Faults isolated (SPEC §13, §9): hostile state items, items from the future, edited
//! periods, a recovery through INSUFFICIENT_DATA and per-target delivery, each through
//! the binary against a fake Lightsail and moto's SNS, SQS and DynamoDB, counting what
//! the subscribers receive.

use std::path::{Path, PathBuf};

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

const TABLE: &str = "alarm-state";
// The first evaluation time; run k evaluates at `T0 + k * 300`.
use crate::support::{T as T0, at, publishing_check, report_of};

struct Fleet {
    moto: Moto,
    fake: FakeLightsail,
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Option<Fleet> {
        let moto = Moto::start()?;
        moto.create_state_table(TABLE);
        Some(Fleet {
            moto,
            fake: FakeLightsail::start(),
            dir: tempfile::tempdir().unwrap(),
        })
    }

    /// CPUUtilization of `instance` at run k's age-1 period is `values[k]` (NaN: none).
    fn cpu(&self, instance: &str, values: &[f64]) {
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(k, v)| (T0 + k as i64 * 300 - 300, *v))
            .collect();
        self.fake
            .add_points(instance, "CPUUtilization", "Percent", &points);
    }

    /// A rules file: `cpu-high` (> 80) on `instances`, to `topics`, with `extra` lines.
    fn rules(&self, instances: &[&str], topics: &[&str], extra: &str) -> PathBuf {
        let path = self.dir.path().join("rules.yaml");
        let notify: Vec<String> = topics
            .iter()
            .map(|t| format!("{{topicArn: '{t}'}}"))
            .collect();
        std::fs::write(
            &path,
            format!(
                "version: 1\nrules:\n  - name: cpu-high\n    instances: [{}]\n    metric: CPUUtilization\n    comparison: '>'\n    threshold: 80\n    notify: [{}]\n{extra}",
                instances.join(", "),
                notify.join(", ")
            ),
        )
        .unwrap();
        path
    }

    /// Runs and expects exit `code`; the report.
    fn run(&self, rules: &Path, run: i64, code: i32) -> Value {
        report_of(
            &mut publishing_check(rules, &at(run), TABLE, &self.fake, &self.moto),
            code,
            &format!("run {run}"),
        )
    }

    fn put_item(&self, key: &str, attributes: &[(&str, AttributeValue)]) {
        let mut put = self
            .moto
            .dynamodb()
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S(key.into()));
        for (name, value) in attributes {
            put = put.item(*name, value.clone());
        }
        self.moto.block_on(put.send()).unwrap();
    }

    fn subjects(&self, queue: &str) -> Vec<String> {
        self.moto
            .receive_all(queue)
            .into_iter()
            .map(|d| d.subject.unwrap_or_default())
            .collect()
    }
}

fn result<'a>(report: &'a Value, instance: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == instance)
        .unwrap_or_else(|| panic!("no result for {instance}: {report:#}"))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

const ALARM_1: &str = "[ALARM] cpu-high: web-1 CPUUtilization > 80";
const ALARM_2: &str = "[ALARM] cpu-high: web-2 CPUUtilization > 80";

#[test]
fn an_unreadable_item_is_a_first_evaluation_for_its_key_alone() {
    let Some(f) = Fleet::new() else { return };
    let (topic, queue) = f.moto.topic_with_queue("alerts");
    f.cpu("web-1", &[95.0, 95.0]);
    f.cpu("web-2", &[95.0, 95.0]);
    let rules = f.rules(&["web-1", "web-2"], &[&topic], "");
    f.put_item(
        "cpu-high#us-east-1#web-1",
        &[
            ("state", s("SUPPRESSED")),
            ("version", AttributeValue::N("9".into())),
            ("changedAt", s("2026-11-24T12:00:00Z")),
            ("rangeEnd", s("2026-11-24T12:00:00Z")),
            ("reason", s("written by a future version")),
        ],
    );
    let report = f.run(&rules, 0, 0);
    let mut received = f.subjects(&queue);
    received.sort();
    assert_eq!(received, [ALARM_1, ALARM_2], "{report:#}");
    assert_eq!(result(&report, "web-1")["why"], "transition");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("cpu-high#us-east-1#web-1") && warnings.contains("SUPPRESSED"),
        "{warnings}"
    );
    // The write replaced it: the next run reads it and sends nothing new.
    let report = f.run(&rules, 1, 0);
    assert_eq!(result(&report, "web-1")["why"], "unchanged", "{report:#}");
    assert_eq!(report["warnings"], Value::Array(vec![]), "{report:#}");
    assert!(f.subjects(&queue).is_empty());
}

#[test]
fn an_item_from_the_future_does_not_silence_the_key() {
    let Some(f) = Fleet::new() else { return };
    let (topic, queue) = f.moto.topic_with_queue("alerts");
    f.cpu("web-1", &[95.0]);
    let rules = f.rules(&["web-1"], &[&topic], "");
    // What a run with `--at` 400 days ahead stored, before such runs were refused.
    let future = (chrono::Utc::now() + chrono::TimeDelta::days(400))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    f.put_item(
        "cpu-high#us-east-1#web-1",
        &[
            ("state", s("OK")),
            ("version", AttributeValue::N("3".into())),
            ("changedAt", s(&future)),
            ("rangeEnd", s(&future)),
            ("reason", s("from the future")),
        ],
    );
    let report = f.run(&rules, 0, 0);
    assert_eq!(result(&report, "web-1")["why"], "transition", "{report:#}");
    assert_eq!(f.subjects(&queue), [ALARM_1]);
    assert!(
        report["warnings"].to_string().contains("in the future"),
        "{report:#}"
    );
}

#[test]
fn a_rule_whose_period_changed_is_evaluated_not_discarded() {
    let Some(f) = Fleet::new() else { return };
    let (topic, queue) = f.moto.topic_with_queue("alerts");
    f.cpu("web-1", &[95.0, 20.0, 20.0]);
    // The hour before run 1's last complete hour (12:00-13:00).
    f.fake
        .add_points("web-1", "CPUUtilization", "Percent", &[(T0 - 3_900, 20.0)]);
    let rules = f.rules(&["web-1"], &[&topic], "");
    f.run(&rules, 0, 0);
    assert_eq!(f.subjects(&queue), [ALARM_1]);
    // The rule now looks at hours: its last complete period ended before the stored
    // range end, and it is OK.
    let hourly = f.rules(&["web-1"], &[&topic], "    period: 3600\n");
    let report = f.run(&hourly, 1, 0);
    let web_1 = result(&report, "web-1");
    assert_eq!(
        (&web_1["state"], &web_1["why"]),
        (&"OK".into(), &"transition".into()),
        "{report:#}"
    );
    assert_eq!(
        f.subjects(&queue),
        ["[OK] cpu-high: web-1 CPUUtilization > 80"]
    );
}

#[test]
fn alarm_then_insufficient_data_then_ok_sends_the_recovery() {
    let Some(f) = Fleet::new() else { return };
    let (topic, queue) = f.moto.topic_with_queue("alerts");
    // No data after run 0: ALARM -> INSUFFICIENT_DATA after N + 2 periods (run 4).
    let none = f64::NAN;
    f.cpu("web-1", &[95.0, none, none, none, none, 20.0]);
    let rules = f.rules(&["web-1"], &[&topic], "");
    f.run(&rules, 0, 0);
    let gap = f.run(&rules, 4, 0);
    let state = &result(&gap, "web-1")["state"];
    assert_eq!(state, "INSUFFICIENT_DATA", "{gap:#}");
    let back = f.run(&rules, 5, 0);
    assert_eq!(result(&back, "web-1")["why"], "transition", "{back:#}");
    let delivered = f.moto.receive_all(&queue);
    let subjects: Vec<&str> = delivered
        .iter()
        .map(|d| d.subject.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(
        subjects,
        [ALARM_1, "[OK] cpu-high: web-1 CPUUtilization > 80"]
    );
    assert!(
        delivered[1]
            .message
            .contains("Previous:    INSUFFICIENT_DATA, after ALARM (recovered)"),
        "{}",
        delivered[1].message
    );
}

#[test]
fn a_target_that_received_the_notice_does_not_receive_it_again() {
    let Some(f) = Fleet::new() else { return };
    let (mail, mail_queue) = f.moto.topic_with_queue("mail");
    // The pager topic does not exist yet for run 0: mail gets the ALARM, the run fails.
    let pager = mail.replace(":mail", ":pager");
    f.cpu("web-1", &[95.0, 95.0, 95.0]);
    let rules = f.rules(&["web-1"], &[&mail, &pager], "");
    let report = f.run(&rules, 0, 1);
    assert_eq!(report["published"], 1, "{report:#}");
    assert_eq!(f.subjects(&mail_queue), [ALARM_1]);
    // There for the retry (the same invocation again, then the next schedule): the
    // pager gets it once, mail not a second time.
    let (created, pager_queue) = f.moto.topic_with_queue("pager");
    assert_eq!(created, pager);
    let retry = f.run(&rules, 0, 0);
    assert_eq!(retry["published"], 1, "{retry:#}");
    assert_eq!(f.subjects(&pager_queue), [ALARM_1]);
    assert!(f.subjects(&mail_queue).is_empty(), "mail is not sent twice");
    let next = f.run(&rules, 1, 0);
    assert_eq!(result(&next, "web-1")["why"], "unchanged", "{next:#}");
    assert!(f.subjects(&mail_queue).is_empty() && f.subjects(&pager_queue).is_empty());
}
