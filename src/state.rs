//! The alarm state store (SPEC §9): what each (rule, region, instance) was, and the
//! claim / confirm / release protocol that makes a notification exactly-once.
//!
//! One item per [`key`]. A run loads the items, [`decide`](crate::transition::decide)s,
//! and then either [`record`](StateStore::record)s a change that needs no notice, or
//! [`claim`](StateStore::claim)s the notice (a conditional write that only one run can
//! win), publishes, and [`confirm`](StateStore::confirm)s the new state — or
//! [`release`](StateStore::release)s the claim when the publish fails, so the next run
//! sends it. A claim left by a run that died expires after its lease ([`LEASE`]).
//!
//! Every condition that looks at a lease compares it with the `now` the caller passes,
//! so a run has one clock and the tests are deterministic.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::evaluate::AlarmState;
use crate::transition::Stored;

/// How long a claim holds: 5 minutes, longer than the function's timeout (60 s in
/// template.yaml; raise this if that ever grows past it), so a claim is only ever taken
/// over from a run that is gone. Callers pass `lease_until = now + LEASE`.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);

/// BatchGetItem takes at most this many keys per call.
const BATCH_GET_LIMIT: usize = 100;
/// Calls per chunk before keys DynamoDB keeps leaving unprocessed are an error.
const BATCH_GET_ATTEMPTS: u32 = 8;

/// The item key: `<rule>#<region>#<instance>`.
pub fn key(rule: &str, region: &str, instance: &str) -> String {
    format!("{rule}#{region}#{instance}")
}

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
    #[error(
        "item {key} in table {table} is malformed: {detail}; delete the item to reset that alarm"
    )]
    Malformed {
        table: String,
        key: String,
        detail: String,
    },
    #[error(
        "BatchGetItem on table {table} left {count} keys unprocessed after {BATCH_GET_ATTEMPTS} attempts (throttled?), among them {key}"
    )]
    Unprocessed {
        table: String,
        key: String,
        count: usize,
    },
}

