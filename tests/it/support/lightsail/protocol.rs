//! Lightsail's awsJson1.1 wire: reading a request (target, body, SigV4 scope), dispatching it, and writing answers and errors as the real service does.
//!
//! - A request is `POST /` with `X-Amz-Target: Lightsail_20161128.<Operation>` and a JSON
//!   body; an unknown target is `UnknownOperationException`, HTTP 404 as AWS documents it,
//!   and a body that is not a JSON object is `SerializationException`, as is a `unit` sent
//!   to `GetContainerServiceMetricData`, whose input has no such member (a strictness of
//!   the fake's, which proves that a client sends none).
//! - A distribution operation outside `us-east-1`: HTTP 400 `InvalidInputException` with
//!   `code` `UnsupportedOperation` and a message in the form Lightsail gives for domains,
//!   its other us-east-1-only API.
//! - Errors of the Lightsail model carry `__type`, `code`, `docs`, `message` and `tip`;
//!   errors from AWS's front door (throttling, serialization) only `__type` and `message`.
//!   The `x-amzn-ErrorType` header names the error with the Coral namespace real services
//!   append, unless [`FakeLightsail::without_error_type_header`] turned it off: the body's
//!   `code` (`NotFound`) is then what the Rust SDK reads.
//! - Throttling: HTTP 400 `ThrottlingException` "Rate exceeded" (not 429), which the SDK's
//!   standard retry classifies as throttling. Server faults: HTTP 500 `ServiceException`.
//! - Numbers the service writes as Java doubles (timestamps, `createdAt`) take Java's
//!   exponent form, `1.7640003E9` (see [`java_double`]).

use super::resources::{self, Kind};
use super::{DEFAULT_REGION, FakeLightsail, State, fleet, metrics};
use crate::support::http::{Request, header, read_body};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What every Lightsail `X-Amz-Target` starts with; the operation follows.
pub(super) const TARGET_PREFIX: &str = "Lightsail_20161128.";

// The `X-Amz-Target` of each operation served: a metric operation and a listing per
// resource type (see [`super::resources`]).

/// The `X-Amz-Target` of instance metrics.
pub const GET_INSTANCE_METRIC_DATA: &str = "Lightsail_20161128.GetInstanceMetricData";
/// The `X-Amz-Target` of the instance listing.
pub const GET_INSTANCES: &str = "Lightsail_20161128.GetInstances";
/// The `X-Amz-Target` of database metrics.
pub const GET_RELATIONAL_DATABASE_METRIC_DATA: &str =
    "Lightsail_20161128.GetRelationalDatabaseMetricData";
/// The `X-Amz-Target` of the database listing.
pub const GET_RELATIONAL_DATABASES: &str = "Lightsail_20161128.GetRelationalDatabases";
/// The `X-Amz-Target` of load balancer metrics.
pub const GET_LOAD_BALANCER_METRIC_DATA: &str = "Lightsail_20161128.GetLoadBalancerMetricData";
/// The `X-Amz-Target` of the load balancer listing.
pub const GET_LOAD_BALANCERS: &str = "Lightsail_20161128.GetLoadBalancers";
/// The `X-Amz-Target` of distribution metrics (us-east-1 only).
pub const GET_DISTRIBUTION_METRIC_DATA: &str = "Lightsail_20161128.GetDistributionMetricData";
/// The `X-Amz-Target` of the distribution listing (us-east-1 only).
pub const GET_DISTRIBUTIONS: &str = "Lightsail_20161128.GetDistributions";
/// The `X-Amz-Target` of container service metrics (an input without `unit`).
pub const GET_CONTAINER_SERVICE_METRIC_DATA: &str =
    "Lightsail_20161128.GetContainerServiceMetricData";
/// The `X-Amz-Target` of the container service listing (not paged).
pub const GET_CONTAINER_SERVICES: &str = "Lightsail_20161128.GetContainerServices";
/// The `X-Amz-Target` of bucket metrics.
pub const GET_BUCKET_METRIC_DATA: &str = "Lightsail_20161128.GetBucketMetricData";
/// The `X-Amz-Target` of the bucket listing.
pub const GET_BUCKETS: &str = "Lightsail_20161128.GetBuckets";

