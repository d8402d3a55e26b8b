//! A failed step written out: which step, what it expected and did not get, and what
//! its run did, each result and alert in the test file's own notation
//! (`{rule: burst-capacity-low, resource: web-1, state: ALARM}`), so a line can be
//! pasted into the test once it is right.
//!
//! A rules file holds many rules and a test is usually about one or two: of the run's
//! results, errors and warnings, those of the rules the step names (or that sent an
//! alert) are shown, the others counted.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::expect::{Difference, Entry, Expected, Note};
use super::runner::StepOutcome;
use crate::domain::catalog::ResourceType;
use crate::domain::time;

/// The lines that explain a failed step, each starting with `indent`.
pub fn render_failure(outcome: &StepOutcome<'_>, source: &str, indent: &str) -> String {
    let mut out = String::new();
    let step = outcome.step;
    let place = step
        .place
        .map(|p| format!(" ({source}:{}:{})", p.line, p.column))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{indent}step {} at {}{place}:",
        outcome.index + 1,
        time::rfc3339(step.at)
    );
    let actual = &outcome.actual;
    // Regions are shown once the run has results in more than one.
    let regions = actual
        .results
        .iter()
        .chain(&actual.alerts)
        .map(|e| e.region.as_str())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let named: BTreeSet<&str> = step
        .results
        .iter()
        .chain(&step.alerts)
        .flatten()
        .map(|e| e.rule.as_str())
        .chain(actual.alerts.iter().map(|e| e.rule.as_str()))
        .collect();
    for difference in &outcome.differences {
        match difference {
            Difference::ResultMissing {
                expected: e,
                instead,
            } => {
                let _ = writeln!(out, "{indent}  result missing:     {}", expected(e));
                if instead.is_empty() {
                    let _ = writeln!(
                        out,
                        "{indent}    no result of rule {} for resource {}",
                        e.rule, e.resource
                    );
                }
                for got in instead {
                    let _ = writeln!(out, "{indent}    got instead:      {}", entry(got, regions));
                }
            }
            Difference::AlertNotSent(e) => {
                let _ = writeln!(out, "{indent}  alert not sent:     {}", expected(e));
            }
            Difference::AlertNotExpected(got) => {
                let _ = writeln!(out, "{indent}  alert not expected: {}", entry(got, regions));
            }
        }
    }
    let _ = writeln!(out, "{indent}  this step's run:");
    let list = |out: &mut String, what: &str, entries: &[&Entry]| {
        if entries.is_empty() {
            let _ = writeln!(out, "{indent}    {what}: []");
            return;
        }
        let _ = writeln!(out, "{indent}    {what}:");
        for e in entries {
            let _ = writeln!(out, "{indent}      - {}", entry(e, regions));
        }
    };
    let (shown, others): (Vec<&Entry>, Vec<&Entry>) = actual
        .results
        .iter()
        .partition(|r| named.contains(r.rule.as_str()));
    list(&mut out, "results", &shown);
    if !others.is_empty() {
        let rules: BTreeSet<&str> = others.iter().map(|r| r.rule.as_str()).collect();
        let _ = writeln!(
            out,
            "{indent}      (and {} of {}, not shown)",
            plural(others.len(), "result", "results"),
            plural(rules.len(), "other rule", "other rules"),
        );
    }
    list(
        &mut out,
        "alerts",
        &actual.alerts.iter().collect::<Vec<_>>(),
    );
    let about_named = |n: &&Note| n.rule.as_deref().is_none_or(|r| named.contains(r));
    for note in actual.notes.iter().filter(about_named) {
        let _ = writeln!(out, "{indent}    {}", note.text);
    }
    out
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// An expectation as the test wrote it: the fields it gave.
pub fn expected(e: &Expected) -> String {
    let mut fields = vec![
        ("rule", e.rule.clone()),
        ("resource", e.resource.clone()),
        ("state", e.state.as_str().to_owned()),
    ];
    if let Some(region) = &e.region {
        fields.push(("region", region.clone()));
    }
    if let Some(kind) = e.resource_type {
        fields.push(("resourceType", kind.as_str().to_owned()));
    }
    if let Some(reminder) = e.reminder {
        fields.push(("reminder", reminder.to_string()));
    }
    flow(&fields)
}

