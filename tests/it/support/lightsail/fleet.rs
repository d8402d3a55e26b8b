//! The fake's fleets: instances per region with state and tags, how tests shape them, and `GetInstances` paging them.
//!
//! `GetInstances` pages the region's instances in creation order (not by name, so a client
//! cannot lean on an order), [`DEFAULT_PAGE_SIZE`] per page. Each instance carries the
//! members of Lightsail's `Instance` shape that matter here (name, ARN, support code,
//! `createdAt` in Java's double form, location, tags, blueprint, bundle, addresses,
//! hardware, state with its code, username, key pair), with made-up but well-formed
//! values; a public address only while `pending` or `running`. `nextPageToken` is opaque
//! (hex of region and offset) and absent on the last page; a token this fake did not hand
//! out, or handed out for another region, is HTTP 400 `InvalidInputException`. A fleet
//! that changes between pages is continued by offset, as a paginated API may do.

use super::metrics::Series;
use super::protocol::{Reply, invalid_input, java_double};
use super::{DEFAULT_REGION, FakeLightsail, State, splitmix64};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Instances per `GetInstances` page unless [`FakeLightsail::page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 3;

/// The account in ARNs and support codes (moto's default account too).
const ACCOUNT: &str = "123456789012";

/// `createdAt` of instance serial 0, epoch seconds (2023-11-14T22:13:20.25Z); each later
/// instance was created a day after the one before.
const CREATED_EPOCH: f64 = 1_700_000_000.25;

/// One instance of one region: what `GetInstances` says of it, and its stored metrics.
pub(super) struct Instance {
    pub region: String,
    pub name: String,
    /// The state's name (`running`, `stopped`, …).
    pub state: String,
    /// Lightsail tags: a key and an optional value, in the order given.
    pub tags: Vec<(String, Option<String>)>,
    /// Creation number (1, 2, …), from which its ARN, addresses and `createdAt` derive, so
    /// an instance removed and created again is a new resource.
    pub serial: u64,
    /// metric -> stored series.
    pub metrics: BTreeMap<String, Series>,
}

impl State {
    pub(super) fn instance(&self, region: &str, name: &str) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.region == region && i.name == name)
    }

    /// The instance, created `running` without tags (at the end of the order) if needed.
    pub(super) fn instance_or_create(&mut self, region: &str, name: &str) -> &mut Instance {
        let found = self
            .instances
            .iter()
            .position(|i| i.region == region && i.name == name);
        let index = match found {
            Some(index) => index,
            None => {
                self.created += 1;
                self.instances.push(Instance {
                    region: region.to_owned(),
                    name: name.to_owned(),
                    state: "running".to_owned(),
                    tags: Vec::new(),
                    serial: self.created,
                    metrics: BTreeMap::new(),
                });
                self.instances.len() - 1
            }
        };
        &mut self.instances[index]
    }

    /// A token for the page of `region` starting at `offset`: opaque (hex of both), and
    /// remembered, so that only tokens this fake handed out are accepted.
    fn page_token(&mut self, region: &str, offset: usize) -> String {
        let token: String = format!("{region}/{offset}")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.page_tokens
            .insert(token.clone(), (region.to_owned(), offset));
        token
    }
}

impl FakeLightsail {
    /// Makes `name` exist in `us-east-1` (running, no tags), with no data yet.
    pub fn add_instance(&self, name: &str) {
        self.lock().instance_or_create(DEFAULT_REGION, name);
    }

    /// Creates `name` in `region`, or replaces its state and tags (keeping its metrics and
    /// its place in the order). `state` is a Lightsail state name (`running`, `stopped`,
    /// `pending`, …); a tag is a key and an optional value.
    pub fn put_instance(
        &self,
        region: &str,
        name: &str,
        state: &str,
        tags: &[(&str, Option<&str>)],
    ) {
        let mut fleet = self.lock();
        let instance = fleet.instance_or_create(region, name);
        instance.state = state.to_owned();
        instance.tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect();
    }

    /// Deletes `name` from `region`, with its metrics: from then on it is `NotFoundException`.
    pub fn remove_instance(&self, region: &str, name: &str) {
        let mut state = self.lock();
        let before = state.instances.len();
        state
            .instances
            .retain(|i| !(i.region == region && i.name == name));
        assert!(
            state.instances.len() < before,
            "remove_instance: there is no {name} in {region}"
        );
    }

    /// How many instances each `GetInstances` page holds (default 3, so that paging
    /// happens in most tests).
    pub fn page_size(&self, n: usize) {
        assert!(n > 0, "a page holds at least one instance");
        self.lock().page_size = n;
    }
}

/// One page of the region's instances, in creation order, from the offset the token names.
pub(super) fn get_instances(state: &mut State, region: &str, input: &Map<String, Value>) -> Reply {
    let offset = match input.get("pageToken") {
        None | Some(Value::Null) => 0,
        Some(token) => match token.as_str().and_then(|t| state.page_tokens.get(t)) {
            Some((issuer, offset)) if issuer == region => *offset,
            _ => {
                let message = format!("The pageToken is not valid: {token}");
                return invalid_input(&message);
            }
        },
    };
    let fleet: Vec<&Instance> = state
        .instances
        .iter()
        .filter(|i| i.region == region)
        .collect();
    // The fleet may have shrunk since the token was handed out: go on from the same offset.
    let start = offset.min(fleet.len());
    let end = (start + state.page_size).min(fleet.len());
    let page: Vec<String> = fleet[start..end].iter().map(|i| i.render()).collect();
    let mut body = format!("{{\"instances\":[{}]", page.join(","));
    if end < fleet.len() {
        let token = state.page_token(region, end);
        body.push_str(&format!(",\"nextPageToken\":{}", Value::from(token)));
    }
    body.push('}');
    Reply::ok(body)
}

impl Instance {
    /// The instance as `GetInstances` describes it, with made-up but well-formed values
    /// (a nano Ubuntu instance) derived from its serial.
    fn render(&self) -> String {
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
        let mut instance = json!({
            "name": self.name,
            "arn": format!("arn:aws:lightsail:{}:{ACCOUNT}:Instance/{uuid}", self.region),
            "supportCode": format!("{ACCOUNT}/i-0{:016x}", random()),
            "location": {
                "availabilityZone": format!("{}a", self.region),
                "regionName": self.region,
            },
            "resourceType": "Instance",
            "tags": tags,
            "blueprintId": "ubuntu_22_04",
            "blueprintName": "Ubuntu",
            "bundleId": "nano_3_0",
            "isStaticIp": false,
            "privateIpAddress": format!("172.26.{}.{}", self.serial / 250 % 256, self.serial % 250 + 2),
            "hardware": { "cpuCount": 2, "ramSizeInGb": 0.5, "disks": [] },
            "state": { "code": state_code(&self.state), "name": self.state },
            "username": "ubuntu",
            "sshKeyName": "LightsailDefaultKeyPair",
        });
        // A stopped instance gives its dynamic public address back.
        if matches!(self.state.as_str(), "pending" | "running") {
            let [_, x, y, z, ..] = random().to_be_bytes();
            instance["publicIpAddress"] = json!(format!("3.{x}.{y}.{z}"));
        }
        // serde_json cannot write Java's double form, so `createdAt` goes in by hand.
        let created_at = CREATED_EPOCH + self.serial as f64 * 86_400.0;
        let rest = instance.to_string();
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
