//! The alarm state store in DynamoDB (`ALERT_STATE_TABLE`), the SDK adapter of
//! [`StateStore`].

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::aws::clients;
use crate::domain::evaluate::AlarmState;
use crate::domain::select::Selector;
use crate::domain::silence::{AdHoc, Book, Matcher};
use crate::domain::transition::{Delivered, Held, Stored};
use crate::ports::{self, ClaimRequest, Loaded, StateStore, StoreError, Unreadable};

/// How far apart the clocks of two runs may be: a claim's expiry further ahead than a
/// lease and this is not one this program wrote.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// BatchGetItem takes at most this many keys per call.
const BATCH_GET_LIMIT: usize = 100;
/// Calls per chunk before keys DynamoDB keeps leaving unprocessed are an error.
const BATCH_GET_ATTEMPTS: u32 = 8;

/// The store in a DynamoDB table (`ALERT_STATE_TABLE`): partition key `pk` (S), one
/// item per key with `state`, `changedAt`, `rangeEnd`, `notifiedAt`, `reason`,
/// `version` (N), `period` (N, seconds), `alarmOpen` (BOOL), after a partial delivery
/// `deliveredNotice` (S) and `deliveredTopics` (SS), while a silence or an inhibition
/// holds a notice `heldNotice` (S, the state it announces), `heldFrom` (S, absent for a
/// first evaluation), `heldSince` and `heldBy` (S), and while claimed `claimToken`,
/// `claimExpiresAt` (epoch seconds, N), `pendingState`, `pendingRangeEnd`. Times are
/// RFC 3339 in UTC. One more item, `silences`, holds the ad hoc silences ([`Book`]).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` with a client built from the shared config (the function's
    /// region). Build it once per process.
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        let region = config.region().map_or("default", |r| r.as_ref());
        let config = aws_sdk_dynamodb::config::Builder::from(config)
            .retry_partition(clients::retry_partition("dynamodb", region))
            .build();
        Self::new(aws_sdk_dynamodb::Client::from_conf(config), table)
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

    async fn load_chunk(&self, keys: &[&str]) -> Result<Loaded, StoreError> {
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(|k| pk(k)).collect()))
            .consistent_read(true)
            .build()
            .expect("keys are set");
        let first = keys.first().copied().unwrap_or_default();
        let mut found = Loaded::default();
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
                sort_item(item, &mut found);
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
            attempts: BATCH_GET_ATTEMPTS,
            table: self.table.clone(),
            key,
            count,
        })
    }

    /// Every item of the table (`status`, with the credentials of a person: the function
    /// has no Scan permission), strongly consistent, page after page.
    pub async fn load_all(&self) -> Result<Loaded, StoreError> {
        let mut found = Loaded::default();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.call_error("Scan", "every item".to_owned(), e))?;
            for item in output.items() {
                sort_item(item, &mut found);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
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
            detail: super::error_chain(&error),
        }
    }

    fn claim_lost(&self, key: &str, token: &str) -> StoreError {
        StoreError::ClaimLost {
            table: self.table.clone(),
            key: key.to_owned(),
            token: token.to_owned(),
        }
    }
}

impl StateStore for DynamoStore {
    async fn load(&self, keys: &[String]) -> Result<Loaded, StoreError> {
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
        let mut loaded = Loaded::default();
        for chunk in chunks {
            loaded.states.extend(chunk.states);
            loaded.unreadable.extend(chunk.unreadable);
            loaded.delivered.extend(chunk.delivered);
            if chunk.silences.version.is_some() {
                loaded.silences = chunk.silences;
            }
        }
        Ok(loaded)
    }

