//! Golden files: output compared with a file checked into `tests/it/testdata/`, so a
//! reviewer reads exactly what a user will see. `UPDATE_GOLDEN=1 cargo test --test it`
//! rewrites the files from the current output instead of comparing (review the diff).

use std::path::{Path, PathBuf};

/// The directory of the golden files and fixtures.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/testdata")
}

/// Fails, showing the first differing line of each, unless `actual` is the content of
/// `testdata/<name>`; with `UPDATE_GOLDEN=1` writes `actual` there instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = testdata().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the golden file's directory");
        }
        std::fs::write(&path, actual).expect("the golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; UPDATE_GOLDEN=1 creates it from this output:\n{actual}",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(e, a)| e != a)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    panic!(
        "{} differs from the output, first at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
         --- whole output ---\n{actual}--- end (UPDATE_GOLDEN=1 accepts it) ---",
        path.display(),
        line + 1,
        expected.lines().nth(line).unwrap_or("<end of file>"),
        actual.lines().nth(line).unwrap_or("<end of output>"),
    );
}
