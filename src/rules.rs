//! The rules document (SPEC §3): parse YAML or JSON, validate every field, fill the
//! defaults from the catalog, and report every error of a document at once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::catalog::{
    Comparison, Format, MAX_EVALUATION_SECONDS, MAX_PERIOD, MIN_PERIOD, MetricName, Severity,
    Statistic, TreatMissingData, Unit, UnknownName,
};
use crate::evaluate::{AlarmState, Criteria};
use crate::select::{INSTANCE_STATES, Selection, Selector, TagMatch};
use crate::transition::{Policy, recovery_threshold_is_safe};

/// Values the document may leave out and the environment supplies
/// (`AWS_REGION`, `ALERT_TOPIC_ARN`). Read at the edge, passed in here.
#[derive(Debug, Clone, Default)]
pub struct Fallbacks {
    pub region: Option<String>,
    pub topic_arn: Option<String>,
}

/// A validated rules document with every default filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSet {
    pub version: u32,
    pub rules: Vec<Rule>,
}

/// One validated rule. Serialises with the document's field names (for `validate`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: RuleName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which instances: `instances`, `exclude`, `tags`, `states` (SPEC §10).
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
    pub targets: Vec<Target>,
}

/// One topic a rule's alerts are published to, and the format they are rendered in there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub topic_arn: TopicArn,
    pub format: Format,
}

