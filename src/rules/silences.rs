//! The document's `silences` (SPEC §16): each a `name`, a `match` (globs on the rule,
//! the resource, the region, and tags), a `schedule` (`{cron, duration, timezone}` or
//! `{start, end}`) and a `comment`, every mistake reported and placed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_yaml_ng::{Mapping, Value};

use super::errors::ValidationError;
use super::positions::Path;
use super::scope::{self, Scope};
use super::selection::check_region;
use super::suggest::with_suggestion;
use super::values::{describe, key_text, lookup, mapping, string};
use crate::domain::rule::RuleName;
use crate::domain::select::Selector;
use crate::domain::silence::{CronExpression, Duration, Matcher, Schedule, Silence};

pub(super) const SILENCE_FIELDS: &[&str] = &["name", "match", "schedule", "comment"];
pub(super) const MATCH_FIELDS: &[&str] = &["rule", "resource", "region", "tags"];
pub(super) const SCHEDULE_FIELDS: &[&str] = &["cron", "duration", "timezone", "start", "end"];

const NAME_ALLOWED: &str = "1 to 64 characters from A-Z a-z 0-9 _ . -";
const SCHEDULE_ALLOWED: &str = "either {cron: \"0 2 * * *\", duration: 2h, timezone: \
     Europe/Paris} (every time the cron expression matches, for the duration) or {start: \
     2026-11-24T22:00:00Z, end: 2026-11-25T02:00:00Z} (once)";
const MATCH_ALLOWED: &str = "a mapping of rule, resource, region (each a name or glob) and \
     tags ({key: glob}), e.g. {rule: \"cpu-*\", resource: web-1}";

/// `silences:` — every entry checked against `rules` (the names of the document's
/// rules); `None` when any is wrong (each error recorded).
pub(super) fn check_silences(
    list: &[Value],
    source: &str,
    errors: &mut Vec<ValidationError>,
    rules: &[&RuleName],
) -> Option<Vec<Silence>> {
    let mut names: HashMap<String, usize> = HashMap::new();
    let checked: Vec<Option<Silence>> = list
        .iter()
        .enumerate()
        .map(|(index, value)| check_silence(index, value, source, errors, rules, &mut names))
        .collect();
    checked.into_iter().collect()
}

fn check_silence(
    index: usize,
    value: &Value,
    source: &str,
    errors: &mut Vec<ValidationError>,
    rules: &[&RuleName],
    names: &mut HashMap<String, usize>,
) -> Option<Silence> {
    let position = format!("silences[{index}]");
    let map = mapping(value, "a mapping of name, match, schedule and comment");
    let name = map
        .as_ref()
        .ok()
        .map(|map| lookup(map, "name", |v| check_name(string(v)?)));
    let label = match &name {
        Some(Ok(Some(name))) => format!("{position} ({name})"),
        _ => position,
    };
    let mut scope = Scope {
        rule: Some(label),
        ..Scope::new(source, Path::root().key("silences").index(index), errors)
    };
    let map = match map {
        Ok(map) => map,
        Err(message) => {
            scope.error("", message);
            return None;
        }
    };
    let unknown = scope.find_unknown(map, SILENCE_FIELDS);
    let name = scope.record("name", name.unwrap_or(Ok(None)));
    let name = scope.required(name, "name", &format!("a unique name of {NAME_ALLOWED}"));
    let name = name.and_then(|name| match names.get(&name) {
        Some(first) => {
            scope.error(
                "name",
                format!("`{name}` is already the name of silences[{first}]; names must be unique"),
            );
            None
        }
        None => {
            names.insert(name.clone(), index);
            Some(name)
        }
    });
    let matcher = match scope.field(map, "match", |v| mapping(v, MATCH_ALLOWED)) {
        super::scope::Field::Valid(map) => check_match(&mut scope, map, rules),
        field => scope.required(field, "match", MATCH_ALLOWED).and(None),
    };
    let schedule = match scope.field(map, "schedule", |v| mapping(v, SCHEDULE_ALLOWED)) {
        super::scope::Field::Valid(map) => check_schedule(&mut scope, map),
        field => scope
            .required(field, "schedule", SCHEDULE_ALLOWED)
            .and(None),
    };
    let comment = scope
        .field(map, "comment", |v| string(v).map(str::to_owned))
        .optional();
    scope.report_unknown(unknown);
    Some(Silence {
        name: name?,
        matcher: matcher?,
        schedule: schedule?,
        comment: comment?,
    })
}

