//! The `text` format: the alert for people, in e-mail and SMS; and the digest, a list
//! of many alerts.

use std::fmt::Write as _;

use super::digest::{DigestFacts, Summary};
use super::format::{AlertFacts, View, breaches, condition, console_url, omitted_note};
use crate::domain::catalog::ResourceType;
use crate::domain::evaluate::AlarmState;
use crate::domain::time;

/// `text`: the message for people (e-mail, SMS, a queue someone reads).
pub(super) fn text(facts: &AlertFacts<'_>, view: &View) -> String {
    if facts.test {
        return test(facts, view);
    }
    let AlertFacts {
        rule,
        region,
        resource,
        evaluation,
        evaluated_at,
        ..
    } = *facts;
    let state = facts.state();
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{state}: rule \"{}\" on {} \"{resource}\" ({})",
        rule.name,
        rule.resource_type.noun(),
        region
    );
    let _ = writeln!(m);
    let _ = writeln!(m, "Rule:        {}", rule.name);
    if let Some(description) = &view.description {
        let _ = writeln!(m, "Description: {description}");
    }
    if rule.resource_type == ResourceType::Instance {
        let _ = writeln!(m, "Instance:    {resource}");
    } else {
        let _ = writeln!(m, "Resource:    {resource} ({})", rule.resource_type);
    }
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
        // OK is only ever sent as a recovery: here from an ALARM that went through
        // INSUFFICIENT_DATA.
        (None, Some(previous)) if evaluation.state == AlarmState::Ok => {
            let _ = writeln!(m, "Previous:    {previous}, after ALARM (recovered)");
        }
        (None, Some(previous)) => {
            let _ = writeln!(m, "Previous:    {previous}");
        }
        (None, None) => {}
    }
    if let Some(held) = facts.released {
        let _ = writeln!(
            m,
            "Held:        {} since {}; sent when it ended",
            held.by_words(),
            time::rfc3339(held.since)
        );
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
    datapoints(&mut m, facts, view);
    let _ = writeln!(m);
    let _ = writeln!(
        m,
        "Metrics:     {}",
        console_url(rule.resource_type, region, resource)
    );
    let _ = write!(m, "Sent by lightsail-alerts.");
    m
}

/// A test notice: what it is for, and the values of the attributes it carries.
fn test(facts: &AlertFacts<'_>, view: &View) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "{}: a test notice from lightsail-alerts", facts.state());
    let _ = writeln!(m);
    if let Some(description) = &view.description {
        let _ = writeln!(m, "{description}");
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "Rule:        {}", facts.rule.name);
    let _ = writeln!(m, "Severity:    {}", facts.rule.severity);
    let _ = writeln!(m, "State:       {}", facts.state());
    let _ = writeln!(m, "Region:      {}", facts.region);
    let _ = writeln!(m, "Sent:        {}", time::rfc3339(facts.evaluated_at));
    let _ = writeln!(m);
    let _ = write!(m, "Sent by lightsail-alerts test-alert.");
    m
}

/// The evaluated datapoints, oldest first, the breaching ones marked.
fn datapoints(m: &mut String, facts: &AlertFacts<'_>, view: &View) {
    let (rule, evaluation) = (facts.rule, facts.evaluation);
    if evaluation.datapoints.is_empty() {
        let _ = writeln!(m, "Datapoints:  none");
        return;
    }
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

/// A digest for people: what it carries, then each alert in a few lines, the most urgent
/// first, numbered across the parts of a digest split in several.
pub(super) fn digest(facts: &DigestFacts<'_>) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{}: {} alerts from lightsail-alerts: {}",
        facts.tally.worst(),
        facts.tally.count(),
        facts.tally.words()
    );
    if facts.part.of > 1 {
        let _ = writeln!(
            m,
            "Part {} of {}, alerts {} to {}.",
            facts.part.number,
            facts.part.of,
            facts.part.first,
            facts.part.first + facts.summaries.len() - 1
        );
    }
    let _ = writeln!(m);
    let _ = writeln!(
        m,
        "This run had more alerts for this topic than its groupAbove, so they come in one\n\
         message, the most urgent first. Each is notified once: the next run sends only what\n\
         changes."
    );
    let _ = writeln!(m, "Evaluated:   {}", time::rfc3339(facts.evaluated_at));
    for (at, summary) in facts.summaries.iter().enumerate() {
        let _ = writeln!(m);
        m.push_str(&digest_entry(summary, facts.part.first + at));
    }
    let _ = writeln!(m);
    let _ = write!(m, "Sent by lightsail-alerts.");
    m
}

/// One alert of a digest: `12. ALARM  cpu-high: instance "web-1" (us-east-1), severity
/// critical`, its value against the threshold, the reason and the console link.
pub(super) fn digest_entry(summary: &Summary, number: usize) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{number}. {}  {}: {} \"{}\" ({}), severity {}",
        summary.what(),
        summary.rule,
        summary.resource_type.noun(),
        summary.resource,
        summary.region,
        summary.severity
    );
    let _ = writeln!(m, "   Value:   {}", summary.value_and_threshold());
    let _ = writeln!(m, "   Reason:  {}", summary.reason);
    let _ = writeln!(
        m,
        "   Metrics: {}",
        console_url(summary.resource_type, &summary.region, &summary.resource)
    );
    m
}
