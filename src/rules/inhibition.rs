//! `inhibitedBy` across the document's rules (SPEC §16): each name is a rule of the
//! document, watching the same resource type (an inhibition is for the same resource),
//! and no rule comes back to itself through the rules that inhibit it (each would hold
//! the other's notices for good).

use std::collections::HashMap;

use super::errors::ValidationError;
use super::positions::Path;
use super::scope::Scope;
use super::suggest::with_suggestion;
use crate::domain::rule::{Rule, RuleName};

/// Checks every valid rule's `inhibitedBy` against `rules` (the document's, `None` where
/// invalid) and `names` (every rule name, by index), recording the errors.
pub(super) fn check_inhibitions(
    rules: &[Option<Rule>],
    names: &HashMap<RuleName, usize>,
    source: &str,
    errors: &mut Vec<ValidationError>,
) {
    for (index, rule) in rules.iter().enumerate() {
        let Some(rule) = rule else { continue };
        for (entry, inhibitor) in rule.inhibited_by.iter().enumerate() {
            let at = Path::from("inhibitedBy").index(entry);
            let problem = match names.get(inhibitor) {
                None => Some(with_suggestion(
                    format!("no rule is named `{inhibitor}`"),
                    inhibitor.as_str(),
                    names.keys().map(RuleName::as_str),
                )),
                Some(&other) => match rules.get(other).and_then(Option::as_ref) {
                    Some(other) if other.resource_type != rule.resource_type => Some(format!(
                        "`{inhibitor}` watches {} resources and this rule {}: an inhibition \
                         is for the same resource; allowed: rules of resourceType {}",
                        other.resource_type, rule.resource_type, rule.resource_type
                    )),
                    _ => None,
                },
            };
            if let Some(problem) = problem {
                error(source, errors, index, rule, at, problem);
            }
        }
        if let Some(cycle) = cycle_from(index, rules, names)
            && cycle.iter().all(|&i| i >= index)
        {
            let shown: Vec<&str> = cycle
                .iter()
                .chain(std::iter::once(&index))
                .filter_map(|&i| rules[i].as_ref().map(|r| r.name.as_str()))
                .collect();
            let entry = rule
                .inhibited_by
                .iter()
                .position(|n| names.get(n) == cycle.get(1).or(Some(&index)))
                .unwrap_or(0);
            error(
                source,
                errors,
                index,
                rule,
                Path::from("inhibitedBy").index(entry),
                format!(
                    "the rules inhibit one another in a circle ({}): each would hold the \
                     other's notices for good; remove one of the links",
                    shown.join(" -> ")
                ),
            );
        }
    }
}

/// An error about `at` in `rules[index]`.
fn error(
    source: &str,
    errors: &mut Vec<ValidationError>,
    index: usize,
    rule: &Rule,
    at: Path,
    message: String,
) {
    let mut scope = Scope::new(source, Path::root().key("rules").index(index), errors);
    scope.rule = Some(format!("rules[{index}] ({})", rule.name));
    scope.error(at, message);
}

/// A path of rules from `start` through `inhibitedBy` back to it (`start` first), if
/// there is one.
fn cycle_from(
    start: usize,
    rules: &[Option<Rule>],
    names: &HashMap<RuleName, usize>,
) -> Option<Vec<usize>> {
    let mut path = vec![start];
    let mut seen = vec![false; rules.len()];
    walk(start, start, rules, names, &mut path, &mut seen).then_some(path)
}

fn walk(
    start: usize,
    at: usize,
    rules: &[Option<Rule>],
    names: &HashMap<RuleName, usize>,
    path: &mut Vec<usize>,
    seen: &mut [bool],
) -> bool {
    let Some(rule) = rules.get(at).and_then(Option::as_ref) else {
        return false;
    };
    for next in rule.inhibited_by.iter().filter_map(|n| names.get(n)) {
        if *next == start {
            return true;
        }
        if seen.get(*next).copied().unwrap_or(true) {
            continue;
        }
        seen[*next] = true;
        path.push(*next);
        if walk(start, *next, rules, names, path, seen) {
            return true;
        }
        path.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::rules::parse;
    use crate::rules::test_support::{SOURCE, TOPIC, error_lines, fallbacks};

    /// Rules `status` and `cpu` on instances, `db-cpu` on databases; `extra` goes into
    /// `cpu`'s mapping.
    fn doc(extra: &str) -> String {
        format!(
            "version: 1\nrules:\n\
             - {{name: status, instances: [web-1], metric: StatusCheckFailed, comparison: '>', threshold: 0}}\n\
             - {{name: cpu, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80{extra}}}\n\
             - {{name: db-cpu, resourceType: RelationalDatabase, resources: [db-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        )
    }

    #[test]
    fn inhibited_by_names_rules_of_the_same_type() {
        let env = fallbacks("us-east-1", TOPIC);
        let rules = parse(&doc(", inhibitedBy: [status]"), SOURCE, &env).unwrap();
        assert_eq!(rules.rules[1].inhibited_by[0].as_str(), "status");
        let shown = serde_json::to_value(&rules.rules[1]).unwrap();
        assert_eq!(shown["inhibitedBy"], serde_json::json!(["status"]));
        assert!(
            serde_json::to_value(&rules.rules[0])
                .unwrap()
                .get("inhibitedBy")
                .is_none()
        );
        let cases: &[(&str, &str)] = &[
            (
                ", inhibitedBy: [statsu]",
                "4:105: rules[1] (cpu): inhibitedBy[0]: no rule is named `statsu`; did you mean `status`?",
            ),
            (
                ", inhibitedBy: [db-cpu]",
                "4:105: rules[1] (cpu): inhibitedBy[0]: `db-cpu` watches RelationalDatabase \
                 resources and this rule Instance: an inhibition is for the same resource; \
                 allowed: rules of resourceType Instance",
            ),
            (
                ", inhibitedBy: [cpu]",
                "4:105: rules[1] (cpu): inhibitedBy[0]: `cpu` is this rule; a rule cannot inhibit itself",
            ),
            (
                ", inhibitedBy: [status, status]",
                "4:113: rules[1] (cpu): inhibitedBy[1]: `status` is listed twice (also inhibitedBy[0])",
            ),
            (
                ", inhibitedBy: status",
                "4:104: rules[1] (cpu): inhibitedBy: expected a list of rule names, e.g. \
                 [status-check-failed], got the string \"status\"",
            ),
        ];
        let mut wrong = Vec::new();
        for (extra, expected) in cases {
            let lines = error_lines(&doc(extra), &env);
            if lines != [format!("{SOURCE}:{expected}")] {
                wrong.push(format!("{extra} => {lines:#?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn rules_that_inhibit_one_another_in_a_circle_are_refused_once() {
        let env = fallbacks("us-east-1", TOPIC);
        let doc = "version: 1\nrules:\n\
             - {name: a, instances: [w], metric: CPUUtilization, comparison: '>', threshold: 1, inhibitedBy: [b]}\n\
             - {name: b, instances: [w], metric: CPUUtilization, comparison: '>', threshold: 2, inhibitedBy: [c]}\n\
             - {name: c, instances: [w], metric: CPUUtilization, comparison: '>', threshold: 3, inhibitedBy: [a]}\n";
        assert_eq!(
            error_lines(doc, &env),
            [
                "rules.yaml:3:98: rules[0] (a): inhibitedBy[0]: the rules inhibit one another in a \
              circle (a -> b -> c -> a): each would hold the other's notices for good; remove \
              one of the links"
            ]
        );
    }
}
