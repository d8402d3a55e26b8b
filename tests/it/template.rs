//! The SAM template keeps its promises: the function's shape (SPEC §8), least-privilege
//! IAM, the state table (SPEC §9), rules in `ALERT_RULES` that the function accepts, or
//! an S3 object instead (SPEC §10), the alarms that watch the function (SPEC §16).
//! (cfn-lint and `sam validate --lint` run in scripts/test.sh.)

use lightsail_alerts::domain::catalog::ResourceType;
use lightsail_alerts::rules::{self, Fallbacks};
use lightsail_alerts::settings::RulesFile;
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

/// A YAML value as the template would spell it, e.g. `!GetAtt AlarmStateTable.Arn`.
fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

/// `!If [condition, then, else]` as (condition, then, else); `None` for any other value.
fn branches(value: &Value) -> Option<(&str, &Value, &Value)> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "If" => {
            let branches = tagged.value.as_sequence().unwrap();
            assert_eq!(branches.len(), 3, "{value:?}");
            Some((branches[0].as_str().unwrap(), &branches[1], &branches[2]))
        }
        _ => None,
    }
}

/// The value of `!If [condition, then, !Ref AWS::NoValue]` when `condition` holds, after
/// checking that it is conditional on `condition` and absent otherwise; any other value
/// as it is.
fn when<'a>(condition: &str, value: &'a Value) -> &'a Value {
    match branches(value) {
        Some((name, then, otherwise)) => {
            assert_eq!(name, condition, "{value:?}");
            assert_eq!(otherwise, &yaml("!Ref AWS::NoValue"), "{value:?}");
            then
        }
        None => value,
    }
}

/// The value in the default deployment (`StateTable: ENABLED`) of what depends on the
/// state table.
fn with_state_table(value: &Value) -> &Value {
    when("HasStateTable", value)
}

/// A policy statement as it is when its condition holds, whichever condition that is.
fn statement(value: &Value) -> &Value {
    match branches(value) {
        Some((condition, _, _)) => when(condition, value),
        None => value,
    }
}

#[test]
fn the_function_may_only_read_lightsail_publish_to_its_topic_keep_state_in_its_table_and_read_its_rules()
 {
    let template = template();
    let policies = template["Resources"]["AlertsFunction"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap();
    let statements: Vec<&Value> = policies
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().unwrap())
        .map(statement)
        .collect();
    let actions: Vec<String> = statements
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::Sequence(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            v => vec![v.as_str().unwrap().to_owned()],
        })
        .collect();
    // The metric and listing reads of every resource type a rule can watch, then exactly
    // the DynamoDB calls DynamoStore makes (src/aws/dynamodb.rs): no Scan, Query, GetItem,
    // PutItem or DeleteItem; and the one S3 call S3Rules makes (src/aws/s3.rs).
    let mut expected: Vec<String> = ResourceType::ALL
        .iter()
        .flat_map(|kind| [kind.metric_operation(), kind.listing_operation()])
        .map(|operation| format!("lightsail:{operation}"))
        .collect();
    expected.extend(
        [
            "sns:Publish",
            "dynamodb:BatchGetItem",
            "dynamodb:UpdateItem",
            "s3:GetObject",
        ]
        .map(str::to_owned),
    );
    assert_eq!(actions, expected);
    let publish = statements
        .iter()
        .find(|s| s["Action"] == "sns:Publish")
        .unwrap();
    assert_ne!(publish["Resource"], "*", "sns:Publish on the topic alone");
    let state = statements
        .iter()
        .find(|s| s["Sid"] == "AlarmState")
        .unwrap();
    assert_eq!(
        state["Resource"],
        yaml("!GetAtt AlarmStateTable.Arn"),
        "DynamoDB on the state table alone"
    );
    let rules = statements.iter().find(|s| s["Sid"] == "ReadRules").unwrap();
    assert_eq!(
        rules["Resource"],
        yaml("!Sub arn:${AWS::Partition}:s3:::${RulesBucket}/${RulesKey}"),
        "s3:GetObject on the rules object alone: not the bucket, not a prefix"
    );
    // Without the table (StateTable: DISABLED) or the rules object, their statements are
    // gone, not left on "*".
    let conditions: Vec<&str> = policies[0]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| branches(s).map(|(condition, _, _)| condition))
        .collect();
    assert_eq!(conditions, ["HasStateTable", "HasRulesObject"]);
}

