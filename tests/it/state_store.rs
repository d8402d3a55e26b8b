//! The alarm state store's behaviour suite (`state::conformance`) on DynamoDB, against
//! moto's server: the same cases the unit tests run on the in-memory store.

use crate::support::moto::{Moto, REGION};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use lightsail_alerts::aws::DynamoStore;
use lightsail_alerts::domain::evaluate::AlarmState;
use lightsail_alerts::ports::{ClaimRequest, LEASE, StateStore, StoreError, conformance};

const TABLE: &str = "lightsail-alerts-state";

/// The SDK config the function would load, pointed at moto's DynamoDB endpoint.
fn sdk_config(moto: &Moto) -> aws_config::SdkConfig {
    let endpoint = moto
        .env()
        .into_iter()
        .find(|(name, _)| name == "AWS_ENDPOINT_URL_DYNAMODB")
        .map(|(_, url)| url)
        .expect("moto serves DynamoDB");
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .endpoint_url(endpoint)
        .build()
}

/// Creates the table as template.yaml does (`pk` S, on-demand) and a store on it.
fn store(moto: &Moto) -> DynamoStore {
    moto.create_state_table(TABLE);
    DynamoStore::from_config(&sdk_config(moto), TABLE)
}

/// Cases moto cannot decide. Its DynamoDB evaluates a conditional write without locking
/// the item, so two truly simultaneous claims may both pass their condition there, where
/// DynamoDB serialises writes to an item. The same claims one after the other
/// (`a_second_claim_on_the_same_version_loses`) run here and check our conditions; the
/// simultaneous case runs on the in-memory store (unit tests).
const NOT_ON_MOTO: &[&str] = &["racing_claims_have_one_winner"];

#[test]
fn dynamo_store_passes_the_behaviour_suite() {
    let Some(moto) = Moto::start() else { return };
    let store = store(&moto);
    assert!(NOT_ON_MOTO.iter().all(|c| conformance::CASES.contains(c)));
    for case in conformance::CASES
        .iter()
        .filter(|c| !NOT_ON_MOTO.contains(c))
    {
        eprintln!("conformance case {case}");
        moto.block_on(conformance::run(&store, case));
    }
}

/// What the other cases cannot see through the trait: the attributes in the table.
#[test]
fn items_hold_the_documented_attributes() {
    let Some(moto) = Moto::start() else { return };
    let store = store(&moto);
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&moto));
    let key = "cpu#us-east-1#web-1";
    let get = || {
        let item = moto
            .block_on(
                client
                    .get_item()
                    .table_name(TABLE)
                    .key("pk", AttributeValue::S(key.into()))
                    .consistent_read(true)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("GetItem: {}", DisplayErrorContext(&e)))
            .item
            .unwrap_or_default();
        let mut names: Vec<String> = item.keys().cloned().collect();
        names.sort();
        (item, names)
    };

    let before = conformance::state(AlarmState::Ok, 0, 1);
    assert!(
        moto.block_on(store.record(key, None, conformance::at(0), &before))
            .unwrap()
    );
    let (item, names) = get();
    assert_eq!(
        names,
        [
            "alarmOpen",
            "changedAt",
            "period",
            "pk",
            "rangeEnd",
            "reason",
            "state",
            "version"
        ]
    );
    assert_eq!(item["period"], AttributeValue::N("60".into()));
    assert_eq!(item["alarmOpen"], AttributeValue::Bool(false));
    assert_eq!(item["state"], AttributeValue::S("OK".into()));
    assert_eq!(
        item["rangeEnd"],
        AttributeValue::S("2026-11-24T13:00:00Z".into())
    );
    assert_eq!(item["version"], AttributeValue::N("1".into()));

    let now = conformance::at(5);
    let pending = conformance::state(AlarmState::Alarm, 5, 2);
    assert!(
        moto.block_on(store.claim(ClaimRequest {
            key,
            expected_version: Some(1),
            token: "run-a",
            now,
            lease_until: now + LEASE,
            pending: &pending,
        }))
        .unwrap()
    );
    let (item, names) = get();
    assert_eq!(
        names,
        [
            "alarmOpen",
            "changedAt",
            "claimExpiresAt",
            "claimToken",
            "pendingRangeEnd",
            "pendingState",
            "period",
            "pk",
            "rangeEnd",
            "reason",
            "state",
            "version"
        ]
    );
    assert_eq!(item["state"], AttributeValue::S("OK".into()));
    assert_eq!(item["pendingState"], AttributeValue::S("ALARM".into()));
    assert_eq!(
        item["claimExpiresAt"],
        AttributeValue::N((now + LEASE).timestamp().to_string())
    );

    let confirmed = lightsail_alerts::domain::transition::Stored {
        notified_at: Some(now),
        ..pending
    };
    moto.block_on(store.confirm(key, "run-a", &confirmed))
        .unwrap();
    let (item, names) = get();
    assert_eq!(
        names,
        [
            "alarmOpen",
            "changedAt",
            "notifiedAt",
            "period",
            "pk",
            "rangeEnd",
            "reason",
            "state",
            "version"
        ]
    );
    assert_eq!(item["state"], AttributeValue::S("ALARM".into()));
    assert_eq!(item["version"], AttributeValue::N("2".into()));
}

