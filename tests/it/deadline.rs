//! One run as a streaming pipeline with a deadline (SPEC §12), black-box: the binary
//! against a fake Lightsail with slow and hung instances, a fake Runtime API giving short
//! deadlines, and moto's SNS with an SQS subscriber that counts what arrives when.

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::runtime::FakeRuntime;
use crate::support::{Spawned, check_json, command, report};
use serde_json::Value;

use crate::support::{AT, T};

/// Longer than any run here may take: a call delayed this long is hung, as far as a run
/// is concerned.
const HUNG: Duration = Duration::from_secs(300);

/// CPU over the last five 5-minute periods: 95 (ALARM for `> 80`) or 20 (OK).
fn cpu(fake: &FakeLightsail, instance: &str, high: bool) {
    let value = if high { 95.0 } else { 20.0 };
    let points: Vec<(i64, f64)> = (1..=5).map(|age| (T - age * 300, value)).collect();
    fake.add_points(instance, "CPUUtilization", "Percent", &points);
}

struct Rules {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// One rule, CPUUtilization > 80 on `instances`, publishing to `topic`.
fn rules(instances: &[&str], topic: &str) -> Rules {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    let text = format!(
        "version: 1\nrules:\n  - {{name: cpu-high, instances: [{}], metric: CPUUtilization, comparison: '>', threshold: 80, topicArn: '{topic}'}}\n",
        instances.join(", ")
    );
    std::fs::write(&path, text).unwrap();
    Rules { _dir: dir, path }
}

/// `check --dry-run --output json --at AT` of `rules` against `fake`, with `args` and
/// `env` added.
fn dry_check(rules: &Rules, fake: &FakeLightsail, args: &[&str], env: &[(&str, &str)]) -> Output {
    check_json(&rules.path)
        .arg("--dry-run")
        .args(args)
        .envs(fake.env())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The result for `instance`.
fn result<'a>(report: &'a Value, instance: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == instance)
        .unwrap_or_else(|| panic!("no result for {instance}: {report:#}"))
}

#[test]
fn check_with_a_timeout_reports_hung_instances_as_deadline_errors_and_evaluates_the_rest() {
    let fake = FakeLightsail::start();
    cpu(&fake, "web-1", true);
    cpu(&fake, "web-2", false);
    for hung in ["web-3", "web-4"] {
        cpu(&fake, hung, true);
        fake.delay(hung, HUNG);
    }
    let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
    let rules = rules(&["web-1", "web-2", "web-3", "web-4"], topic);
    let started = Instant::now();
    let out = dry_check(&rules, &fake, &["--timeout", "2"], &[]);
    let took = started.elapsed();
    // Some were evaluated, so the run completed.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < HUNG / 2,
        "the run waited for the hung calls ({took:?}) instead of stopping at its deadline"
    );
    let report = report(&out);
    assert_eq!(result(&report, "web-1")["state"], "ALARM");
    assert_eq!(result(&report, "web-2")["state"], "OK");
    for hung in ["web-3", "web-4"] {
        let result = result(&report, hung);
        assert_eq!(result["state"], "ERROR", "{result:#}");
        assert_eq!(result["why"], "deadline", "{result:#}");
        let reason = result["reason"].as_str().unwrap();
        assert!(
            reason.contains("the run's deadline") && reason.contains("--timeout"),
            "{reason}"
        );
    }
    let deadline_errors: Vec<&Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == "deadline")
        .collect();
    assert_eq!(deadline_errors.len(), 2, "{report:#}");
    assert!(deadline_errors.iter().all(|e| e["rule"] == "cpu-high"));
    // The evaluated ALARM is still in the dry run's alerts.
    let alerts = report["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0]["subject"].as_str().unwrap().contains("web-1"));
}

#[test]
fn a_run_whose_every_fetch_missed_the_deadline_fails() {
    let fake = FakeLightsail::start();
    cpu(&fake, "web-1", true);
    fake.delay("web-1", HUNG);
    let rules = rules(&["web-1"], "arn:aws:sns:us-east-1:123456789012:alerts");
    let out = dry_check(&rules, &fake, &["--timeout", "1"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing evaluated is a run error"
    );
    let report = report(&out);
    assert_eq!(result(&report, "web-1")["why"], "deadline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing could be evaluated"), "{stderr}");
}