const DOCS: &str = "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference";

impl FakeLightsail {
    /// Whether error answers carry the `x-amzn-ErrorType` header (default: yes). Without
    /// it the Rust SDK takes the code from the body, where Lightsail's `code` member
    /// (`NotFound`, `InvalidInput`, …) wins over `__type`: the SDK then reports an
    /// unmodeled error with code `NotFound` instead of a typed `NotFoundException`. Public
    /// reports of Lightsail clients getting the base exception for "not found" suggest the
    /// real service may answer that way, so the binary should handle both.
    pub fn without_error_type_header(&self) {
        self.lock().error_type_header = false;
    }
}

/// A request as read off the wire, before it is answered.
pub(super) struct Incoming {
    /// `X-Amz-Target`.
    pub target: Option<String>,
    /// The JSON body (`Value::Null` when it did not parse).
    pub body: Value,
    /// The region of the SigV4 credential scope.
    pub region: Option<String>,
    /// The service of the SigV4 credential scope.
    pub service: Option<String>,
    /// Every header, names lower-cased.
    pub headers: BTreeMap<String, String>,
}

impl Incoming {
    pub fn read(request: &mut Request) -> Incoming {
        let text = read_body(request);
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let target = header(request, "x-amz-target");
        let headers: BTreeMap<String, String> = request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect();
        let (region, service) = credential_scope(headers.get("authorization").map(String::as_str));
        Incoming {
            target,
            body,
            region,
            service,
            headers,
        }
    }

    /// The region the request is served in: the credential scope's, else the default.
    pub fn served_region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    /// The resource a metric call names (`None` for other operations).
    pub fn metric_resource(&self) -> Option<&str> {
        resource_of(self.target.as_deref(), &self.body)
    }
}

