//! Alert formats per topic (SPEC §9): `text` for people, `json` for machines, `chat` for
//! Amazon Q Developer in chat applications (Slack, Teams).
//!
//! Pure rendering: what one alert says, as the message body of one format, made to fit
//! SNS's message size limit. Subjects, attributes and publishing are `notify`'s.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

use crate::domain::catalog::{Format, MetricName};
use crate::domain::evaluate::{AlarmState, Datapoint, Evaluation};
use crate::domain::time;
use crate::rules::Rule;

/// The `version` of the `json` document (`schemas/alert-v1.schema.json`). A change that
/// removes or retypes a field is a new version; adding an optional field is not.
pub const JSON_VERSION: &str = "1";
/// The `source` of the `json` document.
pub const JSON_SOURCE: &str = "lightsail-alerts";
/// Most recent datapoints listed in a chat notification; the reason cites the rest.
const CHAT_DATAPOINTS: usize = 10;
/// Chat titles longer than this are cut: a title is one line in Slack and Teams.
const MAX_CHAT_TITLE: usize = 250;

/// Everything one alert says, whatever its format.
#[derive(Debug, Clone, Copy)]
pub struct AlertFacts<'a> {
    pub rule: &'a Rule,
    pub region: &'a str,
    pub instance: &'a str,
    pub evaluation: &'a Evaluation,
    pub evaluated_at: DateTime<Utc>,
    /// The stored state before this evaluation; `None` without a state store, or for
    /// the first evaluation ever stored.
    pub previous_state: Option<AlarmState>,
    /// Set when this is a reminder of a persisting ALARM (`renotifyMinutes`): since when
    /// the alarm has lasted.
    pub reminder_since: Option<DateTime<Utc>>,
    /// A stable id of (rule, region, instance, state, range end): the same alert has the
    /// same id in every format and every retry.
    pub id: &'a str,
}

/// What a body shows of the facts: all of them, unless the SNS size limit forced cuts.
#[derive(Debug, Clone)]
struct View {
    /// Oldest datapoints left out.
    omitted: usize,
    reason: String,
    description: Option<String>,
}

/// `[ALARM] <rule>: <instance> <metric> <op> <threshold>`, before SNS's subject rules.
pub fn headline(rule: &Rule, instance: &str, state: AlarmState) -> String {
    format!(
        "[{state}] {}: {instance} {} {} {}",
        rule.name,
        rule.metric,
        rule.comparison.symbol(),
        rule.threshold,
    )
}

/// The message body of `format`, at most `limit` bytes when it can be: datapoints are
/// dropped oldest first (the body says how many), and only if that is not enough are the
/// reason and the description shortened.
pub fn message(format: Format, facts: &AlertFacts<'_>, limit: usize) -> String {
    let all = facts.evaluation.datapoints.len();
    let mut view = View {
        omitted: 0,
        reason: facts.evaluation.reason.clone(),
        description: facts.rule.description.clone(),
    };
    let render = |view: &View| match format {
        Format::Text => text(facts, view),
        Format::Json => json(facts, view),
        Format::Chat => chat(facts, view),
    };
    let full = render(&view);
    if full.len() <= limit {
        return full;
    }
    // The fewest omitted that fits: bodies shrink as more datapoints are left out.
    let (mut fits, mut too_long) = (all, 0);
    view.omitted = all;
    if render(&view).len() <= limit {
        while fits - too_long > 1 {
            view.omitted = too_long + (fits - too_long) / 2;
            if render(&view).len() <= limit {
                fits = view.omitted;
            } else {
                too_long = view.omitted;
            }
        }
        view.omitted = fits;
        return render(&view);
    }
    // Not even without datapoints: shorten the longest free text until it fits.
    loop {
        let body = render(&view);
        let excess = match body.len().checked_sub(limit) {
            None | Some(0) => return body,
            Some(excess) => excess,
        };
        let description_len = view.description.as_ref().map_or(0, String::len);
        let longest = if description_len > view.reason.len() {
            view.description.as_mut().expect("longer than the reason")
        } else {
            &mut view.reason
        };
        if longest.len() <= 3 {
            // Nothing left to cut; SNS will refuse it and the publish error says so.
            return body;
        }
        *longest = shorten(longest, longest.len().saturating_sub(excess + 3));
    }
}

