//! The environment's variables checked one by one, every invalid one collected, so that
//! [`Settings`](super::Settings) can name them all in one message before any SDK config
//! is loaded.

use super::{Given, InvalidSetting, MAX_ATTEMPTS_LIMIT, Retries};
use crate::domain::rule::is_region;
use crate::heartbeat::{self, HeartbeatUrl};

/// The endpoint overrides of the services the program calls: the SDK reads each (an
/// empty one makes it panic at the first call), so each is checked.
const ENDPOINT_VARIABLES: [&str; 6] = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LIGHTSAIL",
    "AWS_ENDPOINT_URL_SNS",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
];

/// Reads the variables through `var` and collects every invalid one.
pub(super) struct Check<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
    pub(super) invalid: Vec<InvalidSetting>,
}

impl<'a> Check<'a> {
    pub(super) fn new(var: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            var,
            invalid: Vec::new(),
        }
    }

    pub(super) fn invalid(
        &mut self,
        name: &str,
        value: Option<String>,
        allowed: impl Into<String>,
    ) {
        self.invalid.push(InvalidSetting {
            name: name.to_owned(),
            value: value.map_or(Given::NotSet, Given::Value),
            allowed: allowed.into(),
        });
    }

    /// The value, when set and not blank.
    pub(super) fn set(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    /// A variable whose absence (unset or blank) means its default: `None` then, and
    /// when the value is invalid (which is recorded).
    pub(super) fn optional<T>(
        &mut self,
        name: &str,
        allowed: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.set(name)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.invalid(name, Some(value), allowed);
        }
        parsed
    }

    pub(super) fn retries(&mut self) -> Retries {
        let defaults = Retries::default();
        let max_attempts = self.optional(
            "AWS_MAX_ATTEMPTS",
            "a whole number of attempts per AWS call from 1 (no retries) to 100; unset: 5",
            |v| {
                v.trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ATTEMPTS_LIMIT).contains(n))
            },
        );
        let adaptive = self.optional(
            "AWS_RETRY_MODE",
            "standard or adaptive; unset: standard",
            |v| match v.trim().to_ascii_lowercase().as_str() {
                "standard" => Some(false),
                "adaptive" => Some(true),
                _ => None,
            },
        );
        Retries {
            max_attempts: max_attempts.unwrap_or(defaults.max_attempts),
            adaptive: adaptive.unwrap_or(defaults.adaptive),
        }
    }

    /// `true` or `false` in any case, as the SDK reads them; unset or blank: false.
    pub(super) fn aws_bool(&mut self, name: &str) -> bool {
        self.optional(name, "true or false; unset: false", |v| {
            if v.eq_ignore_ascii_case("true") {
                Some(true)
            } else if v.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        })
        .unwrap_or(false)
    }

    /// The region the SDK uses: `AWS_REGION`, even empty, else `AWS_DEFAULT_REGION`.
    pub(super) fn region(&mut self) {
        let name = match (self.var)("AWS_REGION") {
            Some(_) => "AWS_REGION",
            None => "AWS_DEFAULT_REGION",
        };
        if let Some(value) = (self.var)(name)
            && !is_region(&value)
        {
            self.invalid(
                name,
                Some(value),
                "an AWS region name such as us-east-1 or eu-west-2 (lowercase, no spaces)",
            );
        }
    }

    /// `ALERT_HEARTBEAT_URL`, whose value is never shown (it holds a secret token): what
    /// is wrong with it is said in words of its own. Unset or blank: no heartbeat.
    pub(super) fn heartbeat_url(&mut self) -> Option<HeartbeatUrl> {
        let value = self.set(heartbeat::VARIABLE)?;
        match HeartbeatUrl::parse(&value) {
            Ok(url) => Some(url),
            Err(why) => {
                self.invalid.push(InvalidSetting {
                    name: heartbeat::VARIABLE.to_owned(),
                    value: Given::Secret,
                    allowed: format!("{}; {why}", heartbeat::ALLOWED),
                });
                None
            }
        }
    }

    /// Every endpoint override the SDK would read, even empty.
    pub(super) fn endpoints(&mut self) {
        for name in ENDPOINT_VARIABLES {
            if let Some(value) = (self.var)(name)
                && !is_endpoint_url(&value)
            {
                self.invalid(
                    name,
                    Some(value),
                    "an absolute http:// or https:// URL such as http://127.0.0.1:5000 \
                     (or unset it, or set AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true)",
                );
            }
        }
    }

    /// What the Lambda runtime client reads at start and panics without. Lambda sets
    /// them; only an emulator that does not would miss them.
    pub(super) fn lambda_runtime(&mut self) {
        for name in ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION"] {
            if (self.var)(name).is_none() {
                self.invalid(name, None, "Lambda sets it; so must an emulator");
            }
        }
        let memory = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
        match (self.var)(memory) {
            Some(mb) if mb.parse::<i32>().is_ok() => {}
            value => self.invalid(
                memory,
                value,
                "the function's memory in MB, a whole number, as Lambda sets it",
            ),
        }
    }
}