#[test]
fn rules_may_come_from_an_s3_object_named_by_both_parameters_or_neither() {
    let template = template();
    for name in ["RulesBucket", "RulesKey"] {
        assert_eq!(template["Parameters"][name]["Type"], "String");
        assert_eq!(
            template["Parameters"][name]["Default"], "",
            "{name}: optional"
        );
    }
    assert_eq!(
        template["Conditions"]["HasRulesObject"],
        yaml(r#"!And [!Not [!Equals [!Ref RulesBucket, ""]], !Not [!Equals [!Ref RulesKey, ""]]]"#)
    );
    // One without the other is refused before deployment, not silently ignored.
    let assertion = &template["Rules"]["RulesObjectIsComplete"]["Assertions"][0];
    assert_eq!(
        assertion["Assert"],
        yaml(
            r#"!Or [!And [!Equals [!Ref RulesBucket, ""], !Equals [!Ref RulesKey, ""]],
                   !And [!Not [!Equals [!Ref RulesBucket, ""]], !Not [!Equals [!Ref RulesKey, ""]]]]"#
        )
    );
    assert!(assertion["AssertDescription"].is_string());

    let variables =
        &template["Resources"]["AlertsFunction"]["Properties"]["Environment"]["Variables"];
    let uri = when("HasRulesObject", &variables["ALERT_RULES_FILE"]);
    assert_eq!(uri, &yaml("!Sub s3://${RulesBucket}/${RulesKey}"));
    // What the function makes of it, for a bucket and key the parameters allow.
    let Value::Tagged(sub) = uri else {
        unreachable!()
    };
    let value = sub
        .value
        .as_str()
        .unwrap()
        .replace("${RulesBucket}", "ops-config")
        .replace("${RulesKey}", "lightsail-alerts/rules.yaml");
    assert!(
        matches!(value.parse::<RulesFile>(), Ok(RulesFile::S3(_))),
        "{value}"
    );
    // Never both: the function refuses ALERT_RULES_FILE and ALERT_RULES together.
    let (condition, then, _) =
        branches(&variables["ALERT_RULES"]).expect("ALERT_RULES is conditional");
    assert_eq!(condition, "HasRulesObject");
    assert_eq!(then, &yaml("!Ref AWS::NoValue"));
}

#[test]
fn the_state_table_is_on_demand_keyed_by_pk_and_passed_to_the_function() {
    let template = template();
    let table = &template["Resources"]["AlarmStateTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["Condition"], "HasStateTable");
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    // The key src/state.rs reads and writes: `pk` (S) = <rule>#<region>#<instance>.
    assert_eq!(
        properties["KeySchema"],
        yaml("[{AttributeName: pk, KeyType: HASH}]")
    );
    assert_eq!(
        properties["AttributeDefinitions"],
        yaml("[{AttributeName: pk, AttributeType: S}]")
    );

    let variables =
        &template["Resources"]["AlertsFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        with_state_table(&variables["ALERT_STATE_TABLE"]),
        &yaml("!Ref AlarmStateTable")
    );
    assert_eq!(template["Parameters"]["StateTable"]["Default"], "ENABLED");
    assert_eq!(
        template["Conditions"]["HasStateTable"],
        yaml("!Equals [!Ref StateTable, ENABLED]")
    );
}

#[test]
fn a_claim_outlives_any_run_of_the_function() {
    let template = template();
    let timeout = template["Resources"]["AlertsFunction"]["Properties"]["Timeout"]
        .as_i64()
        .unwrap();
    // A lease shorter than a run could let a second run take over a live claim and
    // send the same notice twice.
    assert!(
        timeout < lightsail_alerts::ports::LEASE.num_seconds(),
        "Timeout {timeout} s must stay below the claim lease"
    );
}

#[test]
fn the_rules_in_the_template_are_valid() {
    let template = template();
    let variable = &template["Resources"]["AlertsFunction"]["Properties"]["Environment"]["Variables"]
        ["ALERT_RULES"];
    // The document, when no rules object is named.
    let (_, _, document) = branches(variable).expect("ALERT_RULES is conditional");
    let text = document
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

#[test]
fn validate_template_checks_the_deployed_rules_with_the_region_and_topic_it_provides() {
    let out = crate::support::command()
        .args(["validate", "--template"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("AlertsFunction ALERT_RULES"), "{stdout}");
    assert!(stdout.contains("- ${AWS::Region}"), "{stdout}");
    assert!(stdout.contains("topicArn: ${ALERT_TOPIC_ARN}"), "{stdout}");
    assert!(stderr.contains("rule(s) in 1 document(s)"), "{stderr}");

    // The same document alone, without what the template provides, lacks both.
    let dir = tempfile::tempdir().unwrap();
    let text = template()["Resources"]["AlertsFunction"]["Properties"]["Environment"]["Variables"]
        ["ALERT_RULES"]
        .clone();
    let (_, _, document) = branches(&text).unwrap();
    let alone = dir.path().join("rules.yaml");
    std::fs::write(&alone, document.as_str().unwrap()).unwrap();
    let out = crate::support::command()
        .args(["validate", "--rules"])
        .arg(&alone)
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("region: required"), "{stderr}");
    assert!(stderr.contains("topicArn: required"), "{stderr}");

    // A template whose rules are wrong: every error, naming the function and branch.
    let broken = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .unwrap()
        .replace("metric: BurstCapacityPercentage", "metric: BurstCapacity");
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, broken).unwrap();
    let out = crate::support::command()
        .args(["validate", "--template"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // The line and column are the template's, where an editor jumps to.
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.ends_with("metric: BurstCapacity"))
        .unwrap();
    let column = text
        .lines()
        .nth(line)
        .unwrap()
        .find("BurstCapacity")
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!(
            "{}:{}:{column}: AlertsFunction ALERT_RULES (unless HasRulesObject): rules[0] \
             (burst-capacity-low): metric: `BurstCapacity` is not a metric of Instance",
            path.display(),
            line + 1
        )),
        "{stderr}"
    );
}

