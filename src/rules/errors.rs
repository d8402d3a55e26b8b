//! What is wrong with a document: one `ValidationError` per mistake, all of them in
//! `ValidationErrors`, and how they read.

use std::fmt;

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Where the document came from: a file path, `ALERT_RULES`, `event.rules`.
    pub source: String,
    /// `rules[2] (burst-capacity-low)`, or `None` for document-level fields.
    pub rule: Option<String>,
    /// The field's path inside the rule or document: `comparison`, `defaults.region`;
    /// empty when the error is about the document or the rule as a whole.
    pub field: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

/// Every error of a document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationError {
    /// An error about the document as a whole (not YAML, not a mapping).
    pub(super) fn whole(source: &str, message: String) -> Self {
        ValidationError {
            source: source.to_owned(),
            rule: None,
            field: String::new(),
            message,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.source)?;
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
        assert!(
            errors
                .to_string()
                .starts_with("1 error in the rules:\n  rules.yaml: rules[0] (cpu-high): period: ")
        );
    }
}