/// Where alarm states live. `DynamoStore` in the function, `MemoryStore` in tests and
/// offline runs; [`conformance`] holds the behaviour both must show.
pub trait StateStore: Sync {
    /// The stored state of each key that has one (keys never written, or only claimed
    /// and never confirmed, are absent). Duplicate keys are fine.
    fn load(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Stored>, StoreError>> + Send;

    /// Claims the notice for `key`: succeeds only if the item still holds what the run
    /// read (`expected_version`; `None` = no state stored) and carries no claim whose
    /// lease is still running at `now`. Records the claim (`token`, `lease_until`) and
    /// the pending state. `Ok(true)` = this run owns the notice; `Ok(false)` = another
    /// run changed or claimed the item (do not publish).
    fn claim(
        &self,
        key: &str,
        expected_version: Option<u64>,
        token: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        pending: &Stored,
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
    /// ([`StoreError::ClaimLost`] if the claim is no longer ours).
    fn release(
        &self,
        key: &str,
        token: &str,
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
}

// ---------------------------------------------------------------------------------------
// DynamoDB

/// The store in a DynamoDB table (`ALERT_STATE_TABLE`): partition key `pk` (S), one
/// item per key with `state`, `changedAt`, `rangeEnd`, `notifiedAt`, `reason`,
/// `version` (N), and while claimed `claimToken`, `claimExpiresAt` (epoch seconds, N),
/// `pendingState`, `pendingRangeEnd`. Times are RFC 3339 in UTC.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` with a client built from the shared config (the function's
    /// region). Build it once per process.
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(config), table)
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn load_chunk(&self, keys: &[&str]) -> Result<Vec<(String, Stored)>, StoreError> {
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(|k| pk(k)).collect()))
            .consistent_read(true)
            .build()
            .expect("keys are set");
        let first = keys.first().copied().unwrap_or_default();
        let mut found = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                self.back_off(attempt).await;
            }
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| self.call_error("BatchGetItem", describe(first, keys.len()), e))?;
            for item in output
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                let key = text(item, "pk").unwrap_or_default().to_owned();
                if let Some(stored) = self.parse(&key, item)? {
                    found.push((key, stored));
                }
            }
            match output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .filter(|rest| !rest.keys().is_empty())
            {
                None => return Ok(found),
                Some(rest) => request = rest,
            }
        }
        let count = request.keys().len();
        let key = request
            .keys()
            .first()
            .and_then(|k| text(k, "pk"))
            .unwrap_or(first)
            .to_owned();
        Err(StoreError::Unprocessed {
            table: self.table.clone(),
            key,
            count,
        })
    }

    /// Exponential backoff with the SDK's sleep: 50 ms, 100 ms, … capped at 2 s.
    async fn back_off(&self, attempt: u32) {
        let delay = Duration::from_millis(50 << attempt.min(6)).min(Duration::from_secs(2));
        if let Some(sleep) = self.client.config().sleep_impl() {
            sleep.sleep(delay).await;
        }
    }

    /// An UpdateItem on `key`: `Ok(false)` when the condition does not hold.
    async fn update(
        &self,
        operation: &'static str,
        key: &str,
        expression: Expression,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(pk(key)))
            .update_expression(expression.update())
            .condition_expression(&expression.condition);
        for name in expression.names() {
            request = request.expression_attribute_names(format!("#{name}"), name);
        }
        for (placeholder, value) in expression.values {
            request = request.expression_attribute_values(placeholder, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.call_error(operation, key.to_owned(), e)),
        }
    }

    fn call_error(
        &self,
        operation: &'static str,
        key: String,
        error: impl std::error::Error,
    ) -> StoreError {
        StoreError::Call {
            operation,
            table: self.table.clone(),
            key,
            detail: DisplayErrorContext(error).to_string(),
        }
    }

    fn claim_lost(&self, key: &str, token: &str) -> StoreError {
        StoreError::ClaimLost {
            table: self.table.clone(),
            key: key.to_owned(),
            token: token.to_owned(),
        }
    }

    /// The stored state of an item; `None` for an item that was only ever claimed.
    fn parse(
        &self,
        key: &str,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Option<Stored>, StoreError> {
        if !item.contains_key("version") {
            return Ok(None);
        }
        let malformed = |detail: String| StoreError::Malformed {
            table: self.table.clone(),
            key: key.to_owned(),
            detail,
        };
        let required = |name: &str| {
            text(item, name).ok_or_else(|| malformed(format!("{name} is missing or not a string")))
        };
        let time = |name: &str, value: &str| {
            DateTime::parse_from_rfc3339(value)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| malformed(format!("{name} {value:?} is not an RFC 3339 time: {e}")))
        };
        let state = required("state")?;
        let version = match item.get("version") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
            _ => None,
        }
        .ok_or_else(|| malformed("version is not a whole number".into()))?;
        Ok(Some(Stored {
            state: parse_state(state).ok_or_else(|| {
                malformed(format!(
                    "state {state:?} is not one of OK, ALARM, INSUFFICIENT_DATA"
                ))
            })?,
            changed_at: time("changedAt", required("changedAt")?)?,
            range_end: time("rangeEnd", required("rangeEnd")?)?,
            notified_at: text(item, "notifiedAt")
                .map(|t| time("notifiedAt", t))
                .transpose()?,
            reason: required("reason")?.to_owned(),
            version,
        }))
    }
}

impl StateStore for DynamoStore {
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Stored>, StoreError> {
        // BatchGetItem refuses a request that names a key twice.
        let unique: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let chunks = futures_util::future::try_join_all(
            unique
                .chunks(BATCH_GET_LIMIT)
                .map(|chunk| self.load_chunk(chunk)),
        )
        .await?;
        Ok(chunks.into_iter().flatten().collect())
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
        let mut expression = Expression::default();
        expression.set("claimToken", AttributeValue::S(token.to_owned()));
        expression.set("claimExpiresAt", seconds(lease_until));
        expression.set(
            "pendingState",
            AttributeValue::S(pending.state.as_str().to_owned()),
        );
        expression.set("pendingRangeEnd", time_value(pending.range_end));
        expression.expect_version(expected_version);
        expression.expect_no_running_claim(now);
        self.update("UpdateItem (claim)", key, expression).await
    }

