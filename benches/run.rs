//! Measures what a run costs apart from the network: parsing rules, planning queries,
//! evaluating, rendering alerts, for fleets of growing size, with recorded datapoints.
//! `cargo bench` prints a table; BENCHMARKS.md records the figures and how to reproduce
//! them. Peak memory is the process's high-water mark (VmHWM) after each size.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lightsail_alerts::aws::SnsSink;
use lightsail_alerts::domain::evaluate::{self, Datapoint};
use lightsail_alerts::domain::plan;
use lightsail_alerts::domain::select;
use lightsail_alerts::offline::MemoryStore;
use lightsail_alerts::offline::Recording;
use lightsail_alerts::rules::{self, Fallbacks};
use lightsail_alerts::run::{self, RunOptions};

const AT: &str = "2026-11-24T13:05:00Z";

fn rules_document(instances: usize) -> String {
    let names: Vec<String> = (0..instances).map(|i| format!("web-{i}")).collect();
    let list = names.join(", ");
    format!(
        r#"
version: 1
defaults: {{region: us-east-1, topicArn: "arn:aws:sns:us-east-1:123456789012:alerts"}}
rules:
  - {{name: burst-capacity-low, instances: [{list}], metric: BurstCapacityPercentage, comparison: "<", threshold: 20, evaluationPeriods: 3, datapointsToAlarm: 2}}
  - {{name: cpu-high, instances: [{list}], metric: CPUUtilization, comparison: ">", threshold: 80, evaluationPeriods: 3}}
  - {{name: cpu-peak, instances: [{list}], metric: CPUUtilization, statistic: Maximum, comparison: ">", threshold: 95}}
  - {{name: status-check-failed, instances: [{list}], metric: StatusCheckFailed, comparison: ">", threshold: 0}}
"#
    )
}

/// The same rules, selecting the fleet with a glob, an exclusion and a state filter, so
/// the run lists the (recorded) fleet and matches every instance against them.
fn glob_document(instances: usize) -> String {
    rules_document(instances).replace(
        &format!(
            "instances: [{}]",
            (0..instances)
                .map(|i| format!("web-{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        r#"instances: ["web-*"], exclude: ["web-test-*"], states: [running]"#,
    )
}

/// Five periods of data per instance and metric; every third instance is in ALARM.
fn recording(instances: usize, at: DateTime<Utc>) -> String {
    let mut series = String::new();
    for i in 0..instances {
        for (metric, period, field, value) in [
            (
                "BurstCapacityPercentage",
                300,
                "average",
                if i % 3 == 0 { 10.0 } else { 60.0 },
            ),
            ("CPUUtilization", 300, "average", 40.0),
            ("StatusCheckFailed", 60, "sum", 0.0),
        ] {
            let end = evaluate::range_end(at, period).timestamp();
            let points: Vec<String> = (1..=5)
                .map(|age| {
                    format!(
                        r#"{{"timestamp": {}, "{field}": {value}, "maximum": {value}}}"#,
                        end - age * i64::from(period)
                    )
                })
                .collect();
            if !series.is_empty() {
                series.push(',');
            }
            let _ = write!(
                series,
                r#"{{"instance": "web-{i}", "metric": "{metric}", "metricData": [{}]}}"#,
                points.join(",")
            );
        }
    }
    format!(r#"{{"recordedAt": "{AT}", "series": [{series}]}}"#)
}

/// Runs `f` repeatedly for at least `budget` and returns the mean time per call.
fn time<T>(budget: Duration, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while n < 3 || start.elapsed() < budget {
        black_box(f());
        n += 1;
    }
    start.elapsed() / n
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: keep that quick.
    let quick = std::env::args().any(|a| a == "--test");
    let budget = Duration::from_millis(if quick { 1 } else { 500 });
    let sizes: &[usize] = if quick { &[10] } else { &[10, 100, 1000, 5000] };
    let at: DateTime<Utc> = AT.parse().unwrap();
    // The run streams with timers (slow calls give their slots back).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let fallbacks = Fallbacks::default();

    println!(
        "| instances | results | parse rules | plan | run (dry run, replay) | per result | run with globs | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &instances in sizes {
        let document = rules_document(instances);
        let recording = Recording::parse(&recording(instances, at), "bench").unwrap();
        let ruleset = rules::parse(&document, "bench", &fallbacks).unwrap();
        let globs = rules::parse(&glob_document(instances), "bench", &fallbacks).unwrap();
        let options = RunOptions {
            at,
            concurrency: 8,
            deadline: None,
        };

        let parse = time(budget, || {
            rules::parse(&document, "bench", &fallbacks).unwrap()
        });
        let plan = time(budget, || {
            let selected = select::resolve::<String>(&ruleset.rules, &HashMap::new());
            plan::plan(&selected.alarms, at)
        });
        let run = time(budget, || {
            runtime.block_on(run::run(
                &ruleset,
                &recording,
                None::<&SnsSink>,
                None::<&MemoryStore>,
                options,
            ))
        });
        let with_globs = time(budget, || {
            runtime.block_on(run::run(
                &globs,
                &recording,
                None::<&SnsSink>,
                None::<&MemoryStore>,
                options,
            ))
        });
        for rules in [&ruleset, &globs] {
            let report = runtime.block_on(run::run(
                rules,
                &recording,
                None::<&SnsSink>,
                None::<&MemoryStore>,
                options,
            ));
            assert_eq!(report.results.len(), instances * 4);
            assert_eq!(report.alerts.as_ref().unwrap().len(), instances.div_ceil(3));
        }
        let results = instances * 4;
        println!(
            "| {instances} | {results} | {parse:.2?} | {plan:.2?} | {run:.2?} | {:.2?} | {with_globs:.2?} | {} MiB |",
            run / results as u32,
            peak_rss_kib() / 1024
        );
    }

    // The evaluation alone, the innermost loop.
    let rule = &rules::parse(&rules_document(1), "bench", &fallbacks)
        .unwrap()
        .rules[0];
    let points: Vec<Datapoint> = (1..=5)
        .map(|age| Datapoint {
            timestamp: evaluate::range_end(at, 300) - chrono::TimeDelta::seconds(age * 300),
            value: 15.0,
        })
        .collect();
    let one = time(budget, || {
        evaluate::evaluate(&rule.criteria(), &points, at, None)
    });
    println!();
    println!("evaluate() of one rule over 5 datapoints, with its reason: {one:.2?}");
}
