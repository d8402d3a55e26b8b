//! Grouping into digests (SPEC §16), black-box: the binary over a fleet whose instances
//! go into ALARM together, publishing through moto's SNS to two targets (a `text` topic
//! and a `json` topic, each with an SQS subscriber) with the state table in moto's
//! DynamoDB, at successive evaluation times.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use std::time::Duration;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::{Delivered, Moto};
use crate::support::runtime::FakeRuntime;
use crate::support::{
    AT, T, at, command, publishing_check, report_of, schema_violations, sns_unreachable,
};

const TABLE: &str = "alarm-state";

struct Storm {
    moto: Moto,
    fake: FakeLightsail,
    mail: String,
    machines: String,
    rules: PathBuf,
    _dir: tempfile::TempDir,
}

impl Storm {
    /// `instances` instances web-00.. of one rule, `CPUUtilization > 80`, notifying a
    /// `text` topic and a `json` topic; at run `k` every instance's CPU is `cpu[k]`.
    fn new(instances: usize, cpu: &[f64], defaults: &str) -> Option<Storm> {
        let moto = Moto::start()?;
        moto.create_state_table(TABLE);
        let (mail_topic, mail) = moto.topic_with_queue("mail");
        let (machines_topic, machines) = moto.topic_with_queue("machines");
        let fake = FakeLightsail::start();
        let points: Vec<(i64, f64)> = cpu
            .iter()
            .enumerate()
            .map(|(k, value)| (T + k as i64 * 300 - 300, *value))
            .collect();
        for i in 0..instances {
            fake.add_points(&name(i), "CPUUtilization", "Percent", &points);
        }
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.yaml");
        std::fs::write(
            &rules,
            format!(
                "version: 1\ndefaults:\n{defaults}  notify:\n    - {{topicArn: '{mail_topic}'}}\n    - {{topicArn: '{machines_topic}', format: json}}\nrules:\n  - {{name: cpu-high, instances: ['web-*'], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
            ),
        )
        .unwrap();
        Some(Storm {
            moto,
            fake,
            mail,
            machines,
            rules,
            _dir: dir,
        })
    }

    /// `check --publish --output json` at run `run`'s time.
    fn command(&self, run: i64) -> Command {
        publishing_check(&self.rules, &at(run), TABLE, &self.fake, &self.moto)
    }

    /// Runs run `run`, which must complete, and returns its report.
    fn run(&self, run: i64) -> Value {
        report_of(&mut self.command(run), 0, &format!("run {run}"))
    }

    /// What each subscriber received since the last call: (mail, machines).
    fn received(&self) -> (Vec<Delivered>, Vec<Delivered>) {
        (
            self.moto.receive_all(&self.mail),
            self.moto.receive_all(&self.machines),
        )
    }
}

fn name(i: usize) -> String {
    format!("web-{i:02}")
}

/// Every result of `report` is `notified` with `why`.
fn all_notified(report: &Value, notified: bool, why: &str) {
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["notified"], notified, "{result:#}");
        assert_eq!(result["why"], why, "{result:#}");
    }
}

/// How many of `report`'s errors are of `stage`.
fn errors_of_stage(report: &Value, stage: &str) -> usize {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == stage)
        .count()
}

/// The one message `delivered` must hold: a digest of `count` alerts in `state`.
fn one_digest(delivered: &[Delivered], state: &str, count: usize) -> Delivered {
    assert_eq!(delivered.len(), 1, "one message: {delivered:#?}");
    let digest = delivered[0].clone();
    let subject = digest.subject.clone().unwrap_or_default();
    assert_eq!(
        subject,
        format!("[{state}] {count} alerts: {count} {state} (lightsail-alerts)")
    );
    assert_eq!(digest.attributes["digest"], "true");
    assert_eq!(digest.attributes["count"], count.to_string());
    assert_eq!(digest.attributes["state"], state);
    assert_eq!(digest.attributes["rule"], "cpu-high");
    digest
}

/// `document` is valid against the schema at `schema` (when the dev tools' Python is
/// there to check it).
fn valid(schema: &str, document: &Value) {
    if let Some(checked) = schema_violations(schema, document) {
        checked.unwrap_or_else(|violations| panic!("{schema}: {violations}\n{document:#}"));
    }
}

