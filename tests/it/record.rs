//! `record` (SPEC §15), black-box: a fleet of every resource type in two regions of the
//! fake Lightsail is recorded, and `check --replay` of the file gives the results the
//! live `check` gave; `--out -`; a failed run leaves the old file alone; a recording of
//! another version is refused; the AWS CLI's listing output pasted in as-is.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::lightsail::FakeLightsail;
use crate::support::{AT, T, check_json, command, report, stderr};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

/// Every selection there is: globs with tags and states in two regions, a listed name
/// that is not in the listing, names only (no listing; one not found), the same metric at
/// another period, a glob that matches nothing, and one rule per other resource type.
const RULES: &str = r#"version: 1
defaults: {region: us-east-1, topicArn: "arn:aws:sns:us-east-1:123456789012:lightsail-alerts"}
rules:
  - name: cpu-high
    instances: ["web-*", ghost-1]
    tags: {env: prod}
    states: [running]
    regions: [us-east-1, eu-west-1]
    metric: CPUUtilization
    comparison: ">"
    threshold: 80
  - name: cpu-high-slow
    instances: [web-1, web-9]
    metric: CPUUtilization
    statistic: Maximum
    period: 600
    comparison: ">"
    threshold: 80
  - name: cache-cpu
    instances: ["cache-*"]
    metric: CPUUtilization
    comparison: ">"
    threshold: 80
  - name: database-storage-low
    resourceType: RelationalDatabase
    resources: ["*"]
    states: [available]
    metric: FreeStorageSpace
    statistic: Minimum
    comparison: "<"
    threshold: 2000000000
    period: 300
    evaluationPeriods: 2
  - name: load-balancer-no-healthy-hosts
    resourceType: LoadBalancer
    resources: ["*"]
    regions: [eu-west-1]
    metric: HealthyHostCount
    statistic: Minimum
    comparison: "<"
    threshold: 1
  - name: distribution-5xx-rate
    resourceType: Distribution
    resources: ["*"]
    metric: Http5xxErrorRate
    comparison: ">"
    threshold: 5
  - name: container-memory-high
    resourceType: ContainerService
    resources: ["*"]
    regions: [eu-west-1]
    metric: MemoryUtilization
    comparison: ">="
    threshold: 90
  - name: bucket-size-high
    resourceType: Bucket
    resources: ["*"]
    metric: BucketSizeBytes
    comparison: ">"
    threshold: 200000000000
    treatMissingData: ignore
"#;

/// Five-minute periods before [`T`], newest last.
fn five_minutes(values: &[f64]) -> Vec<(i64, f64)> {
    let n = values.len() as i64;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (T - (n - i as i64) * 300, v))
        .collect()
}

/// A resource's tags: a key and an optional value.
type Tags<'a> = &'a [(&'a str, Option<&'a str>)];

