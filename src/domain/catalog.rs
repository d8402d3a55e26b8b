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
    /// A metric `GetInstanceMetricData` publishes for an instance. The `Disk*` metrics
    /// describe the instance's system disk only, not attached disks.
    "metric", MetricName {
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
    }
}

api_names! {
    /// A statistic of `GetInstanceMetricData`.
    "statistic", Statistic {
        Minimum = "Minimum",
        Maximum = "Maximum",
        Sum = "Sum",
        Average = "Average",
        SampleCount = "SampleCount",
    }
}

api_names! {
    /// The units Lightsail publishes instance metrics in. Lightsail accepts many more in
    /// a request, but answers any other unit with no data at all, so no other is useful.
    "unit", Unit {
        Percent = "Percent",
        Seconds = "Seconds",
        Bytes = "Bytes",
        Count = "Count",
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

/// What the catalog says of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// The only unit Lightsail returns data in for this metric.
    pub unit: Unit,
    /// The statistic a rule uses when it names none.
    pub statistic: Statistic,
    /// Seconds between datapoints as Lightsail stores them; a rule's period must be a
    /// multiple of it.
    pub native_period: u32,
}

impl MetricName {
    pub fn info(self) -> MetricInfo {
        use MetricName::*;
        let (unit, statistic, native_period) = match self {
            CpuUtilization | BurstCapacityPercentage => (Unit::Percent, Statistic::Average, 300),
            BurstCapacityTime => (Unit::Seconds, Statistic::Average, 300),
            NetworkIn | NetworkOut => (Unit::Bytes, Statistic::Sum, 300),
            StatusCheckFailed | StatusCheckFailedInstance | StatusCheckFailedSystem => {
                (Unit::Count, Statistic::Sum, 60)
            }
            MetadataNoToken | DiskReadOps | DiskWriteOps => (Unit::Count, Statistic::Sum, 300),
            DiskReadBytes | DiskWriteBytes => (Unit::Bytes, Statistic::Sum, 300),
            DiskTotalReadTime | DiskTotalWriteTime => (Unit::Seconds, Statistic::Average, 300),
            DiskQueueLength => (Unit::Count, Statistic::Average, 300),
        };
        MetricInfo {
            unit,
            statistic,
            native_period,
        }
    }
}

/// The shortest periods and the longest range Lightsail serves.
pub const MIN_PERIOD: u32 = 60;
pub const MAX_PERIOD: u32 = 86_400;
/// `evaluationPeriods * period` may not exceed one day, as in PutAlarm.
pub const MAX_EVALUATION_SECONDS: u32 = 86_400;
/// At most this many datapoints come back from one `GetInstanceMetricData` call.
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
        let status = MetricName::StatusCheckFailedSystem.info();
        assert_eq!(
            (status.unit, status.statistic, status.native_period),
            (Unit::Count, Statistic::Sum, 60)
        );
        let net = MetricName::NetworkOut.info();
        assert_eq!(
            (net.unit, net.statistic, net.native_period),
            (Unit::Bytes, Statistic::Sum, 300)
        );
        let burst = MetricName::BurstCapacityTime.info();
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
            let info = name.parse::<MetricName>().unwrap().info();
            assert_eq!(
                (info.unit, info.statistic, info.native_period),
                (unit, statistic, 300),
                "{name}"
            );
        }
        assert_eq!(MetricName::ALL.len(), 16);
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
