//! Digests (SPEC §16): the alerts of one run for one target (topic and format) in one
//! message instead of one each — a list in `text`, an array document in `json`, one card
//! in `chat` — split into several messages only where SNS's 256 KB limit requires.
//!
//! Pure: which alerts go in a digest, and when, is the deliver stage's to decide; here a
//! digest is rendered from the alerts it carries, each of which keeps its own
//! [`Summary`] (what a digest lists of it) and its own message (which the `json` digest
//! embeds whole).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{DateTime, Utc};

use super::format::AlertFacts;
use super::{Alert, MAX_MESSAGE_BYTES, hex_sha256, publish_size, sns_subject, sns_text};
use crate::domain::catalog::{
    Comparison, Format, MetricName, ResourceType, Severity, Statistic, Unit,
};
use crate::domain::evaluate::AlarmState;
use crate::domain::transition::Held;

/// The `version` of the `json` digest document (`schemas/alert-digest-v1.schema.json`).
pub const DIGEST_VERSION: &str = "1";

/// What a digest lists of one alert: enough to see what happened and where, in a line or
/// three.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The alert's id (its `json` document's `id`, its FIFO deduplication id).
    pub id: String,
    pub rule: String,
    pub severity: Severity,
    pub resource_type: ResourceType,
    pub resource: String,
    pub region: String,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    /// On a reminder, since when the ALARM has lasted.
    pub reminder_since: Option<DateTime<Utc>>,
    /// On a notice a silence or an inhibition held, sent now that it ended: the hold.
    pub released: Option<Held>,
    pub metric: MetricName,
    pub statistic: Statistic,
    pub comparison: Comparison,
    pub threshold: f64,
    /// The most recent datapoint evaluated; `None` when there was none.
    pub value: Option<f64>,
    pub unit: Unit,
    pub reason: String,
    pub evaluated_at: DateTime<Utc>,
}

impl Summary {
    pub(super) fn of(facts: &AlertFacts<'_>) -> Summary {
        let AlertFacts {
            rule,
            region,
            resource,
            evaluation,
            evaluated_at,
            id,
            ..
        } = *facts;
        Summary {
            id: id.to_owned(),
            rule: rule.name.to_string(),
            severity: rule.severity,
            resource_type: rule.resource_type,
            resource: resource.to_owned(),
            region: region.to_owned(),
            state: evaluation.state,
            previous_state: facts.previous_state,
            reminder_since: facts.reminder_since,
            released: facts.released.cloned(),
            metric: rule.metric,
            statistic: rule.statistic,
            comparison: rule.comparison,
            threshold: rule.threshold,
            value: evaluation.datapoints.last().map(|point| point.value),
            unit: rule.unit,
            reason: evaluation.reason.clone(),
            evaluated_at,
        }
    }

    /// `ALARM`, `ALARM (reminder, since ...)`, `OK (recovered)`, `INSUFFICIENT_DATA`;
    /// a released notice says what held it: `ALARM (held by silence deploys)`, `OK
    /// (recovered; held while inhibited by status-check-failed)`.
    pub(super) fn what(&self) -> String {
        let held = self.released.as_ref().map(Held::by_words);
        match (self.state, self.reminder_since, self.previous_state, held) {
            (state, Some(since), _, _) => format!(
                "{state} (reminder, since {})",
                crate::domain::time::rfc3339(since)
            ),
            (AlarmState::Ok, None, Some(_), None) => "OK (recovered)".to_owned(),
            (AlarmState::Ok, None, Some(_), Some(held)) => format!("OK (recovered; held {held})"),
            (state, None, _, None) => state.to_string(),
            (state, None, _, Some(held)) => format!("{state} (held {held})"),
        }
    }

    /// `CPUUtilization Average 95 Percent (threshold > 80)`.
    pub(super) fn value_and_threshold(&self) -> String {
        let value = match self.value {
            Some(value) => format!("{value} {}", self.unit),
            None => "no datapoints".to_owned(),
        };
        format!(
            "{} {} {value} (threshold {} {})",
            self.metric,
            self.statistic,
            self.comparison.symbol(),
            self.threshold
        )
    }

    /// The most urgent first: ALARM, then INSUFFICIENT_DATA, then OK (recoveries); within
    /// a state by severity, then rule, region and resource.
    fn urgency(&self, other: &Summary) -> Ordering {
        let rank = |state: AlarmState| match state {
            AlarmState::Alarm => 0,
            AlarmState::InsufficientData => 1,
            AlarmState::Ok => 2,
        };
        (
            rank(self.state),
            self.severity,
            &self.rule,
            &self.region,
            &self.resource,
        )
            .cmp(&(
                rank(other.state),
                other.severity,
                &other.rule,
                &other.region,
                &other.resource,
            ))
    }
}

/// One message carrying alerts of one run to one target: the [`Alert`] to publish, and
/// which of the alerts it was made from it carries (indexes into them).
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub alert: Alert,
    pub covers: Vec<usize>,
}

