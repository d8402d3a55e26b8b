//! The instance metric catalog through the binary (SPEC §2): every metric Lightsail
//! publishes for an instance can be alarmed on, asked for in its published unit and with
//! its default statistic, against the fake Lightsail.

use crate::support::lightsail::FakeLightsail;
use crate::support::{check_json, report, stderr};

use crate::support::T;
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

#[test]
fn each_system_disk_metric_is_fetched_in_its_unit_and_statistic_and_alarms() {
    #[rustfmt::skip]
    let disk = [
        ("DiskReadOps", "Count", "Sum"),
        ("DiskWriteOps", "Count", "Sum"),
        ("DiskReadBytes", "Bytes", "Sum"),
        ("DiskWriteBytes", "Bytes", "Sum"),
        ("DiskTotalReadTime", "Seconds", "Average"),
        ("DiskTotalWriteTime", "Seconds", "Average"),
        ("DiskQueueLength", "Count", "Average"),
    ];
    let fake = FakeLightsail::start();
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("version: 1\nrules:\n");
    for (metric, unit, _) in disk {
        fake.add_points("web-1", metric, unit, &[(T - 300, 100.0)]);
        rules.push_str(&format!(
            "  - {{name: {}, instances: [web-1], metric: {metric}, comparison: '>', threshold: 5, topicArn: '{TOPIC}'}}\n",
            metric.to_lowercase()
        ));
    }
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, rules).unwrap();
    let out = check_json(&path)
        .arg("--dry-run")
        .envs(fake.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), disk.len(), "{report:#}");
    for (metric, unit, statistic) in disk {
        let result = results.iter().find(|r| r["metric"] == metric).unwrap();
        assert_eq!(result["state"], "ALARM", "{metric}: {result:#}");
        let requests = fake.requests();
        let call = requests
            .iter()
            .find(|r| r.metric() == Some(metric))
            .unwrap_or_else(|| panic!("no call for {metric}"));
        assert_eq!(call.body["unit"], unit, "{metric}");
        assert_eq!(
            call.body["statistics"],
            serde_json::json!([statistic]),
            "{metric}"
        );
        assert_eq!(call.body["period"], 300, "{metric}");
    }
}