fn check_name(name: &str) -> Result<String, String> {
    let is_allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let problem = if name.is_empty() {
        "it is empty".to_owned()
    } else if let Some(c) = name.chars().find(|&c| !is_allowed(c)) {
        format!("{c:?} is not allowed")
    } else if name.len() > 64 {
        format!("it has {} characters", name.len())
    } else {
        return Ok(name.to_owned());
    };
    Err(format!(
        "`{name}` is not a valid silence name ({problem}); allowed: {NAME_ALLOWED}"
    ))
}

/// `key` of the mapping at `at`, checked: `Ok(None)` when absent, `Err(())` when wrong
/// (its error recorded).
fn nested<'m, T>(
    scope: &mut Scope<'_>,
    at: &Path,
    map: &'m Mapping,
    key: &str,
    check: impl FnOnce(&'m Value) -> Result<T, String>,
) -> Result<Option<T>, ()> {
    lookup(map, key, check).map_err(|message| scope.error(at.key(key), message))
}

/// What is wrong with a silence's `rule` glob that covers none of the rules `names`: a
/// name that is not a rule's (with "did you mean"), or a glob that matches none.
pub(crate) fn matches_no_rule(rule: &Selector, names: &[&str]) -> Option<String> {
    match rule {
        Selector::Name(name) if !names.contains(&name.as_str()) => Some(with_suggestion(
            format!("no rule is named `{name}`"),
            name,
            names.iter().copied(),
        )),
        Selector::Glob(_) if !names.iter().any(|name| rule.matches(name)) => {
            Some(format!("`{rule}` matches no rule of the document"))
        }
        _ => None,
    }
}

/// `match`: at least one field, each a valid glob; a `rule` that names no rule of the
/// document, or a glob that matches none, is an error (the silence would never apply).
fn check_match(scope: &mut Scope<'_>, map: &Mapping, rules: &[&RuleName]) -> Option<Matcher> {
    let at = Path::from("match");
    let typos = scope.unknown_keys(&at, map, MATCH_FIELDS);
    let mut valid = typos.is_empty() && scope::known_keys(map, MATCH_FIELDS);
    let mut glob = |scope: &mut Scope<'_>, key: &str| -> Option<Selector> {
        match nested(scope, &at, map, key, |v| Selector::parse(string(v)?)) {
            Ok(selector) => selector,
            Err(()) => {
                valid = false;
                None
            }
        }
    };
    let rule = glob(scope, "rule");
    let resource = glob(scope, "resource");
    let region = glob(scope, "region");
    if let Some(rule) = &rule {
        let names: Vec<&str> = rules.iter().map(|name| name.as_str()).collect();
        if let Some(problem) = matches_no_rule(rule, &names) {
            scope.error(
                at.key("rule"),
                format!("{problem}; the silence would never apply"),
            );
            valid = false;
        }
    }
    if let Some(Selector::Name(name)) = &region
        && let Err(message) = check_region(name)
    {
        scope.error(at.key("region"), message);
        valid = false;
    }
    let tags = match nested(scope, &at, map, "tags", |v| {
        mapping(
            v,
            "a mapping of tag key to a glob its value must match, e.g. {env: prod}",
        )
    }) {
        Ok(Some(tags)) => {
            let mut checked = std::collections::BTreeMap::new();
            for (key, value) in tags {
                let key = key_text(key);
                let field = at.key("tags").key(key.as_str());
                match scalar(value).and_then(|v| Selector::parse(&v)) {
                    Ok(glob) => {
                        checked.insert(key, glob);
                    }
                    Err(message) => {
                        scope.error(field, message);
                        valid = false;
                    }
                }
            }
            checked
        }
        Ok(None) => Default::default(),
        Err(()) => {
            valid = false;
            Default::default()
        }
    };
    let matcher = Matcher {
        rule,
        resource,
        region,
        tags,
    };
    if valid && matcher.is_empty() {
        scope.error(
            at,
            "must say which results it covers: at least one of rule, resource, region, tags \
             (rule: \"*\" silences every rule)",
        );
        return None;
    }
    valid.then_some(matcher)
}

