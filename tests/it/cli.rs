//! Black-box tests of the command line: the compiled binary against a fake Lightsail
//! speaking its JSON protocol and moto's SNS with a subscribed SQS queue.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::{check_json, command, report, stderr};
use serde_json::Value;

/// The evaluation time of every test, and its epoch seconds.
use crate::support::{AT, T};
/// Start of the period of age `age` for a period of `period` seconds, at `T`.
fn age(age: i64, period: i64) -> i64 {
    T - age * period
}

fn rules_file(dir: &tempfile::TempDir, yaml: &str) -> PathBuf {
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn run(cmd: &mut std::process::Command) -> Output {
    cmd.output().expect("the binary runs")
}

/// `check --output json --at AT --rules FILE` with `args` and the endpoints in `endpoints`
/// (and any `vars`).
fn check(
    rules: &Path,
    args: &[&str],
    endpoints: &[(String, String)],
    vars: &[(&str, &str)],
) -> Output {
    run(check_json(rules)
        .args(args)
        .envs(endpoints.iter().cloned())
        .envs(vars.iter().copied()))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn result<'a>(report: &'a Value, rule: &str, instance: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule && r["instance"] == instance)
        .unwrap_or_else(|| panic!("no result for {rule}/{instance} in {report:#}"))
}

/// A fake Lightsail where web-1's burst capacity falls to 18.2 and 12 in the last two
/// periods and web-2's is fine, and a rules file alerting on it for `instances` to
/// `topic`. Keep the directory alive as long as the file is used.
fn burst_fleet(topic: &str, instances: &str) -> (FakeLightsail, tempfile::TempDir, PathBuf) {
    let fake = FakeLightsail::start();
    let web1 = [45.0, 38.5, 25.5, 18.2, 12.0];
    let web2 = [80.0, 82.0, 85.0, 84.0, 86.0];
    for (instance, values) in [("web-1", web1), ("web-2", web2)] {
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (age(5 - i as i64, 300), *v))
            .collect();
        fake.add_points(instance, "BurstCapacityPercentage", "Percent", &points);
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, &burst_rules(topic, instances));
    (fake, dir, rules)
}

fn burst_rules(topic: &str, instances: &str) -> String {
    format!(
        r#"
version: 1
defaults:
  topicArn: {topic}
rules:
  - name: burst-capacity-low
    description: CPU burst capacity is running out
    instances: {instances}
    metric: BurstCapacityPercentage
    comparison: LessThanThreshold
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 2
    severity: critical
"#
    )
}

const SOME_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

