//! Silences (SPEC §16): which results they cover (`match`: globs on the rule, the
//! resource, the region and the resource's tags) and when (a five-field cron schedule
//! with a duration, in a time zone, or one window from `start` to `end`). Windows are
//! judged at the evaluation time `t`, never the clock. Pure: no I/O.
//!
//! Three kinds share this: the rules document's `silences`, ad hoc silences in the state
//! table (`silence add`), and the `lightsail-alerts:silence-until` tag of a resource.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use crate::domain::select::{Alarm, Selector};
use crate::domain::time;

/// The tag that silences a resource's results until the RFC 3339 time it holds.
pub const SILENCE_UNTIL_TAG: &str = "lightsail-alerts:silence-until";

/// The shortest window: a minute, as CloudWatch's alarm mute rules allow.
pub const MIN_DURATION: TimeDelta = TimeDelta::minutes(1);
/// The longest window: 15 days, as CloudWatch's alarm mute rules allow. Longer than that
/// is a change to the rules, not a silence.
pub const MAX_DURATION: TimeDelta = TimeDelta::days(15);

/// Which results a silence covers: each field given must match (AND); a field left out
/// matches anything. Globs as in selections (`web-*`, `db-?`, `[a-c]*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Matcher {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Selector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Selector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Selector>,
    /// Tag key -> a glob its value must match (a tag without a value has the value "").
    /// Only listed resources have known tags: a matcher with tags never matches the
    /// others.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Selector>,
}

impl Matcher {
    /// Whether it matches nothing in particular: every result.
    pub fn is_empty(&self) -> bool {
        self.rule.is_none()
            && self.resource.is_none()
            && self.region.is_none()
            && self.tags.is_empty()
    }

    /// Whether `alarm` (with its resource's tags, when its region was listed) is covered.
    pub fn matches(&self, alarm: &Alarm<'_>, tags: Option<&[(String, Option<String>)]>) -> bool {
        let fits = |selector: &Option<Selector>, value: &str| {
            selector.as_ref().is_none_or(|s| s.matches(value))
        };
        fits(&self.rule, alarm.rule.name.as_str())
            && fits(&self.resource, &alarm.resource)
            && fits(&self.region, alarm.region)
            && self.tags.iter().all(|(key, glob)| {
                tags.into_iter()
                    .flatten()
                    .any(|(k, value)| k == key && glob.matches(value.as_deref().unwrap_or("")))
            })
    }

    /// `rule=cpu-* resource=web-1 tag:env=prod`, for people.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, selector) in [
            ("rule", &self.rule),
            ("resource", &self.resource),
            ("region", &self.region),
        ] {
            if let Some(selector) = selector {
                parts.push(format!("{name}={selector}"));
            }
        }
        parts.extend(self.tags.iter().map(|(k, v)| format!("tag:{k}={v}")));
        if parts.is_empty() {
            "everything".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

/// A length of time in whole seconds, 1 minute to 15 days: `90m`, `2h`, `1h30m`, `1d`,
/// or ISO 8601 (`PT2H`, `P2DT12H`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(TimeDelta);

impl Duration {
    pub fn as_delta(self) -> TimeDelta {
        self.0
    }

    /// `1h30m`, `2d`, `45m`.
    pub fn compact(self) -> String {
        let (days, hours, minutes, seconds) = self.parts();
        let mut text = String::new();
        for (n, unit) in [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")] {
            if n > 0 {
                text.push_str(&format!("{n}{unit}"));
            }
        }
        text
    }

    /// ISO 8601: `PT1H30M`, `P2D`, `P1DT12H`.
    pub fn iso8601(self) -> String {
        let (days, hours, minutes, seconds) = self.parts();
        let mut text = String::from("P");
        if days > 0 {
            text.push_str(&format!("{days}D"));
        }
        if hours + minutes + seconds > 0 {
            text.push('T');
            for (n, unit) in [(hours, "H"), (minutes, "M"), (seconds, "S")] {
                if n > 0 {
                    text.push_str(&format!("{n}{unit}"));
                }
            }
        }
        text
    }

    fn parts(self) -> (i64, i64, i64, i64) {
        let s = self.0.num_seconds();
        (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60, s % 60)
    }
}

/// What a duration may be, for error messages.
pub const DURATION_ALLOWED: &str =
    "a duration from 1 minute to 15 days such as 90m, 2h, 1h30m, 2d, or ISO 8601 such as PT2H";

impl FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let seconds = match trimmed.strip_prefix(['P', 'p']) {
            Some(iso) => iso8601_seconds(iso),
            None => compact_seconds(trimmed),
        }
        .ok_or_else(|| format!("`{text}` is not a duration; expected {DURATION_ALLOWED}"))?;
        let delta = TimeDelta::try_seconds(seconds)
            .filter(|d| (MIN_DURATION..=MAX_DURATION).contains(d))
            .ok_or_else(|| format!("`{text}` is out of range; expected {DURATION_ALLOWED}"))?;
        Ok(Duration(delta))
    }
}