    async fn confirm(&self, key: &str, token: &str, new: &Stored) -> Result<(), StoreError> {
        let mut expression = Expression::default();
        expression.write_state(new);
        expression.remove_claim();
        expression.expect_claim(token);
        if self.update("UpdateItem (confirm)", key, expression).await? {
            Ok(())
        } else {
            Err(self.claim_lost(key, token))
        }
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), StoreError> {
        let mut expression = Expression::default();
        expression.remove_claim();
        expression.expect_claim(token);
        if self.update("UpdateItem (release)", key, expression).await? {
            Ok(())
        } else {
            Err(self.claim_lost(key, token))
        }
    }

    async fn record(
        &self,
        key: &str,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
        new: &Stored,
    ) -> Result<bool, StoreError> {
        let mut expression = Expression::default();
        expression.write_state(new);
        expression.remove_claim();
        expression.expect_version(expected_version);
        expression.expect_no_running_claim(now);
        self.update("UpdateItem (record)", key, expression).await
    }
}

/// An UpdateItem's expressions. Attribute `x` is written `#x` (`state` is a reserved
/// word), value placeholders are `:x`.
#[derive(Default)]
struct Expression {
    set: Vec<&'static str>,
    remove: Vec<&'static str>,
    condition: String,
    values: Vec<(String, AttributeValue)>,
}

impl Expression {
    fn set(&mut self, name: &'static str, value: AttributeValue) {
        self.set.push(name);
        self.values.push((format!(":{name}"), value));
    }

    fn write_state(&mut self, new: &Stored) {
        self.set("state", AttributeValue::S(new.state.as_str().to_owned()));
        self.set("changedAt", time_value(new.changed_at));
        self.set("rangeEnd", time_value(new.range_end));
        self.set("reason", AttributeValue::S(new.reason.clone()));
        self.set("version", AttributeValue::N(new.version.to_string()));
        match new.notified_at {
            Some(t) => self.set("notifiedAt", time_value(t)),
            None => self.remove.push("notifiedAt"),
        }
    }

    fn remove_claim(&mut self) {
        self.remove.extend([
            "claimToken",
            "claimExpiresAt",
            "pendingState",
            "pendingRangeEnd",
        ]);
    }

    fn and(&mut self, condition: &str) {
        if !self.condition.is_empty() {
            self.condition.push_str(" AND ");
        }
        self.condition.push_str(condition);
    }

    fn expect_version(&mut self, expected: Option<u64>) {
        match expected {
            None => self.and("attribute_not_exists(#version)"),
            Some(version) => {
                self.and("#version = :expected");
                self.values
                    .push((":expected".into(), AttributeValue::N(version.to_string())));
            }
        }
    }

    fn expect_no_running_claim(&mut self, now: DateTime<Utc>) {
        self.and("(attribute_not_exists(#claimToken) OR #claimExpiresAt <= :now)");
        self.values.push((":now".into(), seconds(now)));
    }

    fn expect_claim(&mut self, token: &str) {
        self.and("#claimToken = :token");
        self.values
            .push((":token".into(), AttributeValue::S(token.to_owned())));
    }

    fn update(&self) -> String {
        let mut update = String::new();
        if !self.set.is_empty() {
            let clauses: Vec<String> = self.set.iter().map(|n| format!("#{n} = :{n}")).collect();
            update = format!("SET {}", clauses.join(", "));
        }
        if !self.remove.is_empty() {
            let names: Vec<String> = self.remove.iter().map(|n| format!("#{n}")).collect();
            if !update.is_empty() {
                update.push(' ');
            }
            update.push_str(&format!("REMOVE {}", names.join(", ")));
        }
        update
    }

    /// Every attribute the expressions name (DynamoDB refuses unused names).
    fn names(&self) -> BTreeSet<&str> {
        let mut names: BTreeSet<&str> = self.set.iter().chain(&self.remove).copied().collect();
        for part in self.condition.split('#').skip(1) {
            let end = part
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(part.len());
            names.insert(&part[..end]);
        }
        names
    }
}

fn pk(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), AttributeValue::S(key.to_owned()))])
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

