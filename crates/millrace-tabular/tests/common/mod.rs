//! Helpers the test suites share; millrace-components' suites use them too.

// Each test binary uses some of these.
#![allow(dead_code, clippy::print_stderr, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A file of the repository's example data: `example_data("chicago_taxi/data.csv")`.
pub fn example_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(relative)
}

/// The venv interpreter `cargo xtask test` sets up, or `None` with the reason printed.
pub fn python(suite: &str) -> Option<PathBuf> {
    match std::env::var_os("MILLRACE_TEST_PYTHON") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            // Straight to the terminal, past the test harness's capture: a plain `cargo test`
            // shows which suites skipped.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED ({suite}): MILLRACE_TEST_PYTHON is not set; `cargo xtask test` installs \
                 the Python references into a venv and sets it"
            );
            None
        }
    }
}

/// The files of a fuzz target's corpus, `tests/corpus/<target>/`, in name order.
pub fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("the corpus {}: {error}", dir.display()))
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("the corpus {}: {error}", dir.display()));
    files.sort();
    files
}
