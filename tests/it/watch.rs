//! Watching the watcher (SPEC §16), black-box: the function's heartbeat to
//! `ALERT_HEARTBEAT_URL`, a local HTTP server that counts its requests, under the fake
//! Lambda Runtime API and the fake Lightsail.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::http::{Background, respond};
use crate::support::lightsail::FakeLightsail;
use crate::support::runtime::{FakeRuntime, Outcome};
use crate::support::{AT, Finished, Spawned, T, command, stderr};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const SOME_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

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
