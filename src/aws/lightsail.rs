//! Lightsail through the AWS SDK: the [`MetricSource`] (`GetInstanceMetricData` and each
//! other resource type's `Get*MetricData`) and the [`ResourceSource`] (`GetInstances`,
//! `GetRelationalDatabases`, ..., every page), with a client per region. Distributions
//! are global: their operations are sent to us-east-1 whatever region a rule names.

use aws_sdk_lightsail::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lightsail::primitives::DateTime as SdkDateTime;
use aws_sdk_lightsail::types::{
    BucketMetricName, ContainerServiceMetricName, DistributionMetricName, InstanceMetricName,
    LoadBalancerMetricName, MetricStatistic, MetricUnit, RelationalDatabaseMetricName,
};
use chrono::DateTime;

use std::sync::Arc;

use aws_sdk_lightsail::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_lightsail::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_lightsail::error::BoxError;
use aws_sdk_lightsail::operation::{
    get_bucket_metric_data::GetBucketMetricDataError, get_buckets::GetBucketsError,
    get_container_service_metric_data::GetContainerServiceMetricDataError,
    get_container_services::GetContainerServicesError,
    get_distribution_metric_data::GetDistributionMetricDataError,
    get_distributions::GetDistributionsError, get_instance_metric_data::GetInstanceMetricDataError,
    get_instances::GetInstancesError,
    get_load_balancer_metric_data::GetLoadBalancerMetricDataError,
    get_load_balancers::GetLoadBalancersError,
    get_relational_database_metric_data::GetRelationalDatabaseMetricDataError,
    get_relational_databases::GetRelationalDatabasesError,
};

use crate::aws::clients::{self, RegionalClients};
use crate::aws::pace::Pace;
use crate::domain::catalog::{ResourceType, Statistic};
use crate::domain::plan::{self, MetricDatapoint, Query};
use crate::domain::select::Resource;
use crate::ports::{FetchError, ListError, MetricSource, ResourceSource};

/// The service's error code of a type-erased operation error of any operation this
/// adapter calls.
macro_rules! error_code {
    ($err:expr) => {
        error_code!($err;
            GetInstanceMetricDataError, GetInstancesError,
            GetRelationalDatabaseMetricDataError, GetRelationalDatabasesError,
            GetLoadBalancerMetricDataError, GetLoadBalancersError,
            GetDistributionMetricDataError, GetDistributionsError,
            GetContainerServiceMetricDataError, GetContainerServicesError,
            GetBucketMetricDataError, GetBucketsError)
    };
    ($err:expr; $($ty:ty),+) => {
        None$(.or_else(|| $err.downcast_ref::<$ty>().and_then(|e| e.code())))+
    };
}

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
                let code = err.as_operation_error().and_then(|e| error_code!(e));
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

/// The region whose endpoint serves `kind` in `region`: us-east-1 for distributions.
fn served_in(kind: ResourceType, region: &str) -> &str {
    kind.global_region().unwrap_or(region)
}

/// One `Get*MetricData` call of `$op` for the query's piece `$start..$end`: the same
/// request for every type but for the name field and metric enum, and the container
/// service's, which takes no unit.
macro_rules! metric_call {
    ($client:expr, $query:expr, $stats:expr, $start:expr, $end:expr,
     $op:ident, $name:ident, $metric:ty $(, $unit:ident)?) => {
        $client
            .$op()
            .$name(&$query.key.resource)
            .metric_name(<$metric>::from($query.key.metric.as_str()))
            .period($query.key.period as i32)
            .start_time(SdkDateTime::from_secs($start.timestamp()))
            .end_time(SdkDateTime::from_secs($end.timestamp()))
            $(.$unit(MetricUnit::from($query.key.unit.as_str())))?
            .set_statistics(Some($stats.clone()))
            .send()
            .await
            .map(|output| output.metric_data.unwrap_or_default())
            .map_err(|err| fetch_error($query, err))
    };
}

impl MetricSource for LightsailSource {
    async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
        let kind = query.key.resource_type;
        let Regional { client, pace } = self.clients.get(served_in(kind, &query.key.region));
        let statistics: Vec<MetricStatistic> = query
            .statistics
            .iter()
            .map(|s| MetricStatistic::from(s.as_str()))
            .collect();
        let mut points = Vec::new();
        for (start, end) in plan::split(query) {
            pace.turn().await;
            let (c, q, st) = (&client, query, &statistics);
            let data = match kind {
                ResourceType::Instance => metric_call!(
                    c,
                    q,
                    st,
                    start,
                    end,
                    get_instance_metric_data,
                    instance_name,
                    InstanceMetricName,
                    unit
                ),
                ResourceType::RelationalDatabase => metric_call!(
                    c,
                    q,
                    st,
                    start,
                    end,
                    get_relational_database_metric_data,
                    relational_database_name,
                    RelationalDatabaseMetricName,
                    unit
                ),
                ResourceType::LoadBalancer => metric_call!(
                    c,
                    q,
                    st,
                    start,
                    end,
                    get_load_balancer_metric_data,
                    load_balancer_name,
                    LoadBalancerMetricName,
                    unit
                ),
                ResourceType::Distribution => metric_call!(
                    c,
                    q,
                    st,
                    start,
                    end,
                    get_distribution_metric_data,
                    distribution_name,
                    DistributionMetricName,
                    unit
                ),
                ResourceType::ContainerService => metric_call!(
                    c,
                    q,
                    st,
                    start,
                    end,
                    get_container_service_metric_data,
                    service_name,
                    ContainerServiceMetricName
                ),
                ResourceType::Bucket => metric_call!(
                    c,
                    q,
                    st,
                    start,
                    end,
                    get_bucket_metric_data,
                    bucket_name,
                    BucketMetricName,
                    unit
                ),
            }?;
            points.extend(data.iter().filter_map(datapoint_from_sdk));
        }
        Ok(points)
    }
}