/// `s` cut to at most `max` bytes on a character boundary, ending in `...`.
fn shorten(s: &str, max: usize) -> String {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// What may not stand as is in one URL path segment.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The Lightsail console page with the instance's metric graphs.
pub fn console_url(region: &str, instance: &str) -> String {
    format!(
        "https://lightsail.aws.amazon.com/ls/webapp/{}/instances/{}/metrics",
        utf8_percent_encode(region, PATH_SEGMENT),
        utf8_percent_encode(instance, PATH_SEGMENT),
    )
}

fn condition(rule: &Rule) -> String {
    format!(
        "{} {} {} {} for {} of {} period(s) of {} s; missing data treated as {}",
        rule.metric,
        rule.statistic,
        rule.comparison.symbol(),
        rule.threshold,
        rule.datapoints_to_alarm,
        rule.evaluation_periods,
        rule.period,
        rule.treat_missing_data,
    )
}

fn omitted_note(omitted: usize) -> String {
    format!("{omitted} older datapoint(s) omitted to fit the 256 KB SNS message limit")
}

/// `text`: the message for people (e-mail, SMS, a queue someone reads).
fn text(facts: &AlertFacts<'_>, view: &View) -> String {
    let AlertFacts {
        rule,
        region,
        instance,
        evaluation,
        evaluated_at,
        ..
    } = *facts;
    let state = evaluation.state.as_str();
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{state}: rule \"{}\" on instance \"{instance}\" ({})",
        rule.name, region
    );
    let _ = writeln!(m);
    let _ = writeln!(m, "Rule:        {}", rule.name);
    if let Some(description) = &view.description {
        let _ = writeln!(m, "Description: {description}");
    }
    let _ = writeln!(m, "Instance:    {instance}");
    let _ = writeln!(m, "Region:      {region}");
    let _ = writeln!(m, "State:       {state}");
    match (facts.reminder_since, facts.previous_state) {
        (Some(since), _) => {
            let minutes = (evaluated_at - since).num_minutes();
            let _ = writeln!(
                m,
                "Reminder:    still in {state}, since {} ({minutes} min)",
                time::rfc3339(since)
            );
        }
        (None, Some(AlarmState::Alarm)) if evaluation.state == AlarmState::Ok => {
            let _ = writeln!(m, "Previous:    ALARM (recovered)");
        }
        (None, Some(previous)) => {
            let _ = writeln!(m, "Previous:    {previous}");
        }
        (None, None) => {}
    }
    let _ = writeln!(m, "Severity:    {}", rule.severity);
    let _ = writeln!(m, "Condition:   {}", condition(rule));
    let _ = writeln!(
        m,
        "Evaluated:   {} (most recent complete period ended {})",
        time::rfc3339(evaluated_at),
        time::rfc3339(evaluation.range_end)
    );
    let _ = writeln!(m, "Reason:      {}", view.reason);
    let _ = writeln!(m);
    if evaluation.datapoints.is_empty() {
        let _ = writeln!(m, "Datapoints:  none");
    } else {
        let _ = writeln!(
            m,
            "Datapoints ({} {}, oldest first):",
            rule.metric, rule.statistic
        );
        if view.omitted > 0 {
            let _ = writeln!(m, "  ({})", omitted_note(view.omitted));
        }
        for point in &evaluation.datapoints[view.omitted..] {
            let mark = if breaches(rule, point) {
                "  breaching"
            } else {
                ""
            };
            let _ = writeln!(
                m,
                "  {}  {} {}{mark}",
                time::rfc3339(point.timestamp),
                point.value,
                rule.unit
            );
        }
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "Metrics:     {}", console_url(region, instance));
    let _ = write!(m, "Sent by lightsail-alerts.");
    m
}

fn breaches(rule: &Rule, point: &Datapoint) -> bool {
    rule.comparison.breaches(point.value, rule.threshold)
}

