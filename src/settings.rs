//! Configuration read once at the edge: the environment, where the rules come from, and
//! the AWS SDK config shared by every client.

use std::path::PathBuf;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::rules::{self, Fallbacks, RuleSet, ValidationErrors};

/// Calls in flight at once when `ALERT_MAX_CONCURRENCY` is not set.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Attempts per call when `AWS_MAX_ATTEMPTS` is not set (the SDK's own default is 3).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The environment, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `ALERT_RULES_FILE`
    pub rules_file: Option<PathBuf>,
    /// `ALERT_RULES`: the document inline.
    pub rules_inline: Option<String>,
    /// `AWS_REGION` and `ALERT_TOPIC_ARN`, for rules that leave them out.
    pub fallbacks: Fallbacks,
    /// `ALERT_MAX_CONCURRENCY`
    pub max_concurrency: usize,
    /// `ALERT_STATE_TABLE`: the DynamoDB table of alarm states; stateless without it.
    pub state_table: Option<String>,
}

/// Bad input: invalid rules, an unreadable file, a bad setting or event. The command
/// line exits 2; the Lambda invocation fails before any API call.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Rules(#[from] ValidationErrors),
    #[error("cannot read the rules file {path}: {source}")]
    ReadRules {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no rules: pass --rules FILE, or set ALERT_RULES_FILE (a file) or ALERT_RULES (the document inline)"
    )]
    NoRules,
    #[error(
        "both ALERT_RULES_FILE and ALERT_RULES are set; set only one, so it is clear which rules run"
    )]
    TwoRuleSources,
    #[error("{name}={value:?} is invalid: {allowed}")]
    Setting {
        name: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("{0}")]
    Other(String),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Self, InputError> {
        let max_concurrency = match env("ALERT_MAX_CONCURRENCY") {
            None => DEFAULT_CONCURRENCY,
            Some(value) => match value.trim().parse::<usize>() {
                Ok(n @ 1..=256) => n,
                _ => {
                    return Err(InputError::Setting {
                        name: "ALERT_MAX_CONCURRENCY",
                        value,
                        allowed: "a whole number from 1 to 256",
                    });
                }
            },
        };
        Ok(Self {
            rules_file: env("ALERT_RULES_FILE").map(PathBuf::from),
            rules_inline: env("ALERT_RULES"),
            fallbacks: Fallbacks {
                region: env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
                topic_arn: env("ALERT_TOPIC_ARN"),
            },
            max_concurrency,
            state_table: env("ALERT_STATE_TABLE"),
        })
    }

    /// The rules: from the event if it carries them, else from `explicit` (`--rules`),
    /// else from `ALERT_RULES_FILE` or `ALERT_RULES`.
    pub fn load_rules(
        &self,
        event_rules: Option<serde_json::Value>,
        explicit: Option<&std::path::Path>,
    ) -> Result<RuleSet, InputError> {
        match event_rules {
            // A document may also come as YAML or JSON text inside the event.
            Some(serde_json::Value::String(text)) => {
                return Ok(rules::parse(&text, "event.rules", &self.fallbacks)?);
            }
            Some(value) => return Ok(rules::from_value(value, "event.rules", &self.fallbacks)?),
            None => {}
        }
        let file = match (explicit, &self.rules_file, &self.rules_inline) {
            (Some(path), _, _) => Some(path.to_path_buf()),
            (None, Some(_), Some(_)) => return Err(InputError::TwoRuleSources),
            (None, Some(path), None) => Some(path.clone()),
            (None, None, Some(_)) => None,
            (None, None, None) => return Err(InputError::NoRules),
        };
        match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| InputError::ReadRules {
                        path: path.clone(),
                        source,
                    })?;
                Ok(rules::parse(
                    &text,
                    &path.display().to_string(),
                    &self.fallbacks,
                )?)
            }
            None => {
                let text = self.rules_inline.as_deref().unwrap_or_default();
                Ok(rules::parse(text, "ALERT_RULES", &self.fallbacks)?)
            }
        }
    }
}

/// The SDK config every client is built from: the standard chain for credentials,
/// region and `AWS_ENDPOINT_URL_*`, standard retries with backoff (5 attempts unless
/// `AWS_MAX_ATTEMPTS` says otherwise), and timeouts that keep a run inside the
/// function's timeout (60 s in template.yaml): at most 20 s for fetching and 20 s for
/// publishing.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(8))
            .operation_timeout(Duration::from_secs(20))
            .build(),
    );
    if env("AWS_MAX_ATTEMPTS").is_none() {
        loader =
            loader.retry_config(RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS));
    }
    loader.load().await
}

/// SDK clients of one service, one per region, each built on first use from the shared
/// config and kept for the life of the process ("config is expensive, clients are
/// cheap", but not free: each holds its own connection pool).
pub struct RegionalClients<C> {
    config: aws_config::SdkConfig,
    build: fn(&aws_config::SdkConfig, &str) -> C,
    clients: std::sync::Mutex<std::collections::HashMap<String, C>>,
}

impl<C: Clone> RegionalClients<C> {
    pub fn new(
        config: aws_config::SdkConfig,
        build: fn(&aws_config::SdkConfig, &str) -> C,
    ) -> Self {
        Self {
            config,
            build,
            clients: Default::default(),
        }
    }

    pub fn get(&self, region: &str) -> C {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| (self.build)(&self.config, region))
            .clone()
    }
}

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

    #[test]
    fn event_rules_may_be_a_document_or_its_text_and_win_over_the_environment() {
        let mut settings = settings();
        settings.rules_inline = Some("not: rules".into());
        let value: serde_json::Value = serde_yaml_ng::from_str(DOC).unwrap();
        let from_value = settings.load_rules(Some(value), None).unwrap();
        let from_text = settings
            .load_rules(Some(serde_json::Value::String(DOC.into())), None)
            .unwrap();
        assert_eq!(from_value, from_text);
        assert_eq!(from_value.rules[0].name.as_str(), "r");
        let err = settings
            .load_rules(Some(serde_json::json!({"version": 2})), None)
            .unwrap_err();
        assert!(err.to_string().contains("event.rules"), "{err}");
    }

    #[test]
    fn the_environment_must_name_one_source_of_rules() {
        let mut settings = settings();
        assert!(matches!(
            settings.load_rules(None, None),
            Err(InputError::NoRules)
        ));
        settings.rules_inline = Some(DOC.into());
        assert_eq!(settings.load_rules(None, None).unwrap().rules.len(), 1);
        settings.rules_file = Some("rules.yaml".into());
        assert!(matches!(
            settings.load_rules(None, None),
            Err(InputError::TwoRuleSources)
        ));
        let err = settings
            .load_rules(None, Some(std::path::Path::new("/no/such/rules.yaml")))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read the rules file /no/such/rules.yaml"),
            "{err}"
        );
    }
}