/// `1d2h30m` (each unit at most once, largest first): seconds.
fn compact_seconds(text: &str) -> Option<i64> {
    let units = [('d', 86_400), ('h', 3_600), ('m', 60)];
    components(text, &units)
}

/// The part after `P`: `2DT12H`, `T1H30M`, `1W`.
fn iso8601_seconds(text: &str) -> Option<i64> {
    let upper = text.to_ascii_uppercase();
    let (date, time) = match upper.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date.to_owned(), Some(time.to_owned())),
        Some(_) => return None,
        None => (upper, None),
    };
    let date = if date.is_empty() {
        Some(0)
    } else {
        components(&date, &[('W', 604_800), ('D', 86_400)])
    }?;
    let time = match time {
        Some(time) => components(&time, &[('H', 3_600), ('M', 60), ('S', 1)])?,
        None => 0,
    };
    (date + time > 0).then_some(date + time)
}

/// Digits followed by a unit, the units in the order of `units`, each at most once.
fn components(text: &str, units: &[(char, i64)]) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = text;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 || digits > 6 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let position = units[next_unit..].iter().position(|(u, _)| *u == unit)?;
        total = total.checked_add(n.checked_mul(units[next_unit + position].1)?)?;
        next_unit += position + 1;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Some(total)
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.compact())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.iso8601())
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), as
/// CloudWatch's alarm mute rules write theirs.
#[derive(Clone)]
pub struct CronExpression {
    text: String,
    /// Boxed: a parsed expression is a few hundred bytes, a [`Schedule`] is passed around.
    cron: Box<croner::Cron>,
}

impl CronExpression {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The latest time at or before `t` (in `zone`) the expression matches.
    fn latest_at_or_before(&self, t: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&zone), true)
            .ok()
            .map(|start| start.with_timezone(&Utc))
    }
}

/// What a cron expression may be, for error messages.
pub const CRON_ALLOWED: &str = "five fields: minute hour day-of-month month day-of-week, such as \
     \"0 2 * * *\" (02:00 every day) or \"30 22 * * SAT\" (22:30 on Saturdays)";

impl FromStr for CronExpression {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let fields = text.split_whitespace().count();
        if fields != 5 {
            return Err(format!(
                "`{text}` has {fields} field(s); expected {CRON_ALLOWED}"
            ));
        }
        let cron = croner::Cron::from_str(text).map_err(|e| {
            format!("`{text}` is not a valid cron expression ({e}); expected {CRON_ALLOWED}")
        })?;
        Ok(CronExpression {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            cron: Box::new(cron),
        })
    }
}

impl fmt::Debug for CronExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpression({:?})", self.text)
    }
}

impl PartialEq for CronExpression {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Serialize for CronExpression {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// When a silence is in force.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// From each time `cron` matches (in `timezone`), for `duration`.
    Recurring {
        cron: CronExpression,
        duration: Duration,
        timezone: Tz,
    },
    /// From `start` (inclusive) to `end` (exclusive).
    Once {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

impl Schedule {
    /// The window in force at `t`, as (start, end), if one is.
    pub fn window_at(&self, t: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match self {
            Schedule::Once { start, end } => (*start <= t && t < *end).then_some((*start, *end)),
            // The latest start at or before `t` has the latest end of all that began by
            // then (every window lasts as long): `t` is in a window if it is in that one.
            Schedule::Recurring {
                cron,
                duration,
                timezone,
            } => {
                let start = cron.latest_at_or_before(t, *timezone)?;
                let end = start + duration.as_delta();
                (t < end).then_some((start, end))
            }
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(3))?;
        match self {
            Schedule::Recurring {
                cron,
                duration,
                timezone,
            } => {
                map.serialize_entry("cron", cron)?;
                map.serialize_entry("duration", duration)?;
                map.serialize_entry("timezone", timezone.name())?;
            }
            Schedule::Once { start, end } => {
                map.serialize_entry("start", &time::rfc3339(*start))?;
                map.serialize_entry("end", &time::rfc3339(*end))?;
            }
        }
        map.end()
    }
}

/// A silence of the rules document (`silences:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: Matcher,
    pub schedule: Schedule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Where a silence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// The rules document's `silences`.
    Rules,
    /// `silence add`, kept in the state table.
    AdHoc,
    /// A resource's `lightsail-alerts:silence-until` tag.
    Tag,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Rules => "rules",
            Origin::AdHoc => "adHoc",
            Origin::Tag => "tag",
        }
    }
}

/// A silence in force at the evaluation time, with what a report says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    /// The document silence's name, or the ad hoc silence's ID.
    pub name: String,
    pub origin: Origin,
    pub matcher: Matcher,
    /// When this window ends.
    pub until: DateTime<Utc>,
    pub comment: Option<String>,
}

