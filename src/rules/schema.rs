//! The JSON Schema (draft 2020-12) of the rules document, for editors and other tools
//! (`lightsail-alerts schema`, kept as `schemas/rules-v1.schema.json`).
//!
//! It says what a schema can: the fields (no others), their types, enumerations, ranges
//! and patterns, and per `resourceType` the metrics, states, units, statistics and
//! periods the catalog allows. Cross-field rules it cannot say (`datapointsToAlarm` up
//! to `evaluationPeriods`, `evaluationPeriods * period`, `recoveryThreshold`'s side,
//! unique names and topics, valid globs) are left to `validate`. Its descriptions are
//! the README's rules reference ([`reference`](super::reference)), and its keywords
//! are those of draft 7 as well, so editors on either draft read it.
//!
//! One difference: a field left empty (`region:` with nothing after it), which the
//! validator reads as absent, is refused here; an editor flagging it helps.

use serde_json::{Map, Value, json};

use crate::domain::catalog::{
    COUNTS_ONLY_WHY, Comparison, Format, MAX_EVALUATION_SECONDS, MAX_PERIOD, MIN_PERIOD,
    MetricName, ResourceType, Severity, Statistic, TreatMissingData, Unit,
};
use crate::domain::rule::DEFAULT_GROUP_ABOVE;
use crate::domain::transition::Policy;

use super::notify::NOTIFY_FIELDS;
use super::policy::{GROUP_NEVER, MAX_GROUP_ABOVE, MAX_RENOTIFY_MINUTES, STATES};
use super::reference::{FieldDoc, Reference};
use super::scope::{DEFAULTS_FIELDS, DOCUMENT_FIELDS, RULE_FIELDS};
use super::selection::MAX_SELECTORS;
use super::silences::{MATCH_FIELDS, SCHEDULE_FIELDS, SILENCE_FIELDS};

/// `[a-z]{2}(-[a-z]+)+-\d+`, as `is_region` checks it.
const REGION: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]+$";
/// `arn:<partition>:sns:<region>:<account>:<name>`, as `TopicArn` checks it.
const TOPIC_ARN: &str =
    "^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$";
const RULE_NAME: &str = "^[A-Za-z0-9_.-]{1,64}$";

/// The schema of version 1 of the rules document.
pub fn json_schema() -> Result<Value, String> {
    let reference = Reference::from_readme()?;
    let document = |field: &str| row(&reference.document, field);
    let rule_doc = |field: &str| row(&reference.rule, field);

    let mut defaults = Map::new();
    for field in DEFAULTS_FIELDS {
        let doc = match row(&reference.defaults, field) {
            // A field of the document, which no rule has: its row as it is.
            Ok(doc) => doc,
            // The rule's row says where a rule's value comes from when it sets none; here
            // only what the value may be applies.
            Err(_) => FieldDoc {
                required: "",
                default: "",
                ..rule_doc(field)?
            },
        };
        defaults.insert(
            (*field).to_owned(),
            documented(
                property(field, &reference)?,
                &format!("defaults.{field}"),
                &doc,
            ),
        );
    }
    let mut defaults = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": defaults,
        "allOf": [
            one_of_the_two("region", "regions"),
            one_of_the_two("topicArn", "notify"),
            reminders_need_alarm(),
        ],
    });
    describe(&mut defaults, "defaults", &document("defaults")?);

    let mut rule = Map::new();
    for field in RULE_FIELDS {
        rule.insert(
            (*field).to_owned(),
            documented(property(field, &reference)?, field, &rule_doc(field)?),
        );
    }
    let mut conditions = vec![
        one_of_the_two("instances", "resources"),
        json!({"anyOf": [{"required": ["resources"]}, {"required": ["instances"]}]}),
        one_of_the_two("region", "regions"),
        one_of_the_two("topicArn", "notify"),
        reminders_need_alarm(),
    ];
    conditions.extend(ResourceType::ALL.iter().map(|&kind| of_type(kind)));
    let rule = json!({
        "title": "a rule",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "metric", "comparison", "threshold"],
        "properties": rule,
        "allOf": conditions,
    });
    let mut rules = json!({"type": "array", "minItems": 1, "items": rule});
    describe(&mut rules, "rules", &document("rules")?);
    let mut version = json!({"const": 1});
    describe(&mut version, "version", &document("version")?);
    let mut silences = silences_schema(&reference)?;
    describe(&mut silences, "silences", &document("silences")?);

    let properties: Map<String, Value> = DOCUMENT_FIELDS
        .iter()
        .zip([version, defaults, rules, silences])
        .map(|(field, schema)| ((*field).to_owned(), schema))
        .collect();
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "lightsail-alerts rules, version 1",
        "description": "The rules of lightsail-alerts: threshold alarms on Amazon Lightsail metrics, \
            evaluated like CloudWatch alarms and published to SNS. Generated by `lightsail-alerts \
            schema` from README.md's rules reference; `lightsail-alerts validate` checks what a \
            schema cannot (datapointsToAlarm <= evaluationPeriods, evaluationPeriods * period <= \
            86400, recoveryThreshold's side of threshold, unique rule names, valid globs).",
        "type": "object",
        "additionalProperties": false,
        "required": ["version", "rules"],
        "properties": properties,
    }))
}