/// The resource a metric call with this target and body names, in its type's name member
/// (`instanceName`, `bucketName`, …); `None` for other operations.
pub(super) fn resource_of<'a>(target: Option<&str>, body: &'a Value) -> Option<&'a str> {
    let kind = resources::by_metric_target(target?)?;
    body.get(kind.name_field).and_then(Value::as_str)
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/lightsail/aws4_request, ...` ->
/// (`us-east-1`, `lightsail`).
fn credential_scope(authorization: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(credential) = authorization
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|rest| rest.split([',', ' ']).next())
    else {
        return (None, None);
    };
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [_, _, region, service, ..] => (Some((*region).to_owned()), Some((*service).to_owned())),
        _ => (None, None),
    }
}

/// An answer: status, error type (for the header), body.
pub(super) struct Reply {
    pub status: u16,
    pub error: Option<&'static str>,
    pub body: String,
}

impl Reply {
    pub fn ok(body: String) -> Reply {
        Reply {
            status: 200,
            error: None,
            body,
        }
    }

    /// The response headers: content type, a request id derived from the call number, and
    /// for an error `x-amzn-ErrorType` (when `with_error_type` is on).
    pub fn headers(&self, call: u64, with_error_type: bool) -> Vec<(&'static str, String)> {
        let request_id = format!("5f0c1a2b-{:04x}-4d3e-8f90-{call:012x}", call & 0xffff);
        let mut headers = vec![
            ("Content-Type", "application/x-amz-json-1.1".to_owned()),
            ("x-amzn-RequestId", request_id),
        ];
        if let (Some(error), true) = (self.error, with_error_type) {
            headers.push((
                "x-amzn-ErrorType",
                format!("{error}:{}", error_namespace(error)),
            ));
        }
        headers
    }
}

/// The Coral namespace suffix real services put after the code in `x-amzn-ErrorType`
/// (the SDK strips everything from the `:`).
fn error_namespace(error: &str) -> &'static str {
    match error {
        "ThrottlingException" => "http://internal.amazon.com/coral/com.amazon.coral.availability/",
        "UnknownOperationException" | "SerializationException" => {
            "http://internal.amazon.com/coral/com.amazon.coral.service/"
        }
        _ => "http://internal.amazon.com/coral/com.amazonaws.lightsail/",
    }
}

/// The operations served: of each resource type, its metrics and its listing.
enum Operation {
    Metrics(&'static Kind),
    Listing(&'static Kind),
}

impl Operation {
    fn of(target: &str) -> Option<Operation> {
        resources::by_metric_target(target)
            .map(Operation::Metrics)
            .or_else(|| resources::by_listing_target(target).map(Operation::Listing))
    }
}

/// The answer to one request: the operation from its target, the region's faults, the
/// input's form, then the operation itself (whose faults and checks come in
/// [`metrics`]' and [`fleet`]'s order).
pub(super) fn answer(state: &mut State, url: &str, incoming: &Incoming, call: u64) -> Reply {
    let target = incoming.target.as_deref();
    let operation = match target.and_then(Operation::of) {
        Some(operation) if url == "/" => operation,
        _ => {
            let message = format!(
                "Unknown operation {}",
                target.unwrap_or("(no X-Amz-Target)")
            );
            return plain_error(404, "UnknownOperationException", &message);
        }
    };
    let region = incoming.served_region();
    if let Some(reply) = state.region_fault(region) {
        return reply;
    }
    let Some(input) = incoming.body.as_object() else {
        return plain_error(
            400,
            "SerializationException",
            "Start of structure or map found where not expected.",
        );
    };
    match operation {
        Operation::Metrics(kind) => {
            // A member the input shape does not have: the front door cannot read it.
            if !kind.has_unit && input.contains_key("unit") {
                let message = format!(
                    "Unrecognized field \"unit\": {} has no unit member",
                    kind.metric_target.trim_start_matches(TARGET_PREFIX)
                );
                return plain_error(400, "SerializationException", &message);
            }
            metrics::get_metric_data(state, kind, region, input, call)
        }
        Operation::Listing(kind) => fleet::list(state, kind, region, input),
    }
}

/// The answer of a global type's operation called outside its home region, if it is.
pub(super) fn outside_home(kind: &Kind, region: &str) -> Option<Reply> {
    let message = kind.outside_home(region)?;
    Some(lightsail_error(
        400,
        "InvalidInputException",
        "UnsupportedOperation",
        &message,
    ))
}

/// A number as Java's `Double.toString` writes it at 10^7 and above, the form Lightsail's
/// timestamps take: shortest round-trip digits, at least one fraction digit, `E` exponent.
/// `1764000300.0` -> `1.7640003E9`, `1.0e9` -> `1.0E9`.
pub fn java_double(value: f64) -> String {
    let text = format!("{value:E}");
    match text.split_once('E') {
        Some((mantissa, exponent)) if !mantissa.contains('.') => format!("{mantissa}.0E{exponent}"),
        _ => text,
    }
}

/// An error of the Lightsail model: `__type`, `code`, `docs`, `message`, `tip`.
pub(super) fn lightsail_error(
    status: u16,
    error: &'static str,
    code: &str,
    message: &str,
) -> Reply {
    let body = json!({
        "__type": error,
        "code": code,
        "docs": DOCS,
        "message": message,
        "tip": "Check the request and try again.",
    });
    Reply {
        status,
        error: Some(error),
        body: body.to_string(),
    }
}

/// HTTP 400 `NotFoundException` for `name`, a resource of `kind` unknown in the region.
pub(super) fn not_found(kind: &Kind, name: &str) -> Reply {
    let message = format!("The {} does not exist: {name}", kind.resource_type);
    lightsail_error(400, "NotFoundException", "NotFound", &message)
}

/// HTTP 400 `InvalidInputException` with Lightsail's members.
pub(super) fn invalid_input(message: &str) -> Reply {
    lightsail_error(400, "InvalidInputException", "InvalidInput", message)
}

/// How AWS's front door refuses a call over the rate: HTTP 400 (not 429)
/// `ThrottlingException`, a code the SDK's retry classifier counts as throttling.
pub(super) fn rate_exceeded() -> Reply {
    plain_error(400, "ThrottlingException", "Rate exceeded")
}

/// An error from AWS's front door, outside the Lightsail model: `__type` and `message`.
pub(super) fn plain_error(status: u16, error: &'static str, message: &str) -> Reply {
    Reply {
        status,
        error: Some(error),
        body: json!({ "__type": error, "message": message }).to_string(),
    }
}
