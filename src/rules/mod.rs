//! The rules document (SPEC §3): parse YAML or JSON, validate every field, fill the
//! defaults from the catalog, and report every error of a document at once.
//!
//! `parse_bytes` takes the bytes to text (`encoding`: UTF-8 only, a byte-order mark
//! allowed) and the text to a YAML value (`document`: aliases bounded); `parse` starts
//! from text and `from_value` from JSON. The document and `defaults` are checked here,
//! each rule in `rule` (its fields by concern: `metric`, `selection`, `notify`,
//! `policy`), giving the validated model of `domain::rule`. Errors are collected per
//! mapping by a `Scope` (`scope`) into the `errors` types, each naming the path of what
//! it is about; when a document has errors, `positions` finds the line and column of
//! those paths in its text. `values` reads YAML values, `suggest` says "did you mean".
//! `schema` is the document's JSON Schema, described by README.md's rules reference
//! (`reference`).

mod document;
mod encoding;
mod errors;
mod inhibition;
mod metric;
mod notify;
mod policy;
mod positions;
mod reference;
mod rule;
mod schema;
mod scope;
mod selection;
pub(crate) mod silences;
mod suggest;
#[cfg(test)]
pub(crate) mod test_support;
mod values;

use std::collections::HashMap;

use serde_yaml_ng::{Mapping, Value};

use crate::domain::catalog::Severity;

pub use crate::domain::rule::{Destination, InvalidValue, Rule, RuleName, RuleSet, TopicArn};
pub use encoding::{EncodingError, document_text};
pub use errors::{ValidationError, ValidationErrors};
pub use positions::Position;
pub use schema::json_schema;
// For other documents read the same way (rule test files, `crate::ruletest`): the
// bounded YAML load, the places of paths in a text, and "did you mean".
pub(crate) use document::load as load_document;
pub(crate) use positions::{Path, Positions, Target};
pub(crate) use suggest::closest;

/// An AWS region name as rules accept it (`us-east-1`), or what is wrong with it.
pub fn check_region_name(region: &str) -> Result<String, String> {
    selection::check_region(region)
}

use notify::{check_notify, check_topic_arn, destinations};
use policy::{check_group_above, check_notify_on, check_reminders, check_renotify_minutes};
use rule::check_rule;
use scope::{DEFAULTS_FIELDS, DOCUMENT_FIELDS, Defaults, Field, Scope};
use selection::check_regions;
use values::{describe, mapping, parse_name, string, whole_number};

/// Values the document may leave out and the environment supplies
/// (`AWS_REGION`, `ALERT_TOPIC_ARN`). Read at the edge, passed in here.
#[derive(Debug, Clone, Default)]
pub struct Fallbacks {
    pub region: Option<String>,
    pub topic_arn: Option<String>,
}

const SUPPORTED_VERSION: i128 = 1;

/// Parse a YAML or JSON document (JSON is YAML). `source` names where it came from
/// (`examples/rules.yaml`, `ALERT_RULES`, `event.rules`) and prefixes every error.
pub fn parse(text: &str, source: &str, fallbacks: &Fallbacks) -> Result<RuleSet, ValidationErrors> {
    // Text may still carry a byte-order mark (`ALERT_RULES`, the event's `rules` string)
    // or be UTF-16 whose ASCII happens to be valid UTF-8: the same checks as for a file.
    parse_bytes(text.as_bytes(), source, fallbacks)
}

/// The same from the bytes of a file: UTF-8, with or without a byte-order mark; any
/// other encoding is one error naming it.
pub fn parse_bytes(
    bytes: &[u8],
    source: &str,
    fallbacks: &Fallbacks,
) -> Result<RuleSet, ValidationErrors> {
    let whole = |message: String| ValidationErrors(vec![ValidationError::whole(source, message)]);
    let text = document_text(bytes).map_err(|err| whole(err.to_string()))?;
    let document = document::load(text).map_err(|err| {
        let mut error = ValidationError::whole(source, err.message);
        error.at = err.at;
        ValidationErrors(vec![error])
    })?;
    validate(&document, source, fallbacks).map_err(|errors| errors.placed_in(text))
}

