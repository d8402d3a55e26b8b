//! Black-box tests of the Lambda function: the compiled binary under a fake Lambda
//! Runtime API, invoked with the sample events in `events/`, against a fake Lightsail
//! and moto's SNS.

use std::path::Path;
use std::time::Duration;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::runtime::{FakeRuntime, Outcome};
use crate::support::{Finished, Spawned, command};
use serde_json::{Value, json};

/// The `time` of events/scheduled.json and the `at` of the Scheduler events.
use crate::support::{AT, T};
const WAIT: Duration = Duration::from_secs(60);

fn event(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fleet of the sample events: web-1 out of burst capacity, db-1 failing its status
/// check, web-2 healthy.
fn fleet() -> FakeLightsail {
    let fake = FakeLightsail::start();
    let burst = |values: [f64; 5]| -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (T - (5 - i as i64) * 300, *v))
            .collect()
    };
    fake.add_points(
        "web-1",
        "BurstCapacityPercentage",
        "Percent",
        &burst([45.0, 38.0, 25.0, 18.0, 12.0]),
    );
    fake.add_points(
        "web-2",
        "BurstCapacityPercentage",
        "Percent",
        &burst([80.0, 82.0, 85.0, 84.0, 86.0]),
    );
    for (instance, failed) in [("web-1", 0.0), ("web-2", 0.0), ("db-1", 1.0)] {
        let points: Vec<(i64, f64)> = (1..=3).map(|a| (T - a * 60, failed)).collect();
        fake.add_points(instance, "StatusCheckFailed", "Count", &points);
    }
    fake
}

const RULES: &str = r#"
version: 1
rules:
  - name: burst-capacity-low
    instances: [web-1, web-2]
    metric: BurstCapacityPercentage
    comparison: "<"
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 2
    severity: critical
  - name: status-check-failed
    instances: [web-1, web-2, db-1]
    metric: StatusCheckFailed
    comparison: ">"
    threshold: 0
"#;

const SOME_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

/// Runs the function for `events` and returns each invocation's outcome and what the
/// process logged.
fn invoke(events: Vec<Value>, env: &[(String, String)]) -> (Vec<Outcome>, Finished) {
    let n = events.len();
    let runtime = FakeRuntime::start(events);
    let lambda = Spawned::start(
        command()
            .envs(runtime.lambda_env())
            .envs(env.iter().cloned()),
    );
    let outcomes = runtime.wait_outcomes(n, WAIT);
    (outcomes, lambda.stop())
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn state<'a>(report: &'a Value, rule: &str, instance: &str) -> &'a Value {
    &report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule && r["instance"] == instance)
        .unwrap_or_else(|| panic!("no result for {rule}/{instance} in {report:#}"))["state"]
}

#[test]
fn every_sample_event_is_covered_by_these_tests() {
    let mut names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("events"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "invalid.json",
            "scheduled.json",
            "scheduler-inline-rules.json",
            "scheduler.json"
        ],
        "a new sample event needs a test here"
    );
}

#[test]
fn a_scheduled_event_evaluates_at_its_time_and_publishes_the_alarms() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("lambda-alerts");
    let fake = fleet();
    let mut vars = env(&[("ALERT_RULES", RULES), ("ALERT_TOPIC_ARN", &topic)]);
    vars.extend(fake.env());
    vars.extend(moto.env());
    let (outcomes, logs) = invoke(vec![event("scheduled.json")], &vars);
    let report = outcomes[0].response();
    assert_eq!(report["evaluatedAt"], AT, "the event's time, not the clock");
    assert_eq!(report["dryRun"], false);
    assert_eq!(report["published"], 2, "{report:#}");
    assert_eq!(state(report, "burst-capacity-low", "web-1"), "ALARM");
    assert_eq!(state(report, "status-check-failed", "db-1"), "ALARM");
    assert_eq!(state(report, "status-check-failed", "web-2"), "OK");
    let mut subjects: Vec<String> = moto
        .receive_all(&queue)
        .into_iter()
        .filter_map(|d| d.subject)
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20",
            "[ALARM] status-check-failed: db-1 StatusCheckFailed > 0",
        ]
    );
    // AWS_LAMBDA_LOG_FORMAT=JSON: every log line is a JSON object with a level.
    let lines: Vec<&str> = logs
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!lines.is_empty());
    let mut summaries = Vec::new();
    for line in lines {
        let log: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(log["level"].is_string(), "{line}");
        if log["message"] == "run finished" {
            summaries.push(log);
        }
    }
    // One summary per run, its fields JSON numbers and booleans, not Debug text.
    assert_eq!(summaries.len(), 1, "{}", logs.stderr);
    let summary = &summaries[0];
    let results = report["results"].as_array().unwrap().len();
    for (field, value) in [
        ("alarm", report["counts"]["ALARM"].clone()),
        ("ok", report["counts"]["OK"].clone()),
        ("results", Value::from(results)),
        ("published", Value::from(2)),
        ("errors", Value::from(0)),
    ] {
        assert_eq!(summary[field], value, "{field}: {summary}");
    }
    for field in ["ok", "error", "listings", "metric_queries", "duration_ms"] {
        assert!(summary[field].is_u64(), "{field}: {summary}");
    }
    assert_eq!(summary["dry_run"], false, "{summary}");
    assert_eq!(summary["at"], "2026-11-24T13:05:00Z", "{summary}");
}