impl Target {
    /// The target a bare `topicArn` (or `ALERT_TOPIC_ARN`) stands for.
    pub fn text(topic_arn: TopicArn) -> Self {
        Target {
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

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Where the document came from: a file path, `ALERT_RULES`, `event.rules`.
    pub source: String,
    /// `rules[2] (burst-capacity-low)`, or `None` for document-level fields.
    pub rule: Option<String>,
    /// The field's path inside the rule or document: `comparison`, `defaults.region`;
    /// empty when the error is about the document or the rule as a whole.
    pub field: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

/// Every error of a document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

/// A rule name or topic ARN that breaks its rules; the message says which and what is
/// allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(String);

const DOCUMENT_FIELDS: &[&str] = &["version", "defaults", "rules"];
// `recoveryThreshold` is per rule only: it is tied to the rule's own threshold and
// comparison, so one value for every rule would be wrong for most of them.
const DEFAULTS_FIELDS: &[&str] = &[
    "region",
    "regions",
    "topicArn",
    "severity",
    "notify",
    "notifyOn",
    "renotifyMinutes",
];
const RULE_FIELDS: &[&str] = &[
    "name",
    "description",
    "instances",
    "exclude",
    "tags",
    "states",
    "metric",
    "statistic",
    "unit",
    "period",
    "comparison",
    "threshold",
    "recoveryThreshold",
    "evaluationPeriods",
    "datapointsToAlarm",
    "treatMissingData",
    "severity",
    "notifyOn",
    "renotifyMinutes",
    "region",
    "regions",
    "topicArn",
    "notify",
];
const NOTIFY_FIELDS: &[&str] = &["topicArn", "format"];
const NOTIFY_ALLOWED: &str = "expected a list like [{topicArn: arn:aws:sns:...:alerts, format: json}] \
     (format: text, json or chat; default text)";
const STATES: [AlarmState; 3] = [
    AlarmState::Alarm,
    AlarmState::Ok,
    AlarmState::InsufficientData,
];
const NOTIFY_ON_ALLOWED: &str = "ALARM, OK, INSUFFICIENT_DATA";
/// `renotifyMinutes` at most: a week.
const MAX_RENOTIFY_MINUTES: u32 = 10_080;
const SUPPORTED_VERSION: i128 = 1;
const MAX_RULE_NAME: usize = 64;
const MAX_TOPIC_NAME: usize = 256;
const RULE_NAME_ALLOWED: &str = "1 to 64 characters from A-Z a-z 0-9 _ . -";
const REGION_REQUIRED: &str = "required; set `region` or `regions` on the rule, `defaults.region` \
     in the document, or the AWS_REGION environment variable";
const INSTANCES_ALLOWED: &str = "expected a list of instance names and globs, e.g. [web-1, \"web-*\"], \
     or \"*\" for every instance";
const EXCLUDE_ALLOWED: &str =
    "expected a list of instance names and globs, e.g. [bastion, \"test-*\"]";
const TAGS_ALLOWED: &str = "expected a mapping of tag key to a value, a list of values, or \"*\" \
     (any value), e.g. {env: prod, role: [web, api], backup: \"*\"}";
const TOPIC_REQUIRED: &str = "required; set `topicArn` on the rule, `defaults.topicArn` in the \
     document, or the ALERT_TOPIC_ARN environment variable";

/// Parse a YAML or JSON document (JSON is YAML). `source` names where it came from
/// (`examples/rules.yaml`, `ALERT_RULES`, `event.rules`) and prefixes every error.
pub fn parse(text: &str, source: &str, fallbacks: &Fallbacks) -> Result<RuleSet, ValidationErrors> {
    // Merge keys (`<<: *common`) let a document share fields between rules; applying
    // them here means the validator sees each rule as the operator meant it.
    let document = serde_yaml_ng::from_str::<Value>(text)
        .and_then(|mut value| value.apply_merge().map(|()| value))
        .map_err(|err| {
            ValidationErrors(vec![ValidationError::whole(
                source,
                format!("not a valid YAML or JSON document: {err}"),
            )])
        })?;
    validate(&document, source, fallbacks)
}

/// The same from an already-parsed JSON value (the Lambda event's `"rules"`).
pub fn from_value(
    value: serde_json::Value,
    source: &str,
    fallbacks: &Fallbacks,
) -> Result<RuleSet, ValidationErrors> {
    // One validator for both inputs: JSON converts losslessly into a YAML value.
    let document = serde_yaml_ng::to_value(value).map_err(|err| {
        ValidationErrors(vec![ValidationError::whole(
            source,
            format!("not a valid rules document: {err}"),
        )])
    })?;
    validate(&document, source, fallbacks)
}

impl Rule {
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
fn is_region(s: &str) -> bool {
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

impl ValidationError {
    /// An error about the document as a whole (not YAML, not a mapping).
    fn whole(source: &str, message: String) -> Self {
        ValidationError {
            source: source.to_owned(),
            rule: None,
            field: String::new(),
            message,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.source)?;
        if let Some(rule) = &self.rule {
            write!(f, "{rule}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let noun = if count == 1 { "error" } else { "errors" };
        write!(f, "{count} {noun} in the rules:")?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

/// One field of a mapping after its own checks.
enum Field<T> {
    Absent,
    Valid(T),
    /// Wrong; the error is already recorded, so nothing that depends on it reports again.
    Invalid,
}

impl<T> Field<T> {
    /// For fields without a default: absent is fine, invalid is not.
    fn optional(self) -> Option<Option<T>> {
        match self {
            Field::Valid(value) => Some(Some(value)),
            Field::Invalid => None,
            Field::Absent => Some(None),
        }
    }

    /// The rule's own value, else the one from `defaults`, else `fallback`.
    fn or_default(self, defaults: &Field<T>, fallback: T) -> Option<T>
    where
        T: Clone,
    {
        match (self, defaults) {
            (Field::Valid(value), _) => Some(value),
            (Field::Absent, Field::Valid(value)) => Some(value.clone()),
            (Field::Absent, Field::Absent) => Some(fallback),
            (Field::Invalid, _) | (Field::Absent, Field::Invalid) => None,
        }
    }

    fn or_else(self, default: impl FnOnce() -> Option<T>) -> Option<T> {
        match self {
            Field::Valid(value) => Some(value),
            Field::Invalid => None,
            Field::Absent => default(),
        }
    }
}

/// `defaults:` as far as it is valid.
struct Defaults {
    regions: Field<Vec<String>>,
    /// From `defaults.notify`, else `defaults.topicArn` as one `text` target.
    targets: Field<Vec<Target>>,
    severity: Field<Severity>,
    notify_on: Field<BTreeSet<AlarmState>>,
    renotify_minutes: Field<u32>,
}

impl Defaults {
    /// Every field `Absent` (no `defaults:`), or every field `Invalid` (`defaults:` is
    /// not a mapping, already reported, so no rule reports a missing value again).
    fn uniform(invalid: bool) -> Self {
        fn field<T>(invalid: bool) -> Field<T> {
            if invalid {
                Field::Invalid
            } else {
                Field::Absent
            }
        }
        Defaults {
            regions: field(invalid),
            targets: field(invalid),
            severity: field(invalid),
            notify_on: field(invalid),
            renotify_minutes: field(invalid),
        }
    }
}

/// A key that is not an allowed field, kept until the known fields are checked so a
/// typo of a required field reports once ("did you mean") instead of twice.
struct UnknownField {
    key: String,
    message: String,
    suggestion: Option<&'static str>,
}

/// Where errors go while one mapping (the document, `defaults`, one rule) is checked.
struct Scope<'e> {
    source: &'e str,
    rule: Option<String>,
    prefix: &'static str,
    errors: &'e mut Vec<ValidationError>,
    /// Allowed fields an unknown key looks like a typo of; set by `find_unknown`, which
    /// must run before the fields are checked.
    typos: HashSet<&'static str>,
}

impl Scope<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            source: self.source.to_owned(),
            rule: self.rule.clone(),
            field: format!("{}{field}", self.prefix),
            message: message.into(),
        });
    }

    fn record<T>(&mut self, field: &str, checked: Result<Option<T>, String>) -> Field<T> {
        match checked {
            // The unknown-field error already says "did you mean `field`?": one mistake,
            // one error, rather than also "required" here and in every rule using a default.
            Ok(None) if self.typos.contains(field) => Field::Invalid,
            Ok(None) => Field::Absent,
            Ok(Some(value)) => Field::Valid(value),
            Err(message) => {
                self.error(field, message);
                Field::Invalid
            }
        }
    }

    fn field<'m, T>(
        &mut self,
        map: &'m Mapping,
        key: &str,
        check: impl FnOnce(&'m Value) -> Result<T, String>,
    ) -> Field<T> {
        self.record(key, lookup(map, key, check))
    }

    fn required<T>(&mut self, field: Field<T>, key: &str, what: &str) -> Option<T> {
        if matches!(field, Field::Absent) {
            self.error(key, format!("required; {what}"));
        }
        field.or_else(|| None)
    }

    /// Finds the keys of `map` outside `allowed`; reported later by `report_unknown`.
    fn find_unknown(&mut self, map: &Mapping, allowed: &[&'static str]) -> Vec<UnknownField> {
        let unknown: Vec<UnknownField> = map
            .keys()
            .filter(|key| !key.as_str().is_some_and(|key| allowed.contains(&key)))
            .map(|key| {
                let key = key_text(key);
                let suggestion = closest(&key, allowed.iter().copied());
                let hint = suggestion
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                UnknownField {
                    message: format!(
                        "unknown field `{key}`{hint}; allowed: {}",
                        allowed.join(", ")
                    ),
                    key,
                    suggestion,
                }
            })
            .collect();
        self.typos = unknown.iter().filter_map(|u| u.suggestion).collect();
        unknown
    }

    fn report_unknown(&mut self, unknown: Vec<UnknownField>) {
        for field in unknown {
            self.error(&field.key, field.message);
        }
    }

    /// A value the rule may set, else `defaults` may set, else the environment.
    fn inherit<T: Clone>(
        &mut self,
        key: &str,
        own: Field<T>,
        default: &Field<T>,
        fallback: (&str, Option<&str>),
        check: impl FnOnce(&str) -> Result<T, String>,
        required: &str,
    ) -> Option<T> {
        match (own, default) {
            (Field::Valid(value), _) => Some(value),
            (Field::Absent, Field::Valid(value)) => Some(value.clone()),
            (Field::Invalid, _) | (Field::Absent, Field::Invalid) => None,
            (Field::Absent, Field::Absent) => {
                let (variable, value) = fallback;
                // An empty variable (a template parameter left blank) means "not set".
                match value.map(str::trim).filter(|v| !v.is_empty()) {
                    Some(value) => check(value)
                        .map_err(|message| self.error(key, format!("from {variable}: {message}")))
                        .ok(),
                    None => {
                        self.error(key, required);
                        None
                    }
                }
            }
        }
    }
}

fn validate(
    document: &Value,
    source: &str,
    fallbacks: &Fallbacks,
) -> Result<RuleSet, ValidationErrors> {
    let Value::Mapping(map) = document else {
        return Err(ValidationErrors(vec![ValidationError::whole(
            source,
            format!(
                "expected a mapping with `version`, `rules` and optionally `defaults`, got {}",
                describe(document)
            ),
        )]));
    };
    let mut errors = Vec::new();
    let mut doc = Scope {
        source,
        rule: None,
        prefix: "",
        errors: &mut errors,
        typos: HashSet::new(),
    };
    let unknown = doc.find_unknown(map, DOCUMENT_FIELDS);

    let version = doc.field(map, "version", |v| match whole_number(v, "the number 1")? {
        SUPPORTED_VERSION => Ok(1),
        other => Err(format!("`{other}` is not a supported version; allowed: 1")),
    });
    let version = doc.required(
        version,
        "version",
        "allowed: 1 (start the document with `version: 1`)",
    );

    let defaults = match doc.field(map, "defaults", |v| {
        mapping(
            v,
            "a mapping of region (or regions), topicArn (or notify), severity, notifyOn, \
             renotifyMinutes",
        )
    }) {
        Field::Valid(defaults) => check_defaults(defaults, source, doc.errors),
        Field::Absent => Defaults::uniform(false),
        Field::Invalid => Defaults::uniform(true),
    };

    let list = doc.field(map, "rules", |v| match v {
        Value::Sequence(list) if list.is_empty() => {
            Err("must contain at least one rule".to_owned())
        }
        Value::Sequence(list) => Ok(list),
        other => Err(format!("expected a list of rules, got {}", describe(other))),
    });
    let list = doc.required(list, "rules", "a non-empty list of rules");

    let mut names = HashMap::new();
    let rules: Vec<Option<Rule>> = list
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, value)| {
            check_rule(
                index, value, source, doc.errors, &defaults, fallbacks, &mut names,
            )
        })
        .collect();
    doc.report_unknown(unknown);

    // Every `None` left an error behind, so an alert is never dropped silently.
    match (version, rules.into_iter().collect::<Option<Vec<Rule>>>()) {
        (Some(version), Some(rules)) if errors.is_empty() => Ok(RuleSet { version, rules }),
        _ => {
            debug_assert!(!errors.is_empty(), "a rule failed without an error");
            Err(ValidationErrors(errors))
        }
    }
}

fn check_defaults(map: &Mapping, source: &str, errors: &mut Vec<ValidationError>) -> Defaults {
    let mut scope = Scope {
        source,
        rule: None,
        prefix: "defaults.",
        errors,
        typos: HashSet::new(),
    };
    let unknown = scope.find_unknown(map, DEFAULTS_FIELDS);
    let regions = check_regions(&mut scope, map);
    let topic_arn = scope.field(map, "topicArn", |v| check_topic_arn(string(v)?));
    let notify = check_notify(&mut scope, map);
    let targets = targets(&mut scope, map, topic_arn, notify);
    let severity = scope.field(map, "severity", parse_name::<Severity>);
    let notify_on = check_notify_on(&mut scope, map);
    let mut renotify_minutes = scope.field(map, "renotifyMinutes", check_renotify_minutes);
    if let (Field::Valid(notify_on), Field::Valid(minutes)) = (&notify_on, &renotify_minutes)
        && let Err(message) = check_reminders(notify_on, *minutes, "")
    {
        scope.error("renotifyMinutes", message);
        // Reported once here, not again in every rule that inherits both.
        renotify_minutes = Field::Invalid;
    }
    let defaults = Defaults {
        regions,
        targets,
        severity,
        notify_on,
        renotify_minutes,
    };
    scope.report_unknown(unknown);
    defaults
}

fn check_rule(
    index: usize,
    value: &Value,
    source: &str,
    errors: &mut Vec<ValidationError>,
    defaults: &Defaults,
    fallbacks: &Fallbacks,
    names: &mut HashMap<RuleName, usize>,
) -> Option<Rule> {
    let position = format!("rules[{index}]");
    // The name comes first so every other error can say which rule it is about.
    let name = mapping(
        value,
        "a mapping of rule fields (name, instances, metric, ...)",
    )
    .map(|map| {
        let name = lookup(map, "name", |v| {
            RuleName::try_from(string(v)?.to_owned()).map_err(|e| e.to_string())
        });
        (map, name)
    });
    let rule = match &name {
        Ok((_, Ok(Some(name)))) => format!("{position} ({name})"),
        _ => position.clone(),
    };
    let mut scope = Scope {
        source,
        rule: Some(rule),
        prefix: "",
        errors,
        typos: HashSet::new(),
    };
    let (map, name) = match name {
        Ok((map, name)) => (map, name),
        Err(message) => {
            scope.error("", message);
            return None;
        }
    };
    let unknown = scope.find_unknown(map, RULE_FIELDS);

    let name = scope.record("name", name);
    let name = scope.required(
        name,
        "name",
        &format!("a unique name of {RULE_NAME_ALLOWED}"),
    );
    let name = name.and_then(|name| match names.get(&name) {
        Some(first) => {
            scope.error(
                "name",
                format!("`{name}` is already the name of rules[{first}]; names must be unique"),
            );
            None
        }
        None => {
            names.insert(name.clone(), index);
            Some(name)
        }
    });

    let description = scope.field(map, "description", |v| string(v).map(str::to_owned));
    let selection = check_selection(&mut scope, map);

    let metric = scope.field(map, "metric", parse_name::<MetricName>);
    let metric = scope.required(
        metric,
        "metric",
        &format!("allowed: {}", MetricName::allowed()),
    );
    let info = metric.map(MetricName::info);

    let statistic = scope
        .field(map, "statistic", parse_name::<Statistic>)
        .or_else(|| info.map(|i| i.statistic));
    let unit = scope
        .field(map, "unit", |v| check_unit(v, metric))
        .or_else(|| info.map(|i| i.unit));
    let period = scope
        .field(map, "period", |v| check_period(v, metric))
        .or_else(|| info.map(|i| i.native_period));

    let comparison = scope.field(map, "comparison", parse_name::<Comparison>);
    let comparison = scope.required(
        comparison,
        "comparison",
        &format!("allowed: {}", Comparison::allowed()),
    );
    let threshold = scope.field(map, "threshold", finite_number);
    let threshold = scope.required(threshold, "threshold", "a finite number");
    let recovery_threshold = match scope.field(map, "recoveryThreshold", finite_number) {
        Field::Valid(recovery) => match (comparison, threshold) {
            (Some(comparison), Some(threshold)) => {
                match check_recovery_threshold(comparison, threshold, recovery) {
                    Ok(()) => Field::Valid(recovery),
                    Err(message) => {
                        scope.error("recoveryThreshold", message);
                        Field::Invalid
                    }
                }
            }
            // Cannot be checked; the comparison or threshold error is already recorded.
            _ => Field::Invalid,
        },
        other => other,
    };

    let evaluation_periods = scope
        .field(map, "evaluationPeriods", |v| {
            check_evaluation_periods(v, period)
        })
        .or_else(|| Some(1));
    let datapoints_to_alarm = scope
        .field(map, "datapointsToAlarm", |v| {
            check_datapoints_to_alarm(v, evaluation_periods)
        })
        .or_else(|| evaluation_periods);
    let treat_missing_data = scope
        .field(map, "treatMissingData", parse_name::<TreatMissingData>)
        .or_else(|| Some(TreatMissingData::Missing));

    let severity = scope.field(map, "severity", parse_name::<Severity>);
    let severity = severity.or_default(&defaults.severity, Severity::Warning);
    let notify_on = check_notify_on(&mut scope, map);
    let renotify_minutes = scope.field(map, "renotifyMinutes", check_renotify_minutes);
    let own = (
        matches!(notify_on, Field::Valid(_)),
        matches!(renotify_minutes, Field::Valid(_)),
    );
    let policy = Policy::default();
    let notify_on = notify_on.or_default(&defaults.notify_on, policy.notify_on);
    let renotify_minutes =
        renotify_minutes.or_default(&defaults.renotify_minutes, policy.renotify_minutes);
    // Only a combination this rule made: one `defaults` made is reported there.
    let (notify_on, renotify_minutes) = match (notify_on, renotify_minutes, own) {
        (Some(states), Some(minutes), (own_states, own_minutes)) if own_states || own_minutes => {
            let inherited = if own_minutes { "" } else { " (from defaults)" };
            match check_reminders(&states, minutes, inherited) {
                Ok(()) => (Some(states), Some(minutes)),
                Err(message) => {
                    let field = if own_minutes {
                        "renotifyMinutes"
                    } else {
                        "notifyOn"
                    };
                    scope.error(field, message);
                    (None, None)
                }
            }
        }
        (states, minutes, _) => (states, minutes),
    };
    let regions = check_regions(&mut scope, map);
    let regions = scope.inherit(
        "region",
        regions,
        &defaults.regions,
        ("AWS_REGION", fallbacks.region.as_deref()),
        |region| check_region(region).map(|region| vec![region]),
        REGION_REQUIRED,
    );
    let topic_arn = scope.field(map, "topicArn", |v| check_topic_arn(string(v)?));
    let notify = check_notify(&mut scope, map);
    let own = targets(&mut scope, map, topic_arn, notify);
    let targets = scope.inherit(
        "topicArn",
        own,
        &defaults.targets,
        ("ALERT_TOPIC_ARN", fallbacks.topic_arn.as_deref()),
        |arn| check_topic_arn(arn).map(|arn| vec![Target::text(arn)]),
        TOPIC_REQUIRED,
    );
    let description = description.optional();
    scope.report_unknown(unknown);

    Some(Rule {
        name: name?,
        description: description?,
        selection: selection?,
        metric: metric?,
        statistic: statistic?,
        unit: unit?,
        period: period?,
        comparison: comparison?,
        threshold: threshold?,
        recovery_threshold: recovery_threshold.optional()?,
        evaluation_periods: evaluation_periods?,
        datapoints_to_alarm: datapoints_to_alarm?,
        treat_missing_data: treat_missing_data?,
        severity: severity?,
        notify_on: notify_on?,
        renotify_minutes: renotify_minutes?,
        regions: regions?,
        targets: targets?,
    })
}

/// The targets a rule (or `defaults`) sets itself: `notify`, or `topicArn` as one `text`
/// target. Both at once is an error: which one should win is not obvious to a reader.
fn targets(
    scope: &mut Scope<'_>,
    map: &Mapping,
    topic_arn: Field<TopicArn>,
    notify: Field<Vec<Target>>,
) -> Field<Vec<Target>> {
    let present = |key: &str| !matches!(map.get(key), None | Some(Value::Null));
    if present("topicArn") && present("notify") {
        scope.error(
            "notify",
            "`topicArn` and `notify` are both set; use one: `notify` alone (list the topic \
             there too: {topicArn: <arn>, format: text}), or `topicArn` alone for one `text` \
             target",
        );
        return Field::Invalid;
    }
    match (topic_arn, notify) {
        (Field::Valid(arn), _) => Field::Valid(vec![Target::text(arn)]),
        (Field::Invalid, _) => Field::Invalid,
        (Field::Absent, notify) => notify,
    }
}

/// `notify: [{topicArn, format}]`: a non-empty list, each entry a valid topic ARN and an
/// allowed format, no unknown keys, no topic twice. Every problem of every entry is
/// reported.
fn check_notify(scope: &mut Scope<'_>, map: &Mapping) -> Field<Vec<Target>> {
    let list = scope.field(map, "notify", |v| match v {
        Value::Sequence(list) if list.is_empty() => {
            Err(format!("must list at least one target; {NOTIFY_ALLOWED}"))
        }
        Value::Sequence(list) => Ok(list),
        other => Err(format!("{NOTIFY_ALLOWED}, got {}", describe(other))),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Field::Absent,
        Field::Invalid => return Field::Invalid,
    };
    let mut targets: Vec<Target> = Vec::with_capacity(list.len());
    let mut first_seen: HashMap<TopicArn, usize> = HashMap::new();
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let at = format!("notify[{index}]");
        let entry = match mapping(item, "a mapping of topicArn and format") {
            Ok(entry) => entry,
            Err(message) => {
                scope.error(&at, message);
                valid = false;
                continue;
            }
        };
        let mut typos = HashSet::new();
        for key in entry.keys() {
            if key.as_str().is_some_and(|k| NOTIFY_FIELDS.contains(&k)) {
                continue;
            }
            let key = key_text(key);
            let suggestion = closest(&key, NOTIFY_FIELDS.iter().copied());
            let hint = suggestion
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            typos.extend(suggestion);
            scope.error(
                &format!("{at}.{key}"),
                format!(
                    "unknown field `{key}`{hint}; allowed: {}",
                    NOTIFY_FIELDS.join(", ")
                ),
            );
            valid = false;
        }
        let topic_arn = match lookup(entry, "topicArn", |v| check_topic_arn(string(v)?)) {
            Ok(Some(arn)) => Some(arn),
            Ok(None) => {
                // A misspelt `topicArn` is already reported, with the suggestion.
                if !typos.contains("topicArn") {
                    scope.error(
                        &format!("{at}.topicArn"),
                        "required; the ARN of the SNS topic to publish to",
                    );
                }
                None
            }
            Err(message) => {
                scope.error(&format!("{at}.topicArn"), message);
                None
            }
        };
        let format = match lookup(entry, "format", parse_name::<Format>) {
            Ok(format) => Some(format.unwrap_or(Format::Text)),
            Err(message) => {
                scope.error(&format!("{at}.format"), message);
                None
            }
        };
        let (Some(topic_arn), Some(format)) = (topic_arn, format) else {
            valid = false;
            continue;
        };
        match first_seen.get(&topic_arn) {
            Some(first) => {
                scope.error(
                    &format!("{at}.topicArn"),
                    format!(
                        "`{topic_arn}` is already the topic of notify[{first}]; list each topic \
                         once, in one format"
                    ),
                );
                valid = false;
            }
            None => {
                first_seen.insert(topic_arn.clone(), index);
                targets.push(Target { topic_arn, format });
            }
        }
    }
    if valid {
        Field::Valid(targets)
    } else {
        Field::Invalid
    }
}

/// `notifyOn: [ALARM, OK]`: a non-empty list of alarm states, each once.
fn check_notify_on(scope: &mut Scope<'_>, map: &Mapping) -> Field<BTreeSet<AlarmState>> {
    let list = scope.field(map, "notifyOn", |v| match v {
        Value::Sequence(list) if list.is_empty() => Err(format!(
            "must list at least one state; allowed: {NOTIFY_ON_ALLOWED} (default [ALARM, OK])"
        )),
        Value::Sequence(list) => Ok(list),
        other => Err(format!(
            "expected a list of states like [ALARM, OK], got {}; allowed: {NOTIFY_ON_ALLOWED}",
            describe(other)
        )),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Field::Absent,
        Field::Invalid => return Field::Invalid,
    };
    let mut states = BTreeSet::new();
    let mut first_seen: HashMap<AlarmState, usize> = HashMap::new();
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let field = format!("notifyOn[{index}]");
        match check_state(item) {
            Ok(state) => match first_seen.get(&state) {
                Some(first) => {
                    scope.error(
                        &field,
                        format!("`{state}` is listed twice (also notifyOn[{first}])"),
                    );
                    valid = false;
                }
                None => {
                    first_seen.insert(state, index);
                    states.insert(state);
                }
            },
            Err(message) => {
                scope.error(&field, message);
                valid = false;
            }
        }
    }
    if valid {
        Field::Valid(states)
    } else {
        Field::Invalid
    }
}

fn check_state(value: &Value) -> Result<AlarmState, String> {
    let name = string(value)?;
    STATES
        .into_iter()
        .find(|state| state.as_str() == name)
        .ok_or_else(|| {
            with_suggestion(
                format!("`{name}` is not a valid state; allowed: {NOTIFY_ON_ALLOWED}"),
                name,
                STATES.map(AlarmState::as_str),
            )
        })
}

fn check_renotify_minutes(value: &Value) -> Result<u32, String> {
    let allowed = format!(
        "allowed: a whole number of minutes from 0 (never) to {MAX_RENOTIFY_MINUTES} (a week)"
    );
    let minutes = whole_number(value, &format!("a whole number of minutes; {allowed}"))?;
    u32::try_from(minutes)
        .ok()
        .filter(|&m| m <= MAX_RENOTIFY_MINUTES)
        .ok_or_else(|| format!("`{minutes}` is not allowed; {allowed}"))
}

/// A reminder repeats the ALARM notice, so `renotifyMinutes` needs ALARM in `notifyOn`.
/// `inherited` says where `renotifyMinutes` came from when the rule did not set it.
fn check_reminders(
    notify_on: &BTreeSet<AlarmState>,
    renotify_minutes: u32,
    inherited: &str,
) -> Result<(), String> {
    if renotify_minutes == 0 || notify_on.contains(&AlarmState::Alarm) {
        return Ok(());
    }
    let states: Vec<&str> = notify_on.iter().map(|s| s.as_str()).collect();
    Err(format!(
        "renotifyMinutes {renotify_minutes}{inherited} would never send a reminder: a reminder \
         repeats the ALARM notice, and notifyOn [{}] leaves ALARM out; add ALARM to notifyOn, or \
         set renotifyMinutes to 0",
        states.join(", ")
    ))
}

/// `recoveryThreshold` must make returning to OK harder, never easier: strictly on the
/// non-breaching side of `threshold`.
fn check_recovery_threshold(
    comparison: Comparison,
    threshold: f64,
    recovery: f64,
) -> Result<(), String> {
    if recovery_threshold_is_safe(comparison, threshold, recovery) {
        return Ok(());
    }
    // A round step of the threshold's own magnitude: 20 -> 30, 80 -> 70, 0.5 -> 0.6.
    let step = if threshold == 0.0 {
        1.0
    } else {
        10f64.powf(threshold.abs().log10().floor())
    };
    let (side, example) = match comparison {
        Comparison::GreaterThanOrEqualToThreshold | Comparison::GreaterThanThreshold => {
            ("below", threshold - step)
        }
        Comparison::LessThanThreshold | Comparison::LessThanOrEqualToThreshold => {
            ("above", threshold + step)
        }
    };
    let problem = if recovery == threshold {
        format!("`{recovery}` is threshold {threshold} itself, so it would change nothing")
    } else {
        format!(
            "`{recovery}` is on the breaching side of threshold {threshold} (values {} {threshold} \
             breach)",
            comparison.symbol()
        )
    };
    Err(format!(
        "{problem}; use a value {side} {threshold}, e.g. {example}"
    ))
}

/// `instances` (required), `exclude`, `tags` and `states`: every entry checked, and the
/// combinations certain to select nothing refused, since such a rule would never alert.
fn check_selection(scope: &mut Scope<'_>, map: &Mapping) -> Option<Selection> {
    let instances = scope.field(map, "instances", |v| match v {
        Value::Sequence(list) if list.is_empty() => Err(format!(
            "must name at least one instance; {INSTANCES_ALLOWED}"
        )),
        Value::Sequence(list) => Ok(list.as_slice()),
        // `instances: "*"`, the one scalar that cannot be a typo of a list.
        Value::String(all) if all == "*" => Ok(std::slice::from_ref(v)),
        other => Err(format!("{INSTANCES_ALLOWED}, got {}", describe(other))),
    });
    let instances = scope.required(
        instances,
        "instances",
        "a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance",
    );
    let instances = instances.and_then(|list| check_selectors(scope, "instances", list));
    let exclude = scope
        .field(map, "exclude", |v| match v {
            Value::Sequence(list) => Ok(list.as_slice()),
            other => Err(format!("{EXCLUDE_ALLOWED}, got {}", describe(other))),
        })
        .or_else(|| Some(&[]))
        .and_then(|list| check_selectors(scope, "exclude", list));
    let tags = check_tags(scope, map);
    let states = check_states(scope, map);
    let (instances, exclude) = (instances?, exclude?);

    let mut certain_to_miss = false;
    for (j, excluded) in exclude.iter().enumerate() {
        if excluded.is_everything() {
            scope.error(
                &format!("exclude[{j}]"),
                "`*` excludes every instance, so the rule could never select one",
            );
            certain_to_miss = true;
        }
    }
    for (i, selector) in instances.iter().enumerate() {
        let clash = exclude
            .iter()
            .enumerate()
            .find(|(_, excluded)| match selector {
                Selector::Name(name) => excluded.matches(name),
                Selector::Glob(_) => *excluded == selector,
            });
        if let Some((j, excluded)) = clash
            && !excluded.is_everything()
        {
            let how = if excluded == selector {
                "is also in"
            } else {
                "is also excluded by"
            };
            scope.error(
                &format!("instances[{i}]"),
                format!(
                    "`{selector}` {how} exclude[{j}] (`{excluded}`), so it can never be \
                     selected; remove it from one of the lists"
                ),
            );
            certain_to_miss = true;
        }
    }
    if certain_to_miss {
        return None;
    }
    Some(Selection {
        instances,
        exclude,
        tags: tags?,
        states: states?,
    })
}

/// The names and globs of `instances` or `exclude`: strings, valid globs, none twice.
fn check_selectors(scope: &mut Scope<'_>, field: &str, list: &[Value]) -> Option<Vec<Selector>> {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut selectors = Vec::with_capacity(list.len());
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let checked = match item {
            Value::String(text) if text.trim().is_empty() => {
                Err("is empty; expected an instance name or a glob".to_owned())
            }
            Value::String(text) => match first_seen.insert(text, index) {
                Some(first) => Err(format!("`{text}` is listed twice (also {field}[{first}])")),
                None => Selector::parse(text),
            },
            other => Err(format!(
                "expected an instance name or a glob (a string; quote globs, e.g. \"web-*\"), \
                 got {}",
                describe(other)
            )),
        };
        match checked {
            Ok(selector) => selectors.push(selector),
            Err(message) => {
                scope.error(&at, message);
                valid = false;
            }
        }
    }
    valid.then_some(selectors)
}

/// `tags: {key: value | [values] | "*"}`. Values are compared as text, so `tier: 1`
/// matches the tag value `1`.
fn check_tags(scope: &mut Scope<'_>, map: &Mapping) -> Option<BTreeMap<String, TagMatch>> {
    let tags = match scope.field(map, "tags", |v| match v {
        Value::Mapping(tags) if tags.is_empty() => {
            Err(format!("must name at least one tag; {TAGS_ALLOWED}"))
        }
        Value::Mapping(tags) => Ok(tags),
        other => Err(format!("{TAGS_ALLOWED}, got {}", describe(other))),
    }) {
        Field::Valid(tags) => tags,
        Field::Absent => return Some(BTreeMap::new()),
        Field::Invalid => return None,
    };
    let mut checked = BTreeMap::new();
    let mut valid = true;
    for (key, value) in tags {
        let at = format!("tags.{}", key_text(key));
        let key = match key {
            Value::String(key) if !key.trim().is_empty() => key.clone(),
            _ => {
                scope.error(&at, "a tag key must be a non-empty string");
                valid = false;
                continue;
            }
        };
        match check_tag_match(value) {
            Ok(wanted) => {
                checked.insert(key, wanted);
            }
            Err(message) => {
                scope.error(&at, message);
                valid = false;
            }
        }
    }
    valid.then_some(checked)
}

fn check_tag_match(value: &Value) -> Result<TagMatch, String> {
    let text = |value: &Value| match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a tag value, a list of values, or \"*\" (any value), got {}",
            describe(other)
        )),
    };
    match value {
        Value::String(any) if any == "*" => Ok(TagMatch::Present),
        Value::Sequence(list) if list.is_empty() => Err(
            "an empty list matches no instance; list at least one value, or \"*\" for any"
                .to_owned(),
        ),
        Value::Sequence(list) => {
            let mut values = BTreeSet::new();
            for item in list {
                let value = text(item)?;
                if value == "*" {
                    return Err(
                        "`*` means any value; write it alone (key: \"*\"), not in a list"
                            .to_owned(),
                    );
                }
                if !values.insert(value.clone()) {
                    return Err(format!("`{value}` is listed twice"));
                }
            }
            Ok(TagMatch::AnyOf(values))
        }
        other => Ok(TagMatch::AnyOf(BTreeSet::from([text(other)?]))),
    }
}