fn time_value(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn seconds(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

fn parse_state(text: &str) -> Option<AlarmState> {
    [
        AlarmState::Ok,
        AlarmState::Alarm,
        AlarmState::InsufficientData,
    ]
    .into_iter()
    .find(|state| state.as_str() == text)
}

/// `web#us-east-1#i-1`, or `web#us-east-1#i-1 and 149 more keys`.
fn describe(first: &str, count: usize) -> String {
    match count {
        0 | 1 => first.to_owned(),
        n => format!("{first} and {} more keys", n - 1),
    }
}

// ---------------------------------------------------------------------------------------
// Memory

/// The store in memory, with the same conditions as [`DynamoStore`]: for tests and
/// offline runs (state lasts as long as the process).
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, Item>>,
}

#[derive(Debug, Default)]
struct Item {
    stored: Option<Stored>,
    claim: Option<Claim>,
}

#[derive(Debug)]
#[allow(dead_code)] // the pending state is kept for parity with the table, not read back
struct Claim {
    token: String,
    /// Epoch seconds, as in the table.
    expires_at: i64,
    pending_state: AlarmState,
    pending_range_end: DateTime<Utc>,
}

const MEMORY: &str = "(memory)";

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<String, Item>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `item` holds `expected_version` and no claim running at `now`.
    fn writable(item: Option<&Item>, expected_version: Option<u64>, now: DateTime<Utc>) -> bool {
        let version = item.and_then(|i| i.stored.as_ref()).map(|s| s.version);
        let claim_running = item
            .and_then(|i| i.claim.as_ref())
            .is_some_and(|c| c.expires_at > now.timestamp());
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
                table: MEMORY.into(),
                key: key.to_owned(),
                token: token.to_owned(),
            }),
        }
    }
}

impl StateStore for MemoryStore {
    fn load(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Stored>, StoreError>> + Send {
        let items = self.items();
        let found = keys
            .iter()
            .filter_map(|k| {
                let stored = items.get(k)?.stored.clone()?;
                Some((k.clone(), stored))
            })
            .collect();
        std::future::ready(Ok(found))
    }

    fn claim(
        &self,
        key: &str,
        expected_version: Option<u64>,
        token: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        pending: &Stored,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut items = self.items();
        let won = Self::writable(items.get(key), expected_version, now);
        if won {
            items.entry(key.to_owned()).or_default().claim = Some(Claim {
                token: token.to_owned(),
                expires_at: lease_until.timestamp(),
                pending_state: pending.state,
                pending_range_end: pending.range_end,
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
        }))
    }

    fn release(
        &self,
        key: &str,
        token: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.with_claim(key, token, |item| item.claim = None))
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
            };
        }
        std::future::ready(Ok(written))
    }
}

// ---------------------------------------------------------------------------------------
// The behaviour every store must show

/// The behaviour suite every [`StateStore`] must pass: run by the unit tests below on
/// [`MemoryStore`] and by `tests/state_store.rs` on [`DynamoStore`] against moto. Each
/// case uses its own keys, so all can share one store. Panics on a failure.
#[doc(hidden)]
pub mod conformance {
    use super::*;

    /// The cases, by name.
    pub const CASES: &[&str] = &[
        "first_claim_on_a_missing_item_wins",
        "racing_claims_have_one_winner",
        "a_second_claim_on_the_same_version_loses",
        "confirm_needs_our_token",
        "release_lets_the_next_claim_win",
        "an_expired_claim_can_be_taken_over",
        "record_with_a_stale_version_fails",
        "load_many_keys",
    ];

    /// Runs the case called `name` (one of [`CASES`]).
    pub async fn run(store: &impl StateStore, name: &str) {
        match name {
            "first_claim_on_a_missing_item_wins" => first_claim_on_a_missing_item_wins(store).await,
            "racing_claims_have_one_winner" => one_claim_wins(store, true).await,
            "a_second_claim_on_the_same_version_loses" => one_claim_wins(store, false).await,
            "confirm_needs_our_token" => confirm_needs_our_token(store).await,
            "release_lets_the_next_claim_win" => release_lets_the_next_claim_win(store).await,
            "an_expired_claim_can_be_taken_over" => an_expired_claim_can_be_taken_over(store).await,
            "record_with_a_stale_version_fails" => record_with_a_stale_version_fails(store).await,
            "load_many_keys" => load_many_keys(store).await,
            other => panic!("no conformance case {other}; the cases are {CASES:?}"),
        }
    }

