//! `validate --template FILE` (SPEC §14): the rules a SAM or CloudFormation template
//! embeds in a function's `ALERT_RULES`, validated as the deployed function reads them.
//! What the template itself provides counts as provided: the region (the stack's, which
//! Lambda gives the function as `AWS_REGION`) and the topic when the function's
//! environment sets `ALERT_TOPIC_ARN`, whatever intrinsic function gives its value.

use serde_yaml_ng::{Mapping, Value};

use crate::rules::{self, Fallbacks, Position, RuleSet, ValidationErrors};

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
    /// Where the document's lines are in the template, when they are there as they are
    /// (a literal block, `ALERT_RULES: |`).
    block: Option<Block>,
}

/// A document written in the template as an indented literal block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    /// The template's name.
    file: String,
    /// `AlertsFunction ALERT_RULES (unless HasRulesObject)`.
    label: String,
    /// The template's line (from 1) of the document's first line.
    first_line: usize,
    /// The spaces before each of the document's lines in the template.
    indent: usize,
}

/// Where the lines of `document` are in `template`: the first line from which every line
/// of the document is a line of the template after the same indentation (blank lines
/// may be empty). Documents that YAML folded or escaped (`>`, quoted strings) are not
/// found.
fn block_of(template: &str, document: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = template.lines().collect();
    let wanted: Vec<&str> = document.lines().collect();
    let first = *wanted.first()?;
    if first.trim().is_empty() {
        return None;
    }
    (0..lines.len()).find_map(|start| {
        let indent = lines[start].strip_suffix(first)?.len();
        if !lines[start][..indent].bytes().all(|b| b == b' ') {
            return None;
        }
        let matches = wanted.iter().enumerate().all(|(k, line)| {
            lines.get(start + k).is_some_and(|in_template| {
                (line.is_empty() && in_template.trim().is_empty())
                    || in_template.get(indent..) == Some(line)
                        && in_template[..indent].bytes().all(|b| b == b' ')
            })
        });
        matches.then_some((start + 1, indent))
    })
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
            let label = format!("{id} ALERT_RULES{condition}");
            let block = block_of(template, &text).map(|(first_line, indent)| Block {
                file: name.to_owned(),
                label: label.clone(),
                first_line,
                indent,
            });
            found.push(Embedded {
                source: format!("{name}: {label}"),
                text,
                topic_provided,
                block,
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
    rules::parse(&embedded.text, &embedded.source, &fallbacks).map_err(|mut errors| {
        // Positions in the template itself, so that an editor can jump to them.
        if let Some(block) = &embedded.block {
            for error in errors.0.iter_mut() {
                let Some(at) = error.at else { continue };
                error.source.clone_from(&block.file);
                error.at = Some(Position {
                    line: block.first_line + at.line - 1,
                    column: block.indent + at.column,
                });
                error.rule = Some(match error.rule.take() {
                    Some(rule) => format!("{}: {rule}", block.label),
                    None => block.label.clone(),
                });
            }
        }
        errors
    })
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
        // A quoted string: the line and column are those in the embedded document.
        assert!(
            errors.contains("\n  t.yaml: Other ALERT_RULES:3:45: rules[0] (cpu): metric: `CPU`"),
            "{errors}"
        );
        // A literal block: the line and column are the template's.
        let template = TEMPLATE.replace("threshold: 80}\n  Other:", "threshold: 8O}\n  Other:");
        let found = embedded(&template, "t.yaml").unwrap();
        let errors = validate(&found[0]).unwrap_err().to_string();
        let line = template.lines().position(|l| l.contains("8O}")).unwrap() + 1;
        let column = template.lines().nth(line - 1).unwrap().find("8O").unwrap() + 1;
        assert!(
            errors.contains(&format!(
                "\n  t.yaml:{line}:{column}: AlertsFunction ALERT_RULES (unless HasRulesObject): \
                 rules[0] (cpu): threshold: "
            )),
            "{errors}"
        );
    }

    #[test]
    fn a_block_is_found_only_where_every_line_is_the_templates() {
        let template = "a:\n  x: |\n    version: 1\n\n    rules: []\n  y: |\n    version: 1\n";
        assert_eq!(
            block_of(template, "version: 1\n\nrules: []\n"),
            Some((3, 4))
        );
        assert_eq!(block_of(template, "version: 1\n"), Some((3, 4)));
        assert_eq!(block_of(template, "version: 2\n"), None);
        assert_eq!(block_of(template, "version: 1\nrules: [x]\n"), None);
        assert_eq!(block_of(template, "\n"), None);
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
