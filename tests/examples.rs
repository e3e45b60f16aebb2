//! Every example runs in the test suite: `cargo test` builds the example binaries, and these
//! tests run them as a user would. (`cargo test --test examples` alone does not rebuild the
//! examples; run `cargo build --examples` first, or the whole `cargo test`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of an example binary built by `cargo test` (beside the test binaries).
fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(name: &str, arguments: &[&str]) -> Output {
    let binary = example(name);
    assert!(
        binary.exists(),
        "{} is not built: run `cargo test` (which builds the examples) or `cargo build --examples`",
        binary.display()
    );
    let output = Command::new(&binary)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
    assert!(
        output.status.success(),
        "{name} {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn hello_compiles_to_an_ir_with_its_three_nodes() {
    let ir = stdout(&run("hello", &["compile", "--target", "ir"]));
    let spec: serde_json::Value = serde_json::from_str(&ir).unwrap();
    let ids: Vec<&str> = spec["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["greet", "count_words", "shout"]);
    assert_eq!(spec["nodes"][1]["task"]["kind"], "hello.CountWords");
}

#[test]
fn hello_draws_mermaid() {
    let drawing = stdout(&run("hello", &["graph", "--format", "mermaid"]));
    assert!(drawing.starts_with("flowchart TD"));
    assert!(drawing.contains("n0 -- \"greeting → text: Dataset\" --> n1"));
}

#[test]
fn hello_registers_its_components_for_other_processes() {
    let listing = stdout(&run("hello", &["registry", "--json"]));
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(
        listing["component_kinds"],
        serde_json::json!(["hello.CountWords", "hello.greet", "hello.shout"])
    );
}

#[test]
fn the_fingerprint_is_the_same_in_two_runs_of_the_binary() {
    let first = stdout(&run("hello", &["validate"]));
    let second = stdout(&run("hello", &["validate"]));
    assert_eq!(first, second);
    assert!(first.contains("fingerprint"));
}

#[test]
fn custom_component_compiles_and_draws() {
    let ir = stdout(&run("custom_component", &["compile"]));
    let spec: serde_json::Value = serde_json::from_str(&ir).unwrap();
    assert_eq!(spec["nodes"].as_array().unwrap().len(), 5);
    let dot = stdout(&run("custom_component", &["graph", "--format", "dot"]));
    assert!(
        dot.contains("style=dashed"),
        "the resolver's query edge is dashed"
    );
    let listing = stdout(&run("custom_component", &["registry", "--json"]));
    assert!(
        listing.contains("WordCounts"),
        "the custom artifact type is registered"
    );
}
