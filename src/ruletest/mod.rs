//! Rule unit tests (SPEC §15, `lightsail-alerts test`), in the spirit of `promtool test
//! rules`: a test file names a rules document and holds tests, each a fleet, series of
//! values in promtool's notation, and steps that say what the results and the alerts
//! must be at given times.
//!
//! Nothing here evaluates: each step is a real [`run::run`](crate::run::run) at its
//! time, over a [`Recording`] made from the series, with one [`MemoryStore`] per test (so
//! transitions, reminders and hysteresis carry from step to step) and a
//! [`CaptureSink`] that keeps what was really published.
//!
//! - `file`: the format as written (serde), `notation`: the series notation;
//! - `load`: a test file read and checked against its rules, errors placed;
//! - `runner`: the steps run; `expect`: what was expected against what happened;
//! - `render`: expectations, results and alerts written back in the file's notation.

mod expect;
mod file;
mod load;
pub mod notation;
mod render;
mod runner;

use chrono::{DateTime, Utc};

pub use expect::{Actual, Difference, Entry, Expected, Note};
pub use load::{Invalid, load};
pub use render::render_failure;
pub use runner::{StepOutcome, run_test};

use crate::offline::Recording;
use crate::rules::{Position, RuleSet};

/// A test file, read and checked: the rules it tests and its tests.
#[derive(Debug)]
pub struct TestFile {
    /// The file as named on the command line.
    pub source: String,
    pub rules: RuleSet,
    pub tests: Vec<Test>,
}

/// One test: the fleet and series as a recording, and the steps to run over it.
#[derive(Debug)]
pub struct Test {
    pub name: String,
    pub recording: Recording,
    pub steps: Vec<Step>,
}

/// One `expect` step: a run at `at`, and what it must show.
#[derive(Debug)]
pub struct Step {
    pub at: DateTime<Utc>,
    /// Where the step's `at` is in the test file, for the report of a failure.
    pub place: Option<Position>,
    /// Results that must be among the run's; `None`: not checked.
    pub results: Option<Vec<Expected>>,
    /// Exactly the notifications the run must send; `None`: not checked.
    pub alerts: Option<Vec<Expected>>,
}