/// The reference row of `field` in `table`.
fn row(table: &[FieldDoc], field: &str) -> Result<FieldDoc, String> {
    table
        .iter()
        .find(|doc| doc.field == field)
        .copied()
        .ok_or_else(|| format!("README.md's rules reference has no row for `{field}`"))
}

/// Adds `title`, `description` and `markdownDescription` (read by VS Code's YAML and
/// JSON support for hovers) to `schema`.
fn describe(schema: &mut Value, title: &str, doc: &FieldDoc) {
    if let Value::Object(map) = schema {
        map.insert("title".into(), title.into());
        map.insert("description".into(), doc.plain().into());
        map.insert("markdownDescription".into(), doc.markdown().into());
    }
}

fn documented(mut schema: Value, title: &str, doc: &FieldDoc) -> Value {
    describe(&mut schema, title, doc);
    schema
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&t| name(t)).collect()
}

/// The schema of one field of a rule (and of `defaults`, which takes some of them),
/// without its description.
fn property(field: &str, reference: &Reference) -> Result<Value, String> {
    let selector = json!({"type": "string", "minLength": 1, "pattern": "\\S"});
    let whole = |minimum: u32, maximum: u32| json!({"type": "integer", "minimum": minimum, "maximum": maximum});
    let policy = Policy::default();
    Ok(match field {
        "name" => json!({"type": "string", "pattern": RULE_NAME}),
        "description" => json!({"type": "string"}),
        "resourceType" => json!({
            "enum": names(ResourceType::ALL, ResourceType::as_str),
            "default": ResourceType::Instance.as_str(),
        }),
        "resources" | "instances" => json!({
            "anyOf": [
                {"const": "*"},
                {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_SELECTORS,
                    "uniqueItems": true,
                    "items": selector,
                },
            ],
        }),
        "exclude" => json!({
            "type": "array",
            "maxItems": MAX_SELECTORS,
            "uniqueItems": true,
            "items": {"allOf": [selector, {"not": {"const": "*"}}]},
        }),
        "tags" => {
            let value = json!({"type": ["string", "number", "boolean"]});
            json!({
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"minLength": 1, "pattern": "\\S"},
                "additionalProperties": {
                    "anyOf": [
                        value,
                        {
                            "type": "array",
                            "minItems": 1,
                            "uniqueItems": true,
                            "items": {"allOf": [value, {"not": {"const": "*"}}]},
                        },
                    ],
                },
            })
        }
        // The states of the rule's type: see `of_type`.
        "states" => json!({
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": {"type": "string"},
        }),
        "metric" => json!({"enum": names(MetricName::ALL, MetricName::as_str)}),
        "statistic" => json!({"enum": names(Statistic::ALL, Statistic::as_str)}),
        "unit" => json!({"enum": names(Unit::ALL, Unit::as_str)}),
        "period" => json!({
            "type": "integer",
            "minimum": MIN_PERIOD,
            "maximum": MAX_PERIOD,
            "multipleOf": MIN_PERIOD,
        }),
        "comparison" => {
            let spellings = Comparison::allowed();
            json!({"enum": spellings.split(", ").collect::<Vec<_>>()})
        }
        "threshold" | "recoveryThreshold" => json!({"type": "number"}),
        "evaluationPeriods" => {
            let mut n = whole(1, MAX_EVALUATION_SECONDS / MIN_PERIOD);
            n["default"] = json!(super::rule::DEFAULT_EVALUATION_PERIODS);
            n
        }
        "datapointsToAlarm" => whole(1, MAX_EVALUATION_SECONDS / MIN_PERIOD),
        "treatMissingData" => json!({
            "enum": names(TreatMissingData::ALL, TreatMissingData::as_str),
            "default": TreatMissingData::Missing.as_str(),
        }),
        "severity" => json!({
            "enum": names(Severity::ALL, Severity::as_str),
            "default": Severity::Warning.as_str(),
        }),
        "notifyOn" => json!({
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": {"enum": STATES.map(|s| s.as_str())},
            "default": policy.notify_on.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        }),
        "renotifyMinutes" => {
            let mut minutes = whole(0, MAX_RENOTIFY_MINUTES);
            minutes["default"] = json!(policy.renotify_minutes);
            minutes
        }
        "groupAbove" => json!({
            "anyOf": [whole(0, MAX_GROUP_ABOVE), {"const": GROUP_NEVER}],
            "default": DEFAULT_GROUP_ABOVE,
        }),
        "region" => json!({"type": "string", "pattern": REGION}),
        "regions" => json!({
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": {"type": "string", "pattern": REGION},
        }),
        "topicArn" => json!({"type": "string", "pattern": TOPIC_ARN}),
        "inhibitedBy" => json!({
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": {"type": "string", "pattern": RULE_NAME},
        }),
        "notify" => {
            let mut target = Map::new();
            for field in NOTIFY_FIELDS {
                let schema = match *field {
                    "topicArn" => json!({"type": "string", "pattern": TOPIC_ARN}),
                    _ => json!({
                        "enum": names(Format::ALL, Format::as_str),
                        "default": Format::Text.as_str(),
                    }),
                };
                let doc = row(&reference.notify, field)?;
                target.insert((*field).to_owned(), documented(schema, field, &doc));
            }
            json!({
                "type": "array",
                "minItems": 1,
                "items": {
                    "title": "a notify target",
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["topicArn"],
                    "properties": target,
                },
            })
        }
        other => return Err(format!("no schema for the field `{other}`")),
    })
}

