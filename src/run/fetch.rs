//! The fetch stage: every query run against a [`MetricSource`], a bounded number at once.

use std::collections::HashMap;

use futures_util::StreamExt;
use tracing::Instrument;

use crate::domain::plan::{MetricDatapoint, Query, QueryKey};
use crate::ports::{FetchError, MetricSource};

/// Runs every query with at most `concurrency` in flight. A failed query fails only
/// itself: its error is its result.
pub async fn fetch_all<S: MetricSource>(
    source: &S,
    queries: Vec<Query>,
    concurrency: usize,
) -> HashMap<QueryKey, Result<Vec<MetricDatapoint>, FetchError>> {
    futures_util::stream::iter(queries)
        .map(|query| {
            let span = tracing::info_span!(
                "fetch",
                region = %query.key.region,
                instance = %query.key.instance,
                metric = %query.key.metric,
            );
            async move {
                let result = source.fetch(&query).await;
                match &result {
                    Ok(points) => tracing::debug!(datapoints = points.len(), "fetched"),
                    Err(err) => tracing::warn!(error = %err, "fetch failed"),
                }
                (query.key, result)
            }
            .instrument(span)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}
