//! `validate --template FILE` (SPEC §14): the rules a SAM or CloudFormation template
//! embeds in a function's `ALERT_RULES`, validated as the deployed function reads them.
//! What the template itself provides counts as provided: the region (the stack's, which
//! Lambda gives the function as `AWS_REGION`) and the topic when the function's
//! environment sets `ALERT_TOPIC_ARN`, whatever intrinsic function gives its value.

use serde_yaml_ng::{Mapping, Value};

use crate::rules::{self, Fallbacks, RuleSet, ValidationErrors};

/// Stands for the stack's region while validating; shown as `${AWS::Region}`.
const STACK_REGION: &str = "xx-stack-0";
/// Stands for the template's `ALERT_TOPIC_ARN` while validating; shown as
/// `${ALERT_TOPIC_ARN}`.
const TEMPLATE_TOPIC: &str = "arn:aws:sns:xx-stack-0:000000000000:ALERT_TOPIC_ARN";

/// The function types whose environment the deployed function reads.
const FUNCTION_TYPES: &[&str] = &["AWS::Serverless::Function", "AWS::Lambda::Function"];

/// One rules document a template embeds: which function, under which condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// `template.yaml: AlertsFunction ALERT_RULES (unless HasRulesObject)`, for messages.
    pub source: String,
    pub text: String,
    /// The function's environment sets `ALERT_TOPIC_ARN`.
    pub topic_provided: bool,
}

/// Every rules document in the template's functions, or why there is none to check.
pub fn embedded(template: &str, name: &str) -> Result<Vec<Embedded>, String> {
    let document: Value = serde_yaml_ng::from_str(template)
        .map_err(|e| format!("{name} is not a YAML or JSON template: {e}"))?;
    let globals = document
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(variables);
    let resources = document
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| format!("{name} has no Resources"))?;
    let mut found = Vec::new();
    for (logical_id, resource) in resources {
        let is_function = resource
            .get("Type")
            .and_then(Value::as_str)
            .is_some_and(|t| FUNCTION_TYPES.contains(&t));
        if !is_function {
            continue;
        }
        let own = resource.get("Properties").and_then(variables);
        let lookup = |key: &str| {
            own.and_then(|v| v.get(key))
                .or_else(|| globals.and_then(|v| v.get(key)))
                .filter(|value| !is_no_value(value))
        };
        let Some(rules) = lookup("ALERT_RULES") else {
            continue;
        };
        let id = logical_id.as_str().unwrap_or("(a function)");
        let topic_provided = lookup("ALERT_TOPIC_ARN").is_some();
        for (condition, text) in documents(rules, id)? {
            found.push(Embedded {
                source: format!("{name}: {id} ALERT_RULES{condition}"),
                text,
                topic_provided,
            });
        }
    }
    if found.is_empty() {
        return Err(format!(
            "no function in {name} sets ALERT_RULES; rules from S3 (ALERT_RULES_FILE) or in the \
             schedule's input are checked with `validate --rules FILE`"
        ));
    }
    Ok(found)
}

/// Validates one embedded document as the deployed function would read it.
pub fn validate(embedded: &Embedded) -> Result<RuleSet, ValidationErrors> {
    let fallbacks = Fallbacks {
        region: Some(STACK_REGION.to_owned()),
        topic_arn: embedded.topic_provided.then(|| TEMPLATE_TOPIC.to_owned()),
    };
    rules::parse(&embedded.text, &embedded.source, &fallbacks)
}

/// The validated rules as YAML, with what the template provides shown as the template
/// gives it rather than as the stand-ins validation used.
pub fn show(rules: &RuleSet) -> Result<String, String> {
    let yaml = serde_yaml_ng::to_string(rules).map_err(|e| e.to_string())?;
    Ok(yaml
        .replace(TEMPLATE_TOPIC, "${ALERT_TOPIC_ARN}")
        .replace(STACK_REGION, "${AWS::Region}"))
}

/// `Environment.Variables` of a function's properties (or of `Globals.Function`).
fn variables(properties: &Value) -> Option<&Mapping> {
    properties
        .get("Environment")?
        .get("Variables")?
        .as_mapping()
}

/// `!Ref AWS::NoValue` (or `{"Ref": "AWS::NoValue"}`): the variable is absent.
fn is_no_value(value: &Value) -> bool {
    match value {
        Value::Tagged(tagged) => {
            tagged.tag == "Ref" && tagged.value.as_str() == Some("AWS::NoValue")
        }
        Value::Mapping(map) => {
            map.len() == 1 && map.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
        }
        _ => false,
    }
}

