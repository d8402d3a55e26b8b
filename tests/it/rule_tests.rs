//! Black-box tests of `lightsail-alerts test FILE...` (SPEC §15): rule unit tests that
//! pass, fail and are invalid, written to temporary directories, and the project's own
//! example tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{command, stderr};

/// The README's `burst-capacity-low`, naming no region and no topic: the test command
/// must not need `AWS_REGION` or `ALERT_TOPIC_ARN`.
const RULES: &str = r#"
version: 1
rules:
  - name: burst-capacity-low
    instances: ["web-*"]
    states: [running]
    metric: BurstCapacityPercentage
    comparison: LessThanThreshold
    threshold: 20
    recoveryThreshold: 30
    evaluationPeriods: 3
    datapointsToAlarm: 2
"#;

/// SPEC §15's example, which passes, and the same data with 25 for 35: the alarm holds
/// at 12:40 (two of 12, 25, 40 are below the recovery threshold), which it does not
/// expect.
const TESTS: &str = r#"
rules: ../rules.yaml
tests:
  - name: burst capacity runs out, then recovers
    start: 2026-11-24T12:00:00Z
    resources:
      - {name: web-1, tags: {env: prod}, state: running}
    series:
      - resource: web-1
        metric: BurstCapacityPercentage
        values: "50 40 30 15 12x1 35 40"
    expect:
      - at: 2026-11-24T12:25:00Z
        results: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]
        alerts: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]
      - at: 2026-11-24T12:40:00Z
        alerts: [{rule: burst-capacity-low, resource: web-1, state: OK}]
  - name: recovers too early
    start: 2026-11-24T12:00:00Z
    series:
      - resource: web-1
        metric: BurstCapacityPercentage
        values: "50 40 30 15 12x1 25 40"
    expect:
      - at: 2026-11-24T12:25:00Z
        alerts: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]
      - at: 2026-11-24T12:40:00Z
        results: [{rule: burst-capacity-low, resource: web-1, state: OK}]
        alerts: [{rule: burst-capacity-low, resource: web-1, state: OK}]
"#;

/// `rules.yaml` and `tests/<name>` holding `test`, in a new directory.
fn files(tests: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), RULES).unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    let paths = tests
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join("tests").join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    (dir, paths)
}

fn test(files: &[PathBuf]) -> Output {
    command().arg("test").args(files).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn show(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out))
}

#[test]
fn a_failing_test_exits_1_and_shows_its_step_what_differed_and_what_happened() {
    let (_dir, paths) = files(&[("burst.test.yaml", TESTS)]);
    let out = test(&paths);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let file = paths[0].display();
    let expected = format!(
        "ok      {file}: burst capacity runs out, then recovers
FAILED  {file}: recovers too early
        step 2 at 2026-11-24T12:40:00Z ({file}:27:13):
          result missing:     {{rule: burst-capacity-low, resource: web-1, state: OK}}
            got instead:      {{rule: burst-capacity-low, resource: web-1, state: ALARM}}
          alert not sent:     {{rule: burst-capacity-low, resource: web-1, state: OK}}
          this step's run:
            results:
              - {{rule: burst-capacity-low, resource: web-1, state: ALARM}}
            alerts: []

2 tests, 1 failed
"
    );
    assert_eq!(stdout(&out), expected);
    assert_eq!(stderr(&out), "");
}