    async fn claim(&self, claim: ClaimRequest<'_>) -> Result<bool, StoreError> {
        let ClaimRequest {
            key,
            expected_version,
            token,
            now,
            lease_until,
            pending,
        } = claim;
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

    async fn release(
        &self,
        key: &str,
        token: &str,
        delivered: Option<&Delivered>,
    ) -> Result<(), StoreError> {
        let mut expression = Expression::default();
        expression.remove_claim();
        if let Some(delivered) = delivered.filter(|d| !d.topics.is_empty()) {
            expression.set(
                "deliveredNotice",
                AttributeValue::S(delivered.notice.clone()),
            );
            expression.set(
                "deliveredTopics",
                AttributeValue::Ss(delivered.topics.iter().cloned().collect()),
            );
        }
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

    async fn write_silences(&self, book: &Book) -> Result<bool, StoreError> {
        let mut expression = Expression::default();
        expression.set("silences", silences_value(book));
        expression.set(
            "version",
            AttributeValue::N(book.version.map_or(1, |v| v + 1).to_string()),
        );
        expression.expect_version(book.version);
        self.update("UpdateItem (silences)", ports::SILENCES_KEY, expression)
            .await
    }
}

/// An item read, into what `found` holds: a state, a first notice's partial delivery,
/// the ad hoc silences, or an item that cannot be decoded.
fn sort_item(item: &HashMap<String, AttributeValue>, found: &mut Loaded) {
    let key = text(item, "pk").unwrap_or_default().to_owned();
    let unreadable = |problem: String| Unreadable {
        version: number_attribute(item, "version"),
        problem,
    };
    if key == ports::SILENCES_KEY {
        match parse_silences(item) {
            Ok(book) => found.silences = book,
            Err(problem) => {
                found.unreadable.insert(key, unreadable(problem));
            }
        }
        return;
    }
    match parse(item) {
        Ok(Some(stored)) => {
            found.states.insert(key, stored);
        }
        Ok(None) => {
            if let Ok(Some(delivered)) = parse_delivered(item) {
                found.delivered.insert(key, delivered);
            }
        }
        Err(problem) => {
            found.unreadable.insert(key, unreadable(problem));
        }
    }
}

/// A number attribute, when it is one.
fn number_attribute(item: &HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

/// The ad hoc silences as the item holds them: `silences`, a map of ID to a map of
/// `rule`, `resource`, `region` (S, each when given), `tags` (M of S), `start`, `end`,
/// `comment`, `createdAt` and, once expired, `expiredAt` (S).
fn silences_value(book: &Book) -> AttributeValue {
    let one = |silence: &AdHoc| {
        let mut map = HashMap::new();
        let matcher = &silence.matcher;
        for (name, selector) in [
            ("rule", &matcher.rule),
            ("resource", &matcher.resource),
            ("region", &matcher.region),
        ] {
            if let Some(selector) = selector {
                map.insert(
                    name.to_owned(),
                    AttributeValue::S(selector.as_str().to_owned()),
                );
            }
        }
        if !matcher.tags.is_empty() {
            let tags = matcher
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.as_str().to_owned())))
                .collect();
            map.insert("tags".to_owned(), AttributeValue::M(tags));
        }
        map.insert("start".to_owned(), time_value(silence.start));
        map.insert("end".to_owned(), time_value(silence.end));
        map.insert(
            "comment".to_owned(),
            AttributeValue::S(silence.comment.clone()),
        );
        map.insert("createdAt".to_owned(), time_value(silence.created_at));
        if let Some(expired) = silence.expired_at {
            map.insert("expiredAt".to_owned(), time_value(expired));
        }
        AttributeValue::M(map)
    };
    AttributeValue::M(
        book.silences
            .iter()
            .map(|(id, silence)| (id.clone(), one(silence)))
            .collect(),
    )
}