impl Digest {
    /// A message that carries one alert is that alert.
    pub fn is_single(&self) -> bool {
        self.covers.len() == 1 && self.alert.summary.is_some()
    }
}

/// How many of each state a digest carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub alarm: usize,
    pub insufficient_data: usize,
    pub ok: usize,
}

impl Tally {
    fn of<'s>(summaries: impl IntoIterator<Item = &'s Summary>) -> Tally {
        let mut tally = Tally::default();
        for summary in summaries {
            match summary.state {
                AlarmState::Alarm => tally.alarm += 1,
                AlarmState::InsufficientData => tally.insufficient_data += 1,
                AlarmState::Ok => tally.ok += 1,
            }
        }
        tally
    }

    pub fn count(&self) -> usize {
        self.alarm + self.insufficient_data + self.ok
    }

    /// The state a digest is filed under: ALARM if it carries one, else INSUFFICIENT_DATA
    /// if it carries one, else OK.
    pub fn worst(&self) -> AlarmState {
        if self.alarm > 0 {
            AlarmState::Alarm
        } else if self.insufficient_data > 0 {
            AlarmState::InsufficientData
        } else {
            AlarmState::Ok
        }
    }

    /// `35 ALARM, 2 OK`: the states it carries, most urgent first.
    pub fn words(&self) -> String {
        [
            (self.alarm, AlarmState::Alarm),
            (self.insufficient_data, AlarmState::InsufficientData),
            (self.ok, AlarmState::Ok),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, state)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// Each state with its count, zeros too (the `json` document's `counts`).
    pub fn by_state(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            (AlarmState::Alarm.as_str(), self.alarm),
            (
                AlarmState::InsufficientData.as_str(),
                self.insufficient_data,
            ),
            (AlarmState::Ok.as_str(), self.ok),
        ])
    }
}

/// Which message of a digest split in several this is; `1 of 1` when it is not split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Part {
    pub number: usize,
    pub of: usize,
    /// The place of its first alert in the whole digest, from 1 (`text` numbers them).
    pub first: usize,
}

/// What every format's digest body is made from.
pub(super) struct DigestFacts<'a> {
    pub members: &'a [Listed<'a>],
    pub summaries: &'a [&'a Summary],
    pub tally: Tally,
    pub part: Part,
    pub id: &'a str,
    pub title: &'a str,
    pub evaluated_at: DateTime<Utc>,
}

/// The FIFO message group of every digest: it carries many rules and resources, so it
/// has none of theirs.
const DIGEST_GROUP_ID: &str = "lightsail-alerts-digest";

/// What the subject and the attributes of a digest may take of the 256 KB, at most
/// (a subject of 99 characters and ten attributes of long names and values).
const ENVELOPE: usize = 4_096;

/// The alerts of one run for one target (`alerts`, all to the same topic in the same
/// format) as digests: the most urgent first, in as few messages as SNS's 256 KB allows
/// (usually one). An alert that would be a digest's only one goes as itself, and so does
/// an alert without a [`Summary`] (a digest itself).
pub fn digests(alerts: &[&Alert]) -> Vec<Digest> {
    let mut out = Vec::new();
    let mut listed: Vec<(usize, Listed<'_>)> = Vec::with_capacity(alerts.len());
    for (i, &alert) in alerts.iter().enumerate() {
        match alert.summary.as_deref() {
            Some(summary) => listed.push((i, Listed { alert, summary })),
            None => out.push(Digest {
                alert: alert.clone(),
                covers: vec![i],
            }),
        }
    }
    listed.sort_by(|(_, a), (_, b)| a.summary.urgency(b.summary));
    let (indexes, members): (Vec<usize>, Vec<Listed<'_>>) = listed.into_iter().unzip();
    let Some(format) = members.first().map(|m| m.alert.format) else {
        return out;
    };
    let sizes: Vec<usize> = members
        .iter()
        .enumerate()
        .map(|(at, member)| entry_size(format, member, at + 1))
        .collect();
    let budget = MAX_MESSAGE_BYTES.saturating_sub(ENVELOPE + empty_size(format));
    let mut chunks = pack(&sizes, budget);
    // The sizes are close estimates: a part that is still too long is halved.
    loop {
        let parts = chunks.len();
        let mut halved = Vec::with_capacity(parts);
        for (number, range) in chunks.iter().enumerate() {
            let part = Part {
                number: number + 1,
                of: parts,
                first: range.start + 1,
            };
            let fits = publish_size(&render(&members[range.clone()], part)) <= MAX_MESSAGE_BYTES;
            if fits || range.len() == 1 {
                halved.push(range.clone());
            } else {
                let middle = range.start + range.len() / 2;
                halved.extend([range.start..middle, middle..range.end]);
            }
        }
        if halved.len() == chunks.len() {
            break;
        }
        chunks = halved;
    }
    let parts = chunks.len();
    for (number, range) in chunks.into_iter().enumerate() {
        let covers: Vec<usize> = indexes[range.clone()].to_vec();
        let alert = if range.len() == 1 {
            // One alert alone is that alert, which always fits.
            members[range.start].alert.clone()
        } else {
            let part = Part {
                number: number + 1,
                of: parts,
                first: range.start + 1,
            };
            render(&members[range], part)
        };
        out.push(Digest { alert, covers });
    }
    out
}

/// An alert a digest lists, with its summary.
#[derive(Clone, Copy)]
pub(super) struct Listed<'a> {
    pub alert: &'a Alert,
    pub summary: &'a Summary,
}

/// Consecutive ranges of `sizes`, each as long as it can be without its sizes adding up to
/// more than `budget` (but never empty: an item larger than `budget` is a range alone).
pub(super) fn pack(sizes: &[usize], budget: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && used + size > budget {
            ranges.push(start..i);
            (start, used) = (i, 0);
        }
        used += size;
    }
    if start < sizes.len() {
        ranges.push(start..sizes.len());
    }
    ranges
}

