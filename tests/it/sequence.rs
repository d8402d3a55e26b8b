//! Scripted series of runs with the alarm state store (SPEC §9): the binary at successive
//! evaluation times over changing datapoints, against a fake Lightsail and moto's SNS,
//! SQS and DynamoDB, counting exactly what a subscriber receives after each run.

use std::path::PathBuf;

use crate::support::Spawned;
use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use serde_json::Value;

const TABLE: &str = "alarm-state";
// The first evaluation time; run k evaluates at `T0 + k * 300`.
use crate::support::{T as T0, at, publishing_check, report_of, sns_unreachable};

struct Scenario {
    moto: Moto,
    fake: FakeLightsail,
    queue: String,
    rules: PathBuf,
    _dir: tempfile::TempDir,
}

impl Scenario {
    /// web-1's burst capacity: `values[k]` is the datapoint that run k sees as age 1.
    fn new(rule_extra: &str, values: &[f64]) -> Option<Scenario> {
        let moto = Moto::start()?;
        moto.create_state_table(TABLE);
        let (topic, queue) = moto.topic_with_queue("sequence");
        let fake = FakeLightsail::start();
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(k, v)| (T0 + k as i64 * 300 - 300, *v))
            .collect();
        fake.add_points("web-1", "BurstCapacityPercentage", "Percent", &points);
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.yaml");
        std::fs::write(
            &rules,
            format!(
                "version: 1\nrules:\n  - name: burst-low\n    topicArn: {topic}\n    instances: [web-1]\n    metric: BurstCapacityPercentage\n    comparison: LessThanThreshold\n    threshold: 20\n{rule_extra}"
            ),
        )
        .unwrap();
        Some(Scenario {
            moto,
            fake,
            queue,
            rules,
            _dir: dir,
        })
    }

    fn command(&self, run: i64) -> std::process::Command {
        publishing_check(&self.rules, &at(run), TABLE, &self.fake, &self.moto)
    }

    /// Runs the check for run `run` and returns its report.
    fn run(&self, run: i64) -> Value {
        report_of(&mut self.command(run), 0, &format!("run {run}"))
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

fn only_result(report: &Value) -> &Value {
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{report:#}");
    &results[0]
}

const ALARM: &str = "[ALARM] burst-low: web-1 BurstCapacityPercentage < 20";
const REMINDER: &str = "[ALARM] burst-low: web-1 BurstCapacityPercentage < 20 (reminder)";
const RECOVERY: &str = "[OK] burst-low: web-1 BurstCapacityPercentage < 20";

#[test]
fn transitions_reminders_recovery_and_hysteresis_reach_the_subscriber_exactly_once() {
    // run:              0     1     2     3     4     5     6     7     8     9
    let values = [50.0, 10.0, 12.0, 11.0, 10.0, 25.0, 21.0, 19.0, 22.0, 35.0];
    let Some(s) = Scenario::new(
        "    renotifyMinutes: 15\n    recoveryThreshold: 30\n",
        &values,
    ) else {
        return;
    };
    // (state, why, subjects received) after each run.
    let expected: [(&str, &str, &[&str]); 9] = [
        ("OK", "insufficientToOk", &[]),    // a first OK is not news
        ("ALARM", "transition", &[ALARM]),  // OK -> ALARM
        ("ALARM", "unchanged", &[]),        // 5 minutes in
        ("ALARM", "unchanged", &[]),        // 10
        ("ALARM", "renotify", &[REMINDER]), // 15 minutes since the notice
        ("ALARM", "unchanged", &[]),        // 25 >= 20, but held to 30 while in ALARM
        ("ALARM", "unchanged", &[]),        // flapping around 20: no alerts
        ("ALARM", "renotify", &[REMINDER]), // but a reminder every 15 minutes
        ("ALARM", "unchanged", &[]),
    ];
    for (run, (state, why, subjects)) in expected.iter().enumerate() {
        let report = s.run(run as i64);
        let result = only_result(&report);
        assert_eq!(result["state"], *state, "run {run}: {result:#}");
        assert_eq!(result["why"], *why, "run {run}: {result:#}");
        assert_eq!(s.received(), *subjects, "run {run}");
    }
    // 35 clears the recovery threshold: one recovery notice, saying what it left.
    let report = s.run(9);
    let result = only_result(&report);
    assert_eq!(
        (&result["state"], &result["why"]),
        (&"OK".into(), &"transition".into())
    );
    assert_eq!(result["previousState"], "ALARM");
    let delivered = s.moto.receive_all(&s.queue);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].subject.as_deref(), Some(RECOVERY));
    assert!(
        delivered[0]
            .message
            .contains("Previous:    ALARM (recovered)"),
        "{}",
        delivered[0].message
    );
}