/// The ad hoc silences of their item, or what is wrong with it.
fn parse_silences(item: &HashMap<String, AttributeValue>) -> Result<Book, String> {
    let version = number_attribute(item, "version").ok_or("version is missing or not a number")?;
    let Some(AttributeValue::M(silences)) = item.get("silences") else {
        return Err("silences is missing or not a map".into());
    };
    let mut book = Book {
        version: Some(version),
        silences: Default::default(),
    };
    for (id, value) in silences {
        let AttributeValue::M(map) = value else {
            return Err(format!("silence {id} is not a map"));
        };
        let text = |name: &str| text(map, name);
        let time = |name: &str| -> Result<DateTime<Utc>, String> {
            let value = text(name).ok_or_else(|| format!("silence {id}: {name} is missing"))?;
            DateTime::parse_from_rfc3339(value)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("silence {id}: {name} {value:?} is not an RFC 3339 time: {e}"))
        };
        let glob = |name: &str| -> Result<Option<Selector>, String> {
            text(name)
                .map(|g| Selector::parse(g).map_err(|e| format!("silence {id}: {name}: {e}")))
                .transpose()
        };
        let tags = match map.get("tags") {
            None => Default::default(),
            Some(AttributeValue::M(tags)) => tags
                .iter()
                .map(|(key, value)| match value {
                    AttributeValue::S(glob) => Selector::parse(glob)
                        .map(|glob| (key.clone(), glob))
                        .map_err(|e| format!("silence {id}: tag {key}: {e}")),
                    _ => Err(format!("silence {id}: tag {key} is not a string")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("silence {id}: tags is not a map")),
        };
        let silence = AdHoc {
            id: id.clone(),
            matcher: Matcher {
                rule: glob("rule")?,
                resource: glob("resource")?,
                region: glob("region")?,
                tags,
            },
            start: time("start")?,
            end: time("end")?,
            comment: text("comment").unwrap_or_default().to_owned(),
            created_at: time("createdAt")?,
            expired_at: text("expiredAt").map(|_| time("expiredAt")).transpose()?,
        };
        book.silences.insert(id.clone(), silence);
    }
    Ok(book)
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
        match new.period {
            Some(period) => self.set("period", AttributeValue::N(period.to_string())),
            None => self.remove.push("period"),
        }
        self.set("alarmOpen", AttributeValue::Bool(new.alarm_open));
        // A confirmed write finishes any partial delivery.
        self.remove.extend(["deliveredNotice", "deliveredTopics"]);
        match &new.held {
            Some(held) => {
                self.set("heldNotice", AttributeValue::S(held.to.as_str().to_owned()));
                match held.from {
                    Some(from) => self.set("heldFrom", AttributeValue::S(from.as_str().to_owned())),
                    None => self.remove.push("heldFrom"),
                }
                self.set("heldSince", time_value(held.since));
                self.set("heldBy", AttributeValue::S(held.by.clone()));
            }
            None => self
                .remove
                .extend(["heldNotice", "heldFrom", "heldSince", "heldBy"]),
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
            // No item, one only ever claimed, or one whose version is unreadable (it is
            // replaced): a version that is a number means another run wrote first.
            None => {
                self.and(
                    "(attribute_not_exists(#version) OR NOT attribute_type(#version, :numberType))",
                );
                self.number_type();
            }
            Some(version) => {
                self.and("#version = :expected");
                self.values
                    .push((":expected".into(), AttributeValue::N(version.to_string())));
            }
        }
    }

    /// No claim whose lease is still running at `now`. A claim this program cannot have
    /// written (an expiry that is not a number, or further ahead than a lease) is no
    /// claim: left standing, it would silence the key for good.
    fn expect_no_running_claim(&mut self, now: DateTime<Utc>) {
        self.and(
            "(attribute_not_exists(#claimToken) OR NOT attribute_type(#claimExpiresAt, :numberType) \
             OR #claimExpiresAt <= :now OR #claimExpiresAt > :longestLease)",
        );
        self.values.push((":now".into(), seconds(now)));
        self.values.push((
            ":longestLease".into(),
            seconds(now + ports::LEASE + CLOCK_SKEW),
        ));
        self.number_type();
    }

    /// `:numberType`, DynamoDB's name of the number type, once.
    fn number_type(&mut self) {
        if !self.values.iter().any(|(name, _)| name == ":numberType") {
            self.values
                .push((":numberType".into(), AttributeValue::S("N".into())));
        }
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

/// The stored state of an item; `None` for an item that was only ever claimed; what is
/// wrong with an item that cannot be decoded.
fn parse(item: &HashMap<String, AttributeValue>) -> Result<Option<Stored>, String> {
    if !item.contains_key("version") {
        return Ok(None);
    }
    let required =
        |name: &str| text(item, name).ok_or_else(|| format!("{name} is missing or not a string"));
    let time = |name: &str, value: &str| {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{name} {value:?} is not an RFC 3339 time: {e}"))
    };
    let number = |name: &str| match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(n)) => n.parse::<u64>().map(Some).map_err(|_| {
            // A write expecting a number it cannot name could not replace the item.
            let advice = if name == "version" {
                "; delete the item to reset that alarm"
            } else {
                ""
            };
            format!("{name} {n} is not a whole number{advice}")
        }),
        Some(_) => Err(format!("{name} is not a number")),
    };
    let version = number("version")?.ok_or("version is missing")?;
    let state = required("state")?;
    let state = parse_state(state)
        .ok_or_else(|| format!("state {state:?} is not one of OK, ALARM, INSUFFICIENT_DATA"))?;
    let notified_at = text(item, "notifiedAt")
        .map(|t| time("notifiedAt", t))
        .transpose()?;
    let period = number("period")?
        .map(|p| u32::try_from(p).map_err(|_| format!("period {p} is out of range")))
        .transpose()?;
    let alarm_open = match item.get("alarmOpen") {
        Some(AttributeValue::Bool(open)) => *open,
        Some(_) => return Err("alarmOpen is not a boolean".into()),
        // Written before it was recorded: an ALARM that was notified is open.
        None => state == AlarmState::Alarm && notified_at.is_some(),
    };
    let delivered = parse_delivered(item)?;
    let held = parse_held(item)?;
    Ok(Some(Stored {
        state,
        changed_at: time("changedAt", required("changedAt")?)?,
        range_end: time("rangeEnd", required("rangeEnd")?)?,
        notified_at,
        reason: required("reason")?.to_owned(),
        version,
        period,
        alarm_open,
        delivered,
        held,
    }))
}

