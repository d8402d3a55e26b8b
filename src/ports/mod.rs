//! The ports: the small traits the run talks through, and the errors they return. Each
//! has an AWS adapter (`crate::aws`) and an offline one (`crate::offline`), so the run
//! never names an SDK type and tests pass fakes.
//!
//! - [`MetricSource`]: datapoints of one query (`GetInstanceMetricData` and the other
//!   types' `Get*MetricData`, a recording).
//! - [`ResourceSource`]: a region's resources of one type (`GetInstances`, ..., a recording).
//! - [`AlertSink`]: one SNS `Publish`.
//! - [`StateStore`]: the alarm state store (SPEC §9) and its claim / confirm / release
//!   protocol, which makes a notification exactly-once: a run loads the items,
//!   [`decide`](crate::domain::transition::decide)s, and then either
//!   [`record`](StateStore::record)s a change that needs no notice, or
//!   [`claim`](StateStore::claim)s the notice (a conditional write that only one run can
//!   win), publishes, and [`confirm`](StateStore::confirm)s the new state — or
//!   [`release`](StateStore::release)s the claim when the publish fails, so the next run
//!   sends it. A claim left by a run that died expires after its lease ([`LEASE`]).
//!   Every condition that looks at a lease compares it with the `now` the caller passes,
//!   so a run has one clock and the tests are deterministic.

pub mod conformance;

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::alert::Alert;
use crate::domain::catalog::ResourceType;
use crate::domain::plan::{MetricDatapoint, Query};
use crate::domain::select::Resource;
use crate::domain::silence::Book;
use crate::domain::transition::{Delivered, Stored};

// ---------------------------------------------------------------------------------------
// Lightsail

/// Why the datapoints of one query could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{} `{resource}` was not found in {region}: {message}", resource_type.noun())]
    NotFound {
        region: String,
        resource_type: ResourceType,
        resource: String,
        message: String,
    },
    #[error("{} failed for `{resource}` in {region}: {message}", resource_type.metric_operation())]
    Failed {
        region: String,
        resource_type: ResourceType,
        resource: String,
        message: String,
        /// The service's error code when it answered (`AccessDeniedException`, ...).
        code: Option<String>,
    },
    /// Not fetched: the run's deadline came first (SPEC §12).
    #[error(
        "not evaluated: {deadline} passed before the datapoints of `{resource}` in {region} arrived"
    )]
    Deadline {
        region: String,
        resource: String,
        deadline: String,
    },
}

impl FetchError {
    /// The service's error code, when it answered with one that is not NotFound (a
    /// NotFound may also come from the listing, without a call).
    pub fn code(&self) -> Option<&str> {
        match self {
            FetchError::Failed { code, .. } => code.as_deref(),
            FetchError::NotFound { .. } | FetchError::Deadline { .. } => None,
        }
    }
}

/// Where datapoints come from. One SDK implementation, one offline (a recording).
pub trait MetricSource: Sync {
    fn fetch(
        &self,
        query: &Query,
    ) -> impl Future<Output = Result<Vec<MetricDatapoint>, FetchError>> + Send;
}

/// Why a region's resources of one type could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} failed in {region}: {message}", resource_type.listing_operation())]
pub struct ListError {
    pub resource_type: ResourceType,
    pub region: String,
    pub message: String,
    /// The service's error code when it answered (`AccessDeniedException`, ...).
    pub code: Option<String>,
    /// Cut short by the run's deadline rather than failed.
    pub past_deadline: bool,
}

/// Where the fleet is listed. One SDK implementation, one offline (a recording).
pub trait ResourceSource: Sync {
    /// Every resource of `kind` in `region`, all pages.
    fn resources(
        &self,
        kind: ResourceType,
        region: &str,
    ) -> impl Future<Output = Result<Vec<Resource>, ListError>> + Send;
}

// ---------------------------------------------------------------------------------------
// SNS

/// Why an alert could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Publish to {topic_arn} failed: {message}")]
pub struct PublishError {
    pub topic_arn: String,
    pub message: String,
}

/// Where alerts go. One SDK implementation; a dry run publishes nothing.
pub trait AlertSink: Sync {
    /// Publishes and returns the SNS message id.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<String, PublishError>> + Send;
}

// ---------------------------------------------------------------------------------------
// The alarm state store

/// How long a claim holds: 5 minutes, longer than the function's timeout (60 s in
/// template.yaml; raise this if that ever grows past it), so a claim is only ever taken
/// over from a run that is gone. Callers pass `lease_until = now + LEASE`.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);

/// The item key: `<rule>#<region>#<resource>`.
pub fn key(rule: &str, region: &str, resource: &str) -> String {
    format!("{rule}#{region}#{resource}")
}