/// us-east-1: instances web-1 (prod, running, high CPU), web-2 (prod, stopped), web-3
/// (staging), bastion (prod, a tag without a value); databases orders-db (running out of
/// storage) and reports-db (stopped); distribution site-cdn; bucket media-assets.
/// eu-west-1: instances web-eu-1 and web-eu-2 (prod, one high); load balancer web-lb
/// (no healthy host); container service api (memory high). Listed two to a page.
fn fleet() -> FakeLightsail {
    let fake = FakeLightsail::start();
    fake.page_size(2);
    let prod = Some("prod");
    let instances: &[(&str, &str, &str, Tags, f64)] = &[
        (
            "us-east-1",
            "web-1",
            "running",
            &[("env", prod), ("role", Some("web"))],
            95.0,
        ),
        ("us-east-1", "web-2", "stopped", &[("env", prod)], 99.0),
        (
            "us-east-1",
            "web-3",
            "running",
            &[("env", Some("staging"))],
            99.0,
        ),
        (
            "us-east-1",
            "bastion",
            "running",
            &[("env", prod), ("backup", None)],
            5.0,
        ),
        ("eu-west-1", "web-eu-1", "running", &[("env", prod)], 20.0),
        (
            "eu-west-1",
            "web-eu-2",
            "running",
            &[("env", prod), ("backup", None)],
            88.0,
        ),
    ];
    for &(region, name, state, tags, cpu) in instances {
        fake.put_instance(region, name, state, tags);
        fake.add_points_in(
            region,
            name,
            "CPUUtilization",
            "Percent",
            &five_minutes(&[cpu - 10.0, cpu - 5.0, cpu, cpu - 2.0, cpu]),
        );
    }
    let us = "us-east-1";
    let eu = "eu-west-1";
    fake.put_resource(
        "RelationalDatabase",
        us,
        "orders-db",
        None,
        &[("env", prod)],
    );
    fake.add_resource_points(
        "RelationalDatabase",
        us,
        "orders-db",
        "FreeStorageSpace",
        "Bytes",
        &five_minutes(&[2.6e9, 2.1e9, 1.8e9, 1.6e9]),
    );
    fake.put_resource("RelationalDatabase", us, "reports-db", Some("stopped"), &[]);
    fake.add_resource_points(
        "RelationalDatabase",
        us,
        "reports-db",
        "FreeStorageSpace",
        "Bytes",
        &five_minutes(&[1.0e8]),
    );
    fake.put_resource("LoadBalancer", eu, "web-lb", None, &[("env", prod)]);
    fake.add_resource_points(
        "LoadBalancer",
        eu,
        "web-lb",
        "HealthyHostCount",
        "Count",
        &five_minutes(&[2.0, 1.0, 0.0]),
    );
    fake.add_resource_points(
        "Distribution",
        us,
        "site-cdn",
        "Http5xxErrorRate",
        "Percent",
        &five_minutes(&[0.2, 0.4, 0.1]),
    );
    fake.put_resource(
        "ContainerService",
        eu,
        "api",
        None,
        &[("team", Some("payments"))],
    );
    fake.add_resource_points(
        "ContainerService",
        eu,
        "api",
        "MemoryUtilization",
        "Percent",
        &five_minutes(&[71.0, 88.0, 93.0]),
    );
    let day = 86_400;
    let today = T - T.rem_euclid(day);
    fake.add_resource_points(
        "Bucket",
        us,
        "media-assets",
        "BucketSizeBytes",
        "Bytes",
        &[(today - 2 * day, 1.48e11), (today - day, 1.52e11)],
    );
    fake
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn record(rules: &Path, out: &str, fake: &FakeLightsail) -> Output {
    command()
        .args(["record", "--at", AT, "--rules"])
        .arg(rules)
        .args(["--out", out])
        .envs(fake.env())
        .output()
        .expect("the binary runs")
}

/// `check --output json` of `rules` replayed from `recording`, at its `recordedAt`.
fn replay(rules: &Path, recording: &Path) -> Output {
    command()
        .args(["check", "--output", "json", "--rules"])
        .arg(rules)
        .arg("--replay")
        .arg(recording)
        .output()
        .expect("the binary runs")
}

/// What must be the same in both runs, per result in report order: which alarm it is,
/// its state and datapoints, and, but for `ERROR` results (whose message says where the
/// answer came from), the reason.
fn outcomes(report: &Value) -> Vec<Value> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let error = r["state"] == "ERROR";
            serde_json::json!({
                "rule": r["rule"],
                "resourceType": r["resourceType"],
                "resource": r["resource"],
                "region": r["region"],
                "state": r["state"],
                "datapoints": r["datapoints"],
                "reason": if error { Value::Null } else { r["reason"].clone() },
            })
        })
        .collect()
}

fn results_of(report: &Value) -> Vec<(String, String, String, String)> {
    outcomes(report)
        .iter()
        .map(|o| {
            let text = |field: &str| o[field].as_str().unwrap_or_default().to_owned();
            (
                text("rule"),
                text("resource"),
                text("region"),
                text("state"),
            )
        })
        .collect()
}