/// `states: [running, ...]`, the instance states to cover; absent covers all.
fn check_states(scope: &mut Scope<'_>, map: &Mapping) -> Option<Option<BTreeSet<String>>> {
    let allowed = INSTANCE_STATES.join(", ");
    let list = scope.field(map, "states", |v| match v {
        Value::Sequence(list) if list.is_empty() => Err(format!(
            "an empty list matches no instance; list states from {allowed}, or leave `states` \
             out to cover every state"
        )),
        Value::Sequence(list) => Ok(list),
        other => Err(format!(
            "expected a list of instance states, e.g. [running], got {}; allowed: {allowed}",
            describe(other)
        )),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Some(None),
        Field::Invalid => return None,
    };
    let mut states = BTreeSet::new();
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let checked = string(item).and_then(|state| {
            if !INSTANCE_STATES.contains(&state) {
                Err(with_suggestion(
                    format!("`{state}` is not an instance state; allowed: {allowed}"),
                    state,
                    INSTANCE_STATES.iter().copied(),
                ))
            } else if !states.insert(state.to_owned()) {
                Err(format!("`{state}` is listed twice"))
            } else {
                Ok(())
            }
        });
        if let Err(message) = checked {
            scope.error(&format!("states[{index}]"), message);
            valid = false;
        }
    }
    valid.then_some(Some(states))
}

