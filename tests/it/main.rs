//! The black-box suites, one module per subject, in one test binary: each integration
//! test file used to be its own crate linking the whole AWS SDK, and the links were most
//! of the test command's time.
//!
//! `support` holds the fakes (Lightsail, the Lambda Runtime API, moto) and the binary
//! under test in a hermetic environment. Run one suite with `cargo test --test it cli::`.

mod support;

mod catalog;
mod cli;
mod credentials;
mod deadline;
mod digest;
mod errors;
mod fakes;
mod faults;
mod fleet;
mod fuzz_corpus;
mod golden_output;
mod inputs;
mod lambda;
mod noise;
mod panic_hook;
mod record;
mod report;
mod resources;
mod rule_tests;
mod rules_tools;
mod s3_rules;
mod sequence;
mod state_store;
mod template;
mod watch;
