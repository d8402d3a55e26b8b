//! The listing stage: each region's fleet read once from an [`InstanceSource`].

use std::collections::{BTreeSet, HashMap};

use futures_util::StreamExt;
use tracing::Instrument;

use crate::domain::select::Instance;
use crate::ports::{InstanceSource, ListError};

/// Lists every region once, at most `concurrency` at a time, each listing sorted by
/// name once here rather than by every rule that selects from it. A region that fails
/// fails only itself.
pub async fn list_all<S: InstanceSource>(
    source: &S,
    regions: BTreeSet<&str>,
    concurrency: usize,
) -> HashMap<String, Result<Vec<Instance>, ListError>> {
    futures_util::stream::iter(regions)
        .map(|region| {
            let span = tracing::info_span!("list", %region);
            async move {
                let result = source.instances(region).await.map(|mut instances| {
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
