//! Noise control (SPEC §16): silences from the rules, ad hoc and by tag, and inhibition,
//! through series of runs of the binary against a fake Lightsail and moto's SNS, SQS and
//! DynamoDB, counting exactly what a subscriber receives after each run.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::{Delivered, Moto};
use crate::support::{T as T0, at, command, publishing_check, report_of};
use serde_json::Value;

const TABLE: &str = "alarm-state";

/// web-1 in us-east-1, watched by `burst-low` (< 20) and whatever else the rules say.
struct Noise {
    moto: Moto,
    fake: FakeLightsail,
    topic: String,
    queue: String,
    dir: tempfile::TempDir,
    /// Run k evaluates at `t0 + k * 300` (epoch seconds).
    t0: i64,
    /// Every message the subscriber received so far, oldest first.
    log: RefCell<Vec<Delivered>>,
}

impl Noise {
    /// Runs from the suites' evaluation time (2026-11-24T13:05:00Z).
    fn new() -> Option<Noise> {
        Self::from(T0)
    }

    /// Runs from an hour ago (on a five-minute boundary): ad hoc silences are kept by
    /// the clock, and those that ended days before it are pruned.
    fn near_now() -> Option<Noise> {
        let now = chrono::Utc::now().timestamp();
        Self::from(now - now % 300 - 3_600)
    }

    fn from(t0: i64) -> Option<Noise> {
        let moto = Moto::start()?;
        moto.create_state_table(TABLE);
        let (topic, queue) = moto.topic_with_queue("noise");
        Some(Noise {
            moto,
            fake: FakeLightsail::start(),
            topic,
            queue,
            dir: tempfile::tempdir().unwrap(),
            t0,
            log: RefCell::default(),
        })
    }