/// `http://` or `https://`, a host (a name, an IPv4 or a bracketed IPv6 address), an
/// optional port and path: what the SDK can send a request to.
fn is_endpoint_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port, v6) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((address, tail)) if tail.is_empty() || tail.starts_with(':') => {
                (address, tail.strip_prefix(':'), true)
            }
            _ => return false,
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port), false),
            None => (authority, None, false),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') || (v6 && c == ':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::super::*;

    /// The settings of an environment holding only `vars`.
    fn read(vars: &[(&str, &str)]) -> Result<Settings, InvalidSettings> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::read(false, &|name| vars.get(name).cloned())
    }

    #[test]
    fn every_setting_is_checked_and_every_invalid_one_is_named_with_what_is_allowed() {
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "AWS_MAX_ATTEMPTS",
                &["0", "-1", "abc", "1.5", "101"],
                "from 1 (no retries) to 100",
            ),
            (
                "AWS_RETRY_MODE",
                &["legacy", "fast"],
                "standard or adaptive",
            ),
            (
                "AWS_USE_FIPS_ENDPOINT",
                &["yes", "1", " true"],
                "true or false",
            ),
            ("AWS_USE_DUALSTACK_ENDPOINT", &["maybe"], "true or false"),
            (
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                &["on"],
                "true or false",
            ),
            (
                "ALERT_MAX_CONCURRENCY",
                &["0", "257", "many"],
                "from 1 to 256",
            ),
            (
                "ALERT_DEADLINE_MARGIN_MS",
                &["-1", "900001", "3s"],
                "from 0 to 900000",
            ),
            (
                "AWS_REGION",
                &["", "US-EAST-1", "us east 1", "useast1"],
                "an AWS region name",
            ),
            ("AWS_DEFAULT_REGION", &["Frankfurt"], "an AWS region name"),
            (
                "AWS_ENDPOINT_URL_LIGHTSAIL",
                &[
                    "",
                    "localhost:5000",
                    "ftp://x",
                    "http://",
                    "http://a b",
                    "http://h:99999",
                ],
                "an absolute http:// or https:// URL",
            ),
            (
                "AWS_ENDPOINT_URL",
                &["notaurl"],
                "an absolute http:// or https:// URL",
            ),
            ("AWS_ENDPOINT_URL_SNS", &["::"], "an absolute"),
            ("AWS_ENDPOINT_URL_DYNAMODB", &["//x"], "an absolute"),
            ("AWS_ENDPOINT_URL_S3", &["s3://x"], "an absolute"),
            ("AWS_ENDPOINT_URL_STS", &["http://[::1"], "an absolute"),
            (
                "ALERT_RULES_FILE",
                &["s3://ops-config"],
                "expected s3://BUCKET/KEY",
            ),
        ];
        for (name, values, allowed) in cases {
            for value in *values {
                let err = read(&[(name, value)]).unwrap_err();
                let message = err.to_string();
                assert!(
                    message.starts_with(&format!("{name}={value:?} is invalid: "))
                        && message.contains(allowed),
                    "{name}={value:?}: {message}"
                );
            }
        }
    }

    #[test]
    fn valid_settings_are_read_and_blank_ones_are_unset() {
        let settings = read(&[
            ("AWS_MAX_ATTEMPTS", " 2 "),
            ("AWS_RETRY_MODE", "Adaptive"),
            ("AWS_USE_FIPS_ENDPOINT", "FALSE"),
            ("AWS_REGION", "eu-central-2"),
            ("AWS_DEFAULT_REGION", "not looked at with AWS_REGION set"),
            ("AWS_ENDPOINT_URL_LIGHTSAIL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SNS", "https://sns.example.com/base/path"),
            ("AWS_ENDPOINT_URL_S3", "http://[::1]:9000"),
            ("ALERT_MAX_CONCURRENCY", "32"),
            ("ALERT_DEADLINE_MARGIN_MS", "0"),
        ])
        .unwrap();
        assert_eq!(
            settings.retries,
            Retries {
                max_attempts: 2,
                adaptive: true
            }
        );
        assert_eq!(settings.fallbacks.region.as_deref(), Some("eu-central-2"));
        assert_eq!(settings.max_concurrency, 32);
        assert_eq!(settings.deadline_margin, Duration::ZERO);
        assert!(settings.custom_s3_endpoint);
        let blank = read(&[("AWS_MAX_ATTEMPTS", ""), ("AWS_RETRY_MODE", " ")]).unwrap();
        assert_eq!(blank.retries, Retries::default());
        assert_eq!(blank.retries.max_attempts, DEFAULT_MAX_ATTEMPTS);
        // Endpoints the SDK is told to ignore are not checked.
        read(&[
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ("AWS_ENDPOINT_URL", "ignored"),
        ])
        .unwrap();
    }

    #[test]
    fn every_invalid_setting_is_named_in_one_message() {
        let err = read(&[
            ("AWS_MAX_ATTEMPTS", "0"),
            ("AWS_REGION", "nowhere"),
            ("AWS_ENDPOINT_URL_SNS", ""),
            ("ALERT_MAX_CONCURRENCY", "0"),
        ])
        .unwrap_err();
        let names: Vec<&str> = err.0.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ALERT_MAX_CONCURRENCY",
                "AWS_MAX_ATTEMPTS",
                "AWS_REGION",
                "AWS_ENDPOINT_URL_SNS"
            ]
        );
        let message = err.to_string();
        assert!(
            message.starts_with("4 invalid settings:\n  ALERT_MAX_CONCURRENCY=\"0\" is invalid"),
            "{message}"
        );
        assert!(
            message.contains("\n  AWS_ENDPOINT_URL_SNS=\"\" is invalid"),
            "{message}"
        );
    }

    #[test]
    fn the_heartbeat_url_is_checked_and_never_shown() {
        let secret = "0f8e-secret-uuid";
        for bad in [
            format!("hc-ping.com/{secret}"),
            format!("ftp://hc-ping.com/{secret}"),
            format!("https://hc-ping.com:0x/{secret}?k={secret}"),
        ] {
            let err = read(&[("ALERT_HEARTBEAT_URL", bad.as_str())]).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(
                    "ALERT_HEARTBEAT_URL is invalid (its value is not shown: it holds a secret): \
                     an absolute https:// or http:// URL with a host"
                ),
                "{message}"
            );
            assert!(!message.contains(secret), "{message}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
        }
        let url = format!("https://hc-ping.com/{secret}");
        let settings = read(&[("ALERT_HEARTBEAT_URL", url.as_str())]).unwrap();
        let heartbeat = settings.heartbeat_url.as_ref().unwrap();
        assert_eq!(heartbeat.host(), "hc-ping.com");
        assert!(!format!("{settings:?}").contains(secret));
        assert!(
            read(&[("ALERT_HEARTBEAT_URL", " ")])
                .unwrap()
                .heartbeat_url
                .is_none()
        );
    }

    #[test]
    fn in_lambda_the_variables_of_the_runtime_client_are_checked_too() {
        let vars = [
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128MB"),
        ];
        let err = Settings::read(true, &|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "2 invalid settings:\n  AWS_LAMBDA_FUNCTION_VERSION is not set: Lambda sets it; so must an emulator\n  \
             AWS_LAMBDA_FUNCTION_MEMORY_SIZE=\"128MB\" is invalid: the function's memory in MB, a whole number, as Lambda sets it"
        );
    }
}
