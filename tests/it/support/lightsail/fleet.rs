//! The fake's resources: every type's resources per region with state and tags, how tests shape them, and the listings (`GetInstances`, `GetBuckets`, …) paging them.
//!
//! A listing gives the region's resources of its type in creation order (not by name, so
//! a client cannot lean on an order), [`DEFAULT_PAGE_SIZE`] per page, except
//! `GetContainerServices`, which has no paging and answers everything at once. Each item
//! carries the members of its Lightsail shape that matter here: its name (`name`, or
//! `containerServiceName`), ARN, `createdAt` in Java's double form, location, resource
//! type, tags, and its state as the shape writes it (`state: {code, name}` for instances,
//! a plain `state` for databases, load balancers and container services, `status` and
//! `isEnabled` for distributions, `state: {code}` for buckets); then made-up but
//! well-formed details of its type (an instance's blueprint, bundle, addresses and
//! hardware, with a public address only while `pending` or `running`; a database's
//! engine and endpoint; …). Zonal resources (instances, databases) are in zone
//! `<region>a`, the others in `all`.
//!
//! `nextPageToken` is opaque (hex of type, region and offset) and absent on the last
//! page; a token this fake did not hand out, or handed out for another region or
//! listing, is HTTP 400 `InvalidInputException`. A fleet that changes between pages is
//! continued by offset, as a paginated API may do. The listings that can name one
//! resource (`bucketName`, `distributionName`, `serviceName`) answer it alone, or
//! `NotFoundException`.

