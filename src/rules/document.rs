//! From the document's text to its YAML value (JSON is YAML), with merge keys applied
//! and what aliases may add bounded.
//!
//! An alias (`*name`) repeats what its anchor holds, and aliases of aliases multiply: a
//! few hundred bytes can stand for billions of values ("billion laughs"). The YAML
//! crate stops at 100 repetitions per event of the document, which still lets a 4 KB
//! document grow to millions of values and a 1 MB one to more than memory holds. So
//! the document is first walked without building anything, counting values up to a
//! budget that no document without aliases can reach, and refused past it.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, EnumAccess, IgnoredAny, MapAccess, SeqAccess, VariantAccess,
};
use serde_yaml_ng::Value;

use super::positions::Position;

/// Values aliases may add to a document. A document's own values number fewer than its
/// bytes (each takes at least one, counting its separator), so `2 * bytes + this` only
/// bounds what aliases repeat. Sharing fields or an instance list between rules
/// (`<<: *common`, `instances: *web`) stays far below: each alias comes with a rule's
/// worth of text, which adds to the budget too.
const ALIAS_ALLOWANCE: usize = 10_000;

/// Why a text is not a document: the message of a `ValidationError`, and where the
/// parser stopped, if it says.
#[derive(Debug)]
pub(crate) struct LoadError {
    pub(crate) message: String,
    pub(crate) at: Option<Position>,
}

/// The document's value, or why it is not one.
pub(crate) fn load(text: &str) -> Result<Value, LoadError> {
    let budget = text.len().saturating_mul(2).saturating_add(ALIAS_ALLOWANCE);
    if exceeds(text, budget) {
        return Err(LoadError {
            message: format!(
                "the document's aliases (`*name`) expand it to more than {budget} values; \
                 allowed: at most {budget} (twice its size in bytes, plus {ALIAS_ALLOWANCE}): \
                 write the repeated parts out, or nest fewer aliases"
            ),
            at: None,
        });
    }
    // Merge keys (`<<: *common`) let a document share fields between rules; applying
    // them here means the validator sees each rule as the operator meant it.
    serde_yaml_ng::from_str::<Value>(text)
        .and_then(|mut value| value.apply_merge().map(|()| value))
        .map_err(|err| {
            let at = err.location().map(|at| Position {
                line: at.line(),
                column: at.column(),
            });
            let line = at.and_then(|at| text.lines().nth(at.line.saturating_sub(1)));
            // The place leads the error line (`rules.yaml:4:1: ...`), so the message
            // need not say it again.
            let mut message = err.to_string();
            if let Some(Position { line, column }) = at {
                message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
            }
            let message = match hint(&message, line) {
                Some(hint) => format!("not a valid YAML or JSON document: {message}; {hint}"),
                None => format!("not a valid YAML or JSON document: {message}"),
            };
            LoadError { message, at }
        })
}

/// What usually causes a YAML syntax error, for the scanner messages people meet most
/// while writing rules; `line` is the text of the line the error is on.
fn hint(message: &str, line: Option<&str>) -> Option<&'static str> {
    if message.contains("scanning an alias") {
        return Some(
            "an unquoted `*` starts a YAML alias (`*name`): quote globs, e.g. \
             instances: [\"web-*\"] or instances: \"*\"",
        );
    }
    if message.contains("cannot start any token") && line.is_some_and(|l| l.contains('\t')) {
        return Some("YAML does not allow tabs for indentation: indent with spaces");
    }
    if message.contains("mapping values are not allowed") {
        return Some(
            "a value that contains `: ` must be quoted (description: \"note: ...\"), and a \
             field needs its own line or a flow mapping {name: ..., metric: ...}",
        );
    }
    if message.contains("did not find expected key")
        || message.contains("did not find expected '-'")
    {
        return Some(
            "check the indentation: every field of a rule lines up under its `name`, and each \
             rule starts with `- `",
        );
    }
    None
}

/// Whether the document, aliases expanded, holds more than `budget` values. Any other
/// error is left to the parse that builds the value, which reports it.
fn exceeds(text: &str, budget: usize) -> bool {
    let count = Count {
        left: &Cell::new(budget),
        exceeded: &Cell::new(false),
    };
    let _ = count.deserialize(serde_yaml_ng::Deserializer::from_str(text));
    count.exceeded.get()
}

/// Walks a document as serde's `IgnoredAny` does, counting each value.
#[derive(Clone, Copy)]
struct Count<'a> {
    left: &'a Cell<usize>,
    exceeded: &'a Cell<bool>,
}

impl Count<'_> {
    fn take<E: de::Error>(self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("too many values"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.take()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.take()
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.take()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.take()
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.take()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.take()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.take()
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.take()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.take()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.take()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.take()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.take()?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    /// A tagged value (`!custom value`).
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        self.take()?;
        let (IgnoredAny, variant) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    /// Ten levels of ten aliases each: 10^10 values from 400 bytes.
    fn laughs(levels: usize) -> String {
        let mut doc = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..levels {
            let prev = format!("*a{}", level - 1);
            let list = [prev.as_str(); 10].join(", ");
            doc.push_str(&format!("a{level}: &a{level} [{list}]\n"));
        }
        doc
    }

    /// One anchor of 1,000 values and 1,000 aliases of it: a million values from 10 KB,
    /// well within the YAML crate's own limit (100 repetitions per event).
    fn wide(values: usize) -> String {
        let anchor = vec!["lol"; values].join(", ");
        let aliases = vec!["*a"; values].join(", ");
        format!("a: &a [{anchor}]\nb: [{aliases}]\n")
    }

    #[test]
    fn aliases_that_repeat_a_large_anchor_are_refused_before_they_are_expanded() {
        // Expanded, these are a million and 10^10 values: the refusal comes first.
        for doc in [wide(1_000), laughs(10)] {
            let err = load(&doc).unwrap_err().message;
            assert!(
                err.starts_with("the document's aliases (`*name`) expand it to more than "),
                "{err}"
            );
            assert!(err.contains("write the repeated parts out"), "{err}");
        }
    }

    #[test]
    fn aliases_within_the_allowance_and_merge_keys_load() {
        // 1,111 values: well within what aliases may add.
        let value = load(&laughs(3)).unwrap();
        let Value::Sequence(top) = &value["a2"] else {
            panic!("{value:?}")
        };
        assert_eq!(top.len(), 10);
        assert_eq!(value["a2"][9][9][9], Value::from("lol"));
        let merged = load("base: &b {x: 1}\nuse: {<<: *b, y: 2}\n").unwrap();
        assert_eq!(merged["use"]["x"], Value::from(1));
    }

    #[test]
    fn tagged_values_are_counted_and_loaded() {
        let value = load("a: !custom [1, 2]\nb: !other x\n").unwrap();
        assert!(matches!(value["a"], Value::Tagged(_)), "{value:?}");
        // The mapping, its key, the tag, the list and its two numbers.
        assert!(exceeds("a: !custom [1, 2]", 5));
        assert!(!exceeds("a: !custom [1, 2]", 6));
    }

    #[test]
    fn a_large_document_without_aliases_is_within_its_budget() {
        // The densest values a document can spell: one byte and a comma each.
        let doc = format!("[{}]", vec!["1"; 200_000].join(","));
        assert!(!exceeds(&doc, doc.len() * 2));
        assert!(load(&doc).is_ok());
    }
}
