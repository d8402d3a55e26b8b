//! Measures a whole run over the network (SPEC §12): the release binary against the fake
//! Lightsail with a latency, hung instances and a rate limit, as the command line and as
//! a Lambda under the fake Runtime API. `cargo bench --bench pipeline` prints the figures
//! BENCHMARKS.md records; scenario (b) publishes through moto and needs `MOTO_SERVER`
//! (run `./scripts/test.sh` once for the venv), the others need nothing.
//!
//! (a) 1,000 targets at concurrency 8 with 20 ms latency, against the floor
//!     `ceil(calls / concurrency) × latency`;
//! (b) 10% of 1,000 instances hung: when the first ALARM of a healthy one is published;
//! (c) 2,000 targets at concurrency 32 against 100 calls/s: wall, attempts throttled;
//! (d) 20,000 targets in one Lambda invocation: peak RSS of the function and the size of
//!     its response.

#[path = "../tests/it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::lightsail::FakeLightsail;
use support::moto::Moto;
use support::runtime::FakeRuntime;
use support::{Spawned, check_json, command};

use support::{AT, T};
const LATENCY: Duration = Duration::from_millis(20);

fn cpu(fake: &FakeLightsail, instance: &str, high: bool) {
    let value = if high { 95.0 } else { 20.0 };
    let points: Vec<(i64, f64)> = (1..=5).map(|age| (T - age * 300, value)).collect();
    fake.add_points(instance, "CPUUtilization", "Percent", &points);
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("web-{i:05}")).collect()
}

/// A rules file: CPUUtilization > 80 on `instances`, to `topic`.
fn rules(dir: &tempfile::TempDir, instances: &[String], topic: &str) -> PathBuf {
    let path = dir.path().join("rules.yaml");
    let text = format!(
        "version: 1\nrules:\n  - {{name: cpu-high, instances: [{}], metric: CPUUtilization, comparison: '>', threshold: 80, topicArn: '{topic}'}}\n",
        instances.join(", ")
    );
    std::fs::write(&path, text).unwrap();
    path
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

/// `check --dry-run` over `n` instances: the wall time, and the report.
fn dry_run(fake: &FakeLightsail, n: usize, concurrency: usize) -> (Duration, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = rules(&dir, &names(n), TOPIC);
    let started = Instant::now();
    let out = check_json(&path)
        .arg("--dry-run")
        .envs(fake.env())
        .env("ALERT_MAX_CONCURRENCY", concurrency.to_string())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let took = started.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (took, report)
}

fn errors(report: &Value) -> usize {
    report["errors"].as_array().map_or(0, Vec::len)
}

fn a_latency_bound_fleet() {
    let (n, concurrency) = (1_000, 8);
    let fake = FakeLightsail::start();
    fake.latency(LATENCY);
    for name in names(n) {
        cpu(&fake, &name, false);
    }
    let (took, report) = dry_run(&fake, n, concurrency);
    let floor = LATENCY * n.div_ceil(concurrency) as u32;
    println!(
        "| (a) {n} targets, concurrency {concurrency}, {LATENCY:?} latency | {took:.2?} | floor {floor:.2?}, {:.3}x | {} errors |",
        took.as_secs_f64() / floor.as_secs_f64(),
        errors(&report)
    );
}

fn b_hung_instances() {
    // Grouped as every run is by default (a storm goes as digests), and every alert alone.
    b_hung_instances_grouped(None);
    b_hung_instances_grouped(Some("none"));
}

fn b_hung_instances_grouped(group_above: Option<&str>) {
    let Some(moto) = Moto::start() else {
        println!("| (b) | skipped: MOTO_SERVER is not set | | |");
        return;
    };
    let (topic, _queue) = moto.topic_with_queue("alerts");
    let n = 1_000;
    let fake = FakeLightsail::start();
    fake.latency(LATENCY);
    let all = names(n);
    for (i, name) in all.iter().enumerate() {
        cpu(&fake, name, true);
        if i % 10 == 0 {
            fake.hang(name);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = rules(&dir, &all, &topic);
    if let Some(above) = group_above {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen(
            "rules:",
            &format!("defaults: {{groupAbove: {above}}}\nrules:"),
            1,
        );
        std::fs::write(&path, text).unwrap();
    }
    let started = SystemTime::now();
    let mut child = command()
        .args([
            "check",
            "--publish",
            "--output",
            "json",
            "--at",
            AT,
            "--timeout",
            "10",
            "--rules",
        ])
        .arg(&path)
        .envs(fake.env())
        .envs(moto.env())
        .env("RUST_LOG", "info")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let report = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut text).unwrap();
        serde_json::from_slice::<Value>(&text).unwrap_or(Value::Null)
    });
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first: Option<Duration> = None;
    let (mut published, mut digests) = (0, 0);
    for line in stderr.lines().map_while(Result::ok) {
        let Ok(log) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if log["message"] == "digest published" {
            digests += 1;
        }
        if log["message"] == "alert published" || log["message"] == "alert published in a digest" {
            published += 1;
            if first.is_none() {
                let at: chrono::DateTime<chrono::Utc> =
                    log["timestamp"].as_str().unwrap().parse().unwrap();
                let start: chrono::DateTime<chrono::Utc> = started.into();
                first = Some((at - start).to_std().unwrap_or_default());
            }
        }
    }
    let _ = child.wait();
    let total = started.elapsed().unwrap_or_default();
    let report = report.join().unwrap();
    let evaluated = report["results"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|r| r["state"] == "ALARM").count());
    let grouping = group_above.map_or("grouped (default)".to_owned(), |above| {
        format!("groupAbove: {above}")
    });
    println!(
        "| (b) {n} targets, 10% hung, concurrency 8, {grouping} | first ALARM published {:.2?} after the start | {evaluated} evaluated by the deadline, {published} alerts published ({digests} digests), run {total:.2?} (--timeout 10) | |",
        first.unwrap_or_default()
    );
}

