//! The fleet as the AWS CLI prints it: the output of `aws lightsail get-instances` (and
//! of `get-relational-databases`, `get-load-balancers`, `get-distributions`,
//! `get-container-services`, `get-buckets`) pasted into a recording's `listings` as-is.
//!
//! Each element of `listings` is one such output: the member that holds its resources
//! (`instances`, `relationalDatabases`, ...) says their type, and every other member
//! (`nextPageToken`, `accountLevelBpaSync`, ...) and every field of a resource this does
//! not read (`arn`, `createdAt`, `blueprintId`, ...) is accepted and ignored, so the
//! output needs no editing. Of each resource it reads what a listing tells selection:
//! its name, its state in its type's shape, its tags and its region. Anything of those
//! that is there but not in the CLI's shape is refused with the path of the field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::RecordedResource;
use crate::domain::catalog::ResourceType;

/// The member of each listing's output that holds its resources, by type.
const MEMBERS: &[(&str, ResourceType)] = &[
    ("instances", ResourceType::Instance),
    ("relationalDatabases", ResourceType::RelationalDatabase),
    ("loadBalancers", ResourceType::LoadBalancer),
    ("distributions", ResourceType::Distribution),
    ("containerServices", ResourceType::ContainerService),
    ("buckets", ResourceType::Bucket),
];

/// The resources of every listing output, in order; an error names the field (such as
/// `listings[0].instances[2].state`) and what is allowed there.
pub(super) fn resources(listings: &[Value]) -> Result<Vec<RecordedResource>, String> {
    let mut resources = Vec::new();
    for (index, listing) in listings.iter().enumerate() {
        let at = format!("listings[{index}]");
        let Value::Object(output) = listing else {
            return Err(format!(
                "{at}: expected the JSON object an `aws lightsail get-*` listing prints, such \
                 as {{\"instances\": [...]}}; got {}",
                what(listing)
            ));
        };
        let mut found = false;
        for &(member, kind) in MEMBERS {
            let Some(items) = output.get(member) else {
                continue;
            };
            found = true;
            let at = format!("{at}.{member}");
            let Value::Array(items) = items else {
                return Err(format!(
                    "{at}: expected a list of {}s; got {}",
                    kind.noun(),
                    what(items)
                ));
            };
            for (position, item) in items.iter().enumerate() {
                resources.push(resource(kind, item, &format!("{at}[{position}]"))?);
            }
        }
        if !found {
            let members: Vec<&str> = MEMBERS.iter().map(|(member, _)| *member).collect();
            let keys: Vec<&str> = output.keys().map(String::as_str).collect();
            let got = if keys.is_empty() {
                "an empty object".to_owned()
            } else {
                format!("only {}", keys.join(", "))
            };
            return Err(format!(
                "{at}: no list of resources; allowed: the output of an `aws lightsail get-*` \
                 listing, with one of {}; got {got}",
                members.join(", ")
            ));
        }
    }
    Ok(resources)
}

/// One resource of a listing: its name, state, tags and region.
fn resource(kind: ResourceType, item: &Value, at: &str) -> Result<RecordedResource, String> {
    let Value::Object(item) = item else {
        return Err(format!(
            "{at}: expected a {} as the listing prints it (an object with its name); got {}",
            kind.noun(),
            what(item)
        ));
    };
    let name_field = match kind {
        ResourceType::ContainerService => "containerServiceName",
        _ => "name",
    };
    let name = match item.get(name_field) {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        Some(other) => {
            return Err(format!(
                "{at}.{name_field}: expected the {}'s name; got {}",
                kind.noun(),
                what(other)
            ));
        }
        None => {
            return Err(format!(
                "{at}: no `{name_field}`; every {} the listing prints has its name there",
                kind.noun()
            ));
        }
    };
    Ok(RecordedResource {
        resource_type: kind,
        name,
        region: region(item, at)?,
        state: state(kind, item, at)?,
        tags: tags(item, at)?,
    })
}

/// `location.regionName`; none when the listing leaves it out (then the resource is
/// listed in every region, as in `resources`).
fn region(item: &Map<String, Value>, at: &str) -> Result<Option<String>, String> {
    let location = match item.get("location") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(location)) => location,
        Some(other) => {
            return Err(format!(
                "{at}.location: expected an object such as {{\"availabilityZone\": \
                 \"us-east-1a\", \"regionName\": \"us-east-1\"}}; got {}",
                what(other)
            ));
        }
    };
    match location.get("regionName") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(region)) => Ok(Some(region.clone())),
        Some(other) => Err(format!(
            "{at}.location.regionName: expected a region name such as \"us-east-1\"; got {}",
            what(other)
        )),
    }
}