/// Items no version of this program wrote, or a future one did.
fn hostile_items() -> Vec<(&'static str, Vec<(&'static str, AttributeValue)>)> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: &str| AttributeValue::N(v.to_owned());
    let base = |state: AttributeValue, version: AttributeValue| {
        vec![
            ("state", state),
            ("version", version),
            ("changedAt", s("2026-11-24T13:00:00Z")),
            ("rangeEnd", s("2026-11-24T13:00:00Z")),
            ("reason", s("r")),
        ]
    };
    let mut future = base(s("ALARM"), n("4"));
    future.push(("alarmOpen", s("yes")));
    let mut bad_time = base(s("OK"), n("2"));
    bad_time[2].1 = s("yesterday");
    vec![
        ("cpu#us-east-1#suppressed", base(s("SUPPRESSED"), n("3"))),
        ("cpu#us-east-1#state-a-number", base(n("1"), n("3"))),
        ("cpu#us-east-1#version-a-string", base(s("OK"), s("three"))),
        ("cpu#us-east-1#version-a-fraction", base(s("OK"), n("1.5"))),
        ("cpu#us-east-1#future-version", future),
        ("cpu#us-east-1#bad-time", bad_time),
    ]
}

#[test]
fn an_unreadable_item_affects_its_own_key_and_is_replaced_by_the_next_write() {
    let Some(moto) = Moto::start() else { return };
    let store = store(&moto);
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&moto));
    let hostile = hostile_items();
    for (key, attributes) in &hostile {
        let mut put = client
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S((*key).into()));
        for (name, value) in attributes {
            put = put.item(*name, value.clone());
        }
        moto.block_on(put.send())
            .unwrap_or_else(|e| panic!("PutItem: {}", DisplayErrorContext(&e)));
    }
    let good = "cpu#us-east-1#good";
    let state = conformance::state(AlarmState::Alarm, 0, 1);
    assert!(
        moto.block_on(store.record(good, None, conformance::at(0), &state))
            .unwrap()
    );
    let mut keys: Vec<String> = hostile.iter().map(|(k, _)| (*k).to_owned()).collect();
    keys.push(good.to_owned());
    let loaded = moto
        .block_on(store.load(&keys))
        .expect("a bad item is no error");
    assert_eq!(loaded.states.get(good), Some(&state), "its neighbour loads");
    assert_eq!(loaded.states.len(), 1);
    let version = |key: &str| loaded.unreadable[key].version;
    assert!(
        loaded.unreadable["cpu#us-east-1#suppressed"]
            .problem
            .contains("SUPPRESSED")
    );
    assert_eq!(version("cpu#us-east-1#suppressed"), Some(3));
    assert_eq!(version("cpu#us-east-1#version-a-string"), None);
    assert_eq!(version("cpu#us-east-1#version-a-fraction"), None);
    assert_eq!(version("cpu#us-east-1#future-version"), Some(4));
    assert!(
        loaded.unreadable["cpu#us-east-1#bad-time"]
            .problem
            .contains("changedAt")
    );
    // A version that is a number but not a whole one cannot be expected by a write: the
    // warning says to delete the item.
    let fraction = "cpu#us-east-1#version-a-fraction";
    assert!(
        loaded.unreadable[fraction]
            .problem
            .contains("delete the item")
    );
    // The next write, expecting the version read, replaces each other one; a second
    // write from a run that read the same item loses.
    for (key, _) in hostile.iter().filter(|(key, _)| *key != fraction) {
        let expected = version(key);
        let new = conformance::state(AlarmState::Ok, 5, expected.map_or(1, |v| v + 1));
        let now = conformance::at(5);
        assert!(
            moto.block_on(store.record(key, expected, now, &new))
                .unwrap(),
            "{key}"
        );
        assert!(
            !moto
                .block_on(store.record(key, expected, now, &new))
                .unwrap(),
            "{key} twice"
        );
        let reloaded = moto.block_on(store.load(&[(*key).to_owned()])).unwrap();
        assert_eq!(reloaded.states.get(*key), Some(&new), "{key}");
    }
}

#[test]
fn a_missing_table_is_an_error_naming_it() {
    let Some(moto) = Moto::start() else { return };
    let store = DynamoStore::from_config(&sdk_config(&moto), "no-such-table");
    let key = "cpu#us-east-1#web-1".to_owned();
    let error = moto
        .block_on(store.load(std::slice::from_ref(&key)))
        .expect_err("no table");
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::Call { .. })
            && message.contains("no-such-table")
            && message.contains(&key),
        "{message}"
    );
}

#[test]
fn a_claim_this_program_cannot_have_written_does_not_silence_the_key() {
    let Some(moto) = Moto::start() else { return };
    let store = store(&moto);
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&moto));
    let now = conformance::at(0);
    let forever = (now + chrono::TimeDelta::days(3_650))
        .timestamp()
        .to_string();
    let claims = [
        (
            "cpu#us-east-1#expiry-a-string",
            AttributeValue::S("never".into()),
        ),
        (
            "cpu#us-east-1#expiry-in-ten-years",
            AttributeValue::N(forever),
        ),
    ];
    let state = conformance::state(AlarmState::Ok, 0, 1);
    for (key, expiry) in &claims {
        assert!(moto.block_on(store.record(key, None, now, &state)).unwrap());
        moto.block_on(
            client
                .update_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S((*key).into()))
                .update_expression("SET claimToken = :t, claimExpiresAt = :e")
                .expression_attribute_values(":t", AttributeValue::S("stuck".into()))
                .expression_attribute_values(":e", expiry.clone())
                .send(),
        )
        .unwrap_or_else(|e| panic!("UpdateItem: {}", DisplayErrorContext(&e)));
        let pending = conformance::state(AlarmState::Alarm, 5, 2);
        let later = conformance::at(5);
        let claimed = moto.block_on(store.claim(ClaimRequest {
            key,
            expected_version: Some(1),
            token: "run-a",
            now: later,
            lease_until: later + LEASE,
            pending: &pending,
        }));
        assert!(claimed.unwrap(), "{key}: the hostile claim is no claim");
        moto.block_on(store.confirm(key, "run-a", &pending))
            .unwrap();
    }
}
