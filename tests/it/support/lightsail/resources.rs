//! The resource types the fake serves, as one table: for each, its metric operation and listing operation, the wire names they use, how its state is written, and its quirks.
//!
//! Everything that differs between types by name only (targets, members, defaults,
//! whether the listing pages, whether the metric input has a `unit`, a home region) is a
//! column here; the rest of the fake reads the row of a request's operation. Only what a
//! listing item says beyond the common members (its type's details) is written per type,
//! in [`super::fleet`].
//!
//! Wire names are those of `aws-sdk-lightsail` 1.135's schemas (`operation/*/_*_input.rs`,
//! `types/_*.rs`), which is what the product's client sends and reads.

use super::protocol::{
    GET_BUCKET_METRIC_DATA, GET_BUCKETS, GET_CONTAINER_SERVICE_METRIC_DATA, GET_CONTAINER_SERVICES,
    GET_DISTRIBUTION_METRIC_DATA, GET_DISTRIBUTIONS, GET_INSTANCE_METRIC_DATA, GET_INSTANCES,
    GET_LOAD_BALANCER_METRIC_DATA, GET_LOAD_BALANCERS, GET_RELATIONAL_DATABASE_METRIC_DATA,
    GET_RELATIONAL_DATABASES,
};

/// How a listing item carries its type's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StateShape {
    /// `"state": {"code": 16, "name": "running"}` (`InstanceState`).
    InstanceState,
    /// `"state": "available"`: a plain string (databases, load balancers, container services).
    Text,
    /// `"status": "Deployed"` (distributions; `isEnabled` beside it).
    Status,
    /// `"state": {"code": "OK"}` (`BucketState`).
    Code,
}

/// One resource type: a row of [`KINDS`].
#[derive(Debug)]
pub(super) struct Kind {
    /// Lightsail's `ResourceType`, which the test API names types by: `Instance`, ….
    pub resource_type: &'static str,
    /// `X-Amz-Target` of the metric operation.
    pub metric_target: &'static str,
    /// The member of the metric input naming the resource (`instanceName`, `serviceName`, …).
    pub name_field: &'static str,
    /// Whether the metric input has a `unit` member. Without one (container services) the
    /// data is not filtered by unit, and a request that sends one is malformed.
    pub has_unit: bool,
    /// The metric names the type's `…MetricName` enum allows.
    pub metric_names: &'static [&'static str],
    /// `X-Amz-Target` of the listing operation.
    pub listing_target: &'static str,
    /// The member of the listing output holding the items (`instances`, `buckets`, …).
    pub list_field: &'static str,
    /// The member of a listing item naming the resource (`name`; `containerServiceName`).
    pub item_name_field: &'static str,
    /// An optional member of the listing input that asks for one resource by name
    /// (`bucketName`, `distributionName`, `serviceName`).
    pub listing_filter: Option<&'static str>,
    /// Whether the listing pages (`pageToken` / `nextPageToken`); otherwise one answer.
    pub paged: bool,
    pub state_shape: StateShape,
    /// The state of a resource no test gave one: the type's usual healthy value.
    pub healthy: &'static str,
    /// The only region the type's operations answer in (global resources), if any.
    pub home_region: Option<&'static str>,
}

const INSTANCE_METRICS: &[&str] = &[
    "BurstCapacityPercentage",
    "BurstCapacityTime",
    "CPUUtilization",
    "DiskQueueLength",
    "DiskReadBytes",
    "DiskReadOps",
    "DiskTotalReadTime",
    "DiskTotalWriteTime",
    "DiskWriteBytes",
    "DiskWriteOps",
    "MetadataNoToken",
    "NetworkIn",
    "NetworkOut",
    "StatusCheckFailed",
    "StatusCheckFailed_Instance",
    "StatusCheckFailed_System",
];

const DATABASE_METRICS: &[&str] = &[
    "CPUUtilization",
    "DatabaseConnections",
    "DiskQueueDepth",
    "FreeStorageSpace",
    "FreeableMemory",
    "NetworkReceiveThroughput",
    "NetworkTransmitThroughput",
    "SwapUsage",
];

const LOAD_BALANCER_METRICS: &[&str] = &[
    "ClientTLSNegotiationErrorCount",
    "HTTPCode_Instance_2XX_Count",
    "HTTPCode_Instance_3XX_Count",
    "HTTPCode_Instance_4XX_Count",
    "HTTPCode_Instance_5XX_Count",
    "HTTPCode_LB_4XX_Count",
    "HTTPCode_LB_5XX_Count",
    "HealthyHostCount",
    "InstanceResponseTime",
    "RejectedConnectionCount",
    "RequestCount",
    "UnhealthyHostCount",
];

const DISTRIBUTION_METRICS: &[&str] = &[
    "BytesDownloaded",
    "BytesUploaded",
    "Http4xxErrorRate",
    "Http5xxErrorRate",
    "Requests",
    "TotalErrorRate",
    "WafAllowedRequests",
    "WafBlockedRequests",
];

