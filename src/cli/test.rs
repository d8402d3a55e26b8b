//! `lightsail-alerts test FILE...`: runs rule unit tests (SPEC §15, `crate::ruletest`)
//! and reports like a test runner: a line per test, what differed for a failure, and a
//! count at the end. Each file stands alone: one that is invalid is reported and the
//! others still run.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use tracing::instrument::WithSubscriber;
use tracing::subscriber::NoSubscriber;

use super::{EXIT_INVALID_INPUT, EXIT_RUN_ERROR, exit_status, output};
use crate::ruletest::{self, TestFile};

/// For `--help`.
pub(super) const TEST_HELP: &str = "\
Each test file names its rules (`rules:`, relative to the test file) and holds tests:
a fleet, series of values in promtool's notation (`50 40 _ 12x2 10+5x3`), and steps
that run the rules at a time and say what the results must include and exactly which
alerts are sent. The steps of a test share one alarm state store in memory, so
transitions, reminders and recovery thresholds are tested. Nothing is fetched or
published, and neither AWS_REGION nor ALERT_TOPIC_ARN is read: rules that name no region
or topic get us-east-1 and a placeholder topic. The format is in the README, \"Testing
rules\".

Exit status: 0 every test passed, 1 a test failed, 2 a test file is invalid (its
errors on stderr, file:line:column).";

#[derive(Debug, clap::Args)]
pub(super) struct TestArgs {
    /// The test files (YAML).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// What the files came to.
#[derive(Debug, Default)]
struct Tally {
    tests: usize,
    failed: usize,
    invalid_files: usize,
}

pub(super) async fn test(args: TestArgs) -> ExitCode {
    let now = Utc::now();
    let mut tally = Tally::default();
    let mut written = Ok(());
    for path in &args.files {
        match ruletest::load(path, now) {
            Ok(file) => {
                let result = run_file(&file, &mut tally).await;
                written = written.and(result);
            }
            Err(errors) => {
                tally.invalid_files += 1;
                let noun = if errors.len() == 1 { "error" } else { "errors" };
                let lines: String = errors.iter().map(|e| format!("\n  {e}")).collect();
                output::stderr(&format!(
                    "error: {} {noun} in the test file {}:{lines}",
                    errors.len(),
                    path.display()
                ));
            }
        }
    }
    let summary = summary(&tally);
    written = written.and(output::stdout(&summary));
    let status = if tally.invalid_files > 0 {
        ExitCode::from(EXIT_INVALID_INPUT)
    } else if tally.failed > 0 {
        ExitCode::from(EXIT_RUN_ERROR)
    } else {
        ExitCode::SUCCESS
    };
    exit_status(status, written)
}

/// Runs the tests of one file, printing a line for each as it ends.
async fn run_file(file: &TestFile, tally: &mut Tally) -> std::io::Result<()> {
    let mut written = Ok(());
    for test in &file.tests {
        // The runs' own logs stay out: they would say "alert published" of alerts that
        // are only kept in memory, once per step.
        let outcomes = ruletest::run_test(&file.rules, test)
            .with_subscriber(NoSubscriber::default())
            .await;
        tally.tests += 1;
        let mut text = String::new();
        if outcomes.iter().all(|o| o.passed()) {
            text.push_str(&format!("ok      {}: {}\n", file.source, test.name));
        } else {
            tally.failed += 1;
            text.push_str(&format!("FAILED  {}: {}\n", file.source, test.name));
            for outcome in outcomes.iter().filter(|o| !o.passed()) {
                text.push_str(&ruletest::render_failure(outcome, &file.source, "        "));
            }
        }
        written = written.and(output::stdout(&text));
    }
    written
}

/// `3 tests, 1 failed`, and the invalid files when there are some.
fn summary(tally: &Tally) -> String {
    let tests = if tally.tests == 1 { "test" } else { "tests" };
    let mut line = format!("\n{} {tests}, {} failed", tally.tests, tally.failed);
    if tally.invalid_files > 0 {
        let files = if tally.invalid_files == 1 {
            "file"
        } else {
            "files"
        };
        line.push_str(&format!("; {} invalid test {files}", tally.invalid_files));
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_tests_failures_and_invalid_files() {
        let tally = |tests, failed, invalid_files| Tally {
            tests,
            failed,
            invalid_files,
        };
        assert_eq!(summary(&tally(5, 0, 0)), "\n5 tests, 0 failed\n");
        assert_eq!(summary(&tally(1, 1, 0)), "\n1 test, 1 failed\n");
        assert_eq!(
            summary(&tally(3, 1, 2)),
            "\n3 tests, 1 failed; 2 invalid test files\n"
        );
    }
}
