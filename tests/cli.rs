//! The pipeline binary's command line: what it prints, writes and exits with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::process::ExitCode;

use millrace::prelude::*;

struct Outcome {
    code: ExitCode,
    stdout: String,
    stderr: String,
}

fn run(arguments: &[&str], pipeline: fn() -> Result<Pipeline, BuildError>) -> Outcome {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut all = vec!["pipeline"];
    all.extend_from_slice(arguments);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let code = runtime.block_on(millrace::cli::run(all, pipeline, &mut stdout, &mut stderr));
    Outcome {
        code,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn full() -> Result<Pipeline, BuildError> {
    common::full_pipeline(0.1)
}

fn invalid() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("broken");
    let ingest = p.add("ingest", common::ExampleGen::new("x"));
    p.add("ingest", common::StatisticsGen::new(ingest.examples));
    p.add("bad id!", common::Notify::new("x").cpu("a lot"));
    p.build()
}

#[test]
fn compile_prints_the_ir_which_reads_back_to_the_same_pipeline() {
    let outcome = run(&["compile", "--target", "ir"], full);
    assert_eq!(outcome.code, ExitCode::SUCCESS, "{}", outcome.stderr);
    let pipeline = Pipeline::from_json(&outcome.stdout).unwrap();
    assert_eq!(pipeline.fingerprint(), full().unwrap().fingerprint());
}

#[test]
fn compile_writes_into_a_directory_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let outcome = run(&["compile", "--out", out], full);
    assert_eq!(outcome.code, ExitCode::SUCCESS, "{}", outcome.stderr);
    let written = std::fs::read_to_string(dir.path().join("chicago-taxi.json")).unwrap();
    assert_eq!(written.trim_end(), full().unwrap().to_json());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no staging file is left behind");
    assert!(outcome.stderr.contains("fingerprint"), "{}", outcome.stderr);
}

#[test]
fn graph_draws_dot_and_mermaid_with_every_node_and_edge() {
    let dot = run(&["graph", "--format", "dot"], full);
    assert_eq!(dot.code, ExitCode::SUCCESS);
    assert!(dot.stdout.starts_with("digraph \"chicago-taxi\" {"));
    let spec = full().unwrap().into_spec();
    for node in &spec.nodes {
        assert!(
            dot.stdout.contains(&format!("{}\\n", node.id)),
            "{} missing",
            node.id
        );
    }
    let edges = spec
        .nodes
        .iter()
        .map(|node| node.inputs.len())
        .sum::<usize>();
    let conditions = 1;
    assert_eq!(dot.stdout.matches(" -> ").count(), edges + conditions);

    let mermaid = run(&["graph"], full);
    assert_eq!(mermaid.code, ExitCode::SUCCESS);
    assert!(mermaid.stdout.starts_with("flowchart TD\n"));
    assert_eq!(
        mermaid.stdout.matches("-->").count() + mermaid.stdout.matches(".->").count(),
        edges + conditions
    );
}

#[test]
fn an_invalid_pipeline_exits_2_and_lists_every_problem() {
    let outcome = run(&["compile"], invalid);
    assert_eq!(outcome.code, ExitCode::from(2));
    assert!(outcome.stdout.is_empty());
    assert!(
        outcome
            .stderr
            .contains("pipeline `broken` is invalid (3 problems)"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("node `ingest`: node id `ingest` is used by more than one node")
    );
    assert!(
        outcome
            .stderr
            .contains("node `bad id!`: node id `bad id!` is invalid")
    );
    assert!(outcome.stderr.contains("cpu request `a lot`"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let unknown = run(&["frobnicate"], full);
    assert_eq!(unknown.code, ExitCode::from(2));
    assert!(unknown.stderr.contains("frobnicate"));
    let bad_target = run(&["compile", "--target", "mainframe"], full);
    assert_eq!(bad_target.code, ExitCode::from(2));
    let help = run(&["--help"], full);
    assert_eq!(help.code, ExitCode::SUCCESS);
    assert!(help.stdout.contains("compile"));
}

#[test]
fn validate_and_registry_report_what_the_binary_knows() {
    let validate = run(&["validate"], full);
    assert_eq!(validate.code, ExitCode::SUCCESS);
    assert!(
        validate
            .stdout
            .contains(&full().unwrap().fingerprint().to_hex())
    );
    let registry = run(&["registry", "--json"], full);
    assert_eq!(registry.code, ExitCode::SUCCESS);
    let listing: serde_json::Value = serde_json::from_str(&registry.stdout).unwrap();
    assert!(
        listing["component_kinds"]
            .as_array()
            .unwrap()
            .contains(&"test.Trainer".into())
    );
    assert!(
        listing["artifact_types"]
            .as_array()
            .unwrap()
            .contains(&"Examples".into())
    );
}
