//! Rules as tested code (SPEC §15): `schema` (the JSON Schema the repository keeps, which
//! accepts every valid example and refuses what the validator refuses), `explain` (why
//! each listed resource is selected or not) and `check --state-file` (successive runs
//! over a recording show a transition and a recovery).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use lightsail_alerts::rules::{self, Fallbacks};

use crate::support::lightsail::FakeLightsail;
use crate::support::{AT, at, command, report, schema_violations, stderr};

const SCHEMA: &str = "schemas/rules-v1.schema.json";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fallbacks() -> Fallbacks {
    Fallbacks {
        region: Some("us-east-1".to_owned()),
        topic_arn: Some(TOPIC.to_owned()),
    }
}

/// A YAML document as the JSON value a schema validator sees.
fn json_of(yaml: &str) -> Value {
    serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{e}:\n{yaml}"))
}

// ---------------------------------------------------------------------------------------
// schema

#[test]
fn schema_prints_the_committed_schema() {
    let out = command().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let committed = std::fs::read_to_string(repo(SCHEMA)).unwrap();
    assert!(
        stdout(&out) == committed,
        "{SCHEMA} is not what `lightsail-alerts schema` prints (a rules field, the catalog \
         or README.md's rules reference changed): regenerate it with\n  cargo run -- schema \
         > {SCHEMA}\nand commit it"
    );
    let schema: Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

/// The rules documents of the README's examples: its YAML blocks that hold rules, a
/// list of rules given the document around it (not the rule test files).
fn readme_documents() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let mut documents = Vec::new();
    let mut lines = readme.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let Some(indent) = line.strip_suffix("```yaml").map(str::len) else {
            continue;
        };
        let block: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| l.trim() != "```")
            .map(|l| l.get(indent..).unwrap_or(""))
            .collect();
        let text = block.join("\n") + "\n";
        let name = format!("README.md:{}", number + 1);
        let document = match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
            // A rule test file (`rules: FILE` and `tests:`) is not a rules document.
            Ok(serde_yaml_ng::Value::Mapping(map)) if map.contains_key("tests") => continue,
            Ok(serde_yaml_ng::Value::Mapping(map)) if map.contains_key("rules") => {
                match map.contains_key("version") {
                    true => text,
                    false => format!("version: 1\n{text}"),
                }
            }
            Ok(serde_yaml_ng::Value::Sequence(_)) => format!("version: 1\nrules:\n{text}"),
            // A fragment of a rule (`notify:`, a condition): no document.
            _ => continue,
        };
        documents.push((name, document));
    }
    documents
}

fn valid_examples() -> Vec<(String, String)> {
    let mut documents = Vec::new();
    for path in [
        "examples/rules.yaml",
        "tests/it/testdata/output/narrow.rules.yaml",
        "tests/it/testdata/output/wide.rules.yaml",
    ] {
        documents.push((
            path.to_owned(),
            std::fs::read_to_string(repo(path)).unwrap(),
        ));
    }
    let template = std::fs::read_to_string(repo("template.yaml")).unwrap();
    let embedded = lightsail_alerts::cli::template::embedded(&template, "template.yaml").unwrap();
    assert!(!embedded.is_empty());
    documents.extend(embedded.into_iter().map(|e| (e.source, e.text)));
    let readme = readme_documents();
    assert!(readme.len() >= 7, "{readme:?}");
    documents.extend(readme);
    documents
}

#[test]
fn every_valid_example_passes_the_schema() {
    for (name, text) in valid_examples() {
        rules::parse(&text, &name, &fallbacks())
            .unwrap_or_else(|e| panic!("{name} is not valid rules: {e}"));
        if let Some(checked) = schema_violations(SCHEMA, &json_of(&text)) {
            checked.unwrap_or_else(|v| panic!("{name} is valid, but {SCHEMA} refuses it:\n{v}"));
        }
    }
}

