//! What a step expected against what its run did: every expected result must be among
//! the run's results; the expected alerts must be exactly the notifications sent, one
//! for one.

use std::collections::HashMap;

use crate::domain::alert::Alert;
use crate::domain::catalog::ResourceType;
use crate::domain::transition::Why;
use crate::run::{Report, ResultState};

use super::Step;

/// An expected result or notification: the fields a test names; the optional ones left
/// out match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub rule: String,
    pub resource: String,
    pub state: ResultState,
    pub region: Option<String>,
    pub resource_type: Option<ResourceType>,
    /// Alerts only: a reminder (`renotifyMinutes`) or not.
    pub reminder: Option<bool>,
}

/// A result or notification of a run, in the same terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub resource: String,
    pub state: String,
    pub region: String,
    pub resource_type: String,
    /// Notifications only: whether it was a reminder.
    pub reminder: Option<bool>,
}

impl Expected {
    fn matches(&self, entry: &Entry) -> bool {
        self.same_subject(entry)
            && self.state.as_str() == entry.state
            && self.reminder.is_none_or(|r| entry.reminder == Some(r))
    }

    /// The same rule, resource and (when given) region and type, whatever the state.
    fn same_subject(&self, entry: &Entry) -> bool {
        self.rule == entry.rule
            && self.resource == entry.resource
            && self.region.as_ref().is_none_or(|r| *r == entry.region)
            && self
                .resource_type
                .is_none_or(|t| t.as_str() == entry.resource_type)
    }
}

/// What one step's run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actual {
    /// Every result, in the run's order.
    pub results: Vec<Entry>,
    /// The notifications sent: one per rule, resource and state, however many topics
    /// it went to.
    pub alerts: Vec<Entry>,
    /// The run's errors and warnings, as context for a failure.
    pub notes: Vec<Note>,
}

/// An error or warning of a run, and the rule it is about (none: the run's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub rule: Option<String>,
    pub text: String,
}

impl Actual {
    /// The step's results from its report, and its notifications from the alerts the
    /// sink received (in the order of the results they belong to).
    pub fn of(report: &Report, published: &[Alert]) -> Actual {
        let results: Vec<Entry> = report
            .results
            .iter()
            .map(|r| Entry {
                rule: r.rule.clone(),
                resource: r.resource.clone(),
                state: r.state.as_str().to_owned(),
                region: r.region.clone(),
                resource_type: r.resource_type.as_str().to_owned(),
                reminder: None,
            })
            .collect();
        let attribute =
            |alert: &Alert, name: &str| alert.attributes.get(name).cloned().unwrap_or_default();
        // One notice goes to every topic of its rule: the same subject and attributes,
        // so the same entry, counted once.
        let mut alerts: Vec<Entry> = Vec::new();
        for alert in published {
            let entry = Entry {
                rule: attribute(alert, "rule"),
                resource: attribute(alert, "resource"),
                state: attribute(alert, "state"),
                region: attribute(alert, "region"),
                resource_type: attribute(alert, "resourceType"),
                reminder: Some(false),
            };
            if !alerts.contains(&entry) {
                alerts.push(entry);
            }
        }
        // Alerts arrive in the order their deliveries finished; the results' order is
        // the run's plan, the same every time.
        let position: HashMap<(&str, &str, &str), usize> = report
            .results
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.rule.as_str(), r.region.as_str(), r.resource.as_str()), i))
            .collect();
        let index = |e: &Entry| {
            position
                .get(&(e.rule.as_str(), e.region.as_str(), e.resource.as_str()))
                .copied()
        };
        for entry in &mut alerts {
            let reminder = index(entry).map(|i| report.results[i].why == Why::Renotify);
            entry.reminder = Some(reminder.unwrap_or(false));
        }
        alerts.sort_by_key(|e| index(e).unwrap_or(usize::MAX));
        let errors = report.errors.iter().map(|e| Note {
            rule: e.rule.clone(),
            text: format!("error: {}", e.message),
        });
        let warnings = report.warnings.iter().map(|w| Note {
            rule: Some(w.rule.clone()),
            text: format!("warning: {} in {}: {}", w.rule, w.region, w.message),
        });
        Actual {
            results,
            alerts,
            notes: errors.chain(warnings).collect(),
        }
    }
}

