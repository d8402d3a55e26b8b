//! Configuration read once at the edge: the environment, where the rules come from, and
//! the AWS SDK config shared by every client.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::aws::s3::{S3ReadError, S3Rules, S3Uri};
use crate::domain::time::FutureTime;
use crate::heartbeat::{self, HeartbeatUrl};
use crate::rules::{self, Fallbacks, RuleSet, ValidationErrors};

mod check;
use check::Check;

/// Calls in flight at once when `ALERT_MAX_CONCURRENCY` is not set.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Attempts per call when `AWS_MAX_ATTEMPTS` is not set (the SDK's own default is 3).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// How long before the Lambda invocation's deadline the run stops fetching, when
/// `ALERT_DEADLINE_MARGIN_MS` is not set.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(3_000);

/// The environment, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `ALERT_RULES_FILE`: a file path or an `s3://bucket/key` URI.
    pub rules_file: Option<RulesFile>,
    /// `ALERT_RULES`: the document inline.
    pub rules_inline: Option<String>,
    /// `AWS_REGION` and `ALERT_TOPIC_ARN`, for rules that leave them out.
    pub fallbacks: Fallbacks,
    /// `ALERT_MAX_CONCURRENCY`
    pub max_concurrency: usize,
    /// `ALERT_DEADLINE_MARGIN_MS`: in Lambda, the run stops fetching this long before
    /// the invocation's deadline (SPEC §12).
    pub deadline_margin: Duration,
    /// `ALERT_STATE_TABLE`: the DynamoDB table of alarm states; stateless without it.
    pub state_table: Option<String>,
    /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` is set (moto, MinIO, LocalStack): S3 is
    /// addressed path-style, since names like `bucket.127.0.0.1` do not resolve.
    pub custom_s3_endpoint: bool,
    /// `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE`, checked here and handed to the SDK.
    pub retries: Retries,
    /// `ALERT_HEARTBEAT_URL`: requested after each completed run of the function (the
    /// command line checks it and sends nothing). Its `Debug` shows the host alone.
    pub heartbeat_url: Option<HeartbeatUrl>,
}

/// A rules document named by `ALERT_RULES_FILE` or `--rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesFile {
    Local(PathBuf),
    /// `s3://bucket/key`, read with [`S3Rules`].
    S3(S3Uri),
}

impl FromStr for RulesFile {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        Ok(match S3Uri::parse(value)? {
            Some(uri) => RulesFile::S3(uri),
            None => RulesFile::Local(PathBuf::from(value)),
        })
    }
}

impl fmt::Display for RulesFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulesFile::Local(path) => write!(f, "{}", path.display()),
            RulesFile::S3(uri) => write!(f, "{uri}"),
        }
    }
}