impl Active {
    /// The document's silences in force at `t`.
    pub fn of_rules(silences: &[Silence], t: DateTime<Utc>) -> Vec<Active> {
        silences
            .iter()
            .filter_map(|silence| {
                let (_, until) = silence.schedule.window_at(t)?;
                Some(Active {
                    name: silence.name.clone(),
                    origin: Origin::Rules,
                    matcher: silence.matcher.clone(),
                    until,
                    comment: silence.comment.clone(),
                })
            })
            .collect()
    }

    /// The first of `active` that covers `alarm`.
    pub fn covering<'a>(
        active: &'a [Active],
        alarm: &Alarm<'_>,
        tags: Option<&[(String, Option<String>)]>,
    ) -> Option<&'a Active> {
        active.iter().find(|a| a.matcher.matches(alarm, tags))
    }
}

/// An ad hoc silence (`silence add`), kept in the state table (SPEC §16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdHoc {
    pub id: String,
    #[serde(rename = "match")]
    pub matcher: Matcher,
    #[serde(serialize_with = "time::serialize")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "time::serialize")]
    pub end: DateTime<Utc>,
    pub comment: String,
    #[serde(serialize_with = "time::serialize")]
    pub created_at: DateTime<Utc>,
    /// Set by `silence expire`: from then on it silences nothing, whatever the
    /// evaluation time.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::serialize_option"
    )]
    pub expired_at: Option<DateTime<Utc>>,
}

impl AdHoc {
    /// When its window ends, if it is in force at `t`.
    pub fn until(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (self.expired_at.is_none() && self.start <= t && t < self.end).then_some(self.end)
    }

    /// `active`, `pending` (starts later) or `expired` (ended, or expired by hand) at `t`.
    pub fn status(&self, t: DateTime<Utc>) -> &'static str {
        if self.expired_at.is_some() || self.end <= t {
            "expired"
        } else if t < self.start {
            "pending"
        } else {
            "active"
        }
    }

    /// When it stopped silencing: expired by hand, else its end.
    fn ended(&self) -> DateTime<Utc> {
        self.expired_at.map_or(self.end, |at| at.min(self.end))
    }
}

/// How long a silence that has ended stays listed (`silence list --all`, `status`)
/// before the next `silence add` or `silence expire` prunes it: Alertmanager's default
/// retention.
pub const KEEP_ENDED: TimeDelta = TimeDelta::days(5);

/// The ad hoc silences: one item of the state table, written whole, on condition that
/// it still holds `version` (`None`: there is no such item yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    pub version: Option<u64>,
    pub silences: BTreeMap<String, AdHoc>,
}

impl Book {
    /// Those in force at `t`, as the run's silences.
    pub fn active_at(&self, t: DateTime<Utc>) -> Vec<Active> {
        self.silences
            .values()
            .filter_map(|silence| {
                Some(Active {
                    name: silence.id.clone(),
                    origin: Origin::AdHoc,
                    matcher: silence.matcher.clone(),
                    until: silence.until(t)?,
                    comment: Some(silence.comment.clone()),
                })
            })
            .collect()
    }

    /// Drops the silences that ended more than [`KEEP_ENDED`] before `now`.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        self.silences
            .retain(|_, silence| silence.ended() + KEEP_ENDED > now);
    }

    /// A new ID: 8 hexadecimal digits of a hash of `seed` (the clock and the process),
    /// not already taken.
    pub fn new_id(&self, seed: &str) -> String {
        use sha2::{Digest, Sha256};
        (0u32..)
            .map(|n| {
                let digest = Sha256::digest(format!("{seed}#{n}").as_bytes());
                digest[..4]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            })
            .find(|id| !self.silences.contains_key(id))
            .unwrap_or_default()
    }
}

/// What a resource's `lightsail-alerts:silence-until` tag says at `t`: `None` without
/// the tag (or with one that has passed), the silence in force, or why its value is not
/// a time.
pub fn silence_until_tag(
    tags: &[(String, Option<String>)],
    t: DateTime<Utc>,
) -> Option<Result<Active, String>> {
    let (_, value) = tags.iter().find(|(key, _)| key == SILENCE_UNTIL_TAG)?;
    let value = value.as_deref().unwrap_or("");
    match DateTime::parse_from_rfc3339(value.trim()) {
        Ok(until) => {
            let until = until.with_timezone(&Utc);
            (t < until).then(|| {
                Ok(Active {
                    name: SILENCE_UNTIL_TAG.to_owned(),
                    origin: Origin::Tag,
                    matcher: Matcher::default(),
                    until,
                    comment: None,
                })
            })
        }
        Err(e) => Some(Err(format!(
            "its tag {SILENCE_UNTIL_TAG} is {value:?}, not an RFC 3339 time such as \
             2026-11-24T18:00:00Z ({e}); it is not silenced"
        ))),
    }
}

#[cfg(test)]
mod tests;
