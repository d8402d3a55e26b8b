//! The three readers of untrusted input, each from arbitrary bytes, as the fuzz targets
//! (`fuzz/fuzz_targets/`) call them and `tests/it/fuzz_corpus.rs` replays their corpus: a
//! rules document, a Lambda event, a recording. Each must return (an error is fine) and
//! never panic, allocate without bound or take more than a second (SPEC §13).

use futures_util::FutureExt;

use crate::domain::{evaluate, time};
use crate::lambda;
use crate::offline::Recording;
use crate::rules::{self, Fallbacks};
use crate::settings::Settings;

/// The region and topic of the environment, so that documents leaving them out reach the
/// checks after them.
fn fallbacks() -> Fallbacks {
    Fallbacks {
        region: Some("us-east-1".to_owned()),
        topic_arn: Some("arn:aws:sns:us-east-1:123456789012:lightsail-alerts".to_owned()),
    }
}

/// A rules document as a file, an S3 object or `ALERT_RULES` gives it (YAML or JSON
/// bytes), and, when the bytes are JSON, as an event's `rules` object gives it; a valid
/// one is printed as `validate` prints it.
pub fn rules(bytes: &[u8]) {
    let fallbacks = fallbacks();
    let parsed = rules::parse_bytes(bytes, "fuzz.yaml", &fallbacks);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let from_value = rules::from_value(value, "event.rules", &fallbacks);
        outcome(&from_value);
    }
    outcome(&parsed);
}

fn outcome(parsed: &Result<rules::RuleSet, rules::ValidationErrors>) {
    match parsed {
        Ok(rules) => drop(serde_yaml_ng::to_string(rules)),
        Err(errors) => drop(errors.to_string()),
    }
}

/// A Lambda event's payload, decoded as the handler decodes it, and the rules it
/// carries read as the handler reads them.
pub fn event(bytes: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let invocation = match lambda::decode(payload) {
        Ok(invocation) => invocation,
        Err(err) => return drop(err.to_string()),
    };
    if let Some(at) = invocation.at {
        match time::not_in_future(at, chrono::Utc::now(), "the event's evaluation time") {
            // What a run does first with a time it accepts: its evaluation ranges, up to
            // the longest a rule may have.
            Ok(()) => {
                for period in [60, 300, 3_600, 86_400] {
                    let _ = evaluate::range(at, period, 1_440);
                }
            }
            Err(err) => return drop(err.to_string()),
        }
    }
    let settings = Settings {
        fallbacks: fallbacks(),
        ..Settings::default()
    };
    // Rules in the event are read without awaiting anything; without them, the
    // settings name no other source and the answer is an error, also at once.
    let loaded = settings
        .load_rules(invocation.rules, None, None)
        .now_or_never();
    if let Some(Err(err)) = loaded {
        drop(err.to_string());
    }
}

/// A recording (`check --replay FILE`), and the fleet it lists.
pub fn recording(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Recording::parse(text, "fuzz.json") {
        Ok(recording) => {
            use crate::ports::ResourceSource;
            for kind in crate::domain::catalog::ResourceType::ALL {
                drop(recording.resources(*kind, "us-east-1").now_or_never());
            }
        }
        Err(err) => drop(err.to_string()),
    }
}
