//! Golden error messages (SPEC §14), in the spirit of alertmanager's config/testdata:
//! one small rules document per mistake in `testdata/errors/` (`NAME.yaml` or
//! `NAME.json`) and beside it `NAME.stderr`, exactly what `lightsail-alerts validate
//! --rules` prints for it, run from the repository root so each line starts with the
//! path a user types. Read a `.stderr` to review what a user sees; `UPDATE_GOLDEN=1`
//! rewrites them from the binary's output.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::command;
use crate::support::golden::{assert_golden, testdata};

const DIR: &str = "tests/it/testdata/errors";

#[test]
fn every_mistake_prints_its_golden_stderr_and_exits_2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (documents, _) = fixtures();
    let mut problems = Vec::new();
    for name in &documents {
        let file = document_of(name);
        let out = command()
            .current_dir(root)
            .args(["validate", "--rules", &format!("{DIR}/{file}")])
            .output()
            .expect("the binary runs");
        if out.status.code() != Some(2) {
            problems.push(format!("{file}: exit {:?}, not 2", out.status.code()));
        }
        if !out.stdout.is_empty() {
            problems.push(format!(
                "{file}: stdout is not empty:\n{}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // Every mismatch is collected before the test fails, not only the first.
        let golden = format!("errors/{name}.stderr");
        if let Err(panic) = std::panic::catch_unwind(|| assert_golden(&golden, &stderr)) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "differs".to_owned());
            problems.push(format!("{file}: {why}"));
        }
    }
    // Listed again after the run, which `UPDATE_GOLDEN=1` lets write the missing ones.
    let (documents, goldens) = fixtures();
    for missing in documents.difference(&goldens) {
        problems.push(format!(
            "{missing}: no {missing}.stderr beside the document"
        ));
    }
    for orphan in goldens.difference(&documents) {
        problems.push(format!(
            "{orphan}.stderr: no {orphan}.yaml or {orphan}.json for it"
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in {} fixtures:\n\n{}",
        problems.len(),
        documents.len(),
        problems.join("\n\n")
    );
}

/// The names of the documents and of the golden files in the directory, without their
/// extensions; anything else there is a mistake.
fn fixtures() -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut documents, mut goldens) = (BTreeSet::new(), BTreeSet::new());
    let entries = std::fs::read_dir(testdata().join("errors")).expect("testdata/errors");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a name");
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "json") => assert!(
                documents.insert(stem.to_owned()),
                "{stem}: both a .yaml and a .json"
            ),
            Some("stderr") => {
                goldens.insert(stem.to_owned());
            }
            _ => panic!("{}: neither a document nor a .stderr", path.display()),
        }
    }
    assert!(!documents.is_empty(), "no fixtures in {DIR}");
    (documents, goldens)
}

/// `NAME.yaml` or `NAME.json`, whichever exists.
fn document_of(name: &str) -> String {
    let yaml = format!("{name}.yaml");
    if testdata().join("errors").join(&yaml).exists() {
        yaml
    } else {
        format!("{name}.json")
    }
}