/// The state as the type's shape writes it: an instance's `state.name` (an
/// `InstanceState`), a database's, load balancer's or container service's `state` string.
/// Distributions and buckets have no state selection uses (a distribution's `status`, a
/// bucket's `state.code` are not read). None when the listing leaves it out.
fn state(
    kind: ResourceType,
    item: &Map<String, Value>,
    at: &str,
) -> Result<Option<String>, String> {
    let state = match item.get("state") {
        None | Some(Value::Null) => return Ok(None),
        Some(state) => state,
    };
    match kind {
        ResourceType::Distribution | ResourceType::Bucket => Ok(None),
        ResourceType::Instance => match state {
            Value::Object(state) => match state.get("name") {
                Some(Value::String(name)) => Ok(Some(name.clone())),
                Some(other) => Err(format!(
                    "{at}.state.name: expected an instance state such as \"running\"; got {}",
                    what(other)
                )),
                None => Err(format!(
                    "{at}.state: no `name`; an instance's state is an InstanceState such as \
                     {{\"code\": 16, \"name\": \"running\"}}"
                )),
            },
            other => Err(format!(
                "{at}.state: expected an InstanceState such as {{\"code\": 16, \"name\": \
                 \"running\"}}; got {}",
                what(other)
            )),
        },
        ResourceType::RelationalDatabase
        | ResourceType::LoadBalancer
        | ResourceType::ContainerService => match state {
            Value::String(state) => Ok(Some(state.clone())),
            other => Err(format!(
                "{at}.state: expected the {}'s state as a string, such as \"{}\"; got {}",
                kind.noun(),
                super::recording::usual_state(kind),
                what(other)
            )),
        },
    }
}

/// `tags: [{key, value}]`, a tag's value optional.
fn tags(item: &Map<String, Value>, at: &str) -> Result<BTreeMap<String, Option<String>>, String> {
    let tags = match item.get("tags") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(tags)) => tags,
        Some(other) => {
            return Err(format!(
                "{at}.tags: expected a list such as [{{\"key\": \"env\", \"value\": \
                 \"prod\"}}]; got {}",
                what(other)
            ));
        }
    };
    let mut read = BTreeMap::new();
    for (position, tag) in tags.iter().enumerate() {
        let at = format!("{at}.tags[{position}]");
        let Value::Object(tag) = tag else {
            return Err(format!(
                "{at}: expected a tag such as {{\"key\": \"env\", \"value\": \"prod\"}}; got {}",
                what(tag)
            ));
        };
        let key = match tag.get("key") {
            Some(Value::String(key)) => key.clone(),
            Some(other) => {
                return Err(format!("{at}.key: expected a string; got {}", what(other)));
            }
            None => return Err(format!("{at}: no `key`; every tag has one")),
        };
        let value = match tag.get("value") {
            None | Some(Value::Null) => None,
            Some(Value::String(value)) => Some(value.clone()),
            Some(other) => {
                return Err(format!(
                    "{at}.value: expected a string (or no value); got {}",
                    what(other)
                ));
            }
        };
        read.insert(key, value);
    }
    Ok(read)
}