/// One way a step's run differs from what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// An expected result that is not among the run's, and the run's results of the same
    /// rule and resource (what it was instead; none when there is no such result).
    ResultMissing {
        expected: Expected,
        instead: Vec<Entry>,
    },
    /// An expected notification that was not sent.
    AlertNotSent(Expected),
    /// A notification sent that no expected one accounts for.
    AlertNotExpected(Entry),
}

/// How `actual` differs from what `step` expects; empty when the step passes.
pub fn compare(step: &Step, actual: &Actual) -> Vec<Difference> {
    let mut differences = Vec::new();
    for expected in step.results.iter().flatten() {
        if !actual.results.iter().any(|r| expected.matches(r)) {
            let instead = actual
                .results
                .iter()
                .filter(|r| expected.same_subject(r))
                .cloned()
                .collect();
            differences.push(Difference::ResultMissing {
                expected: expected.clone(),
                instead,
            });
        }
    }
    if let Some(expected) = &step.alerts {
        let owner = pair(expected, &actual.alerts);
        let paired: Vec<bool> = (0..expected.len())
            .map(|e| owner.contains(&Some(e)))
            .collect();
        differences.extend(
            expected
                .iter()
                .zip(paired)
                .filter(|(_, paired)| !paired)
                .map(|(e, _)| Difference::AlertNotSent(e.clone())),
        );
        differences.extend(
            actual
                .alerts
                .iter()
                .zip(&owner)
                .filter(|(_, owner)| owner.is_none())
                .map(|(a, _)| Difference::AlertNotExpected(a.clone())),
        );
    }
    differences
}

