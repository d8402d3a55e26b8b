//! Lightsail through the AWS SDK: the [`MetricSource`] (`GetInstanceMetricData`) and the
//! [`InstanceSource`] (`GetInstances`, every page), with a client per region.

use aws_sdk_lightsail::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lightsail::primitives::DateTime as SdkDateTime;
use aws_sdk_lightsail::types::{InstanceMetricName, MetricStatistic, MetricUnit};
use chrono::DateTime;

use std::sync::Arc;

use aws_sdk_lightsail::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_lightsail::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_lightsail::error::BoxError;
use aws_sdk_lightsail::operation::get_instance_metric_data::GetInstanceMetricDataError;
use aws_sdk_lightsail::operation::get_instances::GetInstancesError;

use crate::aws::clients::{self, RegionalClients};
use crate::aws::pace::Pace;
use crate::domain::catalog::Statistic;
use crate::domain::plan::{self, MetricDatapoint, Query};
use crate::domain::select::Instance;
use crate::ports::{FetchError, InstanceSource, ListError, MetricSource};

/// Lightsail through the AWS SDK, with a client per region.
pub struct LightsailSource {
    clients: RegionalClients<Regional>,
}

/// One region's client and the pace of its calls: Lightsail's limits are per region.
#[derive(Clone)]
struct Regional {
    client: aws_sdk_lightsail::Client,
    pace: Arc<Pace>,
}

impl LightsailSource {
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self {
            clients: RegionalClients::new(config, |config, region| {
                let pace = Arc::new(Pace::new());
                let config = aws_sdk_lightsail::config::Builder::from(config)
                    .region(aws_sdk_lightsail::config::Region::new(region.to_owned()))
                    .retry_partition(clients::retry_partition("lightsail", region))
                    .interceptor(Observe(pace.clone()))
                    .build();
                Regional {
                    client: aws_sdk_lightsail::Client::from_conf(config),
                    pace,
                }
            }),
        }
    }
}

/// Tells the pace of every attempt the service admitted or throttled, retries included.
#[derive(Debug)]
struct Observe(Arc<Pace>);

impl Intercept for Observe {
    fn name(&self) -> &'static str {
        "LightsailPace"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match context.output_or_error() {
            Some(Ok(_)) => self.0.admitted(),
            Some(Err(err)) => {
                let code = err.as_operation_error().and_then(|e| {
                    e.downcast_ref::<GetInstanceMetricDataError>()
                        .and_then(|e| e.code())
                        .or_else(|| e.downcast_ref::<GetInstancesError>().and_then(|e| e.code()))
                });
                if code.is_some_and(is_throttling) {
                    self.0.throttled(tokio::time::Instant::now());
                }
            }
            None => {}
        }
        Ok(())
    }
}

/// Whether an error code is Lightsail saying "slow down" (sent with HTTP 400, not 429).
fn is_throttling(code: &str) -> bool {
    code.contains("Throttl")
        || matches!(
            code,
            "TooManyRequestsException" | "RequestLimitExceeded" | "SlowDown"
        )
}

impl MetricSource for LightsailSource {
    async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
        let Regional { client, pace } = self.clients.get(&query.key.region);
        let statistics: Vec<MetricStatistic> = query
            .statistics
            .iter()
            .map(|s| MetricStatistic::from(s.as_str()))
            .collect();
        let mut points = Vec::new();
        for (start, end) in plan::split(query) {
            pace.turn().await;
            let output = client
                .get_instance_metric_data()
                .instance_name(&query.key.instance)
                .metric_name(InstanceMetricName::from(query.key.metric.as_str()))
                .period(query.key.period as i32)
                .start_time(SdkDateTime::from_secs(start.timestamp()))
                .end_time(SdkDateTime::from_secs(end.timestamp()))
                .unit(MetricUnit::from(query.key.unit.as_str()))
                .set_statistics(Some(statistics.clone()))
                .send()
                .await
                .map_err(|err| fetch_error(query, err))?;
            points.extend(output.metric_data().iter().filter_map(datapoint_from_sdk));
        }
        Ok(points)
    }
}

/// Pages `GetInstances` can take before the listing is refused as endless: 10,000 pages
/// is far beyond any Lightsail quota of instances per region.
const MAX_PAGES: usize = 10_000;

impl InstanceSource for LightsailSource {
    async fn instances(&self, region: &str) -> Result<Vec<Instance>, ListError> {
        let Regional { client, pace } = self.clients.get(region);
        let failed = |message: String| ListError {
            region: region.to_owned(),
            message,
            past_deadline: false,
        };
        let mut instances = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            pace.turn().await;
            let page = client
                .get_instances()
                .set_page_token(token.take())
                .send()
                .await
                .map_err(|err| failed(sdk_message(&err)))?;
            instances.extend(page.instances().iter().filter_map(instance_from_sdk));
            match page.next_page_token() {
                Some(next) if !next.is_empty() => {
                    if !tokens_seen.insert(next.to_owned()) {
                        return Err(failed(format!(
                            "the page token {next:?} came back twice; the listing would never end"
                        )));
                    }
                    token = Some(next.to_owned());
                }
                _ => return Ok(instances),
            }
        }
        Err(failed(format!(
            "more than {MAX_PAGES} pages of instances; the listing was stopped"
        )))
    }
}

fn instance_from_sdk(instance: &aws_sdk_lightsail::types::Instance) -> Option<Instance> {
    Some(Instance {
        name: instance.name()?.to_owned(),
        state: instance
            .state()
            .and_then(|s| s.name())
            .unwrap_or_default()
            .to_owned(),
        tags: instance
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().map(str::to_owned))))
            .collect(),
    })
}

fn datapoint_from_sdk(
    point: &aws_sdk_lightsail::types::MetricDatapoint,
) -> Option<MetricDatapoint> {
    let ts = point.timestamp()?;
    let timestamp = DateTime::from_timestamp(ts.secs(), ts.subsec_nanos())?;
    let values = [
        (Statistic::Average, point.average()),
        (Statistic::Sum, point.sum()),
        (Statistic::Maximum, point.maximum()),
        (Statistic::Minimum, point.minimum()),
        (Statistic::SampleCount, point.sample_count()),
    ]
    .into_iter()
    .filter_map(|(statistic, value)| Some((statistic, value?)))
    .collect();
    Some(MetricDatapoint { timestamp, values })
}

fn fetch_error<E, R>(query: &Query, err: SdkError<E, R>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let region = query.key.region.clone();
    let instance = query.key.instance.clone();
    // Lightsail's error bodies carry `code: "NotFound"` besides `__type`; without an
    // `x-amzn-ErrorType` header the SDK reports that code instead of the exception name.
    if matches!(err.code(), Some("NotFoundException" | "NotFound")) {
        let message = err.message().unwrap_or("no such instance").to_owned();
        return FetchError::NotFound {
            region,
            instance,
            message,
        };
    }
    FetchError::Failed {
        region,
        instance,
        message: sdk_message(&err),
    }
}

/// `Code: message` when the service said so, else the whole error chain (timeouts,
/// connection failures).
fn sdk_message<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(err).to_string(),
    }
}
