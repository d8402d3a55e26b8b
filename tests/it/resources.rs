//! Every resource type through the binary (SPEC §11): databases, load balancers,
//! distributions, container services and buckets fetched with their own operation, name
//! field and unit from the fake Lightsail, selected from their own listings once per type
//! and region, and alerted on with their type named, against moto's SNS and SQS.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::lightsail::FakeLightsail;
use crate::support::moto::Moto;
use crate::support::{T, check_json, report, stderr};

/// One row per type: its name in rules, its metric operation, the request's name field, a
/// metric and its published unit, and a value that breaches `> 10` / `< 1`.
struct Kind {
    resource_type: &'static str,
    operation: &'static str,
    name_field: &'static str,
    metric: &'static str,
    unit: &'static str,
    statistic: &'static str,
    period: i64,
}

const KINDS: &[Kind] = &[
    Kind {
        resource_type: "RelationalDatabase",
        operation: "GetRelationalDatabaseMetricData",
        name_field: "relationalDatabaseName",
        metric: "FreeStorageSpace",
        unit: "Bytes",
        statistic: "Sum",
        period: 60,
    },
    Kind {
        resource_type: "LoadBalancer",
        operation: "GetLoadBalancerMetricData",
        name_field: "loadBalancerName",
        metric: "HealthyHostCount",
        unit: "Count",
        statistic: "Average",
        period: 300,
    },
    Kind {
        resource_type: "Distribution",
        operation: "GetDistributionMetricData",
        name_field: "distributionName",
        metric: "Http5xxErrorRate",
        unit: "Percent",
        statistic: "Average",
        period: 300,
    },
    Kind {
        resource_type: "ContainerService",
        operation: "GetContainerServiceMetricData",
        name_field: "serviceName",
        metric: "MemoryUtilization",
        unit: "Percent",
        statistic: "Average",
        period: 300,
    },
    Kind {
        resource_type: "Bucket",
        operation: "GetBucketMetricData",
        name_field: "bucketName",
        metric: "BucketSizeBytes",
        unit: "Bytes",
        statistic: "Maximum",
        period: 86_400,
    },
];

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

/// The most recent complete period of `period` seconds at [`T`] starts here.
fn last_period(period: i64) -> i64 {
    T - T.rem_euclid(period) - period
}

fn write_rules(dir: &tempfile::TempDir, yaml: &str) -> std::path::PathBuf {
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().unwrap()
}

fn operation(request: &crate::support::lightsail::RecordedRequest) -> String {
    request
        .operation()
        .unwrap_or_default()
        .trim_start_matches("Lightsail_20161128.")
        .to_owned()
}

