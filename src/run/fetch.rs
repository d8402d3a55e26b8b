//! The fetch stage: one query's datapoints from a [`MetricSource`], not started once the
//! deadline is near and abandoned at it.

use super::deadline::{self, Deadline};
use crate::domain::plan::{MetricDatapoint, Query};
use crate::ports::{FetchError, MetricSource};

/// The datapoints of `query`. A failed query fails only itself: its error is its result.
pub(super) async fn fetch<S: MetricSource>(
    source: &S,
    query: &Query,
    deadline: Option<Deadline>,
) -> Result<Vec<MetricDatapoint>, FetchError> {
    let past = |deadline: &Deadline| FetchError::Deadline {
        region: query.key.region.clone(),
        resource: query.key.resource.clone(),
        deadline: deadline.describe(),
    };
    if let Some(deadline) = deadline.filter(|d| !d.may_fetch()) {
        return Err(past(&deadline));
    }
    let result = match deadline::within(deadline.map(|d| d.fetch_by()), source.fetch(query)).await {
        Some(fetched) => fetched,
        None => Err(past(&deadline.expect("only a deadline abandons a fetch"))),
    };
    match &result {
        Ok(points) => {
            tracing::debug!(region = %query.key.region, resource_type = %query.key.resource_type, resource = %query.key.resource, metric = %query.key.metric, datapoints = points.len(), "fetched")
        }
        Err(err) => {
            tracing::warn!(region = %query.key.region, resource_type = %query.key.resource_type, resource = %query.key.resource, metric = %query.key.metric, error = %err, "fetch failed")
        }
    }
    result
}
