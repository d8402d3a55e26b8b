//! Black-box tests of rules read from S3 (`--rules s3://...`, `ALERT_RULES_FILE=s3://...`):
//! the compiled binary as a command line and as a Lambda (under a fake Runtime API),
//! against moto's S3 and a fake Lightsail.

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::runtime::FakeRuntime;
use crate::support::{Spawned, command};
use lightsail_alerts::aws::s3::{S3Rules, S3Uri};
use serde_json::{Value, json};

use crate::support::{AT, T};
const WAIT: Duration = Duration::from_secs(60);
const SOME_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";
const BUCKET: &str = "ops-config";
const KEY: &str = "alerts/rules.yaml";
const URI: &str = "s3://ops-config/alerts/rules.yaml";

/// web-1 is running out of burst capacity, web-2 is fine.
fn fleet() -> FakeLightsail {
    let fake = FakeLightsail::start();
    for (instance, values) in [
        ("web-1", [45.0, 38.0, 25.0, 18.0, 12.0]),
        ("web-2", [80.0, 82.0, 85.0, 84.0, 86.0]),
    ] {
        let points: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (T - (5 - i as i64) * 300, *v))
            .collect();
        fake.add_points(instance, "BurstCapacityPercentage", "Percent", &points);
    }
    fake
}

/// A rules document with one burst-capacity rule named `name`.
fn rules(name: &str) -> String {
    format!(
        r#"
version: 1
defaults:
  topicArn: {SOME_TOPIC}
rules:
  - name: {name}
    instances: [web-1, web-2]
    metric: BurstCapacityPercentage
    comparison: "<"
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 2
"#
    )
}

/// moto with the rules bucket, and `rules` at [`KEY`] unless `None`.
fn moto_with_rules(rules: Option<&str>) -> Option<Moto> {
    let moto = Moto::start()?;
    moto.create_bucket(BUCKET);
    if let Some(rules) = rules {
        moto.put_object(BUCKET, KEY, rules);
    }
    Some(moto)
}

fn vars(fake: &FakeLightsail, moto: Option<&Moto>) -> Vec<(String, String)> {
    let mut vars = fake.env();
    vars.extend(moto.map(Moto::env).unwrap_or_default());
    vars
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rule_names(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["results"]
        .as_array()
        .unwrap_or_else(|| panic!("not a run report: {report:#}"))
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect();
    names.dedup();
    names
}

fn check(args: &[&str], vars: &[(String, String)]) -> Output {
    command()
        .args(["check", "--output", "json", "--dry-run", "--at", AT])
        .args(args)
        .envs(vars.iter().cloned())
        .output()
        .expect("the binary runs")
}

fn report(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not the JSON report ({e}): {}", stderr(out)))
}

#[test]
fn check_and_validate_read_the_rules_from_s3_given_with_rules_or_alert_rules_file() {
    let Some(moto) = moto_with_rules(Some(&rules("burst-capacity-low"))) else {
        return;
    };
    let fake = fleet();
    let vars = vars(&fake, Some(&moto));

    let from_argument = report(&check(&["--rules", URI], &vars));
    assert_eq!(rule_names(&from_argument), ["burst-capacity-low"]);
    assert_eq!(from_argument["results"][0]["state"], "ALARM");

    let mut with_env = vars.clone();
    with_env.push(("ALERT_RULES_FILE".into(), URI.into()));
    let from_env = report(&check(&[], &with_env));
    assert_eq!(from_env["results"], from_argument["results"]);

    let out = command()
        .args(["validate", "--rules", URI])
        .envs(vars.iter().cloned())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let validated: Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    assert_eq!(validated["rules"][0]["name"], "burst-capacity-low");
    assert_eq!(validated["rules"][0]["statistic"], "Average");
}

#[test]
fn a_missing_object_or_bucket_is_invalid_input_naming_the_uri_and_the_s3_error_code() {
    let Some(moto) = moto_with_rules(None) else {
        return;
    };
    let fake = fleet();
    let vars = vars(&fake, Some(&moto));
    for (uri, code) in [
        (URI, "NoSuchKey"),
        ("s3://no-such-bucket/rules.yaml", "NoSuchBucket"),
    ] {
        for command_line in [
            vec!["check", "--rules", uri],
            vec!["validate", "--rules", uri],
        ] {
            let out = command()
                .args(&command_line)
                .envs(vars.iter().cloned())
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{command_line:?}: {err}");
            assert!(
                err.contains(&format!(
                    "error: cannot read the rules from {uri}: {code} (HTTP 404)"
                )),
                "{command_line:?}: {err}"
            );
        }
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn invalid_rules_in_s3_are_reported_with_the_uri_as_their_source() {
    let bad = rules("burst-capacity-low").replace("threshold: 20", "threshold: twenty");
    let Some(moto) = moto_with_rules(Some(&bad)) else {
        return;
    };
    let fake = fleet();
    let out = check(&["--rules", URI], &vars(&fake, Some(&moto)));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{URI}:10:16: rules[0] (burst-capacity-low): threshold"
        )),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn s3_out_of_reach_is_a_run_error_worth_retrying() {
    let fake = fleet();
    let mut vars = vars(&fake, None);
    vars.extend([
        ("AWS_ENDPOINT_URL_S3".into(), "http://127.0.0.1:9".into()),
        ("AWS_MAX_ATTEMPTS".into(), "1".into()),
    ]);
    let out = check(&["--rules", URI], &vars);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: cannot read the rules from {URI}: S3 could not be reached"
        )),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn an_s3_uri_without_a_bucket_or_a_key_is_an_invalid_setting() {
    let out = command()
        .args(["check", "--rules", "s3://ops-config"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid value 's3://ops-config' for '--rules <FILE>': the S3 URI has no key"),
        "{err}"
    );
    let out = command()
        .arg("check")
        .env("ALERT_RULES_FILE", "s3:///rules.yaml")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "error: ALERT_RULES_FILE=\"s3:///rules.yaml\" is invalid: the S3 URI has no bucket; expected s3://BUCKET/KEY"
        ),
        "{err}"
    );
}

