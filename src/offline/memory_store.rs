//! The alarm state store in memory, with the same conditions as the DynamoDB table: for
//! tests and offline runs, and under the local state file (`check --state-file`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::domain::evaluate::AlarmState;
use crate::domain::silence::Book;
use crate::domain::transition::{Delivered, Stored};
use crate::ports::{ClaimRequest, Loaded, SILENCES_KEY, StateStore, StoreError};

/// The store in memory, with the same conditions as [`DynamoStore`](crate::aws::DynamoStore): for tests and
/// offline runs (state lasts as long as the process).
#[derive(Debug)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, Item>>,
    /// The ad hoc silences' item. Locked after `items` when both are.
    silences: Mutex<Book>,
    /// What errors call the store in place of a table name.
    name: String,
}

#[derive(Debug, Default)]
pub(super) struct Item {
    pub(super) stored: Option<Stored>,
    pub(super) claim: Option<Claim>,
    /// A first notice delivered to some targets (with a state, it is in `stored`).
    pub(super) delivered: Option<Delivered>,
}

/// The pending state is kept for parity with the table; only the state file reads it
/// back (to write it out).
#[derive(Debug)]
pub(super) struct Claim {
    pub(super) token: String,
    /// Epoch seconds, as in the table.
    pub(super) expires_at: i64,
    pub(super) pending_state: AlarmState,
    pub(super) pending_range_end: DateTime<Utc>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::holding("(memory)", HashMap::new(), Book::default())
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that starts with `items` and the ad hoc `silences`, called `name` in its
    /// errors.
    pub(super) fn holding(
        name: impl Into<String>,
        items: HashMap<String, Item>,
        silences: Book,
    ) -> Self {
        MemoryStore {
            items: Mutex::new(items),
            silences: Mutex::new(silences),
            name: name.into(),
        }
    }

    fn silences(&self) -> std::sync::MutexGuard<'_, Book> {
        self.silences.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<String, Item>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `read` on every item and the ad hoc silences, the store locked meanwhile:
    /// what the state file writes out is then always one moment of the store, the latest.
    pub(super) fn read<R>(&self, read: impl FnOnce(&HashMap<String, Item>, &Book) -> R) -> R {
        let items = self.items();
        read(&items, &self.silences())
    }

    /// Every item (`status`).
    pub fn load_all(&self) -> Loaded {
        let mut loaded = Loaded::default();
        for (key, item) in self.items().iter() {
            if let Some(stored) = &item.stored {
                loaded.states.insert(key.clone(), stored.clone());
            } else if let Some(delivered) = &item.delivered {
                loaded.delivered.insert(key.clone(), delivered.clone());
            }
        }
        loaded.silences = self.silences().clone();
        loaded
    }

    /// Whether `item` holds `expected_version` and no claim running at `now`.
    fn writable(item: Option<&Item>, expected_version: Option<u64>, now: DateTime<Utc>) -> bool {
        let version = item.and_then(|i| i.stored.as_ref()).map(|s| s.version);
        // As in the table: an expiry further ahead than a lease (and clock skew) is no
        // claim this program wrote.
        let longest = (now + crate::ports::LEASE + chrono::TimeDelta::minutes(5)).timestamp();
        let claim_running = item
            .and_then(|i| i.claim.as_ref())
            .is_some_and(|c| c.expires_at > now.timestamp() && c.expires_at <= longest);
        version == expected_version && !claim_running
    }

    /// Runs `change` on the item if `token` holds its claim.
    fn with_claim(
        &self,
        key: &str,
        token: &str,
        change: impl FnOnce(&mut Item),
    ) -> Result<(), StoreError> {
        let mut items = self.items();
        match items.get_mut(key) {
            Some(item) if item.claim.as_ref().is_some_and(|c| c.token == token) => {
                change(item);
                Ok(())
            }
            _ => Err(StoreError::ClaimLost {
                table: self.name.clone(),
                key: key.to_owned(),
                token: token.to_owned(),
            }),
        }
    }
}

impl StateStore for MemoryStore {
    fn load(&self, keys: &[String]) -> impl Future<Output = Result<Loaded, StoreError>> + Send {
        let items = self.items();
        let states = keys
            .iter()
            .filter_map(|k| {
                let stored = items.get(k)?.stored.clone()?;
                Some((k.clone(), stored))
            })
            .collect();
        let delivered = keys
            .iter()
            .filter_map(|k| Some((k.clone(), items.get(k)?.delivered.clone()?)))
            .collect();
        let silences = match keys.iter().any(|k| k == SILENCES_KEY) {
            true => self.silences().clone(),
            false => Book::default(),
        };
        std::future::ready(Ok(Loaded {
            states,
            unreadable: HashMap::new(),
            delivered,
            silences,
        }))
    }

    fn claim(
        &self,
        claim: ClaimRequest<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut items = self.items();
        let won = Self::writable(items.get(claim.key), claim.expected_version, claim.now);
        if won {
            items.entry(claim.key.to_owned()).or_default().claim = Some(Claim {
                token: claim.token.to_owned(),
                expires_at: claim.lease_until.timestamp(),
                pending_state: claim.pending.state,
                pending_range_end: claim.pending.range_end,
            });
        }
        std::future::ready(Ok(won))
    }

    fn confirm(
        &self,
        key: &str,
        token: &str,
        new: &Stored,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.with_claim(key, token, |item| {
            item.stored = Some(new.clone());
            item.claim = None;
            item.delivered = None;
        }))
    }

    fn release(
        &self,
        key: &str,
        token: &str,
        delivered: Option<&Delivered>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.with_claim(key, token, |item| {
            item.claim = None;
            match item.stored.as_mut() {
                Some(stored) => stored.delivered = delivered.cloned(),
                None => item.delivered = delivered.cloned(),
            }
        }))
    }

    fn record(
        &self,
        key: &str,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
        new: &Stored,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut items = self.items();
        let written = Self::writable(items.get(key), expected_version, now);
        if written {
            *items.entry(key.to_owned()).or_default() = Item {
                stored: Some(new.clone()),
                claim: None,
                delivered: None,
            };
        }
        std::future::ready(Ok(written))
    }

    fn write_silences(&self, book: &Book) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut silences = self.silences();
        let written = silences.version == book.version;
        if written {
            *silences = Book {
                version: Some(book.version.map_or(1, |v| v + 1)),
                silences: book.silences.clone(),
            };
        }
        std::future::ready(Ok(written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::conformance;

    macro_rules! memory_conformance {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $case() {
                conformance::run(&MemoryStore::new(), stringify!($case)).await;
            }
        )*
        };
    }

    conformance::each_case!(memory_conformance);
}