#[test]
fn a_storm_reaches_each_target_as_one_digest_and_every_key_is_notified_once() {
    // run:   0 (first, OK)  1 (ALARM)  2 (still)  3 (recovered)
    let cpu = [20.0, 95.0, 95.0, 20.0];
    let Some(s) = Storm::new(25, &cpu, "") else {
        return;
    };
    assert_eq!(s.run(0)["published"], 0);

    // A dry run shows the digests a publishing run would send.
    let out = command()
        .args(["check", "--output", "json", "--at", &at(1), "--rules"])
        .arg(&s.rules)
        .envs(s.fake.env())
        .output()
        .unwrap();
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = dry["alerts"].as_array().unwrap();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(shown.iter().all(|a| a["attributes"]["count"] == "25"));

    let report = s.run(1);
    assert_eq!(report["published"], 2, "one message per target");
    all_notified(&report, true, "transition");
    let (mail, machines) = s.received();

    let text = one_digest(&mail, "ALARM", 25);
    for i in 0..25 {
        let listed = format!("ALARM  cpu-high: instance \"{}\" (us-east-1)", name(i));
        assert!(text.message.contains(&listed), "{listed}\n{}", text.message);
    }
    assert_eq!(text.attributes["format"], "text");

    let json = one_digest(&machines, "ALARM", 25);
    let document: Value = serde_json::from_str(&json.message).unwrap();
    valid("schemas/alert-digest-v1.schema.json", &document);
    let alerts = document["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 25);
    for alert in [&alerts[0], &alerts[24]] {
        valid("schemas/alert-v1.schema.json", alert);
    }
    let mut resources: Vec<&str> = alerts
        .iter()
        .map(|a| a["resource"].as_str().unwrap())
        .collect();
    resources.sort_unstable();
    resources.dedup();
    assert_eq!(resources.len(), 25, "each instance once");

    // The state table holds each key as notified: the alarm persisting sends nothing.
    let report = s.run(2);
    assert_eq!(report["published"], 0);
    all_notified(&report, false, "unchanged");
    let (mail, machines) = s.received();
    assert!(
        mail.is_empty() && machines.is_empty(),
        "{mail:#?} {machines:#?}"
    );

    // Every instance recovers: one OK digest per target.
    let report = s.run(3);
    assert_eq!(report["published"], 2);
    all_notified(&report, true, "transition");
    let (mail, machines) = s.received();
    let recovered = one_digest(&mail, "OK", 25);
    assert!(
        recovered.message.contains("OK (recovered)"),
        "{}",
        recovered.message
    );
    one_digest(&machines, "OK", 25);
}

#[test]
fn at_group_above_or_fewer_each_alert_goes_alone() {
    let cpu = [20.0, 95.0];
    let Some(s) = Storm::new(10, &cpu, "") else {
        return;
    };
    s.run(0);
    let report = s.run(1);
    assert_eq!(report["published"], 20, "ten alerts, two targets");
    let (mail, machines) = s.received();
    for delivered in [&mail, &machines] {
        assert_eq!(delivered.len(), 10);
        assert!(
            delivered
                .iter()
                .all(|d| !d.attributes.contains_key("digest"))
        );
    }
    let mut subjects: Vec<String> = mail.into_iter().filter_map(|d| d.subject).collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects[0], "[ALARM] cpu-high: web-00 CPUUtilization > 80",
        "{subjects:#?}"
    );
}

#[test]
fn group_above_in_the_rules_moves_the_threshold_or_turns_grouping_off() {
    let cpu = [20.0, 95.0, 20.0];
    // 12 notices per target: alone with `groupAbove: none`...
    let Some(s) = Storm::new(12, &cpu, "  groupAbove: none\n") else {
        return;
    };
    s.run(0);
    assert_eq!(s.run(1)["published"], 24);
    let (mail, machines) = s.received();
    assert_eq!((mail.len(), machines.len()), (12, 12));
    // ... and one digest per target with `groupAbove: 5`.
    let rules = std::fs::read_to_string(&s.rules).unwrap();
    std::fs::write(&s.rules, rules.replace("groupAbove: none", "groupAbove: 5")).unwrap();
    assert_eq!(s.run(2)["published"], 2);
    let (mail, machines) = s.received();
    one_digest(&mail, "OK", 12);
    one_digest(&machines, "OK", 12);
}

#[test]
fn a_digest_that_failed_releases_every_key_and_the_next_run_sends_it_once() {
    let cpu = [20.0, 95.0, 95.0, 95.0];
    let Some(s) = Storm::new(25, &cpu, "") else {
        return;
    };
    s.run(0);
    // SNS unreachable for run 1: the invocation fails and every claim is released.
    let failed = report_of(sns_unreachable(&mut s.command(1)), 1, "run 1");
    all_notified(&failed, false, "transition");
    let publish_errors = errors_of_stage(&failed, "publish");
    assert_eq!(publish_errors, 50, "each key, each target: {failed:#}");
    let (mail, machines) = s.received();
    assert!(mail.is_empty() && machines.is_empty());

    // Run 2 finds OK still stored: the same transition, sent now, once per target.
    let report = s.run(2);
    assert_eq!(report["published"], 2);
    all_notified(&report, true, "transition");
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["previousState"], "OK", "{result:#}");
    }
    let (mail, machines) = s.received();
    one_digest(&mail, "ALARM", 25);
    one_digest(&machines, "ALARM", 25);

    // And never again.
    assert_eq!(s.run(3)["published"], 0);
    let (mail, machines) = s.received();
    assert!(mail.is_empty() && machines.is_empty());
}

