//! The AWS SDK config shared by every client, and the per-region client cache each
//! adapter keeps ("config is expensive, clients are cheap").

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::settings::{DEFAULT_MAX_ATTEMPTS, env};

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