// The reader itself, as the Lambda keeps it between invocations.

#[test]
fn the_reader_downloads_only_new_versions_and_fails_once_the_object_is_gone() {
    let Some(moto) = moto_with_rules(Some("version: 1\n")) else {
        return;
    };
    let uri = S3Uri::parse(URI).unwrap().unwrap();
    let reader = S3Rules::new(moto.s3(), uri);
    let first = moto.block_on(reader.text()).unwrap();
    assert_eq!(&*first, "version: 1\n");
    // 304: the very copy read before, not a new download.
    let again = moto.block_on(reader.text()).unwrap();
    assert!(Arc::ptr_eq(&first, &again));

    moto.put_object(BUCKET, KEY, "version: 1\nrules: []\n");
    let changed = moto.block_on(reader.text()).unwrap();
    assert_eq!(&*changed, "version: 1\nrules: []\n");

    // Deleted: a permanent error, even with a copy cached.
    moto.delete_object(BUCKET, KEY);
    let err = moto.block_on(reader.text()).unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"));
    assert!(!err.is_transient());
    assert!(
        err.to_string().starts_with(&format!(
            "cannot read the rules from {URI}: NoSuchKey (HTTP 404)"
        )),
        "{err}"
    );
    // Restored with the same text (the same ETag): the cached copy is current again.
    moto.put_object(BUCKET, KEY, "version: 1\nrules: []\n");
    let restored = moto.block_on(reader.text()).unwrap();
    assert!(Arc::ptr_eq(&changed, &restored));
}

#[test]
fn the_reader_drops_a_byte_order_mark_and_refuses_utf16_by_name() {
    let Some(moto) = moto_with_rules(Some("\u{FEFF}version: 1\r\n")) else {
        return;
    };
    let uri = S3Uri::parse(URI).unwrap().unwrap();
    let reader = S3Rules::new(moto.s3(), uri);
    assert_eq!(&*moto.block_on(reader.text()).unwrap(), "version: 1\r\n");

    let utf16: Vec<u8> = "\u{FEFF}version: 1\r\n"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let put = moto
        .s3()
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(utf16.into());
    moto.block_on(put.send()).unwrap();
    let err = moto.block_on(reader.text()).unwrap_err();
    assert!(
        !err.is_transient(),
        "an encoding is fixed by saving, not by retrying"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "cannot read the rules from {URI}: the document is UTF-16 BE text (it starts with \
             the UTF-16 BE byte-order mark), not UTF-8; allowed: UTF-8 only"
        )),
        "{err}"
    );
}

// The Lambda function.

fn invocation() -> Value {
    json!({"at": AT, "dryRun": true})
}

fn lambda_env(runtime: &FakeRuntime, vars: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = runtime.lambda_env();
    env.extend(vars.iter().cloned());
    env.push(("ALERT_RULES_FILE".into(), URI.into()));
    env
}

/// The JSON log lines whose message starts with `message`.
fn logged(stderr: &str, message: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|log| {
            log["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
        })
        .collect()
}

