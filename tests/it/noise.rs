//! Noise control (SPEC §16): silences from the rules, ad hoc and by tag, and inhibition,
//! through series of runs of the binary against a fake Lightsail and moto's SNS, SQS and
//! DynamoDB, counting exactly what a subscriber receives after each run.

use std::path::PathBuf;
use std::process::Output;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::{T as T0, at, command};
use serde_json::Value;

const TABLE: &str = "alarm-state";

/// web-1 in us-east-1, watched by `burst-low` (< 20) and whatever else the rules say.
struct Noise {
    moto: Moto,
    fake: FakeLightsail,
    topic: String,
    queue: String,
    dir: tempfile::TempDir,
}

impl Noise {
    fn new() -> Option<Noise> {
        let moto = Moto::start()?;
        moto.create_state_table(TABLE);
        let (topic, queue) = moto.topic_with_queue("noise");
        Some(Noise {
            moto,
            fake: FakeLightsail::start(),
            topic,
            queue,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    /// `metric` of web-1 at run k's age-1 period is `values[k]`.
    fn series(&self, metric: &str, unit: &str, values: &[f64]) {
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(k, v)| (T0 + k as i64 * 300 - 300, *v))
            .collect();
        self.fake.add_points("web-1", metric, unit, &points);
    }

    /// A rules file: `burst-low` on `instances` with `rule_extra` lines, then `rest`.
    fn rules(&self, instances: &str, rule_extra: &str, rest: &str) -> PathBuf {
        let path = self.dir.path().join("rules.yaml");
        std::fs::write(
            &path,
            format!(
                "version: 1\ndefaults:\n  topicArn: {}\nrules:\n  - name: burst-low\n    instances: {instances}\n    metric: BurstCapacityPercentage\n    comparison: LessThanThreshold\n    threshold: 20\n{rule_extra}{rest}",
                self.topic
            ),
        )
        .unwrap();
        path
    }

    fn command(&self) -> std::process::Command {
        let mut cmd = command();
        cmd.env("ALERT_STATE_TABLE", TABLE)
            .envs(self.fake.env())
            .envs(self.moto.env());
        cmd
    }

    fn check(&self, rules: &PathBuf, run: i64) -> Output {
        self.command()
            .args([
                "check",
                "--publish",
                "--output",
                "json",
                "--at",
                &at(run),
                "--rules",
            ])
            .arg(rules)
            .output()
            .unwrap()
    }

    /// Runs the check of run `run` (exit 0) and returns its report.
    fn run(&self, rules: &PathBuf, run: i64) -> Value {
        let out = self.check(rules, run);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The subjects the subscriber received since the last call.
    fn received(&self) -> Vec<String> {
        self.moto
            .receive_all(&self.queue)
            .into_iter()
            .map(|d| d.subject.unwrap_or_default())
            .collect()
    }
}

fn result<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no result of {rule}: {report:#}"))
}

const ALARM: &str = "[ALARM] burst-low: web-1 BurstCapacityPercentage < 20";
const RECOVERY: &str = "[OK] burst-low: web-1 BurstCapacityPercentage < 20";

/// A silence every day from 13:10 UTC for 15 minutes: runs 1, 2 and 3 (13:10, 13:15,
/// 13:20) are in it, run 4 (13:25) is not.
const DEPLOYS: &str = "silences:\n  - name: deploys\n    match: {rule: burst-low, resource: \"web-*\"}\n    schedule: {cron: \"10 13 * * *\", duration: 15m}\n    comment: the daily deploy drains the burst bucket\n";

/// Runs 0.. and what each gives: (state, why, subjects received).
type Expected<'a> = &'a [(&'a str, &'a str, &'a [&'a str])];

fn expect_runs(noise: &Noise, rules: &PathBuf, expected: Expected<'_>) -> Vec<Value> {
    let mut reports = Vec::new();
    for (run, (state, why, subjects)) in expected.iter().enumerate() {
        let report = noise.run(rules, run as i64);
        let burst = result(&report, "burst-low");
        assert_eq!(burst["state"], *state, "run {run}: {burst:#}");
        assert_eq!(burst["why"], *why, "run {run}: {burst:#}");
        assert_eq!(noise.received(), *subjects, "run {run}");
        reports.push(report);
    }
    reports
}

#[test]
fn an_alarm_in_a_cron_window_is_sent_once_after_it_if_still_alarm() {
    let Some(noise) = Noise::new() else { return };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 10.0, 10.0, 10.0, 10.0],
    );
    let rules = noise.rules("[web-1]", "", DEPLOYS);
    let reports = expect_runs(
        &noise,
        &rules,
        &[
            ("OK", "insufficientToOk", &[]),
            ("ALARM", "silenced", &[]), // 13:10: in the window, nothing received
            ("ALARM", "unchanged", &[]),
            ("ALARM", "unchanged", &[]),
            ("ALARM", "released", &[ALARM]), // 13:25: the window is over, sent once
            ("ALARM", "unchanged", &[]),
        ],
    );
    // The report names the silence while it holds.
    let held = &result(&reports[1], "burst-low")["heldBy"];
    assert_eq!(
        *held,
        serde_json::json!({
            "kind": "silence",
            "name": "deploys",
            "origin": "rules",
            "until": "2026-11-24T13:25:00Z",
            "comment": "the daily deploy drains the burst bucket",
        })
    );
    assert!(result(&reports[4], "burst-low").get("heldBy").is_none());
}