/// The key of the one item that holds every ad hoc silence (SPEC §16): no alarm's key,
/// which always has two `#`. A run reads it with the alarms' items.
pub const SILENCES_KEY: &str = "silences";

/// A store call that failed. Each message names the table and the key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} on table {table} for {key} failed: {detail}")]
    Call {
        operation: &'static str,
        table: String,
        key: String,
        detail: String,
    },
    #[error(
        "the claim on {key} in table {table} is no longer this run's (token {token}): its lease expired and another run took it over, or the item was deleted"
    )]
    ClaimLost {
        table: String,
        key: String,
        token: String,
    },
    /// The local state file (`check --state-file`) could not be written.
    #[error("cannot write the state file {path} (after a change to {key}): {detail}")]
    File {
        path: String,
        key: String,
        detail: String,
    },
    #[error(
        "BatchGetItem on table {table} left {count} keys unprocessed after {attempts} attempts (throttled?), among them {key}"
    )]
    Unprocessed {
        table: String,
        key: String,
        count: usize,
        attempts: u32,
    },
}

/// What a store holds for the keys of a run.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The stored state of each key that has one.
    pub states: HashMap<String, Stored>,
    /// Items that could not be decoded (an unknown state, wrong types, written by a
    /// future version): each is treated as absent for its key alone, and the first
    /// write replaces it (SPEC §13).
    pub unreadable: HashMap<String, Unreadable>,
    /// Notices delivered to some of their targets for keys that hold no state yet (a
    /// first notice whose other publishes failed); for the others it is in
    /// [`Stored::delivered`].
    pub delivered: HashMap<String, Delivered>,
    /// The ad hoc silences, when [`SILENCES_KEY`] was among the keys (empty, version
    /// `None`, without such an item; an item that cannot be decoded is in `unreadable`).
    pub silences: Book,
}

/// An item that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Its version, when that much could be read: what the replacing write expects.
    pub version: Option<u64>,
    /// What is wrong with it.
    pub problem: String,
}

/// What [`StateStore::claim`] is asked: a run's claim on one item's notice.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    pub key: &'a str,
    /// The version the run read: `None` = no readable version (no item, an item only
    /// ever claimed, or one whose version is not a number).
    pub expected_version: Option<u64>,
    /// This run's claim token.
    pub token: &'a str,
    pub now: DateTime<Utc>,
    /// When the claim lapses if the run never confirms or releases it.
    pub lease_until: DateTime<Utc>,
    /// The state the notice announces.
    pub pending: &'a Stored,
}

/// Where alarm states live. `DynamoStore` in the function, `MemoryStore` in tests and
/// offline runs, `FileStore` for `check --state-file`; [`conformance`] holds the
/// behaviour each must show.
pub trait StateStore: Sync {
    /// The stored state of each key that has one (keys never written, or only claimed
    /// and never confirmed, are absent), and the items that could not be decoded.
    /// Duplicate keys are fine.
    fn load(&self, keys: &[String]) -> impl Future<Output = Result<Loaded, StoreError>> + Send;

    /// Claims the notice for `claim.key`: succeeds only if the item still holds what
    /// the run read (`expected_version`) and carries no claim whose lease is still
    /// running at `now`. Records the claim (`token`, `lease_until`) and the pending
    /// state. `Ok(true)` = this run owns the notice; `Ok(false)` = another run changed
    /// or claimed the item (do not publish).
    fn claim(
        &self,
        claim: ClaimRequest<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// After a successful publish: writes `new` (its `version` being the claimed
    /// version + 1, its `notified_at` set) and drops the claim, provided the claim is
    /// still ours ([`StoreError::ClaimLost`] otherwise).
    fn confirm(
        &self,
        key: &str,
        token: &str,
        new: &Stored,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// After a failed publish: drops our claim and leaves the state as it was
    /// ([`StoreError::ClaimLost`] if the claim is no longer ours), recording the targets
    /// that did receive the notice (`delivered`), so that the retry skips them.
    fn release(
        &self,
        key: &str,
        token: &str,
        delivered: Option<&Delivered>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A write without a notice (a change that is not notified, or a newer range end):
    /// succeeds only on `expected_version` with no claim running at `now`, and clears an
    /// expired claim. `Ok(false)` = another run got there first.
    fn record(
        &self,
        key: &str,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
        new: &Stored,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes the ad hoc silences whole (the item [`SILENCES_KEY`], at `book.version` + 1,
    /// or 1 for the first), provided the item still holds `book.version` (`None`: there
    /// is none). `Ok(false)` = someone else wrote first: read again.
    fn write_silences(&self, book: &Book) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_joins_rule_region_and_instance() {
        assert_eq!(key("cpu", "eu-west-1", "web-1"), "cpu#eu-west-1#web-1");
    }
}