/// The documents a value can be in a deployment: a string, or each branch of `!If`
/// (`Fn::If`), labelled with its condition; an absent branch gives none.
fn documents(value: &Value, function: &str) -> Result<Vec<(String, String)>, String> {
    if is_no_value(value) {
        return Ok(Vec::new());
    }
    if let Some((condition, then, otherwise)) = if_branches(value) {
        let mut all = Vec::new();
        for (label, branch) in [("if", then), ("unless", otherwise)] {
            for (inner, text) in documents(branch, function)? {
                all.push((format!(" ({label} {condition}){inner}"), text));
            }
        }
        return Ok(all);
    }
    match value {
        Value::String(text) => Ok(vec![(String::new(), text.clone())]),
        Value::Tagged(tagged) if tagged.tag == "Sub" => match tagged.value.as_str() {
            Some(text) if !text.contains("${") => Ok(vec![(String::new(), text.to_owned())]),
            _ => Err(format!(
                "{function} ALERT_RULES is built with !Sub from values known only when the stack \
                 is deployed; write the document as a plain block (ALERT_RULES: |) to check it"
            )),
        },
        other => Err(format!(
            "{function} ALERT_RULES is {}, not a rules document this command can read; write the \
             document as a plain block (ALERT_RULES: |)",
            describe(other)
        )),
    }
}

/// `(condition, then, otherwise)` of `!If [c, a, b]` or `{"Fn::If": [c, a, b]}`.
fn if_branches(value: &Value) -> Option<(&str, &Value, &Value)> {
    let list = match value {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged.value.as_sequence()?,
        Value::Mapping(map) if map.len() == 1 => map.get("Fn::If")?.as_sequence()?,
        _ => return None,
    };
    match list.as_slice() {
        [condition, then, otherwise] => Some((condition.as_str()?, then, otherwise)),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => format!("`!{}`", tagged.tag.to_string().trim_start_matches('!')),
        Value::Mapping(map) => match map.keys().next().and_then(Value::as_str) {
            Some(key) => format!("`{key}`"),
            None => "a mapping".to_owned(),
        },
        Value::Sequence(_) => "a list".to_owned(),
        _ => "not a string".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Globals:
  Function:
    Environment:
      Variables:
        ALERT_TOPIC_ARN: !Ref AlertTopic
Resources:
  AlertTopic:
    Type: AWS::SNS::Topic
  AlertsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          ALERT_RULES: !If
            - HasRulesObject
            - !Ref AWS::NoValue
            - |
              version: 1
              rules:
                - {name: cpu, instances: [web-1], metric: CPUUtilization, comparison: ">", threshold: 80}
  Other:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          ALERT_RULES: "version: 1\nrules:\n  - {name: cpu, instances: [web-1], metric: CPU, comparison: '>', threshold: 80}\n"
"#;

    #[test]
    fn every_embedded_document_is_found_with_its_function_condition_and_topic() {
        let found = embedded(TEMPLATE, "t.yaml").unwrap();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            found[0].source,
            "t.yaml: AlertsFunction ALERT_RULES (unless HasRulesObject)"
        );
        assert!(found[0].topic_provided, "from Globals");
        assert_eq!(found[1].source, "t.yaml: Other ALERT_RULES");
    }

    #[test]
    fn the_template_provides_region_and_topic_and_errors_name_the_function() {
        let found = embedded(TEMPLATE, "t.yaml").unwrap();
        let rules = validate(&found[0]).unwrap();
        let shown = show(&rules).unwrap();
        assert!(shown.contains("${AWS::Region}"), "{shown}");
        assert!(shown.contains("topicArn: ${ALERT_TOPIC_ARN}"), "{shown}");
        let errors = validate(&found[1]).unwrap_err().to_string();
        // The line and column are those in the embedded document.
        assert!(
            errors.contains("\n  t.yaml: Other ALERT_RULES:3:45: rules[0] (cpu): metric: `CPU`"),
            "{errors}"
        );
    }

    #[test]
    fn without_a_topic_in_the_template_a_rule_must_name_one() {
        let template = TEMPLATE.replace("ALERT_TOPIC_ARN: !Ref AlertTopic", "OTHER: x");
        let found = embedded(&template, "t.yaml").unwrap();
        let errors = validate(&found[0]).unwrap_err().to_string();
        assert!(errors.contains("topicArn: required"), "{errors}");
    }

    #[test]
    fn a_template_without_embedded_rules_or_with_a_sub_document_says_why() {
        let none = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n";
        assert!(
            embedded(none, "t.yaml")
                .unwrap_err()
                .starts_with("no function in t.yaml sets ALERT_RULES")
        );
        let sub = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      \
                   Environment:\n        Variables:\n          ALERT_RULES: !Sub 'x: ${Y}'\n";
        assert!(
            embedded(sub, "t.yaml")
                .unwrap_err()
                .contains("built with !Sub")
        );
    }
}
