//! Golden fixtures of validation errors (issue 11): filled in by the positions work.