#[test]
fn a_storm_behind_hung_instances_goes_as_one_digest_and_the_response_is_in_time() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts");
    let fake = FakeLightsail::start();
    let healthy: Vec<String> = (0..14).map(name).collect();
    let hung = ["hung-1", "hung-2"];
    let points: Vec<(i64, f64)> = (1..=5).map(|age| (T - age * 300, 95.0)).collect();
    for instance in healthy.iter().map(String::as_str).chain(hung) {
        fake.add_points(instance, "CPUUtilization", "Percent", &points);
    }
    for instance in hung {
        fake.delay(instance, Duration::from_secs(300));
    }
    // The hung instances keep the run from knowing that no more notices will come: the
    // 14 held for a digest go once no notice has come for the group wait, without
    // waiting for the hung ones (whose fetching stops 2 s before the deadline).
    let rules = format!(
        "version: 1\nrules:\n  - {{name: cpu-high, instances: ['web-*', 'hung-*'], metric: CPUUtilization, comparison: '>', threshold: 80, topicArn: '{topic}'}}\n"
    );
    let event = serde_json::json!({"at": AT, "rules": rules});
    let runtime = FakeRuntime::with_timeout(vec![event], Duration::from_secs(6));
    let response = &runtime.answer_in_time(
        command()
            .envs(fake.env())
            .envs(moto.env())
            .env("ALERT_DEADLINE_MARGIN_MS", "2000"),
    );
    assert_eq!(response["published"], 1, "{response:#}");
    for result in response["results"].as_array().unwrap() {
        let hung = result["resource"].as_str().unwrap().starts_with("hung");
        let expected = if hung { "deadline" } else { "stateless" };
        assert_eq!(result["why"], expected, "{result:#}");
        assert_eq!(result["notified"], !hung, "{result:#}");
    }
    let delivered = moto.receive_all(&queue);
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert_eq!(delivered[0].attributes["count"], "14");
}

#[test]
fn a_storm_in_a_silence_goes_out_as_one_digest_per_target_when_it_ends() {
    // run:   0 (first, OK)  1 (ALARM, silenced)  2 (silence over)  3 (still ALARM)
    let cpu = [20.0, 95.0, 95.0, 95.0];
    let Some(s) = Storm::new(25, &cpu, "") else {
        return;
    };
    let mut rules = std::fs::read_to_string(&s.rules).unwrap();
    rules.push_str(&format!(
        "silences:\n  - name: deploys\n    match: {{rule: cpu-high}}\n    schedule: {{start: '{}', end: '{}'}}\n",
        at(1),
        at(2)
    ));
    std::fs::write(&s.rules, rules).unwrap();
    s.run(0);
    let silenced = s.run(1);
    assert_eq!(silenced["published"], 0);
    all_notified(&silenced, false, "silenced");
    let (mail, machines) = s.received();
    assert!(mail.is_empty() && machines.is_empty(), "{mail:#?}");

    // The window is over and the storm still on: each target gets it once, as one
    // digest that says each alert was held.
    let released = s.run(2);
    assert_eq!(released["published"], 2, "{released:#}");
    all_notified(&released, true, "released");
    let (mail, machines) = s.received();
    let text = one_digest(&mail, "ALARM", 25).message;
    assert_eq!(
        text.matches("held by silence deploys").count(),
        25,
        "{text}"
    );
    let json: Value = serde_json::from_str(&one_digest(&machines, "ALARM", 25).message).unwrap();
    for alert in json["alerts"].as_array().unwrap() {
        assert_eq!(alert["held"]["by"], "silence deploys", "{alert:#}");
        assert_eq!(alert["held"]["since"], at(1), "{alert:#}");
    }

    // Released once: nothing more while it lasts.
    assert_eq!(s.run(3)["published"], 0);
    let (mail, machines) = s.received();
    assert!(mail.is_empty() && machines.is_empty());
}

#[test]
fn a_digest_that_reached_one_target_is_sent_again_to_the_other_alone() {
    let cpu = [20.0, 95.0, 95.0];
    let Some(s) = Storm::new(25, &cpu, "") else {
        return;
    };
    // The json target's topic does not exist yet: its publish fails, the text one's not.
    let rules = std::fs::read_to_string(&s.rules).unwrap();
    assert!(rules.contains(":machines'"), "{rules}");
    std::fs::write(&s.rules, rules.replace(":machines'", ":machines-later'")).unwrap();
    s.run(0);
    let failed = report_of(&mut s.command(1), 1, "run 1");
    let publish_errors = errors_of_stage(&failed, "publish");
    assert_eq!(publish_errors, 25, "each key, the json target: {failed:#}");
    let (mail, _) = s.received();
    one_digest(&mail, "ALARM", 25);

    // The topic is there now: run 2 sends the json digest alone, the text one not again.
    let (_, later) = s.moto.topic_with_queue("machines-later");
    let report = s.run(2);
    assert_eq!(report["published"], 1, "{report:#}");
    let (mail, _) = s.received();
    assert!(mail.is_empty(), "the text target had it: {mail:#?}");
    one_digest(&s.moto.receive_all(&later), "ALARM", 25);

    // Run 2 retried sends nothing again.
    assert_eq!(s.run(2)["published"], 0);
}