#[test]
fn each_type_is_fetched_with_its_own_operation_name_field_unit_and_statistic_and_alarms() {
    let fake = FakeLightsail::start();
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("version: 1\ndefaults: {region: eu-west-1}\nrules:\n");
    for kind in KINDS {
        // Distributions are global: stored in us-east-1 whatever the rule's defaults say.
        let region = if kind.resource_type == "Distribution" {
            "us-east-1"
        } else {
            "eu-west-1"
        };
        let name = format!("{}-1", kind.resource_type.to_lowercase());
        fake.add_resource_points(
            kind.resource_type,
            region,
            &name,
            kind.metric,
            kind.unit,
            &[(last_period(kind.period), 50.0)],
        );
        yaml.push_str(&format!(
            "  - {{name: {}, resourceType: {}, resources: [{name}], metric: {}, comparison: '>', \
             threshold: 10, topicArn: '{TOPIC}'}}\n",
            kind.resource_type.to_lowercase(),
            kind.resource_type,
            kind.metric,
        ));
    }
    let out = check_json(&write_rules(&dir, &yaml))
        .arg("--dry-run")
        .envs(fake.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    assert_eq!(results(&report).len(), KINDS.len(), "{report:#}");
    let requests = fake.requests();
    for kind in KINDS {
        let name = format!("{}-1", kind.resource_type.to_lowercase());
        let result = results(&report)
            .iter()
            .find(|r| r["resourceType"] == kind.resource_type)
            .unwrap_or_else(|| panic!("no {} result in {report:#}", kind.resource_type));
        assert_eq!(result["state"], "ALARM", "{result:#}");
        assert_eq!(result["resource"], name.as_str());
        assert!(result.get("instance").is_none(), "{result:#}");
        let expected_region = if kind.resource_type == "Distribution" {
            "us-east-1"
        } else {
            "eu-west-1"
        };
        assert_eq!(result["region"], expected_region, "{result:#}");

        let calls: Vec<_> = requests
            .iter()
            .filter(|r| operation(r) == kind.operation)
            .collect();
        assert_eq!(calls.len(), 1, "{}: {calls:#?}", kind.operation);
        let call = calls[0];
        assert_eq!(
            call.region.as_deref(),
            Some(expected_region),
            "{}",
            kind.operation
        );
        assert_eq!(
            call.body[kind.name_field],
            name.as_str(),
            "{}",
            kind.operation
        );
        assert_eq!(call.body["metricName"], kind.metric);
        assert_eq!(call.body["statistics"], serde_json::json!([kind.statistic]));
        assert_eq!(call.body["period"], kind.period, "{}", kind.operation);
        if kind.resource_type == "ContainerService" {
            assert!(call.body.get("unit").is_none(), "no unit: {}", call.body);
        } else {
            assert_eq!(call.body["unit"], kind.unit, "{}", kind.operation);
        }
    }
    // Names alone need no listing.
    assert!(
        requests
            .iter()
            .all(|r| operation(r).ends_with("MetricData")),
        "{:?}",
        requests.iter().map(operation).collect::<Vec<_>>()
    );
}

#[test]
fn globs_tags_and_states_select_from_each_types_listing_once_per_type_and_region() {
    let fake = FakeLightsail::start();
    fake.page_size(2);
    let prod = [("env", Some("prod"))];
    for region in ["us-east-1", "eu-west-1"] {
        for (name, state, tags) in [
            ("orders-db", "available", &prod[..]),
            ("users-db", "available", &prod[..]),
            ("reports-db", "stopped", &prod[..]),
            ("test-db", "available", &[][..]),
        ] {
            fake.put_resource("RelationalDatabase", region, name, Some(state), tags);
            fake.add_resource_points(
                "RelationalDatabase",
                region,
                name,
                "CPUUtilization",
                "Percent",
                &[(last_period(60), 90.0)],
            );
        }
    }
    for name in ["api", "worker", "old"] {
        let state = if name == "old" { "DISABLED" } else { "RUNNING" };
        fake.put_resource("ContainerService", "us-east-1", name, Some(state), &[]);
        fake.add_resource_points(
            "ContainerService",
            "us-east-1",
            name,
            "CPUUtilization",
            "Percent",
            &[(last_period(300), 10.0)],
        );
    }
    // An instance with a database's name is another resource, never selected by them.
    fake.put_instance("us-east-1", "orders-db", "running", &prod);

    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(
        &dir,
        &format!(
            "version: 1\ndefaults: {{topicArn: '{TOPIC}'}}\nrules:\n\
  - {{name: db-cpu, resourceType: RelationalDatabase, resources: ['*-db'], tags: {{env: prod}}, \
states: [available], regions: [us-east-1, eu-west-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n\
  - {{name: db-cpu-all, resourceType: RelationalDatabase, resources: ['*'], exclude: [test-db], \
regions: [us-east-1], metric: CPUUtilization, comparison: '>', threshold: 95}}\n\
  - {{name: containers, resourceType: ContainerService, resources: ['*'], states: [RUNNING], \
metric: CPUUtilization, comparison: '>', threshold: 80}}\n"
        ),
    );
    let out = check_json(&rules)
        .arg("--dry-run")
        .envs(fake.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);

    let selected = |rule: &str| -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = results(&report)
            .iter()
            .filter(|r| r["rule"] == rule)
            .map(|r| {
                (
                    r["region"].as_str().unwrap().to_owned(),
                    r["resource"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        selected("db-cpu"),
        pairs(&[
            ("eu-west-1", "orders-db"),
            ("eu-west-1", "users-db"),
            ("us-east-1", "orders-db"),
            ("us-east-1", "users-db"),
        ])
    );
    assert_eq!(
        selected("db-cpu-all"),
        pairs(&[
            ("us-east-1", "orders-db"),
            ("us-east-1", "reports-db"),
            ("us-east-1", "users-db"),
        ])
    );
    assert_eq!(
        selected("containers"),
        pairs(&[("us-east-1", "api"), ("us-east-1", "worker")])
    );
    for r in results(&report) {
        let kind = r["resourceType"].as_str().unwrap();
        assert_ne!(kind, "Instance", "{r:#}");
    }

    // Each listing once per type and region, every page; none of instances; the container
    // services in one call.
    let mut listings: BTreeMap<(String, String), usize> = BTreeMap::new();
    for request in fake.requests() {
        let op = operation(&request);
        if !op.ends_with("MetricData") {
            *listings
                .entry((op, request.region.clone().unwrap_or_default()))
                .or_default() += 1;
        }
    }
    // Four databases per region at two a page: two pages each.
    let expected: BTreeMap<(String, String), usize> = [
        (
            ("GetContainerServices".to_owned(), "us-east-1".to_owned()),
            1,
        ),
        (
            ("GetRelationalDatabases".to_owned(), "eu-west-1".to_owned()),
            2,
        ),
        (
            ("GetRelationalDatabases".to_owned(), "us-east-1".to_owned()),
            2,
        ),
    ]
    .into();
    assert_eq!(listings, expected);
    // One call per distinct query: the two database rules share us-east-1's calls.
    let db_calls = fake
        .requests()
        .iter()
        .filter(|r| operation(r) == "GetRelationalDatabaseMetricData")
        .count();
    assert_eq!(
        db_calls, 5,
        "2 + 2 selected by db-cpu, reports-db added by db-cpu-all"
    );
}

#[test]
fn a_missing_resource_is_an_error_naming_its_type_and_the_others_go_on() {
    let fake = FakeLightsail::start();
    fake.add_resource_points(
        "Bucket",
        "us-east-1",
        "media",
        "NumberOfObjects",
        "Count",
        &[(last_period(86_400), 12.0)],
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(
        &dir,
        &format!(
            "version: 1\nrules:\n  - {{name: objects, resourceType: Bucket, resources: [media, ghost], \
             metric: NumberOfObjects, comparison: '>', threshold: 100, topicArn: '{TOPIC}'}}\n"
        ),
    );
    let out = check_json(&rules)
        .arg("--dry-run")
        .envs(fake.env())
        .output()
        .unwrap();
    let report = report(&out);
    let by_name = |name: &str| {
        results(&report)
            .iter()
            .find(|r| r["resource"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report:#}"))
            .clone()
    };
    assert_eq!(by_name("media")["state"], "OK");
    let ghost = by_name("ghost");
    assert_eq!(ghost["state"], "ERROR");
    let error = ghost["error"].as_str().unwrap();
    assert!(
        error.starts_with("bucket `ghost` was not found in us-east-1"),
        "{error}"
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{report:#}");
    assert_eq!(errors[0]["resourceType"], "Bucket");
    assert_eq!(errors[0]["resource"], "ghost");
    assert!(errors[0].get("instance").is_none());
}

#[test]
fn alerts_of_every_type_reach_a_subscriber_naming_the_type_and_resource() {
    let Some(moto) = Moto::start() else { return };
    let (topic, queue) = moto.topic_with_queue("alerts");
    let fake = FakeLightsail::start();
    fake.add_resource_points(
        "RelationalDatabase",
        "us-east-1",
        "orders-db",
        "FreeStorageSpace",
        "Bytes",
        &[(last_period(60), 1.0e9)],
    );
    fake.add_resource_points(
        "LoadBalancer",
        "us-east-1",
        "web-lb",
        "HTTPCode_LB_5XX_Count",
        "Count",
        &[(last_period(300), 40.0)],
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(
        &dir,
        &format!(
            "version: 1\ndefaults: {{topicArn: '{topic}'}}\nrules:\n\
  - {{name: db-storage, resourceType: RelationalDatabase, resources: [orders-db], metric: FreeStorageSpace, \
comparison: '<', threshold: 2000000000, severity: critical}}\n\
  - {{name: lb-5xx, resourceType: LoadBalancer, resources: [web-lb], metric: HTTPCode_LB_5XX_Count, \
comparison: '>', threshold: 10}}\n"
        ),
    );
    let out = check_json(&rules)
        .arg("--publish")
        .envs(fake.env())
        .envs(moto.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out)["published"], 2);
    let mut delivered = moto.receive_all(&queue);
    delivered.sort_by(|a, b| a.subject.cmp(&b.subject));
    assert_eq!(delivered.len(), 2, "{delivered:#?}");
    let db = &delivered[0];
    assert_eq!(
        db.subject.as_deref(),
        Some("[ALARM] db-storage: database orders-db FreeStorageSpace < 2000000000")
    );
    assert_eq!(db.attributes["resourceType"], "RelationalDatabase");
    assert_eq!(db.attributes["resource"], "orders-db");
    assert!(
        !db.attributes.contains_key("instance"),
        "{:?}",
        db.attributes
    );
    assert!(
        db.message.contains(
            "https://lightsail.aws.amazon.com/ls/webapp/us-east-1/databases/orders-db/metrics"
        ),
        "{}",
        db.message
    );
    assert!(
        db.message.contains("on database \"orders-db\""),
        "{}",
        db.message
    );
    let lb = &delivered[1];
    assert_eq!(
        lb.subject.as_deref(),
        Some("[ALARM] lb-5xx: load balancer web-lb HTTPCode_LB_5XX_Count > 10")
    );
    assert_eq!(lb.attributes["resourceType"], "LoadBalancer");
}