/// A JSON value's kind, for messages (never the value itself: it may be large).
fn what(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::Recording;

    /// `aws lightsail get-instances` as AWS CLI v2 prints it (abridged to two
    /// instances; every member of the real output kept).
    const GET_INSTANCES: &str = r#"{
    "instances": [
        {
            "name": "web-1",
            "arn": "arn:aws:lightsail:eu-west-1:123456789012:Instance/6d4f43a5-29a8-4c0e-9e1a-0f5d0c2b7e11",
            "supportCode": "123456789012/i-0a1b2c3d4e5f67890",
            "createdAt": "2026-03-02T10:15:42.311000+00:00",
            "location": {
                "availabilityZone": "eu-west-1a",
                "regionName": "eu-west-1"
            },
            "resourceType": "Instance",
            "tags": [
                {
                    "key": "env",
                    "value": "prod"
                },
                {
                    "key": "backup"
                }
            ],
            "blueprintId": "ubuntu_22_04",
            "blueprintName": "Ubuntu",
            "bundleId": "small_3_0",
            "addOns": [
                {
                    "name": "AutoSnapshot",
                    "status": "Enabled",
                    "snapshotTimeOfDay": "06:00"
                }
            ],
            "isStaticIp": false,
            "privateIpAddress": "172.26.7.41",
            "publicIpAddress": "3.250.17.80",
            "ipv6Addresses": [
                "2a05:d018:1c5:8f00:4b2e:8a1d:90c3:77e2"
            ],
            "ipAddressType": "dualstack",
            "hardware": {
                "cpuCount": 2,
                "disks": [
                    {
                        "createdAt": "2026-03-02T10:15:42.311000+00:00",
                        "sizeInGb": 60,
                        "isSystemDisk": true,
                        "iops": 180,
                        "path": "/dev/xvda",
                        "attachedTo": "web-1",
                        "attachmentState": "attached"
                    }
                ],
                "ramSizeInGb": 2.0
            },
            "networking": {
                "monthlyTransfer": {
                    "gbPerMonthAllocated": 3072
                },
                "ports": [
                    {
                        "fromPort": 22,
                        "toPort": 22,
                        "protocol": "tcp",
                        "accessFrom": "Anywhere (0.0.0.0/0 and ::/0)",
                        "accessType": "public",
                        "commonName": "",
                        "accessDirection": "inbound",
                        "cidrs": ["0.0.0.0/0"],
                        "ipv6Cidrs": ["::/0"],
                        "cidrListAliases": []
                    }
                ]
            },
            "state": {
                "code": 16,
                "name": "running"
            },
            "username": "ubuntu",
            "sshKeyName": "LightsailDefaultKeyPair",
            "metadataOptions": {
                "state": "applied",
                "httpTokens": "required",
                "httpEndpoint": "enabled",
                "httpPutResponseHopLimit": 1,
                "httpProtocolIpv6": "disabled"
            }
        },
        {
            "name": "web-test-1",
            "arn": "arn:aws:lightsail:eu-west-1:123456789012:Instance/0c7e6a9e-5d1b-4a57-8f0c-3b9d2e4f6a10",
            "supportCode": "123456789012/i-0f9e8d7c6b5a43210",
            "createdAt": "2026-05-19T08:01:07.902000+00:00",
            "location": {
                "availabilityZone": "eu-west-1b",
                "regionName": "eu-west-1"
            },
            "resourceType": "Instance",
            "tags": [],
            "blueprintId": "amazon_linux_2023",
            "blueprintName": "Amazon Linux 2023",
            "bundleId": "nano_3_0",
            "isStaticIp": false,
            "privateIpAddress": "172.26.9.12",
            "ipAddressType": "ipv4",
            "hardware": {
                "cpuCount": 2,
                "disks": [],
                "ramSizeInGb": 0.5
            },
            "state": {
                "code": 80,
                "name": "stopped"
            },
            "username": "ec2-user",
            "sshKeyName": "LightsailDefaultKeyPair"
        }
    ]
}"#;

    fn listed(listings: &str) -> Result<Vec<RecordedResource>, String> {
        let text = format!(
            r#"{{"recordedAt": "2026-11-24T13:05:00Z", "series": [], "listings": {listings}}}"#
        );
        Recording::parse(&text, "rec.json")
            .map(|recording| recording.resources.unwrap_or_default())
            .map_err(|e| e.to_string())
    }

    fn one(
        kind: ResourceType,
        name: &str,
        region: &str,
        state: Option<&str>,
        tags: &[(&str, Option<&str>)],
    ) -> RecordedResource {
        RecordedResource {
            resource_type: kind,
            name: name.to_owned(),
            region: Some(region.to_owned()),
            state: state.map(str::to_owned),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                .collect(),
        }
    }

    #[test]
    fn get_instances_output_is_read_as_the_cli_prints_it() {
        let resources = listed(&format!("[{GET_INSTANCES}]")).unwrap();
        assert_eq!(
            resources,
            [
                one(
                    ResourceType::Instance,
                    "web-1",
                    "eu-west-1",
                    Some("running"),
                    &[("backup", None), ("env", Some("prod"))]
                ),
                one(
                    ResourceType::Instance,
                    "web-test-1",
                    "eu-west-1",
                    Some("stopped"),
                    &[]
                ),
            ]
        );
    }

    #[test]
    fn every_other_listing_is_read_in_its_types_shape() {
        let listings = r#"[
          {"relationalDatabases": [{
             "name": "orders-db", "arn": "arn:aws:lightsail:us-east-1:123456789012:RelationalDatabase/1f0d",
             "supportCode": "123456789012/ls-0d2c", "createdAt": "2025-12-01T09:00:00+00:00",
             "location": {"availabilityZone": "us-east-1a", "regionName": "us-east-1"},
             "resourceType": "RelationalDatabase", "tags": [{"key": "env", "value": "prod"}],
             "relationalDatabaseBlueprintId": "mysql_8_0", "relationalDatabaseBundleId": "micro_2_0",
             "masterDatabaseName": "orders", "hardware": {"cpuCount": 2, "diskSizeInGb": 40, "ramSizeInGb": 1.0},
             "state": "backing-up", "backupRetentionEnabled": true, "pendingModifiedValues": {},
             "engine": "mysql", "engineVersion": "8.0.40", "masterUsername": "dbmasteruser",
             "preferredBackupWindow": "06:30-07:00", "preferredMaintenanceWindow": "tue:08:00-tue:08:30",
             "publiclyAccessible": false,
             "masterEndpoint": {"port": 3306, "address": "ls-0d2c.cabc.us-east-1.rds.amazonaws.com"},
             "pendingMaintenanceActions": [], "caCertificateIdentifier": "rds-ca-rsa2048-g1"}]},
          {"loadBalancers": [{
             "name": "web-lb", "arn": "arn:aws:lightsail:us-east-1:123456789012:LoadBalancer/88aa",
             "supportCode": "123456789012/arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/88aa/77bb",
             "createdAt": "2025-11-03T12:00:00+00:00",
             "location": {"availabilityZone": "all", "regionName": "us-east-1"},
             "resourceType": "LoadBalancer", "tags": [],
             "dnsName": "88aa-1.us-east-1.elb.amazonaws.com", "state": "active", "protocol": "HTTP",
             "publicPorts": [80], "healthCheckPath": "/", "instancePort": 80,
             "instanceHealthSummary": [{"instanceName": "web-1", "instanceHealth": "healthy"}],
             "tlsCertificateSummaries": [], "configurationOptions": {"SessionStickinessEnabled": "false"},
             "ipAddressType": "dualstack", "httpsRedirectionEnabled": false, "tlsPolicyName": "TLS-2016-08"}],
           "nextPageToken": null},
          {"distributions": [{
             "name": "cdn", "arn": "arn:aws:lightsail:us-east-1:123456789012:Distribution/33cc",
             "supportCode": "123456789012/E1ABCDEF", "createdAt": "2025-10-10T10:10:10+00:00",
             "location": {"availabilityZone": "all", "regionName": "us-east-1"},
             "resourceType": "Distribution", "alternativeDomainNames": [], "status": "Deployed",
             "isEnabled": true, "domainName": "d1abcdef.cloudfront.net", "bundleId": "small_1_0",
             "origin": {"name": "web-1", "resourceType": "Instance", "regionName": "us-east-1", "protocolPolicy": "http-only"},
             "originPublicDNS": "ec2-3-1-2-3.compute-1.amazonaws.com",
             "defaultCacheBehavior": {"behavior": "cache"}, "cacheBehaviors": [],
             "ableToUpdateBundle": true, "ipAddressType": "dualstack", "tags": [],
             "viewerMinimumTlsProtocolVersion": "TLSv1.2_2021"}]},
          {"containerServices": [{
             "containerServiceName": "api", "arn": "arn:aws:lightsail:eu-west-1:123456789012:ContainerService/44dd",
             "createdAt": "2025-09-09T09:09:09+00:00",
             "location": {"availabilityZone": "all", "regionName": "eu-west-1"},
             "resourceType": "ContainerService", "tags": [{"key": "team", "value": "payments"}],
             "power": "nano", "powerId": "nano-1", "state": "DEPLOYING",
             "stateDetail": {"code": "ACTIVATING_DEPLOYMENT"}, "scale": 1,
             "isDisabled": false, "principalArn": "", "privateDomainName": "api.service.local",
             "publicDomainNames": {}, "url": "https://api.abc.eu-west-1.cs.amazonlightsail.com/",
             "privateRegistryAccess": {"ecrImagePullerRole": {"isActive": false, "principalArn": ""}}}]},
          {"buckets": [{
             "resourceType": "Bucket", "accessRules": {"getObject": "private", "allowPublicOverrides": false},
             "arn": "arn:aws:lightsail:eu-west-1:123456789012:Bucket/55ee", "bundleId": "small_1_0",
             "createdAt": "2025-08-08T08:08:08+00:00", "url": "https://assets.s3.eu-west-1.amazonaws.com/",
             "location": {"availabilityZone": "all", "regionName": "eu-west-1"},
             "name": "assets", "supportCode": "123456789012/55ee", "tags": [],
             "objectVersioning": "NeverEnabled", "ableToUpdateBundle": true,
             "readonlyAccessAccounts": [], "resourcesReceivingAccess": [],
             "state": {"code": "OK"}, "accessLogConfig": {"enabled": false}}],
           "accountLevelBpaSync": {"status": "InSync", "lastSyncedAt": "2026-11-24T12:00:00+00:00", "bpaImpactsLightsail": false}}
        ]"#;
        assert_eq!(
            listed(listings).unwrap(),
            [
                one(
                    ResourceType::RelationalDatabase,
                    "orders-db",
                    "us-east-1",
                    Some("backing-up"),
                    &[("env", Some("prod"))]
                ),
                one(
                    ResourceType::LoadBalancer,
                    "web-lb",
                    "us-east-1",
                    Some("active"),
                    &[]
                ),
                one(ResourceType::Distribution, "cdn", "us-east-1", None, &[]),
                one(
                    ResourceType::ContainerService,
                    "api",
                    "eu-west-1",
                    Some("DEPLOYING"),
                    &[("team", Some("payments"))]
                ),
                one(ResourceType::Bucket, "assets", "eu-west-1", None, &[]),
            ]
        );
    }

    #[test]
    fn listings_add_to_resources_and_are_listed_by_type_and_region() {
        use crate::ports::ResourceSource;
        let text = format!(
            r#"{{"recordingVersion": 1, "recordedAt": "2026-11-24T13:05:00Z", "series": [],
              "resources": [{{"name": "bastion", "region": "eu-west-1"}}],
              "listings": [{GET_INSTANCES}]}}"#
        );
        let recording = Recording::parse(&text, "rec.json").unwrap();
        let listed = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(recording.resources(ResourceType::Instance, "eu-west-1"))
            .unwrap();
        let names: Vec<(&str, &str)> = listed
            .iter()
            .map(|r| (r.name.as_str(), r.state.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("bastion", "running"),
                ("web-1", "running"),
                ("web-test-1", "stopped")
            ]
        );
    }

    #[test]
    fn a_field_not_in_the_clis_shape_is_refused_with_its_path() {
        let cases = [
            (
                r#"[{"instances": [{"name": "web-1", "state": "running"}]}]"#,
                "rec.json: listings[0].instances[0].state: expected an InstanceState such as {\"code\": 16, \"name\": \"running\"}; got a string",
            ),
            (
                r#"[{"instances": []}, {"relationalDatabases": [{"name": "db", "state": {"name": "available"}}]}]"#,
                "rec.json: listings[1].relationalDatabases[0].state: expected the database's state as a string, such as \"available\"; got an object",
            ),
            (
                r#"[{"containerServices": [{"name": "api", "state": "RUNNING"}]}]"#,
                "rec.json: listings[0].containerServices[0]: no `containerServiceName`; every container service the listing prints has its name there",
            ),
            (
                r#"[{"buckets": [{"name": "b", "tags": [{"value": "x"}]}]}]"#,
                "rec.json: listings[0].buckets[0].tags[0]: no `key`; every tag has one",
            ),
            (
                r#"[{"loadBalancers": [{"name": "lb", "location": {"regionName": 1}}]}]"#,
                "rec.json: listings[0].loadBalancers[0].location.regionName: expected a region name such as \"us-east-1\"; got a number",
            ),
            (
                r#"[{"instance": {"name": "web-1"}}]"#,
                "rec.json: listings[0]: no list of resources; allowed: the output of an `aws lightsail get-*` listing, with one of instances, relationalDatabases, loadBalancers, distributions, containerServices, buckets; got only instance",
            ),
            (
                r#"[{"distributions": {"name": "cdn"}}]"#,
                "rec.json: listings[0].distributions: expected a list of distributions; got an object",
            ),
            (
                r#"[[]]"#,
                "rec.json: listings[0]: expected the JSON object an `aws lightsail get-*` listing prints, such as {\"instances\": [...]}; got a list",
            ),
        ];
        for (listings, expected) in cases {
            assert_eq!(listed(listings).unwrap_err(), expected, "{listings}");
        }
    }
}