/// `silences`: a list of `{name, match, schedule, comment}`, `schedule` one of its two
/// forms.
fn silences_schema(reference: &Reference) -> Result<Value, String> {
    let doc = |field: &str| row(&reference.silence, field);
    let glob = json!({"type": "string", "minLength": 1});
    let time = json!({"type": "string", "format": "date-time"});
    let mut matcher = Map::new();
    for field in MATCH_FIELDS {
        let schema = match *field {
            "tags" => json!({
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": ["string", "number", "boolean"]},
            }),
            _ => glob.clone(),
        };
        matcher.insert((*field).to_owned(), documented(schema, field, &doc(field)?));
    }
    let mut schedule = Map::new();
    for field in SCHEDULE_FIELDS {
        let schema = match *field {
            "cron" => json!({"type": "string", "pattern": "^\\s*\\S+(\\s+\\S+){4}\\s*$"}),
            "duration" => json!({"type": "string", "minLength": 2}),
            "timezone" => json!({"type": "string", "default": "UTC"}),
            _ => time.clone(),
        };
        schedule.insert((*field).to_owned(), documented(schema, field, &doc(field)?));
    }
    let mut properties = Map::new();
    for field in SILENCE_FIELDS {
        let schema = match *field {
            "name" => json!({"type": "string", "pattern": RULE_NAME}),
            "match" => json!({
                "type": "object",
                "additionalProperties": false,
                "minProperties": 1,
                "properties": matcher,
            }),
            "schedule" => {
                let none_of = |fields: &[&str]| json!({"not": {"anyOf": fields.iter().map(|f| json!({"required": [f]})).collect::<Vec<_>>()}});
                json!({
                    "type": "object",
                    "additionalProperties": false,
                    "properties": schedule,
                    "oneOf": [
                        {"required": ["cron", "duration"], "allOf": [none_of(&["start", "end"])]},
                        {"required": ["start", "end"], "allOf": [none_of(&["cron", "duration", "timezone"])]},
                    ],
                })
            }
            _ => json!({"type": "string"}),
        };
        properties.insert((*field).to_owned(), documented(schema, field, &doc(field)?));
    }
    Ok(json!({
        "type": "array",
        "items": {
            "title": "a silence",
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "match", "schedule"],
            "properties": properties,
        },
    }))
}