/// `region: us-east-1` or `regions: [us-east-1, eu-west-1]`, not both.
fn check_regions(scope: &mut Scope<'_>, map: &Mapping) -> Field<Vec<String>> {
    let one = scope.field(map, "region", |v| check_region(string(v)?));
    let many = scope.field(map, "regions", |v| match v {
        Value::Sequence(list) if list.is_empty() => {
            Err("must list at least one region, e.g. [us-east-1, eu-west-1]".to_owned())
        }
        Value::Sequence(list) => {
            let mut regions: Vec<String> = Vec::with_capacity(list.len());
            let mut problems = Vec::new();
            for (index, item) in list.iter().enumerate() {
                match string(item).and_then(check_region) {
                    Ok(region) if regions.contains(&region) => {
                        problems.push(format!("[{index}]: `{region}` is listed twice"))
                    }
                    Ok(region) => regions.push(region),
                    Err(message) => problems.push(format!("[{index}]: {message}")),
                }
            }
            if problems.is_empty() {
                Ok(regions)
            } else {
                Err(problems.join("; "))
            }
        }
        other => Err(format!(
            "expected a list of regions, e.g. [us-east-1, eu-west-1], got {}",
            describe(other)
        )),
    });
    match (one, many) {
        (Field::Absent, many) => many,
        (one, Field::Absent) => match one {
            Field::Valid(region) => Field::Valid(vec![region]),
            Field::Invalid => Field::Invalid,
            Field::Absent => Field::Absent,
        },
        (_, _) => {
            scope.error(
                "regions",
                "`region` and `regions` are both set; use `regions` alone (list every region there)",
            );
            Field::Invalid
        }
    }
}

fn check_unit(value: &Value, metric: Option<MetricName>) -> Result<Unit, String> {
    let Some(metric) = metric else {
        return parse_name(value);
    };
    let unit = string(value)?;
    let published = metric.info().unit;
    if unit == published.as_str() {
        return Ok(published);
    }
    Err(with_suggestion(
        format!(
            "`{unit}` is not published for {metric} (Lightsail returns no data for any other \
             unit); allowed: {published}"
        ),
        unit,
        [published.as_str()],
    ))
}

fn check_period(value: &Value, metric: Option<MetricName>) -> Result<u32, String> {
    let period = whole_number(value, "a whole number of seconds")?;
    // Without a known metric, 60 still divides every native period in the catalog.
    let step = metric.map_or(MIN_PERIOD, |m| m.info().native_period);
    match u32::try_from(period) {
        Ok(p) if (MIN_PERIOD..=MAX_PERIOD).contains(&p) && p % step == 0 => Ok(p),
        _ => Err(match metric {
            Some(metric) => {
                let lowest = step.max(MIN_PERIOD);
                format!(
                    "`{period}` is not a valid period for {metric}, which Lightsail stores every \
                     {step} seconds; allowed: a multiple of {step} from {lowest} to {MAX_PERIOD} \
                     ({lowest}, {}, {}, ..., {MAX_PERIOD})",
                    lowest + step,
                    lowest + 2 * step,
                )
            }
            None => format!(
                "`{period}` is not a valid period; allowed: a multiple of {MIN_PERIOD} from \
                 {MIN_PERIOD} to {MAX_PERIOD} seconds"
            ),
        }),
    }
}

fn check_evaluation_periods(value: &Value, period: Option<u32>) -> Result<u32, String> {
    let n = whole_number(value, "a whole number >= 1")?;
    let n = u32::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
        format!(
            "`{n}` is not allowed; allowed: a whole number >= 1 with evaluationPeriods * period \
             <= {MAX_EVALUATION_SECONDS}"
        )
    })?;
    if let Some(period) = period {
        let span = u64::from(n) * u64::from(period);
        if span > u64::from(MAX_EVALUATION_SECONDS) {
            return Err(format!(
                "`{n}` periods of {period} s span {span} s, more than evaluationPeriods * period \
                 <= {MAX_EVALUATION_SECONDS} s allows; allowed: 1 to {}",
                MAX_EVALUATION_SECONDS / period
            ));
        }
    }
    Ok(n)
}

fn check_datapoints_to_alarm(
    value: &Value,
    evaluation_periods: Option<u32>,
) -> Result<u32, String> {
    let m = whole_number(value, "a whole number >= 1")?;
    let max = evaluation_periods.unwrap_or(u32::MAX);
    match u32::try_from(m) {
        Ok(m) if (1..=max).contains(&m) => Ok(m),
        _ => Err(match evaluation_periods {
            Some(n) if m > i128::from(n) => {
                format!("`{m}` is more than evaluationPeriods ({n}); allowed: 1 to {n}")
            }
            Some(n) => format!("`{m}` is not allowed; allowed: 1 to {n}"),
            None => format!("`{m}` is not allowed; allowed: 1 to evaluationPeriods"),
        }),
    }
}

fn check_region(region: &str) -> Result<String, String> {
    if is_region(region) {
        Ok(region.to_owned())
    } else {
        Err(format!(
            "`{region}` is not an AWS region name; expected one like us-east-1 or eu-west-2"
        ))
    }
}

fn check_topic_arn(arn: &str) -> Result<TopicArn, String> {
    arn.parse().map_err(|e: InvalidValue| e.to_string())
}

/// Null counts as absent, as `key:` with nothing after it reads that way in YAML.
fn lookup<'m, T>(
    map: &'m Mapping,
    key: &str,
    check: impl FnOnce(&'m Value) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => check(value).map(Some),
    }
}

fn mapping<'v>(value: &'v Value, what: &str) -> Result<&'v Mapping, String> {
    match value {
        Value::Mapping(map) => Ok(map),
        other => Err(format!("expected {what}, got {}", describe(other))),
    }
}

fn string(value: &Value) -> Result<&str, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!("expected a string, got {}", describe(other))),
    }
}

/// Integers, and floats without a fraction (`300.0` from a JSON producer).
fn whole_number(value: &Value, what: &str) -> Result<i128, String> {
    let Value::Number(n) = value else {
        return Err(format!("expected {what}, got {}", describe(value)));
    };
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e18)
                .map(|f| f as i128)
        })
        .ok_or_else(|| format!("expected {what}, got the number {n}"))
}

fn finite_number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("`{n}` is not allowed; expected a finite number")),
        other => Err(format!("expected a number, got {}", describe(other))),
    }
}

fn parse_name<T: FromStr<Err = UnknownName>>(value: &Value) -> Result<T, String> {
    let name = string(value)?;
    name.parse()
        .map_err(|e: UnknownName| with_suggestion(e.to_string(), name, e.allowed.split(", ")))
}

/// How a value reads in an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(tagged) => format!("a value tagged {}", tagged.tag),
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => describe(other),
    }
}

fn with_suggestion<'c>(
    message: String,
    value: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> String {
    match closest(value, candidates) {
        Some(candidate) => format!("{message}; did you mean `{candidate}`?"),
        None => message,
    }
}

/// The candidate `value` is an obvious typo of: the same but for case, `_`, `-` and
/// spaces, or a few edits away (fewer for short names, where any two edits match).
fn closest<'c>(value: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let normalise = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let value = normalise(value);
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let distance = edit_distance(&value, &normalise(candidate));
            let limit = match candidate.len() {
                0..=3 => 0,
                4..=5 => 1,
                _ => 2,
            };
            (distance <= limit).then_some((distance, candidate))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions
/// (`unti` -> `unit` is one edit). A dozen lines do not warrant a dependency.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "rules.yaml";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:lightsail-alerts";

    /// The example document of SPEC §3, verbatim.
    const SPEC_EXAMPLE: &str = r#"
version: 1
defaults:                      # optional; each field below can be set per rule
  region: us-east-1            # else AWS_REGION
  topicArn: arn:aws:sns:us-east-1:123456789012:lightsail-alerts   # else ALERT_TOPIC_ARN
  severity: warning
rules:
  - name: burst-capacity-low   # required, unique, 1..64 of [A-Za-z0-9_.-]
    description: CPU burst capacity is running out
    instances: [web-1, web-2]  # required (later: globs, "*", tag selectors)
    metric: BurstCapacityPercentage
    statistic: Average         # default: the catalog's
    unit: Percent              # default: the catalog's; any other is an error
    period: 300                # default: the catalog's native period
    comparison: LessThanThreshold   # GreaterThanOrEqualToThreshold | GreaterThanThreshold
                                    # | LessThanThreshold | LessThanOrEqualToThreshold
                                    # (also accepted: ">=", ">", "<", "<=")
    threshold: 20
    evaluationPeriods: 3       # N, default 1; N*period <= 86400
    datapointsToAlarm: 2       # M, 1..=N, default N
    treatMissingData: missing  # missing | ignore | breaching | notBreaching
    severity: critical         # critical | warning | info; default warning
  - name: status-check-failed
    instances: [web-1, web-2, db-1]
    metric: StatusCheckFailed
    comparison: GreaterThanThreshold
    threshold: 0