#[test]
fn the_same_invocation_twice_and_a_late_one_notify_once() {
    let values = [50.0, 10.0, 10.0];
    let Some(s) = Scenario::new("", &values) else {
        return;
    };
    s.run(0);
    assert_eq!(s.run(1)["published"], 1);
    // A retried invocation evaluates the same range: nothing new.
    let again = s.run(1);
    assert_eq!(only_result(&again)["why"], "sameRange");
    assert_eq!(again["published"], 0);
    s.run(2);
    // A late invocation for an older range than the stored one is discarded.
    let late = s.run(0);
    assert_eq!(only_result(&late)["why"], "stale");
    assert_eq!(s.received(), [ALARM]);
}

#[test]
fn two_runs_racing_on_the_same_range_end_send_one_notification() {
    let values = [50.0, 10.0];
    let Some(s) = Scenario::new("", &values) else {
        return;
    };
    s.run(0);
    // Both read OK and both find ALARM; only the one whose claim succeeds publishes.
    let racers: Vec<Spawned> = (0..4).map(|_| Spawned::start(&mut s.command(1))).collect();
    let reports: Vec<Value> = racers
        .into_iter()
        .map(|r| {
            let done = r.wait(std::time::Duration::from_secs(60));
            assert_eq!(done.code, Some(0), "{}", done.stderr);
            serde_json::from_str(&done.stdout).unwrap()
        })
        .collect();
    let published: i64 = reports
        .iter()
        .map(|r| r["published"].as_i64().unwrap())
        .sum();
    assert_eq!(published, 1, "{reports:#?}");
    assert_eq!(s.received(), [ALARM]);
}

#[test]
fn a_failed_publish_leaves_the_state_as_it_was_and_the_next_run_sends_it() {
    let values = [50.0, 10.0, 10.0];
    let Some(s) = Scenario::new("", &values) else {
        return;
    };
    s.run(0);
    // SNS unreachable for run 1: the invocation fails and nothing is stored.
    report_of(sns_unreachable(&mut s.command(1)), 1, "run 1");
    assert!(s.received().is_empty());
    // Run 2 still sees OK stored, so ALARM is a transition again and is sent.
    let report = s.run(2);
    let result = only_result(&report);
    assert_eq!(result["previousState"], "OK", "{result:#}");
    assert_eq!(result["why"], "transition");
    assert_eq!(s.received(), [ALARM]);
}

#[test]
fn insufficient_data_notices_are_opt_in() {
    let values = [10.0];
    let Some(s) = Scenario::new("    notifyOn: [ALARM, OK, INSUFFICIENT_DATA]\n", &values) else {
        return;
    };
    assert_eq!(s.run(0)["published"], 1);
    // Runs 1.. have no data at all: ALARM -> INSUFFICIENT_DATA after N+2 periods.
    let report = s.run(4);
    assert_eq!(only_result(&report)["state"], "INSUFFICIENT_DATA");
    assert_eq!(
        s.received(),
        [
            ALARM,
            "[INSUFFICIENT_DATA] burst-low: web-1 BurstCapacityPercentage < 20"
        ]
    );
}
