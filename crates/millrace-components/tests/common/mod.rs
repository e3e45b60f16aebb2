//! Helpers the component test suites share.

// Each test binary uses some of these.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

// The helpers that need no pipeline live with millrace-tabular's suites, which use them too.
#[path = "../../../millrace-tabular/tests/common/mod.rs"]
mod tabular;

pub use tabular::{example_data, python};

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