/// The notice a silence or an inhibition holds, if any.
fn parse_held(item: &HashMap<String, AttributeValue>) -> Result<Option<Held>, String> {
    let Some(to) = text(item, "heldNotice") else {
        return match item.get("heldNotice") {
            None => Ok(None),
            Some(_) => Err("heldNotice is not a string".into()),
        };
    };
    let state = |name: &str, value: &str| {
        parse_state(value)
            .ok_or_else(|| format!("{name} {value:?} is not one of OK, ALARM, INSUFFICIENT_DATA"))
    };
    let since = text(item, "heldSince").ok_or("heldSince is missing or not a string")?;
    Ok(Some(Held {
        from: text(item, "heldFrom")
            .map(|from| state("heldFrom", from))
            .transpose()?,
        to: state("heldNotice", to)?,
        since: DateTime::parse_from_rfc3339(since)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("heldSince {since:?} is not an RFC 3339 time: {e}"))?,
        by: text(item, "heldBy").unwrap_or_default().to_owned(),
    }))
}

/// The record of a notice delivered to some of its targets.
fn parse_delivered(item: &HashMap<String, AttributeValue>) -> Result<Option<Delivered>, String> {
    match (item.get("deliveredNotice"), item.get("deliveredTopics")) {
        (Some(AttributeValue::S(notice)), Some(AttributeValue::Ss(topics))) => {
            Ok(Some(Delivered {
                notice: notice.clone(),
                topics: topics.iter().cloned().collect(),
            }))
        }
        (None, None) => Ok(None),
        _ => Err("deliveredNotice and deliveredTopics are not a string and a string set".into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::conformance;

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
             #reason = :reason, #version = :version, #period = :period, #alarmOpen = :alarmOpen \
             REMOVE #notifiedAt, #deliveredNotice, #deliveredTopics, \
             #heldNotice, #heldFrom, #heldSince, #heldBy, \
             #claimToken, #claimExpiresAt, #pendingState, #pendingRangeEnd"
        );
        assert_eq!(
            expression.condition,
            "#version = :expected AND (attribute_not_exists(#claimToken) \
             OR NOT attribute_type(#claimExpiresAt, :numberType) \
             OR #claimExpiresAt <= :now OR #claimExpiresAt > :longestLease)"
        );
        let names: Vec<&str> = expression.names().into_iter().collect();
        assert_eq!(
            names,
            [
                "alarmOpen",
                "changedAt",
                "claimExpiresAt",
                "claimToken",
                "deliveredNotice",
                "deliveredTopics",
                "heldBy",
                "heldFrom",
                "heldNotice",
                "heldSince",
                "notifiedAt",
                "pendingRangeEnd",
                "pendingState",
                "period",
                "rangeEnd",
                "reason",
                "state",
                "version"
            ]
        );
    }

    #[test]
    fn many_keys_are_described_by_the_first() {
        assert_eq!(describe("a", 1), "a");
        assert_eq!(describe("a", 150), "a and 149 more keys");
    }
}
