//! The validated rule model: a `RuleSet` of `Rule`s with every default filled in, and
//! the newtypes whose values have rules (`RuleName`, `TopicArn`). Pure: no YAML here.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::domain::catalog::{
    Comparison, Format, MetricName, ResourceType, Severity, Statistic, TreatMissingData, Unit,
};
use crate::domain::evaluate::{AlarmState, Criteria};
use crate::domain::select::Selection;
use crate::domain::silence::Silence;
use crate::domain::transition::Policy;

/// A validated rules document with every default filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSet {
    pub version: u32,
    /// More than this many notices for one target in one run go as digests (SPEC §16);
    /// `None`: never. `defaults.groupAbove`, default [`DEFAULT_GROUP_ABOVE`]; shown (by
    /// `validate`) as `defaults: {groupAbove: 10}`, or `none`.
    #[serde(rename = "defaults", serialize_with = "shown_defaults")]
    pub group_above: Option<u32>,
    pub rules: Vec<Rule>,
    /// Maintenance windows (SPEC §16): the results they cover keep their state, their
    /// notices are held until the window ends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub silences: Vec<Silence>,
}

/// How many notices for one target one run sends one by one, at most, unless the rules
/// say otherwise (`defaults.groupAbove`).
pub const DEFAULT_GROUP_ABOVE: u32 = 10;

/// What of `defaults` is the document's rather than the rules' (which show the rest
/// filled in): `{groupAbove: 10}`, or `{groupAbove: none}`.
fn shown_defaults<S: serde::Serializer>(
    group_above: &Option<u32>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum GroupAbove {
        Count(u32),
        Never(&'static str),
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Shown {
        group_above: GroupAbove,
    }
    let group_above = match group_above {
        Some(n) => GroupAbove::Count(*n),
        None => GroupAbove::Never("none"),
    };
    Shown { group_above }.serialize(s)
}

/// One validated rule. Serialises with the document's field names (for `validate`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: RuleName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The type of resource the rule watches (SPEC §11).
    pub resource_type: ResourceType,
    /// Which resources: `resources` (or `instances`), `exclude`, `tags`, `states` (SPEC §10).
    #[serde(flatten)]
    pub selection: Selection,
    pub metric: MetricName,
    pub statistic: Statistic,
    pub unit: Unit,
    pub period: u32,
    pub comparison: Comparison,
    pub threshold: f64,
    /// The threshold while in ALARM (hysteresis, SPEC §9); validated to lie strictly on
    /// the non-breaching side of `threshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_threshold: Option<f64>,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: TreatMissingData,
    pub severity: Severity,
    /// The states whose transitions are notified; default `[ALARM, OK]`. Serialised as
    /// CloudWatch spells them.
    pub notify_on: BTreeSet<AlarmState>,
    /// Re-send a persisting ALARM after this many minutes; 0 = never (the default).
    pub renotify_minutes: u32,
    /// Where the rule is evaluated: `regions`, else `region`, else the same from
    /// `defaults`, else `AWS_REGION`. Never empty, no region twice.
    pub regions: Vec<String>,
    /// Where the alerts go and in which format: the rule's `notify`, else its `topicArn`
    /// (format `text`), else the same from `defaults`, else `ALERT_TOPIC_ARN`. Never empty,
    /// no topic twice. Serialised as `notify`, so `validate` shows every target.
    #[serde(rename = "notify")]
    pub destinations: Vec<Destination>,
    /// Rules of the same resource type whose ALARM for a resource holds this rule's
    /// notices for that resource (SPEC §16): its status check, say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inhibited_by: Vec<RuleName>,
}

/// One topic a rule's alerts are published to, and the format they are rendered in there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    pub topic_arn: TopicArn,
    pub format: Format,
}

impl Destination {
    /// The target a bare `topicArn` (or `ALERT_TOPIC_ARN`) stands for.
    pub fn text(topic_arn: TopicArn) -> Self {
        Destination {
            topic_arn,
            format: Format::Text,
        }
    }
}

/// A rule name: 1..=64 of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RuleName(String);

/// An SNS topic ARN, `arn:<partition>:sns:<region>:<account>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TopicArn(String);

/// A rule name or topic ARN that breaks its rules; the message says which and what is
/// allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(String);

