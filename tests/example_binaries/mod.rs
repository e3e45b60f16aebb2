//! Running the example binaries that `cargo test` builds, as a user would.

#![allow(dead_code, clippy::unwrap_used)] // Each suite uses some of these; tests fail loudly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of an example binary built by `cargo test` (beside the test binaries).
pub fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is not built: run `cargo test` (which builds the examples) or `cargo build --examples`",
        binary.display()
    );
    binary
}

/// Node → state from a run's JSON (`run --json`, `runs show --json`).
pub fn node_states(summary: &serde_json::Value) -> BTreeMap<String, String> {
    summary["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["node"].as_str().unwrap().to_owned(),
                node["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A command running example `name` in `dir`, with its store and artifact root there.
pub fn example_in(dir: &Path, name: &str) -> Command {
    let mut command = Command::new(example(name));
    command
        .env(
            "MILLRACE_STORE",
            format!("sqlite://{}", dir.join("metadata.sqlite").display()),
        )
        .env("MILLRACE_ROOT", dir.join("artifacts"))
        .current_dir(dir);
    command
}

/// Runs example `name` in `dir` (see [`example_in`]): its exit code, standard output and error.
pub fn text_of(dir: &Path, name: &str, arguments: &[&str]) -> (Option<i32>, String, String) {
    let output = example_in(dir, name).args(arguments).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