#[test]
fn a_timeout_that_is_not_a_positive_number_is_refused() {
    for bad in ["0", "-3", "soon", "90000"] {
        let out = command()
            .args(["check", &format!("--timeout={bad}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("number of seconds"), "{stderr}");
    }
}

#[test]
fn a_healthy_instances_alert_is_published_while_a_slow_ones_call_is_still_in_flight() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts");
    let fake = FakeLightsail::start();
    cpu(&fake, "web-1", true);
    cpu(&fake, "slow-1", true);
    // Under the SDK's 8 s attempt timeout, so the slow call is answered, not retried.
    let slow = Duration::from_secs(5);
    fake.delay("slow-1", slow);
    let rules = rules(&["slow-1", "web-1"], &topic);
    let started = Instant::now();
    let mut run = Spawned::start(
        command()
            .args(["check", "--publish", "--output", "json", "--at", AT])
            .arg("--rules")
            .arg(&rules.path)
            .envs(fake.env())
            .envs(moto.env()),
    );
    // web-1's alert arrives while slow-1's call is still being answered.
    let mut delivered = Vec::new();
    while delivered.is_empty() && started.elapsed() < slow {
        delivered = moto.receive_all(&queue);
    }
    let received_after = started.elapsed();
    assert_eq!(
        delivered.len(),
        1,
        "web-1's alert did not arrive before slow-1 answered"
    );
    let subject = delivered[0].subject.clone().unwrap_or_default();
    assert!(subject.contains("web-1"), "{subject}");
    assert!(
        !run.has_exited() && received_after < slow,
        "the alert arrived only after the slow call ({received_after:?})"
    );
    let out = run.wait(Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["published"], 2);
    let later = moto.receive_all(&queue);
    assert_eq!(later.len(), 1);
    assert!(
        later[0]
            .subject
            .clone()
            .unwrap_or_default()
            .contains("slow-1")
    );
}

/// A Scheduler input that dry-runs `rules` (a YAML document) at `AT`.
fn dry_run_event(rules: &str) -> Value {
    serde_json::json!({"at": AT, "dryRun": true, "rules": rules})
}

/// One rule, CPUUtilization > 80 on `selection`, to a topic that is never called.
fn cpu_rules(selection: &str) -> String {
    format!(
        "version: 1\nrules:\n  - {{name: cpu-high, instances: {selection}, metric: CPUUtilization, comparison: '>', threshold: 80, topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts'}}\n"
    )
}

#[test]
fn the_lambda_response_of_a_large_fleet_is_bounded_and_counts_what_it_left_out() {
    let fake = FakeLightsail::start();
    fake.page_size(500);
    let (ok, alarm) = (2_400, 100);
    for i in 0..ok + alarm {
        let name = format!("web-{i:04}");
        fake.put_instance("us-east-1", &name, "running", &[]);
        cpu(&fake, &name, i >= ok);
    }
    let runtime = FakeRuntime::start(vec![dry_run_event(&cpu_rules("\"*\""))]);
    let lambda = Spawned::start(
        command()
            .envs(runtime.lambda_env())
            .envs(fake.env())
            .env("ALERT_MAX_CONCURRENCY", "64"),
    );
    let outcomes = runtime.wait_outcomes(1, Duration::from_secs(120));
    let logs = lambda.stop();
    let response = outcomes[0].response();
    let size = serde_json::to_vec(response).unwrap().len();
    assert!(
        size <= 1024 * 1024,
        "the response is {size} bytes\n{}",
        logs.stderr
    );
    let omitted = &response["omitted"];
    assert_eq!(omitted["okResults"], ok, "{omitted:#}");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), alarm, "every ALARM is kept");
    assert!(results.iter().all(|r| r["state"] == "ALARM"));
    assert_eq!(omitted["datapoints"], 0, "{omitted:#}");
    assert!(
        results
            .iter()
            .all(|r| !r["datapoints"].as_array().unwrap().is_empty()),
        "with the OK results counted, the ALARM results keep their datapoints"
    );
    // The alerts to the one topic are one digest (SPEC §16), kept whole.
    let alerts = response["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["attributes"]["count"], alarm.to_string());
}

#[test]
fn a_throttle_storm_leaves_every_call_all_of_its_attempts_in_this_and_the_next_invocation() {
    let fake = FakeLightsail::start();
    let names: Vec<String> = (0..40).map(|i| format!("web-{i:02}")).collect();
    // Four throttles for each of 40 calls: 120 retries beyond the first, more than the
    // SDK's shared retry quota (500 tokens, 5 a retry, spent for good by a call that
    // retries again) can pay for.
    let storm = |fake: &FakeLightsail| {
        for name in &names {
            fake.throttle(name, 4);
        }
    };
    for name in &names {
        cpu(&fake, name, false);
    }
    storm(&fake);
    let list = format!("[{}]", names.join(", "));
    let event = dry_run_event(&cpu_rules(&list));
    let mut runtime = FakeRuntime::start(vec![event.clone()]);
    let lambda = Spawned::start(
        command()
            .envs(runtime.lambda_env())
            .envs(fake.env())
            .env("ALERT_MAX_CONCURRENCY", "40"),
    );
    let first = runtime.wait_outcomes(1, Duration::from_secs(120));
    storm(&fake);
    runtime.push(event);
    let both = runtime.wait_outcomes(2, Duration::from_secs(120));
    let logs = lambda.stop();
    assert_eq!(first.len(), 1);
    for outcome in &both {
        let response = outcome.response();
        let states: Vec<&Value> = response["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["state"])
            .collect();
        assert!(
            states.iter().all(|s| *s == "OK"),
            "a call failed before its fifth attempt: {:#}\n{}",
            response["errors"],
            logs.stderr
        );
    }
    for name in &names {
        assert_eq!(
            fake.calls_for(name),
            10,
            "{name}: five attempts in each invocation"
        );
    }
}

#[test]
fn hung_instances_give_their_slots_back_so_the_healthy_ones_are_evaluated() {
    let fake = FakeLightsail::start();
    // Queries run in name order: every hung instance comes before the healthy ones, and
    // there are three times as many of them as slots.
    let hung: Vec<String> = (0..12).map(|i| format!("a-hung-{i:02}")).collect();
    for name in &hung {
        cpu(&fake, name, true);
        fake.delay(name, HUNG);
    }
    let healthy = ["z-web-1", "z-web-2"];
    for name in healthy {
        cpu(&fake, name, true);
    }
    let mut all: Vec<&str> = hung.iter().map(String::as_str).collect();
    all.extend(healthy);
    let rules = rules(&all, "arn:aws:sns:us-east-1:123456789012:alerts");
    let out = dry_check(
        &rules,
        &fake,
        &["--timeout", "12"],
        &[("ALERT_MAX_CONCURRENCY", "4")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = report(&out);
    for name in healthy {
        assert_eq!(result(&report, name)["state"], "ALARM", "{report:#}");
    }
    for name in &hung {
        assert_eq!(result(&report, name)["why"], "deadline");
    }
}

#[test]
fn a_lambda_with_a_short_deadline_publishes_what_it_evaluated_and_answers_in_time() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts");
    let fake = FakeLightsail::start();
    let healthy = ["web-1", "web-2", "web-3", "web-4"];
    let hung = ["web-5", "web-6", "web-7", "web-8"];
    for name in healthy {
        cpu(&fake, name, true);
    }
    for name in hung {
        cpu(&fake, name, true);
        fake.delay(name, HUNG);
    }
    let list = format!(
        "[{}]",
        hung.iter()
            .chain(&healthy)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rules = format!(
        "version: 1\nrules:\n  - {{name: cpu-high, instances: {list}, metric: CPUUtilization, comparison: '>', threshold: 80, topicArn: '{topic}'}}\n"
    );
    let event = serde_json::json!({"at": AT, "rules": rules});
    let runtime = FakeRuntime::with_timeout(vec![event], Duration::from_secs(6));
    let response = &runtime.answer_in_time(
        command()
            .envs(fake.env())
            .envs(moto.env())
            .env("ALERT_DEADLINE_MARGIN_MS", "2000")
            .env("ALERT_MAX_CONCURRENCY", "4"),
    );
    for name in healthy {
        let result = result(response, name);
        assert_eq!(result["state"], "ALARM", "{result:#}");
        assert_eq!(result["notified"], true, "{result:#}");
    }
    for name in hung {
        let result = result(response, name);
        assert_eq!(result["state"], "ERROR", "{result:#}");
        assert_eq!(result["why"], "deadline", "{result:#}");
    }
    assert_eq!(response["published"], 4);
    let delivered = moto.receive_all(&queue);
    assert_eq!(delivered.len(), 4, "what a subscriber received");
}

#[test]
fn against_a_rate_limit_a_high_concurrency_gets_every_query_answered() {
    let fake = FakeLightsail::start();
    fake.latency(Duration::from_millis(20));
    fake.rate_limit(100.0, 10);
    let names: Vec<String> = (0..600).map(|i| format!("web-{i:03}")).collect();
    for name in &names {
        cpu(&fake, name, false);
    }
    let rules = rules(
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        "arn:aws:sns:us-east-1:123456789012:alerts",
    );
    let out = dry_check(&rules, &fake, &[], &[("ALERT_MAX_CONCURRENCY", "32")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = report(&out);
    let errors = report["errors"].as_array().unwrap();
    assert!(errors.is_empty(), "{errors:#?}");
    let (attempts, throttled) = (fake.attempts(), fake.throttled());
    eprintln!("{attempts} attempts, {throttled} throttled");
    // Unpaced, 32 callers at 20 ms each would offer 1,600 calls a second to a service
    // that admits 100: most attempts (over nine in ten) would be throttled. Paced, about
    // one in ten is alone on this machine and up to one in five while other suites load
    // it; a third leaves room for a loaded machine and still tells the two apart.
    assert!(
        throttled * 3 < attempts,
        "{throttled} of {attempts} attempts were throttled: the client did not slow down"
    );
}

#[test]
fn an_invalid_deadline_margin_is_refused_naming_the_variable() {
    for bad in ["soon", "-1", "900001"] {
        let out = command()
            .args(["check"])
            .env("ALERT_DEADLINE_MARGIN_MS", bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "ALERT_DEADLINE_MARGIN_MS={bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("ALERT_DEADLINE_MARGIN_MS={bad:?} is invalid"))
                && stderr.contains("0 to 900000"),
            "{stderr}"
        );
    }
}