    /// Runs every case.
    pub async fn all(store: &impl StateStore) {
        for name in CASES {
            run(store, name).await;
        }
    }

    /// 2026-11-24T13:00:00Z plus `minutes`.
    pub fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_525_200, 0).expect("a valid time")
            + TimeDelta::minutes(minutes)
    }

    /// A state written at minute `minute` with `version`.
    pub fn state(state: AlarmState, minute: i64, version: u64) -> Stored {
        Stored {
            state,
            changed_at: at(minute),
            range_end: at(minute),
            notified_at: None,
            reason: format!("Threshold Crossed: minute {minute} — “quoted”"),
            version,
        }
    }

    async fn load_one(store: &impl StateStore, key: &str) -> Option<Stored> {
        let mut found = store.load(&[key.to_owned()]).await.expect("load");
        found.remove(key)
    }

    /// `claim` with a lease of [`LEASE`] from `now`; panics on an error.
    async fn claim(
        store: &impl StateStore,
        key: &str,
        expected: Option<u64>,
        token: &str,
        now: DateTime<Utc>,
        pending: &Stored,
    ) -> bool {
        store
            .claim(key, expected, token, now, now + LEASE, pending)
            .await
            .unwrap_or_else(|e| panic!("claim {key} as {token}: {e}"))
    }

    /// `record`; panics on an error.
    async fn record(
        store: &impl StateStore,
        key: &str,
        expected: Option<u64>,
        now: DateTime<Utc>,
        new: &Stored,
    ) -> bool {
        store
            .record(key, expected, now, new)
            .await
            .unwrap_or_else(|e| panic!("record {key}: {e}"))
    }

    fn assert_lost(result: Result<(), StoreError>, what: &str) {
        assert!(
            matches!(result, Err(StoreError::ClaimLost { .. })),
            "{what}: expected ClaimLost, got {result:?}"
        );
    }

    async fn first_claim_on_a_missing_item_wins(store: &impl StateStore) {
        let key = "first#us-east-1#web-1";
        let pending = state(AlarmState::Alarm, 0, 1);
        assert!(claim(store, key, None, "run-a", at(0), &pending).await);
        // A claim alone stores no state.
        assert_eq!(load_one(store, key).await, None);
        let confirmed = Stored {
            notified_at: Some(at(0)),
            ..pending
        };
        store
            .confirm(key, "run-a", &confirmed)
            .await
            .expect("confirm");
        assert_eq!(load_one(store, key).await, Some(confirmed));
    }

    /// Two runs claim the same notification, at once or one after the other: one wins.
    async fn one_claim_wins(store: &impl StateStore, concurrently: bool) {
        let prefix = if concurrently { "race" } else { "turns" };
        // On a missing item, and on an item at version 1.
        for (key, expected) in [
            (format!("{prefix}#us-east-1#new"), None),
            (format!("{prefix}#us-east-1#old"), Some(1)),
        ] {
            let key = key.as_str();
            if expected.is_some() {
                assert!(record(store, key, None, at(0), &state(AlarmState::Ok, 0, 1)).await);
            }
            let pending = state(AlarmState::Alarm, 5, expected.map_or(1, |v| v + 1));
            let (a, b) = if concurrently {
                tokio::join!(
                    claim(store, key, expected, "run-a", at(5), &pending),
                    claim(store, key, expected, "run-b", at(5), &pending),
                )
            } else {
                let a = claim(store, key, expected, "run-a", at(5), &pending).await;
                (
                    a,
                    claim(store, key, expected, "run-b", at(5), &pending).await,
                )
            };
            assert!(a ^ b, "{key}: exactly one claim wins, got a={a} b={b}");
            let (winner, loser) = if a {
                ("run-a", "run-b")
            } else {
                ("run-b", "run-a")
            };
            assert_lost(
                store.confirm(key, loser, &pending).await,
                "the loser's confirm",
            );
            store.confirm(key, winner, &pending).await.expect("confirm");
            assert_eq!(load_one(store, key).await, Some(pending));
        }
    }

    async fn confirm_needs_our_token(store: &impl StateStore) {
        let key = "token#us-east-1#web-1";
        let before = state(AlarmState::Ok, 0, 1);
        assert!(record(store, key, None, at(0), &before).await);
        let after = Stored {
            notified_at: Some(at(5)),
            ..state(AlarmState::Alarm, 5, 2)
        };
        assert!(claim(store, key, Some(1), "run-a", at(5), &after).await);
        let error = store
            .confirm(key, "run-b", &after)
            .await
            .expect_err("a confirm with another token fails");
        let message = error.to_string();
        assert!(
            matches!(error, StoreError::ClaimLost { .. }) && message.contains(key),
            "{message}"
        );
        assert_eq!(load_one(store, key).await, Some(before));
        assert_lost(
            store
                .confirm("token#us-east-1#never", "run-a", &after)
                .await,
            "a confirm of an item nobody claimed",
        );
        store.confirm(key, "run-a", &after).await.expect("confirm");
        assert_eq!(load_one(store, key).await, Some(after.clone()));
        assert_lost(
            store.confirm(key, "run-a", &after).await,
            "a second confirm (the claim is gone)",
        );
    }

    async fn release_lets_the_next_claim_win(store: &impl StateStore) {
        let key = "release#us-east-1#web-1";
        let before = Stored {
            notified_at: Some(at(0)),
            ..state(AlarmState::Alarm, 0, 1)
        };
        assert!(record(store, key, None, at(0), &before).await);
        let pending = state(AlarmState::Ok, 5, 2);
        assert!(claim(store, key, Some(1), "run-a", at(5), &pending).await);
        assert!(!claim(store, key, Some(1), "run-b", at(5), &pending).await);
        // A record cannot slip in under a running claim either.
        assert!(!record(store, key, Some(1), at(5), &pending).await);
        assert_lost(
            store.release(key, "run-b").await,
            "a release by another run",
        );
        store.release(key, "run-a").await.expect("release");
        // The state is as it was, and the next run's claim wins.
        assert_eq!(load_one(store, key).await, Some(before));
        assert!(claim(store, key, Some(1), "run-b", at(5), &pending).await);
        assert_lost(store.release(key, "run-a").await, "a second release");
        store.release(key, "run-b").await.expect("release b");
    }

    async fn an_expired_claim_can_be_taken_over(store: &impl StateStore) {
        let key = "expired#us-east-1#web-1";
        let pending = state(AlarmState::Alarm, 0, 1);
        assert!(claim(store, key, None, "dead-run", at(0), &pending).await);
        let expiry = at(0) + LEASE;
        let just_before = expiry - TimeDelta::seconds(1);
        assert!(!claim(store, key, None, "next-run", just_before, &pending).await);
        assert!(claim(store, key, None, "next-run", expiry, &pending).await);
        // The run that died can neither confirm nor release any more.
        assert_lost(store.confirm(key, "dead-run", &pending).await, "confirm");
        assert_lost(store.release(key, "dead-run").await, "release");
        store
            .confirm(key, "next-run", &pending)
            .await
            .expect("confirm");
        assert_eq!(load_one(store, key).await, Some(pending.clone()));

        // A record clears an expired claim: its owner's confirm fails afterwards.
        let next = state(AlarmState::Alarm, 10, 2);
        assert!(claim(store, key, Some(1), "slow-run", at(10), &next).await);
        let recorded = state(AlarmState::Ok, 20, 2);
        assert!(record(store, key, Some(1), at(20), &recorded).await);
        assert_lost(store.confirm(key, "slow-run", &next).await, "confirm");
        assert_eq!(load_one(store, key).await, Some(recorded));
    }

    async fn record_with_a_stale_version_fails(store: &impl StateStore) {
        let key = "record#us-east-1#web-1";
        let first = state(AlarmState::InsufficientData, 0, 1);
        assert!(record(store, key, None, at(0), &first).await);
        assert!(!record(store, key, None, at(0), &first).await);
        let second = Stored {
            notified_at: Some(at(1)),
            ..state(AlarmState::Ok, 5, 2)
        };
        assert!(record(store, key, Some(1), at(5), &second).await);
        assert!(!record(store, key, Some(1), at(5), &second).await);
        let pending = state(AlarmState::Alarm, 10, 2);
        assert!(!claim(store, key, Some(1), "run-a", at(10), &pending).await);
        assert_eq!(load_one(store, key).await, Some(second.clone()));
        // A record may clear notified_at.
        let third = state(AlarmState::Ok, 15, 3);
        assert!(record(store, key, Some(2), at(15), &third).await);
        assert_eq!(load_one(store, key).await, Some(third));
    }

    async fn load_many_keys(store: &impl StateStore) {
        let keys: Vec<String> = (0..250)
            .map(|i| key("many", "us-east-1", &format!("web-{i}")))
            .collect();
        let minute = |i: usize| i64::try_from(i).expect("small");
        for (i, key) in keys.iter().enumerate() {
            let stored = state(AlarmState::Ok, minute(i), 1);
            assert!(record(store, key, None, at(minute(i)), &stored).await);
        }
        let mut asked = keys.clone();
        asked.extend((0..30).map(|i| key("many", "us-east-1", &format!("absent-{i}"))));
        // Duplicates are allowed.
        asked.extend(keys[..10].iter().cloned());
        let found = store.load(&asked).await.expect("load");
        assert_eq!(found.len(), keys.len());
        for (i, key) in keys.iter().enumerate() {
            let expected = state(AlarmState::Ok, minute(i), 1);
            assert_eq!(found.get(key), Some(&expected), "{key}");
        }
        assert!(store.load(&[]).await.expect("load nothing").is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! memory_conformance {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $case() {
                conformance::run(&MemoryStore::new(), stringify!($case)).await;
            }
        )*
            #[test]
            fn every_conformance_case_runs_on_memory() {
                assert_eq!(conformance::CASES, &[$(stringify!($case)),*]);
            }
        };
    }

    memory_conformance!(
        first_claim_on_a_missing_item_wins,
        racing_claims_have_one_winner,
        a_second_claim_on_the_same_version_loses,
        confirm_needs_our_token,
        release_lets_the_next_claim_win,
        an_expired_claim_can_be_taken_over,
        record_with_a_stale_version_fails,
        load_many_keys,
    );

    #[test]
    fn the_key_joins_rule_region_and_instance() {
        assert_eq!(key("cpu", "eu-west-1", "web-1"), "cpu#eu-west-1#web-1");
    }

    #[test]
    fn expressions_name_every_attribute_they_use() {
        let mut expression = Expression::default();
        expression.write_state(&conformance::state(AlarmState::Ok, 0, 1));
        expression.remove_claim();
        expression.expect_version(Some(1));
        expression.expect_no_running_claim(conformance::at(0));
        assert_eq!(
            expression.update(),
            "SET #state = :state, #changedAt = :changedAt, #rangeEnd = :rangeEnd, \
             #reason = :reason, #version = :version \
             REMOVE #notifiedAt, #claimToken, #claimExpiresAt, #pendingState, #pendingRangeEnd"
        );
        assert_eq!(
            expression.condition,
            "#version = :expected AND (attribute_not_exists(#claimToken) OR #claimExpiresAt <= :now)"
        );
        let names: Vec<&str> = expression.names().into_iter().collect();
        assert_eq!(
            names,
            [
                "changedAt",
                "claimExpiresAt",
                "claimToken",
                "notifiedAt",
                "pendingRangeEnd",
                "pendingState",
                "rangeEnd",
                "reason",
                "state",
                "version"
            ]
        );
    }

    #[test]
    fn errors_name_the_table_and_the_key() {
        let error = StoreError::Malformed {
            table: "alerts-state".into(),
            key: "cpu#us-east-1#web-1".into(),
            detail: "version is not a whole number".into(),
        };
        assert_eq!(
            error.to_string(),
            "item cpu#us-east-1#web-1 in table alerts-state is malformed: version is not a whole number; delete the item to reset that alarm"
        );
        assert_eq!(describe("a", 1), "a");
        assert_eq!(describe("a", 150), "a and 149 more keys");
    }
}