/// Bad input: invalid rules, an unreadable file or S3 object, a bad setting or event. The
/// command line exits 2 (1 for an S3 failure worth retrying); the Lambda invocation fails
/// before any Lightsail or SNS call.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Rules(#[from] ValidationErrors),
    #[error("cannot read the rules file {path}: {source}")]
    ReadRules {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The rules object in S3 could not be read (and no copy of it is cached, or the
    /// error is not transient).
    #[error("{0}")]
    RulesUnavailable(#[from] S3ReadError),
    #[error(
        "no rules: pass --rules FILE, or set ALERT_RULES_FILE (a file or s3://BUCKET/KEY) or ALERT_RULES (the document inline)"
    )]
    NoRules,
    #[error(
        "both ALERT_RULES_FILE and ALERT_RULES are set; set only one, so it is clear which rules run"
    )]
    TwoRuleSources,
    /// Environment variables with values that are not allowed, every one of them.
    #[error("{0}")]
    Settings(#[from] InvalidSettings),
    /// An evaluation time more than the allowance after the clock (SPEC §13).
    #[error("{0}")]
    FutureTime(#[from] FutureTime),
    #[error("{0}")]
    Other(String),
}

/// A variable of the process's environment; `None` when unset or not UTF-8 (which the
/// SDK and the Lambda runtime also read as unset).
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Settings {
    /// The environment of the command line, checked: every invalid variable is named at
    /// once, before any SDK config is loaded (the SDK panics on some of them).
    pub fn from_env() -> Result<Self, InputError> {
        Self::from_process(false)
    }

    /// [`Settings::from_env`] in Lambda, where the variables the Lambda runtime client
    /// needs (and panics without) are checked as well.
    pub fn from_lambda_env() -> Result<Self, InputError> {
        Self::from_process(true)
    }

    /// The process's settings; an `ALERT_*` variable that is not UTF-8 is invalid too
    /// (read as unset, `ALERT_RULES` would silently mean "no rules").
    fn from_process(lambda: bool) -> Result<Self, InputError> {
        let not_utf8: Vec<InvalidSetting> = std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.to_str()?.to_owned();
                (name.starts_with("ALERT_") && value.to_str().is_none()).then(|| InvalidSetting {
                    value: if name == heartbeat::VARIABLE {
                        Given::Secret
                    } else {
                        Given::Value(value.to_string_lossy().into_owned())
                    },
                    name,
                    allowed: "UTF-8 text (the value has bytes that are not UTF-8; \
                              \u{FFFD} marks them)"
                        .to_owned(),
                })
            })
            .collect();
        match Self::read(lambda, &process_env) {
            Ok(settings) if not_utf8.is_empty() => Ok(settings),
            Ok(_) => Err(InvalidSettings(not_utf8).into()),
            Err(InvalidSettings(mut all)) => {
                all.extend(not_utf8);
                Err(InvalidSettings(all).into())
            }
        }
    }

    /// The settings from `var` (a variable's value; `None` when unset).
    fn read(lambda: bool, var: &dyn Fn(&str) -> Option<String>) -> Result<Self, InvalidSettings> {
        let mut check = Check::new(var);
        let max_concurrency = check
            .optional(
                "ALERT_MAX_CONCURRENCY",
                "a whole number from 1 to 256",
                |v| v.trim().parse().ok().filter(|n| (1..=256).contains(n)),
            )
            .unwrap_or(DEFAULT_CONCURRENCY);
        let deadline_margin = check
            .optional(
                "ALERT_DEADLINE_MARGIN_MS",
                "a whole number of milliseconds from 0 to 900000 (Lambda's longest timeout)",
                |v| v.trim().parse().ok().filter(|ms| *ms <= 900_000),
            )
            .map_or(DEFAULT_DEADLINE_MARGIN, Duration::from_millis);
        let rules_file = check.set("ALERT_RULES_FILE").and_then(|value| {
            value
                .parse()
                .map_err(|why| check.invalid("ALERT_RULES_FILE", Some(value), why))
                .ok()
        });
        let heartbeat_url = check.heartbeat_url();
        let retries = check.retries();
        let ignore_endpoints = check.aws_bool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        check.aws_bool("AWS_USE_FIPS_ENDPOINT");
        check.aws_bool("AWS_USE_DUALSTACK_ENDPOINT");
        check.region();
        if !ignore_endpoints {
            check.endpoints();
        }
        if lambda {
            check.lambda_runtime();
        }
        if !check.invalid.is_empty() {
            return Err(InvalidSettings(check.invalid));
        }
        let custom_s3_endpoint = !ignore_endpoints
            && (check.set("AWS_ENDPOINT_URL_S3").is_some()
                || check.set("AWS_ENDPOINT_URL").is_some());
        Ok(Self {
            rules_file,
            rules_inline: check.set("ALERT_RULES"),
            fallbacks: Fallbacks {
                region: check
                    .set("AWS_REGION")
                    .or_else(|| check.set("AWS_DEFAULT_REGION")),
                topic_arn: check.set("ALERT_TOPIC_ARN"),
            },
            max_concurrency,
            deadline_margin,
            state_table: check.set("ALERT_STATE_TABLE"),
            custom_s3_endpoint,
            retries,
            heartbeat_url,
        })
    }

    /// The rules file of a run whose event carries none: `explicit` (`--rules`), else
    /// `ALERT_RULES_FILE`; `None` when the rules are `ALERT_RULES`, inline.
    pub fn rules_file<'a>(
        &'a self,
        explicit: Option<&'a RulesFile>,
    ) -> Result<Option<&'a RulesFile>, InputError> {
        match (explicit, &self.rules_file, &self.rules_inline) {
            (Some(file), _, _) => Ok(Some(file)),
            (None, Some(_), Some(_)) => Err(InputError::TwoRuleSources),
            (None, Some(file), None) => Ok(Some(file)),
            (None, None, Some(_)) => Ok(None),
            (None, None, None) => Err(InputError::NoRules),
        }
    }

    /// The reader of the rules object, when the rules file (see [`Settings::rules_file`])
    /// is in S3; nothing otherwise, so other sources pay for no S3 client. Build it once
    /// per process: it keeps the document between runs.
    pub fn s3_rules(
        &self,
        explicit: Option<&RulesFile>,
        config: &aws_config::SdkConfig,
    ) -> Option<S3Rules> {
        match self.rules_file(explicit) {
            Ok(Some(RulesFile::S3(uri))) => Some(S3Rules::from_config(
                config,
                uri.clone(),
                self.custom_s3_endpoint,
            )),
            _ => None,
        }
    }

    /// The rules: from the event if it carries them, else from `explicit` (`--rules`),
    /// else from `ALERT_RULES_FILE` or `ALERT_RULES`. Rules in S3 are read with `s3`,
    /// the reader [`Settings::s3_rules`] built for them.
    pub async fn load_rules(
        &self,
        event_rules: Option<serde_json::Value>,
        explicit: Option<&RulesFile>,
        s3: Option<&S3Rules>,
    ) -> Result<RuleSet, InputError> {
        match event_rules {
            // A document may also come as YAML or JSON text inside the event.
            Some(serde_json::Value::String(text)) => {
                return Ok(rules::parse(&text, "event.rules", &self.fallbacks)?);
            }
            Some(value) => return Ok(rules::from_value(value, "event.rules", &self.fallbacks)?),
            None => {}
        }
        match self.rules_file(explicit)? {
            Some(RulesFile::Local(path)) => {
                let bytes = std::fs::read(path).map_err(|source| InputError::ReadRules {
                    path: path.clone(),
                    source,
                })?;
                Ok(rules::parse_bytes(
                    &bytes,
                    &path.display().to_string(),
                    &self.fallbacks,
                )?)
            }
            Some(RulesFile::S3(uri)) => {
                // Cannot fail: both edges build `s3` with `Settings::s3_rules` from these
                // settings and this `explicit`, which names the same object.
                let reader = s3
                    .filter(|reader| reader.uri() == uri)
                    .expect("rules in S3 are read with the reader Settings::s3_rules built");
                let text = reader.text().await?;
                Ok(rules::parse(&text, &uri.to_string(), &self.fallbacks)?)
            }
            None => {
                let text = self.rules_inline.as_deref().unwrap_or_default();
                Ok(rules::parse(text, "ALERT_RULES", &self.fallbacks)?)
            }
        }
    }
}