/// The `json` document, version 1 (`schemas/alert-v1.schema.json`). Every field is
/// always present; `description`, `previousState` and `reminderSince` may be null.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonAlert<'a> {
    version: &'static str,
    source: &'static str,
    id: &'a str,
    state: AlarmState,
    previous_state: Option<AlarmState>,
    /// Set on a reminder of a persisting ALARM: since when it has lasted.
    reminder_since: Option<String>,
    rule: &'a str,
    description: Option<&'a str>,
    severity: &'static str,
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

#[derive(Serialize)]
struct JsonDatapoint {
    timestamp: String,
    value: f64,
    breaching: bool,
}

/// `json`: one document per alert, for Lambda, SQS consumers, webhooks.
fn json(facts: &AlertFacts<'_>, view: &View) -> String {
    let AlertFacts {
        rule,
        region,
        instance,
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
        state: evaluation.state,
        previous_state,
        reminder_since: facts.reminder_since.map(time::rfc3339),
        rule: rule.name.as_str(),
        description: view.description.as_deref(),
        severity: rule.severity.as_str(),
        instance,
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
        console_url: console_url(region, instance),
    };
    serde_json::to_string_pretty(&document).expect("plain data serialises")
}

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
fn chat(facts: &AlertFacts<'_>, view: &View) -> String {
    let AlertFacts {
        rule,
        region,
        instance,
        evaluation,
        evaluated_at,
        id,
        ..
    } = *facts;
    let state = evaluation.state.as_str();
    let url = console_url(region, instance);
    let mut headline = headline(rule, instance, evaluation.state);
    if facts.reminder_since.is_some() {
        headline.push_str(" (reminder)");
    }
    let title = if headline.chars().count() > MAX_CHAT_TITLE {
        let cut: String = headline.chars().take(MAX_CHAT_TITLE - 3).collect();
        format!("{cut}...")
    } else {
        headline.clone()
    };

    let mut d = String::new();
    let _ = writeln!(
        d,
        "*{state}*: rule `{}` on instance `{instance}` ({}), severity *{}*",
        rule.name, region, rule.severity
    );
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

    let notification = ChatNotification {
        version: "1.0",
        source: "custom",
        id,
        content: ChatContent {
            text_type: "client-markdown",
            title,
            description: d,
            next_steps: next_steps(rule.metric, &url),
            keywords: vec![
                state.to_owned(),
                rule.severity.to_string(),
                rule.metric.to_string(),
                instance.to_owned(),
                region.to_owned(),
            ],
        },
        metadata: ChatMetadata {
            thread_id: format!("{}#{}#{instance}", rule.name, region),
            summary: headline,
            event_type: state.to_owned(),
            related_resources: vec![instance.to_owned(), url],
            additional_context: [
                ("rule", rule.name.to_string()),
                ("instance", instance.to_owned()),
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

/// What an on-call engineer does first, per metric.
fn next_steps(metric: MetricName, url: &str) -> Vec<String> {
    use MetricName::*;
    let first = format!("Open the instance's metric graphs: {url}");
    let hint = match metric {
        CpuUtilization => {
            "Find what is using the CPU (top, the application's logs); consider a larger bundle if the load is normal"
        }
        BurstCapacityPercentage | BurstCapacityTime => {
            "The instance is running out of CPU burst capacity: reduce sustained CPU load or move to a larger bundle before it is throttled to its baseline"
        }
        NetworkIn | NetworkOut => {
            "Check for unexpected traffic (backups, crawlers, abuse); data transfer above the bundle allowance is billed"
        }
        StatusCheckFailed | StatusCheckFailedInstance => {
            "Check the instance's status and its system log; a reboot often clears an instance check failure"
        }
        StatusCheckFailedSystem => {
            "A system check failed on the host: stop and start the instance (not reboot) to move it to healthy hardware"
        }
        MetadataNoToken => {
            "Something calls the instance metadata service without a token (IMDSv1): find it and move it to IMDSv2"
        }
    };
    vec![first, hint.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_links_escape_instance_names() {
        assert_eq!(
            console_url("us-east-1", "web 1"),
            "https://lightsail.aws.amazon.com/ls/webapp/us-east-1/instances/web%201/metrics"
        );
    }

    #[test]
    fn shortening_keeps_characters_whole() {
        assert_eq!(shorten("héllo", 2), "h...");
        assert_eq!(shorten("abc", 10), "abc...");
    }
}