/// A result or notification: the type when it is not an instance, the region when the
/// run has several, and `reminder: true` for a reminder.
pub fn entry(e: &Entry, region: bool) -> String {
    let mut fields = vec![
        ("rule", e.rule.clone()),
        ("resource", e.resource.clone()),
        ("state", e.state.clone()),
    ];
    if region {
        fields.push(("region", e.region.clone()));
    }
    if e.resource_type != ResourceType::Instance.as_str() {
        fields.push(("resourceType", e.resource_type.clone()));
    }
    if e.reminder == Some(true) {
        fields.push(("reminder", "true".to_owned()));
    }
    flow(&fields)
}

/// `{key: value, ...}`, a value quoted when YAML would read it otherwise.
fn flow(fields: &[(&str, String)]) -> String {
    let fields: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{key}: {}", scalar(value)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !value.starts_with(['-', '.']);
    if plain {
        value.to_owned()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluate::AlarmState;
    use crate::ruletest::{Actual, Step};
    use crate::run::ResultState;

    fn entry_of(rule: &str, resource: &str, state: &str) -> Entry {
        Entry {
            rule: rule.into(),
            resource: resource.into(),
            state: state.into(),
            region: "us-east-1".into(),
            resource_type: "Instance".into(),
            reminder: Some(false),
        }
    }

    #[test]
    fn entries_read_as_the_test_file_writes_them() {
        let mut e = entry_of("burst-capacity-low", "web-1", "ALARM");
        assert_eq!(
            entry(&e, false),
            "{rule: burst-capacity-low, resource: web-1, state: ALARM}"
        );
        e.reminder = Some(true);
        e.resource_type = "RelationalDatabase".into();
        e.resource = "orders db".into();
        assert_eq!(
            entry(&e, true),
            "{rule: burst-capacity-low, resource: \"orders db\", state: ALARM, region: us-east-1, \
             resourceType: RelationalDatabase, reminder: true}"
        );
        let x = Expected {
            rule: "r".into(),
            resource: "*".into(),
            state: ResultState::Error,
            region: None,
            resource_type: Some(ResourceType::Bucket),
            reminder: Some(false),
        };
        assert_eq!(
            expected(&x),
            "{rule: r, resource: \"*\", state: ERROR, resourceType: Bucket, reminder: false}"
        );
    }

    #[test]
    fn a_failure_names_the_step_what_differs_and_what_the_run_did() {
        let ok = Expected {
            rule: "burst".into(),
            resource: "web-1".into(),
            state: ResultState::Alarm(AlarmState::Ok),
            region: None,
            resource_type: None,
            reminder: None,
        };
        let step = Step {
            at: "2026-11-24T12:40:00Z".parse().unwrap(),
            place: Some(crate::rules::Position {
                line: 21,
                column: 13,
            }),
            results: Some(vec![ok.clone()]),
            alerts: Some(vec![ok.clone()]),
        };
        let alarm = entry_of("burst", "web-1", "ALARM");
        let outcome = StepOutcome {
            step: &step,
            index: 1,
            actual: Actual {
                results: vec![
                    alarm.clone(),
                    entry_of("other", "web-1", "ERROR"),
                    entry_of("burst", "web-2", "OK"),
                ],
                alerts: vec![],
                notes: vec![
                    Note {
                        rule: Some("burst".into()),
                        text: "warning: burst in us-east-1: `db-*` matches nothing".into(),
                    },
                    Note {
                        rule: Some("other".into()),
                        text: "error: instance `web-1` was not found".into(),
                    },
                ],
            },
            differences: vec![
                Difference::ResultMissing {
                    expected: ok.clone(),
                    instead: vec![alarm],
                },
                Difference::ResultMissing {
                    expected: Expected {
                        resource: "web-9".into(),
                        ..ok.clone()
                    },
                    instead: vec![],
                },
                Difference::AlertNotSent(ok),
            ],
        };
        assert_eq!(
            render_failure(&outcome, "t.yaml", "  "),
            "  step 2 at 2026-11-24T12:40:00Z (t.yaml:21:13):
    result missing:     {rule: burst, resource: web-1, state: OK}
      got instead:      {rule: burst, resource: web-1, state: ALARM}
    result missing:     {rule: burst, resource: web-9, state: OK}
      no result of rule burst for resource web-9
    alert not sent:     {rule: burst, resource: web-1, state: OK}
    this step's run:
      results:
        - {rule: burst, resource: web-1, state: ALARM}
        - {rule: burst, resource: web-2, state: OK}
        (and 1 result of 1 other rule, not shown)
      alerts: []
      warning: burst in us-east-1: `db-*` matches nothing
"
        );
    }
}