/// Retries of every AWS call. The SDK is handed these and reads neither variable itself:
/// it panics on a value it cannot parse (`AWS_MAX_ATTEMPTS=0`), before any error could
/// be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// `AWS_MAX_ATTEMPTS`: attempts per call, the first one included.
    pub max_attempts: u32,
    /// `AWS_RETRY_MODE=adaptive`: the SDK's client-side rate limiter (see the README on
    /// why it is not the default).
    pub adaptive: bool,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            adaptive: false,
        }
    }
}

/// The most attempts `AWS_MAX_ATTEMPTS` may ask for: each call has at most 20 s in all,
/// so more would never be made.
pub const MAX_ATTEMPTS_LIMIT: u32 = 100;

/// One environment variable with a value that is not allowed, or not set when it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub name: String,
    /// What the message shows of the value.
    pub value: Given,
    /// What is allowed.
    pub allowed: String,
}

/// The value of an invalid setting, as its message shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    NotSet,
    Value(String),
    /// Set, and not shown: it holds a secret (`ALERT_HEARTBEAT_URL`'s token).
    Secret,
}

impl fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Given::Value(value) => {
                write!(f, "{}={value:?} is invalid: {}", self.name, self.allowed)
            }
            Given::Secret => write!(
                f,
                "{} is invalid (its value is not shown: it holds a secret): {}",
                self.name, self.allowed
            ),
            Given::NotSet => write!(f, "{} is not set: {}", self.name, self.allowed),
        }
    }
}

/// Every invalid setting of the environment, named in one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSettings(pub Vec<InvalidSetting>);

impl fmt::Display for InvalidSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} invalid settings:", all.len())?;
                all.iter()
                    .try_for_each(|setting| write!(f, "\n  {setting}"))
            }
        }
    }
}