/// The same from an already-parsed JSON value (the Lambda event's `"rules"`).
pub fn from_value(
    value: serde_json::Value,
    source: &str,
    fallbacks: &Fallbacks,
) -> Result<RuleSet, ValidationErrors> {
    // One validator for both inputs: JSON converts losslessly into a YAML value. There is
    // no text, so the errors have no line and column.
    let document = serde_yaml_ng::to_value(value).map_err(|err| {
        ValidationErrors(vec![ValidationError::whole(
            source,
            format!("not a valid rules document: {err}"),
        )])
    })?;
    validate(&document, source, fallbacks)
}

fn validate(
    document: &Value,
    source: &str,
    fallbacks: &Fallbacks,
) -> Result<RuleSet, ValidationErrors> {
    let mut errors = Vec::new();
    let mut doc = Scope::new(source, Path::root(), &mut errors);
    let Value::Mapping(map) = document else {
        doc.error(
            "",
            format!(
                "expected a mapping with `version`, `rules` and optionally `defaults`, got {}",
                describe(document)
            ),
        );
        return Err(ValidationErrors(errors));
    };
    let unknown = doc.find_unknown(map, DOCUMENT_FIELDS);

    let version = doc.field(map, "version", |v| match whole_number(v, "the number 1")? {
        SUPPORTED_VERSION => Ok(1),
        other => Err(format!("`{other}` is not a supported version; allowed: 1")),
    });
    let version = doc.required(
        version,
        "version",
        "allowed: 1 (start the document with `version: 1`)",
    );

    let defaults = match doc.field(map, "defaults", |v| {
        mapping(
            v,
            "a mapping of region (or regions), topicArn (or notify), severity, notifyOn, \
             renotifyMinutes, groupAbove",
        )
    }) {
        Field::Valid(defaults) => check_defaults(defaults, source, doc.errors),
        Field::Absent => Defaults::uniform(false),
        Field::Invalid => Defaults::uniform(true),
    };

    let list = doc.field(map, "rules", |v| match v {
        Value::Sequence(list) if list.is_empty() => {
            Err("must contain at least one rule".to_owned())
        }
        Value::Sequence(list) => Ok(list),
        other => Err(format!("expected a list of rules, got {}", describe(other))),
    });
    let list = doc.required(list, "rules", "a non-empty list of rules");

    let mut names = HashMap::new();
    let rules: Vec<Option<Rule>> = list
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, value)| {
            check_rule(
                index, value, source, doc.errors, &defaults, fallbacks, &mut names,
            )
        })
        .collect();
    inhibition::check_inhibitions(&rules, &names, source, doc.errors);
    let silences = match doc.field(map, "silences", |v| match v {
        Value::Sequence(list) => Ok(list),
        other => Err(format!(
            "expected a list of silences (each {{name, match, schedule, comment}}), got {}",
            describe(other)
        )),
    }) {
        Field::Valid(list) => {
            let rule_names: Vec<&RuleName> = names.keys().collect();
            silences::check_silences(list, source, doc.errors, &rule_names)
        }
        Field::Absent => Some(Vec::new()),
        Field::Invalid => None,
    };
    doc.report_unknown(unknown);

    // An invalid value left an error behind.
    let group_above = match defaults.group_above {
        Field::Valid(above) => above,
        Field::Absent | Field::Invalid => Some(crate::domain::rule::DEFAULT_GROUP_ABOVE),
    };
    // Every `None` left an error behind, so an alert is never dropped silently.
    match (
        version,
        rules.into_iter().collect::<Option<Vec<Rule>>>(),
        silences,
    ) {
        (Some(version), Some(rules), Some(silences)) if errors.is_empty() => Ok(RuleSet {
            version,
            group_above,
            rules,
            silences,
        }),
        _ => {
            debug_assert!(!errors.is_empty(), "a rule failed without an error");
            Err(ValidationErrors(errors))
        }
    }
}