#[test]
fn the_schema_refuses_what_the_validator_refuses() {
    let rule = |extra: &str| {
        format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: '{TOPIC}'}}\nrules:\n  - \
             {{name: cpu, metric: CPUUtilization, comparison: '>', threshold: 80, {extra}}}\n"
        )
    };
    let cases = [
        (
            rule("instances: [web-1], treshold: 1"),
            "Additional properties are not allowed ('treshold' was unexpected)",
        ),
        (
            rule("instances: [web-1], statistic: Mean"),
            "'Mean' is not one of ['Minimum', 'Maximum', 'Sum', 'Average', 'SampleCount']",
        ),
        (
            rule("instances: [web-1], resources: [web-2]"),
            "should not be valid under {'required': ['instances', 'resources']}",
        ),
        (
            rule("resourceType: Bucket, resources: [media]")
                .replace("metric: CPUUtilization", "metric: BurstCapacityPercentage"),
            "rules/0/metric : 'BurstCapacityPercentage' is not one of ['BucketSizeBytes', \
             'NumberOfObjects']",
        ),
        (
            rule("instances: [web-1], comparison: gt").replace("comparison: '>', ", ""),
            "'gt' is not one of ['GreaterThanOrEqualToThreshold', '>=',",
        ),
        (
            rule("resourceType: RelationalDatabase, instances: [orders-db]"),
            "should not be valid under {'required': ['instances']}",
        ),
        (
            rule("instances: [web-1], states: [available]"),
            "'available' is not one of ['pending', 'running',",
        ),
        (
            rule("instances: [web-1], unit: Bytes"),
            "rules/0/unit : 'Percent' was expected",
        ),
        (
            rule("instances: [web-1], region: useast1"),
            "'useast1' does not match",
        ),
        (
            rule("instances: [web-1], topicArn: 'arn:aws:sqs:us-east-1:123456789012:q'"),
            "does not match '^arn:aws",
        ),
    ];
    for (document, says) in cases {
        assert!(
            rules::parse(&document, "bad.yaml", &fallbacks()).is_err(),
            "the validator accepts:\n{document}"
        );
        let Some(checked) = schema_violations(SCHEMA, &json_of(&document)) else {
            return;
        };
        let violations = checked.expect_err(&document);
        assert!(violations.contains(says), "{document}\n{violations}");
    }
}

