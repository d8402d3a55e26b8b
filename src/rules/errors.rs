//! What is wrong with a document: one `ValidationError` per mistake, all of them in
//! `ValidationErrors`, and how they read: `rules.yaml:12:14: rules[2] (cpu-high):
//! period: ...`, the place first as compilers write it, so editors and terminals can
//! jump to it.

use std::fmt;

use super::positions::{Path, Position, Positions, Target};

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Where the document came from: a file path, `ALERT_RULES`, `event.rules`.
    pub source: String,
    /// Where in the document's text the mistake is: the offending value, the key of an
    /// unknown field, or the mapping a missing field belongs in. `None` when there is no
    /// text (rules given as a JSON object in the Lambda event, `rules::from_value`) or
    /// no place (the bytes are not UTF-8; aliases expand too far).
    pub at: Option<Position>,
    /// `rules[2] (burst-capacity-low)`, or `None` for document-level fields.
    pub rule: Option<String>,
    /// The field's path inside the rule or document: `comparison`, `defaults.region`;
    /// empty when the error is about the document or the rule as a whole.
    pub field: String,
    /// What was wrong and what is allowed.
    pub message: String,
    /// What the error is about, from the document's root, for finding `at` in the text.
    pub(super) place: Option<(Path, Target)>,
}

/// Every error of a document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationError {
    /// An error about the document as a whole (not YAML, not a mapping).
    pub(super) fn whole(source: &str, message: String) -> Self {
        ValidationError {
            source: source.to_owned(),
            at: None,
            rule: None,
            field: String::new(),
            message,
            place: None,
        }
    }
}

impl ValidationErrors {
    /// The errors with their places in `text`, the document they were found in. Only
    /// a document with errors is walked for positions.
    pub(super) fn placed_in(mut self, text: &str) -> Self {
        let places = self.0.iter().filter_map(|e| e.place.as_ref());
        let positions = Positions::find(text, places.map(|(path, _)| path));
        for error in &mut self.0 {
            if let Some((path, target)) = &error.place {
                error.at = positions.locate(path, *target);
            }
        }
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(Position { line, column }) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(rule) = &self.rule {
            write!(f, "{rule}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let noun = if count == 1 { "error" } else { "errors" };
        write!(f, "{count} {noun} in the rules:")?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::parse;
    use crate::rules::test_support::{SOURCE, none, one_rule};

    #[test]
    fn one_error_reads_in_the_singular() {
        let errors = parse(&one_rule(&[("period", Some("61"))]), SOURCE, &none()).unwrap_err();
        assert!(errors.to_string().starts_with(
            "1 error in the rules:\n  rules.yaml:12:13: rules[0] (cpu-high): period: "
        ));
    }
}
