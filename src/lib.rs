//! lightsail-alerts: threshold rules over Lightsail instance metrics, evaluated with
//! CloudWatch alarm semantics and published to SNS. Data flows one way:
//! rules -> queries -> datapoints -> results -> decisions -> alerts -> report.
//!
//! # Layout
//!
//! - [`cli`] and [`lambda`]: the edges. Arguments, events and output; each builds the
//!   adapters once and hands them to [`run`].
//! - [`settings`]: the environment, read and checked once at the edge.
//! - [`heartbeat`]: the function's request to `ALERT_HEARTBEAT_URL` after each completed
//!   run (SPEC §16), the one HTTP call that is not to AWS.
//! - [`panics`]: the hook that logs a panic (a bug) like any other error.
//! - [`rules`]: the rules document parser and validator, split by concern, and its JSON
//!   Schema.
//! - [`run`]: one run as stages (list, plan, fetch, evaluate, decide, deliver) and its
//!   report.
//! - [`domain`]: the pure core (no async, no SDK, no I/O): the metric catalog,
//!   selection, query planning, evaluation, transitions (and the notices silences and
//!   inhibitions hold), silences, alert rendering.
//! - [`ports`]: the small traits the run talks through: `MetricSource`,
//!   `ResourceSource`, `AlertSink`, `StateStore`.
//! - [`aws`]: one adapter per AWS service (Lightsail, SNS, DynamoDB, S3) and the shared
//!   SDK config; [`offline`]: the recording (replayed, and written by `record`) and the
//!   state store in memory and in a local file.
//! - [`ruletest`]: rule unit tests (`lightsail-alerts test`): test files, each step a
//!   real run over series in promtool's notation, against an in-memory state store.
//! - [`fuzzing`]: the readers of untrusted input from bytes, for the fuzz targets
//!   (`fuzz/`) and the replay of their corpus.

pub mod aws;
pub mod cli;
pub mod domain;
pub mod fuzzing;
pub mod heartbeat;
pub mod lambda;
pub mod offline;
pub mod panics;
pub mod ports;
pub mod rules;
pub mod ruletest;
pub mod run;
pub mod settings;
