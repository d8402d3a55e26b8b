//! Alert formats per topic (SPEC §9): `text` for people, `json` for machines, `chat` for
//! Amazon Q Developer in chat applications (Slack, Teams).
//!
//! Pure rendering: what one alert says, as the message body of one format, made to fit
//! SNS's message size limit; the formats themselves are in `text`, `json` and `chat`.

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::domain::catalog::{Format, ResourceType};
use crate::domain::evaluate::{AlarmState, Datapoint, Evaluation};
use crate::domain::rule::Rule;
use crate::domain::transition::{Held, TEST_STATE};

/// Everything one alert says, whatever its format.
#[derive(Debug, Clone, Copy)]
pub struct AlertFacts<'a> {
    pub rule: &'a Rule,
    pub region: &'a str,
    /// The resource's name; its type is the rule's.
    pub resource: &'a str,
    pub evaluation: &'a Evaluation,
    pub evaluated_at: DateTime<Utc>,
    /// The stored state before this evaluation; `None` without a state store, or for
    /// the first evaluation ever stored.
    pub previous_state: Option<AlarmState>,
    /// Set when this is a reminder of a persisting ALARM (`renotifyMinutes`): since when
    /// the alarm has lasted.
    pub reminder_since: Option<DateTime<Utc>>,
    /// A stable id of (rule, region, resource, state, range end): the same alert has the
    /// same id in every format and every retry.
    pub id: &'a str,
    /// A test notice (`test-alert`): the rule and evaluation are placeholders, and each
    /// format says so instead of showing a condition and datapoints.
    pub test: bool,
    /// Set on a notice a silence or an inhibition held, sent now that it ended: what
    /// held it, and since when.
    pub released: Option<&'a Held>,
}

impl AlertFacts<'_> {
    /// The state the alert shows: the evaluation's, or `TEST` for a test notice.
    pub fn state(&self) -> &'static str {
        if self.test {
            TEST_STATE
        } else {
            self.evaluation.state.as_str()
        }
    }
}

/// What a body shows of the facts: all of them, unless the SNS size limit forced cuts.
#[derive(Debug, Clone)]
pub(super) struct View {
    /// Oldest datapoints left out.
    pub(super) omitted: usize,
    pub(super) reason: String,
    pub(super) description: Option<String>,
}

/// `[ALARM] <rule>: <instance> <metric> <op> <threshold>`, before SNS's subject rules;
/// other types name theirs: `[ALARM] <rule>: database <name> <metric> ...`.
pub fn headline(rule: &Rule, resource: &str, state: AlarmState) -> String {
    format!(
        "[{state}] {}: {}{resource} {} {} {}",
        rule.name,
        kind_prefix(rule),
        rule.metric,
        rule.comparison.symbol(),
        rule.threshold,
    )
}

/// The headline of a test notice: `[TEST] test-alert: a test notice from
/// lightsail-alerts`, short enough for every subject and title as it is.
pub(super) fn test_headline(rule: &Rule) -> String {
    format!(
        "[{TEST_STATE}] {}: a test notice from lightsail-alerts",
        rule.name
    )
}

/// The headline in at most `max` characters, each part passed through `clean` (which
/// must map a character to one character): a reminder keeps ` (reminder)` and every
/// headline its `[STATE]`; when it is too long, the rule and resource names are
/// shortened (ending in `...`), the longer one first.
pub fn headline_within(
    rule: &Rule,
    resource: &str,
    state: AlarmState,
    reminder: bool,
    max: usize,
    clean: impl Fn(&str) -> String,
) -> String {
    let prefix = format!("[{state}] ");
    let suffix = if reminder { " (reminder)" } else { "" };
    let name = clean(rule.name.as_str());
    let resource = clean(resource);
    let kind = kind_prefix(rule);
    let tail = clean(&format!(
        " {} {} {}",
        rule.metric,
        rule.comparison.symbol(),
        rule.threshold
    ));
    let len = |s: &str| s.chars().count();
    let fixed = len(&prefix) + ": ".len() + kind.len() + len(&tail) + suffix.len();
    let budget = max.saturating_sub(fixed);
    let (n, r) = (len(&name), len(&resource));
    if n + r <= budget {
        return format!("{prefix}{name}: {kind}{resource}{tail}{suffix}");
    }
    if budget < 8 {
        // Only a condition of absurd length gets here: it is cut too, not the markers.
        let middle = shorten_chars(
            &format!("{name}: {resource}{tail}"),
            max.saturating_sub(len(&prefix) + suffix.len()),
        );
        return format!("{prefix}{middle}{suffix}");
    }
    let half = budget / 2;
    let keep_name = if n <= half {
        n
    } else {
        half.max(budget.saturating_sub(r)).min(n)
    };
    let keep_resource = (budget - keep_name).min(r);
    format!(
        "{prefix}{}: {}{tail}{suffix}",
        shorten_chars(&name, keep_name),
        shorten_chars(&resource, keep_resource)
    )
}

/// `text` in at most `keep` characters, ending in `...` when cut.
fn shorten_chars(text: &str, keep: usize) -> String {
    if text.chars().count() <= keep {
        return text.to_owned();
    }
    let cut: String = text.chars().take(keep.saturating_sub(3)).collect();
    format!("{cut}{}", &"..."[..keep.min(3)])
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
        Format::Text => super::text::text(facts, view),
        Format::Json => super::json::json(facts, view),
        Format::Chat => super::chat::chat(facts, view),
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
pub(super) fn shorten(s: &str, max: usize) -> String {
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

/// `database ` before a resource's name in headlines; nothing for instances, whose
/// headlines read as they always have.
fn kind_prefix(rule: &Rule) -> String {
    match rule.resource_type {
        ResourceType::Instance => String::new(),
        kind => format!("{} ", kind.noun()),
    }
}

/// The Lightsail console page with the resource's metric graphs. Distributions are
/// global, under `global` rather than a region.
pub fn console_url(kind: ResourceType, region: &str, resource: &str) -> String {
    let (region, section) = match kind {
        ResourceType::Instance => (region, "instances"),
        ResourceType::RelationalDatabase => (region, "databases"),
        ResourceType::LoadBalancer => (region, "networking/load-balancers"),
        ResourceType::Distribution => ("global", "distributions"),
        ResourceType::ContainerService => (region, "container-services"),
        ResourceType::Bucket => (region, "storage/buckets"),
    };
    format!(
        "https://lightsail.aws.amazon.com/ls/webapp/{}/{section}/{}/metrics",
        utf8_percent_encode(region, PATH_SEGMENT),
        utf8_percent_encode(resource, PATH_SEGMENT),
    )
}

pub(super) fn condition(rule: &Rule) -> String {
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

pub(super) fn omitted_note(omitted: usize) -> String {
    format!("{omitted} older datapoint(s) omitted to fit the 256 KB SNS message limit")
}

pub(super) fn breaches(rule: &Rule, point: &Datapoint) -> bool {
    rule.comparison.breaches(point.value, rule.threshold)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_links_escape_instance_names() {
        assert_eq!(
            console_url(ResourceType::Instance, "us-east-1", "web 1"),
            "https://lightsail.aws.amazon.com/ls/webapp/us-east-1/instances/web%201/metrics"
        );
        assert_eq!(
            console_url(ResourceType::Distribution, "us-east-1", "cdn"),
            "https://lightsail.aws.amazon.com/ls/webapp/global/distributions/cdn/metrics"
        );
    }

    #[test]
    fn shortening_keeps_characters_whole() {
        assert_eq!(shorten("héllo", 2), "h...");
        assert_eq!(shorten("abc", 10), "abc...");
    }
}