const MAX_RULE_NAME: usize = 64;
const MAX_TOPIC_NAME: usize = 256;
pub(crate) const RULE_NAME_ALLOWED: &str = "1 to 64 characters from A-Z a-z 0-9 _ . -";

impl Rule {
    /// The catalog entry of the rule's metric for its resource type.
    pub fn metric_info(&self) -> crate::domain::catalog::MetricInfo {
        // Validation accepts only a metric its type publishes.
        self.resource_type
            .metric(self.metric)
            .unwrap_or(crate::domain::catalog::MetricInfo {
                unit: self.unit,
                statistic: self.statistic,
                native_period: self.period,
                default_period: self.period,
                statistics: &[],
            })
    }

    /// What evaluation needs of this rule.
    pub fn criteria(&self) -> Criteria {
        Criteria {
            comparison: self.comparison,
            threshold: self.threshold,
            period: self.period,
            evaluation_periods: self.evaluation_periods,
            datapoints_to_alarm: self.datapoints_to_alarm,
            treat_missing_data: self.treat_missing_data,
        }
    }

    /// What the transition logic needs of this rule: `notifyOn` and `renotifyMinutes`.
    pub fn policy(&self) -> Policy {
        Policy {
            notify_on: self.notify_on.clone(),
            renotify_minutes: self.renotify_minutes,
        }
    }
}

impl RuleName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RuleName {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        s.to_owned().try_into()
    }
}

impl TryFrom<String> for RuleName {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        let is_allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        let problem = if s.is_empty() {
            "it is empty".to_owned()
        } else if let Some(c) = s.chars().find(|&c| !is_allowed(c)) {
            format!("{c:?} is not allowed")
        } else if s.len() > MAX_RULE_NAME {
            format!("it has {} characters", s.len())
        } else {
            return Ok(RuleName(s));
        };
        Err(InvalidValue(format!(
            "`{s}` is not a valid rule name ({problem}); allowed: {RULE_NAME_ALLOWED}"
        )))
    }
}

impl TopicArn {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region the topic lives in, where `Publish` must be sent.
    pub fn region(&self) -> &str {
        self.part(3)
    }

    pub fn account(&self) -> &str {
        self.part(4)
    }

    pub fn name(&self) -> &str {
        self.part(5)
    }

    /// FIFO topics need a message group id and a deduplication id on every publish.
    pub fn is_fifo(&self) -> bool {
        self.name().ends_with(".fifo")
    }

    fn part(&self, index: usize) -> &str {
        // Validated on construction to have exactly six `:`-separated parts.
        self.0.split(':').nth(index).unwrap_or_default()
    }
}

impl fmt::Display for TopicArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TopicArn {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match topic_arn_problem(s) {
            None => Ok(TopicArn(s.to_owned())),
            Some(problem) => Err(InvalidValue(format!(
                "`{s}` is not an SNS topic ARN ({problem}); expected \
                 arn:aws:sns:<region>:<12-digit account>:<topic name>"
            ))),
        }
    }
}

