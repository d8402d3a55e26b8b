//! The `chat` format: the Amazon Q Developer in chat applications custom notification,
//! so alerts render in Slack and Teams; and the digest, one card for many alerts.

use std::fmt::Write as _;

use serde::Serialize;

use super::digest::{DigestFacts, Summary};
use super::format::{
    AlertFacts, View, breaches, condition, console_url, headline, headline_within, test_headline,
};
use crate::domain::catalog::{MetricName, ResourceType};
use crate::domain::time;

/// Most recent datapoints listed in a chat notification; the reason cites the rest.
const CHAT_DATAPOINTS: usize = 10;
/// Chat titles longer than this are cut: a title is one line in Slack and Teams.
const MAX_CHAT_TITLE: usize = 250;
/// A digest card's description stays within this many characters: Slack's limit for the
/// text of one message block, the tightest a card passes through (AWS documents no limit
/// of its own for custom notifications); what does not fit is counted.
pub(super) const MAX_CHAT_DESCRIPTION: usize = 3_000;
/// Resources a digest card names in `relatedResources`.
const DIGEST_RESOURCES: usize = 20;
/// Rule names a digest card gives as `keywords`.
const DIGEST_KEYWORDS: usize = 5;

/// The Amazon Q Developer in chat applications custom notification (`version` 1.0,
/// `source` custom). Only the fields that service documents, in its spelling.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatNotification<'a> {
    version: &'static str,
    source: &'static str,
    id: &'a str,
    content: ChatContent,
    metadata: ChatMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatContent {
    text_type: &'static str,
    title: String,
    description: String,
    next_steps: Vec<String>,
    keywords: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatMetadata {
    thread_id: String,
    summary: String,
    event_type: String,
    related_resources: Vec<String>,
    additional_context: std::collections::BTreeMap<&'static str, String>,
}

/// `chat`: a custom notification rendered by Amazon Q Developer in Slack or Teams.
/// Alerts of one rule, region and instance share a thread, so ALARM and its later
/// recovery notice read together.
pub(super) fn chat(facts: &AlertFacts<'_>, view: &View) -> String {
    if facts.test {
        return test(facts, view);
    }
    let AlertFacts {
        rule,
        region,
        resource,
        evaluation,
        id,
        ..
    } = *facts;
    let state = facts.state();
    let url = console_url(rule.resource_type, region, resource);
    let reminder = facts.reminder_since.is_some();
    let mut headline = headline(rule, resource, evaluation.state);
    if reminder {
        headline.push_str(" (reminder)");
    }
    let title = headline_within(
        rule,
        resource,
        evaluation.state,
        reminder,
        MAX_CHAT_TITLE,
        str::to_owned,
    );

    let d = description(facts, view);
    let notification = ChatNotification {
        version: "1.0",
        source: "custom",
        id,
        content: ChatContent {
            text_type: "client-markdown",
            title,
            description: d,
            next_steps: next_steps(rule.resource_type, rule.metric, &url),
            keywords: vec![
                state.to_owned(),
                rule.severity.to_string(),
                rule.metric.to_string(),
                resource.to_owned(),
                region.to_owned(),
            ],
        },
        metadata: ChatMetadata {
            thread_id: format!("{}#{}#{resource}", rule.name, region),
            summary: headline,
            event_type: state.to_owned(),
            related_resources: vec![resource.to_owned(), url],
            additional_context: [
                ("rule", rule.name.to_string()),
                ("resourceType", rule.resource_type.to_string()),
                ("resource", resource.to_owned()),
                ("region", region.to_owned()),
                ("metric", rule.metric.to_string()),
                ("state", state.to_owned()),
                ("severity", rule.severity.to_string()),
            ]
            .into_iter()
            .collect(),
        },
    };
    serde_json::to_string_pretty(&notification).expect("plain data serialises")
}

/// A test notice: a card that says what it is for, in a thread of its own per region.
fn test(facts: &AlertFacts<'_>, view: &View) -> String {
    let AlertFacts {
        rule, region, id, ..
    } = *facts;
    let state = facts.state();
    let title = test_headline(rule);
    let mut description = format!(
        "*{state}*: a test notice from lightsail-alerts, severity *{}*\n",
        rule.severity
    );
    if let Some(text) = &view.description {
        let _ = writeln!(description, "{text}");
    }
    let _ = write!(description, "Sent at {}", time::rfc3339(facts.evaluated_at));
    let notification = ChatNotification {
        version: "1.0",
        source: "custom",
        id,
        content: ChatContent {
            text_type: "client-markdown",
            title: title.clone(),
            description,
            next_steps: vec![
                "Nothing to do: alerts from lightsail-alerts reach this channel.".to_owned(),
            ],
            keywords: vec![
                state.to_owned(),
                rule.severity.to_string(),
                rule.name.to_string(),
                region.to_owned(),
            ],
        },
        metadata: ChatMetadata {
            thread_id: format!("{}#{region}", rule.name),
            summary: title,
            event_type: state.to_owned(),
            related_resources: Vec::new(),
            additional_context: [
                ("rule", rule.name.to_string()),
                ("region", region.to_owned()),
                ("state", state.to_owned()),
                ("severity", rule.severity.to_string()),
            ]
            .into_iter()
            .collect(),
        },
    };
    serde_json::to_string_pretty(&notification).expect("plain data serialises")
}

/// What an on-call engineer does first, per metric.
fn next_steps(kind: ResourceType, metric: MetricName, url: &str) -> Vec<String> {
    use MetricName::*;
    let first = format!("Open the {}'s metric graphs: {url}", kind.noun());
    let hint = match (kind, metric) {
        (ResourceType::RelationalDatabase, CpuUtilization) => {
            "Find the expensive queries (the engine's slow query log); consider a larger database bundle if the load is normal"
        }
        (ResourceType::ContainerService, CpuUtilization) | (_, MemoryUtilization) => {
            "Check the containers' logs for a leak or a load spike; add nodes (scale) or choose a larger power for the service"
        }
        (_, CpuUtilization) => {
            "Find what is using the CPU (top, the application's logs); consider a larger bundle if the load is normal"
        }
        (_, BurstCapacityPercentage | BurstCapacityTime) => {
            "The instance is running out of CPU burst capacity: reduce sustained CPU load or move to a larger bundle before it is throttled to its baseline"
        }
        (_, NetworkIn | NetworkOut | NetworkReceiveThroughput | NetworkTransmitThroughput) => {
            "Check for unexpected traffic (backups, crawlers, abuse); data transfer above the bundle allowance is billed"
        }
        (_, StatusCheckFailed | StatusCheckFailedInstance) => {
            "Check the instance's status and its system log; a reboot often clears an instance check failure"
        }
        (_, StatusCheckFailedSystem) => {
            "A system check failed on the host: stop and start the instance (not reboot) to move it to healthy hardware"
        }
        (_, MetadataNoToken) => {
            "Something calls the instance metadata service without a token (IMDSv1): find it and move it to IMDSv2"
        }
        (_, DiskReadOps | DiskWriteOps | DiskReadBytes | DiskWriteBytes) => {
            "Find what is reading or writing the system disk (iotop, the application's logs); heavy disk I/O slows everything on a burstable instance"
        }
        (_, DiskTotalReadTime | DiskTotalWriteTime | DiskQueueLength | DiskQueueDepth) => {
            "The disk is slow to answer: find what is waiting on I/O; move data to faster storage or a larger bundle"
        }
        (_, DatabaseConnections) => {
            "Look for a connection leak or a pool sized too large in the applications using the database"
        }
        (_, FreeStorageSpace) => {
            "The database is running out of storage: delete old data or move to a bundle with more storage before writes fail"
        }
        (_, HealthyHostCount | UnhealthyHostCount) => {
            "Check the target instances and the load balancer's health check path; an instance failing its health check gets no traffic"
        }
        (_, InstanceResponseTime) => {
            "The instances behind the load balancer answer slowly: check their CPU and the application's logs"
        }
        (
            _,
            HttpCodeLb4xxCount
            | HttpCodeLb5xxCount
            | HttpCodeInstance2xxCount
            | HttpCodeInstance3xxCount
            | HttpCodeInstance4xxCount
            | HttpCodeInstance5xxCount
            | ClientTlsNegotiationErrorCount
            | RejectedConnectionCount
            | RequestCount,
        ) => {
            "Compare with the usual traffic; 5XX from the instances points at the application, from the load balancer at unhealthy or overloaded targets"
        }
        (
            _,
            Requests | BytesDownloaded | BytesUploaded | WafAllowedRequests | WafBlockedRequests,
        ) => {
            "Compare with the usual traffic: a spike can be a crawler or abuse, a drop an origin or DNS problem"
        }
        (_, TotalErrorRate | Http4xxErrorRate | Http5xxErrorRate) => {
            "Check the distribution's origin: 5xx errors usually come from it; 4xx from missing objects or blocked requests"
        }
        (_, BucketSizeBytes | NumberOfObjects) => {
            "Find what is writing to the bucket; set a lifecycle rule or clean up old objects (storage above the bundle is billed)"
        }
    };
    vec![first, hint.to_owned()]
}

/// The card's markdown body: what happened, why, and the datapoints (the most recent
/// ones when there are many).
fn description(facts: &AlertFacts<'_>, view: &View) -> String {
    let AlertFacts {
        rule,
        region,
        resource,
        evaluation,
        evaluated_at,
        ..
    } = *facts;
    let state = facts.state();
    let mut d = String::new();
    let _ = writeln!(
        d,
        "*{state}*: rule `{}` on {} `{resource}` ({}), severity *{}*",
        rule.name,
        rule.resource_type.noun(),
        region,
        rule.severity
    );
    if let Some(held) = facts.released {
        let _ = writeln!(
            d,
            "*Held* {} since {}; sent when it ended",
            held.by_words(),
            time::rfc3339(held.since)
        );
    }
    if let Some(description) = &view.description {
        let _ = writeln!(d, "{description}");
    }
    let _ = writeln!(d, "*Reason:* {}", view.reason);
    let _ = writeln!(d, "*Condition:* {}", condition(rule));
    let points = &evaluation.datapoints;
    let shown = view
        .omitted
        .max(points.len().saturating_sub(CHAT_DATAPOINTS));
    if !points.is_empty() {
        let _ = writeln!(
            d,
            "*Datapoints* ({} {}, oldest first):",
            rule.metric, rule.statistic
        );
        if shown > 0 {
            let _ = writeln!(d, "• … {shown} older datapoint(s) not shown");
        }
        for point in &points[shown..] {
            let mark = if breaches(rule, point) {
                " (breaching)"
            } else {
                ""
            };
            let _ = writeln!(
                d,
                "• {}  {} {}{mark}",
                time::rfc3339(point.timestamp),
                point.value,
                rule.unit
            );
        }
    }
    let _ = write!(
        d,
        "Evaluated at {} (most recent complete period ended {})",
        time::rfc3339(evaluated_at),
        time::rfc3339(evaluation.range_end)
    );
    d
}

/// `chat`: one card for many alerts. Its description lists them, the most urgent first,
/// one line each, as many as fit in [`MAX_CHAT_DESCRIPTION`], and counts the rest.
pub(super) fn digest(facts: &DigestFacts<'_>) -> String {
    let worst = facts.tally.worst().as_str();
    let summaries = facts.summaries;
    let mut rules: Vec<&str> = Vec::new();
    let mut resources: Vec<String> = Vec::new();
    for summary in summaries {
        if !rules.contains(&summary.rule.as_str()) {
            rules.push(&summary.rule);
        }
        if resources.len() < DIGEST_RESOURCES && !resources.contains(&summary.resource) {
            resources.push(summary.resource.clone());
        }
    }
    let severity = summaries
        .iter()
        .map(|s| s.severity)
        .min()
        .map_or("info", |s| s.as_str());
    let mut keywords = vec![worst.to_owned(), severity.to_owned()];
    keywords.extend(rules.iter().take(DIGEST_KEYWORDS).map(|r| (*r).to_owned()));
    let mut next_steps = Vec::new();
    if let Some(first) = summaries.first() {
        next_steps.push(format!(
            "Start with the first: {}",
            console_url(first.resource_type, &first.region, &first.resource)
        ));
    }
    next_steps.push(
        "Every alert is in the text and json formats in full; `groupAbove: none` in the \
         rules' defaults sends them one by one"
            .to_owned(),
    );
    let notification = ChatNotification {
        version: "1.0",
        source: "custom",
        id: facts.id,
        content: ChatContent {
            text_type: "client-markdown",
            title: shorten_title(facts.title),
            description: digest_description(facts),
            next_steps,
            keywords,
        },
        metadata: ChatMetadata {
            // A digest is news of one run: its own thread.
            thread_id: format!("lightsail-alerts-digest#{}", facts.id),
            summary: facts.title.to_owned(),
            event_type: worst.to_owned(),
            related_resources: resources,
            additional_context: [
                ("count", facts.tally.count().to_string()),
                ("ALARM", facts.tally.alarm.to_string()),
                (
                    "INSUFFICIENT_DATA",
                    facts.tally.insufficient_data.to_string(),
                ),
                ("OK", facts.tally.ok.to_string()),
                ("evaluatedAt", time::rfc3339(facts.evaluated_at)),
            ]
            .into_iter()
            .collect(),
        },
    };
    serde_json::to_string_pretty(&notification).expect("plain data serialises")
}

fn shorten_title(title: &str) -> String {
    if title.chars().count() <= MAX_CHAT_TITLE {
        return title.to_owned();
    }
    let cut: String = title.chars().take(MAX_CHAT_TITLE - 3).collect();
    format!("{cut}...")
}

/// The digest card's markdown body, within [`MAX_CHAT_DESCRIPTION`] characters.
fn digest_description(facts: &DigestFacts<'_>) -> String {
    let mut d = format!(
        "*{} alerts* from lightsail-alerts: {}, the most urgent first (evaluated at {})\n",
        facts.tally.count(),
        facts.tally.words(),
        time::rfc3339(facts.evaluated_at)
    );
    let len = |s: &str| s.chars().count();
    let total = facts.summaries.len();
    for (shown, summary) in facts.summaries.iter().enumerate() {
        let line = digest_line(summary);
        let left = total - shown - 1;
        // Room for this line, and for the line that counts the rest if any are left.
        let reserve = if left > 0 { 100 } else { 0 };
        if len(&d) + len(&line) + reserve > MAX_CHAT_DESCRIPTION {
            let _ = write!(
                d,
                "• … and {} more, not shown here (the text and json formats list every one)",
                total - shown
            );
            return d;
        }
        d.push_str(&line);
    }
    d.truncate(d.trim_end().len());
    d
}

/// `• *ALARM* `cpu-high` on instance `web-1` (us-east-1): CPUUtilization Average 95
/// Percent (threshold > 80), critical`.
fn digest_line(summary: &Summary) -> String {
    let mut line = format!(
        "• *{}* `{}` on {} `{}` ({}): {}, {}\n",
        summary.what(),
        summary.rule,
        summary.resource_type.noun(),
        summary.resource,
        summary.region,
        summary.value_and_threshold(),
        summary.severity
    );
    if line.chars().count() > MAX_CHAT_DESCRIPTION / 4 {
        // Absurdly long names: one line must not take the whole card.
        line = line.chars().take(MAX_CHAT_DESCRIPTION / 4 - 2).collect();
        line.push_str("…\n");
    }
    line
}