#[test]
fn the_function_reads_the_object_once_then_only_checks_it_for_changes() {
    let Some(moto) = moto_with_rules(None) else {
        return;
    };
    let first_etag = moto.put_object(BUCKET, KEY, &rules("burst-capacity-low"));
    let fake = fleet();
    let mut runtime = FakeRuntime::start(vec![invocation(), invocation()]);
    let lambda = Spawned::start(command().envs(lambda_env(&runtime, &vars(&fake, Some(&moto)))));
    let outcomes = runtime.wait_outcomes(2, WAIT);
    for outcome in &outcomes {
        assert_eq!(rule_names(outcome.response()), ["burst-capacity-low"]);
    }

    // A new version is used by the next invocation of the same (warm) process.
    let second_etag = moto.put_object(BUCKET, KEY, &rules("burst-capacity-critical"));
    assert_ne!(second_etag, first_etag);
    runtime.push(invocation());
    let outcomes = runtime.wait_outcomes(3, WAIT);
    assert_eq!(
        rule_names(outcomes[2].response()),
        ["burst-capacity-critical"]
    );

    // A new version with invalid rules fails the invocation before any Lightsail call;
    // the old rules are not kept.
    let calls = fake.requests().len();
    let bad = rules("burst-capacity-critical")
        .replace("metric: BurstCapacityPercentage", "metric: BurstCapacity");
    moto.put_object(BUCKET, KEY, &bad);
    runtime.push(invocation());
    let outcomes = runtime.wait_outcomes(4, WAIT);
    let (kind, message) = outcomes[3].failure();
    assert_eq!(kind, "InvalidRules");
    assert!(
        message.contains(&format!(
            "{URI}:8:13: rules[0] (burst-capacity-critical): metric"
        )),
        "{message}"
    );
    assert_eq!(
        fake.requests().len(),
        calls,
        "no Lightsail call for invalid rules"
    );

    // Fixed: the next invocation runs again.
    moto.put_object(BUCKET, KEY, &rules("burst-capacity-low"));
    runtime.push(invocation());
    let outcomes = runtime.wait_outcomes(5, WAIT);
    assert_eq!(rule_names(outcomes[4].response()), ["burst-capacity-low"]);

    let logs = lambda.stop().stderr;
    let read = logged(&logs, "read the rules");
    assert_eq!(read.len(), 1, "read once, on the first invocation:\n{logs}");
    assert_eq!(read[0]["uri"], URI);
    assert_eq!(read[0]["etag"], first_etag.as_str());
    let unchanged = logged(&logs, "the rules are unchanged");
    assert_eq!(unchanged.len(), 1, "{logs}");
    assert_eq!(unchanged[0]["etag"], first_etag.as_str());
    assert_eq!(unchanged[0]["uri"], URI);
    let changed = logged(&logs, "the rules changed");
    assert_eq!(changed.len(), 3, "{logs}");
    assert_eq!(changed[0]["previous_etag"], first_etag.as_str());
    assert_eq!(changed[0]["etag"], second_etag.as_str());
}

#[test]
fn a_cold_start_that_cannot_read_the_object_fails_with_rules_unavailable() {
    let Some(moto) = moto_with_rules(None) else {
        return;
    };
    let fake = fleet();
    let runtime = FakeRuntime::start(vec![invocation()]);
    let lambda = Spawned::start(command().envs(lambda_env(&runtime, &vars(&fake, Some(&moto)))));
    let outcomes = runtime.wait_outcomes(1, WAIT);
    let logs = lambda.stop().stderr;
    let (kind, message) = outcomes[0].failure();
    assert_eq!(kind, "RulesUnavailable");
    assert!(
        message.starts_with(&format!(
            "cannot read the rules from {URI}: NoSuchKey (HTTP 404)"
        )),
        "{message}"
    );
    assert!(fake.requests().is_empty());
    assert!(!logged(&logs, "invocation failed").is_empty(), "{logs}");
}

#[test]
fn a_warm_function_keeps_alerting_with_its_cached_rules_when_s3_is_out_of_reach() {
    let Some(moto) = moto_with_rules(Some(&rules("burst-capacity-low"))) else {
        return;
    };
    let fake = fleet();
    let mut runtime = FakeRuntime::start(vec![invocation()]);
    let mut vars = vars(&fake, Some(&moto));
    // One attempt: S3 is down for good in this test, retries would only slow it.
    vars.push(("AWS_MAX_ATTEMPTS".into(), "1".into()));
    let lambda = Spawned::start(command().envs(lambda_env(&runtime, &vars)));
    let first = runtime.wait_outcomes(1, WAIT)[0].response().clone();
    drop(moto);
    runtime.push(invocation());
    let outcomes = runtime.wait_outcomes(2, WAIT);
    let second = outcomes[1].response();
    assert_eq!(second["results"], first["results"]);
    assert_eq!(rule_names(second), ["burst-capacity-low"]);
    let logs = lambda.stop().stderr;
    let warnings = logged(
        &logs,
        "cannot check the rules for changes; using the cached copy",
    );
    assert_eq!(warnings.len(), 1, "{logs}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["uri"], URI);
    let error = warnings[0]["error"].as_str().unwrap();
    assert!(error.contains("S3 could not be reached"), "{error}");
}
