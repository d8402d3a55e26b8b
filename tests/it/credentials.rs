//! Credentials the way people have them (SPEC §14): IAM Identity Center (SSO) profiles
//! and `credential_process` work, and missing or expired credentials are said once, in
//! one line with the fix, exit 1, before any call, never as an SDK `Debug` dump.

use std::process::Output;

use crate::support::lightsail::FakeLightsail;
use crate::support::{T, check_json, stderr};

const CONFIG: &str = r#"[profile sso-dev]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = ReadOnly
region = us-east-1

[profile west]
aws_access_key_id = AKIDWEST
aws_secret_access_key = secret
region = eu-west-2

[profile process]
credential_process = /bin/sh -c "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"secret\"}'"
region = us-east-1
"#;

/// `check` of one rule on web-1 against `fake`, with the static test keys removed and
/// `profile` (if any) selected from a config file of [`CONFIG`] under a home of its own.
fn check_as(fake: &FakeLightsail, profile: Option<&str>) -> Output {
    check_with(fake, profile.map(|p| ("AWS_PROFILE", p)), &[], &[])
}

/// The same with `variable` set, `args` added and `removed` variables unset.
fn check_with(
    fake: &FakeLightsail,
    variable: Option<(&str, &str)>,
    args: &[&str],
    removed: &[&str],
) -> Output {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::write(&config, CONFIG).unwrap();
    let rules = home.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "version: 1\nrules:\n  - {name: cpu, instances: [web-1], metric: CPUUtilization, \
         comparison: '>', threshold: 80, topicArn: 'arn:aws:sns:us-east-1:123456789012:t'}\n",
    )
    .unwrap();
    let credentials = home.path().join("credentials");
    std::fs::write(&credentials, "").unwrap();
    let mut command = check_json(&rules);
    // As a user runs it: the default log level, not the tests' RUST_LOG=info.
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("RUST_LOG")
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .envs(fake.env());
    if let Some((name, value)) = variable {
        command.env(name, value);
    }
    for name in removed {
        command.env_remove(name);
    }
    command.args(args).output().unwrap()
}

