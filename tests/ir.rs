//! The IR: lossless round trips and a fingerprint that is stable and sensitive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use millrace::prelude::*;
use millrace::spec::TaskSpec;

#[test]
fn the_full_pipeline_builds_and_round_trips_losslessly() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let json = pipeline.to_json();

    let read_back = PipelineSpec::from_json(&json).unwrap();
    assert_eq!(&read_back, pipeline.spec());
    let rebuilt = Pipeline::from_spec(read_back).unwrap();
    assert_eq!(rebuilt.fingerprint(), pipeline.fingerprint());
    assert_eq!(rebuilt.to_json(), json);

    // Every feature made it into the IR.
    let spec = pipeline.spec();
    assert_eq!(spec.parameters.len(), 4);
    assert_eq!(spec.exit_handler.as_deref(), Some("notify"));
    assert_eq!(spec.schedule.as_ref().unwrap().cron, "0 3 * * *");
    let trainer = spec.node("trainer").unwrap();
    assert_eq!(trainer.options.retry.max_retries, 2);
    assert_eq!(trainer.options.timeout_ms, Some(600_000));
    assert_eq!(trainer.options.resources.memory.as_deref(), Some("4Gi"));
    assert!(!trainer.inputs.contains_key("hyperparameters"));
    let TaskSpec::Component { config, .. } = &trainer.task else {
        panic!("the trainer is a component");
    };
    assert_eq!(config["learning_rate"]["$param"], "learning_rate");
    assert!(spec.node("pusher").unwrap().options.when.is_some());
    assert!(matches!(
        spec.node("latest_blessed").unwrap().task,
        TaskSpec::Resolver { .. }
    ));
}

#[test]
fn nodes_come_out_upstream_first() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let order: Vec<&str> = pipeline
        .nodes_in_order()
        .map(|node| node.id.as_str())
        .collect();
    let position = |id: &str| order.iter().position(|other| *other == id).unwrap();
    assert_eq!(order.len(), pipeline.spec().nodes.len());
    assert!(position("example_gen") < position("statistics_gen"));
    assert!(position("schema_gen") < position("trainer"));
    assert!(position("evaluator") < position("pusher"));
}

#[test]
fn the_fingerprint_changes_with_parameters_edges_and_configuration() {
    let base = common::full_pipeline(0.1).unwrap();
    assert_eq!(
        common::full_pipeline(0.1).unwrap().fingerprint(),
        base.fingerprint(),
        "building the same pipeline twice gives the same fingerprint"
    );

    let other_default = common::full_pipeline(0.2).unwrap();
    assert_ne!(other_default.fingerprint(), base.fingerprint());

    let mut other_edge = base.spec().clone();
    let evaluator = other_edge
        .nodes
        .iter_mut()
        .find(|node| node.id == "evaluator")
        .unwrap();
    evaluator.inputs.remove("baseline");
    let other_edge = Pipeline::from_spec(other_edge).unwrap();
    assert_ne!(other_edge.fingerprint(), base.fingerprint());

    let mut other_config = base.spec().clone();
    let ingest = other_config
        .nodes
        .iter_mut()
        .find(|node| node.id == "example_gen")
        .unwrap();
    if let TaskSpec::Component { config, .. } = &mut ingest.task {
        config["pattern"] = "data/taxi/2026-*.csv".into();
    }
    let other_config = Pipeline::from_spec(other_config).unwrap();
    assert_ne!(other_config.fingerprint(), base.fingerprint());
}

const CHILD_ENV: &str = "MILLRACE_TEST_PRINT_FINGERPRINT";

/// In a child process (see below) prints the fingerprint; in the parent does nothing.
#[test]
fn print_fingerprint_in_child_process() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let pipeline = common::full_pipeline(0.1).unwrap();
        println!("fingerprint={}", pipeline.fingerprint());
    }
}

#[test]
fn the_fingerprint_is_identical_in_another_process() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "print_fingerprint_in_child_process",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let child = stdout
        .lines()
        .find_map(|line| line.strip_prefix("fingerprint="))
        .expect("the child printed its fingerprint");
    let here = common::full_pipeline(0.1).unwrap().fingerprint().to_hex();
    assert_eq!(child, here);
}

/// The fingerprint of a fixed spec, written down. Deployed DAGs embed fingerprints and
/// `run-node` compares them, so a change here means every deployed pipeline would refuse to
/// run after an upgrade: change the canonical form only on purpose, with a schema version bump.
#[test]
fn the_fingerprint_of_a_fixed_spec_is_stable_across_machines_and_releases() {
    // Keys deliberately out of order: the canonical form does not depend on the input's order.
    let json = r#"{
        "nodes": [{
            "outputs": {"result": {"artifact_type": "Schema"}},
            "task": {"source_uri": "s3://bucket/schema.json", "type": "importer"},
            "id": "importer"
        }],
        "name": "fixed",
        "parameters": [{"default": 0.1, "type": "double", "name": "rate"}],
        "schema_version": "millrace.pipeline/v1"
    }"#;
    let spec = PipelineSpec::from_json(json).unwrap();
    assert_eq!(
        spec.canonical_json(),
        r#"{"schema_version":"millrace.pipeline/v1","name":"fixed","parameters":[{"name":"rate","type":"double","default":0.1}],"nodes":[{"id":"importer","task":{"type":"importer","source_uri":"s3://bucket/schema.json"},"outputs":{"result":{"artifact_type":"Schema"}}}]}"#
    );
    // Computed independently: BLAKE3 (the `blake3` package from PyPI) of the text above.
    assert_eq!(
        spec.fingerprint().to_hex(),
        "fa27f4fbfa9824a23c79ccc3aae5513c4f65b1240592a6620e9f3a7a84fc9672"
    );
}