#[test]
fn an_alarm_that_recovers_in_a_cron_window_sends_nothing() {
    let Some(noise) = Noise::new() else { return };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 10.0, 50.0, 50.0, 50.0],
    );
    let rules = noise.rules("[web-1]", "", DEPLOYS);
    expect_runs(
        &noise,
        &rules,
        &[
            ("OK", "insufficientToOk", &[]),
            ("ALARM", "silenced", &[]),
            ("ALARM", "unchanged", &[]),
            ("OK", "insufficientToOk", &[]), // recovered in the window
            ("OK", "unchanged", &[]),        // neither the ALARM nor the OK after it
            ("OK", "unchanged", &[]),
        ],
    );
}

#[test]
fn a_recovery_in_a_cron_window_is_sent_after_it() {
    let Some(noise) = Noise::new() else { return };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[10.0, 10.0, 50.0, 50.0, 50.0],
    );
    let rules = noise.rules("[web-1]", "", DEPLOYS);
    expect_runs(
        &noise,
        &rules,
        &[
            ("ALARM", "transition", &[ALARM]), // paged before the window
            ("ALARM", "unchanged", &[]),
            ("OK", "silenced", &[]), // the recovery is held
            ("OK", "unchanged", &[]),
            ("OK", "released", &[RECOVERY]), // and closes the incident after the window
        ],
    );
}

/// `status` (web-1's status check failing, over 5 minutes) inhibits `burst-low`.
const STATUS: &str = "  - name: status\n    instances: [web-1]\n    metric: StatusCheckFailed\n    period: 300\n    comparison: GreaterThanThreshold\n    threshold: 0\n";

fn sorted(mut subjects: Vec<String>) -> Vec<String> {
    subjects.sort();
    subjects
}

#[test]
fn an_alarm_inhibited_by_a_failing_status_check_is_sent_when_the_check_recovers() {
    let Some(noise) = Noise::new() else { return };
    // run:                                    0     1     2     3     4
    noise.series("StatusCheckFailed", "Count", &[0.0, 1.0, 1.0, 0.0, 0.0]);
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 10.0, 10.0, 10.0],
    );
    let rules = noise.rules("[web-1]", "    inhibitedBy: [status]\n", STATUS);
    let status_alarm = "[ALARM] status: web-1 StatusCheckFailed > 0";
    let status_ok = "[OK] status: web-1 StatusCheckFailed > 0";

    noise.run(&rules, 0);
    assert!(noise.received().is_empty());
    // The status check fails and burst capacity drops: only the cause is paged.
    let report = noise.run(&rules, 1);
    let burst = result(&report, "burst-low");
    assert_eq!(
        (&burst["state"], &burst["why"]),
        (&"ALARM".into(), &"inhibited".into())
    );
    assert_eq!(
        burst["heldBy"],
        serde_json::json!({"kind": "inhibition", "name": "status"})
    );
    assert_eq!(noise.received(), [status_alarm]);
    noise.run(&rules, 2);
    assert!(noise.received().is_empty());
    // The check recovers and burst capacity is still low: now it is news.
    let report = noise.run(&rules, 3);
    assert_eq!(result(&report, "burst-low")["why"], "released");
    assert_eq!(
        sorted(noise.received()),
        sorted(vec![ALARM.into(), status_ok.into()])
    );
    noise.run(&rules, 4);
    assert!(noise.received().is_empty());
}

#[test]
fn an_alarm_that_recovers_while_inhibited_sends_nothing() {
    let Some(noise) = Noise::new() else { return };
    noise.series("StatusCheckFailed", "Count", &[0.0, 1.0, 0.0, 0.0]);
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 50.0, 50.0],
    );
    let rules = noise.rules("[web-1]", "    inhibitedBy: [status]\n", STATUS);
    for run in 0..4 {
        noise.run(&rules, run);
    }
    let received = noise.received();
    assert_eq!(
        received,
        [
            "[ALARM] status: web-1 StatusCheckFailed > 0",
            "[OK] status: web-1 StatusCheckFailed > 0"
        ]
    );
}