fn check_defaults(map: &Mapping, source: &str, errors: &mut Vec<ValidationError>) -> Defaults {
    let mut scope = Scope::new(source, Path::root().key("defaults"), errors);
    let unknown = scope.find_unknown(map, DEFAULTS_FIELDS);
    let regions = check_regions(&mut scope, map);
    let topic_arn = scope.field(map, "topicArn", |v| check_topic_arn(string(v)?));
    let notify = check_notify(&mut scope, map);
    let destinations = destinations(&mut scope, map, topic_arn, notify);
    let severity = scope.field(map, "severity", parse_name::<Severity>);
    let notify_on = check_notify_on(&mut scope, map);
    let mut renotify_minutes = scope.field(map, "renotifyMinutes", check_renotify_minutes);
    if let (Field::Valid(notify_on), Field::Valid(minutes)) = (&notify_on, &renotify_minutes)
        && let Err(message) = check_reminders(notify_on, *minutes, "")
    {
        scope.error("renotifyMinutes", message);
        // Reported once here, not again in every rule that inherits both.
        renotify_minutes = Field::Invalid;
    }
    let group_above = scope.field(map, "groupAbove", check_group_above);
    let defaults = Defaults {
        regions,
        destinations,
        severity,
        notify_on,
        renotify_minutes,
        group_above,
    };
    scope.report_unknown(unknown);
    defaults
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::test_support::{SOURCE, TOPIC, error_lines, fallbacks, none};
    use super::*;
    use crate::domain::catalog::{
        Comparison, MetricName, ResourceType, Statistic, TreatMissingData, Unit,
    };
    use crate::domain::evaluate::{AlarmState, Criteria};
    use crate::domain::select::Selection;

    /// The example document of SPEC §3, verbatim.
    const SPEC_EXAMPLE: &str = r#"
version: 1
defaults:                      # optional; each field below can be set per rule
  region: us-east-1            # else AWS_REGION
  topicArn: arn:aws:sns:us-east-1:123456789012:lightsail-alerts   # else ALERT_TOPIC_ARN
  severity: warning
rules:
  - name: burst-capacity-low   # required, unique, 1..64 of [A-Za-z0-9_.-]
    description: CPU burst capacity is running out
    instances: [web-1, web-2]  # required (later: globs, "*", tag selectors)
    metric: BurstCapacityPercentage
    statistic: Average         # default: the catalog's
    unit: Percent              # default: the catalog's; any other is an error
    period: 300                # default: the catalog's native period
    comparison: LessThanThreshold   # GreaterThanOrEqualToThreshold | GreaterThanThreshold
                                    # | LessThanThreshold | LessThanOrEqualToThreshold
                                    # (also accepted: ">=", ">", "<", "<=")
    threshold: 20
    evaluationPeriods: 3       # N, default 1; N*period <= 86400
    datapointsToAlarm: 2       # M, 1..=N, default N
    treatMissingData: missing  # missing | ignore | breaching | notBreaching
    severity: critical         # critical | warning | info; default warning
  - name: status-check-failed
    instances: [web-1, web-2, db-1]
    metric: StatusCheckFailed
    comparison: GreaterThanThreshold
    threshold: 0
"#;

    fn rule(name: &str) -> RuleName {
        name.parse().unwrap()
    }

    #[test]
    fn spec_example_parses_with_every_default_filled() {
        let rules = parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap();
        let topic: TopicArn = TOPIC.parse().unwrap();
        assert_eq!(
            rules,
            RuleSet {
                version: 1,
                group_above: Some(10),
                rules: vec![
                    Rule {
                        name: rule("burst-capacity-low"),
                        description: Some("CPU burst capacity is running out".to_owned()),
                        resource_type: ResourceType::Instance,
                        selection: Selection::names(["web-1", "web-2"]),
                        metric: MetricName::BurstCapacityPercentage,
                        statistic: Statistic::Average,
                        unit: Unit::Percent,
                        period: 300,
                        comparison: Comparison::LessThanThreshold,
                        threshold: 20.0,
                        recovery_threshold: None,
                        evaluation_periods: 3,
                        datapoints_to_alarm: 2,
                        treat_missing_data: TreatMissingData::Missing,
                        severity: Severity::Critical,
                        notify_on: BTreeSet::from([AlarmState::Alarm, AlarmState::Ok]),
                        renotify_minutes: 0,
                        regions: vec!["us-east-1".to_owned()],
                        destinations: vec![Destination::text(topic.clone())],
                        inhibited_by: Vec::new(),
                    },
                    Rule {
                        name: rule("status-check-failed"),
                        description: None,
                        resource_type: ResourceType::Instance,
                        selection: Selection::names(["web-1", "web-2", "db-1"]),
                        metric: MetricName::StatusCheckFailed,
                        statistic: Statistic::Sum,
                        unit: Unit::Count,
                        period: 60,
                        comparison: Comparison::GreaterThanThreshold,
                        threshold: 0.0,
                        recovery_threshold: None,
                        evaluation_periods: 1,
                        datapoints_to_alarm: 1,
                        treat_missing_data: TreatMissingData::Missing,
                        severity: Severity::Warning,
                        notify_on: BTreeSet::from([AlarmState::Alarm, AlarmState::Ok]),
                        renotify_minutes: 0,
                        regions: vec!["us-east-1".to_owned()],
                        destinations: vec![Destination::text(topic)],
                        inhibited_by: Vec::new(),
                    },
                ],
                silences: Vec::new(),
            }
        );
    }

    #[test]
    fn serialised_rules_show_every_default_with_the_document_field_names() {
        let rules = parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap();
        assert_eq!(
            serde_json::to_value(&rules.rules[1]).unwrap(),
            serde_json::json!({
                "name": "status-check-failed",
                "resourceType": "Instance",
                "resources": ["web-1", "web-2", "db-1"],
                "metric": "StatusCheckFailed",
                "statistic": "Sum",
                "unit": "Count",
                "period": 60,
                "comparison": "GreaterThanThreshold",
                "threshold": 0.0,
                "evaluationPeriods": 1,
                "datapointsToAlarm": 1,
                "treatMissingData": "missing",
                "severity": "warning",
                "notifyOn": ["OK", "ALARM"],
                "renotifyMinutes": 0,
                "regions": ["us-east-1"],
                "notify": [{"topicArn": TOPIC, "format": "text"}],
            })
        );
        let json = serde_json::to_string(&rules).unwrap();
        assert!(
            json.starts_with(
                r#"{"version":1,"defaults":{"groupAbove":10},"rules":[{"name":"burst-capacity-low","description":"#
            )
        );
    }

    const SPEC_EXAMPLE_JSON: &str = r#"{
        "version": 1,
        "defaults": {"region": "us-east-1", "severity": "warning",
                     "topicArn": "arn:aws:sns:us-east-1:123456789012:lightsail-alerts"},
        "rules": [
            {"name": "burst-capacity-low", "description": "CPU burst capacity is running out",
             "instances": ["web-1", "web-2"], "metric": "BurstCapacityPercentage",
             "statistic": "Average", "unit": "Percent", "period": 300,
             "comparison": "LessThanThreshold", "threshold": 20, "evaluationPeriods": 3,
             "datapointsToAlarm": 2, "treatMissingData": "missing", "severity": "critical"},
            {"name": "status-check-failed", "instances": ["web-1", "web-2", "db-1"],
             "metric": "StatusCheckFailed", "comparison": "GreaterThanThreshold", "threshold": 0}
        ]
    }"#;

    #[test]
    fn json_documents_parse_like_yaml() {
        let from_json = parse(SPEC_EXAMPLE_JSON, "ALERT_RULES", &none()).unwrap();
        assert_eq!(from_json, parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap());
    }

    #[test]
    fn from_value_agrees_with_parse() {
        let value: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE_JSON).unwrap();
        assert_eq!(
            from_value(value, "event.rules", &none()),
            parse(SPEC_EXAMPLE_JSON, "event.rules", &none())
        );

        let bad = r#"{"version": 1, "rules": [{"name": "x", "instances": "web-1",
                      "metric": "CPU", "comparison": ">", "threshold": "high", "colour": 1}]}"#;
        let value: serde_json::Value = serde_json::from_str(bad).unwrap();
        let from_value = from_value(value, "event.rules", &none()).unwrap_err();
        let parsed = parse(bad, "event.rules", &none()).unwrap_err();
        // The same errors; only the text has lines and columns to point at.
        assert!(parsed.0.iter().all(|e| e.at.is_some()), "{parsed}");
        let unplaced = parsed.0.iter().map(|e| ValidationError {
            at: None,
            ..e.clone()
        });
        assert_eq!(from_value.0, unplaced.collect::<Vec<_>>());
        assert_eq!(from_value.0.len(), 6, "{from_value}");
        assert_eq!(
            from_value.0[0].to_string(),
            "event.rules: rules[0] (x): instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance, \
             got the string \"web-1\""
        );
        assert_eq!(
            parsed.0[0].to_string(),
            format!(
                "event.rules:1:53: {}",
                from_value.0[0].to_string().split_once(": ").unwrap().1
            )
        );
    }

    /// As a Windows editor saves it: a UTF-8 byte-order mark and CRLF line endings.
    fn windows(text: &str) -> Vec<u8> {
        [
            b"\xEF\xBB\xBF".as_slice(),
            text.replace('\n', "\r\n").as_bytes(),
        ]
        .concat()
    }

    #[test]
    fn a_byte_order_mark_and_crlf_line_endings_read_like_the_plain_document() {
        let folded = "version: 1\nrules:\n  - name: cpu\n    description: >\n      two\n      lines\n    instances: [web-1]\n    metric: CPUUtilization\n    comparison: '>'\n    threshold: 80\n";
        for plain in [SPEC_EXAMPLE, SPEC_EXAMPLE_JSON, folded] {
            let expected = parse(plain, SOURCE, &fallbacks("us-east-1", TOPIC)).unwrap();
            let bytes = windows(plain);
            let env = fallbacks("us-east-1", TOPIC);
            assert_eq!(parse_bytes(&bytes, SOURCE, &env), Ok(expected.clone()));
            // Text that kept the mark: `ALERT_RULES`, the event's `rules` string.
            let text = std::str::from_utf8(&bytes).unwrap();
            assert_eq!(parse(text, SOURCE, &env), Ok(expected));
        }
        let folded = parse_bytes(&windows(folded), SOURCE, &fallbacks("us-east-1", TOPIC));
        assert_eq!(
            folded.unwrap().rules[0].description.as_deref(),
            Some("two lines\n")
        );
    }

    #[test]
    fn another_encoding_is_one_error_naming_it() {
        let utf16: Vec<u8> = "\u{FEFF}version: 1\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let lines: Vec<String> = parse_bytes(&utf16, SOURCE, &none())
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "rules.yaml: the document is UTF-16 LE text (it starts with the UTF-16 LE \
              byte-order mark), not UTF-8; allowed: UTF-8 only (a UTF-8 byte-order mark and \
              CRLF line endings are fine): save the file as UTF-8"
            ]
        );
        let latin1 = error_lines_of(b"version: 1\n# caf\xE9\n");
        assert!(latin1[0].starts_with("rules.yaml: the document is not UTF-8: byte 0xE9"));
    }

    fn error_lines_of(bytes: &[u8]) -> Vec<String> {
        let errors = parse_bytes(bytes, SOURCE, &none()).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        errors.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn criteria_carry_the_evaluation_fields() {
        let rules = parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap();
        assert_eq!(
            rules.rules[0].criteria(),
            Criteria {
                comparison: Comparison::LessThanThreshold,
                threshold: 20.0,
                period: 300,
                evaluation_periods: 3,
                datapoints_to_alarm: 2,
                treat_missing_data: TreatMissingData::Missing,
            }
        );
    }

    #[test]
    fn each_document_error_names_the_field_and_what_is_allowed() {
        let rule =
            "{name: a, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 1}";
        let cases: &[(&str, &[&str])] = &[
            (
                "- version: 1",
                &[
                    "1:1: expected a mapping with `version`, `rules` and optionally `defaults`, got a list",
                ],
            ),
            // An empty document has no place to point at.
            (
                "",
                &[
                    " expected a mapping with `version`, `rules` and optionally `defaults`, got nothing",
                ],
            ),
            (
                &format!("version: 2\nrules: [{rule}]"),
                &["1:10: version: `2` is not a supported version; allowed: 1"],
            ),
            (
                &format!("version: '1'\nrules: [{rule}]"),
                &["1:10: version: expected the number 1, got the string \"1\""],
            ),
            (
                &format!("rules: [{rule}]"),
                &["1:1: version: required; allowed: 1 (start the document with `version: 1`)"],
            ),
            (
                "version: 1",
                &["1:1: rules: required; a non-empty list of rules"],
            ),
            (
                "version: 1\nrules: []",
                &["2:8: rules: must contain at least one rule"],
            ),
            (
                "version: 1\nrules: {a: 1}",
                &["2:8: rules: expected a list of rules, got a mapping"],
            ),
            (
                "version: 1\nrules: [web-1]",
                &[
                    "2:9: rules[0]: expected a mapping of rule fields (name, instances, metric, ...), got the \
                   string \"web-1\"",
                ],
            ),
            (
                &format!("version: 1\nrule: [{rule}]"),
                &[
                    "2:1: rule: unknown field `rule` (did you mean `rules`?); allowed: version, defaults, rules, silences",
                ],
            ),
            (
                &format!("version: 1\ndefaults: us-east-1\nrules: [{rule}]"),
                &[
                    "2:11: defaults: expected a mapping of region (or regions), topicArn (or notify), severity, \
                     notifyOn, renotifyMinutes, groupAbove, got the string \"us-east-1\"",
                ],
            ),
            (
                &format!(
                    "version: 1\ndefaults: {{region: useast1, topicArn: {TOPIC}}}\nrules: [{rule}, {}]",
                    rule.replace("a,", "b,")
                ),
                &[
                    "2:20: defaults.region: `useast1` is not an AWS region name; expected one like us-east-1 or \
                   eu-west-2",
                ],
            ),
            (
                &format!(
                    "version: 1\ndefaults: {{region: us-east-1, topicArn: {TOPIC}, severity: fatal}}\nrules: [{rule}]"
                ),
                &[
                    "2:104: defaults.severity: `fatal` is not a valid severity; allowed: critical, warning, info",
                ],
            ),
            (
                &format!(
                    "version: 1\ndefaults: {{region: us-east-1, topicArn: {TOPIC}}}\nrules: [{rule}, {rule}]"
                ),
                &[
                    "3:102: rules[1] (a): name: `a` is already the name of rules[0]; names must be unique",
                ],
            ),
        ];
        let env = fallbacks("us-east-1", TOPIC);
        for (doc, expected) in cases {
            let expected: Vec<String> = expected.iter().map(|e| format!("{SOURCE}:{e}")).collect();
            assert_eq!(error_lines(doc, &env), expected, "document:\n{doc}");
        }

        let unplaced: &[(&str, &[&str])] = &[
            // A misspelt default is one error, not "region: required" in every rule.
            (
                &format!(
                    "version: 1\ndefaults: {{regoin: us-east-1, topicArn: {TOPIC}}}\nrules: [{rule}]"
                ),
                &[
                    "2:12: defaults.regoin: unknown field `regoin` (did you mean `region`?); allowed: region, \
                   regions, topicArn, severity, notify, notifyOn, renotifyMinutes, groupAbove",
                ],
            ),
            (
                &format!("version: 1\nrules: [{rule}]"),
                &[
                    "2:9: rules[0] (a): region: required; set `region` or `regions` on the rule, `defaults.region` in \
                     the document, or the AWS_REGION environment variable (on the command line also \
                     --region, or the profile's `region` in ~/.aws/config)",
                    "2:9: rules[0] (a): topicArn: required; set `topicArn` on the rule, `defaults.topicArn` \
                     in the document, or the ALERT_TOPIC_ARN environment variable",
                ],
            ),
        ];
        for (doc, expected) in unplaced {
            let expected: Vec<String> = expected.iter().map(|e| format!("{SOURCE}:{e}")).collect();
            assert_eq!(error_lines(doc, &none()), expected, "document:\n{doc}");
        }
    }

    #[test]
    fn yaml_syntax_errors_are_one_error_with_a_position() {
        let lines = error_lines("version: 1\nrules:\n  - name: [a\n", &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        // The place leads the line, and is not said again in the message; the place of
        // its context (the list left open) is.
        assert_eq!(
            lines[0],
            "rules.yaml:4:1: not a valid YAML or JSON document: did not find expected ',' or \
             ']', while parsing a flow sequence at line 3 column 11",
        );
        // The usual mistakes get a hint.
        for (doc, hint) in [
            (
                "version: 1\nrules:\n  - {name: a, instances: [*], metric: CPUUtilization}\n",
                "an unquoted `*` starts a YAML alias (`*name`): quote globs",
            ),
            (
                "version: 1\nrules:\n  - name: a\n    instances: *\n",
                "an unquoted `*` starts a YAML alias",
            ),
            (
                "version: 1\nrules:\n\t- name: a\n",
                "YAML does not allow tabs for indentation",
            ),
            (
                "version: 1\nrules:\n  - name: a\n    description: note: slow\n",
                "a value that contains `: ` must be quoted",
            ),
        ] {
            let lines = error_lines(doc, &none());
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains(hint), "{doc:?}: {lines:?}");
        }
        let lines = error_lines("{\"version\": 1,, }", &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("rules.yaml:1:15: "), "{lines:?}");
    }

    #[test]
    fn every_error_of_a_document_is_reported_at_once() {
        let doc = format!(
            r#"
version: 1
defaults:
  topicArn: {TOPIC}
  severity: urgent
owner: ops
rules:
  - name: cpu-high
    instances: web-1
    metric: CPUUtilization
    comparison: ">"
    threshold: high
    period: 60
    region: us-east-1
  - name: burst-capacity-low
    instances: [web-1]
    metric: BurstCapacityPercentage
    unit: Bytes
    comparison: LessThanThreshold
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 5
    treshold: 10
  - name: cpu-high
    instances: [db-1]
    metric: NetworkIn
    comparison: gt
"#
        );
        let errors = parse(&doc, SOURCE, &none()).unwrap_err();
        let expected = [
            "rules.yaml:5:13: defaults.severity: `urgent` is not a valid severity; allowed: critical, warning, info",
            "rules.yaml:9:16: rules[0] (cpu-high): instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance, \
             got the string \"web-1\"",
            "rules.yaml:13:13: rules[0] (cpu-high): period: `60` is not a valid period for CPUUtilization, which \
             Lightsail stores every 300 seconds; allowed: a multiple of 300 from 300 to 86400 \
             (300, 600, 900, ..., 86400)",
            "rules.yaml:12:16: rules[0] (cpu-high): threshold: expected a number, got the string \"high\"",
            "rules.yaml:18:11: rules[1] (burst-capacity-low): unit: `Bytes` is not published for \
             BurstCapacityPercentage (Lightsail returns no data for any other unit); allowed: Percent",
            "rules.yaml:22:24: rules[1] (burst-capacity-low): datapointsToAlarm: `5` is more than \
             evaluationPeriods (3); allowed: 1 to 3",
            "rules.yaml:15:5: rules[1] (burst-capacity-low): region: required; set `region` or `regions` on the rule, \
             `defaults.region` in the document, or the AWS_REGION environment variable (on the command line also \
                     --region, or the profile's `region` in ~/.aws/config)",
            "rules.yaml:23:5: rules[1] (burst-capacity-low): treshold: unknown field `treshold` (did you mean \
             `threshold`?); allowed: name, description, resourceType, resources, instances, exclude, tags, states, metric, statistic, unit, period, \
             comparison, threshold, recoveryThreshold, evaluationPeriods, datapointsToAlarm, \
             treatMissingData, severity, notifyOn, renotifyMinutes, region, regions, topicArn, notify, inhibitedBy",
            "rules.yaml:24:11: rules[2] (cpu-high): name: `cpu-high` is already the name of rules[0]; names \
             must be unique",
            "rules.yaml:27:17: rules[2] (cpu-high): comparison: `gt` is not a valid comparison; allowed: \
             GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
             LessThanOrEqualToThreshold, <=",
            "rules.yaml:24:5: rules[2] (cpu-high): threshold: required; a finite number",
            "rules.yaml:24:5: rules[2] (cpu-high): region: required; set `region` or `regions` on the rule, \
             `defaults.region` in the document, or the AWS_REGION environment variable (on the command line also \
                     --region, or the profile's `region` in ~/.aws/config)",
            "rules.yaml:6:1: owner: unknown field `owner`; allowed: version, defaults, rules, silences",
        ];
        let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines, expected);
        let display = errors.to_string();
        assert!(
            display.starts_with("13 errors in the rules:\n  rules.yaml:5:13: defaults.severity: "),
            "{display}"
        );
        assert_eq!(display.lines().count(), 14);
        assert!(
            display
                .lines()
                .skip(1)
                .all(|line| line.starts_with("  rules.yaml:")),
            "{display}"
        );
    }

    #[test]
    fn merge_keys_share_fields_between_rules() {
        let doc = format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: {TOPIC}}}\nrules:\n\
             - &cpu {{name: cpu-warn, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n\
             - {{<<: *cpu, name: cpu-crit, threshold: 95, severity: critical}}\n"
        );
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        assert_eq!(rules.rules[1].name.as_str(), "cpu-crit");
        assert_eq!(rules.rules[1].metric, MetricName::CpuUtilization);
        assert_eq!(rules.rules[1].threshold, 95.0);
    }
}
