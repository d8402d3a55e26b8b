//! `schema`: the JSON Schema of the rules document on stdout, for editors
//! (`# yaml-language-server: $schema=...`) and other tools; the repository keeps it as
//! `schemas/rules-v1.schema.json`.

use std::process::ExitCode;

use super::{EXIT_RUN_ERROR, exit_status, output};
use crate::rules;

pub(super) fn print() -> ExitCode {
    let text = rules::json_schema().and_then(|schema| {
        serde_json::to_string_pretty(&schema)
            .map(|json| json + "\n")
            .map_err(|e| e.to_string())
    });
    match text {
        Ok(text) => exit_status(ExitCode::SUCCESS, output::stdout(&text)),
        Err(err) => {
            output::stderr(&format!("error: cannot make the schema: {err}"));
            ExitCode::from(EXIT_RUN_ERROR)
        }
    }
}
