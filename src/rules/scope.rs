//! The error-collecting machinery: a `Scope` per mapping (the document, `defaults`, one
//! rule) records each field as absent, valid or invalid, and reports unknown keys.

use std::collections::{BTreeSet, HashSet};

use serde_yaml_ng::{Mapping, Value};

use crate::domain::catalog::Severity;
use crate::domain::evaluate::AlarmState;

use super::errors::ValidationError;
use super::positions::{Path, Target};
use super::suggest::closest;
use super::values::{key_text, lookup};
use crate::domain::rule::Destination;

pub(super) const DOCUMENT_FIELDS: &[&str] = &["version", "defaults", "rules", "silences"];
// `recoveryThreshold` is per rule only: it is tied to the rule's own threshold and
// comparison, so one value for every rule would be wrong for most of them. The other
// way round, `groupAbove` is in `defaults` only: a target's digest gathers the notices
// of every rule that names it, so it is one value for the document.
pub(super) const DEFAULTS_FIELDS: &[&str] = &[
    "region",
    "regions",
    "topicArn",
    "severity",
    "notify",
    "notifyOn",
    "renotifyMinutes",
    "groupAbove",
];
/// Fields of `defaults` that are not a rule's, and why, for the error a rule that sets one
/// gets.
const DEFAULTS_ONLY: &[(&str, &str)] = &[(
    "groupAbove",
    "`groupAbove` is set in `defaults` only: a target's digest gathers the notices of every rule that names it",
)];
pub(super) const RULE_FIELDS: &[&str] = &[
    "name",
    "description",
    "resourceType",
    "resources",
    "instances",
    "exclude",
    "tags",
    "states",
    "metric",
    "statistic",
    "unit",
    "period",
    "comparison",
    "threshold",
    "recoveryThreshold",
    "evaluationPeriods",
    "datapointsToAlarm",
    "treatMissingData",
    "severity",
    "notifyOn",
    "renotifyMinutes",
    "region",
    "regions",
    "topicArn",
    "notify",
    "inhibitedBy",
];

/// One field of a mapping after its own checks.
pub(super) enum Field<T> {
    Absent,
    Valid(T),
    /// Wrong; the error is already recorded, so nothing that depends on it reports again.
    Invalid,
}

impl<T> Field<T> {
    /// For fields without a default: absent is fine, invalid is not.
    pub(super) fn optional(self) -> Option<Option<T>> {
        match self {
            Field::Valid(value) => Some(Some(value)),
            Field::Invalid => None,
            Field::Absent => Some(None),
        }
    }

    /// The rule's own value, else the one from `defaults`, else `fallback`.
    pub(super) fn or_default(self, defaults: &Field<T>, fallback: T) -> Option<T>
    where
        T: Clone,
    {
        match (self, defaults) {
            (Field::Valid(value), _) => Some(value),
            (Field::Absent, Field::Valid(value)) => Some(value.clone()),
            (Field::Absent, Field::Absent) => Some(fallback),
            (Field::Invalid, _) | (Field::Absent, Field::Invalid) => None,
        }
    }

    pub(super) fn or_else(self, default: impl FnOnce() -> Option<T>) -> Option<T> {
        match self {
            Field::Valid(value) => Some(value),
            Field::Invalid => None,
            Field::Absent => default(),
        }
    }
}

/// `defaults:` as far as it is valid.
pub(super) struct Defaults {
    pub(super) regions: Field<Vec<String>>,
    /// From `defaults.notify`, else `defaults.topicArn` as one `text` target.
    pub(super) destinations: Field<Vec<Destination>>,
    pub(super) severity: Field<Severity>,
    pub(super) notify_on: Field<BTreeSet<AlarmState>>,
    pub(super) renotify_minutes: Field<u32>,
    /// `None` inside: never group.
    pub(super) group_above: Field<Option<u32>>,
}

impl Defaults {
    /// Every field `Absent` (no `defaults:`), or every field `Invalid` (`defaults:` is
    /// not a mapping, already reported, so no rule reports a missing value again).
    pub(super) fn uniform(invalid: bool) -> Self {
        fn field<T>(invalid: bool) -> Field<T> {
            if invalid {
                Field::Invalid
            } else {
                Field::Absent
            }
        }
        Defaults {
            regions: field(invalid),
            destinations: field(invalid),
            severity: field(invalid),
            notify_on: field(invalid),
            renotify_minutes: field(invalid),
            group_above: field(invalid),
        }
    }
}

/// A key that is not an allowed field, kept until the known fields are checked so a
/// typo of a required field reports once ("did you mean") instead of twice.
pub(super) struct UnknownField {
    key: String,
    message: String,
    suggestion: Option<&'static str>,
}

/// Where errors go while one mapping (the document, `defaults`, one rule) is checked.
pub(super) struct Scope<'e> {
    pub(super) source: &'e str,
    /// `rules[2] (cpu-high)` for a rule's errors, which then name their fields from the
    /// rule down (`notify[0].topicArn`); other errors name them from the document's root
    /// (`defaults.region`).
    pub(super) rule: Option<String>,
    /// Where the mapping is in the document: the root, `defaults`, `rules[2]`.
    pub(super) path: Path,
    pub(super) errors: &'e mut Vec<ValidationError>,
    /// Allowed fields an unknown key looks like a typo of; set by `find_unknown`, which
    /// must run before the fields are checked.
    pub(super) typos: HashSet<&'static str>,
}

