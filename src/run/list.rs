//! The list stage: each (resource type, region) listing read once from a
//! [`ResourceSource`], a bounded number at once, none started once the deadline is near.

use std::collections::{BTreeSet, HashMap};

use futures_util::StreamExt;
use tracing::Instrument;

use super::deadline::{self, Deadline};
use crate::domain::catalog::ResourceType;
use crate::domain::select::Resource;
use crate::ports::{ListError, ResourceSource};

/// Every listing of a run, by resource type and region.
pub(crate) type Listings = HashMap<(ResourceType, String), Result<Vec<Resource>, ListError>>;

/// Lists every (type, region) once, at most `concurrency` at a time, each listing sorted
/// by name once here rather than by every rule that selects from it. A listing that fails
/// fails only itself.
pub(crate) async fn list_all<S: ResourceSource>(
    source: &S,
    needed: BTreeSet<(ResourceType, &str)>,
    concurrency: usize,
    deadline: Option<Deadline>,
) -> Listings {
    futures_util::stream::iter(needed)
        .map(|(kind, region)| {
            let span = tracing::info_span!("list", resource_type = %kind, %region);
            async move {
                let result = list(source, kind, region, deadline)
                    .await
                    .map(|mut resources| {
                        resources.sort_by(|a, b| a.name.cmp(&b.name));
                        resources
                    });
                match &result {
                    Ok(resources) => tracing::debug!(resources = resources.len(), "listed"),
                    Err(err) => tracing::error!(error = %err, "listing failed"),
                }
                ((kind, region.to_owned()), result)
            }
            .instrument(span)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

async fn list<S: ResourceSource>(
    source: &S,
    kind: ResourceType,
    region: &str,
    deadline: Option<Deadline>,
) -> Result<Vec<Resource>, ListError> {
    let past = |deadline: &Deadline| ListError {
        resource_type: kind,
        region: region.to_owned(),
        message: format!("{} passed before the listing was done", deadline.describe()),
        code: None,
        past_deadline: true,
    };
    if let Some(deadline) = deadline.filter(|d| !d.may_fetch()) {
        return Err(past(&deadline));
    }
    match deadline::within(
        deadline.map(|d| d.fetch_by()),
        source.resources(kind, region),
    )
    .await
    {
        Some(listed) => listed,
        None => Err(past(&deadline.expect("only a deadline abandons a listing"))),
    }
}
