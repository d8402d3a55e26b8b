//! The report for people: one line per result, the errors and warnings that have no
//! result line, the alerts of a dry run, and a summary.

use std::fmt::Write as _;

use crate::domain::alert::Alert;
use crate::domain::catalog::ResourceType;
use crate::domain::time;
use crate::rules::RuleSet;
use crate::run::{Report, RuleResult, RunError, Stage};

/// The order rows are listed in: what needs attention first.
fn urgency(state: &str) -> u8 {
    match state {
        "ALARM" => 0,
        "ERROR" => 1,
        "INSUFFICIENT_DATA" => 2,
        _ => 3,
    }
}

/// The whole text report: the results that need attention first (ALARM, ERROR,
/// INSUFFICIENT_DATA), OK results counted, and listed too with `all`.
pub(super) fn render(rules: &RuleSet, report: &Report, all: bool) -> String {
    let mut out = String::new();
    let mode = if report.dry_run {
        " (dry run: nothing published)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "Evaluated {} rule(s) at {}{mode}",
        rules.rules.len(),
        time::rfc3339(report.evaluated_at)
    );
    let _ = writeln!(out);
    let mut shown: Vec<&RuleResult> = report
        .results
        .iter()
        .filter(|r| all || r.state.as_str() != "OK")
        .collect();
    // Stable: within a state, the report's order (rule, region, selection).
    shown.sort_by_key(|r| urgency(r.state.as_str()));
    if shown.is_empty() {
        let _ = writeln!(out, "Nothing needs attention.");
    } else {
        results(&mut out, &shown, &report.errors);
    }
    let hidden = report.results.len() - shown.len();
    if hidden > 0 {
        let _ = writeln!(out, "{hidden} OK result(s) not listed (--all lists them).");
    }
    unplaced_errors(&mut out, &report.errors);
    if !report.warnings.is_empty() {
        let _ = writeln!(out);
        for warning in &report.warnings {
            let _ = writeln!(out, "Warning: {}: {}", warning.rule, warning.message);
        }
    }
    if let Some(alerts) = &report.alerts {
        dry_run_alerts(&mut out, alerts);
    }
    let _ = writeln!(out);
    let counts: Vec<String> = report
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(
        out,
        "{} result(s): {}; {} alert(s) published; {} error(s); {} warning(s).",
        report.results.len(),
        counts.join(", "),
        report.published,
        report.errors.len(),
        report.warnings.len()
    );
    out
}

/// One aligned line per result. The resource column says `INSTANCE` while every result
/// is about an instance, and `RESOURCE` with the type (`db-1 (RelationalDatabase)`)
/// once other types are in the report.
fn results(out: &mut String, results: &[&RuleResult], errors: &[RunError]) {
    let only_instances = results
        .iter()
        .all(|r| r.resource_type == ResourceType::Instance);
    let resource = |r: &RuleResult| {
        if only_instances {
            r.resource.clone()
        } else {
            format!("{} ({})", r.resource, r.resource_type)
        }
    };
    let width = |f: &dyn Fn(&RuleResult) -> usize, min: usize| {
        results.iter().map(|r| f(r)).max().unwrap_or(0).max(min)
    };
    let (rw, gw, iw, sw) = (
        width(&|r| r.rule.len(), 4),
        width(&|r| r.region.len(), 6),
        width(&|r| resource(r).chars().count(), 8),
        width(&|r| r.state.as_str().len(), 5),
    );
    let heading = if only_instances {
        "INSTANCE"
    } else {
        "RESOURCE"
    };
    let _ = writeln!(
        out,
        "{:rw$}  {:gw$}  {:iw$}  {:sw$}  REASON",
        "RULE", "REGION", heading, "STATE"
    );
    for r in results {
        let detail = r.error.as_deref().unwrap_or(&r.reason);
        let publish_failed = errors.iter().any(|e| {
            e.stage == Stage::Publish
                && e.rule.as_deref() == Some(r.rule.as_str())
                && e.region.as_deref() == Some(r.region.as_str())
                && e.resource.as_deref() == Some(r.resource.as_str())
        });
        let sent = match (publish_failed, r.notified) {
            (true, true) => "  [published to some topics; a publish FAILED]",
            (true, false) => "  [publish FAILED]",
            (false, true) => "  [published]",
            (false, false) => "",
        };
        let _ = writeln!(
            out,
            "{:rw$}  {:gw$}  {:iw$}  {:sw$}  {detail}{sent}",
            r.rule,
            r.region,
            resource(r),
            r.state.as_str()
        );
    }
}

/// Errors that have no result line: a region that could not be listed, the store.
fn unplaced_errors(out: &mut String, errors: &[RunError]) {
    let unplaced: Vec<&RunError> = errors.iter().filter(|e| e.resource.is_none()).collect();
    if unplaced.is_empty() {
        return;
    }
    let _ = writeln!(out);
    for error in unplaced {
        let rule = error
            .rule
            .as_deref()
            .map(|r| format!(" {r}:"))
            .unwrap_or_default();
        let _ = writeln!(out, "Error:{rule} {}", error.message);
    }
}

/// What a dry run would have published, alert by alert.
fn dry_run_alerts(out: &mut String, alerts: &[Alert]) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} alert(s) would be published (check --publish sends them):",
        alerts.len()
    );
    for alert in alerts {
        let _ = writeln!(out);
        let _ = writeln!(out, "--- to {} (format {})", alert.topic_arn, alert.format);
        let _ = writeln!(out, "Subject: {}", alert.subject);
        let attributes: Vec<String> = alert
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "Attributes: {}", attributes.join(" "));
        if let Some(group) = &alert.message_group_id {
            let _ = writeln!(out, "MessageGroupId: {group}");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", alert.message);
    }
}