/// `a` and `b` are not both set.
fn one_of_the_two(a: &str, b: &str) -> Value {
    json!({"not": {"required": [a, b]}})
}

/// A reminder repeats the ALARM notice: `renotifyMinutes` above 0 beside a `notifyOn`
/// needs ALARM in it.
fn reminders_need_alarm() -> Value {
    json!({
        "if": {
            "required": ["renotifyMinutes", "notifyOn"],
            "properties": {"renotifyMinutes": {"exclusiveMinimum": 0}},
        },
        "then": {"properties": {"notifyOn": {"contains": {"const": "ALARM"}}}},
    })
}

/// What a rule of `kind` may say: its type's metrics and states (or no `states`),
/// `instances` on instance rules only, us-east-1 for distributions, and per metric its
/// unit, statistics and the multiples of its native period.
fn of_type(kind: ResourceType) -> Value {
    let mut condition = json!({"properties": {"resourceType": {"const": kind.as_str()}}});
    if kind != ResourceType::Instance {
        // Without `resourceType`, a rule watches instances.
        condition["required"] = json!(["resourceType"]);
    }
    let states = match kind.states() {
        Some(states) => json!({"items": {"enum": states}}),
        None => Value::Bool(false),
    };
    let mut then = json!({
        "properties": {
            "metric": {"enum": kind.metrics().map(MetricName::as_str).collect::<Vec<_>>()},
            "states": states,
        },
        "allOf": metric_groups(kind),
    });
    if kind != ResourceType::Instance {
        then["not"] = json!({"required": ["instances"]});
    }
    if let Some(global) = kind.global_region() {
        then["properties"]["region"] = json!({"const": global});
        then["properties"]["regions"] = json!({"items": {"const": global}});
    }
    json!({"if": condition, "then": then})
}

