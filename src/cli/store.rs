//! Where `check` keeps alarm state: the DynamoDB table of `ALERT_STATE_TABLE`, or the
//! local file of `--state-file` (a simulation: a dry run records its decisions there).

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::aws::{self, DynamoStore};
use crate::domain::silence::Book;
use crate::domain::transition::{Delivered, Stored};
use crate::offline::FileStore;
use crate::ports::{ClaimRequest, Loaded, StateStore, StoreError};
use crate::settings::{InputError, Settings};

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

/// The store of a command that works on the state table itself (`silence`, `status`):
/// `--state-file PATH`, else `ALERT_STATE_TABLE`, the SDK config loaded and the
/// credentials checked first; `Ok(Err(status))` when they are refused (said on stderr).
pub(super) async fn open(
    file: Option<&Path>,
    settings: &Settings,
    chosen: &aws::clients::Chosen,
) -> Result<Result<Store, ExitCode>, InputError> {
    if let Some(path) = file {
        return state_file(path, settings.state_table.as_deref()).map(Ok);
    }
    let Some(table) = settings.state_table.as_deref() else {
        return Err(InputError::Other(
            "ad hoc silences and alarm states are kept in the state table: set \
             ALERT_STATE_TABLE to its name (the stack's output AlarmStateTableName), or pass \
             --state-file PATH for a local state file"
                .to_owned(),
        ));
    };
    let config = aws::clients::sdk_config_for(settings.retries, chosen).await;
    if let Some(refused) = super::credentials_refused(&config, chosen).await {
        return Ok(Err(refused));
    }
    Ok(Ok(Store::Table(DynamoStore::from_config(&config, table))))
}

impl Store {
    /// Every item (`status`): a Scan of the table, or the whole file.
    pub(super) async fn load_all(&self) -> Result<Loaded, StoreError> {
        match self {
            Store::Table(table) => table.load_all().await,
            Store::File(file) => Ok(file.load_all()),
        }
    }

    /// `table NAME` or `state file PATH`, for people.
    pub(super) fn describe(&self) -> String {
        match self {
            Store::Table(table) => format!("table {}", table.table()),
            Store::File(file) => format!("state file {}", file.path().display()),
        }
    }
}

impl StateStore for Store {
    async fn load(&self, keys: &[String]) -> Result<Loaded, StoreError> {
        match self {
            Store::Table(table) => table.load(keys).await,
            Store::File(file) => file.load(keys).await,
        }
    }

    async fn claim(&self, claim: ClaimRequest<'_>) -> Result<bool, StoreError> {
        match self {
            Store::Table(table) => table.claim(claim).await,
            Store::File(file) => file.claim(claim).await,
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

    async fn write_silences(&self, book: &Book) -> Result<bool, StoreError> {
        match self {
            Store::Table(table) => table.write_silences(book).await,
            Store::File(file) => file.write_silences(book).await,
        }
    }
}