#[test]
fn a_recording_replays_the_results_of_the_live_run() {
    let fake = fleet();
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.yaml", RULES);

    let live = check_json(&rules)
        .envs(fake.env())
        .output()
        .expect("the binary runs");
    assert_eq!(live.status.code(), Some(0), "{}", stderr(&live));
    let live = report(&live);

    let path = dir.path().join("recording.json");
    std::fs::write(&path, "an older recording").unwrap();
    let out = record(&rules, path.to_str().unwrap(), &fake);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Listed: 4 + 2 instances, 2 databases, and one of each other type. Fetched: web-1,
    // web-eu-1 and web-eu-2 at 300 s, web-1 at 600 s (web-9 is not found), and one
    // series of each other type.
    let expected = format!(
        "Recorded 12 resource(s) and 9 series at {AT}, written to {}.",
        path.display()
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    // No call failed (web-9 not found is an answer, replayed alike).
    assert!(!stderr(&out).contains("warning:"), "{}", stderr(&out));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let recording: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("the recording is JSON");
    assert_eq!(recording["recordingVersion"], 1);
    assert_eq!(recording["recordedAt"], AT);
    let resource = |kind: &str, name: &str| {
        recording["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resourceType"] == kind && r["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {recording:#}"))
            .clone()
    };
    assert_eq!(
        resource("Instance", "bastion"),
        serde_json::json!({"resourceType": "Instance", "name": "bastion", "region": "us-east-1",
                           "state": "running", "tags": {"backup": null, "env": "prod"}})
    );
    assert_eq!(resource("Instance", "web-eu-2")["region"], "eu-west-1");
    assert_eq!(
        resource("RelationalDatabase", "reports-db")["state"],
        "stopped"
    );
    assert_eq!(resource("ContainerService", "api")["state"], "RUNNING");
    assert_eq!(
        resource("ContainerService", "api")["tags"]["team"],
        "payments"
    );
    assert!(resource("Distribution", "site-cdn").get("state").is_none());
    let web_1: Vec<(u64, String)> = recording["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["resource"] == "web-1")
        .map(|s| {
            assert_eq!(s["region"], "us-east-1");
            assert_eq!(s["unit"], "Percent");
            (
                s["period"].as_u64().unwrap(),
                s["metricData"][0]["timestamp"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(web_1.len(), 2, "one series per period: {web_1:?}");

    // Replayed with no AWS at all: the same results.
    let calls = fake.requests().len();
    let replayed = replay(&rules, &path);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    let replayed = report(&replayed);
    assert_eq!(fake.requests().len(), calls, "the replay called Lightsail");
    assert_eq!(replayed["evaluatedAt"], live["evaluatedAt"]);
    assert_eq!(outcomes(&replayed), outcomes(&live));
    assert_eq!(replayed["warnings"], live["warnings"]);
    assert_eq!(
        replayed["errors"].as_array().unwrap().len(),
        live["errors"].as_array().unwrap().len()
    );

    // And those results are what the fleet says.
    let results = results_of(&live);
    for (rule, resource, region, state) in [
        ("cpu-high", "web-1", "us-east-1", "ALARM"),
        ("cpu-high", "web-eu-1", "eu-west-1", "OK"),
        ("cpu-high", "web-eu-2", "eu-west-1", "ALARM"),
        ("cpu-high", "ghost-1", "us-east-1", "ERROR"),
        ("cpu-high-slow", "web-1", "us-east-1", "ALARM"),
        ("cpu-high-slow", "web-9", "us-east-1", "ERROR"),
        ("database-storage-low", "orders-db", "us-east-1", "ALARM"),
        (
            "load-balancer-no-healthy-hosts",
            "web-lb",
            "eu-west-1",
            "ALARM",
        ),
        ("distribution-5xx-rate", "site-cdn", "us-east-1", "OK"),
        ("container-memory-high", "api", "eu-west-1", "ALARM"),
    ] {
        let expected = (rule.into(), resource.into(), region.into(), state.into());
        assert!(results.contains(&expected), "{expected:?} in {results:?}");
    }
    for unselected in ["web-2", "web-3", "bastion", "reports-db"] {
        assert!(
            !results
                .iter()
                .any(|(_, resource, _, _)| resource == unselected),
            "{unselected}: {results:?}"
        );
    }
    assert!(
        live["warnings"].to_string().contains("cache-*"),
        "{:#}",
        live["warnings"]
    );
}

#[test]
fn out_dash_writes_the_recording_to_stdout() {
    let fake = FakeLightsail::start();
    fake.put_instance("us-east-1", "web-1", "running", &[("env", Some("prod"))]);
    fake.add_points("web-1", "CPUUtilization", "Percent", &five_minutes(&[90.0]));
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.yaml",
        &format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: '{TOPIC}'}}\nrules:\n  \
             - {{name: cpu, instances: ['web-*'], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    );
    let out = record(&rules, "-", &fake);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "Recorded 1 resource(s) and 1 series at {AT}, written to stdout."
        )),
        "{}",
        stderr(&out)
    );
    let recording: Value = serde_json::from_slice(&out.stdout).expect("stdout is the recording");
    assert_eq!(recording["recordingVersion"], 1);
    assert_eq!(recording["resources"][0]["name"], "web-1");
    assert_eq!(recording["series"][0]["metricData"][0]["average"], 90.0);
    // Nothing else was made in the working directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // Replayed from the same text, the result is the same ALARM.
    let path = write(
        dir.path(),
        "recording.json",
        &String::from_utf8_lossy(&out.stdout),
    );
    let replayed = replay(&rules, &path);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    assert_eq!(
        results_of(&report(&replayed)),
        [(
            "cpu".into(),
            "web-1".into(),
            "us-east-1".into(),
            "ALARM".into()
        )]
    );
}

#[test]
fn a_failed_run_or_an_unwritable_path_leaves_no_file_and_no_half_file() {
    let fake = FakeLightsail::start();
    fake.add_instance("web-1");
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.yaml",
        &format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: '{TOPIC}'}}\nrules:\n  \
             - {{name: cpu, instances: ['web-*'], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    );

    // A directory that does not exist: said before any call (invalid input).
    let missing = dir.path().join("no-such-dir/recording.json");
    let out = record(&rules, missing.to_str().unwrap(), &fake);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "error: cannot write the recording to {}",
            missing.display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.requests().len(), 0);

    // Every call fails: a run error, and the old recording is left as it was.
    fake.fail_region("us-east-1", 500);
    let path = write(dir.path(), "recording.json", "the previous recording");
    let out = command()
        .args(["record", "--at", AT, "--rules"])
        .arg(&rules)
        .arg("--out")
        .arg(&path)
        .envs(fake.env())
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was recorded"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "the previous recording"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_recording_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.yaml",
        &format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: '{TOPIC}'}}\nrules:\n  \
             - {{name: cpu, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    );
    let path = write(
        dir.path(),
        "recording.json",
        &format!(
            r#"{{"recordingVersion": 2, "recordedAt": "{AT}", "series": [], "resourceGroups": []}}"#
        ),
    );
    let out = replay(&rules, &path);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "error: {}: recordingVersion: `2` is not a recording version this lightsail-alerts \
             reads; allowed: 1 (or leave it out)",
            path.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

/// The AWS CLI's output of each listing, as `aws lightsail get-* --output json` prints
/// it (in tests/it/testdata/aws-cli/).
fn cli_output(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/testdata/aws-cli")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn aws_cli_listing_output_pasted_in_as_is_selects_the_fleet() {
    let listings: Vec<String> = [
        "get-instances.us-east-1.json",
        "get-instances.eu-west-1.json",
        "get-relational-databases.json",
        "get-load-balancers.json",
        "get-distributions.json",
        "get-container-services.json",
        "get-buckets.json",
    ]
    .iter()
    .map(|name| cli_output(name))
    .collect();
    // Each series in the shape of `aws lightsail get-*-metric-data` output.
    let series = |kind: &str, name: &str, region: &str, metric: &str, data: &[(i64, &str)]| {
        let data: Vec<String> = data
            .iter()
            .map(|(t, values)| {
                let t = chrono::DateTime::from_timestamp(*t, 0)
                    .unwrap()
                    .to_rfc3339();
                format!(r#"{{"timestamp": "{t}", {values}}}"#)
            })
            .collect();
        format!(
            r#"{{"resourceType": "{kind}", "resource": "{name}", "region": "{region}",
                "metric": "{metric}", "metricData": [{}]}}"#,
            data.join(", ")
        )
    };
    let last = T - 300;
    let series = [
        series(
            "Instance",
            "web-1",
            "us-east-1",
            "CPUUtilization",
            &[(last, r#""average": 95.0, "unit": "Percent""#)],
        ),
        series(
            "Instance",
            "web-2",
            "us-east-1",
            "CPUUtilization",
            &[(last, r#""average": 99.0, "unit": "Percent""#)],
        ),
        series(
            "Instance",
            "web-3",
            "us-east-1",
            "CPUUtilization",
            &[(last, r#""average": 99.0, "unit": "Percent""#)],
        ),
        series(
            "Instance",
            "web-eu-1",
            "eu-west-1",
            "CPUUtilization",
            &[(last, r#""average": 20.0, "unit": "Percent""#)],
        ),
        series(
            "RelationalDatabase",
            "orders-db",
            "us-east-1",
            "FreeStorageSpace",
            &[
                (last - 300, r#""minimum": 1.8e9, "unit": "Bytes""#),
                (last, r#""minimum": 1.6e9, "unit": "Bytes""#),
            ],
        ),
        series(
            "RelationalDatabase",
            "reports-db",
            "us-east-1",
            "FreeStorageSpace",
            &[(last, r#""minimum": 1.0e8, "unit": "Bytes""#)],
        ),
        series(
            "LoadBalancer",
            "web-lb",
            "eu-west-1",
            "HealthyHostCount",
            &[(last, r#""minimum": 0.0, "unit": "Count""#)],
        ),
        series(
            "Distribution",
            "site-cdn",
            "us-east-1",
            "Http5xxErrorRate",
            &[(last, r#""average": 0.1, "unit": "Percent""#)],
        ),
        series(
            "ContainerService",
            "api",
            "eu-west-1",
            "MemoryUtilization",
            &[(last, r#""average": 93.0, "unit": "Percent""#)],
        ),
        // A bucket with no objects has no datapoints; it exists all the same.
        series(
            "Bucket",
            "media-assets",
            "us-east-1",
            "BucketSizeBytes",
            &[],
        ),
    ];
    // The outputs pasted verbatim, one element each.
    let text = format!(
        "{{\n\"recordingVersion\": 1,\n\"recordedAt\": \"{AT}\",\n\"listings\": [\n{}\n],\n\"series\": [\n{}\n]\n}}\n",
        listings.join(",\n"),
        series.join(",\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.yaml", RULES);
    let path = write(dir.path(), "pasted.json", &text);
    let out = replay(&rules, &path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = results_of(&report(&out));
    let expected: Vec<(String, String, String, String)> = [
        ("cpu-high", "web-1", "us-east-1", "ALARM"),
        ("cpu-high", "ghost-1", "us-east-1", "ERROR"),
        ("cpu-high", "web-eu-1", "eu-west-1", "OK"),
        ("cpu-high", "ghost-1", "eu-west-1", "ERROR"),
        // Recorded at 300 s: the 600 s period ending at AT has no datapoint of its own
        // (the replay does not re-aggregate).
        ("cpu-high-slow", "web-1", "us-east-1", "INSUFFICIENT_DATA"),
        ("cpu-high-slow", "web-9", "us-east-1", "ERROR"),
        ("database-storage-low", "orders-db", "us-east-1", "ALARM"),
        (
            "load-balancer-no-healthy-hosts",
            "web-lb",
            "eu-west-1",
            "ALARM",
        ),
        ("distribution-5xx-rate", "site-cdn", "us-east-1", "OK"),
        ("container-memory-high", "api", "eu-west-1", "ALARM"),
        (
            "bucket-size-high",
            "media-assets",
            "us-east-1",
            "INSUFFICIENT_DATA",
        ),
    ]
    .iter()
    .map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), (*d).into()))
    .collect();
    let mut got = results.clone();
    got.sort();
    let mut want = expected;
    want.sort();
    assert_eq!(got, want);
}
