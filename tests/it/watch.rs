//! Watching the watcher (SPEC §16), black-box: `test-alert` publishing a test notice to
//! every target through moto's SNS, read back from subscribed SQS queues; and the
//! function's heartbeat to `ALERT_HEARTBEAT_URL`, a local HTTP server that counts its
//! requests, under the fake Lambda Runtime API and the fake Lightsail.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::http::{Background, respond};
use crate::support::lightsail::FakeLightsail;
use crate::support::moto::{Delivered, Moto};
use crate::support::runtime::{FakeRuntime, Outcome};
use crate::support::{AT, Finished, Spawned, T, command, schema_violations, stderr};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const SOME_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";
const SUBJECT: &str = "[TEST] test-alert: a test notice from lightsail-alerts";

// ---------------------------------------------------------------------------------------
// test-alert

/// A rule per format over `topics` (text, json, chat in that order; more are text).
fn rules_for(topics: &[&str]) -> String {
    let formats = ["text", "json", "chat"];
    let mut yaml = String::from("version: 1\nrules:\n");
    for (i, topic) in topics.iter().enumerate() {
        let format = formats.get(i).copied().unwrap_or("text");
        yaml.push_str(&format!(
            "  - {{name: rule-{i}, instances: [web-1], metric: CPUUtilization, \
             comparison: '>', threshold: 80, notify: [{{topicArn: \"{topic}\", format: {format}}}]}}\n"
        ));
    }
    yaml
}

fn write_rules(dir: &tempfile::TempDir, yaml: &str) -> std::path::PathBuf {
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The one message a queue received.
/// `test-alert --rules RULES` against moto: the finished command and its standard output.
fn test_alert(rules: &std::path::Path, moto: &Moto) -> (std::process::Output, String) {
    let out = command()
        .args(["test-alert", "--rules"])
        .arg(rules)
        .envs(moto.env())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn one(moto: &Moto, queue: &str) -> Delivered {
    let mut delivered = moto.receive_all(queue);
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    delivered.remove(0)
}

/// What every test notice carries, whatever its format.
fn assert_test_notice(delivered: &Delivered, format: &str) {
    assert_eq!(delivered.subject.as_deref(), Some(SUBJECT));
    let attribute = |name: &str| delivered.attributes.get(name).map(String::as_str);
    assert_eq!(attribute("state"), Some("TEST"), "{delivered:#?}");
    assert_eq!(attribute("rule"), Some("test-alert"));
    assert_eq!(attribute("severity"), Some("info"));
    assert_eq!(attribute("region"), Some("us-east-1"));
    assert_eq!(attribute("format"), Some(format));
}

#[test]
fn test_alert_sends_each_target_a_test_notice_in_its_format() {
    let Some(moto) = Moto::start() else { return };
    let (mail, mail_queue) = moto.topic_with_queue("watch-mail");
    let (bus, bus_queue) = moto.topic_with_queue("watch-bus");
    let (chat, chat_queue) = moto.topic_with_queue("watch-chat");
    let (pager, pager_queue) = moto.topic_with_queue("watch-pager.fifo");
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(&dir, &rules_for(&[mail.as_str(), &bus, &chat, &pager]));
    let (out, stdout) = test_alert(&rules, &moto);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", stderr(&out));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (line, (topic, format)) in lines.iter().zip([
        (&mail, "text"),
        (&bus, "json"),
        (&chat, "chat"),
        (&pager, "text"),
    ]) {
        assert!(
            line.starts_with(topic.as_str())
                && line.contains(&format!("  {format}"))
                && line.contains("sent, message id "),
            "{line}"
        );
    }

    let text = one(&moto, &mail_queue);
    assert_test_notice(&text, "text");
    assert!(
        text.message
            .starts_with("TEST: a test notice from lightsail-alerts\n"),
        "{}",
        text.message
    );

    let document = one(&moto, &bus_queue);
    assert_test_notice(&document, "json");
    let json: Value = serde_json::from_str(&document.message).unwrap();
    assert_eq!(json["state"], "TEST");
    assert_eq!(json["rule"], "test-alert");
    if let Some(checked) = schema_violations("schemas/alert-v1.schema.json", &json) {
        checked.unwrap_or_else(|violations| panic!("{violations}\n{json:#}"));
    }

    let card = one(&moto, &chat_queue);
    assert_test_notice(&card, "chat");
    let card: Value = serde_json::from_str(&card.message).unwrap();
    assert_eq!(card["content"]["title"], SUBJECT);
    assert_eq!(card["metadata"]["eventType"], "TEST");

    let fifo = one(&moto, &pager_queue);
    assert_test_notice(&fifo, "text");
    assert_eq!(
        fifo.message_group_id.as_deref(),
        Some("test-alert#test-alert")
    );
    assert_eq!(
        fifo.message_deduplication_id.as_ref().map(String::len),
        Some(64)
    );
}