#[test]
fn passing_tests_exit_0_without_aws_region_or_topic_in_the_environment() {
    let passing = TESTS.split("  - name: recovers too early").next().unwrap();
    let (_dir, paths) = files(&[("a.yaml", passing), ("b.yaml", passing)]);
    // Whatever the shell says, the rules get the placeholders: the test reads the same
    // everywhere.
    let out = command()
        .arg("test")
        .args(&paths)
        .env_remove("AWS_REGION")
        .env("ALERT_TOPIC_ARN", "not an ARN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok      ")).count(),
        2
    );
    assert!(text.ends_with("\n2 tests, 0 failed\n"), "{text}");

    let in_region = passing.replace(
        "state: OK}]",
        "state: OK, region: us-east-1, resourceType: Instance}]",
    );
    let (_dir, paths) = files(&[("c.yaml", &in_region)]);
    let out = command()
        .arg("test")
        .args(&paths)
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn an_invalid_test_file_exits_2_with_every_error_placed_and_the_others_still_run() {
    let invalid = r#"rules: ../rules.yaml
tests:
  - name: typos
    start: 2026-11-24T12:00:00Z
    series:
      - resource: web-1
        metric: BurstCapacityPercentage
        values: "50 40 12x 30"
    expect:
      - at: 2026-11-24T12:25:00Z
        alerts: [{rule: burst-capacity-lo, resource: web-1, state: ALARM}]
"#;
    let unknown_field =
        "rules: ../rules.yaml\ntests:\n  - name: x\n    strat: 2026-11-24T12:00:00Z\n";
    let passing = TESTS.split("  - name: recovers too early").next().unwrap();
    let (_dir, paths) = files(&[
        ("invalid.yaml", invalid),
        ("unknown.yaml", unknown_field),
        ("passing.yaml", passing),
    ]);
    let out = test(&paths);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let (invalid, unknown, passing) = (paths[0].display(), paths[1].display(), paths[2].display());
    assert_eq!(
        stderr(&out),
        format!(
            "error: 2 errors in the test file {invalid}:
  {invalid}:8:24: tests[0].series[0].values: character 7: `12x`: expected a whole number of repetitions after `x`, got ``; allowed: a number, `_`, `a+bxN`, `a-bxN`, `axN` or `_xN`
  {invalid}:11:25: tests[0].expect[0].alerts[0].rule: `burst-capacity-lo` is not a rule of the rules file (did you mean `burst-capacity-low`?); allowed: burst-capacity-low
error: 1 error in the test file {unknown}:
  {unknown}:4:5: tests[0]: unknown field `strat` (did you mean `start`?); allowed: name, start, resources, series, expect
"
        )
    );
    assert_eq!(
        stdout(&out),
        format!(
            "ok      {passing}: burst capacity runs out, then recovers\n\n1 test, 0 failed; 2 invalid test files\n"
        )
    );
}

#[test]
fn invalid_rules_and_missing_files_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), "version: 1\nrules: []\n").unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, TESTS.replace("../rules.yaml", "rules.yaml")).unwrap();
    let out = test(std::slice::from_ref(&path));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let rules = dir.path().join("rules.yaml");
    assert!(
        stderr(&out).contains(&format!(
            "{}:2:8: rules: {} has 1 error:\n    {}:2:8: rules: must contain at least one rule",
            path.display(),
            rules.display(),
            rules.display()
        )),
        "{}",
        show(&out)
    );

    let out = test(&[dir.path().join("missing.yaml")]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("missing.yaml: cannot read the test file: "),
        "{}",
        show(&out)
    );
    // No file at all is a usage error.
    let out = command().arg("test").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[test]
fn the_example_rules_pass_their_own_tests() {
    let example = Path::new("examples/rules.test.yaml");
    let out = test(&[example.to_path_buf()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    for name in [
        "burst capacity runs out, then recovers",
        "hysteresis holds the alarm until the data is clearly back",
        "a reminder every hour while the alarm lasts",
        "a glob selects every running web server and nothing else",
        "a tag selects the production fleet but the bastion",
        "a traffic burst in the backup window that ends in it sends nothing",
        "a traffic burst that outlasts the backup window is sent when it ends",
        "a failing status check holds the burst capacity alarm until it passes",
    ] {
        assert!(
            text.contains(&format!("ok      examples/rules.test.yaml: {name}\n")),
            "{name}: {text}"
        );
    }
    assert!(text.ends_with("\n8 tests, 0 failed\n"), "{text}");
}