/// Pages a listing can take before it is refused as endless: 10,000 pages is far beyond
/// any Lightsail quota of resources per region.
const MAX_PAGES: usize = 10_000;

/// A listing's resource from the SDK's: its name, state and tags, whatever the type.
fn resource(
    name: Option<&str>,
    state: Option<&str>,
    tags: &[aws_sdk_lightsail::types::Tag],
) -> Option<Resource> {
    Some(Resource {
        name: name?.to_owned(),
        state: state.unwrap_or_default().to_owned(),
        tags: tags
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().map(str::to_owned))))
            .collect(),
    })
}

/// One page of `$op` from `$token`: its resources and the next token.
macro_rules! listing_page {
    ($client:expr, $token:expr, $op:ident, $items:ident, |$item:ident| $state:expr) => {
        $client
            .$op()
            .set_page_token($token)
            .send()
            .await
            .map(|page| {
                let resources: Vec<Resource> = page
                    .$items()
                    .iter()
                    .filter_map(|$item| resource($item.name(), $state, $item.tags()))
                    .collect();
                (resources, page.next_page_token().map(str::to_owned))
            })
            .map_err(|err| said(&err))
    };
}

impl ResourceSource for LightsailSource {
    async fn resources(
        &self,
        kind: ResourceType,
        region: &str,
    ) -> Result<Vec<Resource>, ListError> {
        let Regional { client, pace } = self.clients.get(served_in(kind, region));
        let failed = |message: String| ListError {
            resource_type: kind,
            region: region.to_owned(),
            message,
            code: None,
            past_deadline: false,
        };
        let mut resources = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens_seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            pace.turn().await;
            let page_token = token.take();
            let (page, next) = match kind {
                ResourceType::Instance => {
                    listing_page!(client, page_token, get_instances, instances, |i| i
                        .state()
                        .and_then(|s| s.name()))
                }
                ResourceType::RelationalDatabase => listing_page!(
                    client,
                    page_token,
                    get_relational_databases,
                    relational_databases,
                    |d| d.state()
                ),
                ResourceType::LoadBalancer => listing_page!(
                    client,
                    page_token,
                    get_load_balancers,
                    load_balancers,
                    |b| b.state().map(|s| s.as_str())
                ),
                ResourceType::Distribution => {
                    listing_page!(client, page_token, get_distributions, distributions, |_d| {
                        None
                    })
                }
                ResourceType::Bucket => {
                    listing_page!(client, page_token, get_buckets, buckets, |_b| None)
                }
                // One answer, not paged.
                ResourceType::ContainerService => client
                    .get_container_services()
                    .send()
                    .await
                    .map(|page| {
                        let services = page.container_services().iter().filter_map(|c| {
                            resource(
                                c.container_service_name(),
                                c.state().map(|s| s.as_str()),
                                c.tags(),
                            )
                        });
                        (services.collect(), None)
                    })
                    .map_err(|err| said(&err)),
            }
            .map_err(|(message, code)| ListError {
                code,
                ..failed(message)
            })?;
            resources.extend(page);
            match next {
                Some(next) if !next.is_empty() => {
                    if !tokens_seen.insert(next.clone()) {
                        return Err(failed(format!(
                            "the page token {next:?} came back twice; the listing would never end"
                        )));
                    }
                    token = Some(next);
                }
                _ => return Ok(resources),
            }
        }
        Err(failed(format!(
            "more than {MAX_PAGES} pages of {}s; the listing was stopped",
            kind.noun()
        )))
    }
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
    let resource_type = query.key.resource_type;
    let resource = query.key.resource.clone();
    // Lightsail's error bodies carry `code: "NotFound"` besides `__type`; without an
    // `x-amzn-ErrorType` header the SDK reports that code instead of the exception name.
    if matches!(err.code(), Some("NotFoundException" | "NotFound")) {
        let message = err.message().map_or_else(
            || format!("no such {}", resource_type.noun()),
            str::to_owned,
        );
        return FetchError::NotFound {
            region,
            resource_type,
            resource,
            message,
        };
    }
    FetchError::Failed {
        region,
        resource_type,
        resource,
        message: sdk_message(&err),
        code: err.code().map(str::to_owned),
    }
}

/// What the service said ([`sdk_message`]) and its error code.
fn said<E, R>(err: &SdkError<E, R>) -> (String, Option<String>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    (sdk_message(err), err.code().map(str::to_owned))
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
        _ => super::error_chain(err),
    }
}