const CONTAINER_SERVICE_METRICS: &[&str] = &["CPUUtilization", "MemoryUtilization"];

const BUCKET_METRICS: &[&str] = &["BucketSizeBytes", "NumberOfObjects"];

/// Distributions are global: Lightsail serves them in this region only.
pub(super) const DISTRIBUTION_REGION: &str = "us-east-1";

/// Every resource type served, in the order [`super::RESOURCE_TYPES`] lists them.
pub(super) const KINDS: &[Kind] = &[
    Kind {
        resource_type: "Instance",
        metric_target: GET_INSTANCE_METRIC_DATA,
        name_field: "instanceName",
        has_unit: true,
        metric_names: INSTANCE_METRICS,
        listing_target: GET_INSTANCES,
        list_field: "instances",
        item_name_field: "name",
        listing_filter: None,
        paged: true,
        state_shape: StateShape::InstanceState,
        healthy: "running",
        home_region: None,
    },
    Kind {
        resource_type: "RelationalDatabase",
        metric_target: GET_RELATIONAL_DATABASE_METRIC_DATA,
        name_field: "relationalDatabaseName",
        has_unit: true,
        metric_names: DATABASE_METRICS,
        listing_target: GET_RELATIONAL_DATABASES,
        list_field: "relationalDatabases",
        item_name_field: "name",
        listing_filter: None,
        paged: true,
        state_shape: StateShape::Text,
        healthy: "available",
        home_region: None,
    },
    Kind {
        resource_type: "LoadBalancer",
        metric_target: GET_LOAD_BALANCER_METRIC_DATA,
        name_field: "loadBalancerName",
        has_unit: true,
        metric_names: LOAD_BALANCER_METRICS,
        listing_target: GET_LOAD_BALANCERS,
        list_field: "loadBalancers",
        item_name_field: "name",
        listing_filter: None,
        paged: true,
        state_shape: StateShape::Text,
        healthy: "active",
        home_region: None,
    },
    Kind {
        resource_type: "Distribution",
        metric_target: GET_DISTRIBUTION_METRIC_DATA,
        name_field: "distributionName",
        has_unit: true,
        metric_names: DISTRIBUTION_METRICS,
        listing_target: GET_DISTRIBUTIONS,
        list_field: "distributions",
        item_name_field: "name",
        listing_filter: Some("distributionName"),
        paged: true,
        state_shape: StateShape::Status,
        healthy: "Deployed",
        home_region: Some(DISTRIBUTION_REGION),
    },
    Kind {
        resource_type: "ContainerService",
        metric_target: GET_CONTAINER_SERVICE_METRIC_DATA,
        name_field: "serviceName",
        has_unit: false,
        metric_names: CONTAINER_SERVICE_METRICS,
        listing_target: GET_CONTAINER_SERVICES,
        list_field: "containerServices",
        item_name_field: "containerServiceName",
        listing_filter: Some("serviceName"),
        paged: false,
        state_shape: StateShape::Text,
        healthy: "RUNNING",
        home_region: None,
    },
    Kind {
        resource_type: "Bucket",
        metric_target: GET_BUCKET_METRIC_DATA,
        name_field: "bucketName",
        has_unit: true,
        metric_names: BUCKET_METRICS,
        listing_target: GET_BUCKETS,
        list_field: "buckets",
        item_name_field: "name",
        listing_filter: Some("bucketName"),
        paged: true,
        state_shape: StateShape::Code,
        healthy: "OK",
        home_region: None,
    },
];

/// The row of `Instance`, which the instance methods of the test API mean.
pub(super) fn instance_kind() -> &'static Kind {
    &KINDS[0]
}

/// The row of a `ResourceType` a test names; any other name is a mistake in the test.
pub(super) fn kind(resource_type: &str) -> &'static Kind {
    KINDS
        .iter()
        .find(|k| k.resource_type == resource_type)
        .unwrap_or_else(|| {
            let known: Vec<&str> = KINDS.iter().map(|k| k.resource_type).collect();
            panic!(
                "no resource type {resource_type:?}: the fake serves {}",
                known.join(", ")
            )
        })
}

/// The row whose metric operation `target` is.
pub(super) fn by_metric_target(target: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.metric_target == target)
}

/// The row whose listing operation `target` is.
pub(super) fn by_listing_target(target: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.listing_target == target)
}

impl Kind {
    /// The 400 `InvalidInputException` of a request for a global type made in another
    /// region, if this is one.
    pub fn outside_home(&self, region: &str) -> Option<String> {
        let home = self.home_region?;
        (region != home).then(|| {
            // The form of the message Lightsail gives for domains, the other us-east-1-only
            // API ("Domain-related APIs are only available in the us-east-1 Region. Please
            // set your Region configuration to us-east-1 to create, view, or edit these
            // resources.", reported with `code` UnsupportedOperation).
            format!(
                "{}-related APIs are only available in the {home} Region. Please set your \
                 Region configuration to {home} to create, view, or edit these resources.",
                self.resource_type
            )
        })
    }
}