#[test]
fn a_scheduler_input_with_inline_rules_and_dry_run_publishes_nothing() {
    let fake = fleet();
    // An SNS endpoint that refuses connections: a publish would fail the invocation.
    let mut vars = env(&[("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")]);
    vars.extend(fake.env());
    let (outcomes, _) = invoke(vec![event("scheduler-inline-rules.json")], &vars);
    let report = outcomes[0].response();
    assert_eq!(report["evaluatedAt"], AT);
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["published"], 0);
    let alerts = report["alerts"].as_array().unwrap();
    let subjects: Vec<&str> = alerts
        .iter()
        .map(|a| a["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20",
            "[ALARM] status-check-failed: db-1 StatusCheckFailed > 0",
        ]
    );
    assert_eq!(alerts[0]["topicArn"], SOME_TOPIC);
    assert_eq!(alerts[0]["attributes"]["severity"], "critical");
}

#[test]
fn a_scheduler_input_with_only_a_time_uses_the_configured_rules() {
    let fake = fleet();
    let mut vars = env(&[("ALERT_RULES", RULES), ("ALERT_TOPIC_ARN", SOME_TOPIC)]);
    vars.extend(fake.env());
    let mut dry_run = event("scheduler.json");
    dry_run["dryRun"] = json!(true);
    let (outcomes, _) = invoke(
        vec![
            dry_run,
            json!({"at": "2026-11-24T13:09:59Z", "dryRun": true}),
        ],
        &vars,
    );
    assert_eq!(outcomes.len(), 2, "one process serves several invocations");
    let first = outcomes[0].response();
    assert_eq!(first["evaluatedAt"], AT);
    assert_eq!(state(first, "burst-capacity-low", "web-1"), "ALARM");
    // 13:09:59 is still inside the 13:05 period: the same range, the same result.
    let second = outcomes[1].response();
    assert_eq!(state(second, "burst-capacity-low", "web-1"), "ALARM");
    assert_eq!(
        state(second, "burst-capacity-low", "web-1"),
        state(first, "burst-capacity-low", "web-1")
    );
}

#[test]
fn an_event_of_another_kind_is_rejected_with_what_was_received() {
    let fake = fleet();
    let mut vars = env(&[("ALERT_RULES", RULES), ("ALERT_TOPIC_ARN", SOME_TOPIC)]);
    vars.extend(fake.env());
    let (outcomes, logs) = invoke(
        vec![
            event("invalid.json"),
            json!("hello"),
            json!({"rules": RULES, "typo": 1}),
        ],
        &vars,
    );
    let (kind, message) = outcomes[0].failure();
    assert_eq!(kind, "InvalidInput");
    assert!(
        message.contains("detail-type \"Object Created\" from source aws.s3"),
        "{message}"
    );
    assert!(
        message.contains("Scheduled Event"),
        "says what is accepted: {message}"
    );
    let (_, message) = outcomes[1].failure();
    assert!(message.contains("received a string"), "{message}");
    let (_, message) = outcomes[2].failure();
    assert!(message.contains("typo"), "{message}");
    assert!(fake.requests().is_empty());
    // The handler logs its error: the runtime would not.
    assert!(logs.stderr.contains("Object Created"), "{}", logs.stderr);
}

