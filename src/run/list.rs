//! The list stage: each region's fleet read once from an [`InstanceSource`], a bounded
//! number of regions at once, none started once the deadline is near.

use std::collections::{BTreeSet, HashMap};

use futures_util::StreamExt;
use tracing::Instrument;

use super::deadline::{self, Deadline};
use crate::domain::select::Instance;
use crate::ports::{InstanceSource, ListError};

/// Lists every region once, at most `concurrency` at a time, each listing sorted by
/// name once here rather than by every rule that selects from it. A region that fails
/// fails only itself.
pub(super) async fn list_all<S: InstanceSource>(
    source: &S,
    regions: BTreeSet<&str>,
    concurrency: usize,
    deadline: Option<Deadline>,
) -> HashMap<String, Result<Vec<Instance>, ListError>> {
    futures_util::stream::iter(regions)
        .map(|region| {
            let span = tracing::info_span!("list", %region);
            async move {
                let result = list(source, region, deadline).await.map(|mut instances| {
                    instances.sort_by(|a, b| a.name.cmp(&b.name));
                    instances
                });
                match &result {
                    Ok(instances) => tracing::debug!(instances = instances.len(), "listed"),
                    Err(err) => tracing::error!(error = %err, "listing the instances failed"),
                }
                (region.to_owned(), result)
            }
            .instrument(span)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

async fn list<S: InstanceSource>(
    source: &S,
    region: &str,
    deadline: Option<Deadline>,
) -> Result<Vec<Instance>, ListError> {
    let past = |deadline: &Deadline| ListError {
        region: region.to_owned(),
        message: format!("{} passed before the listing was done", deadline.describe()),
        past_deadline: true,
    };
    if let Some(deadline) = deadline.filter(|d| !d.may_fetch()) {
        return Err(past(&deadline));
    }
    match deadline::within(deadline.map(|d| d.fetch_by()), source.instances(region)).await {
        Some(listed) => listed,
        None => Err(past(&deadline.expect("only a deadline abandons a listing"))),
    }
}