impl TryFrom<String> for TopicArn {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

fn topic_arn_problem(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [arn, partition, service, region, account, name] = parts.as_slice() else {
        return Some(format!("it has {} `:`-separated parts, not 6", parts.len()));
    };
    let is_topic_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if *arn != "arn" {
        Some("it must start with `arn:`".to_owned())
    } else if !(partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-'))
    {
        Some(format!(
            "`{partition}` is not an AWS partition such as aws, aws-cn or aws-us-gov"
        ))
    } else if *service != "sns" {
        Some(format!("the service is `{service}`, not `sns`"))
    } else if !is_region(region) {
        Some(format!("`{region}` is not an AWS region name"))
    } else if !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
        Some(format!("the account `{account}` is not 12 digits"))
    } else if base.is_empty() || name.len() > MAX_TOPIC_NAME || !base.chars().all(is_topic_char) {
        Some(format!(
            "the topic name `{name}` is not 1 to {MAX_TOPIC_NAME} characters from A-Z a-z 0-9 _ -, \
             optionally ending in .fifo"
        ))
    } else {
        None
    }
}

/// `[a-z]{2}(-[a-z]+)+-\d+`: us-east-1, us-gov-west-1, ap-southeast-2.
pub(crate) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let is_word = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [country, middle @ .., number] if !middle.is_empty() => {
            country.len() == 2
                && is_word(country)
                && middle.iter().all(is_word)
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::TOPIC;

    #[test]
    fn topic_arns_are_parsed_and_checked() {
        let arn: TopicArn = TOPIC.parse().unwrap();
        assert_eq!(
            (arn.region(), arn.account(), arn.name(), arn.is_fifo()),
            ("us-east-1", "123456789012", "lightsail-alerts", false)
        );
        assert_eq!(arn.to_string(), TOPIC);
        assert_eq!(arn.as_str(), TOPIC);

        let fifo: TopicArn = "arn:aws-cn:sns:cn-north-1:123456789012:alerts_1.fifo"
            .parse()
            .unwrap();
        assert_eq!(
            (fifo.region(), fifo.name(), fifo.is_fifo()),
            ("cn-north-1", "alerts_1.fifo", true)
        );
        let gov: TopicArn = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a"
            .parse()
            .unwrap();
        assert_eq!(gov.region(), "us-gov-west-1");
        let longest = format!("arn:aws:sns:us-east-1:123456789012:{}", "a".repeat(256));
        assert!(longest.parse::<TopicArn>().is_ok());

        let too_long = format!("arn:aws:sns:us-east-1:123456789012:{}", "a".repeat(257));
        for (bad, problem) in [
            ("lightsail-alerts", "it has 1 `:`-separated parts, not 6"),
            (
                "arn:aws:sns:us-east-1:123456789012:a:b",
                "it has 7 `:`-separated parts, not 6",
            ),
            (
                "urn:aws:sns:us-east-1:123456789012:a",
                "it must start with `arn:`",
            ),
            (
                "arn:gcp:sns:us-east-1:123456789012:a",
                "`gcp` is not an AWS partition",
            ),
            (
                "arn:aws:sqs:us-east-1:123456789012:a",
                "the service is `sqs`, not `sns`",
            ),
            (
                "arn:aws:sns:useast1:123456789012:a",
                "`useast1` is not an AWS region name",
            ),
            (
                "arn:aws:sns:us-east-1:12345678901:a",
                "the account `12345678901` is not 12 digits",
            ),
            ("arn:aws:sns:us-east-1:12345678901x:a", "is not 12 digits"),
            (
                "arn:aws:sns:us-east-1:123456789012:",
                "the topic name `` is not 1 to 256",
            ),
            (
                "arn:aws:sns:us-east-1:123456789012:.fifo",
                "the topic name `.fifo` is not",
            ),
            (
                "arn:aws:sns:us-east-1:123456789012:my topic",
                "the topic name `my topic` is not",
            ),
            (
                "arn:aws:sns:us-east-1:123456789012:a.b",
                "the topic name `a.b` is not",
            ),
            (
                too_long.as_str(),
                "is not 1 to 256 characters from A-Z a-z 0-9 _ -, optionally ending in .fifo",
            ),
        ] {
            let err = bad.parse::<TopicArn>().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("`{bad}` is not an SNS topic ARN (")),
                "{err}"
            );
            assert!(err.contains(problem), "{bad}: {err}");
            assert!(
                err.ends_with("expected arn:aws:sns:<region>:<12-digit account>:<topic name>"),
                "{err}"
            );
        }
    }

    #[test]
    fn regions_look_like_aws_regions() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
            "il-central-1",
        ] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "us-1",
            "useast-1",
            "US-EAST-1",
            "usa-east-1",
            "us-east-1a",
            "us--1",
            "us-east-",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn rule_names_follow_the_rules() {
        let longest = "a".repeat(64);
        for good in ["a", "web_1.cpu-high", "CPU", longest.as_str()] {
            let name: RuleName = good.parse().unwrap();
            assert_eq!((name.as_str(), name.to_string()), (good, good.to_owned()));
            assert_eq!(RuleName::try_from(good.to_owned()).unwrap(), name);
        }
        let too_long = "a".repeat(65);
        for (bad, problem) in [
            ("", "(it is empty)"),
            (too_long.as_str(), "(it has 65 characters)"),
            ("cpu high", "(' ' is not allowed)"),
            ("cpu/high", "('/' is not allowed)"),
            ("größe", "('ö' is not allowed)"),
        ] {
            let err = bad.parse::<RuleName>().unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "`{bad}` is not a valid rule name {problem}; allowed: 1 to 64 characters from A-Z a-z 0-9 _ . -"
                )
            );
        }
    }
}