#[test]
fn invalid_rules_fail_the_invocation_before_any_call() {
    let fake = fleet();
    let bad = RULES
        .replace("threshold: 20", "threshold: twenty")
        .replace("metric: StatusCheckFailed", "metric: StatusChecks");
    let mut vars = env(&[("ALERT_RULES", &bad), ("ALERT_TOPIC_ARN", SOME_TOPIC)]);
    vars.extend(fake.env());
    let (outcomes, _) = invoke(vec![event("scheduled.json")], &vars);
    let (kind, message) = outcomes[0].failure();
    assert_eq!(kind, "InvalidRules");
    assert!(
        message.contains("ALERT_RULES:8:16: rules[0] (burst-capacity-low): threshold"),
        "{message}"
    );
    assert!(
        message.contains("rules[1] (status-check-failed): metric: `StatusChecks`"),
        "{message}"
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn a_publish_that_fails_after_retries_fails_the_invocation() {
    let Some(moto) = Moto::start() else { return };
    let fake = fleet();
    let missing = "arn:aws:sns:us-east-1:123456789012:gone";
    let mut vars = env(&[("ALERT_RULES", RULES), ("ALERT_TOPIC_ARN", missing)]);
    vars.extend(fake.env());
    vars.extend(moto.env());
    let (outcomes, logs) = invoke(vec![event("scheduled.json")], &vars);
    let (kind, message) = outcomes[0].failure();
    assert_eq!(kind, "RunFailed");
    assert!(
        message.contains("2 alert(s) could not be published"),
        "{message}"
    );
    // Nothing is lost: each unpublished alert is in the logs, whole, every part a JSON
    // value of its own (no JSON inside a string), and so is each error of the run.
    let logs: Vec<Value> = logs
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let with = |message: &str| -> Vec<&Value> {
        logs.iter()
            .filter(|log| log["message"] == message)
            .collect()
    };
    let unsent = with("alert could not be published");
    assert_eq!(unsent.len(), 2, "{logs:#?}");
    let mut subjects: Vec<&str> = unsent
        .iter()
        .map(|log| log["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "[ALARM] burst-capacity-low: web-1 BurstCapacityPercentage < 20",
            "[ALARM] status-check-failed: db-1 StatusCheckFailed > 0",
        ]
    );
    for log in &unsent {
        assert_eq!(log["topic"], missing, "{log}");
        assert_eq!(log["format"], "text", "{log}");
        assert_eq!(log["state"], "ALARM", "{log}");
        assert_eq!(log["region"], "us-east-1", "{log}");
        let body = log["body"].as_str().unwrap();
        let resource = log["resource"].as_str().unwrap();
        assert!(
            body.contains(&format!("on instance \"{resource}\"")),
            "{body}"
        );
    }
    let errors = with("run error");
    assert_eq!(errors.len(), 2, "{logs:#?}");
    assert!(
        errors
            .iter()
            .all(|log| log["stage"] == "publish" && log["error"].is_string())
    );
    assert_eq!(with("run failed")[0]["errors"], 2);
    for log in &logs {
        for (field, value) in log.as_object().unwrap() {
            let nested = value
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .is_some_and(|v| v.is_object() || v.is_array());
            assert!(!nested, "{field} is JSON in a string: {log}");
        }
    }
}

#[test]
fn when_every_fetch_fails_the_invocation_fails() {
    let fake = FakeLightsail::start();
    let mut vars = env(&[("ALERT_RULES", RULES), ("ALERT_TOPIC_ARN", SOME_TOPIC)]);
    vars.extend(fake.env());
    let (outcomes, _) = invoke(vec![event("scheduled.json")], &vars);
    let (kind, message) = outcomes[0].failure();
    assert_eq!(kind, "RunFailed");
    assert!(message.contains("nothing could be evaluated"), "{message}");
}

#[test]
fn with_a_state_table_a_redelivered_event_notifies_once() {
    let Some(moto) = Moto::start() else { return };
    moto.create_state_table("lambda-state");
    let (topic, queue) = moto.topic_with_queue("lambda-stateful");
    let fake = fleet();
    let mut vars = env(&[
        ("ALERT_RULES", RULES),
        ("ALERT_TOPIC_ARN", &topic),
        ("ALERT_STATE_TABLE", "lambda-state"),
    ]);
    vars.extend(fake.env());
    vars.extend(moto.env());
    // EventBridge delivers at least once: the same event twice.
    let (outcomes, _) = invoke(
        vec![event("scheduled.json"), event("scheduled.json")],
        &vars,
    );
    let first = outcomes[0].response();
    assert_eq!(first["published"], 2, "{first:#}");
    let web1 = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "burst-capacity-low" && r["instance"] == "web-1")
        .unwrap();
    assert_eq!(web1["why"], "transition");
    assert_eq!(web1["previousState"], Value::Null);
    let second = outcomes[1].response();
    assert_eq!(second["published"], 0, "{second:#}");
    assert_eq!(moto.receive_all(&queue).len(), 2);
}

#[test]
fn a_warm_function_lists_each_region_once_per_invocation_and_a_failing_region_fails_only_itself() {
    let fake = fleet();
    fake.fail_region("eu-west-1", 403);
    let rules = r#"
version: 1
rules:
  - name: burst-capacity-low
    instances: ["web-*"]
    regions: [us-east-1, eu-west-1]
    metric: BurstCapacityPercentage
    comparison: "<"
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 2
"#;
    let dry_run = serde_json::json!({"at": AT, "dryRun": true});
    let mut vars = env(&[("ALERT_RULES", rules), ("ALERT_TOPIC_ARN", SOME_TOPIC)]);
    vars.extend(fake.env());
    let (outcomes, logs) = invoke(vec![dry_run.clone(), dry_run], &vars);
    for outcome in &outcomes {
        let report = outcome.response();
        assert_eq!(state(report, "burst-capacity-low", "web-1"), "ALARM");
        assert_eq!(state(report, "burst-capacity-low", "web-2"), "OK");
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{report:#}");
        assert_eq!(errors[0]["stage"], "select");
        assert_eq!(errors[0]["region"], "eu-west-1");
    }
    // One listing per region per invocation: us-east-1 has 3 instances (2 pages of 3
    // at most), eu-west-1 answers its one call with access denied.
    let first_pages = fake
        .requests()
        .iter()
        .filter(|r| {
            r.operation() == Some("GetInstances") && r.region.as_deref() == Some("us-east-1")
        })
        .filter(|r| r.body.get("pageToken").is_none())
        .count();
    assert_eq!(first_pages, 2);
    assert_eq!(fake.calls("GetInstances", "eu-west-1"), 2);
    assert!(
        logs.stderr.contains("GetInstances failed in eu-west-1"),
        "{}",
        logs.stderr
    );
}