"#;

    fn none() -> Fallbacks {
        Fallbacks::default()
    }

    fn fallbacks(region: &str, topic_arn: &str) -> Fallbacks {
        Fallbacks {
            region: Some(region.to_owned()),
            topic_arn: Some(topic_arn.to_owned()),
        }
    }

    fn error_lines(text: &str, fallbacks: &Fallbacks) -> Vec<String> {
        match parse(text, SOURCE, fallbacks) {
            Ok(rules) => panic!("expected errors, parsed {rules:?}"),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    /// Fields to set (`Some`) or remove (`None`) in the rule of `one_rule`.
    type Changes<'a> = &'a [(&'a str, Option<&'a str>)];

    /// Changes that only set fields.
    fn set<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, Option<&'a str>)> {
        fields.iter().map(|&(k, v)| (k, Some(v))).collect()
    }

    /// A document with defaults and one valid rule, changed by `changes`: a field with a
    /// value replaces or adds that field, a field with `None` removes it.
    fn one_rule(changes: Changes) -> String {
        let mut fields: Vec<(String, String)> = [
            ("name", "cpu-high"),
            ("instances", "[web-1]"),
            ("metric", "CPUUtilization"),
            ("comparison", "GreaterThanThreshold"),
            ("threshold", "80"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (key, value) in changes {
            let position = fields.iter().position(|(k, _)| k == key);
            match (position, value) {
                (Some(i), Some(value)) => fields[i].1 = value.to_string(),
                (None, Some(value)) => fields.push((key.to_string(), value.to_string())),
                (Some(i), None) => {
                    fields.remove(i);
                }
                (None, None) => {}
            }
        }
        let rule: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("    {k}: {v}"))
            .collect();
        format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\nrules:\n  -\n{}\n",
            rule.join("\n")
        )
    }

    fn rule(name: &str) -> RuleName {
        name.parse().unwrap()
    }

    #[test]
    fn spec_example_parses_with_every_default_filled() {
        let rules = parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap();
        let topic: TopicArn = TOPIC.parse().unwrap();
        assert_eq!(
            rules,
            RuleSet {
                version: 1,
                rules: vec![
                    Rule {
                        name: rule("burst-capacity-low"),
                        description: Some("CPU burst capacity is running out".to_owned()),
                        selection: Selection::names(["web-1", "web-2"]),
                        metric: MetricName::BurstCapacityPercentage,
                        statistic: Statistic::Average,
                        unit: Unit::Percent,
                        period: 300,
                        comparison: Comparison::LessThanThreshold,
                        threshold: 20.0,
                        recovery_threshold: None,
                        evaluation_periods: 3,
                        datapoints_to_alarm: 2,
                        treat_missing_data: TreatMissingData::Missing,
                        severity: Severity::Critical,
                        notify_on: BTreeSet::from([AlarmState::Alarm, AlarmState::Ok]),
                        renotify_minutes: 0,
                        regions: vec!["us-east-1".to_owned()],
                        targets: vec![Target::text(topic.clone())],
                    },
                    Rule {
                        name: rule("status-check-failed"),
                        description: None,
                        selection: Selection::names(["web-1", "web-2", "db-1"]),
                        metric: MetricName::StatusCheckFailed,
                        statistic: Statistic::Sum,
                        unit: Unit::Count,
                        period: 60,
                        comparison: Comparison::GreaterThanThreshold,
                        threshold: 0.0,
                        recovery_threshold: None,
                        evaluation_periods: 1,
                        datapoints_to_alarm: 1,
                        treat_missing_data: TreatMissingData::Missing,
                        severity: Severity::Warning,
                        notify_on: BTreeSet::from([AlarmState::Alarm, AlarmState::Ok]),
                        renotify_minutes: 0,
                        regions: vec!["us-east-1".to_owned()],
                        targets: vec![Target::text(topic)],
                    },
                ],
            }
        );
    }

    #[test]
    fn serialised_rules_show_every_default_with_the_document_field_names() {
        let rules = parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap();
        assert_eq!(
            serde_json::to_value(&rules.rules[1]).unwrap(),
            serde_json::json!({
                "name": "status-check-failed",
                "instances": ["web-1", "web-2", "db-1"],
                "metric": "StatusCheckFailed",
                "statistic": "Sum",
                "unit": "Count",
                "period": 60,
                "comparison": "GreaterThanThreshold",
                "threshold": 0.0,
                "evaluationPeriods": 1,
                "datapointsToAlarm": 1,
                "treatMissingData": "missing",
                "severity": "warning",
                "notifyOn": ["OK", "ALARM"],
                "renotifyMinutes": 0,
                "regions": ["us-east-1"],
                "notify": [{"topicArn": TOPIC, "format": "text"}],
            })
        );
        let json = serde_json::to_string(&rules).unwrap();
        assert!(
            json.starts_with(
                r#"{"version":1,"rules":[{"name":"burst-capacity-low","description":"#
            )
        );
    }

    const SPEC_EXAMPLE_JSON: &str = r#"{
        "version": 1,
        "defaults": {"region": "us-east-1", "severity": "warning",
                     "topicArn": "arn:aws:sns:us-east-1:123456789012:lightsail-alerts"},
        "rules": [
            {"name": "burst-capacity-low", "description": "CPU burst capacity is running out",
             "instances": ["web-1", "web-2"], "metric": "BurstCapacityPercentage",
             "statistic": "Average", "unit": "Percent", "period": 300,
             "comparison": "LessThanThreshold", "threshold": 20, "evaluationPeriods": 3,
             "datapointsToAlarm": 2, "treatMissingData": "missing", "severity": "critical"},
            {"name": "status-check-failed", "instances": ["web-1", "web-2", "db-1"],
             "metric": "StatusCheckFailed", "comparison": "GreaterThanThreshold", "threshold": 0}
        ]
    }"#;

    #[test]
    fn json_documents_parse_like_yaml() {
        let from_json = parse(SPEC_EXAMPLE_JSON, "ALERT_RULES", &none()).unwrap();
        assert_eq!(from_json, parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap());
    }

    #[test]
    fn from_value_agrees_with_parse() {
        let value: serde_json::Value = serde_json::from_str(SPEC_EXAMPLE_JSON).unwrap();
        assert_eq!(
            from_value(value, "event.rules", &none()),
            parse(SPEC_EXAMPLE_JSON, "event.rules", &none())
        );

        let bad = r#"{"version": 1, "rules": [{"name": "x", "instances": "web-1",
                      "metric": "CPU", "comparison": ">", "threshold": "high", "colour": 1}]}"#;
        let value: serde_json::Value = serde_json::from_str(bad).unwrap();
        let from_value = from_value(value, "event.rules", &none()).unwrap_err();
        assert_eq!(from_value, parse(bad, "event.rules", &none()).unwrap_err());
        assert_eq!(from_value.0.len(), 6, "{from_value}");
        assert_eq!(
            from_value.0[0].to_string(),
            "event.rules: rules[0] (x): instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance, \
             got the string \"web-1\""
        );
    }

    #[test]
    fn comparison_symbols_are_accepted_and_spelt_out() {
        for (symbol, comparison) in [
            (">=", Comparison::GreaterThanOrEqualToThreshold),
            (">", Comparison::GreaterThanThreshold),
            ("<", Comparison::LessThanThreshold),
            ("<=", Comparison::LessThanOrEqualToThreshold),
        ] {
            let doc = one_rule(&[("comparison", Some(&format!("\"{symbol}\"")))]);
            let rules = parse(&doc, SOURCE, &none()).unwrap();
            assert_eq!(rules.rules[0].comparison, comparison);
        }
    }

    #[test]
    fn criteria_carry_the_evaluation_fields() {
        let rules = parse(SPEC_EXAMPLE, SOURCE, &none()).unwrap();
        assert_eq!(
            rules.rules[0].criteria(),
            Criteria {
                comparison: Comparison::LessThanThreshold,
                threshold: 20.0,
                period: 300,
                evaluation_periods: 3,
                datapoints_to_alarm: 2,
                treat_missing_data: TreatMissingData::Missing,
            }
        );
    }

    #[test]
    fn each_rule_error_names_the_rule_the_field_and_what_is_allowed() {
        let cases: &[(Changes, &str)] = &[
            (
                &[
                    ("name", Some("burst-capacity-low")),
                    ("metric", Some("BurstCapacityPercentage")),
                    ("unit", Some("Bytes")),
                ],
                "rules[0] (burst-capacity-low): unit: `Bytes` is not published for BurstCapacityPercentage \
                 (Lightsail returns no data for any other unit); allowed: Percent",
            ),
            (
                &[("unit", Some("percent"))],
                "rules[0] (cpu-high): unit: `percent` is not published for CPUUtilization (Lightsail \
                 returns no data for any other unit); allowed: Percent; did you mean `Percent`?",
            ),
            (
                &[("period", Some("1.5"))],
                "rules[0] (cpu-high): period: expected a whole number of seconds, got the number 1.5",
            ),
            (
                &[("period", Some("\"300\""))],
                "rules[0] (cpu-high): period: expected a whole number of seconds, got the string \"300\"",
            ),
            (
                &[("period", Some("60"))],
                "rules[0] (cpu-high): period: `60` is not a valid period for CPUUtilization, which \
                 Lightsail stores every 300 seconds; allowed: a multiple of 300 from 300 to 86400 \
                 (300, 600, 900, ..., 86400)",
            ),
            (
                &[
                    ("metric", Some("StatusCheckFailed")),
                    ("period", Some("90")),
                ],
                "rules[0] (cpu-high): period: `90` is not a valid period for StatusCheckFailed, which \
                 Lightsail stores every 60 seconds; allowed: a multiple of 60 from 60 to 86400 \
                 (60, 120, 180, ..., 86400)",
            ),
            (
                &[("period", Some("172800"))],
                "rules[0] (cpu-high): period: `172800` is not a valid period for CPUUtilization, which \
                 Lightsail stores every 300 seconds; allowed: a multiple of 300 from 300 to 86400 \
                 (300, 600, 900, ..., 86400)",
            ),
            (
                &[("threshold", Some("high"))],
                "rules[0] (cpu-high): threshold: expected a number, got the string \"high\"",
            ),
            (
                &[("threshold", Some(".inf"))],
                "rules[0] (cpu-high): threshold: `.inf` is not allowed; expected a finite number",
            ),
            (
                &[("threshold", None)],
                "rules[0] (cpu-high): threshold: required; a finite number",
            ),
            (
                &[("instances", Some("web-1"))],
                "rules[0] (cpu-high): instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance, \
                 got the string \"web-1\"",
            ),
            (
                &[("instances", Some("[]"))],
                "rules[0] (cpu-high): instances: must name at least one instance; expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance",
            ),
            (
                &[("instances", Some("[web-1, db-1, web-1]"))],
                "rules[0] (cpu-high): instances[2]: `web-1` is listed twice (also instances[0])",
            ),
            (
                &[("instances", Some("[web-1, '']"))],
                "rules[0] (cpu-high): instances[1]: is empty; expected an instance name or a glob",
            ),
            (
                &[("instances", Some("[web-1, 2]"))],
                "rules[0] (cpu-high): instances[1]: expected an instance name or a glob (a string; \
                 quote globs, e.g. \"web-*\"), got the number 2",
            ),
            (
                &[("instances", None)],
                "rules[0] (cpu-high): instances: required; a list of instance names and globs, e.g. \
                 [web-1, \"web-*\"], or \"*\" for every instance",
            ),
            (
                &[("metric", Some("CPU"))],
                "rules[0] (cpu-high): metric: `CPU` is not a valid metric; allowed: CPUUtilization, \
                 BurstCapacityPercentage, BurstCapacityTime, NetworkIn, NetworkOut, StatusCheckFailed, \
                 StatusCheckFailed_Instance, StatusCheckFailed_System, MetadataNoToken",
            ),
            (
                &[("metric", Some("cpu_utilization"))],
                "rules[0] (cpu-high): metric: `cpu_utilization` is not a valid metric; allowed: \
                 CPUUtilization, BurstCapacityPercentage, BurstCapacityTime, NetworkIn, NetworkOut, \
                 StatusCheckFailed, StatusCheckFailed_Instance, StatusCheckFailed_System, \
                 MetadataNoToken; did you mean `CPUUtilization`?",
            ),
            (
                &[("statistic", Some("Mean"))],
                "rules[0] (cpu-high): statistic: `Mean` is not a valid statistic; allowed: Minimum, \
                 Maximum, Sum, Average, SampleCount",
            ),
            (
                &[("comparison", Some("\"=>\""))],
                "rules[0] (cpu-high): comparison: `=>` is not a valid comparison; allowed: \
                 GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
                 LessThanOrEqualToThreshold, <=",
            ),
            (
                &[("comparison", None)],
                "rules[0] (cpu-high): comparison: required; allowed: GreaterThanOrEqualToThreshold, >=, \
                 GreaterThanThreshold, >, LessThanThreshold, <, LessThanOrEqualToThreshold, <=",
            ),
            (
                &[("evaluationPeriods", Some("0"))],
                "rules[0] (cpu-high): evaluationPeriods: `0` is not allowed; allowed: a whole number \
                 >= 1 with evaluationPeriods * period <= 86400",
            ),
            (
                &[("evaluationPeriods", Some("300"))],
                "rules[0] (cpu-high): evaluationPeriods: `300` periods of 300 s span 90000 s, more \
                 than evaluationPeriods * period <= 86400 s allows; allowed: 1 to 288",
            ),
            (
                &[
                    ("evaluationPeriods", Some("3")),
                    ("datapointsToAlarm", Some("4")),
                ],
                "rules[0] (cpu-high): datapointsToAlarm: `4` is more than evaluationPeriods (3); \
                 allowed: 1 to 3",
            ),
            (
                &[("datapointsToAlarm", Some("2"))],
                "rules[0] (cpu-high): datapointsToAlarm: `2` is more than evaluationPeriods (1); \
                 allowed: 1 to 1",
            ),
            (
                &[("datapointsToAlarm", Some("0"))],
                "rules[0] (cpu-high): datapointsToAlarm: `0` is not allowed; allowed: 1 to 1",
            ),
            (
                &[("treatMissingData", Some("Missing"))],
                "rules[0] (cpu-high): treatMissingData: `Missing` is not a valid treatMissingData; \
                 allowed: missing, ignore, breaching, notBreaching; did you mean `missing`?",
            ),
            (
                &[("severity", Some("high"))],
                "rules[0] (cpu-high): severity: `high` is not a valid severity; allowed: critical, \
                 warning, info",
            ),
            (
                &[("region", Some("us-east"))],
                "rules[0] (cpu-high): region: `us-east` is not an AWS region name; expected one like \
                 us-east-1 or eu-west-2",
            ),
            (
                &[(
                    "topicArn",
                    Some("arn:aws:sqs:us-east-1:123456789012:alerts"),
                )],
                "rules[0] (cpu-high): topicArn: `arn:aws:sqs:us-east-1:123456789012:alerts` is not an \
                 SNS topic ARN (the service is `sqs`, not `sns`); expected \
                 arn:aws:sns:<region>:<12-digit account>:<topic name>",
            ),
            (
                &[("description", Some("5"))],
                "rules[0] (cpu-high): description: expected a string, got the number 5",
            ),
            (
                &[("name", Some("cpu high"))],
                "rules[0]: name: `cpu high` is not a valid rule name (' ' is not allowed); allowed: \
                 1 to 64 characters from A-Z a-z 0-9 _ . -",
            ),
            (
                &[("name", Some("[cpu]"))],
                "rules[0]: name: expected a string, got a list",
            ),
            (
                &[("name", None)],
                "rules[0]: name: required; a unique name of 1 to 64 characters from A-Z a-z 0-9 _ . -",
            ),
            (
                &[("colour", Some("red"))],
                "rules[0] (cpu-high): colour: unknown field `colour`; allowed: name, description, \
                 instances, exclude, tags, states, metric, statistic, unit, period, comparison, threshold, \
                 recoveryThreshold, evaluationPeriods, datapointsToAlarm, treatMissingData, severity, \
                 notifyOn, renotifyMinutes, region, regions, topicArn, notify",
            ),
            // A misspelt required field is one error, not also "threshold: required".
            (
                &[("threshold", None), ("treshold", Some("80"))],
                "rules[0] (cpu-high): treshold: unknown field `treshold` (did you mean `threshold`?); \
                 allowed: name, description, instances, exclude, tags, states, metric, statistic, unit, period, comparison, \
                 threshold, recoveryThreshold, evaluationPeriods, datapointsToAlarm, treatMissingData, \
                 severity, notifyOn, renotifyMinutes, region, regions, topicArn, notify",
            ),
            (
                &[("evaluation_periods", Some("3"))],
                "rules[0] (cpu-high): evaluation_periods: unknown field `evaluation_periods` (did you \
                 mean `evaluationPeriods`?); allowed: name, description, instances, exclude, tags, states, metric, statistic, \
                 unit, period, comparison, threshold, recoveryThreshold, evaluationPeriods, \
                 datapointsToAlarm, treatMissingData, severity, notifyOn, renotifyMinutes, region, \
                 regions, topicArn, notify",
            ),
            (
                &[("Unit", Some("Percent"))],
                "rules[0] (cpu-high): Unit: unknown field `Unit` (did you mean `unit`?); allowed: \
                 name, description, instances, exclude, tags, states, metric, statistic, unit, period, comparison, \
                 threshold, recoveryThreshold, evaluationPeriods, datapointsToAlarm, treatMissingData, \
                 severity, notifyOn, renotifyMinutes, region, regions, topicArn, notify",
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [format!("{SOURCE}: {expected}")],
                "document:\n{doc}"
            );
        }
    }

    #[test]
    fn each_document_error_names_the_field_and_what_is_allowed() {
        let rule =
            "{name: a, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 1}";
        let cases: &[(&str, &[&str])] = &[
            (
                "- version: 1",
                &[
                    "expected a mapping with `version`, `rules` and optionally `defaults`, got a list",
                ],
            ),
            (
                "",
                &[
                    "expected a mapping with `version`, `rules` and optionally `defaults`, got nothing",
                ],
            ),
            (
                &format!("version: 2\nrules: [{rule}]"),
                &["version: `2` is not a supported version; allowed: 1"],
            ),
            (
                &format!("version: '1'\nrules: [{rule}]"),
                &["version: expected the number 1, got the string \"1\""],
            ),
            (
                &format!("rules: [{rule}]"),
                &["version: required; allowed: 1 (start the document with `version: 1`)"],
            ),
            (
                "version: 1",
                &["rules: required; a non-empty list of rules"],
            ),
            (
                "version: 1\nrules: []",
                &["rules: must contain at least one rule"],
            ),
            (
                "version: 1\nrules: {a: 1}",
                &["rules: expected a list of rules, got a mapping"],
            ),
            (
                "version: 1\nrules: [web-1]",
                &[
                    "rules[0]: expected a mapping of rule fields (name, instances, metric, ...), got the \
                   string \"web-1\"",
                ],
            ),
            (
                &format!("version: 1\nrule: [{rule}]"),
                &[
                    "rule: unknown field `rule` (did you mean `rules`?); allowed: version, defaults, rules",
                ],
            ),
            (
                &format!("version: 1\ndefaults: us-east-1\nrules: [{rule}]"),
                &[
                    "defaults: expected a mapping of region (or regions), topicArn (or notify), severity, \
                     notifyOn, renotifyMinutes, got the string \"us-east-1\"",
                ],
            ),
            (
                &format!(
                    "version: 1\ndefaults: {{region: useast1, topicArn: {TOPIC}}}\nrules: [{rule}, {}]",
                    rule.replace("a,", "b,")
                ),
                &[
                    "defaults.region: `useast1` is not an AWS region name; expected one like us-east-1 or \
                   eu-west-2",
                ],
            ),
            (
                &format!(
                    "version: 1\ndefaults: {{region: us-east-1, topicArn: {TOPIC}, severity: fatal}}\nrules: [{rule}]"
                ),
                &[
                    "defaults.severity: `fatal` is not a valid severity; allowed: critical, warning, info",
                ],
            ),
            (
                &format!(
                    "version: 1\ndefaults: {{region: us-east-1, topicArn: {TOPIC}}}\nrules: [{rule}, {rule}]"
                ),
                &["rules[1] (a): name: `a` is already the name of rules[0]; names must be unique"],
            ),
        ];
        let env = fallbacks("us-east-1", TOPIC);
        for (doc, expected) in cases {
            let expected: Vec<String> = expected.iter().map(|e| format!("{SOURCE}: {e}")).collect();
            assert_eq!(error_lines(doc, &env), expected, "document:\n{doc}");
        }

        let unplaced: &[(&str, &[&str])] = &[
            // A misspelt default is one error, not "region: required" in every rule.
            (
                &format!(
                    "version: 1\ndefaults: {{regoin: us-east-1, topicArn: {TOPIC}}}\nrules: [{rule}]"
                ),
                &[
                    "defaults.regoin: unknown field `regoin` (did you mean `region`?); allowed: region, \
                   regions, topicArn, severity, notify, notifyOn, renotifyMinutes",
                ],
            ),
            (
                &format!("version: 1\nrules: [{rule}]"),
                &[
                    "rules[0] (a): region: required; set `region` or `regions` on the rule, `defaults.region` in \
                     the document, or the AWS_REGION environment variable",
                    "rules[0] (a): topicArn: required; set `topicArn` on the rule, `defaults.topicArn` \
                     in the document, or the ALERT_TOPIC_ARN environment variable",
                ],
            ),
        ];
        for (doc, expected) in unplaced {
            let expected: Vec<String> = expected.iter().map(|e| format!("{SOURCE}: {e}")).collect();
            assert_eq!(error_lines(doc, &none()), expected, "document:\n{doc}");
        }
    }

    #[test]
    fn yaml_syntax_errors_are_one_error_with_a_position() {
        let lines = error_lines("version: 1\nrules:\n  - name: [a\n", &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("rules.yaml: not a valid YAML or JSON document: "),
            "{lines:?}"
        );
        assert!(lines[0].contains("line 4 column 1"), "{lines:?}");
        let lines = error_lines("{\"version\": 1,, }", &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("line 1 column"), "{lines:?}");
    }

    #[test]
    fn every_error_of_a_document_is_reported_at_once() {
        let doc = format!(
            r#"
version: 1
defaults:
  topicArn: {TOPIC}
  severity: urgent
owner: ops
rules:
  - name: cpu-high
    instances: web-1
    metric: CPUUtilization
    comparison: ">"
    threshold: high
    period: 60
    region: us-east-1
  - name: burst-capacity-low
    instances: [web-1]
    metric: BurstCapacityPercentage
    unit: Bytes
    comparison: LessThanThreshold
    threshold: 20
    evaluationPeriods: 3
    datapointsToAlarm: 5
    treshold: 10
  - name: cpu-high
    instances: [db-1]
    metric: NetworkIn
    comparison: gt
"#
        );
        let errors = parse(&doc, SOURCE, &none()).unwrap_err();
        let expected = [
            "rules.yaml: defaults.severity: `urgent` is not a valid severity; allowed: critical, warning, info",
            "rules.yaml: rules[0] (cpu-high): instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every instance, \
             got the string \"web-1\"",
            "rules.yaml: rules[0] (cpu-high): period: `60` is not a valid period for CPUUtilization, which \
             Lightsail stores every 300 seconds; allowed: a multiple of 300 from 300 to 86400 \
             (300, 600, 900, ..., 86400)",
            "rules.yaml: rules[0] (cpu-high): threshold: expected a number, got the string \"high\"",
            "rules.yaml: rules[1] (burst-capacity-low): unit: `Bytes` is not published for \
             BurstCapacityPercentage (Lightsail returns no data for any other unit); allowed: Percent",
            "rules.yaml: rules[1] (burst-capacity-low): datapointsToAlarm: `5` is more than \
             evaluationPeriods (3); allowed: 1 to 3",
            "rules.yaml: rules[1] (burst-capacity-low): region: required; set `region` or `regions` on the rule, \
             `defaults.region` in the document, or the AWS_REGION environment variable",
            "rules.yaml: rules[1] (burst-capacity-low): treshold: unknown field `treshold` (did you mean \
             `threshold`?); allowed: name, description, instances, exclude, tags, states, metric, statistic, unit, period, \
             comparison, threshold, recoveryThreshold, evaluationPeriods, datapointsToAlarm, \
             treatMissingData, severity, notifyOn, renotifyMinutes, region, regions, topicArn, notify",
            "rules.yaml: rules[2] (cpu-high): name: `cpu-high` is already the name of rules[0]; names \
             must be unique",
            "rules.yaml: rules[2] (cpu-high): comparison: `gt` is not a valid comparison; allowed: \
             GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
             LessThanOrEqualToThreshold, <=",
            "rules.yaml: rules[2] (cpu-high): threshold: required; a finite number",
            "rules.yaml: rules[2] (cpu-high): region: required; set `region` or `regions` on the rule, \
             `defaults.region` in the document, or the AWS_REGION environment variable",
            "rules.yaml: owner: unknown field `owner`; allowed: version, defaults, rules",
        ];
        let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines, expected);
        let display = errors.to_string();
        assert!(
            display.starts_with("13 errors in the rules:\n  rules.yaml: defaults.severity: "),
            "{display}"
        );
        assert_eq!(display.lines().count(), 14);
        assert!(
            display
                .lines()
                .skip(1)
                .all(|line| line.starts_with("  rules.yaml: ")),
            "{display}"
        );
    }

    #[test]
    fn one_error_reads_in_the_singular() {
        let errors = parse(&one_rule(&[("period", Some("61"))]), SOURCE, &none()).unwrap_err();
        assert!(
            errors
                .to_string()
                .starts_with("1 error in the rules:\n  rules.yaml: rules[0] (cpu-high): period: ")
        );
    }

    #[test]
    fn region_and_topic_come_from_the_rule_then_defaults_then_fallbacks() {
        let env = fallbacks("eu-west-1", "arn:aws:sns:eu-west-1:111111111111:from-env");
        let doc = |defaults: &str| {
            format!(
                "version: 1\n{defaults}rules:\n\
                 - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n\
                 - {{name: b, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1,\n   \
                   region: ap-southeast-2, topicArn: 'arn:aws:sns:ap-southeast-2:333333333333:own.fifo'}}\n"
            )
        };
        let placed = |rules: &RuleSet| -> Vec<(String, String)> {
            rules
                .rules
                .iter()
                .map(|r| (r.regions[0].clone(), r.targets[0].topic_arn.to_string()))
                .collect()
        };
        let own = (
            "ap-southeast-2".to_owned(),
            "arn:aws:sns:ap-southeast-2:333333333333:own.fifo".to_owned(),
        );

        let from_env = parse(&doc(""), SOURCE, &env).unwrap();
        assert_eq!(
            placed(&from_env),
            [
                (
                    "eu-west-1".to_owned(),
                    "arn:aws:sns:eu-west-1:111111111111:from-env".to_owned()
                ),
                own.clone()
            ]
        );

        let defaults = "defaults:\n  region: us-west-2\n  topicArn: arn:aws:sns:us-west-2:222222222222:from-defaults\n";
        let from_defaults = parse(&doc(defaults), SOURCE, &env).unwrap();
        assert_eq!(
            placed(&from_defaults),
            [
                (
                    "us-west-2".to_owned(),
                    "arn:aws:sns:us-west-2:222222222222:from-defaults".to_owned()
                ),
                own
            ]
        );

        let severity = parse(&doc("defaults:\n  severity: info\n"), SOURCE, &env).unwrap();
        assert_eq!(severity.rules[0].severity, Severity::Info);
    }

    #[test]
    fn blank_fallbacks_count_as_unset_and_bad_ones_say_where_they_came_from() {
        let doc = "version: 1\nrules:\n- {name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}\n";
        let lines = error_lines(doc, &fallbacks("", "  "));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("rules.yaml: rules[0] (a): region: required; "),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("rules.yaml: rules[0] (a): topicArn: required; "),
            "{lines:?}"
        );

        let lines = error_lines(doc, &fallbacks("nowhere", "arn:aws:sns:us-east-1:1234:t"));
        assert_eq!(
            lines,
            [
                "rules.yaml: rules[0] (a): region: from AWS_REGION: `nowhere` is not an AWS region \
                 name; expected one like us-east-1 or eu-west-2",
                "rules.yaml: rules[0] (a): topicArn: from ALERT_TOPIC_ARN: \
                 `arn:aws:sns:us-east-1:1234:t` is not an SNS topic ARN (the account `1234` is not 12 \
                 digits); expected arn:aws:sns:<region>:<12-digit account>:<topic name>",
            ]
        );
    }

    #[test]
    fn merge_keys_share_fields_between_rules() {
        let doc = format!(
            "version: 1\ndefaults: {{region: us-east-1, topicArn: {TOPIC}}}\nrules:\n\
             - &cpu {{name: cpu-warn, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n\
             - {{<<: *cpu, name: cpu-crit, threshold: 95, severity: critical}}\n"
        );
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        assert_eq!(rules.rules[1].name.as_str(), "cpu-crit");
        assert_eq!(rules.rules[1].metric, MetricName::CpuUtilization);
        assert_eq!(rules.rules[1].threshold, 95.0);
    }

    #[test]
    fn whole_floats_are_whole_numbers() {
        let rules = parse(&one_rule(&[("period", Some("600.0"))]), SOURCE, &none()).unwrap();
        assert_eq!(rules.rules[0].period, 600);
    }

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

    const OPS: &str = "arn:aws:sns:us-east-1:123456789012:ops";
    const MACHINES: &str = "arn:aws:sns:eu-west-1:123456789012:machines.fifo";
    const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";

    fn target(arn: &str, format: Format) -> Target {
        Target {
            topic_arn: arn.parse().unwrap(),
            format,
        }
    }

    #[test]
    fn notify_lists_the_targets_and_their_formats() {
        let notify = format!(
            "[{{topicArn: {OPS}}}, {{topicArn: '{MACHINES}', format: json}}, \
             {{topicArn: {CHAT}, format: chat}}]"
        );
        // The rule's `notify` wins over `defaults.topicArn`.
        let rules = parse(&one_rule(&[("notify", Some(&notify))]), SOURCE, &none()).unwrap();
        assert_eq!(
            rules.rules[0].targets,
            [
                target(OPS, Format::Text),
                target(MACHINES, Format::Json),
                target(CHAT, Format::Chat),
            ]
        );
        assert_eq!(
            serde_json::to_value(&rules.rules[0]).unwrap()["notify"],
            serde_json::json!([
                {"topicArn": OPS, "format": "text"},
                {"topicArn": MACHINES, "format": "json"},
                {"topicArn": CHAT, "format": "chat"},
            ])
        );
    }

    #[test]
    fn defaults_notify_serves_rules_without_a_target_of_their_own() {
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  notify: [{{topicArn: {OPS}, format: chat}}]\n\
             rules:\n\
             - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n\
             - {{name: b, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1, topicArn: {CHAT}}}\n"
        );
        let rules = parse(&doc, SOURCE, &fallbacks("us-east-1", MACHINES)).unwrap();
        assert_eq!(rules.rules[0].targets, [target(OPS, Format::Chat)]);
        assert_eq!(rules.rules[1].targets, [target(CHAT, Format::Text)]);
    }

    #[test]
    fn each_notify_error_names_the_entry_the_field_and_what_is_allowed() {
        let cases: &[(&str, Changes, &str)] = &[
            (
                "both",
                &[
                    ("topicArn", Some(OPS)),
                    ("notify", Some(&format!("[{{topicArn: {CHAT}}}]"))),
                ],
                "notify: `topicArn` and `notify` are both set; use one: `notify` alone (list the \
                 topic there too: {topicArn: <arn>, format: text}), or `topicArn` alone for one \
                 `text` target",
            ),
            (
                "empty",
                &[("notify", Some("[]"))],
                "notify: must list at least one target; expected a list like [{topicArn: \
                 arn:aws:sns:...:alerts, format: json}] (format: text, json or chat; default text)",
            ),
            (
                "not a list",
                &[("notify", Some(OPS))],
                "notify: expected a list like [{topicArn: arn:aws:sns:...:alerts, format: json}] \
                 (format: text, json or chat; default text), got the string \
                 \"arn:aws:sns:us-east-1:123456789012:ops\"",
            ),
            (
                "entry not a mapping",
                &[("notify", Some(&format!("[{OPS}]")))],
                "notify[0]: expected a mapping of topicArn and format, got the string \
                 \"arn:aws:sns:us-east-1:123456789012:ops\"",
            ),
            (
                "bad arn",
                &[(
                    "notify",
                    Some("[{topicArn: 'arn:aws:sqs:us-east-1:123456789012:q'}]"),
                )],
                "notify[0].topicArn: `arn:aws:sqs:us-east-1:123456789012:q` is not an SNS topic ARN \
                 (the service is `sqs`, not `sns`); expected arn:aws:sns:<region>:<12-digit \
                 account>:<topic name>",
            ),
            (
                "bad format",
                &[(
                    "notify",
                    Some(&format!("[{{topicArn: {OPS}, format: html}}]")),
                )],
                "notify[0].format: `html` is not a valid format; allowed: text, json, chat",
            ),
            (
                "format typo",
                &[(
                    "notify",
                    Some(&format!("[{{topicArn: {OPS}, fromat: json}}]")),
                )],
                "notify[0].fromat: unknown field `fromat` (did you mean `format`?); allowed: \
                 topicArn, format",
            ),
            (
                "missing arn",
                &[("notify", Some("[{format: json}]"))],
                "notify[0].topicArn: required; the ARN of the SNS topic to publish to",
            ),
            // A misspelt topicArn is one error, not also "required".
            (
                "arn typo",
                &[("notify", Some(&format!("[{{topicarn: {OPS}}}]")))],
                "notify[0].topicarn: unknown field `topicarn` (did you mean `topicArn`?); allowed: \
                 topicArn, format",
            ),
            (
                "duplicate",
                &[(
                    "notify",
                    Some(&format!(
                        "[{{topicArn: {OPS}}}, {{topicArn: {OPS}, format: json}}]"
                    )),
                )],
                "notify[1].topicArn: `arn:aws:sns:us-east-1:123456789012:ops` is already the topic \
                 of notify[0]; list each topic once, in one format",
            ),
        ];
        for (case, changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [format!("{SOURCE}: rules[0] (cpu-high): {expected}")],
                "{case}; document:\n{doc}"
            );
        }

        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {OPS}\n  notify: [{{topicArn: {CHAT}}}]\n\
             rules:\n- {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n"
        );
        let lines = error_lines(&doc, &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "rules.yaml: defaults.notify: `topicArn` and `notify` are both set; use one:"
            ),
            "{lines:?}"
        );
    }

    fn states(list: &[AlarmState]) -> BTreeSet<AlarmState> {
        list.iter().copied().collect()
    }

    #[test]
    fn notification_policy_defaults_to_transitions_into_alarm_and_ok() {
        let rules = parse(&one_rule(&[]), SOURCE, &none()).unwrap();
        let rule = &rules.rules[0];
        assert_eq!(rule.notify_on, states(&[AlarmState::Alarm, AlarmState::Ok]));
        assert_eq!(rule.renotify_minutes, 0);
        assert_eq!(rule.recovery_threshold, None);
        assert_eq!(rule.policy(), Policy::default());
        let json = serde_json::to_value(rule).unwrap();
        assert_eq!(json["notifyOn"], serde_json::json!(["OK", "ALARM"]));
        assert_eq!(json["renotifyMinutes"], 0);
        assert!(json.get("recoveryThreshold").is_none(), "{json}");
    }

    #[test]
    fn notify_on_renotify_minutes_and_recovery_threshold_are_read() {
        let doc = one_rule(&[
            ("notifyOn", Some("[INSUFFICIENT_DATA, ALARM, OK]")),
            ("renotifyMinutes", Some("60")),
            ("recoveryThreshold", Some("70")),
        ]);
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        let rule = &rules.rules[0];
        let all = states(&[
            AlarmState::Alarm,
            AlarmState::Ok,
            AlarmState::InsufficientData,
        ]);
        assert_eq!(rule.notify_on, all);
        assert_eq!(rule.renotify_minutes, 60);
        assert_eq!(rule.recovery_threshold, Some(70.0));
        assert_eq!(
            rule.policy(),
            Policy {
                notify_on: all,
                renotify_minutes: 60
            }
        );
        let json = serde_json::to_value(rule).unwrap();
        assert_eq!(
            json["notifyOn"],
            serde_json::json!(["OK", "ALARM", "INSUFFICIENT_DATA"])
        );
        assert_eq!(json["renotifyMinutes"], 60);
        assert_eq!(json["recoveryThreshold"], 70.0);

        // The bounds, and the safe side for each comparison.
        for (changes, recovery) in [
            (&[("renotifyMinutes", Some("10080"))][..], None),
            (&[("notifyOn", Some("[OK]"))][..], None),
            (
                &[
                    ("comparison", Some("'<'")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("30")),
                ][..],
                Some(30.0),
            ),
            (
                &[
                    ("comparison", Some("'<='")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("20.5")),
                ][..],
                Some(20.5),
            ),
            (
                &[
                    ("comparison", Some("'>='")),
                    ("threshold", Some("80")),
                    ("recoveryThreshold", Some("79.9")),
                ][..],
                Some(79.9),
            ),
        ] {
            let rules = parse(&one_rule(changes), SOURCE, &none()).unwrap();
            assert_eq!(rules.rules[0].recovery_threshold, recovery, "{changes:?}");
        }
    }

    #[test]
    fn notification_policy_comes_from_defaults_unless_the_rule_sets_it() {
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  notifyOn: [ALARM]\n  renotifyMinutes: 30\n\
             rules:\n\
             - {{name: a, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1}}\n\
             - {{name: b, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1, \
                 notifyOn: [ALARM, OK, INSUFFICIENT_DATA], renotifyMinutes: 0}}\n\
             - {{name: c, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1, \
                 notifyOn: [OK], renotifyMinutes: 0}}\n"
        );
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        assert_eq!(
            rules.rules[0].policy(),
            Policy {
                notify_on: states(&[AlarmState::Alarm]),
                renotify_minutes: 30
            }
        );
        assert_eq!(rules.rules[1].notify_on.len(), 3);
        assert_eq!(rules.rules[1].renotify_minutes, 0);
        assert_eq!(rules.rules[2].notify_on, states(&[AlarmState::Ok]));
    }

    #[test]
    fn each_notification_policy_error_names_the_field_and_what_is_allowed() {
        let cases: &[(Changes, &str)] = &[
            (
                &[("notifyOn", Some("[]"))],
                "notifyOn: must list at least one state; allowed: ALARM, OK, INSUFFICIENT_DATA \
                 (default [ALARM, OK])",
            ),
            (
                &[("notifyOn", Some("ALARM"))],
                "notifyOn: expected a list of states like [ALARM, OK], got the string \"ALARM\"; \
                 allowed: ALARM, OK, INSUFFICIENT_DATA",
            ),
            (
                &[("notifyOn", Some("[ALARM, alarm]"))],
                "notifyOn[1]: `alarm` is not a valid state; allowed: ALARM, OK, INSUFFICIENT_DATA; \
                 did you mean `ALARM`?",
            ),
            (
                &[("notifyOn", Some("[INSUFFICIENT]"))],
                "notifyOn[0]: `INSUFFICIENT` is not a valid state; allowed: ALARM, OK, \
                 INSUFFICIENT_DATA",
            ),
            (
                &[("notifyOn", Some("[OK, 1]"))],
                "notifyOn[1]: expected a string, got the number 1",
            ),
            (
                &[("notifyOn", Some("[ALARM, OK, ALARM]"))],
                "notifyOn[2]: `ALARM` is listed twice (also notifyOn[0])",
            ),
            (
                &[("renotifyMinutes", Some("-1"))],
                "renotifyMinutes: `-1` is not allowed; allowed: a whole number of minutes from 0 \
                 (never) to 10080 (a week)",
            ),
            (
                &[("renotifyMinutes", Some("10081"))],
                "renotifyMinutes: `10081` is not allowed; allowed: a whole number of minutes from 0 \
                 (never) to 10080 (a week)",
            ),
            (
                &[("renotifyMinutes", Some("1.5"))],
                "renotifyMinutes: expected a whole number of minutes; allowed: a whole number of \
                 minutes from 0 (never) to 10080 (a week), got the number 1.5",
            ),
            (
                &[("renotifyMinutes", Some("'60'"))],
                "renotifyMinutes: expected a whole number of minutes; allowed: a whole number of \
                 minutes from 0 (never) to 10080 (a week), got the string \"60\"",
            ),
            (
                &[
                    ("notifyOn", Some("[OK, INSUFFICIENT_DATA]")),
                    ("renotifyMinutes", Some("60")),
                ],
                "renotifyMinutes: renotifyMinutes 60 would never send a reminder: a reminder repeats \
                 the ALARM notice, and notifyOn [OK, INSUFFICIENT_DATA] leaves ALARM out; add ALARM \
                 to notifyOn, or set renotifyMinutes to 0",
            ),
            (
                &[
                    ("comparison", Some("LessThanThreshold")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("10")),
                ],
                "recoveryThreshold: `10` is on the breaching side of threshold 20 (values < 20 \
                 breach); use a value above 20, e.g. 30",
            ),
            (
                &[
                    ("comparison", Some("LessThanOrEqualToThreshold")),
                    ("threshold", Some("20")),
                    ("recoveryThreshold", Some("20")),
                ],
                "recoveryThreshold: `20` is threshold 20 itself, so it would change nothing; use a \
                 value above 20, e.g. 30",
            ),
            (
                &[("recoveryThreshold", Some("90"))],
                "recoveryThreshold: `90` is on the breaching side of threshold 80 (values > 80 \
                 breach); use a value below 80, e.g. 70",
            ),
            (
                &[
                    ("comparison", Some("'>'")),
                    ("threshold", Some("0")),
                    ("recoveryThreshold", Some("0.5")),
                ],
                "recoveryThreshold: `0.5` is on the breaching side of threshold 0 (values > 0 \
                 breach); use a value below 0, e.g. -1",
            ),
            (
                &[("recoveryThreshold", Some(".nan"))],
                "recoveryThreshold: `.nan` is not allowed; expected a finite number",
            ),
            (
                &[("recoveryThreshold", Some("low"))],
                "recoveryThreshold: expected a number, got the string \"low\"",
            ),
            // Without a valid comparison it cannot be checked: one error, the comparison's.
            (
                &[
                    ("comparison", Some("above")),
                    ("recoveryThreshold", Some("90")),
                ],
                "comparison: `above` is not a valid comparison; allowed: \
                 GreaterThanOrEqualToThreshold, >=, GreaterThanThreshold, >, LessThanThreshold, <, \
                 LessThanOrEqualToThreshold, <=",
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(changes);
            assert_eq!(
                error_lines(&doc, &none()),
                [format!("{SOURCE}: rules[0] (cpu-high): {expected}")],
                "document:\n{doc}"
            );
        }
    }

    #[test]
    fn a_reminder_without_alarm_notices_is_reported_where_it_was_made() {
        let rule = |name: &str, extra: &str| {
            format!(
                "- {{name: {name}, instances: [i], metric: NetworkIn, comparison: '>', threshold: 1{extra}}}\n"
            )
        };
        // Made in `defaults`: reported once there, not again in each rule inheriting it.
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  notifyOn: [OK]\n  renotifyMinutes: 15\n\
             rules:\n{}{}",
            rule("a", ""),
            rule("b", "")
        );
        assert_eq!(
            error_lines(&doc, &none()),
            [
                "rules.yaml: defaults.renotifyMinutes: renotifyMinutes 15 would never send a reminder: \
              a reminder repeats the ALARM notice, and notifyOn [OK] leaves ALARM out; add ALARM to \
              notifyOn, or set renotifyMinutes to 0"
            ]
        );
        // A rule's notifyOn against the default renotifyMinutes: the rule's field.
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  renotifyMinutes: 15\n\
             rules:\n{}{}",
            rule("a", ""),
            rule("b", ", notifyOn: [OK]")
        );
        assert_eq!(
            error_lines(&doc, &none()),
            [
                "rules.yaml: rules[1] (b): notifyOn: renotifyMinutes 15 (from defaults) would never \
              send a reminder: a reminder repeats the ALARM notice, and notifyOn [OK] leaves ALARM \
              out; add ALARM to notifyOn, or set renotifyMinutes to 0"
            ]
        );
        // Each field's own errors in `defaults`, and recoveryThreshold is per rule only.
        let doc = format!(
            "version: 1\ndefaults:\n  region: us-east-1\n  topicArn: {TOPIC}\n  notifyOn: [ALARM, ALARM]\n  \
             renotifyMinutes: 20000\n  recoveryThreshold: 5\nrules:\n{}",
            rule("a", "")
        );
        assert_eq!(
            error_lines(&doc, &none()),
            [
                "rules.yaml: defaults.notifyOn[1]: `ALARM` is listed twice (also notifyOn[0])",
                "rules.yaml: defaults.renotifyMinutes: `20000` is not allowed; allowed: a whole \
                 number of minutes from 0 (never) to 10080 (a week)",
                "rules.yaml: defaults.recoveryThreshold: unknown field `recoveryThreshold`; allowed: \
                 region, regions, topicArn, severity, notify, notifyOn, renotifyMinutes",
            ]
        );
    }

    #[test]
    fn selections_read_names_globs_everything_exclude_tags_states_and_regions() {
        let doc = one_rule(&set(&[
            ("instances", "[db-1, \"web-*\", \"cache-[0-9]\"]"),
            ("exclude", "[\"web-test-*\", web-old]"),
            (
                "tags",
                "{env: prod, role: [web, api], tier: 1, backup: \"*\"}",
            ),
            ("states", "[running, stopping]"),
            ("regions", "[eu-west-1, us-east-1]"),
        ]));
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        let rule = &rules.rules[0];
        let texts = |list: &[Selector]| {
            list.iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            texts(&rule.selection.instances),
            ["db-1", "web-*", "cache-[0-9]"]
        );
        assert!(!rule.selection.instances[0].is_glob() && rule.selection.instances[1].is_glob());
        assert_eq!(texts(&rule.selection.exclude), ["web-test-*", "web-old"]);
        let values = |v: &[&str]| TagMatch::AnyOf(v.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(
            rule.selection.tags,
            BTreeMap::from([
                ("backup".to_owned(), TagMatch::Present),
                ("env".to_owned(), values(&["prod"])),
                ("role".to_owned(), values(&["api", "web"])),
                ("tier".to_owned(), values(&["1"])),
            ])
        );
        assert_eq!(
            rule.selection.states,
            Some(BTreeSet::from([
                "running".to_owned(),
                "stopping".to_owned()
            ]))
        );
        assert_eq!(rule.regions, ["eu-west-1", "us-east-1"]);
        // Serialised with the document's field names, as `validate` prints them.
        let value = serde_json::to_value(rule).unwrap();
        assert_eq!(
            value["instances"],
            serde_json::json!(["db-1", "web-*", "cache-[0-9]"])
        );
        assert_eq!(value["tags"]["role"], serde_json::json!(["api", "web"]));
        assert_eq!(value["tags"]["env"], serde_json::json!("prod"));
        assert_eq!(value["tags"]["backup"], serde_json::json!("*"));
        assert_eq!(
            value["regions"],
            serde_json::json!(["eu-west-1", "us-east-1"])
        );

        let everything =
            parse(&one_rule(&set(&[("instances", "\"*\"")])), SOURCE, &none()).unwrap();
        assert!(everything.rules[0].selection.instances[0].is_everything());
        assert_eq!(
            everything.rules[0].regions,
            ["us-east-1"],
            "from defaults.region"
        );
        let doc = "version: 1\ndefaults: {regions: [us-east-1, eu-west-1]}\nrules:\n  - {name: a, \
                   instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 1, \
                   topicArn: 'arn:aws:sns:us-east-1:123456789012:a'}\n";
        assert_eq!(
            parse(doc, SOURCE, &none()).unwrap().rules[0].regions,
            ["us-east-1", "eu-west-1"]
        );
        let fallback = fallbacks("ap-south-1", TOPIC);
        let doc = "version: 1\nrules:\n  - {name: a, instances: [web-1], metric: CPUUtilization, \
                   comparison: '>', threshold: 1}\n";
        assert_eq!(
            parse(doc, SOURCE, &fallback).unwrap().rules[0].regions,
            ["ap-south-1"]
        );
    }

    #[test]
    fn each_selection_error_names_the_entry_and_what_is_allowed() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (
                &[("instances", "[\"web-[\"]")],
                &[
                    "instances[0]: `web-[` is not a valid glob (invalid range pattern); use * for any \
                   characters, ? for one, [abc] or [a-z] for one of a set, [!abc] for one not in it",
                ],
            ),
            (
                &[("instances", "all")],
                &[
                    "instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], \
                   or \"*\" for every instance, got the string \"all\"",
                ],
            ),
            (
                &[("instances", "[\"web-*\", \"web-*\"]")],
                &["instances[1]: `web-*` is listed twice (also instances[0])"],
            ),
            (
                &[("exclude", "web-1")],
                &[
                    "exclude: expected a list of instance names and globs, e.g. [bastion, \"test-*\"], \
                   got the string \"web-1\"",
                ],
            ),
            (
                &[("exclude", "[\"*\"]")],
                &["exclude[0]: `*` excludes every instance, so the rule could never select one"],
            ),
            (
                &[("instances", "[web-1, db-1]"), ("exclude", "[\"web-?\"]")],
                &[
                    "instances[0]: `web-1` is also excluded by exclude[0] (`web-?`), so it can never be \
                   selected; remove it from one of the lists",
                ],
            ),
            (
                &[
                    ("instances", "[\"web-*\", db-1]"),
                    ("exclude", "[\"web-*\"]"),
                ],
                &[
                    "instances[0]: `web-*` is also in exclude[0] (`web-*`), so it can never be \
                   selected; remove it from one of the lists",
                ],
            ),
            (
                &[("tags", "{}")],
                &[
                    "tags: must name at least one tag; expected a mapping of tag key to a value, a list \
                   of values, or \"*\" (any value), e.g. {env: prod, role: [web, api], backup: \"*\"}",
                ],
            ),
            (
                &[("tags", "[env]")],
                &[
                    "tags: expected a mapping of tag key to a value, a list of values, or \"*\" (any \
                   value), e.g. {env: prod, role: [web, api], backup: \"*\"}, got a list",
                ],
            ),
            (
                &[(
                    "tags",
                    "{env: [], role: [web, \"*\"], owner: ~, team: [a, a]}",
                )],
                &[
                    "tags.env: an empty list matches no instance; list at least one value, or \"*\" \
                     for any",
                    "tags.role: `*` means any value; write it alone (key: \"*\"), not in a list",
                    "tags.owner: expected a tag value, a list of values, or \"*\" (any value), got \
                     nothing",
                    "tags.team: `a` is listed twice",
                ],
            ),
            (
                &[("states", "[runing, stopped, stopped]")],
                &[
                    "states[0]: `runing` is not an instance state; allowed: pending, running, starting, \
                     rebooting, stopping, stopped, shutting-down, terminated; did you mean `running`?",
                    "states[2]: `stopped` is listed twice",
                ],
            ),
            (
                &[("states", "[]")],
                &[
                    "states: an empty list matches no instance; list states from pending, running, \
                   starting, rebooting, stopping, stopped, shutting-down, terminated, or leave \
                   `states` out to cover every state",
                ],
            ),
            (
                &[("regions", "[]")],
                &["regions: must list at least one region, e.g. [us-east-1, eu-west-1]"],
            ),
            (
                &[("regions", "[us-east-1, mars-1, us-east-1]")],
                &[
                    "regions: [1]: `mars-1` is not an AWS region name; expected one like us-east-1 or \
                   eu-west-2; [2]: `us-east-1` is listed twice",
                ],
            ),
            (
                &[("regions", "[eu-west-1]"), ("region", "us-east-1")],
                &[
                    "regions: `region` and `regions` are both set; use `regions` alone (list every \
                   region there)",
                ],
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(&set(changes));
            let expected: Vec<String> = expected
                .iter()
                .map(|e| format!("{SOURCE}: rules[0] (cpu-high): {e}"))
                .collect();
            assert_eq!(error_lines(&doc, &none()), expected, "document:\n{doc}");
        }
    }

    #[test]
    fn typos_are_suggested_only_when_obvious() {
        assert_eq!(
            closest("treshold", RULE_FIELDS.iter().copied()),
            Some("threshold")
        );
        assert_eq!(closest("unti", RULE_FIELDS.iter().copied()), Some("unit"));
        assert_eq!(
            closest("TopicARN", RULE_FIELDS.iter().copied()),
            Some("topicArn")
        );
        assert_eq!(
            closest("datapoints_to_alarm", RULE_FIELDS.iter().copied()),
            Some("datapointsToAlarm")
        );
        assert_eq!(closest("owner", RULE_FIELDS.iter().copied()), None);
        assert_eq!(closest("colour", RULE_FIELDS.iter().copied()), None);
        assert_eq!(closest("x", [">", "<"]), None);
    }
}