    /// The evaluation time of run `run`.
    fn at(&self, run: i64) -> String {
        if self.t0 == T0 {
            return at(run);
        }
        chrono::DateTime::from_timestamp(self.t0 + run * 300, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// `metric` of web-1 at run k's age-1 period is `values[k]`.
    fn series(&self, metric: &str, unit: &str, values: &[f64]) {
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(k, v)| (self.t0 + k as i64 * 300 - 300, *v))
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

    /// Runs the check of run `run` (exit 0) and returns its report.
    fn run(&self, rules: &Path, run: i64) -> Value {
        let mut check = publishing_check(rules, &self.at(run), TABLE, &self.fake, &self.moto);
        report_of(&mut check, 0, &format!("run {run}"))
    }

    /// The subjects the subscriber received since the last call (the messages are
    /// kept, in [`Noise::messages`]).
    fn received(&self) -> Vec<String> {
        let delivered = self.moto.receive_all(&self.queue);
        let subjects = delivered
            .iter()
            .map(|d| d.subject.clone().unwrap_or_default())
            .collect();
        self.log.borrow_mut().extend(delivered);
        subjects
    }

    /// The bodies of every message received so far whose subject is `subject`, oldest
    /// first.
    fn messages(&self, subject: &str) -> Vec<String> {
        self.log
            .borrow()
            .iter()
            .filter(|d| d.subject.as_deref() == Some(subject))
            .map(|d| d.message.clone())
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

fn expect_runs(noise: &Noise, rules: &Path, expected: Expected<'_>) -> Vec<Value> {
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
    // The ALARM sent after the window says it was held, by what and since when.
    let sent = noise.messages(ALARM);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains(
            "\nState:       ALARM\nPrevious:    OK\nHeld:        by silence deploys since \
             2026-11-24T13:10:00Z; sent when it ended\n"
        ),
        "{}",
        sent[0]
    );
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
    // The ALARM went out as it happened: nothing held it. The recovery says it was.
    let alarm = noise.messages(ALARM);
    assert_eq!(alarm.len(), 1);
    assert!(!alarm[0].contains("Held:"), "{}", alarm[0]);
    let recovery = noise.messages(RECOVERY);
    assert_eq!(recovery.len(), 1);
    assert!(
        recovery[0].contains(
            "\nPrevious:    ALARM (recovered)\nHeld:        by silence deploys since \
             2026-11-24T13:15:00Z; sent when it ended\n"
        ),
        "{}",
        recovery[0]
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
    // The ALARM says what held it; the status check's own, never held, does not.
    let alarm = &noise.messages(ALARM)[0];
    assert!(
        alarm.contains(
            "\nHeld:        while inhibited by status since 2026-11-24T13:10:00Z; sent when \
             it ended\n"
        ),
        "{alarm}"
    );
    assert!(!noise.messages(status_alarm)[0].contains("Held:"));
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

impl Noise {
    /// `silence ARGS...` against the state table: (exit status, stdout, stderr).
    fn silence(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.command().arg("silence").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `silence add` of `burst-low` on `web-*` from run `from` for `duration`: its ID.
    fn silence_burst(&self, from: i64, duration: &str) -> String {
        let start = self.at(from);
        let (code, stdout, stderr) = self.silence(&[
            "add",
            "--match",
            "rule=burst-low",
            "--match",
            "resource=web-*",
            "--start",
            &start,
            "--for",
            duration,
            "--comment",
            "replacing the disk",
        ]);
        assert_eq!(code, Some(0), "{stderr}");
        let id = stdout.lines().next().unwrap_or_default().to_owned();
        assert!(
            id.len() == 8 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "the first line is the ID alone: {stdout}"
        );
        id
    }
}

#[test]
fn an_ad_hoc_silence_holds_until_it_ends_and_then_the_alarm_is_sent() {
    let Some(noise) = Noise::near_now() else {
        return;
    };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 10.0, 10.0, 10.0],
    );
    let rules = noise.rules("[web-1]", "", "");
    // Runs 1 and 2 are in it; run 3 is at its end.
    let id = noise.silence_burst(1, "10m");
    let reports = expect_runs(
        &noise,
        &rules,
        &[
            ("OK", "insufficientToOk", &[]),
            ("ALARM", "silenced", &[]),
            ("ALARM", "unchanged", &[]),
            ("ALARM", "released", &[ALARM]),
            ("ALARM", "unchanged", &[]),
        ],
    );
    let held = &result(&reports[1], "burst-low")["heldBy"];
    assert_eq!(held["name"], id.as_str());
    assert_eq!(held["origin"], "adHoc");
    assert_eq!(held["comment"], "replacing the disk");
    assert_eq!(held["until"], noise.at(3).as_str());
}

#[test]
fn an_expired_ad_hoc_silence_holds_nothing_more_and_is_listed_as_expired() {
    let Some(noise) = Noise::near_now() else {
        return;
    };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 10.0, 10.0],
    );
    let rules = noise.rules("[web-1]", "", "");
    let id = noise.silence_burst(1, "2h");
    let other = noise.silence_burst(1, "1h");
    assert_ne!(id, other);
    let (code, listed, _) = noise.silence(&["list", "--output", "json"]);
    assert_eq!(code, Some(0));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let ids: Vec<&str> = listed["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed:#}");
    assert!(ids.contains(&id.as_str()) && ids.contains(&other.as_str()));

    noise.run(&rules, 0);
    assert_eq!(
        result(&noise.run(&rules, 1), "burst-low")["why"],
        "silenced"
    );
    // Both are ended by hand: the next run sends the ALARM held.
    for silence in [&id, &other] {
        let (code, stdout, stderr) = noise.silence(&["expire", silence]);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(stdout, format!("Expired {silence}.\n"));
    }
    assert!(noise.received().is_empty());
    assert_eq!(
        result(&noise.run(&rules, 2), "burst-low")["why"],
        "released"
    );
    assert_eq!(noise.received(), [ALARM]);
    // Listed as expired with --all only.
    let (_, listed, _) = noise.silence(&["list"]);
    assert_eq!(listed, "No ad hoc silences in force or to come.\n");
    let (_, listed, _) = noise.silence(&["list", "--all", "--output", "json"]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert!(
        listed["silences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "expired" && s.get("expiredAt").is_some()),
        "{listed:#}"
    );
    // An ID it does not have is invalid input.
    let (code, _, stderr) = noise.silence(&["expire", "00000000"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no ad hoc silence has the ID `00000000`"),
        "{stderr}"
    );
}

#[test]
fn status_lists_the_alarm_states_what_is_held_and_the_silences_in_force() {
    let Some(noise) = Noise::near_now() else {
        return;
    };
    noise.series("StatusCheckFailed", "Count", &[0.0, 0.0]);
    noise.series("BurstCapacityPercentage", "Percent", &[50.0, 10.0]);
    let until = noise.at(24);
    let silences = format!(
        "silences:\n  - name: maintenance\n    match: {{resource: web-1}}\n    schedule: {{start: {}, end: {until}}}\n    comment: new kernel\n",
        noise.at(1)
    );
    let rules = noise.rules("[web-1]", "", &format!("{STATUS}{silences}"));
    noise.run(&rules, 0);
    noise.run(&rules, 1);
    let id = noise.silence_burst(1, "3h");

    let status = |args: &[&str]| {
        let out = noise.command().arg("status").args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let rules_arg = rules.display().to_string();
    let json: Value =
        serde_json::from_str(&status(&["--rules", &rules_arg, "--output", "json"])).unwrap();
    assert_eq!(json["store"], format!("table {TABLE}"));
    let alarms = json["alarms"].as_array().unwrap();
    let shown: Vec<(&str, &str)> = alarms
        .iter()
        .map(|a| (a["rule"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    // What needs attention first.
    assert_eq!(shown, [("burst-low", "ALARM"), ("status", "OK")]);
    let burst = &alarms[0];
    assert_eq!(
        (&burst["region"], &burst["resource"], &burst["since"]),
        (&"us-east-1".into(), &"web-1".into(), &noise.at(1).into())
    );
    assert_eq!(burst["lastNotice"], Value::Null);
    assert_eq!(
        burst["held"],
        serde_json::json!({
            "notice": "ALARM",
            "from": "OK",
            "since": noise.at(1),
            "by": "silence maintenance",
        })
    );
    let silences: Vec<(&str, &str)> = json["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(silences, [("maintenance", "rules"), (id.as_str(), "adHoc")]);
    let notes = json["notes"].to_string();
    assert!(notes.contains("lightsail-alerts:silence-until"), "{notes}");

    // For people: the same, and without rules it says what it cannot show.
    let text = status(&[]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "Alarm states in the table {TABLE} at {}",
            &lines[0][lines[0].len() - 20..]
        )
    );
    assert!(lines[2].starts_with("RULE "), "{text}");
    assert!(
        lines[3].starts_with("burst-low  web-1     us-east-1  ALARM"),
        "{text}"
    );
    assert_eq!(
        lines[4],
        format!(
            "  held: the ALARM notice, by silence maintenance since {}",
            noise.at(1)
        ),
        "{text}"
    );
    assert!(
        lines[5].starts_with("status     web-1     us-east-1  OK"),
        "{text}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 100, "{line}");
    }
    assert!(
        text.contains("2 alarm states: 1 ALARM, 1 OK; 1 notice held."),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  {id} (ad hoc): rule=burst-low resource=web-* until "
        )),
        "{text}"
    );
    assert!(
        text.contains("The rules' own silences are not shown: no rules given"),
        "{text}"
    );
}

#[test]
fn status_needs_a_state_table() {
    let out = command().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("set ALERT_STATE_TABLE"), "{stderr}");
}

#[test]
fn silence_add_refuses_a_rule_match_that_covers_no_rule_of_the_rules_given() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "version: 1\nrules:\n  - name: burst-low\n    instances: [web-1]\n    region: us-east-1\n    metric: BurstCapacityPercentage\n    comparison: LessThanThreshold\n    threshold: 20\n    topicArn: arn:aws:sns:us-east-1:123456789012:alerts\n",
    )
    .unwrap();
    let add = |rule: &str, with_rules: bool| {
        let mut cmd = command();
        cmd.args(["silence", "add", "--match", rule, "--for", "1h"])
            .args(["--comment", "disk swap", "--state-file"])
            .arg(&state);
        if with_rules {
            cmd.arg("--rules").arg(&rules);
        }
        cmd.output().unwrap()
    };
    let list = || {
        let out = command()
            .args(["silence", "list", "--output", "json", "--state-file"])
            .arg(&state)
            .output()
            .unwrap();
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        listed["silences"].as_array().map_or(0, Vec::len)
    };

    for (typo, problem) in [
        (
            "rule=burst-lo",
            "no rule is named `burst-lo`; did you mean `burst-low`?",
        ),
        ("rule=cpu-*", "`cpu-*` matches no rule of the document"),
    ] {
        let out = add(typo, true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(problem), "{stderr}");
        assert!(stderr.contains("would never apply: "), "{stderr}");
        assert!(stderr.contains("The rules: burst-low."), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing printed as added");
        assert_eq!(list(), 0, "nothing was written for {typo}");
    }

    // A rule it covers is added; without rules, any name is (a rule not deployed yet).
    for (rule, with_rules) in [("rule=burst-*", true), ("rule=next-week", false)] {
        let out = add(rule, with_rules);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(list(), 2);
}

const UNTIL_TAG: &str = "lightsail-alerts:silence-until";

#[test]
fn the_silence_until_tag_holds_a_listed_resource_until_its_time() {
    let Some(noise) = Noise::new() else { return };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[50.0, 10.0, 10.0, 10.0],
    );
    let until = at(2);
    noise.fake.put_instance(
        "us-east-1",
        "web-1",
        "running",
        &[(UNTIL_TAG, Some(&until))],
    );
    // A glob: the fleet is listed, with its tags.
    let rules = noise.rules("[\"web-*\"]", "", "");
    let reports = expect_runs(
        &noise,
        &rules,
        &[
            ("OK", "insufficientToOk", &[]),
            ("ALARM", "silenced", &[]),
            ("ALARM", "released", &[ALARM]), // its time has come
            ("ALARM", "unchanged", &[]),
        ],
    );
    assert_eq!(
        result(&reports[1], "burst-low")["heldBy"],
        serde_json::json!({
            "kind": "silence",
            "name": UNTIL_TAG,
            "origin": "tag",
            "until": until,
        })
    );
}

#[test]
fn a_silence_until_tag_that_is_not_a_time_is_a_warning_and_silences_nothing() {
    let Some(noise) = Noise::new() else { return };
    noise.series("BurstCapacityPercentage", "Percent", &[10.0]);
    noise.fake.put_instance(
        "us-east-1",
        "web-1",
        "running",
        &[(UNTIL_TAG, Some("tomorrow"))],
    );
    let rules = noise.rules("[\"web-*\"]", "", "");
    let report = noise.run(&rules, 0);
    assert_eq!(result(&report, "burst-low")["why"], "transition");
    assert_eq!(noise.received(), [ALARM]);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("instance `web-1` in us-east-1: its tag lightsail-alerts:silence-until is \"tomorrow\", not an RFC 3339 time"),
        "{message}"
    );
}

#[test]
fn a_silence_by_tag_covers_a_rule_of_names_too() {
    let Some(noise) = Noise::new() else { return };
    noise.series("BurstCapacityPercentage", "Percent", &[50.0, 10.0, 10.0]);
    noise
        .fake
        .put_instance("us-east-1", "web-1", "running", &[("env", Some("staging"))]);
    let silences = format!(
        "silences:\n  - name: staging\n    match: {{tags: {{env: \"stag*\"}}}}\n    schedule: {{start: {}, end: {}}}\n",
        at(1),
        at(2)
    );
    // A rule of names lists nothing by itself; the silence's tags make the run list.
    let rules = noise.rules("[web-1]", "", &silences);
    expect_runs(
        &noise,
        &rules,
        &[
            ("OK", "insufficientToOk", &[]),
            ("ALARM", "silenced", &[]),
            ("ALARM", "released", &[ALARM]),
        ],
    );
}

#[test]
fn without_a_state_table_a_silenced_alarm_is_not_sent_and_the_next_run_after_sends_it() {
    let Some(noise) = Noise::new() else { return };
    noise.series(
        "BurstCapacityPercentage",
        "Percent",
        &[10.0, 10.0, 10.0, 10.0, 10.0],
    );
    let rules = noise.rules("[web-1]", "", DEPLOYS);
    let stateless = |run: i64| {
        let out = command()
            .args([
                "check",
                "--publish",
                "--output",
                "json",
                "--at",
                &at(run),
                "--rules",
            ])
            .arg(&rules)
            .envs(noise.fake.env())
            .envs(noise.moto.env())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        result(&report, "burst-low")["why"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Every ALARM, every run, but not in the window (runs 1 to 3).
    let whys: Vec<String> = (0..5).map(stateless).collect();
    assert_eq!(
        whys,
        ["stateless", "silenced", "silenced", "silenced", "stateless"]
    );
    assert_eq!(noise.received(), [ALARM, ALARM]);
}
