//! The vocabulary shared by rules and evaluation: Lightsail's metric catalog (units,
//! native periods, default statistics) and the alarm words of Lightsail's PutAlarm.
//!
//! Every name here is spelled exactly as the Lightsail API and CloudWatch spell it, so
//! operators can reuse what they know, and so parse errors can list the allowed values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that is not one of a closed set of names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}; allowed: {allowed}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub allowed: String,
}

/// Declares a closed set of API names once: the enum, its spelling, parsing with an
/// error that lists the allowed values, `Display`, and serde in both directions.
macro_rules! api_names {
    (
        $(#[$meta:meta])*
        $kind:literal, $ty:ident { $($variant:ident = $name:literal $(| $alias:literal)*),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty { $($variant),+ }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// The allowed spellings, for error messages.
            pub fn allowed() -> String {
                let names: &[&str] = &[$($name $(, $alias)*),+];
                names.join(", ")
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($name $(| $alias)* => Ok($ty::$variant),)+
                    _ => Err(UnknownName { kind: $kind, value: s.to_owned(), allowed: Self::allowed() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

api_names! {
    /// A kind of Lightsail resource a rule watches, spelled as Lightsail's `ResourceType`
    /// (SPEC §11). Each has its own metric and listing operations and its own catalog.
    "resourceType", ResourceType {
        Instance = "Instance",
        RelationalDatabase = "RelationalDatabase",
        LoadBalancer = "LoadBalancer",
        Distribution = "Distribution",
        ContainerService = "ContainerService",
        Bucket = "Bucket",
    }
}

api_names! {
    /// A metric Lightsail publishes for some resource type; which type publishes which is
    /// [`ResourceType::metric`]. `CPUUtilization` is published by three types, with the
    /// same unit and default statistic. The instance `Disk*` metrics describe the
    /// instance's system disk only, not attached disks.
    "metric", MetricName {
        // Instance
        CpuUtilization = "CPUUtilization",
        BurstCapacityPercentage = "BurstCapacityPercentage",
        BurstCapacityTime = "BurstCapacityTime",
        NetworkIn = "NetworkIn",
        NetworkOut = "NetworkOut",
        StatusCheckFailed = "StatusCheckFailed",
        StatusCheckFailedInstance = "StatusCheckFailed_Instance",
        StatusCheckFailedSystem = "StatusCheckFailed_System",
        MetadataNoToken = "MetadataNoToken",
        DiskReadOps = "DiskReadOps",
        DiskWriteOps = "DiskWriteOps",
        DiskReadBytes = "DiskReadBytes",
        DiskWriteBytes = "DiskWriteBytes",
        DiskTotalReadTime = "DiskTotalReadTime",
        DiskTotalWriteTime = "DiskTotalWriteTime",
        DiskQueueLength = "DiskQueueLength",
        // RelationalDatabase (and CPUUtilization)
        DatabaseConnections = "DatabaseConnections",
        DiskQueueDepth = "DiskQueueDepth",
        FreeStorageSpace = "FreeStorageSpace",
        NetworkReceiveThroughput = "NetworkReceiveThroughput",
        NetworkTransmitThroughput = "NetworkTransmitThroughput",
        // LoadBalancer
        HealthyHostCount = "HealthyHostCount",
        UnhealthyHostCount = "UnhealthyHostCount",
        InstanceResponseTime = "InstanceResponseTime",
        ClientTlsNegotiationErrorCount = "ClientTLSNegotiationErrorCount",
        RejectedConnectionCount = "RejectedConnectionCount",
        RequestCount = "RequestCount",
        HttpCodeLb4xxCount = "HTTPCode_LB_4XX_Count",
        HttpCodeLb5xxCount = "HTTPCode_LB_5XX_Count",
        HttpCodeInstance2xxCount = "HTTPCode_Instance_2XX_Count",
        HttpCodeInstance3xxCount = "HTTPCode_Instance_3XX_Count",
        HttpCodeInstance4xxCount = "HTTPCode_Instance_4XX_Count",
        HttpCodeInstance5xxCount = "HTTPCode_Instance_5XX_Count",
        // Distribution
        Requests = "Requests",
        BytesDownloaded = "BytesDownloaded",
        BytesUploaded = "BytesUploaded",
        TotalErrorRate = "TotalErrorRate",
        Http4xxErrorRate = "Http4xxErrorRate",
        Http5xxErrorRate = "Http5xxErrorRate",
        WafAllowedRequests = "WafAllowedRequests",
        WafBlockedRequests = "WafBlockedRequests",
        // ContainerService (and CPUUtilization)
        MemoryUtilization = "MemoryUtilization",
        // Bucket
        BucketSizeBytes = "BucketSizeBytes",
        NumberOfObjects = "NumberOfObjects",
    }
}

api_names! {
    /// A statistic of Lightsail's `Get*MetricData` operations.
    "statistic", Statistic {
        Minimum = "Minimum",
        Maximum = "Maximum",
        Sum = "Sum",
        Average = "Average",
        SampleCount = "SampleCount",
    }
}

api_names! {
    /// The units Lightsail publishes metrics in. Lightsail accepts many more in a
    /// request, but answers any other unit with no data at all, so no other is useful.
    "unit", Unit {
        Percent = "Percent",
        Seconds = "Seconds",
        Bytes = "Bytes",
        Count = "Count",
        BytesPerSecond = "Bytes/Second",
        None = "None",
    }
}

api_names! {
    /// How a datapoint is compared with the threshold (PutAlarm's `comparisonOperator`).
    "comparison", Comparison {
        GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold" | ">=",
        GreaterThanThreshold = "GreaterThanThreshold" | ">",
        LessThanThreshold = "LessThanThreshold" | "<",
        LessThanOrEqualToThreshold = "LessThanOrEqualToThreshold" | "<=",
    }
}

api_names! {
    /// How periods without a datapoint are treated (PutAlarm's `treatMissingData`).
    "treatMissingData", TreatMissingData {
        Missing = "missing",
        Ignore = "ignore",
        Breaching = "breaching",
        NotBreaching = "notBreaching",
    }
}

api_names! {
    /// How urgent an alert is; sent as the `severity` message attribute for routing.
    "severity", Severity {
        Critical = "critical",
        Warning = "warning",
        Info = "info",
    }
}

api_names! {
    /// How an alert is rendered for one topic (SPEC §9): `text` for people, `json` for
    /// machines (the versioned alert document), `chat` for Amazon Q Developer in chat
    /// applications (Slack, Microsoft Teams).
    "format", Format {
        Text = "text",
        Json = "json",
        Chat = "chat",
    }
}

/// What the catalog says of one metric of one resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// The only unit Lightsail returns data in for this metric.
    pub unit: Unit,
    /// The statistic a rule uses when it names none.
    pub statistic: Statistic,
    /// Seconds between datapoints as Lightsail stores them; a rule's period must be a
    /// multiple of it.
    pub native_period: u32,
    /// The period a rule uses when it names none: the native period, or 300 s where AWS
    /// documents no native period (load balancers, distributions).
    pub default_period: u32,
    /// The statistics a rule may use: every one, except for the load balancer's request
    /// and HTTP code counts, whose Minimum, Maximum and Average are always 1.
    pub statistics: &'static [Statistic],
}

const EVERY_STATISTIC: &[Statistic] = &[
    Statistic::Minimum,
    Statistic::Maximum,
    Statistic::Sum,
    Statistic::Average,
    Statistic::SampleCount,
];
const COUNTS_ONLY: &[Statistic] = &[Statistic::Sum, Statistic::SampleCount];

/// Why [`MetricInfo::statistics`] leaves some statistics out, for validation messages.
pub const COUNTS_ONLY_WHY: &str =
    "Lightsail returns 1 for this load balancer count's Minimum, Maximum and Average";

impl ResourceType {
    /// What the catalog says of `metric` for this type, or `None` when this type does not
    /// publish it (SPEC §2 for instances, §11 for the others, each checked against the
    /// `aws-sdk-lightsail` documentation of the type's `Get*MetricData`).
    pub fn metric(self, metric: MetricName) -> Option<MetricInfo> {
        use MetricName::*;
        use ResourceType as T;
        use Statistic::{Average, Maximum, Sum};
        use Unit::{Bytes, BytesPerSecond, Count, Percent, Seconds};
        let (unit, statistic, native_period) = match (self, metric) {
            (T::Instance, CpuUtilization | BurstCapacityPercentage) => (Percent, Average, 300),
            (T::Instance, BurstCapacityTime) => (Seconds, Average, 300),
            (T::Instance, NetworkIn | NetworkOut) => (Bytes, Sum, 300),
            (
                T::Instance,
                StatusCheckFailed | StatusCheckFailedInstance | StatusCheckFailedSystem,
            ) => (Count, Sum, 60),
            (T::Instance, MetadataNoToken | DiskReadOps | DiskWriteOps) => (Count, Sum, 300),
            (T::Instance, DiskReadBytes | DiskWriteBytes) => (Bytes, Sum, 300),
            (T::Instance, DiskTotalReadTime | DiskTotalWriteTime) => (Seconds, Average, 300),
            (T::Instance, DiskQueueLength) => (Count, Average, 300),

            (T::RelationalDatabase, CpuUtilization) => (Percent, Average, 60),
            (T::RelationalDatabase, DatabaseConnections) => (Count, Maximum, 60),
            (T::RelationalDatabase, DiskQueueDepth) => (Count, Sum, 60),
            (T::RelationalDatabase, FreeStorageSpace) => (Bytes, Sum, 60),
            (T::RelationalDatabase, NetworkReceiveThroughput | NetworkTransmitThroughput) => {
                (BytesPerSecond, Average, 60)
            }

            (T::LoadBalancer, HealthyHostCount | UnhealthyHostCount) => (Count, Average, 60),
            (T::LoadBalancer, InstanceResponseTime) => (Seconds, Average, 60),
            (T::LoadBalancer, ClientTlsNegotiationErrorCount | RejectedConnectionCount) => {
                (Count, Sum, 60)
            }
            // The API reference: "Note that Minimum, Maximum, and Average all return 1".
            (
                T::LoadBalancer,
                RequestCount
                | HttpCodeLb4xxCount
                | HttpCodeLb5xxCount
                | HttpCodeInstance2xxCount
                | HttpCodeInstance3xxCount
                | HttpCodeInstance4xxCount
                | HttpCodeInstance5xxCount,
            ) => {
                return Some(MetricInfo {
                    unit: Count,
                    statistic: Sum,
                    native_period: 60,
                    default_period: 300,
                    statistics: COUNTS_ONLY,
                });
            }

            (
                T::Distribution,
                Requests | BytesDownloaded | BytesUploaded | WafAllowedRequests
                | WafBlockedRequests,
            ) => (Unit::None, Sum, 60),
            (T::Distribution, TotalErrorRate | Http4xxErrorRate | Http5xxErrorRate) => {
                (Percent, Average, 60)
            }

            (T::ContainerService, CpuUtilization | MemoryUtilization) => (Percent, Average, 300),

            (T::Bucket, BucketSizeBytes) => (Bytes, Maximum, 86_400),
            (T::Bucket, NumberOfObjects) => (Count, Average, 86_400),
            _ => return None,
        };
        let default_period = match self {
            // AWS documents no storage resolution for these: any multiple of a minute is
            // accepted, and five minutes is what Lightsail's own graphs and alarms use.
            T::LoadBalancer | T::Distribution => 300,
            _ => native_period,
        };
        Some(MetricInfo {
            unit,
            statistic,
            native_period,
            default_period,
            statistics: EVERY_STATISTIC,
        })
    }

    /// Every metric this type publishes, in catalog order.
    pub fn metrics(self) -> impl Iterator<Item = MetricName> {
        MetricName::ALL
            .iter()
            .copied()
            .filter(move |m| self.metric(*m).is_some())
    }

    /// The types that publish `metric`.
    pub fn publishing(metric: MetricName) -> impl Iterator<Item = ResourceType> {
        ResourceType::ALL
            .iter()
            .copied()
            .filter(move |t| t.metric(metric).is_some())
    }

    /// The resource in words: "instance", "database", ...
    pub fn noun(self) -> &'static str {
        match self {
            ResourceType::Instance => "instance",
            ResourceType::RelationalDatabase => "database",
            ResourceType::LoadBalancer => "load balancer",
            ResourceType::Distribution => "distribution",
            ResourceType::ContainerService => "container service",
            ResourceType::Bucket => "bucket",
        }
    }

    /// The operation that returns this type's datapoints.
    pub fn metric_operation(self) -> &'static str {
        match self {
            ResourceType::Instance => "GetInstanceMetricData",
            ResourceType::RelationalDatabase => "GetRelationalDatabaseMetricData",
            ResourceType::LoadBalancer => "GetLoadBalancerMetricData",
            ResourceType::Distribution => "GetDistributionMetricData",
            ResourceType::ContainerService => "GetContainerServiceMetricData",
            ResourceType::Bucket => "GetBucketMetricData",
        }
    }

    /// The operation that lists this type's resources in a region.
    pub fn listing_operation(self) -> &'static str {
        match self {
            ResourceType::Instance => "GetInstances",
            ResourceType::RelationalDatabase => "GetRelationalDatabases",
            ResourceType::LoadBalancer => "GetLoadBalancers",
            ResourceType::Distribution => "GetDistributions",
            ResourceType::ContainerService => "GetContainerServices",
            ResourceType::Bucket => "GetBuckets",
        }
    }

    /// The states `states:` may name, for the types that report one; `None` for
    /// distributions and buckets, which have no state worth selecting by.
    pub fn states(self) -> Option<&'static [&'static str]> {
        match self {
            ResourceType::Instance => Some(INSTANCE_STATES),
            ResourceType::RelationalDatabase => Some(DATABASE_STATES),
            ResourceType::LoadBalancer => Some(LOAD_BALANCER_STATES),
            ResourceType::ContainerService => Some(CONTAINER_SERVICE_STATES),
            ResourceType::Distribution | ResourceType::Bucket => None,
        }
    }

    /// The one region whose endpoint serves this type, for global resources:
    /// distributions are called in us-east-1 whatever region a rule names.
    pub fn global_region(self) -> Option<&'static str> {
        match self {
            ResourceType::Distribution => Some("us-east-1"),
            _ => None,
        }
    }
}

/// Instance states: what `GetInstances` reports in `state.name`.
pub const INSTANCE_STATES: &[&str] = &[
    "pending",
    "running",
    "starting",
    "rebooting",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
];

/// Database states: `GetRelationalDatabases` reports `state` as free text, which AWS does
/// not enumerate for Lightsail; these are the DB instance statuses of Amazon RDS, which
/// Lightsail databases run on (README, "Databases").
pub const DATABASE_STATES: &[&str] = &[
    "available",
    "backing-up",
    "creating",
    "deleting",
    "failed",
    "maintenance",
    "modifying",
    "rebooting",
    "starting",
    "stopped",
    "stopping",
    "storage-full",
    "upgrading",
];

/// Load balancer states: the SDK's `LoadBalancerState`.
pub const LOAD_BALANCER_STATES: &[&str] = &[
    "active",
    "active_impaired",
    "failed",
    "provisioning",
    "unknown",
];

/// Container service states: the SDK's `ContainerServiceState`.
pub const CONTAINER_SERVICE_STATES: &[&str] = &[
    "PENDING",
    "READY",
    "RUNNING",
    "UPDATING",
    "DELETING",
    "DISABLED",
    "DEPLOYING",
];

/// The shortest periods and the longest range Lightsail serves.
pub const MIN_PERIOD: u32 = 60;
pub const MAX_PERIOD: u32 = 86_400;
/// `evaluationPeriods * period` may not exceed one day, as in PutAlarm.
pub const MAX_EVALUATION_SECONDS: u32 = 86_400;
/// At most this many datapoints come back from one `Get*MetricData` call.
pub const MAX_DATAPOINTS_PER_CALL: u32 = 1_440;

impl Comparison {
    /// The symbol used in alert subjects.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => ">=",
            Comparison::GreaterThanThreshold => ">",
            Comparison::LessThanThreshold => "<",
            Comparison::LessThanOrEqualToThreshold => "<=",
        }
    }

    /// The words CloudWatch uses in a state reason ("were less than the threshold").
    pub fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Comparison::GreaterThanThreshold => "greater than",
            Comparison::LessThanThreshold => "less than",
            Comparison::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }

    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_api_spelling() {
        for m in MetricName::ALL {
            assert_eq!(m.as_str().parse::<MetricName>().unwrap(), *m);
        }
        assert_eq!(
            "StatusCheckFailed_Instance".parse::<MetricName>().unwrap(),
            MetricName::StatusCheckFailedInstance
        );
        assert_eq!(
            "<=".parse::<Comparison>().unwrap(),
            Comparison::LessThanOrEqualToThreshold
        );
    }

    #[test]
    fn unknown_names_list_what_is_allowed() {
        let err = "Mean".parse::<Statistic>().unwrap_err().to_string();
        assert_eq!(
            err,
            "`Mean` is not a valid statistic; allowed: Minimum, Maximum, Sum, Average, SampleCount"
        );
        let err = "Missing"
            .parse::<TreatMissingData>()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allowed: missing, ignore, breaching, notBreaching"),
            "{err}"
        );
    }

    #[test]
    fn catalog_matches_the_lightsail_reference() {
        let status = ResourceType::Instance
            .metric(MetricName::StatusCheckFailedSystem)
            .unwrap();
        assert_eq!(
            (status.unit, status.statistic, status.native_period),
            (Unit::Count, Statistic::Sum, 60)
        );
        let net = ResourceType::Instance
            .metric(MetricName::NetworkOut)
            .unwrap();
        assert_eq!(
            (net.unit, net.statistic, net.native_period),
            (Unit::Bytes, Statistic::Sum, 300)
        );
        let burst = ResourceType::Instance
            .metric(MetricName::BurstCapacityTime)
            .unwrap();
        assert_eq!(
            (burst.unit, burst.statistic),
            (Unit::Seconds, Statistic::Average)
        );
        // The system disk's metrics (SPEC §2).
        #[rustfmt::skip]
        let disk = [
            ("DiskReadOps", Unit::Count, Statistic::Sum),
            ("DiskWriteOps", Unit::Count, Statistic::Sum),
            ("DiskReadBytes", Unit::Bytes, Statistic::Sum),
            ("DiskWriteBytes", Unit::Bytes, Statistic::Sum),
            ("DiskTotalReadTime", Unit::Seconds, Statistic::Average),
            ("DiskTotalWriteTime", Unit::Seconds, Statistic::Average),
            ("DiskQueueLength", Unit::Count, Statistic::Average),
        ];
        for (name, unit, statistic) in disk {
            let info = ResourceType::Instance
                .metric(name.parse::<MetricName>().unwrap())
                .unwrap();
            assert_eq!(
                (info.unit, info.statistic, info.native_period),
                (unit, statistic, 300),
                "{name}"
            );
        }
        assert_eq!(ResourceType::Instance.metrics().count(), 16);
    }

    #[test]
    fn every_type_has_the_catalog_of_spec_11() {
        use ResourceType as T;
        #[rustfmt::skip]
        let rows: &[(T, &str, Unit, Statistic, u32, u32)] = &[
            (T::RelationalDatabase, "CPUUtilization", Unit::Percent, Statistic::Average, 60, 60),
            (T::RelationalDatabase, "DatabaseConnections", Unit::Count, Statistic::Maximum, 60, 60),
            (T::RelationalDatabase, "DiskQueueDepth", Unit::Count, Statistic::Sum, 60, 60),
            (T::RelationalDatabase, "FreeStorageSpace", Unit::Bytes, Statistic::Sum, 60, 60),
            (T::RelationalDatabase, "NetworkReceiveThroughput", Unit::BytesPerSecond, Statistic::Average, 60, 60),
            (T::LoadBalancer, "HealthyHostCount", Unit::Count, Statistic::Average, 60, 300),
            (T::LoadBalancer, "InstanceResponseTime", Unit::Seconds, Statistic::Average, 60, 300),
            (T::LoadBalancer, "HTTPCode_LB_5XX_Count", Unit::Count, Statistic::Sum, 60, 300),
            (T::Distribution, "Requests", Unit::None, Statistic::Sum, 60, 300),
            (T::Distribution, "Http5xxErrorRate", Unit::Percent, Statistic::Average, 60, 300),
            (T::ContainerService, "MemoryUtilization", Unit::Percent, Statistic::Average, 300, 300),
            (T::Bucket, "BucketSizeBytes", Unit::Bytes, Statistic::Maximum, 86_400, 86_400),
            (T::Bucket, "NumberOfObjects", Unit::Count, Statistic::Average, 86_400, 86_400),
        ];
        for &(kind, name, unit, statistic, native, default) in rows {
            let info = kind.metric(name.parse().unwrap()).unwrap();
            assert_eq!(
                (
                    info.unit,
                    info.statistic,
                    info.native_period,
                    info.default_period
                ),
                (unit, statistic, native, default),
                "{kind} {name}"
            );
        }
        let counts: Vec<MetricName> = T::LoadBalancer
            .metrics()
            .filter(|m| T::LoadBalancer.metric(*m).unwrap().statistics == COUNTS_ONLY)
            .collect();
        assert_eq!(counts.len(), 7, "{counts:?}");
        assert!(
            counts
                .iter()
                .all(|m| m.as_str().starts_with("HTTPCode_") || *m == MetricName::RequestCount)
        );
        let tls = T::LoadBalancer
            .metric(MetricName::ClientTlsNegotiationErrorCount)
            .unwrap();
        assert_eq!((tls.statistic, tls.statistics.len()), (Statistic::Sum, 5));
        let sizes: Vec<usize> = T::ALL.iter().map(|t| t.metrics().count()).collect();
        assert_eq!(sizes, [16, 6, 12, 8, 2, 2]);
        // The undocumented database metrics are left out; the API's spelling is the one.
        assert!("FreeableMemory".parse::<MetricName>().is_err());
        assert!("4xxErrorRate".parse::<MetricName>().is_err());
        assert!(T::Distribution.metric(MetricName::CpuUtilization).is_none());
    }

    #[test]
    fn comparisons_breach_on_the_right_side_of_the_threshold() {
        assert!(Comparison::GreaterThanOrEqualToThreshold.breaches(80.0, 80.0));
        assert!(!Comparison::GreaterThanThreshold.breaches(80.0, 80.0));
        assert!(Comparison::LessThanThreshold.breaches(19.9, 20.0));
        assert!(!Comparison::LessThanThreshold.breaches(20.0, 20.0));
        assert!(Comparison::LessThanOrEqualToThreshold.breaches(20.0, 20.0));
    }
}
