//! Helpers the component test suites share.

// Each test binary uses some of these.
#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A file of the repository's example data: `example_data("chicago_taxi/data.csv")`.
pub fn example_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(relative)
}

/// An example data file's path as text, for a component's configuration.
pub fn example_input(relative: &str) -> String {
    example_data(relative).display().to_string()
}

/// The Chicago taxi sample's path, as text for a component's configuration.
pub fn taxi() -> String {
    example_input("chicago_taxi/data.csv")
}

/// The output directories of `node`'s `output` under a runner's root, oldest first.
pub fn output_dirs(root: &Path, pipeline: &str, node: &str, output: &str) -> Vec<PathBuf> {
    let base = root.join(pipeline).join(node).join(output);
    let mut ids: Vec<u64> = std::fs::read_dir(&base)
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| base.join(id.to_string()))
        .collect()
}

/// The newest output directory of `node`'s `output`.
pub fn output_dir(root: &Path, pipeline: &str, node: &str, output: &str) -> PathBuf {
    output_dirs(root, pipeline, node, output).pop().unwrap()
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