#[test]
fn the_built_in_example_runs_without_aws_and_shows_alarms_and_oks() {
    // An endpoint that refuses everything: the example must not need AWS at all.
    let out = run(command()
        .args(["check", "--all"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("14 results: 5 ALARM, 9 OK"), "{text}");
    // One rule of each resource type, each named with its type.
    for (row, state) in [
        ("db/orders-db", "ALARM"),
        ("db/users-db", "OK"),
        ("lb/web-lb", "OK"),
        ("cdn/site-cdn", "OK"),
        ("container/api", "ALARM"),
        ("bucket/media-assets", "OK"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(row))
            .unwrap_or_else(|| panic!("no row for {row}: {text}"));
        assert!(line.contains(&format!(" {state} ")), "{line}");
    }
    assert!(
        !text.contains("reports-db"),
        "a stopped database is not selected: {text}"
    );
    assert!(
        text.contains(
            "Subject: [ALARM] container-memory-high: container service api MemoryUtilization >= 90"
        ),
        "{text}"
    );
    assert!(
        text.contains("Subject: [ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20"),
        "{text}"
    );
    assert!(text.contains("dry run: nothing published"), "{text}");
    assert!(
        stderr(&out).contains("built-in example"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn text_lists_what_needs_attention_first_and_counts_the_oks_unless_all() {
    let rows = |args: &[&str]| -> Vec<(String, String)> {
        let out = run(command().arg("check").args(args));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let table: Vec<String> = text
            .lines()
            .skip_while(|l| !l.starts_with("RULE "))
            .skip(1)
            .take_while(|l| !l.is_empty() && !l.contains("not listed"))
            .map(str::to_owned)
            .collect();
        table
            .iter()
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let state = words
                    .iter()
                    .find(|w| ["ALARM", "OK", "ERROR", "INSUFFICIENT_DATA"].contains(w))
                    .unwrap_or_else(|| panic!("no state in {l:?}:\n{text}"));
                (words[0].to_owned(), (*state).to_owned())
            })
            .collect()
    };
    let attention = rows(&[]);
    assert_eq!(attention.len(), 5, "{attention:?}");
    assert!(
        attention.iter().all(|(_, state)| state == "ALARM"),
        "{attention:?}"
    );
    let out = run(command().arg("check"));
    assert!(
        stdout(&out).contains("9 OK results not listed (--all lists them)."),
        "{}",
        stdout(&out)
    );

    let all = rows(&["--all"]);
    assert_eq!(all.len(), 14, "{all:?}");
    let first_ok = all.iter().position(|(_, s)| s == "OK").unwrap();
    assert!(
        all[first_ok..].iter().all(|(_, s)| s == "OK"),
        "ALARMs first: {all:?}"
    );
    // In the report's order within a state; the wider --all table may shorten a name in
    // its middle (`database-…orage-low`).
    let same = |shown: &str, full: &str| match shown.split_once('…') {
        Some((start, end)) => full.starts_with(start) && full.ends_with(end),
        None => shown == full,
    };
    assert_eq!(first_ok, attention.len(), "{all:?}");
    assert!(
        all.iter()
            .zip(&attention)
            .all(|((rule, state), (full, alarm))| same(rule, full) && state == alarm),
        "in the report's order within a state: {all:?} {attention:?}"
    );
}

#[test]
fn the_built_in_example_as_json_is_only_the_run_report() {
    let out = run(command().args(["check", "--output", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(report["evaluatedAt"], AT);
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["published"], 0);
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(report["results"].as_array().unwrap().len(), 14);
    assert_eq!(report["alerts"].as_array().unwrap().len(), 5);
    let orders = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "orders-db")
        .unwrap();
    assert_eq!(orders["resourceType"], "RelationalDatabase");
    assert_eq!(orders["state"], "ALARM");
    assert!(orders.get("instance").is_none(), "{orders}");
    let web1 = result(&report, "burst-capacity-low", "web-1");
    assert_eq!(web1["state"], "ALARM");
    assert_eq!(web1["rangeEnd"], AT);
    assert_eq!(web1["notified"], false);
    let db1 = result(&report, "network-out-high", "db-1");
    assert_eq!(db1["state"], "OK", "notBreaching with no data at all");
}

#[test]
fn validate_prints_the_rules_with_every_default_filled_in() {
    let out = run(command().args(["validate", "--rules", "examples/rules.yaml"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rules: Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    let status = &rules["rules"][1];
    assert_eq!(status["name"], "status-check-failed");
    assert_eq!(status["statistic"], "Sum");
    assert_eq!(status["unit"], "Count");
    assert_eq!(status["period"], 60);
    assert_eq!(status["evaluationPeriods"], 1);
    assert_eq!(status["datapointsToAlarm"], 1);
    assert_eq!(status["treatMissingData"], "missing");
    assert_eq!(status["regions"], serde_json::json!(["us-east-1"]));
    assert_eq!(
        status["notify"],
        serde_json::json!([{"topicArn": SOME_TOPIC, "format": "text"}])
    );
}

#[test]
fn validate_accepts_a_byte_order_mark_and_crlf_and_refuses_utf16_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let rules = include_str!("../../examples/rules.yaml");
    let windows = format!("\u{FEFF}{}", rules.replace('\n', "\r\n"));
    let validate = |path: &Path| run(command().arg("validate").arg("--rules").arg(path));
    let out = validate(&rules_file(&dir, &windows));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plain = validate("examples/rules.yaml".as_ref());
    assert_eq!(stdout(&out), stdout(&plain));

    let path = dir.path().join("utf16.yaml");
    let utf16: Vec<u8> = windows.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(&path, utf16).unwrap();
    let (out, at) = (validate(&path), path.display());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let expected = "the document is UTF-16 LE text (it starts with the UTF-16 LE byte-order mark), \
                    not UTF-8; allowed: UTF-8 only (a UTF-8 byte-order mark and CRLF line endings \
                    are fine): save the file as UTF-8";
    let expected = format!("error: 1 error in the rules:\n  {at}: {expected}\n");
    assert_eq!(stderr(&out), expected);
}

const BAD_RULES: &str = r#"
version: 1
rules:
  - name: cpu-high
    instances: [web-1]
    metric: CPUUtilization
    unit: Bytes
    comparison: ">"
    threshold: 80
  - name: status
    instances: [web-1]
    metric: StatusCheckFailed
    comparison: GreaterThan
    treshold: 0
"#;

#[test]
fn invalid_rules_stop_the_run_before_any_call_with_every_error_named() {
    let fake = FakeLightsail::start();
    fake.add_instance("web-1");
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, BAD_RULES);
    for args in [vec!["check"], vec!["check", "--dry-run"], vec!["validate"]] {
        let out = run(command()
            .args(&args)
            .arg("--rules")
            .arg(&rules)
            .env("ALERT_TOPIC_ARN", SOME_TOPIC)
            .envs(fake.env()));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        for expected in [
            "rules[0] (cpu-high): unit: `Bytes` is not published for CPUUtilization",
            "allowed: Percent",
            "rules[1] (status): comparison: `GreaterThan` is not a valid comparison",
            "allowed: GreaterThanOrEqualToThreshold",
            "rules[1] (status): treshold: unknown field `treshold` (did you mean `threshold`?)",
        ] {
            assert!(
                err.contains(expected),
                "{args:?}: missing {expected:?} in:\n{err}"
            );
        }
        assert!(out.stdout.is_empty(), "{}", stdout(&out));
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn check_fetches_from_lightsail_and_evaluates_like_cloudwatch() {
    let (fake, _dir, rules) = burst_fleet(SOME_TOPIC, "[web-1, web-2]");
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    let web1 = result(&report, "burst-capacity-low", "web-1");
    assert_eq!(web1["state"], "ALARM", "{web1:#}");
    assert_eq!(web1["region"], "us-east-1");
    assert_eq!(web1["metric"], "BurstCapacityPercentage");
    assert!(
        web1["reason"]
            .as_str()
            .unwrap()
            .starts_with("Threshold Crossed: 2 out of the last 3 datapoints [12.0 (2026-11-24T13:00:00Z), 18.2 (2026-11-24T12:55:00Z), 25.5 (2026-11-24T12:50:00Z)]"),
        "{web1:#}"
    );
    // The fake answers in shuffled order; the report is sorted oldest first.
    let stamps: Vec<&str> = web1["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(
        stamps,
        [
            "2026-11-24T12:50:00Z",
            "2026-11-24T12:55:00Z",
            "2026-11-24T13:00:00Z"
        ]
    );
    assert_eq!(
        result(&report, "burst-capacity-low", "web-2")["state"],
        "OK"
    );
    let alerts = report["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0]["subject"],
        "[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20"
    );

    // One call per instance, with every required input, over ages 1..=N+2.
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    for request in &requests {
        let body = &request.body;
        assert_eq!(body["metricName"], "BurstCapacityPercentage");
        assert_eq!(body["period"], 300);
        assert_eq!(body["unit"], "Percent");
        assert_eq!(body["statistics"], serde_json::json!(["Average"]));
        assert_eq!(body["endTime"].as_f64(), Some(T as f64));
        assert_eq!(body["startTime"].as_f64(), Some(age(5, 300) as f64));
        assert_eq!(request.region.as_deref(), Some("us-east-1"));
    }
}

#[test]
fn rules_sharing_an_instance_and_metric_share_one_call() {
    let fake = FakeLightsail::start();
    let points: Vec<(i64, f64)> = (1..=7).map(|a| (age(a, 300), 50.0)).collect();
    fake.add_points("web-1", "CPUUtilization", "Percent", &points);
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(
        &dir,
        &format!(
            r#"
version: 1
defaults: {{topicArn: "{SOME_TOPIC}"}}
rules:
  - {{name: cpu-average, instances: [web-1], metric: CPUUtilization, comparison: ">", threshold: 80, evaluationPeriods: 5}}
  - {{name: cpu-peak, instances: [web-1], metric: CPUUtilization, statistic: Maximum, comparison: ">", threshold: 95}}
"#
        ),
    );
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].body["statistics"],
        serde_json::json!(["Maximum", "Average"])
    );
    // The widest range: N = 5, so ages 1..=7.
    assert_eq!(
        requests[0].body["startTime"].as_f64(),
        Some(age(7, 300) as f64)
    );
    let report = report(&out);
    assert_eq!(result(&report, "cpu-average", "web-1")["state"], "OK");
    assert_eq!(result(&report, "cpu-peak", "web-1")["state"], "OK");
}

#[test]
fn an_unknown_instance_is_an_error_result_and_the_others_go_on() {
    let (fake, _dir, rules) = burst_fleet(SOME_TOPIC, "[web-1, ghost, web-2]");
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    let ghost = result(&report, "burst-capacity-low", "ghost");
    assert_eq!(ghost["state"], "ERROR");
    let error = ghost["error"].as_str().unwrap();
    assert!(
        error.contains("ghost") && error.contains("not found"),
        "{error}"
    );
    assert_eq!(
        result(&report, "burst-capacity-low", "web-1")["state"],
        "ALARM"
    );
    assert_eq!(
        result(&report, "burst-capacity-low", "web-2")["state"],
        "OK"
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["stage"], "fetch");
    assert_eq!(errors[0]["instance"], "ghost");
}

#[test]
fn every_fetch_failing_is_a_run_error() {
    let fake = FakeLightsail::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, &burst_rules(SOME_TOPIC, "[ghost-1, ghost-2]"));
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing could be evaluated: 2 result(s) in ERROR"),
        "{}",
        stderr(&out)
    );
    let report = report(&out);
    assert_eq!(
        result(&report, "burst-capacity-low", "ghost-1")["state"],
        "ERROR"
    );
}

#[test]
fn throttling_and_server_errors_are_retried_with_backoff() {
    let (fake, _dir, rules) = burst_fleet(SOME_TOPIC, "[web-1, web-2]");
    fake.throttle("web-1", 2);
    fake.server_error("web-2", 2);
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(
        result(&report, "burst-capacity-low", "web-1")["state"],
        "ALARM"
    );
    assert_eq!(
        result(&report, "burst-capacity-low", "web-2")["state"],
        "OK"
    );
    assert_eq!(fake.calls_for("web-1"), 3);
    assert_eq!(fake.calls_for("web-2"), 3);
    let attempts: Vec<Option<u32>> = fake
        .requests()
        .iter()
        .filter(|r| r.instance() == Some("web-1"))
        .map(|r| r.attempt())
        .collect();
    assert_eq!(attempts, [Some(1), Some(2), Some(3)]);
}

#[test]
fn a_fault_that_outlasts_the_retries_fails_only_its_instance() {
    let (fake, _dir, rules) = burst_fleet(SOME_TOPIC, "[web-1, web-2]");
    fake.always_fail("web-2", 500);
    let out = check(
        &rules,
        &["--dry-run"],
        &fake.env(),
        &[("AWS_MAX_ATTEMPTS", "2")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(
        result(&report, "burst-capacity-low", "web-2")["state"],
        "ERROR"
    );
    assert_eq!(
        result(&report, "burst-capacity-low", "web-1")["state"],
        "ALARM"
    );
    assert_eq!(fake.calls_for("web-2"), 2, "AWS_MAX_ATTEMPTS is honoured");
}

#[test]
fn alerts_reach_an_sns_subscriber_with_subject_attributes_and_message() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts");
    let (fake, _dir, rules) = burst_fleet(&topic, "[web-1, web-2]");
    let out = check(
        &rules,
        &["--publish"],
        &[fake.env(), moto.env()].concat(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(report["published"], 1);
    assert_eq!(
        result(&report, "burst-capacity-low", "web-1")["notified"],
        true
    );
    assert_eq!(
        result(&report, "burst-capacity-low", "web-2")["notified"],
        false
    );
    assert!(
        report.get("alerts").is_none(),
        "alerts are listed only in a dry run"
    );

    let delivered = moto.receive_all(&queue);
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    let alert = &delivered[0];
    assert_eq!(alert.topic_arn, topic);
    assert_eq!(
        alert.subject.as_deref(),
        Some("[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20")
    );
    let attributes: Vec<(&str, &str)> = alert
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attributes,
        [
            ("format", "text"),
            ("instance", "web-1"),
            ("metric", "BurstCapacityPercentage"),
            ("region", "us-east-1"),
            ("resource", "web-1"),
            ("resourceType", "Instance"),
            ("rule", "burst-capacity-low"),
            ("severity", "critical"),
            ("state", "ALARM"),
        ]
    );
    for expected in [
        "Threshold Crossed: 2 out of the last 3 datapoints",
        "CPU burst capacity is running out",
        "https://lightsail.aws.amazon.com/ls/webapp/us-east-1/instances/web-1/metrics",
        "2026-11-24T13:00:00Z  12 Percent  breaching",
    ] {
        assert!(
            alert.message.contains(expected),
            "{expected:?} not in:\n{}",
            alert.message
        );
    }
}

#[test]
fn help_lists_the_environment_each_command_reads() {
    let help = |command: &str| {
        let out = run(crate::support::command().args([command, "--help"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let check = help("check");
    for variable in [
        "ALERT_RULES_FILE",
        "ALERT_RULES ",
        "ALERT_TOPIC_ARN",
        "ALERT_STATE_TABLE",
        "ALERT_MAX_CONCURRENCY",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_ENDPOINT_URL",
        "RUST_LOG",
        "--publish",
    ] {
        assert!(
            check.contains(variable),
            "{variable} not in check --help:\n{check}"
        );
    }
    let validate = help("validate");
    for variable in [
        "ALERT_RULES_FILE",
        "ALERT_RULES ",
        "ALERT_TOPIC_ARN",
        "AWS_REGION",
        "--template",
    ] {
        assert!(
            validate.contains(variable),
            "{variable} not in validate --help:\n{validate}"
        );
    }
    let record = help("record");
    for variable in [
        "ALERT_TOPIC_ARN",
        "ALERT_MAX_CONCURRENCY",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "RUST_LOG",
        "--out",
        "--profile",
    ] {
        assert!(
            record.contains(variable),
            "{variable} not in record --help:\n{record}"
        );
    }
    // Every line of the help fits 100 columns.
    for line in check.lines().chain(validate.lines()).chain(record.lines()) {
        assert!(
            line.chars().count() <= 100 || line.starts_with("          "),
            "{line}"
        );
    }
}

#[test]
fn check_is_a_dry_run_unless_publish_is_given() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("dry-by-default");
    let (fake, _dir, rules) = burst_fleet(&topic, "[web-1]");
    let endpoints = [fake.env(), moto.env()].concat();
    for args in [&[][..], &["--dry-run"][..]] {
        let out = check(&rules, args, &endpoints, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let report = report(&out);
        assert_eq!(report["dryRun"], true, "{args:?}");
        assert_eq!(report["published"], 0, "{args:?}");
        assert_eq!(report["alerts"].as_array().unwrap().len(), 1, "{args:?}");
    }
    assert!(
        moto.receive_all(&queue).is_empty(),
        "a dry run publishes nothing"
    );

    let out = check(&rules, &["--dry-run", "--publish"], &endpoints, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );

    let out = check(&rules, &["--publish"], &endpoints, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["dryRun"], false);
    assert_eq!(report(&out)["published"], 1);
    assert_eq!(moto.receive_all(&queue).len(), 1);
}

#[test]
fn alerts_are_published_in_the_region_of_the_topic_arn() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue_in("eu-west-1", "alerts-eu");
    let (fake, _dir, rules) = burst_fleet(&topic, "[web-1]");
    let out = check(
        &rules,
        &["--publish"],
        &[fake.env(), moto.env()].concat(),
        &[("AWS_REGION", "us-east-1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["published"], 1);
    assert_eq!(moto.receive_all(&queue).len(), 1);
    // The instance's region is the rule's, not the topic's.
    assert_eq!(fake.requests()[0].region.as_deref(), Some("us-east-1"));
}

#[test]
fn an_alert_that_cannot_be_published_fails_the_run() {
    let Some(moto) = Moto::start() else { return };
    let missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let (fake, _dir, rules) = burst_fleet(missing, "[web-1, web-2]");
    let out = check(
        &rules,
        &["--publish"],
        &[fake.env(), moto.env()].concat(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not be published"),
        "{}",
        stderr(&out)
    );
    let report = report(&out);
    assert_eq!(report["published"], 0);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["stage"], "publish");
    assert!(
        errors[0]["message"].as_str().unwrap().contains(missing),
        "{errors:#?}"
    );
    // The row of the result says its publish failed.
    let text = run(crate::support::command()
        .args(["check", "--publish", "--at", AT, "--rules"])
        .arg(&rules)
        .envs(fake.env())
        .envs(moto.env()));
    assert_eq!(text.status.code(), Some(1), "{}", stderr(&text));
    let shown = stdout(&text);
    let lines: Vec<&str> = shown.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains("web-1") && l.contains("ALARM"))
        .unwrap_or_else(|| panic!("{shown}"));
    // The ALERT column says FAILED, and the line under the row says why.
    assert!(lines[row].ends_with("  FAILED"), "{shown}");
    assert!(
        lines[row + 1].starts_with("    publish failed: ") && lines[row + 1].contains(missing),
        "{shown}"
    );
    // The alert itself is in the log, so it is not lost.
    assert!(
        stderr(&out).contains("[ALARM] burst-capacity-low: web-1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fifo_topics_get_group_and_dedup_ids_so_a_repeated_run_alerts_once() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts.fifo");
    let (fake, _dir, rules) = burst_fleet(&topic, "[web-1, web-2]");
    for _ in 0..2 {
        let out = check(
            &rules,
            &["--publish"],
            &[fake.env(), moto.env()].concat(),
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(report(&out)["published"], 1);
    }
    let delivered = moto.receive_all(&queue);
    assert_eq!(
        delivered.len(),
        1,
        "the second run's alert is a duplicate: {delivered:#?}"
    );
    assert_eq!(
        delivered[0].message_group_id.as_deref(),
        Some("burst-capacity-low#web-1")
    );
    let dedup = delivered[0].message_deduplication_id.as_deref().unwrap();
    assert_eq!(dedup.len(), 64);
    assert!(dedup.bytes().all(|b| b.is_ascii_hexdigit()), "{dedup}");
}

#[test]
fn any_instance_name_makes_a_subject_sns_accepts() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts-names");
    // Lightsail itself only allows ASCII names; a recording allows anything.
    let long = format!("web-{}", "x".repeat(120));
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Value> = ["wéb-ü1", long.as_str()]
        .iter()
        .map(|name| {
            serde_json::json!({"instance": name, "metric": "StatusCheckFailed",
                "metricData": [{"timestamp": age(1, 60), "sum": 1.0, "unit": "Count"}]})
        })
        .collect();
    let recording = dir.path().join("recording.json");
    std::fs::write(
        &recording,
        serde_json::json!({"recordedAt": AT, "series": series}).to_string(),
    )
    .unwrap();
    let rules = rules_file(
        &dir,
        &format!(
            "version: 1\nrules:\n  - name: status\n    topicArn: {topic}\n    instances: [wéb-ü1, {long}]\n    metric: StatusCheckFailed\n    comparison: \">\"\n    threshold: 0\n"
        ),
    );
    let out = run(command()
        .args(["check", "--publish", "--output", "json", "--rules"])
        .arg(&rules)
        .arg("--replay")
        .arg(&recording)
        .envs(moto.env()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["published"], 2, "{:#}", report(&out));
    let delivered = moto.receive_all(&queue);
    assert_eq!(delivered.len(), 2);
    let short = delivered
        .iter()
        .find(|d| d.attributes["instance"] == "wéb-ü1")
        .expect("the attribute keeps the name as it is");
    assert_eq!(
        short.subject.as_deref(),
        Some("[ALARM] status: w?b-?1 StatusCheckFailed > 0")
    );
    let truncated = delivered
        .iter()
        .find(|d| d.attributes["instance"] == long)
        .unwrap()
        .subject
        .clone()
        .unwrap();
    assert_eq!(truncated.len(), 99);
    // The resource name gives way; the state and the condition stay.
    assert!(
        truncated.starts_with("[ALARM] status: web-xxx")
            && truncated.ends_with("xxx... StatusCheckFailed > 0"),
        "{truncated}"
    );
}

#[test]
fn calls_in_flight_are_bounded_by_alert_max_concurrency() {
    let fake = FakeLightsail::start();
    let names: Vec<String> = (1..=6).map(|i| format!("web-{i}")).collect();
    for name in &names {
        fake.add_points(name, "StatusCheckFailed", "Count", &[(age(1, 60), 0.0)]);
        fake.delay(name, std::time::Duration::from_millis(300));
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(
        &dir,
        &format!(
            "version: 1\nrules:\n  - {{name: status, topicArn: \"{SOME_TOPIC}\", instances: [{}], metric: StatusCheckFailed, comparison: \">\", threshold: 0}}\n",
            names.join(", ")
        ),
    );
    let out = check(
        &rules,
        &["--dry-run"],
        &fake.env(),
        &[("ALERT_MAX_CONCURRENCY", "2")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fake.requests().len(), 6);
    // The bound is the property; how many overlap below it depends on scheduling.
    let in_flight = fake.max_in_flight();
    assert!(
        (1..=2).contains(&in_flight),
        "{in_flight} calls in flight at once"
    );

    let out = check(
        &rules,
        &["--dry-run"],
        &fake.env(),
        &[("ALERT_MAX_CONCURRENCY", "none")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("ALERT_MAX_CONCURRENCY=\"none\" is invalid: a whole number from 1 to 256"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_instance_is_recognised_whichever_error_code_the_sdk_reports() {
    let (fake, _dir, rules) = burst_fleet(SOME_TOPIC, "[web-1, ghost]");
    // Without x-amzn-ErrorType the SDK takes the body's `code: "NotFound"`.
    fake.without_error_type_header();
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    let ghost = result(&report, "burst-capacity-low", "ghost");
    assert_eq!(ghost["state"], "ERROR");
    assert!(
        ghost["error"]
            .as_str()
            .unwrap()
            .contains("`ghost` was not found in us-east-1"),
        "{ghost:#}"
    );
}

#[test]
fn each_notify_target_receives_the_alert_in_its_own_format() {
    let Some(moto) = Moto::start() else { return };
    let (text_topic, text_queue) = moto.topic_with_queue("alerts-text");
    let (json_topic, json_queue) = moto.topic_with_queue("alerts-json");
    let (fake, dir, _) = burst_fleet(SOME_TOPIC, "[web-1, web-2]");
    let rules = rules_file(
        &dir,
        &format!(
            r#"
version: 1
rules:
  - name: burst-capacity-low
    description: CPU burst capacity is running out
    instances: [web-1, web-2]
    metric: BurstCapacityPercentage
    comparison: LessThanThreshold
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 2
    severity: critical
    notify:
      - topicArn: {text_topic}
      - topicArn: {json_topic}
        format: json
"#
        ),
    );

    // A dry run lists both alerts, each with its topic and format.
    let out = check(&rules, &["--dry-run"], &fake.env(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let alerts = report(&out)["alerts"].as_array().unwrap().clone();
    let targets: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["topicArn"].as_str().unwrap(),
                a["format"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [(text_topic.as_str(), "text"), (json_topic.as_str(), "json")]
    );
    let out = run(command()
        .args(["check", "--dry-run", "--at", AT, "--rules"])
        .arg(&rules)
        .envs(fake.env()));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("--- to {json_topic} (format json)")),
        "{text}"
    );
    assert!(text.contains("2 alerts would be published"), "{text}");

    let out = check(
        &rules,
        &["--publish"],
        &[fake.env(), moto.env()].concat(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(report["published"], 2, "one alert, two targets");
    assert_eq!(
        result(&report, "burst-capacity-low", "web-1")["notified"],
        true
    );

    let subject = Some("[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20");
    let as_text = moto.receive_all(&text_queue);
    assert_eq!(as_text.len(), 1, "{as_text:#?}");
    assert_eq!(as_text[0].subject.as_deref(), subject);
    assert_eq!(as_text[0].attributes["format"], "text");
    assert!(
        as_text[0]
            .message
            .starts_with("ALARM: rule \"burst-capacity-low\" on instance \"web-1\" (us-east-1)"),
        "{}",
        as_text[0].message
    );

    let as_json = moto.receive_all(&json_queue);
    assert_eq!(as_json.len(), 1, "{as_json:#?}");
    assert_eq!(as_json[0].subject.as_deref(), subject);
    assert_eq!(as_json[0].attributes["format"], "json");
    assert_eq!(as_json[0].attributes["severity"], "critical");
    let document: Value = serde_json::from_str(&as_json[0].message)
        .unwrap_or_else(|e| panic!("{e}: {}", as_json[0].message));
    assert_eq!(document["version"], "1");
    assert_eq!(document["source"], "lightsail-alerts");
    assert_eq!(document["rule"], "burst-capacity-low");
    assert_eq!(document["instance"], "web-1");
    assert_eq!(document["state"], "ALARM");
    assert_eq!(document["previousState"], Value::Null);
    assert_eq!(document["evaluatedAt"], AT);
    assert_eq!(document["threshold"], 20.0);
    let values: Vec<f64> = document["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [25.5, 18.2, 12.0]);
}
