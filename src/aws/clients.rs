//! The AWS SDK config shared by every client, and the per-region client cache each
//! adapter keeps ("config is expensive, clients are cheap").

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_lightsail::config::retry::{RetryPartition, TokenBucket};

use crate::settings::Retries;

/// The SDK config every client is built from: the standard chain for credentials,
/// region and `AWS_ENDPOINT_URL_*` (all checked by [`Settings`](crate::settings::Settings)
/// first); `retries` (standard retries with exponential backoff, 5 attempts unless
/// `AWS_MAX_ATTEMPTS` says otherwise); and timeouts per call. The run's deadline, not
/// these, bounds a run as a whole.
///
/// The retry config is given, so the SDK reads neither `AWS_MAX_ATTEMPTS` nor
/// `AWS_RETRY_MODE` (nor a profile's `max_attempts` and `retry_mode`): it panics on a
/// value it cannot parse, and these were checked already.
///
/// Not the SDK's adaptive mode unless asked: its rate limiter charges a retry 5 tokens
/// and refills at as little as 0.5 a second, so at a low request rate one throttle holds
/// the retry back for 10 s, and two of them outlast the call's 20 s timeout.
pub async fn sdk_config(retries: Retries) -> aws_config::SdkConfig {
    sdk_config_for(retries, &Chosen::default()).await
}

/// The profile and region named on the command line (`--profile`, `--region`), which
/// win over `AWS_PROFILE` and `AWS_REGION`.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl Chosen {
    /// The region of rules that name none: `--region`, else `from_env` (`AWS_REGION`,
    /// `AWS_DEFAULT_REGION`), else the profile's `region` in ~/.aws/config.
    pub async fn region_or(&self, from_env: Option<String>) -> Option<String> {
        if let Some(region) = self.region.clone().or(from_env) {
            return Some(region);
        }
        use aws_config::meta::region::ProvideRegion;
        let mut provider = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(profile) = &self.profile {
            provider = provider.profile_name(profile);
        }
        provider
            .build()
            .region()
            .await
            .map(|region| region.as_ref().to_owned())
    }
}

/// [`sdk_config`] with the profile and region of the command line.
pub async fn sdk_config_for(retries: Retries, chosen: &Chosen) -> aws_config::SdkConfig {
    let retry = match retries.adaptive {
        true => RetryConfig::adaptive(),
        false => RetryConfig::standard(),
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &chosen.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &chosen.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    loader
        .retry_config(retry.with_max_attempts(retries.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(8))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}

/// The credentials the SDK would sign with, resolved once before a run, so that missing
/// or broken credentials are said once, in one line with the fix, instead of as an error
/// on every call (SPEC §14).
pub async fn check_credentials(
    config: &aws_config::SdkConfig,
    profile: Option<&str>,
) -> Result<(), String> {
    use aws_credential_types::provider::ProvideCredentials;
    use aws_credential_types::provider::error::CredentialsError;
    const FIX: &str = "run `aws configure` (access keys) or `aws configure sso` and \
                       `aws sso login --profile NAME` (IAM Identity Center), then set \
                       AWS_PROFILE=NAME; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    let Some(provider) = config.credentials_provider() else {
        return Err(format!("no AWS credentials are configured: {FIX}"));
    };
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(match &profile {
            Some(profile) => format!(
                "no AWS credentials found for profile `{profile}` (AWS_PROFILE): is it in \
                 ~/.aws/config? {FIX}"
            ),
            None => format!(
                "no AWS credentials found (not in the environment, a profile, web identity, ECS \
                 or EC2 instance metadata): {FIX}"
            ),
        }),
        Err(err) => {
            let chain = super::error_chain(&err);
            let profile = profile.as_deref().unwrap_or("default");
            if chain.contains("/sso/cache/") || chain.to_lowercase().contains("sso token") {
                Err(format!(
                    "the IAM Identity Center (SSO) session of profile `{profile}` has expired or \
                     was never started: run `aws sso login --profile {profile}` ({chain})"
                ))
            } else {
                Err(format!(
                    "the AWS credentials of profile `{profile}` could not be loaded: {chain}"
                ))
            }
        }
    }
}

/// A retry partition of one client's own, without a retry quota.
///
/// By default every client of a service and region shares one token bucket for the
/// whole process: each retry takes tokens from it, and once a storm of throttles has
/// emptied it, every later failure is returned after a single attempt — in this run and
/// in the next invocation of a warm function. Here every call gets all of its attempts,
/// spread by the backoff.
pub fn retry_partition(service: &'static str, region: &str) -> RetryPartition {
    RetryPartition::custom(format!("lightsail-alerts-{service}-{region}"))
        .token_bucket(TokenBucket::unlimited())
        .build()
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

    #[test]
    fn one_client_per_region_is_built_on_first_use_and_reused() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static BUILT: AtomicUsize = AtomicUsize::new(0);
        fn build(_: &aws_config::SdkConfig, region: &str) -> String {
            BUILT.fetch_add(1, Ordering::SeqCst);
            format!("client for {region}")
        }
        let clients = RegionalClients::new(aws_config::SdkConfig::builder().build(), build);
        assert_eq!(clients.get("us-east-1"), "client for us-east-1");
        assert_eq!(clients.get("eu-west-1"), "client for eu-west-1");
        assert_eq!(clients.get("us-east-1"), "client for us-east-1");
        assert_eq!(clients.get("eu-west-1"), "client for eu-west-1");
        assert_eq!(BUILT.load(Ordering::SeqCst), 2);
    }
}
