//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`: seeds, inputs the fuzzer
//! kept, and the crashes it found once) through the very functions the fuzz targets
//! call, so `cargo test` holds every reader of untrusted input to SPEC §13: no input
//! panics. How long the slowest input takes is printed (`-- --nocapture`), not asserted:
//! speed is measured in benchmarks (BENCHMARKS.md), and `cargo fuzz` flags slow inputs.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lightsail_alerts::fuzzing;

/// Every file of `fuzz/corpus/<target>`, each through `read`: the files that panicked,
/// asserted none; the slowest is printed.
fn replay(target: &str, read: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: the corpus is missing", dir.display());

    let mut panicked = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let started = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| read(&bytes)));
        let took = started.elapsed();
        if outcome.is_err() {
            panicked.push(name.clone());
        }
        if took > slowest.0 {
            slowest = (took, name);
        }
    }
    println!(
        "{target}: {} inputs, the slowest {} in {:?}",
        files.len(),
        slowest.1,
        slowest.0
    );
    assert!(panicked.is_empty(), "{target}: panicked on {panicked:?}");
}

#[test]
fn no_rules_document_of_the_corpus_panics() {
    replay("rules", fuzzing::rules);
}

#[test]
fn no_event_of_the_corpus_panics() {
    replay("event", fuzzing::event);
}

#[test]
fn no_recording_of_the_corpus_panics() {
    replay("recording", fuzzing::recording);
}
