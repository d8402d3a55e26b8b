//! What the fake saw: every request with its target, body, SigV4 scope, headers and answer, and counts over them.

use super::protocol::{Incoming, Reply, TARGET_PREFIX, resource_of};
use super::{DEFAULT_REGION, FakeLightsail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;

/// A request as the fake saw it, and what it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `X-Amz-Target`, e.g. `Lightsail_20161128.GetInstanceMetricData`.
    pub target: Option<String>,
    /// The JSON body (`Value::Null` when it did not parse).
    pub body: Value,
    /// The region of the SigV4 credential scope (`Credential=AKID/date/REGION/service/aws4_request`).
    pub region: Option<String>,
    /// The service of the SigV4 credential scope (`lightsail`).
    pub service: Option<String>,
    /// Every header, names lower-cased (e.g. `amz-sdk-request: attempt=2; max=5`).
    pub headers: BTreeMap<String, String>,
    /// The HTTP status the fake answered (for a call still held: will answer).
    pub status: u16,
    /// The error type answered (`__type`), if any.
    pub error: Option<String>,
    /// When the request reached the fake: the order of calls across resources and
    /// operations (which came before a deadline, how a client spaced its calls).
    pub arrived: Instant,
}

impl RecordedRequest {
    /// The operation: the target after its dot, e.g. `GetInstances`.
    pub fn operation(&self) -> Option<&str> {
        self.target.as_deref()?.split_once('.').map(|(_, op)| op)
    }

    /// The resource a metric call names, whatever its type's name member
    /// (`instanceName`, `bucketName`, `serviceName`, …); `None` for other operations.
    pub fn resource(&self) -> Option<&str> {
        resource_of(self.target.as_deref(), &self.body)
    }

    /// The resource a metric call names: [`resource`](Self::resource), by its older name.
    pub fn instance(&self) -> Option<&str> {
        self.resource()
    }

    /// The body's `metricName`.
    pub fn metric(&self) -> Option<&str> {
        self.body.get("metricName").and_then(Value::as_str)
    }

    /// The SDK's attempt number, from `amz-sdk-request: attempt=N; max=M`.
    pub fn attempt(&self) -> Option<u32> {
        let value = self.headers.get("amz-sdk-request")?;
        value
            .split(';')
            .find_map(|part| part.trim().strip_prefix("attempt="))
            .and_then(|n| n.parse().ok())
    }

    /// The region the fake served the request in: the credential scope's, else the default.
    fn served_region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }
}

impl RecordedRequest {
    pub(super) fn new(incoming: Incoming, reply: &Reply, arrived: Instant) -> RecordedRequest {
        let Incoming {
            target,
            body,
            region,
            service,
            headers,
        } = incoming;
        RecordedRequest {
            target,
            body,
            region,
            service,
            headers,
            status: reply.status,
            error: reply.error.map(str::to_owned),
            arrived,
        }
    }
}

impl FakeLightsail {
    /// How many requests came, of any operation and whatever the answer (throttled ones
    /// and retries included): with [`throttled`](Self::throttled), what a client's pace cost.
    pub fn attempts(&self) -> usize {
        self.lock().requests.len()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many metric calls named `name`, of any type, in any region (faulted ones and
    /// retries included).
    pub fn calls_for(&self, name: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.resource() == Some(name))
            .count()
    }

    /// How many requests for `operation` (`GetInstances`, `GetBucketMetricData`, …) came
    /// in `region` (a request without a credential scope counts as `us-east-1`), faulted
    /// ones and retries included.
    pub fn calls(&self, operation: &str, region: &str) -> usize {
        let target = format!("{TARGET_PREFIX}{operation}");
        self.lock()
            .requests
            .iter()
            .filter(|r| r.target.as_deref() == Some(target.as_str()) && r.served_region() == region)
            .count()
    }

    /// The most requests that were being answered at the same time (see [`delay`](Self::delay)).
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }
}
