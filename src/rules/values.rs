//! Reading YAML values: look a key up, expect a mapping, a string or a number, parse a
//! catalog name, and describe a value in an error message.

use std::str::FromStr;

use serde_yaml_ng::{Mapping, Value};

use crate::domain::catalog::UnknownName;

use super::suggest::with_suggestion;

/// Null counts as absent, as `key:` with nothing after it reads that way in YAML.
pub(super) fn lookup<'m, T>(
    map: &'m Mapping,
    key: &str,
    check: impl FnOnce(&'m Value) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => check(value).map(Some),
    }
}

pub(super) fn mapping<'v>(value: &'v Value, what: &str) -> Result<&'v Mapping, String> {
    match value {
        Value::Mapping(map) => Ok(map),
        other => Err(format!("expected {what}, got {}", describe(other))),
    }
}

pub(super) fn string(value: &Value) -> Result<&str, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!("expected a string, got {}", describe(other))),
    }
}

/// Integers, and floats without a fraction (`300.0` from a JSON producer).
pub(super) fn whole_number(value: &Value, what: &str) -> Result<i128, String> {
    let Value::Number(n) = value else {
        return Err(format!("expected {what}, got {}", describe(value)));
    };
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e18)
                .map(|f| f as i128)
        })
        .ok_or_else(|| format!("expected {what}, got the number {n}"))
}

pub(super) fn finite_number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("`{n}` is not allowed; expected a finite number")),
        other => Err(format!("expected a number, got {}", describe(other))),
    }
}

pub(super) fn parse_name<T: FromStr<Err = UnknownName>>(value: &Value) -> Result<T, String> {
    let name = string(value)?;
    name.parse()
        .map_err(|e: UnknownName| with_suggestion(e.to_string(), name, e.allowed.split(", ")))
}

/// How a value reads in an error message.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(tagged) => format!("a value tagged {}", tagged.tag),
    }
}

pub(super) fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => describe(other),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::parse;
    use crate::rules::test_support::{SOURCE, none, one_rule};

    #[test]
    fn whole_floats_are_whole_numbers() {
        let rules = parse(&one_rule(&[("period", Some("600.0"))]), SOURCE, &none()).unwrap();
        assert_eq!(rules.rules[0].period, 600);
    }
}