/// A tag's value: a string, or a number or boolean as YAML reads `env: 1`.
fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a glob the tag's value must match, got {}",
            describe(other)
        )),
    }
}

/// `schedule`: `{cron, duration, timezone}` or `{start, end}`.
fn check_schedule(scope: &mut Scope<'_>, map: &Mapping) -> Option<Schedule> {
    let at = Path::from("schedule");
    let typos = scope.unknown_keys(&at, map, SCHEDULE_FIELDS);
    let present = |key: &str| !matches!(map.get(key), None | Some(Value::Null));
    let recurring = ["cron", "duration", "timezone"]
        .into_iter()
        .find(|k| present(k));
    let once = ["start", "end"].into_iter().find(|k| present(k));
    let valid = scope::known_keys(map, SCHEDULE_FIELDS);
    let schedule = match (recurring, once) {
        (Some(recurring), Some(once)) => {
            scope.error(
                at.key(once),
                format!(
                    "`{recurring}` and `{once}` are both set; a schedule is {SCHEDULE_ALLOWED}"
                ),
            );
            None
        }
        (Some(_), None) => check_recurring(scope, &at, map, &typos),
        (None, Some(_)) => check_once(scope, &at, map, &typos),
        (None, None) => {
            if typos.is_empty() {
                scope.error(at, format!("is empty; a schedule is {SCHEDULE_ALLOWED}"));
            }
            None
        }
    };
    schedule.filter(|_| valid)
}

fn check_recurring(
    scope: &mut Scope<'_>,
    at: &Path,
    map: &Mapping,
    typos: &HashSet<&'static str>,
) -> Option<Schedule> {
    let cron = nested(scope, at, map, "cron", |v| {
        string(v)?.parse::<CronExpression>()
    });
    let duration = nested(scope, at, map, "duration", |v| {
        string(v)?.parse::<Duration>()
    });
    let timezone = nested(scope, at, map, "timezone", |v| parse_timezone(string(v)?));
    let mut required = |key: &'static str, what: &str| {
        if !typos.contains(key) {
            scope.error(at.key(key), format!("required with `cron`; {what}"));
        }
    };
    let cron = match cron {
        Ok(Some(cron)) => Some(cron),
        Ok(None) => {
            required("cron", crate::domain::silence::CRON_ALLOWED);
            None
        }
        Err(()) => None,
    };
    let duration = match duration {
        Ok(Some(duration)) => Some(duration),
        Ok(None) => {
            required("duration", crate::domain::silence::DURATION_ALLOWED);
            None
        }
        Err(()) => None,
    };
    let timezone = timezone.ok()?.unwrap_or(Tz::UTC);
    Some(Schedule::Recurring {
        cron: cron?,
        duration: duration?,
        timezone,
    })
}

fn check_once(
    scope: &mut Scope<'_>,
    at: &Path,
    map: &Mapping,
    typos: &HashSet<&'static str>,
) -> Option<Schedule> {
    let time = |scope: &mut Scope<'_>, key: &'static str| -> Option<DateTime<Utc>> {
        match nested(scope, at, map, key, |v| parse_time(string(v)?)) {
            Ok(Some(t)) => Some(t),
            Ok(None) => {
                if !typos.contains(key) {
                    scope.error(
                        at.key(key),
                        "required with `start` and `end`: an RFC 3339 time such as \
                         2026-11-24T22:00:00Z",
                    );
                }
                None
            }
            Err(()) => None,
        }
    };
    let start = time(scope, "start");
    let end = time(scope, "end");
    let (start, end) = (start?, end?);
    if end <= start {
        scope.error(
            at.key("end"),
            format!(
                "`{}` is not after start ({}); a window ends after it starts",
                crate::domain::time::rfc3339(end),
                crate::domain::time::rfc3339(start)
            ),
        );
        return None;
    }
    Some(Schedule::Once { start, end })
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "`{text}` is not an RFC 3339 time ({e}); expected one such as 2026-11-24T22:00:00Z"
            )
        })
}

/// An IANA time zone name (`Europe/Paris`).
fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        with_suggestion(
            format!(
                "`{name}` is not an IANA time zone name; expected one such as UTC, \
                 Europe/Paris or America/New_York"
            ),
            name,
            chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
        )
    })
}

#[cfg(test)]
mod tests;
