//! The `json` format: a versioned document for machines (`schemas/alert-v1.schema.json`),
//! and the digest document that carries many of them (`schemas/alert-digest-v1.schema.json`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::digest::{DIGEST_VERSION, DigestFacts};
use super::format::{AlertFacts, View, breaches, console_url};
use crate::domain::evaluate::AlarmState;
use crate::domain::time;

/// The `version` of the `json` document (`schemas/alert-v1.schema.json`). A change that
/// removes or retypes a field is a new version; adding an optional field is not.
pub const JSON_VERSION: &str = "1";
/// The `source` of the `json` document.
pub const JSON_SOURCE: &str = "lightsail-alerts";
/// The `consoleUrl` of a test notice, which is about no resource: the console's home.
const CONSOLE_HOME: &str = "https://lightsail.aws.amazon.com/ls/webapp/home";

/// The `json` document, version 1 (`schemas/alert-v1.schema.json`). Every field is
/// always present; `description`, `previousState`, `reminderSince` and `held` may be
/// null.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonAlert<'a> {
    version: &'static str,
    source: &'static str,
    id: &'a str,
    /// The evaluation's state, or `TEST` in a test notice.
    state: &'static str,
    previous_state: Option<AlarmState>,
    /// Set on a reminder of a persisting ALARM: since when it has lasted.
    reminder_since: Option<String>,
    /// Set on a notice a silence or an inhibition held, sent now that it ended.
    held: Option<JsonHeld<'a>>,
    rule: &'a str,
    description: Option<&'a str>,
    severity: &'static str,
    resource_type: &'static str,
    resource: &'a str,
    /// The resource's name again, for consumers written before resource types.
    instance: &'a str,
    region: &'a str,
    metric: &'static str,
    statistic: &'static str,
    unit: &'static str,
    period: u32,
    comparison: &'static str,
    threshold: f64,
    evaluation_periods: u32,
    datapoints_to_alarm: u32,
    treat_missing_data: &'static str,
    reason: &'a str,
    datapoints: Vec<JsonDatapoint>,
    datapoints_omitted: usize,
    evaluated_at: String,
    range_end: String,
    console_url: String,
}

/// What held a released notice, and since when.
#[derive(Serialize)]
struct JsonHeld<'a> {
    /// `silence <name>` or `inhibited by <rule>`.
    by: &'a str,
    /// The evaluation time it was first held (RFC 3339).
    since: String,
}

#[derive(Serialize)]
struct JsonDatapoint {
    timestamp: String,
    value: f64,
    breaching: bool,
}

/// `json`: one document per alert, for Lambda, SQS consumers, webhooks.
pub(super) fn json(facts: &AlertFacts<'_>, view: &View) -> String {
    let AlertFacts {
        rule,
        region,
        resource,
        evaluation,
        evaluated_at,
        previous_state,
        id,
        ..
    } = *facts;
    let document = JsonAlert {
        version: JSON_VERSION,
        source: JSON_SOURCE,
        id,
        state: facts.state(),
        previous_state,
        reminder_since: facts.reminder_since.map(time::rfc3339),
        held: facts.released.map(|held| JsonHeld {
            by: &held.by,
            since: time::rfc3339(held.since),
        }),
        rule: rule.name.as_str(),
        description: view.description.as_deref(),
        severity: rule.severity.as_str(),
        resource_type: rule.resource_type.as_str(),
        resource,
        instance: resource,
        region,
        metric: rule.metric.as_str(),
        statistic: rule.statistic.as_str(),
        unit: rule.unit.as_str(),
        period: rule.period,
        comparison: rule.comparison.as_str(),
        threshold: rule.threshold,
        evaluation_periods: rule.evaluation_periods,
        datapoints_to_alarm: rule.datapoints_to_alarm,
        treat_missing_data: rule.treat_missing_data.as_str(),
        reason: &view.reason,
        datapoints: evaluation.datapoints[view.omitted..]
            .iter()
            .map(|point| JsonDatapoint {
                timestamp: time::rfc3339(point.timestamp),
                value: point.value,
                breaching: breaches(rule, point),
            })
            .collect(),
        datapoints_omitted: view.omitted,
        evaluated_at: time::rfc3339(evaluated_at),
        range_end: time::rfc3339(evaluation.range_end),
        console_url: if facts.test {
            CONSOLE_HOME.to_owned()
        } else {
            console_url(rule.resource_type, region, resource)
        },
    };
    serde_json::to_string_pretty(&document).expect("plain data serialises")
}

/// The `json` digest, version 1 (`schemas/alert-digest-v1.schema.json`): what it carries,
/// and each alert's own document as a single alert would have it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonDigest<'a> {
    version: &'static str,
    source: &'static str,
    /// Always `digest`: a single alert's document has no `type`.
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    /// ALARM if it carries one, else INSUFFICIENT_DATA if it carries one, else OK.
    state: AlarmState,
    /// The highest severity it carries.
    severity: &'static str,
    count: usize,
    counts: BTreeMap<&'static str, usize>,
    part: usize,
    parts: usize,
    evaluated_at: String,
    alerts: Vec<serde_json::Value>,
}

/// `json`: one document for many alerts, the most urgent first.
pub(super) fn digest(facts: &DigestFacts<'_>) -> String {
    let severity = facts
        .summaries
        .iter()
        .map(|s| s.severity)
        .min()
        .map_or("info", |s| s.as_str());
    let document = JsonDigest {
        version: DIGEST_VERSION,
        source: JSON_SOURCE,
        kind: "digest",
        id: facts.id,
        state: facts.tally.worst(),
        severity,
        count: facts.tally.count(),
        counts: facts.tally.by_state(),
        part: facts.part.number,
        parts: facts.part.of,
        evaluated_at: time::rfc3339(facts.evaluated_at),
        // Each alert's message is its document (this target's format is `json`).
        alerts: facts
            .members
            .iter()
            .map(|member| {
                serde_json::from_str(&member.alert.message)
                    .unwrap_or_else(|_| serde_json::Value::String(member.alert.message.clone()))
            })
            .collect(),
    };
    serde_json::to_string_pretty(&document).expect("plain data serialises")
}