fn c_rate_limit() {
    let (n, concurrency) = (2_000, 32);
    let fake = FakeLightsail::start();
    fake.latency(LATENCY);
    fake.rate_limit(100.0, 10);
    for name in names(n) {
        cpu(&fake, &name, false);
    }
    let (took, report) = dry_run(&fake, n, concurrency);
    let ideal = Duration::from_secs_f64(n as f64 / 100.0);
    let (attempts, throttled) = (fake.attempts(), fake.throttled());
    println!(
        "| (c) {n} targets, concurrency {concurrency}, 100 calls/s | {took:.2?} | {:.3}x of {ideal:.0?}; {throttled} of {attempts} attempts throttled ({:.1}%) | {} errors |",
        took.as_secs_f64() / ideal.as_secs_f64(),
        100.0 * throttled as f64 / attempts as f64,
        errors(&report)
    );
}

fn d_memory_and_response() {
    let n = 20_000;
    let fake = FakeLightsail::start();
    let all = names(n);
    for (i, name) in all.iter().enumerate() {
        cpu(&fake, name, i % 10 == 0);
    }
    let list = all.join(", ");
    let rules = format!(
        "version: 1\nrules:\n  - {{name: cpu-high, instances: [{list}], metric: CPUUtilization, comparison: '>', threshold: 80, topicArn: '{TOPIC}'}}\n"
    );
    let event = json!({"at": AT, "dryRun": true, "rules": rules});
    let runtime = FakeRuntime::with_timeout(vec![event], Duration::from_secs(600));
    let started = Instant::now();
    let lambda = Spawned::start(
        command()
            .envs(runtime.lambda_env())
            .envs(fake.env())
            .env("ALERT_MAX_CONCURRENCY", "32")
            .env("RUST_LOG", "warn"),
    );
    let outcomes = runtime.wait_outcomes(1, Duration::from_secs(600));
    let took = started.elapsed();
    // The function waits for its next event: its high-water mark is the run's.
    let status = std::fs::read_to_string(format!("/proc/{}/status", lambda.id())).unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let _ = lambda.stop();
    let response = outcomes[0].response();
    let size = serde_json::to_vec(response).unwrap().len();
    println!(
        "| (d) {n} targets, one Lambda invocation (dry run) | {took:.2?} | peak RSS (VmHWM) {hwm}; response {size} bytes, omitted {} | |",
        response["omitted"]
    );
}

fn main() {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    println!("pipeline benchmark, {epoch}");
    println!("| scenario | wall | figure | |");
    println!("|---|---|---|---|");
    // `cargo bench --bench pipeline -- b c` runs only those scenarios.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let scenarios: [(&str, fn()); 4] = [
        ("a", a_latency_bound_fleet),
        ("b", b_hung_instances),
        ("c", c_rate_limit),
        ("d", d_memory_and_response),
    ];
    for (name, scenario) in scenarios {
        if only.is_empty() || only.iter().any(|o| o == name) {
            scenario();
        }
    }
}