use super::metrics::Series;
use super::protocol::{Reply, invalid_input, java_double, not_found, outside_home};
use super::resources::{Kind, StateShape, instance_kind, kind};
use super::{DEFAULT_REGION, FakeLightsail, State, splitmix64};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Resources per listing page unless [`FakeLightsail::page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 3;

/// The account in ARNs and support codes (moto's default account too).
const ACCOUNT: &str = "123456789012";

/// `createdAt` of resource serial 0, epoch seconds (2023-11-14T22:13:20.25Z); each later
/// resource was created a day after the one before.
const CREATED_EPOCH: f64 = 1_700_000_000.25;

/// One resource of one type in one region: what its listing says of it, and its stored
/// metrics.
pub(super) struct Resource {
    pub kind: &'static Kind,
    pub region: String,
    pub name: String,
    /// The state's value in the type's terms (`running`, `available`, `Deployed`, `OK`, …).
    pub state: String,
    /// Lightsail tags: a key and an optional value, in the order given.
    pub tags: Vec<(String, Option<String>)>,
    /// A distribution's `isEnabled` (true unless a test turned it off).
    pub enabled: bool,
    /// Creation number (1, 2, …), from which its ARN, addresses and `createdAt` derive, so
    /// a resource removed and created again is a new resource.
    pub serial: u64,
    /// metric -> stored series.
    pub metrics: BTreeMap<String, Series>,
}

impl Resource {
    fn is(&self, kind: &Kind, region: &str, name: &str) -> bool {
        std::ptr::eq(self.kind, kind) && self.region == region && self.name == name
    }
}

impl State {
    pub(super) fn resource(&self, kind: &Kind, region: &str, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.is(kind, region, name))
    }

    /// The resource, created in the type's healthy state without tags (at the end of the
    /// order) if needed.
    pub(super) fn resource_or_create(
        &mut self,
        kind: &'static Kind,
        region: &str,
        name: &str,
    ) -> &mut Resource {
        if let Some(home) = kind.home_region {
            assert_eq!(
                region, home,
                "a {} lives in {home}, not {region}",
                kind.resource_type
            );
        }
        let found = self.resources.iter().position(|r| r.is(kind, region, name));
        let index = match found {
            Some(index) => index,
            None => {
                self.created += 1;
                self.resources.push(Resource {
                    kind,
                    region: region.to_owned(),
                    name: name.to_owned(),
                    state: kind.healthy.to_owned(),
                    tags: Vec::new(),
                    enabled: true,
                    serial: self.created,
                    metrics: BTreeMap::new(),
                });
                self.resources.len() - 1
            }
        };
        &mut self.resources[index]
    }

    /// A token for the page of `kind`'s listing in `region` starting at `offset`: opaque
    /// (hex of all three), and remembered, so that only tokens this fake handed out are
    /// accepted, and each only by the listing and region it came from.
    fn page_token(&mut self, kind: &'static Kind, region: &str, offset: usize) -> String {
        let token: String = format!("{}/{region}/{offset}", kind.resource_type)
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.page_tokens.insert(
            token.clone(),
            (kind.resource_type, region.to_owned(), offset),
        );
        token
    }
}

impl FakeLightsail {
    /// Creates `name`, a `resource_type` (Lightsail's `ResourceType`: `Instance`,
    /// `RelationalDatabase`, `LoadBalancer`, `Distribution`, `ContainerService`,
    /// `Bucket`) in `region`, or replaces its state and tags, keeping its metrics and its
    /// place in the order. `state` is the type's state value (a bucket's `state.code`, a
    /// distribution's `status`); `None` is the type's usual healthy one (`running`,
    /// `available`, `active`, `Deployed`, `RUNNING`, `OK`). A tag is a key and an optional
    /// value. Distributions live in `us-east-1` only.
    pub fn put_resource(
        &self,
        resource_type: &str,
        region: &str,
        name: &str,
        state: Option<&str>,
        tags: &[(&str, Option<&str>)],
    ) {
        let kind = kind(resource_type);
        let mut fleet = self.lock();
        let resource = fleet.resource_or_create(kind, region, name);
        resource.state = state.unwrap_or(kind.healthy).to_owned();
        resource.tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect();
    }

    /// Deletes `name`, a `resource_type`, from `region`, with its metrics: from then on it
    /// is `NotFoundException`. Other types' resources of that name stay.
    pub fn remove_resource(&self, resource_type: &str, region: &str, name: &str) {
        let kind = kind(resource_type);
        let mut state = self.lock();
        let before = state.resources.len();
        state.resources.retain(|r| !r.is(kind, region, name));
        assert!(
            state.resources.len() < before,
            "remove_resource: there is no {resource_type} {name} in {region}"
        );
    }

    /// Sets the `isEnabled` of distribution `name` (in `us-east-1`, created if needed):
    /// a disabled distribution keeps its `status` (`Deployed`), as Lightsail's do.
    pub fn set_distribution_enabled(&self, name: &str, enabled: bool) {
        let kind = kind("Distribution");
        let mut state = self.lock();
        let home = kind.home_region.unwrap_or(DEFAULT_REGION);
        state.resource_or_create(kind, home, name).enabled = enabled;
    }

    /// Makes instance `name` exist in `us-east-1` (running, no tags), with no data yet.
    pub fn add_instance(&self, name: &str) {
        self.lock()
            .resource_or_create(instance_kind(), DEFAULT_REGION, name);
    }

    /// Creates instance `name` in `region`, or replaces its state and tags (keeping its
    /// metrics and its place in the order). `state` is a Lightsail state name (`running`,
    /// `stopped`, `pending`, …); a tag is a key and an optional value.
    pub fn put_instance(
        &self,
        region: &str,
        name: &str,
        state: &str,
        tags: &[(&str, Option<&str>)],
    ) {
        self.put_resource("Instance", region, name, Some(state), tags);
    }

    /// Deletes instance `name` from `region`, with its metrics: from then on it is
    /// `NotFoundException`.
    pub fn remove_instance(&self, region: &str, name: &str) {
        self.remove_resource("Instance", region, name);
    }

    /// How many resources each listing page holds (default 3, so that paging happens in
    /// most tests), for every paged listing.
    pub fn page_size(&self, n: usize) {
        assert!(n > 0, "a page holds at least one resource");
        self.lock().page_size = n;
    }
}

/// The answer of `kind`'s listing in `region`: the resource the input names, or one page
/// of the region's resources of the type, in creation order, from the offset the token
/// names (all of them for a listing without pages).
pub(super) fn list(
    state: &mut State,
    kind: &'static Kind,
    region: &str,
    input: &Map<String, Value>,
) -> Reply {
    if let Some(reply) = outside_home(kind, region) {
        return reply;
    }
    let wanted = kind.listing_filter.and_then(|field| {
        input
            .get(field)
            .filter(|v| !v.is_null())
            .map(|v| (field, v))
    });
    if let Some((field, wanted)) = wanted {
        let Some(name) = wanted.as_str() else {
            return invalid_input(&format!("{field} must be a string"));
        };
        return match state.resource(kind, region, name) {
            Some(resource) => Reply::ok(page_body(kind, &[resource.render()], None)),
            None => not_found(kind, name),
        };
    }

    let offset = if kind.paged {
        match input.get("pageToken") {
            None | Some(Value::Null) => 0,
            Some(token) => match token.as_str().and_then(|t| state.page_tokens.get(t)) {
                Some((issuer_type, issuer_region, offset))
                    if *issuer_type == kind.resource_type && issuer_region == region =>
                {
                    *offset
                }
                _ => {
                    let message = format!("The pageToken is not valid: {token}");
                    return invalid_input(&message);
                }
            },
        }
    } else {
        0
    };
    let (page, end, total) = {
        let fleet: Vec<&Resource> = state
            .resources
            .iter()
            .filter(|r| std::ptr::eq(r.kind, kind) && r.region == region)
            .collect();
        // The fleet may have shrunk since the token was handed out: go on from the same offset.
        let start = offset.min(fleet.len());
        let end = if kind.paged {
            (start + state.page_size).min(fleet.len())
        } else {
            fleet.len()
        };
        let page: Vec<String> = fleet[start..end].iter().map(|r| r.render()).collect();
        (page, end, fleet.len())
    };
    let token = (end < total).then(|| state.page_token(kind, region, end));
    Reply::ok(page_body(kind, &page, token.as_deref()))
}

/// `{"<list field>":[items…],"nextPageToken":…}`, the items already written.
fn page_body(kind: &Kind, items: &[String], token: Option<&str>) -> String {
    let mut body = format!("{{\"{}\":[{}]", kind.list_field, items.join(","));
    if let Some(token) = token {
        body.push_str(&format!(",\"nextPageToken\":{}", Value::from(token)));
    }
    body.push('}');
    body
}

impl Resource {
    /// The resource as its listing describes it: the members every type has, its state
    /// as its shape writes it, and its type's details, with made-up but well-formed
    /// values derived from its serial.
    fn render(&self) -> String {
        let kind = self.kind;
        let (region, name) = (self.region.as_str(), self.name.as_str());
        let mut seed = self.serial;
        let mut random = || splitmix64(&mut seed);
        let (a, b) = (random(), random());
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        );
        let tags: Vec<Value> = self
            .tags
            .iter()
            .map(|(k, v)| match v {
                Some(v) => json!({ "key": k, "value": v }),
                None => json!({ "key": k }),
            })
            .collect();
        // Zonal resources sit in one zone; the others are regional (or global).
        let zone = match kind.resource_type {
            "Instance" | "RelationalDatabase" => format!("{region}a"),
            _ => "all".to_owned(),
        };
        let mut item = json!({
            (kind.item_name_field): name,
            "arn": format!("arn:aws:lightsail:{region}:{ACCOUNT}:{}/{uuid}", kind.resource_type),
            "location": { "availabilityZone": zone, "regionName": region },
            "resourceType": kind.resource_type,
            "tags": tags,
        });
        let state = self.state.as_str();
        match kind.state_shape {
            StateShape::InstanceState => {
                item["state"] = json!({ "code": state_code(state), "name": state });
            }
            StateShape::Text => item["state"] = json!(state),
            StateShape::Status => {
                item["status"] = json!(state);
                item["isEnabled"] = json!(self.enabled);
            }
            StateShape::Code => item["state"] = json!({ "code": state }),
        }
        let hex = random();
        let details = match kind.resource_type {
            "Instance" => {
                let mut details = json!({
                    "supportCode": format!("{ACCOUNT}/i-0{hex:016x}"),
                    "blueprintId": "ubuntu_22_04",
                    "blueprintName": "Ubuntu",
                    "bundleId": "nano_3_0",
                    "isStaticIp": false,
                    "privateIpAddress": format!("172.26.{}.{}", self.serial / 250 % 256, self.serial % 250 + 2),
                    "hardware": { "cpuCount": 2, "ramSizeInGb": 0.5, "disks": [] },
                    "username": "ubuntu",
                    "sshKeyName": "LightsailDefaultKeyPair",
                });
                // A stopped instance gives its dynamic public address back.
                if matches!(state, "pending" | "running") {
                    let [_, x, y, z, ..] = random().to_be_bytes();
                    details["publicIpAddress"] = json!(format!("3.{x}.{y}.{z}"));
                }
                details
            }
            "RelationalDatabase" => json!({
                "supportCode": format!("{ACCOUNT}/ls-{hex:016x}"),
                "relationalDatabaseBlueprintId": "mysql_8_0",
                "relationalDatabaseBundleId": "micro_2_0",
                "masterDatabaseName": "dbmaster",
                "hardware": { "cpuCount": 2, "diskSizeInGb": 40, "ramSizeInGb": 1.0 },
                "backupRetentionEnabled": true,
                "pendingModifiedValues": {},
                "engine": "mysql",
                "engineVersion": "8.0.40",
                "masterUsername": "dbmasteruser",
                "preferredBackupWindow": "06:30-07:00",
                "preferredMaintenanceWindow": "tue:08:00-tue:08:30",
                "publiclyAccessible": false,
                "masterEndpoint": {
                    "port": 3306,
                    "address": format!("ls-{hex:016x}.c{:08x}.{region}.rds.amazonaws.com", a >> 32),
                },
                "pendingMaintenanceActions": [],
            }),
            "LoadBalancer" => json!({
                "supportCode": format!(
                    "{ACCOUNT}/arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{hex:016x}/{:016x}",
                    b
                ),
                "dnsName": format!("{hex:016x}{:016x}-{}.{region}.elb.amazonaws.com", a, a % 1_000_000_000),
                "protocol": "HTTP",
                "publicPorts": [80],
                "healthCheckPath": "/",
                "instancePort": 80,
                "instanceHealthSummary": [],
                "tlsCertificateSummaries": [],
                "configurationOptions": { "SessionStickinessEnabled": "false" },
                "ipAddressType": "dualstack",
                "httpsRedirectionEnabled": false,
            }),
            "Distribution" => json!({
                "supportCode": format!("{ACCOUNT}/E{:013X}", hex >> 12),
                "alternativeDomainNames": [],
                "domainName": format!("d{:013x}.cloudfront.net", hex >> 12),
                "bundleId": "small_1_0",
                "origin": {
                    "name": format!("{name}-origin"),
                    "resourceType": "Instance",
                    "regionName": DEFAULT_REGION,
                    "protocolPolicy": "http-only",
                },
                "originPublicDNS": format!("ec2-3-{}-{}-{}.compute-1.amazonaws.com", hex % 256, (hex >> 8) % 256, (hex >> 16) % 256),
                "defaultCacheBehavior": { "behavior": "cache" },
                "cacheBehaviors": [],
                "ableToUpdateBundle": true,
                "ipAddressType": "dualstack",
                "viewerMinimumTlsProtocolVersion": "TLSv1.2_2021",
            }),
            "ContainerService" => json!({
                "power": "nano",
                "powerId": "nano-1",
                "scale": 1,
                "isDisabled": state == "DISABLED",
                "principalArn": format!("arn:aws:iam::{ACCOUNT}:role/amazon/lightsail/{region}/containers/{name}/{hex:016x}"),
                "privateDomainName": format!("{name}.service.local"),
                "publicDomainNames": {},
                "url": format!("https://{name}.{:013x}.{region}.cs.amazonlightsail.com/", hex >> 12),
            }),
            "Bucket" => json!({
                "supportCode": format!("{ACCOUNT}/{hex:016x}"),
                "bundleId": "small_1_0",
                "url": format!("https://{name}.s3.{region}.amazonaws.com/"),
                "objectVersioning": "NeverEnabled",
                "ableToUpdateBundle": true,
                "accessRules": { "getObject": "private", "allowPublicOverrides": false },
                "readonlyAccessAccounts": [],
                "resourcesReceivingAccess": [],
                "accessLogConfig": { "enabled": false },
            }),
            other => unreachable!("no details for resource type {other}"),
        };
        if let (Value::Object(item), Value::Object(details)) = (&mut item, details) {
            item.extend(details);
        }
        // serde_json cannot write Java's double form, so `createdAt` goes in by hand.
        let created_at = CREATED_EPOCH + self.serial as f64 * 86_400.0;
        let rest = item.to_string();
        format!("{{\"createdAt\":{},{}", java_double(created_at), &rest[1..])
    }
}

/// Lightsail's `InstanceState.code` for a state name (0 for names it has no code for).
fn state_code(state: &str) -> u8 {
    match state {
        "running" => 16,
        "shutting-down" => 32,
        "terminated" => 48,
        "stopping" => 64,
        "stopped" => 80,
        _ => 0,
    }
}