#[test]
fn the_example_rules_name_the_schema_in_their_modeline() {
    let example = std::fs::read_to_string(repo("examples/rules.yaml")).unwrap();
    let first = example.lines().next().unwrap();
    let path = first
        .strip_prefix("# yaml-language-server: $schema=")
        .unwrap_or_else(|| panic!("examples/rules.yaml starts with {first:?}"));
    assert_eq!(
        repo("examples").join(path).canonicalize().unwrap(),
        repo(SCHEMA).canonicalize().unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// explain

fn explain(args: &[&str]) -> Output {
    command().arg("explain").args(args).output().unwrap()
}

#[test]
fn explain_says_why_each_resource_of_the_example_fleet_is_selected_or_not() {
    let (rules, recording) = (
        repo("examples/rules.yaml"),
        repo("examples/datapoints.json"),
    );
    let out = explain(&[
        "--rules",
        rules.to_str().unwrap(),
        "--replay",
        recording.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "burst-capacity-low in us-east-1: 2 of 5 instance(s) selected\n\
         \x20 bastion     not selected: matches none of web-*\n\
         \x20 db-1        not selected: matches none of web-*\n\
         \x20 web-1       selected: matched web-*\n\
         \x20 web-2       selected: matched web-*\n\
         \x20 web-test-1  not selected: state stopped, not running\n",
        "status-check-failed in us-east-1: 3 of 5 instance(s) selected\n\
         \x20 bastion     not selected: excluded by bastion\n\
         \x20 db-1        selected: matched *\n",
        "  web-test-1  not selected: tag env is test, not prod\n",
        "database-storage-low in us-east-1: 2 of 3 database(s) selected\n",
        "  reports-db  not selected: state stopped, not available\n",
        "bucket-size-high in us-east-1: 1 of 1 bucket(s) selected\n",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in:\n{text}");
    }

    // One rule, as JSON, in the run's order.
    let out = explain(&[
        "--rules",
        rules.to_str().unwrap(),
        "--replay",
        recording.to_str().unwrap(),
        "--rule",
        "status-check-failed",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let explained = report(&out);
    let explanations = explained["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 1, "{explained:#}");
    let one = &explanations[0];
    assert_eq!(one["rule"], "status-check-failed");
    assert_eq!(one["resourceType"], "Instance");
    assert_eq!(one["selected"], json!(["db-1", "web-1", "web-2"]));
    assert_eq!(
        one["resources"][0],
        json!({"name": "bastion", "state": "running", "selected": false, "why": "not selected: excluded by bastion"})
    );

    let out = explain(&[
        "--rules",
        rules.to_str().unwrap(),
        "--replay",
        recording.to_str().unwrap(),
        "--rule",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "--rule cpu: the rules have no rule of that name; they are: burst-capacity-low, "
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explain_names_missing_names_unmatched_globs_and_each_tag_and_state_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: '{TOPIC}'}}\nrules:\n\
             - {{name: prod-web, instances: ['web-*', 'cache-*', ghost], exclude: ['web-test-*'], \
             tags: {{env: prod, backup: '*'}}, states: [running], metric: CPUUtilization, \
             comparison: '>', threshold: 80}}\n\
             - {{name: caches, instances: ['cache-*'], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    )
    .unwrap();
    let recording = dir.path().join("fleet.json");
    std::fs::write(
        &recording,
        json!({
            "recordedAt": AT,
            "resources": [
                {"name": "web-1", "tags": {"env": "prod", "backup": null}},
                {"name": "web-2", "tags": {"env": "dev", "backup": "daily"}},
                {"name": "web-3", "tags": {"env": null, "backup": "weekly"}},
                {"name": "web-4", "tags": {"env": "prod"}},
                {"name": "web-5", "state": "stopped", "tags": {"env": "prod", "backup": "x"}},
                {"name": "web-test-1", "tags": {"env": "prod"}},
                {"name": "db-1"}
            ],
            "series": []
        })
        .to_string(),
    )
    .unwrap();
    let out = explain(&[
        "--rules",
        rules.to_str().unwrap(),
        "--replay",
        recording.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "prod-web in us-east-1: 1 of 7 instance(s) selected\n\
         \x20 db-1        not selected: matches none of web-*, cache-*, ghost\n\
         \x20 web-1       selected: matched web-*\n\
         \x20 web-2       not selected: tag env is dev, not prod\n\
         \x20 web-3       not selected: tag env has no value, not prod\n\
         \x20 web-4       not selected: no tag backup\n\
         \x20 web-5       not selected: state stopped, not running\n\
         \x20 web-test-1  not selected: excluded by web-test-*\n\
         \x20 ghost       not listed: GetInstances in us-east-1 has no instance of that name (an ERROR result in a run)\n\
         \x20 warning: `cache-*` matches no instance in us-east-1\n\
         \n\
         caches in us-east-1: 0 of 7 instance(s) selected\n\
         \x20 db-1        not selected: matches none of cache-*\n\
         \x20 web-1       not selected: matches none of cache-*\n\
         \x20 web-2       not selected: matches none of cache-*\n\
         \x20 web-3       not selected: matches none of cache-*\n\
         \x20 web-4       not selected: matches none of cache-*\n\
         \x20 web-5       not selected: matches none of cache-*\n\
         \x20 web-test-1  not selected: matches none of cache-*\n\
         \x20 warning: selects no instance in us-east-1: none of the 7 instance(s) in us-east-1 matches [cache-*]\n"
    );
}

#[test]
fn explain_lists_lightsail_without_fetching_a_metric_and_says_which_region_failed() {
    let fake = FakeLightsail::start();
    fake.put_instance("us-east-1", "web-1", "running", &[]);
    fake.put_instance("us-east-1", "web-2", "stopped", &[]);
    fake.put_instance("us-east-1", "db-1", "running", &[]);
    fake.fail_region("eu-west-1", 403);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "version: 1\ndefaults: {{topicArn: '{TOPIC}'}}\nrules:\n\
             - {{name: web, instances: [web-1, web-2], regions: [us-east-1, eu-west-1], \
             metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    )
    .unwrap();
    let out = command()
        .args(["explain", "--rules"])
        .arg(&rules)
        .envs(fake.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "web in us-east-1: 2 of 3 instance(s) selected\n\
             \x20 db-1   not selected: matches none of web-1, web-2\n\
             \x20 web-1  selected: matched web-1\n\
             \x20 web-2  selected: matched web-2\n\
             \n\
             web in eu-west-1:\n\
             \x20 error: GetInstances failed in eu-west-1: "
        ),
        "{text}"
    );
    assert!(
        stderr(&out).contains("some regions could not be listed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fake.calls("GetInstances", "us-east-1"), 1);
    assert_eq!(fake.calls("GetInstanceMetricData", "us-east-1"), 0);
}

// ---------------------------------------------------------------------------------------
// check --state-file

/// web-1's CPU at 90 %, 95 % and 10 % in the periods that end at runs 0, 1 and 2.
fn cpu_recording(dir: &Path) -> PathBuf {
    let path = dir.join("cpu.json");
    let point = |run: i64, value: f64| {
        let start =
            chrono::DateTime::parse_from_rfc3339(&at(run)).unwrap() - chrono::TimeDelta::minutes(5);
        json!({"timestamp": start.to_rfc3339(), "average": value, "unit": "Percent"})
    };
    let recording = json!({
        "recordedAt": at(2),
        "series": [{
            "resource": "web-1",
            "metric": "CPUUtilization",
            "metricData": [point(0, 90.0), point(1, 95.0), point(2, 10.0)],
        }],
    });
    std::fs::write(&path, recording.to_string()).unwrap();
    path
}

#[test]
fn successive_replays_with_a_state_file_show_a_transition_and_a_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: '{TOPIC}'}}\nrules:\n\
             - {{name: cpu-high, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    )
    .unwrap();
    let recording = cpu_recording(dir.path());
    let state = dir.path().join("state.json");
    let check = |run: i64| {
        let out = command()
            .args(["check", "--output", "json", "--at", &at(run), "--rules"])
            .arg(&rules)
            .arg("--replay")
            .arg(&recording)
            .arg("--state-file")
            .arg(&state)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "run {run}: {}", stderr(&out));
        let report = report(&out);
        if let Some(checked) = schema_violations("schemas/report-v1.schema.json", &report) {
            checked.unwrap();
        }
        report
    };
    let seen = |report: &Value| {
        let result = &report["results"][0];
        (
            result["state"].clone(),
            result["previousState"].clone(),
            result["notified"].clone(),
            result["why"].clone(),
            report["alerts"].as_array().map_or(0, Vec::len),
        )
    };

    let first = check(0);
    assert_eq!(first["dryRun"], true);
    assert_eq!(first["published"], 0);
    assert_eq!(
        seen(&first),
        (
            json!("ALARM"),
            Value::Null,
            json!(true),
            json!("transition"),
            1
        )
    );
    let stored: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let item = &stored["items"]["cpu-high#us-east-1#web-1"]["stored"];
    assert_eq!(item["state"], "ALARM");
    assert_eq!(item["notifiedAt"], at(0));
    assert_eq!(item["alarmOpen"], true);

    // The alarm persists: nothing to send.
    assert_eq!(
        seen(&check(1)),
        (
            json!("ALARM"),
            json!("ALARM"),
            json!(false),
            json!("unchanged"),
            0
        )
    );
    // It recovers: the OK notice is a recovery of the ALARM the first run sent.
    let third = check(2);
    assert_eq!(
        seen(&third),
        (
            json!("OK"),
            json!("ALARM"),
            json!(true),
            json!("transition"),
            1
        )
    );
    assert!(
        third["alerts"][0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("[OK] cpu-high"),
        "{third:#}"
    );
    // The same run again is the same range: nothing new.
    assert_eq!(
        seen(&check(2)),
        (
            json!("OK"),
            json!("OK"),
            json!(false),
            json!("sameRange"),
            0
        )
    );

    // The text says what a run with --publish would have done.
    std::fs::remove_file(&state).unwrap();
    let out = command()
        .args(["check", "--at", &at(0), "--color", "never", "--rules"])
        .arg(&rules)
        .arg("--replay")
        .arg(&recording)
        .arg("--state-file")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("  would send\n"), "{}", stdout(&out));
}

#[test]
fn a_state_file_is_not_a_table_and_a_corrupt_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let recording = cpu_recording(dir.path());
    let rules = repo("tests/it/testdata/output/narrow.rules.yaml");
    let state = dir.path().join("state.json");
    let check = |vars: &[(&str, &str)]| {
        command()
            .args(["check", "--at", AT, "--rules"])
            .arg(&rules)
            .arg("--replay")
            .arg(&recording)
            .arg("--state-file")
            .arg(&state)
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    };
    let out = check(&[("ALERT_STATE_TABLE", "alarm-state")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "error: --state-file {} and ALERT_STATE_TABLE=alarm-state are both set; use one",
            state.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!state.exists());

    std::fs::write(&state, "{\"items\": []}").unwrap();
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "error: the state file {} is not a lightsail-alerts state file: it has no \
             stateFileVersion; remove it (or name another) to start from no state",
            state.display()
        )),
        "{}",
        stderr(&out)
    );
}