/// What one alert adds to a digest body of `format`, in bytes (for `json` a close
/// estimate: the document nested two levels deeper).
fn entry_size(format: Format, member: &Listed<'_>, number: usize) -> usize {
    let message = &member.alert.message;
    match format {
        Format::Text => super::text::digest_entry(member.summary, number).len() + 1,
        Format::Json => message.len() + 4 * (message.lines().count() + 1) + 2,
        // A card lists what fits in its description and counts the rest.
        Format::Chat => 0,
    }
}

/// The body of a digest of `format` without any alert, in bytes.
fn empty_size(format: Format) -> usize {
    match format {
        Format::Text | Format::Json => 2_048,
        Format::Chat => 16_384,
    }
}

/// The digest of `members` (in that order), part `part`.
fn render(members: &[Listed<'_>], part: Part) -> Alert {
    let summaries: Vec<&Summary> = members.iter().map(|m| m.summary).collect();
    let tally = Tally::of(summaries.iter().copied());
    let first = members[0].alert;
    let ids: Vec<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
    let id = hex_sha256(&ids);
    let title = title(&tally, part);
    let subject = sns_subject(&title);
    let evaluated_at = summaries
        .iter()
        .map(|s| s.evaluated_at)
        .max()
        .unwrap_or_default();
    let facts = DigestFacts {
        members,
        summaries: &summaries,
        tally,
        part,
        id: &id,
        title: &title,
        evaluated_at,
    };
    let message = sns_text(&match first.format {
        Format::Text => super::text::digest(&facts),
        Format::Json => super::json::digest(&facts),
        Format::Chat => super::chat::digest(&facts),
    });
    let fifo = first.topic_arn.is_fifo();
    Alert {
        topic_arn: first.topic_arn.clone(),
        format: first.format,
        subject,
        message,
        attributes: attributes(&summaries, &tally, first.format),
        message_group_id: fifo.then(|| DIGEST_GROUP_ID.to_owned()),
        // The same alerts, retried, are the same digest.
        message_deduplication_id: fifo.then(|| id.clone()),
        summary: None,
    }
}

/// `[ALARM] 37 alerts: 35 ALARM, 2 OK (lightsail-alerts)`; a part of a digest split in
/// several says which: `(lightsail-alerts, part 1 of 2)`.
fn title(tally: &Tally, part: Part) -> String {
    let whose = if part.of > 1 {
        format!("lightsail-alerts, part {} of {}", part.number, part.of)
    } else {
        "lightsail-alerts".to_owned()
    };
    format!(
        "[{}] {} alerts: {} ({whose})",
        tally.worst(),
        tally.count(),
        tally.words()
    )
}

/// A digest's message attributes, so that filter policies keep working: `severity` the
/// highest it carries, `state` the worst, `format`, `digest` = `true`, `count`; and
/// `rule`, `resourceType`, `resource`, `metric` and `region` where every alert it
/// carries has the same (SNS allows ten attributes: `instance` is left to `resource`).
fn attributes(summaries: &[&Summary], tally: &Tally, format: Format) -> BTreeMap<String, String> {
    let severity = summaries
        .iter()
        .map(|s| s.severity)
        .min()
        .unwrap_or(Severity::Info);
    let count = tally.count().to_string();
    let mut attributes: BTreeMap<String, String> = [
        ("severity", severity.as_str()),
        ("state", tally.worst().as_str()),
        ("format", format.as_str()),
        ("digest", "true"),
        ("count", count.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let shared = |of: fn(&Summary) -> &str| -> Option<String> {
        let first = of(summaries.first()?);
        summaries
            .iter()
            .all(|s| of(s) == first)
            .then(|| sns_text(first))
    };
    type Field = fn(&Summary) -> &str;
    let common: [(&str, Field); 5] = [
        ("rule", |s| &s.rule),
        ("resourceType", |s| s.resource_type.as_str()),
        ("resource", |s| &s.resource),
        ("metric", |s| s.metric.as_str()),
        ("region", |s| &s.region),
    ];
    for (name, of) in common {
        if let Some(value) = shared(of) {
            attributes.insert(name.to_owned(), value);
        }
    }
    attributes
}

#[cfg(test)]
mod tests;
