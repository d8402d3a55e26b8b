//! Where `check` keeps alarm state: the DynamoDB table of `ALERT_STATE_TABLE`, or the
//! local file of `--state-file` (a simulation: a dry run records its decisions there).

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::aws::DynamoStore;
use crate::domain::transition::{Delivered, Stored};
use crate::offline::FileStore;
use crate::ports::{Loaded, StateStore, StoreError};
use crate::settings::InputError;

/// The state store of one `check`.
pub(super) enum Store {
    Table(DynamoStore),
    File(FileStore),
}

/// The store of `--state-file PATH`, read now; not with `ALERT_STATE_TABLE`, so that it
/// is always clear where the state went.
pub(super) fn state_file(path: &Path, table: Option<&str>) -> Result<Store, InputError> {
    if let Some(table) = table {
        return Err(InputError::Other(format!(
            "--state-file {} and ALERT_STATE_TABLE={table} are both set; use one: the state \
             file for a local simulation, the table for the function's own state",
            path.display()
        )));
    }
    FileStore::open(path)
        .map(Store::File)
        .map_err(|e| InputError::Other(e.to_string()))
}

impl StateStore for Store {
    async fn load(&self, keys: &[String]) -> Result<Loaded, StoreError> {
        match self {
            Store::Table(table) => table.load(keys).await,
            Store::File(file) => file.load(keys).await,
        }
    }

    async fn claim(
        &self,
        key: &str,
        expected_version: Option<u64>,
        token: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        pending: &Stored,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Table(table) => {
                table
                    .claim(key, expected_version, token, now, lease_until, pending)
                    .await
            }
            Store::File(file) => {
                file.claim(key, expected_version, token, now, lease_until, pending)
                    .await
            }
        }
    }

    async fn confirm(&self, key: &str, token: &str, new: &Stored) -> Result<(), StoreError> {
        match self {
            Store::Table(table) => table.confirm(key, token, new).await,
            Store::File(file) => file.confirm(key, token, new).await,
        }
    }

    async fn release(
        &self,
        key: &str,
        token: &str,
        delivered: Option<&Delivered>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Table(table) => table.release(key, token, delivered).await,
            Store::File(file) => file.release(key, token, delivered).await,
        }
    }

    async fn record(
        &self,
        key: &str,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
        new: &Stored,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Table(table) => table.record(key, expected_version, now, new).await,
            Store::File(file) => file.record(key, expected_version, now, new).await,
        }
    }
}
