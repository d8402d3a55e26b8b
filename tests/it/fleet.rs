//! Fleets and regions (SPEC §10), black-box: the binary selects instances with globs,
//! `"*"`, `exclude`, `tags` and `states` from a fake Lightsail that pages `GetInstances`
//! per region, and evaluates each rule in each of its regions.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::{check_json, command, report, stderr};
use serde_json::Value;

use crate::support::{AT, T};
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

/// CPU over the last five 5-minute periods: `high` breaches a `> 80` rule, else not.
fn cpu(fake: &FakeLightsail, region: &str, instance: &str, high: bool) {
    let value = if high { 95.0 } else { 20.0 };
    let points: Vec<(i64, f64)> = (1..=5).map(|age| (T - age * 300, value)).collect();
    fake.add_points_in(region, instance, "CPUUtilization", "Percent", &points);
}

/// An instance with tags and CPU data.
fn instance(
    fake: &FakeLightsail,
    region: &str,
    name: &str,
    state: &str,
    tags: &[(&str, Option<&str>)],
    high: bool,
) {
    fake.put_instance(region, name, state, tags);
    cpu(fake, region, name, high);
}

/// us-east-1: web-1 (prod, high CPU), web-2 (prod, stopped), web-3 (staging), db-1
/// (prod), bastion (prod); eu-west-1: web-eu-1 (prod, high CPU), web-eu-2 (prod), and
/// api-eu-1 (no tags). Listed two to a page.
fn fleet() -> FakeLightsail {
    let fake = FakeLightsail::start();
    fake.page_size(2);
    let prod = Some("prod");
    let us = "us-east-1";
    instance(
        &fake,
        us,
        "web-1",
        "running",
        &[("env", prod), ("role", Some("web"))],
        true,
    );
    instance(&fake, us, "web-2", "stopped", &[("env", prod)], false);
    instance(
        &fake,
        us,
        "web-3",
        "running",
        &[("env", Some("staging"))],
        false,
    );
    instance(
        &fake,
        us,
        "db-1",
        "running",
        &[("env", prod), ("backup", None)],
        false,
    );
    instance(&fake, us, "bastion", "running", &[("env", prod)], false);
    let eu = "eu-west-1";
    instance(&fake, eu, "web-eu-1", "running", &[("env", prod)], true);
    instance(&fake, eu, "web-eu-2", "running", &[("env", prod)], false);
    instance(&fake, eu, "api-eu-1", "running", &[], false);
    fake
}

struct Rules {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// A rules document of `rules`, each a YAML flow mapping of selection fields (and
/// anything else) that gets a name, CPUUtilization > 80 and the topic.
fn rules(rules: &[(&str, &str)]) -> Rules {
    let body: Vec<String> = rules
        .iter()
        .map(|(name, fields)| {
            format!(
                "  - {{name: {name}, metric: CPUUtilization, comparison: '>', threshold: 80, {fields}}}"
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    let text = format!(
        "version: 1\ndefaults: {{topicArn: '{TOPIC}'}}\nrules:\n{}\n",
        body.join("\n")
    );
    std::fs::write(&path, text).unwrap();
    Rules { _dir: dir, path }
}

/// `check --output json --at AT` with `args` against `fake` (and `extra` endpoints).
fn check(rules: &Rules, args: &[&str], fake: &FakeLightsail, extra: &[(String, String)]) -> Output {
    check_json(&rules.path)
        .args(args)
        .envs(fake.env())
        .envs(extra.iter().cloned())
        .output()
        .expect("the binary runs")
}

/// `(region, instance)` of every result of `rule`, in report order.
fn selected(report: &Value, rule: &str) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == rule)
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_owned(),
                r["instance"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, i)| ((*r).to_owned(), (*i).to_owned()))
        .collect()
}

/// Listings of `region` started (a first page, without a token) and pages fetched.
fn listings(fake: &FakeLightsail, region: &str) -> (usize, usize) {
    let pages: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.operation() == Some("GetInstances") && r.region.as_deref() == Some(region))
        .collect();
    let first = pages
        .iter()
        .filter(|r| r.body.get("pageToken").is_none())
        .count();
    (first, pages.len())
}