/// The alarms of the template, by logical id.
fn alarms(template: &Value) -> Vec<(&str, &Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (id.as_str().unwrap(), &r["Properties"]))
        .collect()
}

#[test]
fn the_watcher_is_watched_by_alarms_on_errors_throttles_the_failed_queue_and_missed_runs() {
    let template = template();
    let alarms = alarms(&template);
    let ids: Vec<&str> = alarms.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        [
            "FunctionErrorsAlarm",
            "FunctionThrottlesAlarm",
            "FailedInvocationsAlarm",
            "MissedRunsAlarm"
        ]
    );
    let topic = yaml("[!Ref AlertTopic]");
    let function = yaml("[{Name: FunctionName, Value: !Ref AlertsFunction}]");
    for (id, alarm) in &alarms {
        // Every alarm notifies the alert topic, of trouble and of its end.
        assert_eq!(alarm["AlarmActions"], topic, "{id}");
        assert_eq!(alarm["OKActions"], topic, "{id}");
        assert!(
            alarm["AlarmDescription"]
                .as_str()
                .is_some_and(|d| d.len() > 40),
            "{id} says what it means"
        );
    }
    let single = |id: &str| alarms.iter().find(|(i, _)| *i == id).unwrap().1;
    // Any error, any throttle, any message in the queue, within five minutes.
    for (id, namespace, metric, statistic) in [
        ("FunctionErrorsAlarm", "AWS/Lambda", "Errors", "Sum"),
        ("FunctionThrottlesAlarm", "AWS/Lambda", "Throttles", "Sum"),
        (
            "FailedInvocationsAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        ),
    ] {
        let alarm = single(id);
        assert_eq!(alarm["Namespace"], namespace, "{id}");
        assert_eq!(alarm["MetricName"], metric, "{id}");
        assert_eq!(alarm["Statistic"], statistic, "{id}");
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold", "{id}");
        assert_eq!(alarm["Threshold"], 0, "{id}");
        assert_eq!(alarm["TreatMissingData"], "notBreaching", "{id}");
        assert_eq!(alarm["Period"], 300, "{id}");
    }
    assert_eq!(single("FunctionErrorsAlarm")["Dimensions"], function);
    assert_eq!(single("FunctionThrottlesAlarm")["Dimensions"], function);
    assert_eq!(
        single("FailedInvocationsAlarm")["Dimensions"],
        yaml("[{Name: QueueName, Value: !GetAtt FailedInvocationsQueue.QueueName}]")
    );

    // The dead man's switch: fewer than one successful run in each of three schedule
    // intervals, and no data at all, is ALARM; silent while the schedule is disabled.
    let missed = single("MissedRunsAlarm");
    assert_eq!(missed["TreatMissingData"], "breaching");
    assert_eq!(missed["EvaluationPeriods"], 3);
    assert_eq!(missed["DatapointsToAlarm"], 3);
    assert_eq!(missed["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(missed["Threshold"], 1);
    assert_eq!(
        missed["ActionsEnabled"],
        yaml("!If [ScheduleEnabled, true, false]")
    );
    assert_eq!(
        template["Conditions"]["ScheduleEnabled"],
        yaml("!Equals [!Ref ScheduleState, ENABLED]")
    );
    let metrics = missed["Metrics"].as_sequence().unwrap();
    let by_id = |id: &str| metrics.iter().find(|m| m["Id"] == id).unwrap();
    for (id, metric) in [("invocations", "Invocations"), ("errors", "Errors")] {
        let stat = &by_id(id)["MetricStat"];
        assert_eq!(stat["Metric"]["Namespace"], "AWS/Lambda");
        assert_eq!(stat["Metric"]["MetricName"], metric);
        assert_eq!(stat["Metric"]["Dimensions"], function);
        assert_eq!(stat["Stat"], "Sum");
        assert_eq!(stat["Period"], yaml("!Ref ScheduleIntervalSeconds"));
        assert_eq!(by_id(id)["ReturnData"], false);
    }
    let succeeded = by_id("succeeded");
    assert_eq!(succeeded["Expression"], "invocations - FILL(errors, 0)");
    assert_eq!(succeeded["ReturnData"], true);
    // The interval's default is the schedule's, and three intervals fit in a day.
    let parameters = &template["Parameters"];
    assert_eq!(
        parameters["ScheduleExpression"]["Default"],
        "rate(5 minutes)"
    );
    assert_eq!(parameters["ScheduleIntervalSeconds"]["Default"], 300);
    for allowed in parameters["ScheduleIntervalSeconds"]["AllowedValues"]
        .as_sequence()
        .unwrap()
    {
        let seconds = allowed.as_u64().unwrap();
        assert!(seconds % 60 == 0 && seconds * 3 <= 86_400, "{seconds}");
    }
}