fn assert_one_line_error(out: &Output, expected: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, no per-rule output:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[0].contains(expected), "{expected:?} not in:\n{err}");
    for debug in ["ProviderError {", "DispatchFailure", "Some(", "source:"] {
        assert!(!err.contains(debug), "a Debug dump in:\n{err}");
    }
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn no_credentials_at_all_is_one_line_with_the_fix_before_any_call() {
    let fake = FakeLightsail::start();
    let out = check_as(&fake, None);
    assert_one_line_error(&out, "no AWS credentials found");
    assert!(stderr(&out).contains("aws configure"), "{}", stderr(&out));
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn an_sso_profile_without_a_session_says_to_log_in_with_that_profile() {
    let fake = FakeLightsail::start();
    let out = check_as(&fake, Some("sso-dev"));
    assert_one_line_error(&out, "run `aws sso login --profile sso-dev`");
    assert!(fake.requests().is_empty());
}

#[test]
fn a_profile_that_does_not_exist_is_named() {
    let fake = FakeLightsail::start();
    let out = check_as(&fake, Some("prod-typo"));
    assert_one_line_error(&out, "no AWS credentials found for profile `prod-typo`");
}

#[test]
fn a_credential_process_profile_signs_the_calls() {
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T - 300, 95.0)]);
    let out = check_as(&fake, Some("process"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let authorization = requests[0]
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    assert!(
        authorization.contains("Credential=AKIDPROCESS/"),
        "{authorization}"
    );
}

#[test]
fn profile_and_region_flags_choose_the_account_and_the_region_of_rules_that_name_none() {
    let fake = FakeLightsail::start();
    fake.add_points_in(
        "eu-west-2",
        "web-1",
        "CPUUtilization",
        "Percent",
        &[(T - 300, 95.0)],
    );
    fake.add_points_in(
        "eu-north-1",
        "web-1",
        "CPUUtilization",
        "Percent",
        &[(T - 300, 95.0)],
    );
    let region_of = |out: &Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        let report = crate::support::report(out);
        let result = &report["results"][0];
        assert_eq!(result["state"], "ALARM", "{report:#}");
        result["region"].as_str().unwrap().to_owned()
    };
    // --profile: its keys sign the calls, and with no AWS_REGION its region is the rules'.
    let out = check_with(&fake, None, &["--profile", "west"], &["AWS_REGION"]);
    assert_eq!(region_of(&out), "eu-west-2");
    let last = fake.requests().pop().unwrap();
    assert_eq!(last.region.as_deref(), Some("eu-west-2"));
    assert!(last.headers["authorization"].contains("Credential=AKIDWEST/"));
    // AWS_REGION wins over the profile's region, and --region over both.
    let out = check_with(
        &fake,
        Some(("AWS_REGION", "eu-north-1")),
        &["--profile", "west"],
        &[],
    );
    assert_eq!(region_of(&out), "eu-north-1");
    let out = check_with(
        &fake,
        Some(("AWS_REGION", "us-east-1")),
        &["--profile", "west", "--region", "eu-north-1"],
        &[],
    );
    assert_eq!(region_of(&out), "eu-north-1");
    // A region that is not one is refused by name.
    let out = check_with(
        &fake,
        None,
        &["--profile", "west", "--region", "Europe"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not an AWS region name"),
        "{}",
        stderr(&out)
    );
}

/// `check` as text of `rules` against `fake`, with the tests' static keys.
fn check_text(fake: &FakeLightsail, rules: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, rules).unwrap();
    crate::support::command()
        .args(["check", "--at", crate::support::AT, "--rules"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .envs(fake.env())
        .output()
        .unwrap()
}

const TWO_REGIONS: &str = "version: 1\nrules:\n  - {name: cpu, instances: [web-1, web-2], \
    regions: [us-east-1, eu-west-2], metric: CPUUtilization, comparison: '>', threshold: 80, \
    topicArn: 'arn:aws:sns:us-east-1:123456789012:t'}\n";

#[test]
fn credentials_refused_on_every_call_are_one_line_with_the_fix_not_a_table() {
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T - 300, 95.0)]);
    // Keys AWS does not accept: the profile's name is in the fix.
    fake.fail_region("us-east-1", 401);
    let out = check_with(
        &fake,
        None,
        &["--profile", "west", "--region", "us-east-1"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: GetInstanceMetricData failed for `web-1` in us-east-1: "),
        "{err}"
    );
    assert!(err.contains("UnauthenticatedException"), "{err}");
    assert!(
        err.contains("AWS does not accept the credentials of profile `west`: check the access key and secret (`aws configure --profile west`)"),
        "{err}"
    );
    // --output json still prints the report, whose error carries the code.
    let report = crate::support::report(&out);
    assert_eq!(
        report["errors"][0]["code"], "UnauthenticatedException",
        "{report:#}"
    );

    // Access denied, as text: the line instead of the table.
    fake.clear_region("us-east-1");
    fake.fail_region("us-east-1", 403);
    fake.fail_region("eu-west-2", 403);
    let out = check_text(&fake, TWO_REGIONS);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("AccessDeniedException"), "{err}");
    assert!(
        err.contains("(and the run's 3 other calls); the credentials may not read Lightsail"),
        "{err}"
    );
}

#[test]
fn a_refusal_in_one_region_stays_on_the_rows_of_that_region() {
    let fake = FakeLightsail::start();
    for name in ["web-1", "web-2"] {
        fake.add_points(name, "CPUUtilization", "Percent", &[(T - 300, 95.0)]);
    }
    fake.fail_region("eu-west-2", 403);
    let out = check_text(&fake, TWO_REGIONS);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("  ALARM  ").count(), 2, "{text}");
    assert_eq!(text.matches("  ERROR  ").count(), 2, "{text}");
    assert!(text.contains("AccessDeniedException"), "{text}");
    assert!(
        !stderr(&out).contains("may not read Lightsail"),
        "{}",
        stderr(&out)
    );
}