/// Pairs expected alerts with sent ones, as many as can be (an expected alert that
/// leaves out its region could take the one another needs, so first come is not
/// enough): for each sent alert, the expected one it is paired with. Kuhn's augmenting
/// paths; a step lists at most `load::MAX_ENTRIES` alerts, which bounds the recursion.
fn pair(expected: &[Expected], sent: &[Entry]) -> Vec<Option<usize>> {
    fn augment(
        e: usize,
        expected: &[Expected],
        sent: &[Entry],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for (a, entry) in sent.iter().enumerate() {
            if seen[a] || !expected[e].matches(entry) {
                continue;
            }
            seen[a] = true;
            if owner[a].is_none_or(|other| augment(other, expected, sent, seen, owner)) {
                owner[a] = Some(e);
                return true;
            }
        }
        false
    }
    let mut owner = vec![None; sent.len()];
    for e in 0..expected.len() {
        let mut seen = vec![false; sent.len()];
        augment(e, expected, sent, &mut seen, &mut owner);
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluate::AlarmState;

    fn expected(rule: &str, resource: &str, state: AlarmState) -> Expected {
        Expected {
            rule: rule.into(),
            resource: resource.into(),
            state: ResultState::Alarm(state),
            region: None,
            resource_type: None,
            reminder: None,
        }
    }

    fn entry(rule: &str, resource: &str, state: &str, region: &str) -> Entry {
        Entry {
            rule: rule.into(),
            resource: resource.into(),
            state: state.into(),
            region: region.into(),
            resource_type: "Instance".into(),
            reminder: None,
        }
    }

    fn step(results: Option<Vec<Expected>>, alerts: Option<Vec<Expected>>) -> Step {
        Step {
            at: "2026-11-24T12:25:00Z".parse().unwrap(),
            place: None,
            results,
            alerts,
        }
    }

    fn actual(results: Vec<Entry>, alerts: Vec<Entry>) -> Actual {
        Actual {
            results,
            alerts,
            notes: Vec::new(),
        }
    }

    #[test]
    fn listed_results_must_be_present_and_others_may_be() {
        let run = actual(
            vec![
                entry("burst", "web-1", "ALARM", "us-east-1"),
                entry("burst", "web-2", "OK", "us-east-1"),
            ],
            vec![],
        );
        let want = vec![expected("burst", "web-1", AlarmState::Alarm)];
        assert_eq!(compare(&step(Some(want), None), &run), []);
        // A field left out matches anything; one given must match.
        let mut in_region = expected("burst", "web-1", AlarmState::Alarm);
        in_region.region = Some("eu-west-1".into());
        let mut of_type = expected("burst", "web-2", AlarmState::Ok);
        of_type.resource_type = Some(ResourceType::Bucket);
        let differences = compare(
            &step(Some(vec![in_region.clone(), of_type.clone()]), None),
            &run,
        );
        assert_eq!(
            differences,
            [
                Difference::ResultMissing {
                    expected: in_region,
                    instead: vec![]
                },
                Difference::ResultMissing {
                    expected: of_type,
                    instead: vec![]
                },
            ]
        );
    }

    #[test]
    fn a_missing_result_says_what_the_same_rule_and_resource_came_to() {
        let run = actual(vec![entry("burst", "web-1", "ALARM", "us-east-1")], vec![]);
        let ok = expected("burst", "web-1", AlarmState::Ok);
        assert_eq!(
            compare(&step(Some(vec![ok.clone()]), None), &run),
            [Difference::ResultMissing {
                expected: ok,
                instead: vec![entry("burst", "web-1", "ALARM", "us-east-1")],
            }]
        );
    }

    #[test]
    fn alerts_are_exactly_the_ones_listed_an_empty_list_none_and_no_list_anything() {
        let sent = vec![entry("burst", "web-1", "ALARM", "us-east-1")];
        let run = actual(vec![], sent.clone());
        assert_eq!(compare(&step(None, None), &run), []);
        assert_eq!(
            compare(&step(None, Some(vec![])), &run),
            [Difference::AlertNotExpected(sent[0].clone())]
        );
        let alarm = expected("burst", "web-1", AlarmState::Alarm);
        assert_eq!(compare(&step(None, Some(vec![alarm.clone()])), &run), []);
        // Listed twice, sent once: one is missing.
        assert_eq!(
            compare(&step(None, Some(vec![alarm.clone(), alarm.clone()])), &run),
            [Difference::AlertNotSent(alarm.clone())]
        );
        let quiet = actual(vec![], vec![]);
        assert_eq!(
            compare(&step(None, Some(vec![alarm.clone()])), &quiet),
            [Difference::AlertNotSent(alarm)]
        );
    }

    #[test]
    fn a_reminder_is_told_from_a_transition_when_the_test_says_which() {
        let mut reminder = entry("burst", "web-1", "ALARM", "us-east-1");
        reminder.reminder = Some(true);
        let run = actual(vec![], vec![reminder.clone()]);
        let mut want = expected("burst", "web-1", AlarmState::Alarm);
        assert_eq!(compare(&step(None, Some(vec![want.clone()])), &run), []);
        want.reminder = Some(false);
        assert_eq!(
            compare(&step(None, Some(vec![want.clone()])), &run),
            [
                Difference::AlertNotSent(want),
                Difference::AlertNotExpected(reminder)
            ]
        );
    }

    #[test]
    fn alerts_are_paired_so_that_a_vaguer_expectation_does_not_take_a_precise_ones_alert() {
        let east = entry("burst", "web-1", "ALARM", "us-east-1");
        let west = entry("burst", "web-1", "ALARM", "eu-west-1");
        let any = expected("burst", "web-1", AlarmState::Alarm);
        let mut in_east = any.clone();
        in_east.region = Some("us-east-1".into());
        // `any` comes first and could take `east`; pairing gives it `west` instead.
        let run = actual(vec![], vec![east, west]);
        assert_eq!(compare(&step(None, Some(vec![any, in_east])), &run), []);
    }
}