impl<'e> Scope<'e> {
    /// The mapping at `path`, outside any rule: the document, `defaults`.
    pub(super) fn new(source: &'e str, path: Path, errors: &'e mut Vec<ValidationError>) -> Self {
        Scope {
            source,
            rule: None,
            path,
            errors,
            typos: HashSet::new(),
        }
    }

    /// An error about the value of `field` (a path from this mapping: `period`,
    /// `notify[0].topicArn`; `""` for the mapping itself), or about its absence.
    pub(super) fn error(&mut self, field: impl Into<Path>, message: impl Into<String>) {
        self.push(field.into(), Target::Value, message.into());
    }

    /// An error about the key that ends `field`, not its value: an unknown field.
    pub(super) fn key_error(&mut self, field: impl Into<Path>, message: impl Into<String>) {
        self.push(field.into(), Target::Key, message.into());
    }

    /// The unknown keys of the mapping at `at` (a path from this mapping), each an error
    /// with "did you mean"; returns the allowed keys they look like typos of (so that
    /// those are not also "required").
    pub(super) fn unknown_keys(
        &mut self,
        at: &Path,
        map: &Mapping,
        allowed: &[&'static str],
    ) -> HashSet<&'static str> {
        let mut typos = HashSet::new();
        for key in map.keys() {
            if key.as_str().is_some_and(|k| allowed.contains(&k)) {
                continue;
            }
            let key = key_text(key);
            let suggestion = closest(&key, allowed.iter().copied());
            let hint = suggestion
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            typos.extend(suggestion);
            self.key_error(
                at.key(key.as_str()),
                format!(
                    "unknown field `{key}`{hint}; allowed: {}",
                    allowed.join(", ")
                ),
            );
        }
        typos
    }

    fn push(&mut self, field: Path, target: Target, message: String) {
        let path = self.path.join(&field);
        let shown = if self.rule.is_some() { &field } else { &path };
        self.errors.push(ValidationError {
            source: self.source.to_owned(),
            at: None,
            rule: self.rule.clone(),
            field: shown.to_string(),
            message,
            place: Some((path, target)),
        });
    }

    pub(super) fn record<T>(
        &mut self,
        field: &str,
        checked: Result<Option<T>, String>,
    ) -> Field<T> {
        match checked {
            // The unknown-field error already says "did you mean `field`?": one mistake,
            // one error, rather than also "required" here and in every rule using a default.
            Ok(None) if self.typos.contains(field) => Field::Invalid,
            Ok(None) => Field::Absent,
            Ok(Some(value)) => Field::Valid(value),
            Err(message) => {
                self.error(field, message);
                Field::Invalid
            }
        }
    }

    pub(super) fn field<'m, T>(
        &mut self,
        map: &'m Mapping,
        key: &str,
        check: impl FnOnce(&'m Value) -> Result<T, String>,
    ) -> Field<T> {
        self.record(key, lookup(map, key, check))
    }

    pub(super) fn required<T>(&mut self, field: Field<T>, key: &str, what: &str) -> Option<T> {
        if matches!(field, Field::Absent) {
            self.error(key, format!("required; {what}"));
        }
        field.or_else(|| None)
    }

    /// Finds the keys of `map` outside `allowed`; reported later by `report_unknown`.
    pub(super) fn find_unknown(
        &mut self,
        map: &Mapping,
        allowed: &[&'static str],
    ) -> Vec<UnknownField> {
        let unknown: Vec<UnknownField> = map
            .keys()
            .filter(|key| !key.as_str().is_some_and(|key| allowed.contains(&key)))
            .map(|key| {
                let key = key_text(key);
                let suggestion = closest(&key, allowed.iter().copied());
                let misplaced = DEFAULTS_ONLY
                    .iter()
                    .find(|(field, _)| *field == key && !allowed.contains(field))
                    .map(|(_, why)| format!(" ({why})"));
                let hint = suggestion
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .or(misplaced)
                    .unwrap_or_default();
                UnknownField {
                    message: format!(
                        "unknown field `{key}`{hint}; allowed: {}",
                        allowed.join(", ")
                    ),
                    key,
                    suggestion,
                }
            })
            .collect();
        self.typos = unknown.iter().filter_map(|u| u.suggestion).collect();
        unknown
    }

    pub(super) fn report_unknown(&mut self, unknown: Vec<UnknownField>) {
        for field in unknown {
            self.key_error(Path::root().key(field.key), field.message);
        }
    }

    /// A value the rule may set, else `defaults` may set, else the environment.
    pub(super) fn inherit<T: Clone>(
        &mut self,
        key: &str,
        own: Field<T>,
        default: &Field<T>,
        fallback: (&str, Option<&str>),
        check: impl FnOnce(&str) -> Result<T, String>,
        required: &str,
    ) -> Option<T> {
        match (own, default) {
            (Field::Valid(value), _) => Some(value),
            (Field::Absent, Field::Valid(value)) => Some(value.clone()),
            (Field::Invalid, _) | (Field::Absent, Field::Invalid) => None,
            (Field::Absent, Field::Absent) => {
                let (variable, value) = fallback;
                // An empty variable (a template parameter left blank) means "not set".
                match value.map(str::trim).filter(|v| !v.is_empty()) {
                    Some(value) => check(value)
                        .map_err(|message| self.error(key, format!("from {variable}: {message}")))
                        .ok(),
                    None => {
                        self.error(key, required);
                        None
                    }
                }
            }
        }
    }
}

/// Every key of `map` is one of `allowed`.
pub(super) fn known_keys(map: &Mapping, allowed: &[&str]) -> bool {
    map.keys()
        .all(|k| k.as_str().is_some_and(|k| allowed.contains(&k)))
}
