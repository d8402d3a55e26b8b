//! Helpers the tests of every file share: fallbacks, documents of one rule, error lines.

use super::{Fallbacks, parse};

pub(super) const SOURCE: &str = "rules.yaml";
pub(crate) const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

pub(super) fn none() -> Fallbacks {
    Fallbacks::default()
}

pub(super) fn fallbacks(region: &str, topic_arn: &str) -> Fallbacks {
    Fallbacks {
        region: Some(region.to_owned()),
        topic_arn: Some(topic_arn.to_owned()),
    }
}

pub(super) fn error_lines(text: &str, fallbacks: &Fallbacks) -> Vec<String> {
    match parse(text, SOURCE, fallbacks) {
        Ok(rules) => panic!("expected errors, parsed {rules:?}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// Fields to set (`Some`) or remove (`None`) in the rule of `one_rule`.
pub(super) type Changes<'a> = &'a [(&'a str, Option<&'a str>)];

/// Changes that only set fields.
pub(super) fn set<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, Option<&'a str>)> {
    fields.iter().map(|&(k, v)| (k, Some(v))).collect()
}

/// A document with defaults and one valid rule, changed by `changes`: a field with a
/// value replaces or adds that field, a field with `None` removes it.
pub(super) fn one_rule(changes: Changes) -> String {
    let mut fields: Vec<(String, String)> = [
        ("name", "cpu-high"),
        ("instances", "[web-1]"),
        ("metric", "CPUUtilization"),
        ("comparison", "GreaterThanThreshold"),
        ("threshold", "80"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (key, value) in changes {
        let position = fields.iter().position(|(k, _)| k == key);
        match (position, value) {
            (Some(i), Some(value)) => fields[i].1 = value.to_string(),
            (None, Some(value)) => fields.push((key.to_string(), value.to_string())),
            (Some(i), None) => {
                fields.remove(i);
            }
            (None, None) => {}
        }
    }
    let rule: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("    {k}: {v}"))
        .collect();
    format!(
        "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\nrules:\n  -\n{}\n",
        rule.join("\n")
    )
}