#[test]
fn test_alert_with_a_topic_alone_sends_it_text_and_reads_no_rules() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("watch-alone");
    let out = command()
        .args(["test-alert", "--topic", &topic, "--severity", "critical"])
        .envs(moto.env())
        // Not read with --topic alone: invalid rules do not stop the test.
        .env("ALERT_RULES", "not: rules")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let delivered = one(&moto, &queue);
    assert_eq!(delivered.subject.as_deref(), Some(SUBJECT));
    assert_eq!(delivered.attributes["format"], "text");
    assert_eq!(delivered.attributes["severity"], "critical");
    assert!(delivered.message.contains("Severity:    critical"));
}

#[test]
fn a_topic_that_does_not_exist_fails_alone_and_is_named() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("watch-exists");
    let gone = "arn:aws:sns:us-east-1:123456789012:watch-gone";
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(&dir, &rules_for(&[gone, topic.as_str()]));
    let (out, stdout) = test_alert(&rules, &moto);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr(&out));
    let failed: Vec<&str> = stdout.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(failed[0].starts_with(gone), "{stdout}");
    assert!(stderr(&out).contains("1 of 2 test notice(s) could not be published"));
    // The other target still got its notice, in its format.
    assert_test_notice(&one(&moto, &queue), "json");
}

#[test]
fn test_alert_without_a_target_or_with_a_bad_topic_is_invalid_input() {
    let out = command().args(["test-alert"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no target: pass --topic ARN"),
        "{}",
        stderr(&out)
    );
    let out = command()
        .args([
            "test-alert",
            "--topic",
            "arn:aws:sqs:us-east-1:123456789012:q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not `sns`"), "{}", stderr(&out));
}

#[test]
fn test_alert_help_says_what_it_sends_and_reads_in_100_columns() {
    let out = command().args(["test-alert", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "--rules",
        "--topic",
        "--severity",
        "--profile",
        "state=TEST",
        "ALERT_RULES_FILE",
        "ALERT_TOPIC_ARN",
        "AWS_REGION",
        "Exit status",
    ] {
        assert!(help.contains(expected), "{expected}:\n{help}");
    }
    for line in help.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    // The heartbeat is the function's: no command reads it.
    for command_name in ["test-alert", "check"] {
        let out = command().args([command_name, "--help"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ALERT_HEARTBEAT_URL"));
    }
}

// ---------------------------------------------------------------------------------------
// The heartbeat

/// The path and query of the heartbeat URL: a secret no log may show.
const SECRET_PATH: &str = "/ping/abc-secret";
const SECRET_QUERY: &str = "x=1";

/// A heartbeat service on 127.0.0.1: records each request target and answers `status`
/// (a 302 to `/landed` for the secret path when `redirect`).
struct PingServer {
    server: Background,
    seen: Arc<Mutex<Vec<String>>>,
}

impl PingServer {
    fn start(status: u16, redirect: bool) -> PingServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server = {
            let seen = seen.clone();
            Background::start("heartbeat", move |request| {
                let target = request.url().to_owned();
                seen.lock()
                    .unwrap()
                    .push(format!("{} {target}", request.method()));
                if redirect && target.starts_with(SECRET_PATH) {
                    respond(request, 302, &[("location", "/landed")], String::new());
                } else {
                    respond(request, status, &[], "OK".to_owned());
                }
            })
        };
        PingServer { server, seen }
    }

    fn url(&self) -> String {
        format!("http://{}{SECRET_PATH}?{SECRET_QUERY}", self.server.addr())
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// web-1 out of burst capacity at [`AT`].
fn fleet() -> FakeLightsail {
    let fake = FakeLightsail::start();
    let points: Vec<(i64, f64)> = (1..=3).map(|age| (T - age * 300, 12.0)).collect();
    fake.add_points("web-1", "BurstCapacityPercentage", "Percent", &points);
    fake
}

const RULES: &str = "version: 1\nrules:\n  - {name: burst-capacity-low, instances: [web-1], \
                     metric: BurstCapacityPercentage, comparison: '<', threshold: 20}\n";

/// A completed run (a dry run, so nothing is published).
fn completed() -> Value {
    json!({"at": AT, "dryRun": true})
}

/// The function for `events` with `heartbeat` as ALERT_HEARTBEAT_URL: each outcome, and
/// what it logged.
fn invoke(events: Vec<Value>, heartbeat: &str) -> (Vec<Outcome>, Finished) {
    let fake = fleet();
    let n = events.len();
    let runtime = FakeRuntime::start(events);
    let lambda = Spawned::start(
        command()
            .envs(runtime.lambda_env())
            .envs(fake.env())
            .env("ALERT_RULES", RULES)
            .env("ALERT_TOPIC_ARN", SOME_TOPIC)
            .env("ALERT_HEARTBEAT_URL", heartbeat),
    );
    let outcomes = runtime.wait_outcomes(n, WAIT);
    (outcomes, lambda.stop())
}

/// The JSON log lines with this message.
fn logged(logs: &Finished, message: &str) -> Vec<Value> {
    logs.stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|log| log["message"] == message)
        .collect()
}

fn assert_no_secret(text: &str) {
    assert!(
        !text.contains("abc-secret") && !text.contains(SECRET_QUERY),
        "the heartbeat URL's path or query is shown:\n{text}"
    );
}

#[test]
fn each_completed_run_requests_the_heartbeat_url_and_a_failed_one_does_not() {
    let ping = PingServer::start(200, false);
    // Every fetch fails for a resource Lightsail does not have: the run fails.
    let failing = json!({"at": AT, "dryRun": true, "rules": RULES.replace("web-1", "ghost")});
    let (outcomes, logs) = invoke(
        vec![completed(), json!("not an event"), failing, completed()],
        &ping.url(),
    );
    assert!(
        !outcomes[0].is_error() && !outcomes[3].is_error(),
        "{outcomes:#?}"
    );
    assert_eq!(outcomes[1].failure().0, "InvalidInput");
    assert_eq!(outcomes[2].failure().0, "RunFailed");
    let target = format!("GET {SECRET_PATH}?{SECRET_QUERY}");
    assert_eq!(
        ping.seen(),
        [target.clone(), target],
        "one per completed run"
    );
    let sent = logged(&logs, "heartbeat sent");
    assert_eq!(sent.len(), 2, "{}", logs.stderr);
    assert_eq!(sent[0]["host"], "127.0.0.1");
    assert_eq!(sent[0]["status"], 200);
    assert_no_secret(&logs.stderr);
}

#[test]
fn redirects_are_followed() {
    let ping = PingServer::start(200, true);
    let (outcomes, logs) = invoke(vec![completed()], &ping.url());
    assert!(!outcomes[0].is_error(), "{outcomes:#?}");
    assert_eq!(
        ping.seen(),
        [
            format!("GET {SECRET_PATH}?{SECRET_QUERY}"),
            "GET /landed".to_owned()
        ]
    );
    assert_eq!(logged(&logs, "heartbeat sent").len(), 1, "{}", logs.stderr);
}

#[test]
fn a_heartbeat_that_fails_is_a_warning_not_a_failed_invocation() {
    let ping = PingServer::start(500, false);
    let (outcomes, logs) = invoke(vec![completed()], &ping.url());
    assert!(!outcomes[0].is_error(), "{outcomes:#?}");
    assert_eq!(outcomes[0].response()["evaluatedAt"], AT);
    let failed = logged(&logs, "heartbeat failed");
    assert_eq!(failed.len(), 1, "{}", logs.stderr);
    assert_eq!(failed[0]["level"], "WARN");
    assert_eq!(failed[0]["host"], "127.0.0.1");
    assert_eq!(failed[0]["status"], 500);
    assert_eq!(failed[0]["error"], "HTTP 500");
    assert_no_secret(&logs.stderr);

    // Nothing listening on the port: a connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}{SECRET_PATH}?{SECRET_QUERY}");
    let (outcomes, logs) = invoke(vec![completed()], &url);
    assert!(!outcomes[0].is_error(), "{outcomes:#?}");
    let failed = logged(&logs, "heartbeat failed");
    assert_eq!(failed.len(), 1, "{}", logs.stderr);
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.starts_with("connection failed"), "{error}");
    assert_no_secret(&logs.stderr);
}

#[test]
fn an_invalid_heartbeat_url_is_an_init_error_that_does_not_show_it() {
    let runtime = FakeRuntime::start(vec![completed()]);
    let bad = format!("ftp://127.0.0.1{SECRET_PATH}?{SECRET_QUERY}");
    let lambda = Spawned::start(
        command()
            .envs(runtime.lambda_env())
            .env("ALERT_RULES", RULES)
            .env("ALERT_HEARTBEAT_URL", &bad),
    );
    let init = runtime.wait_init_error(WAIT);
    let finished = lambda.wait(WAIT);
    assert_eq!(init.body["errorType"], "InvalidSettings");
    let message = init.body["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("ALERT_HEARTBEAT_URL is invalid (its value is not shown")
            && message.contains("its scheme is ftp"),
        "{message}"
    );
    assert_no_secret(message);
    assert_no_secret(&finished.stderr);

    // The command line checks it too (and sends no heartbeat).
    let out = command()
        .args(["check", "--at", AT])
        .env("ALERT_HEARTBEAT_URL", &bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("ALERT_HEARTBEAT_URL is invalid"));
    assert_no_secret(&stderr(&out));
}