impl std::error::Error for InvalidSettings {}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "version: 1\nrules:\n  - {name: r, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80}\n";

    fn settings() -> Settings {
        Settings {
            fallbacks: Fallbacks {
                region: Some("us-east-1".into()),
                topic_arn: Some("arn:aws:sns:us-east-1:123456789012:alerts".into()),
            },
            max_concurrency: DEFAULT_CONCURRENCY,
            ..Settings::default()
        }
    }

    #[tokio::test]
    async fn event_rules_may_be_a_document_or_its_text_and_win_over_the_environment() {
        let mut settings = settings();
        settings.rules_inline = Some("not: rules".into());
        let value: serde_json::Value = serde_yaml_ng::from_str(DOC).unwrap();
        let from_value = settings.load_rules(Some(value), None, None).await.unwrap();
        let from_text = settings
            .load_rules(Some(serde_json::Value::String(DOC.into())), None, None)
            .await
            .unwrap();
        assert_eq!(from_value, from_text);
        assert_eq!(from_value.rules[0].name.as_str(), "r");
        let err = settings
            .load_rules(Some(serde_json::json!({"version": 2})), None, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("event.rules"), "{err}");
        // Even when the environment names an S3 object, which is then not read.
        settings.rules_inline = None;
        settings.rules_file = Some("s3://ops-config/rules.yaml".parse().unwrap());
        let value: serde_json::Value = serde_yaml_ng::from_str(DOC).unwrap();
        assert_eq!(
            settings.load_rules(Some(value), None, None).await.unwrap(),
            from_text
        );
    }

    #[tokio::test]
    async fn the_environment_must_name_one_source_of_rules() {
        let mut settings = settings();
        assert!(matches!(
            settings.load_rules(None, None, None).await,
            Err(InputError::NoRules)
        ));
        settings.rules_inline = Some(DOC.into());
        assert_eq!(
            settings
                .load_rules(None, None, None)
                .await
                .unwrap()
                .rules
                .len(),
            1
        );
        settings.rules_file = Some(RulesFile::Local("rules.yaml".into()));
        assert!(matches!(
            settings.load_rules(None, None, None).await,
            Err(InputError::TwoRuleSources)
        ));
        settings.rules_file = Some("s3://ops-config/rules.yaml".parse().unwrap());
        assert!(matches!(
            settings.load_rules(None, None, None).await,
            Err(InputError::TwoRuleSources)
        ));
        let missing = RulesFile::Local("/no/such/rules.yaml".into());
        let err = settings
            .load_rules(None, Some(&missing), None)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read the rules file /no/such/rules.yaml"),
            "{err}"
        );
    }

    #[test]
    fn a_rules_file_is_a_path_or_an_s3_uri_with_a_bucket_and_a_key() {
        assert_eq!(
            "examples/rules.yaml".parse::<RulesFile>().unwrap(),
            RulesFile::Local("examples/rules.yaml".into())
        );
        let s3: RulesFile = "s3://ops-config/alerts/rules.yaml".parse().unwrap();
        assert!(
            matches!(&s3, RulesFile::S3(uri) if uri.bucket() == "ops-config" && uri.key() == "alerts/rules.yaml")
        );
        assert_eq!(s3.to_string(), "s3://ops-config/alerts/rules.yaml");
        let var = |name: &str| (name == "ALERT_RULES_FILE").then(|| "s3://ops-config".to_owned());
        let err = Settings::read(false, &var).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ALERT_RULES_FILE=\"s3://ops-config\" is invalid: the S3 URI has no key; expected s3://BUCKET/KEY, the key of the rules object"
        );
    }

    #[test]
    fn an_s3_client_is_built_only_for_rules_in_s3() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let mut settings = settings();
        settings.rules_inline = Some(DOC.into());
        assert!(settings.s3_rules(None, &config).is_none());
        let s3: RulesFile = "s3://ops-config/rules.yaml".parse().unwrap();
        let reader = settings.s3_rules(Some(&s3), &config).unwrap();
        assert_eq!(reader.uri().to_string(), "s3://ops-config/rules.yaml");
        // ALERT_RULES_FILE and ALERT_RULES both set is an error at load time, not a reader.
        settings.rules_file = Some(s3.clone());
        assert!(settings.s3_rules(None, &config).is_none());
        settings.rules_inline = None;
        assert!(settings.s3_rules(None, &config).is_some());
        settings.rules_file = Some(RulesFile::Local("rules.yaml".into()));
        assert!(settings.s3_rules(None, &config).is_none());
    }
}
