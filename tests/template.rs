//! The SAM template keeps its promises: the function's shape (SPEC §8), least-privilege
//! IAM, and rules in `ALERT_RULES` that the function accepts. (cfn-lint and
//! `sam validate --lint` run in scripts/test.sh.)

use lightsail_alerts::rules::{self, Fallbacks};
use serde_yaml_ng::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_function_is_an_arm64_custom_runtime_built_with_cargo_lambda() {
    let template = template();
    let function = &template["Resources"]["AlertsFunction"];
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    let properties = &function["Properties"];
    assert_eq!(properties["Runtime"], "provided.al2023");
    assert_eq!(properties["Handler"], "bootstrap");
    assert_eq!(properties["Architectures"][0], "arm64");
    assert_eq!(properties["MemorySize"], 128);
    assert_eq!(properties["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(properties["EventInvokeConfig"]["MaximumRetryAttempts"], 1);
    assert_eq!(
        properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"],
        "SQS"
    );
    let schedule = &properties["Events"]["Schedule"]["Properties"];
    assert_eq!(
        schedule["Input"], r#"{"at": "<aws.scheduler.scheduled-time>"}"#,
        "the evaluation time must be the scheduled time"
    );
}

#[test]
fn the_function_may_only_read_lightsail_and_publish_to_its_topic() {
    let template = template();
    let policies = template["Resources"]["AlertsFunction"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap();
    let statements: Vec<&Value> = policies
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().unwrap())
        .collect();
    let actions: Vec<String> = statements
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::Sequence(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            v => vec![v.as_str().unwrap().to_owned()],
        })
        .collect();
    assert_eq!(
        actions,
        [
            "lightsail:GetInstanceMetricData",
            "lightsail:GetInstances",
            "sns:Publish"
        ]
    );
    let publish = statements
        .iter()
        .find(|s| s["Action"] == "sns:Publish")
        .unwrap();
    assert_ne!(publish["Resource"], "*", "sns:Publish on the topic alone");
}

#[test]
fn the_rules_in_the_template_are_valid() {
    let template = template();
    let text = template["Resources"]["AlertsFunction"]["Properties"]["Environment"]["Variables"]
        ["ALERT_RULES"]
        .as_str()
        .expect("ALERT_RULES is an inline document");
    let fallbacks = Fallbacks {
        region: Some("us-east-1".into()),
        topic_arn: Some("arn:aws:sns:us-east-1:123456789012:AlertTopic".into()),
    };
    let rules = rules::parse(text, "template.yaml ALERT_RULES", &fallbacks)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!rules.rules.is_empty());
}
