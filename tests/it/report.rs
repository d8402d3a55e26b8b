//! The JSON run report, version 1 (SPEC §14): `reportVersion`, `counts` per state, and per
//! result what the rule says (severity, statistic, unit, period, comparison, threshold)
//! and a `breaching` flag per datapoint; real output validated against
//! `schemas/report-v1.schema.json` with a standard JSON Schema validator.

use serde_json::Value;

use crate::support::lightsail::FakeLightsail;
use crate::support::{T, check_json, command, report, schema_violations, stderr};

const SCHEMA: &str = "schemas/report-v1.schema.json";

fn assert_valid(document: &Value) {
    if let Some(checked) = schema_violations(SCHEMA, document) {
        checked.unwrap_or_else(|violations| {
            panic!("the report breaks {SCHEMA}:\n{violations}\n{document:#}")
        });
    }
}

#[test]
fn the_built_in_examples_report_is_version_1_with_counts_and_what_each_rule_says() {
    let out = command()
        .args(["check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_valid(&report);
    assert_eq!(report["reportVersion"], 1);
    assert_eq!(
        report["counts"],
        serde_json::json!({"ALARM": 5, "OK": 9, "INSUFFICIENT_DATA": 0, "ERROR": 0})
    );
    let burst = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "burst-capacity-low" && r["resource"] == "web-1")
        .unwrap();
    assert_eq!(burst["severity"], "critical");
    assert_eq!(burst["statistic"], "Average");
    assert_eq!(burst["unit"], "Percent");
    assert_eq!(burst["period"], 300);
    assert_eq!(burst["comparison"], "LessThanThreshold");
    assert_eq!(burst["threshold"], 20.0);
    // Below 20 breaches: 25.5, 18.2, 12 (oldest first) are not, are, are.
    let flags: Vec<(f64, bool)> = burst["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["value"].as_f64().unwrap(),
                p["breaching"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &flags[flags.len() - 3..],
        [(25.5, false), (18.2, true), (12.0, true)]
    );
}

#[test]
fn a_report_with_errors_warnings_and_alerts_is_valid_and_the_schema_refuses_a_broken_one() {
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T - 300, 95.0)]);
    fake.fail_region("eu-west-1", 500);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(
        &path,
        "version: 1\ndefaults: {topicArn: 'arn:aws:sns:us-east-1:123456789012:t'}\nrules:\n\
         - {name: cpu, instances: [web-1, ghost], metric: CPUUtilization, comparison: '>', threshold: 80}\n\
         - {name: globbed, instances: ['cache-*'], regions: [us-east-1, eu-west-1], metric: CPUUtilization, \
         comparison: '>', threshold: 80}\n",
    )
    .unwrap();
    let out = check_json(&path).envs(fake.env()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_valid(&report);
    assert_eq!(report["counts"]["ALARM"], 1, "{report:#}");
    assert_eq!(report["counts"]["ERROR"], 1, "{report:#}");
    for field in ["errors", "warnings", "alerts"] {
        assert!(
            !report[field].as_array().unwrap().is_empty(),
            "{field} in {report:#}"
        );
    }

    // The validator is not a formality: a report without counts, or with a state the
    // format does not have, is refused.
    let mut broken = report.clone();
    broken.as_object_mut().unwrap().remove("counts");
    broken["results"][0]["state"] = Value::from("FIRING");
    if let Some(checked) = schema_violations(SCHEMA, &broken) {
        let violations = checked.unwrap_err();
        assert!(
            violations.contains("'counts' is a required property"),
            "{violations}"
        );
        assert!(
            violations.contains("'FIRING' is not one of"),
            "{violations}"
        );
    }
}