/// The metrics of `kind` grouped by what their catalog entries say of unit, native
/// period and statistics, each group a condition on the rule's `unit`, `statistic`,
/// `period` and `evaluationPeriods`.
fn metric_groups(kind: ResourceType) -> Vec<Value> {
    /// What a group's metrics share: unit, native period, statistics.
    type Shared = (Unit, u32, &'static [Statistic]);
    let mut groups: Vec<(Shared, Vec<&str>)> = Vec::new();
    for metric in kind.metrics() {
        let Some(info) = kind.metric(metric) else {
            continue;
        };
        let key = (info.unit, info.native_period, info.statistics);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, metrics)) => metrics.push(metric.as_str()),
            None => groups.push((key, vec![metric.as_str()])),
        }
    }
    groups
        .into_iter()
        .map(|((unit, native, statistics), metrics)| {
            let mut then = Map::new();
            then.insert("unit".into(), json!({"const": unit.as_str()}));
            if statistics.len() < Statistic::ALL.len() {
                then.insert(
                    "statistic".into(),
                    json!({
                        "enum": names(statistics, Statistic::as_str),
                        "description": COUNTS_ONLY_WHY,
                    }),
                );
            }
            if native > MIN_PERIOD {
                then.insert("period".into(), json!({"multipleOf": native}));
                // evaluationPeriods * period <= 86400, and the period is at least native.
                then.insert(
                    "evaluationPeriods".into(),
                    json!({"maximum": MAX_EVALUATION_SECONDS / native}),
                );
            }
            json!({
                "if": {"required": ["metric"], "properties": {"metric": {"enum": metrics}}},
                "then": {"properties": then},
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse;
    use crate::rules::test_support::{SOURCE, TOPIC, fallbacks};

    /// Every `default` of the schema is what the validator fills in for a rule (and a
    /// notify target) that leaves the field out.
    #[test]
    fn the_schemas_defaults_are_the_validators() {
        let schema = json_schema().unwrap();
        let rule = &schema["properties"]["rules"]["items"]["properties"];
        let doc = format!(
            "version: 1\nrules:\n- {{name: a, instances: [web-1], metric: CPUUtilization, comparison: '>', \
             threshold: 1, notify: [{{topicArn: {TOPIC}}}]}}\n"
        );
        let rules = parse(&doc, SOURCE, &fallbacks("us-east-1", TOPIC)).unwrap();
        let validated = serde_json::to_value(&rules.rules[0]).unwrap();
        let mut checked = Vec::new();
        for (field, property) in rule.as_object().unwrap() {
            if let Some(default) = property.get("default") {
                assert_eq!(&validated[field], default, "{field}");
                checked.push(field.as_str());
            }
        }
        assert_eq!(
            checked,
            [
                "evaluationPeriods",
                "notifyOn",
                "renotifyMinutes",
                "resourceType",
                "severity",
                "treatMissingData"
            ]
        );
        let format = &rule["notify"]["items"]["properties"]["format"]["default"];
        assert_eq!(&validated["notify"][0]["format"], format);
    }

    #[test]
    fn descriptions_are_the_readmes_rows() {
        let schema = json_schema().unwrap();
        let reference = Reference::from_readme().unwrap();
        let rule = &schema["properties"]["rules"]["items"]["properties"];
        for doc in &reference.rule {
            assert_eq!(rule[doc.field]["description"], doc.plain(), "{}", doc.field);
            assert_eq!(rule[doc.field]["markdownDescription"], doc.markdown());
        }
        let threshold = &rule["threshold"];
        assert_eq!(threshold["description"], "A number. Required.");
        assert_eq!(threshold["title"], "threshold");
        let version = &schema["properties"]["version"];
        assert!(
            version["description"]
                .as_str()
                .unwrap()
                .starts_with("1, the version")
        );
        let format = &rule["notify"]["items"]["properties"]["format"];
        assert!(
            format["description"]
                .as_str()
                .unwrap()
                .contains("see Alert formats")
        );
    }

    #[test]
    fn every_type_has_its_metrics_and_states() {
        let schema = json_schema().unwrap();
        let conditions = schema["properties"]["rules"]["items"]["allOf"]
            .as_array()
            .unwrap();
        let bucket = conditions
            .iter()
            .find(|c| c["if"]["properties"]["resourceType"]["const"] == "Bucket")
            .unwrap();
        assert_eq!(
            bucket["then"]["properties"]["metric"]["enum"],
            json!(["BucketSizeBytes", "NumberOfObjects"])
        );
        assert_eq!(bucket["then"]["properties"]["states"], json!(false));
        let daily = &bucket["then"]["allOf"][0]["then"]["properties"];
        assert_eq!(daily["period"]["multipleOf"], 86_400);
        assert_eq!(daily["evaluationPeriods"]["maximum"], 1);
    }
}
