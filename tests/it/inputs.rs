//! Inputs refused, faults kept from the user (SPEC §13), black-box: invalid settings, an
//! evaluation time from the future and a closed stdout, against the command line and the
//! Lambda function (under the fake Runtime API), with a fake Lightsail that must see no
//! call when the input is refused.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::runtime::FakeRuntime;
use crate::support::{Spawned, command, stderr};
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::support::{AT, T};
const SOME_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";
const WAIT: Duration = Duration::from_secs(60);

fn rules(topic: &str) -> String {
    format!(
        "version: 1\ndefaults: {{topicArn: \"{topic}\"}}\nrules:\n  - {{name: burst-capacity-low, \
         instances: [web-1], metric: BurstCapacityPercentage, comparison: '<', threshold: 20}}\n"
    )
}

/// A fake Lightsail where web-1 is out of burst capacity at [`AT`].
fn fleet() -> FakeLightsail {
    let fake = FakeLightsail::start();
    let points: Vec<(i64, f64)> = (1..=3).map(|age| (T - age * 300, 12.0)).collect();
    fake.add_points("web-1", "BurstCapacityPercentage", "Percent", &points);
    fake
}

fn rules_file(dir: &tempfile::TempDir, topic: &str) -> PathBuf {
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, rules(topic)).unwrap();
    path
}

fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// `check --dry-run --at AT --rules FILE` against `fake`, with `vars` on top.
fn check(fake: &FakeLightsail, rules: &PathBuf, vars: &[(&str, &str)]) -> Output {
    command()
        .args(["check", "--dry-run", "--at", AT, "--rules"])
        .arg(rules)
        .envs(fake.env())
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn each_invalid_setting_exits_2_naming_it_and_what_is_allowed_before_any_call() {
    let fake = fleet();
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, SOME_TOPIC);
    let cases = [
        ("AWS_MAX_ATTEMPTS", "0", "from 1 (no retries) to 100"),
        ("AWS_MAX_ATTEMPTS", "-1", "from 1 (no retries) to 100"),
        ("AWS_MAX_ATTEMPTS", "abc", "from 1 (no retries) to 100"),
        ("AWS_MAX_ATTEMPTS", "1.5", "from 1 (no retries) to 100"),
        ("AWS_RETRY_MODE", "legacy", "standard or adaptive"),
        ("AWS_USE_FIPS_ENDPOINT", "maybe", "true or false"),
        ("AWS_USE_DUALSTACK_ENDPOINT", "yes", "true or false"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "1", "true or false"),
        ("ALERT_MAX_CONCURRENCY", "0", "from 1 to 256"),
        ("ALERT_DEADLINE_MARGIN_MS", "3s", "from 0 to 900000"),
        ("AWS_REGION", "us east 1", "an AWS region name"),
        (
            "AWS_ENDPOINT_URL",
            "localhost:4566",
            "an absolute http:// or https:// URL",
        ),
        (
            "AWS_ENDPOINT_URL_LIGHTSAIL",
            "",
            "an absolute http:// or https:// URL",
        ),
        (
            "AWS_ENDPOINT_URL_SNS",
            "ftp://sns",
            "an absolute http:// or https:// URL",
        ),
    ];
    for (name, value, allowed) in cases {
        let out = check(&fake, &rules, &[(name, value)]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}={value:?}: {err}");
        assert!(
            err.contains(&format!("error: {name}={value:?} is invalid: ")) && err.contains(allowed),
            "{name}={value:?}: {err}"
        );
        assert_no_panic(&err);
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn an_alert_variable_that_is_not_utf8_is_invalid_not_unset() {
    use std::os::unix::ffi::OsStrExt;
    let fake = fleet();
    let latin1 = std::ffi::OsStr::from_bytes(b"version: 1 # caf\xe9");
    let out = command()
        .args(["check", "--dry-run", "--at", AT])
        .envs(fake.env())
        .env("ALERT_RULES", latin1)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ALERT_RULES=") && err.contains("not UTF-8"),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn every_invalid_setting_is_named_in_one_message() {
    let fake = fleet();
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, SOME_TOPIC);
    let bad = [
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_RETRY_MODE", "fast"),
        ("AWS_REGION", "Frankfurt"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb"),
    ];
    let out = check(&fake, &rules, &bad);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: 4 invalid settings:\n"), "{err}");
    for (name, value) in bad {
        assert!(
            err.contains(&format!("\n  {name}={value:?} is invalid: ")),
            "{name}: {err}"
        );
    }
    assert!(fake.requests().is_empty());
    // `validate` reads the same environment and refuses it the same way.
    let out = command()
        .args(["validate", "--rules"])
        .arg(&rules)
        .envs(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 invalid settings"));
}

/// Runs `cmd` with its stdout a pipe whose reader is gone before it writes (`| head -c0`).
fn with_stdout_closed(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (out.status.code(), stderr(&out))
}

#[test]
fn a_closed_stdout_ends_the_output_quietly_with_the_runs_exit_status() {
    let fake = FakeLightsail::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, SOME_TOPIC);
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules.yaml");
    let mut cases: Vec<(&str, Command, i32)> = vec![
        ("the built-in example", command(), 0),
        ("its JSON report", command(), 0),
        ("validate", command(), 0),
        ("a run error (web-1 is unknown)", command(), 1),
    ];
    cases[0].1.arg("check");
    cases[1].1.args(["check", "--output", "json"]);
    cases[2].1.args(["validate", "--rules", examples]);
    cases[3]
        .1
        .args(["check", "--dry-run", "--at", AT, "--rules"])
        .arg(&rules)
        .envs(fake.env());
    for (what, mut cmd, expected) in cases {
        let (code, err) = with_stdout_closed(&mut cmd);
        assert_eq!(code, Some(expected), "{what}: {err}");
        assert_no_panic(&err);
    }
}

#[test]
fn an_alert_published_with_stdout_closed_is_sent_once_and_the_run_exits_0() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("piped");
    let fake = fleet();
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, &topic);
    let (code, err) = with_stdout_closed(
        command()
            .args(["check", "--publish", "--at", AT, "--rules"])
            .arg(&rules)
            .envs(fake.env())
            .envs(moto.env()),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_no_panic(&err);
    assert_eq!(moto.receive_all(&queue).len(), 1);
}

#[test]
fn an_evaluation_time_from_the_future_exits_2_before_any_call() {
    let fake = fleet();
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(&dir, SOME_TOPIC);
    let at = |ahead: TimeDelta| {
        command()
            .args(["check", "--dry-run", "--at"])
            .arg((Utc::now() + ahead).to_rfc3339())
            .arg("--rules")
            .arg(&rules)
            .envs(fake.env())
            .output()
            .unwrap()
    };
    let out = at(TimeDelta::days(400));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: --at "), "{err}");
    assert!(
        err.contains("is 400 days after the clock (")
            && err.contains("at most 5 minutes ahead of the clock"),
        "{err}"
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // Within the 5 minutes allowed for clock skew, the run goes ahead.
    let out = at(TimeDelta::minutes(4));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!fake.requests().is_empty());
}

/// The fake Runtime API's environment, with `vars` on top and `without` left out.
fn lambda(runtime: &FakeRuntime, vars: &[(&str, &str)], without: &[&str]) -> Spawned {
    let mut cmd = command();
    for (name, value) in runtime.lambda_env() {
        if !without.contains(&name.as_str()) {
            cmd.env(name, value);
        }
    }
    Spawned::start(cmd.envs(vars.iter().copied()))
}

#[test]
fn invalid_settings_are_an_init_error_naming_every_one_and_the_process_exits() {
    let runtime = FakeRuntime::start(vec![json!({})]);
    let rules = rules(SOME_TOPIC);
    let vars = [
        ("ALERT_RULES", rules.as_str()),
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_REGION", "nowhere"),
    ];
    let process = lambda(&runtime, &vars, &["AWS_LAMBDA_FUNCTION_VERSION"]);
    let init = runtime.wait_init_error(WAIT);
    let finished = process.wait(WAIT);
    assert_eq!(init.error_type.as_deref(), Some("InvalidSettings"));
    assert_eq!(init.body["errorType"], "InvalidSettings");
    let message = init.body["errorMessage"].as_str().unwrap();
    for expected in [
        "3 invalid settings:",
        "AWS_MAX_ATTEMPTS=\"0\" is invalid: a whole number of attempts",
        "AWS_REGION=\"nowhere\" is invalid: an AWS region name",
        "AWS_LAMBDA_FUNCTION_VERSION is not set",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert_eq!(runtime.next_calls(), 0, "no event is asked for");
    assert!(
        matches!(finished.code, Some(code) if code != 0),
        "exits non-zero: {finished:?}"
    );
    assert_no_panic(&finished.stderr);
    let logged: Value = finished
        .stderr
        .lines()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("a JSON log line: {}", finished.stderr));
    assert_eq!(logged["level"], "ERROR", "{logged}");
}

#[test]
fn an_event_from_the_future_fails_its_invocation_before_any_call() {
    let fake = fleet();
    let later = |days| (Utc::now() + TimeDelta::days(days)).to_rfc3339();
    let runtime = FakeRuntime::start(vec![
        json!({"at": later(1)}),
        json!({"version": "0", "id": "1", "detail-type": "Scheduled Event",
               "source": "aws.events", "account": "123456789012", "time": later(400),
               "region": "us-east-1", "resources": [], "detail": {}}),
    ]);
    let rules = rules(SOME_TOPIC);
    let endpoints = fake.env();
    let mut vars = vec![("ALERT_RULES", rules.as_str())];
    vars.extend(endpoints.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let process = lambda(&runtime, &vars, &[]);
    let outcomes = runtime.wait_outcomes(2, WAIT);
    process.stop();
    for (outcome, span) in outcomes.iter().zip(["1 day after", "400 days after"]) {
        let (kind, message) = outcome.failure();
        assert_eq!(kind, "InvalidInput");
        assert!(
            message.starts_with("the event's evaluation time (`at` or `time`) ")
                && message.contains(span)
                && message.contains("at most 5 minutes ahead of the clock"),
            "{message}"
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}