/// Instances whose metrics were asked for, in any region.
fn fetched(fake: &FakeLightsail) -> BTreeSet<String> {
    fake.requests()
        .iter()
        .filter(|r| r.operation() == Some("GetInstanceMetricData"))
        .filter_map(|r| r.instance().map(str::to_owned))
        .collect()
}

#[test]
fn globs_tags_states_and_exclude_select_from_paged_fleets_in_every_region_listed_once() {
    let fake = fleet();
    let rules = rules(&[
        (
            "running-web",
            r#"instances: ["web-*"], states: [running], tags: {env: prod}, regions: [us-east-1, eu-west-1]"#,
        ),
        (
            "prod-but-bastion",
            r#"instances: "*", tags: {env: prod}, exclude: [bastion]"#,
        ),
        ("backed-up", r#"instances: ["*"], tags: {backup: "*"}"#),
        (
            "one-of-a-set",
            r#"instances: ["web-[13]", "api-*"], regions: [us-east-1, eu-west-1]"#,
        ),
    ]);
    let out = check(&rules, &["--dry-run"], &fake, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);

    assert_eq!(
        selected(&report, "running-web"),
        pairs(&[
            ("us-east-1", "web-1"),
            ("eu-west-1", "web-eu-1"),
            ("eu-west-1", "web-eu-2")
        ])
    );
    // Stopped instances are covered unless `states` says otherwise.
    assert_eq!(
        selected(&report, "prod-but-bastion"),
        pairs(&[
            ("us-east-1", "db-1"),
            ("us-east-1", "web-1"),
            ("us-east-1", "web-2")
        ])
    );
    // A tag without a value is present.
    assert_eq!(
        selected(&report, "backed-up"),
        pairs(&[("us-east-1", "db-1")])
    );
    assert_eq!(
        selected(&report, "one-of-a-set"),
        pairs(&[
            ("us-east-1", "web-1"),
            ("us-east-1", "web-3"),
            ("eu-west-1", "api-eu-1")
        ])
    );
    // A glob that matches in one region but not in another is worth a word.
    assert_eq!(
        report["warnings"],
        serde_json::json!([
            {"rule": "one-of-a-set", "region": "us-east-1",
             "message": "`api-*` matches no instance in us-east-1"},
            {"rule": "one-of-a-set", "region": "eu-west-1",
             "message": "`web-[13]` matches no instance in eu-west-1"},
        ])
    );
    assert_eq!(report["errors"], serde_json::json!([]));

    // Each region listed once, every page read: 5 instances are 3 pages of 2, 3 are 2.
    let (us_listings, us_pages) = listings(&fake, "us-east-1");
    let (eu_listings, eu_pages) = listings(&fake, "eu-west-1");
    assert_eq!((us_listings, eu_listings), (1, 1));
    assert!(us_pages >= 3 && eu_pages >= 2, "{us_pages} {eu_pages}");
    // Only what was selected was fetched: not bastion, not web-3's region twin.
    assert!(!fetched(&fake).contains("bastion"));

    // The alerts say where they come from.
    let alerts = report["alerts"].as_array().unwrap();
    let mut alerted: Vec<(String, String, String)> = alerts
        .iter()
        .map(|a| {
            let at = &a["attributes"];
            (
                at["rule"].as_str().unwrap().to_owned(),
                at["region"].as_str().unwrap().to_owned(),
                at["instance"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    alerted.sort();
    let expected: Vec<(String, String, String)> = [
        ("one-of-a-set", "us-east-1", "web-1"),
        ("prod-but-bastion", "us-east-1", "web-1"),
        ("running-web", "eu-west-1", "web-eu-1"),
        ("running-web", "us-east-1", "web-1"),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(alerted, expected);
    let eu_alert = alerts
        .iter()
        .find(|a| a["attributes"]["region"] == "eu-west-1")
        .unwrap();
    assert!(
        eu_alert["message"].as_str().unwrap().contains(
            "https://lightsail.aws.amazon.com/ls/webapp/eu-west-1/instances/web-eu-1/metrics"
        ),
        "{eu_alert:#}"
    );
}

#[test]
fn regions_are_listed_only_where_a_rule_needs_a_selection() {
    let fake = fleet();
    let names_only = rules(&[(
        "named",
        "instances: [web-1, web-eu-1], regions: [us-east-1, eu-west-1]",
    )]);
    let out = check(&names_only, &["--dry-run"], &fake, &[]);
    let report = report(&out);
    assert_eq!(
        listings(&fake, "us-east-1").1 + listings(&fake, "eu-west-1").1,
        0
    );
    // Without a listing, a name that is not in a region is found out by its metric call.
    assert_eq!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == "ERROR")
            .count(),
        2,
        "web-1 is not in eu-west-1, web-eu-1 not in us-east-1: {report:#}"
    );

    let fake = fleet();
    let mixed = rules(&[
        ("globbed", r#"instances: ["web-*"], region: eu-west-1"#),
        ("named", "instances: [web-1]"),
    ]);
    let out = check(&mixed, &["--dry-run"], &fake, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(listings(&fake, "eu-west-1").0, 1);
    assert_eq!(
        listings(&fake, "us-east-1").1,
        0,
        "no rule needs us-east-1 listed"
    );
}

#[test]
fn a_missing_name_is_an_error_result_and_a_glob_matching_nothing_is_a_warning() {
    let fake = fleet();
    let rules = rules(&[
        (
            "mixed",
            r#"instances: [web-1, ghost-1, "cache-*"], tags: {env: prod}"#,
        ),
        ("nothing", r#"instances: ["cache-*"]"#),
    ]);
    let out = check(&rules, &["--dry-run"], &fake, &[]);
    // Results were evaluated: a missing instance is not a failed run.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    let ghost = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance"] == "ghost-1")
        .expect("a result for the missing name");
    assert_eq!(ghost["state"], "ERROR");
    assert!(
        ghost["error"]
            .as_str()
            .unwrap()
            .contains("instance `ghost-1` was not found in us-east-1"),
        "{ghost:#}"
    );
    // The listing already said so: no metric call for it.
    assert!(!fetched(&fake).contains("ghost-1"));
    assert_eq!(selected(&report, "nothing"), []);
    let warnings: Vec<(String, String)> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["rule"].as_str().unwrap().to_owned(),
                w["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "mixed".to_owned(),
                "`cache-*` matches no instance in us-east-1".to_owned()
            ),
            (
                "nothing".to_owned(),
                "selects no instance in us-east-1: none of the 5 instance(s) in us-east-1 matches [cache-*]"
                    .to_owned()
            ),
        ]
    );
    // The log says it too.
    assert!(
        stderr(&out).contains("`cache-*` matches no instance in us-east-1"),
        "{}",
        stderr(&out)
    );

    // People read the same in the text report.
    let text = command()
        .args(["check", "--at", AT, "--dry-run", "--rules"])
        .arg(&rules.path)
        .envs(fake.env())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("warning: nothing: selects no instance in us-east-1"),
        "{text}"
    );
    assert!(text.contains("REGION"), "{text}");
}

#[test]
fn an_instance_that_appears_between_runs_is_covered_by_the_next_run() {
    let fake = fleet();
    let rules = rules(&[("web", r#"instances: ["web-*"], tags: {env: prod}"#)]);
    let first = report(&check(&rules, &["--dry-run"], &fake, &[]));
    assert_eq!(
        selected(&first, "web"),
        pairs(&[("us-east-1", "web-1"), ("us-east-1", "web-2")])
    );

    instance(
        &fake,
        "us-east-1",
        "web-4",
        "pending",
        &[("env", Some("prod"))],
        true,
    );
    fake.remove_instance("us-east-1", "web-2");
    let second = report(&check(&rules, &["--dry-run"], &fake, &[]));
    assert_eq!(
        selected(&second, "web"),
        pairs(&[("us-east-1", "web-1"), ("us-east-1", "web-4")])
    );
    assert_eq!(
        second["alerts"].as_array().unwrap().len(),
        2,
        "web-1 and web-4 breach"
    );
    // One listing per run.
    assert_eq!(listings(&fake, "us-east-1").0, 2);
}

#[test]
fn a_region_that_fails_is_reported_and_does_not_stop_the_others() {
    let fake = fleet();
    fake.fail_region("eu-west-1", 403);
    let rules = rules(&[
        (
            "web",
            r#"instances: ["web-*"], tags: {env: prod}, regions: [us-east-1, eu-west-1]"#,
        ),
        ("named", "instances: [web-eu-1], region: eu-west-1"),
    ]);
    let out = check(&rules, &["--dry-run"], &fake, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(
        selected(&report, "web"),
        pairs(&[("us-east-1", "web-1"), ("us-east-1", "web-2")])
    );
    let errors = report["errors"].as_array().unwrap();
    let select: Vec<&Value> = errors.iter().filter(|e| e["stage"] == "select").collect();
    assert_eq!(select.len(), 1, "{errors:#?}");
    assert_eq!(select[0]["rule"], "web");
    assert_eq!(select[0]["region"], "eu-west-1");
    let message = select[0]["message"].as_str().unwrap();
    assert!(
        message.contains("GetInstances failed in eu-west-1: AccessDeniedException"),
        "{message}"
    );
    // A rule of names alone does not need the listing; its own call fails for itself.
    let named = &selected(&report, "named");
    assert_eq!(named, &pairs(&[("eu-west-1", "web-eu-1")]));
    // Access denied is not retried, and the region is listed once.
    assert_eq!(fake.calls("GetInstances", "eu-west-1"), 1);
    assert!(
        stderr(&out).contains("GetInstances failed in eu-west-1"),
        "the log names the region: {}",
        stderr(&out)
    );

    // When nothing at all can be evaluated, the run fails (and Lambda retries it) ...
    fake.fail_region("us-east-1", 500);
    let out = check(
        &rules,
        &["--dry-run"],
        &fake,
        &[("AWS_MAX_ATTEMPTS".into(), "1".into())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing could be evaluated"),
        "{}",
        stderr(&out)
    );
    // ... and when every call was denied, the command line says that once, with the fix.
    fake.clear_region("us-east-1");
    fake.fail_region("us-east-1", 403);
    let out = check(&rules, &["--dry-run"], &fake, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("AccessDeniedException")
            && stderr(&out).contains("the credentials may not read Lightsail"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn selections_certain_to_match_nothing_are_invalid_before_any_call() {
    let fake = fleet();
    let rules = rules(&[
        ("bad-glob", r#"instances: ["web-["]"#),
        ("excluded", r#"instances: [web-1], exclude: ["web-*"]"#),
        ("no-values", r#"instances: "*", tags: {env: []}"#),
        ("bad-state", r#"instances: "*", states: [runing]"#),
    ]);
    let out = check(&rules, &["--dry-run"], &fake, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "rules[0] (bad-glob): instances[0]: `web-[` is not a valid glob",
        "rules[1] (excluded): instances[0]: `web-1` is also excluded by exclude[0] (`web-*`)",
        "rules[2] (no-values): tags.env: an empty list matches no instance",
        "rules[3] (bad-state): states[0]: `runing` is not an instance state",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    assert!(
        fake.requests().is_empty(),
        "no call before the rules are valid"
    );
}

#[test]
fn alerts_from_every_region_reach_the_topic_with_their_region() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("fleet-alerts");
    let fake = fleet();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\nrules:\n  - {{name: web-cpu, instances: [\"web-*\"], states: [running], \
             regions: [us-east-1, eu-west-1], metric: CPUUtilization, comparison: '>', \
             threshold: 80, topicArn: '{topic}'}}\n"
        ),
    )
    .unwrap();
    let rules = Rules { _dir: dir, path };
    let out = check(&rules, &["--publish"], &fake, &moto.env());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["published"], 2);
    let mut delivered: Vec<(String, String)> = moto
        .receive_all(&queue)
        .iter()
        .map(|d| {
            (
                d.attributes["region"].clone(),
                d.attributes["instance"].clone(),
            )
        })
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        pairs(&[("eu-west-1", "web-eu-1"), ("us-east-1", "web-1")])
    );
}
