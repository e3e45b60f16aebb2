//! Importers and resolvers under the runner: an importer registers its URI once, resolvers
//! select artifacts of earlier runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::sync::Arc;

use millrace_core::prelude::*;
use millrace_metadata::{MetadataStore, NodeQuery, Value, connect};
use millrace_runner::{LocalRunner, NodeState};

/// Writes examples of one span.
#[millrace_macros::component(crate = millrace_core, kind = "test.SpanGen")]
async fn span_gen(examples: Output<Examples>, span: i64) -> Result<(), ComponentError> {
    std::fs::write(examples.uri().join("span.txt"), span.to_string())?;
    examples.set_property("span", span)?;
    Ok(())
}

/// Reads a data set and reports its URI.
#[millrace_macros::component(crate = millrace_core, kind = "test.ReadData")]
async fn read_data(data: Input<Dataset>, report: Output<Metrics>) -> Result<(), ComponentError> {
    let text = std::fs::read_to_string(data.uri().join("data.txt"))?;
    report.set_custom_property("read", text);
    Ok(())
}

/// Records which spans it was given.
#[millrace_macros::component(crate = millrace_core, kind = "test.CountSpans")]
async fn count_spans(
    examples: Input<Examples>,
    report: Output<Metrics>,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let _ = examples;
    let spans: Vec<String> = context
        .input_artifacts("examples")
        .iter()
        .map(|artifact| artifact.properties["span"].to_string())
        .collect();
    report.set_custom_property("spans", spans.join(","));
    Ok(())
}

async fn store(dir: &tempfile::TempDir) -> Arc<dyn MetadataStore> {
    connect(&format!(
        "sqlite://{}",
        dir.path().join("m.sqlite").display()
    ))
    .await
    .unwrap()
}

fn parameters(pipeline: &Pipeline, span: &str) -> BTreeMap<String, serde_json::Value> {
    pipeline
        .parameter_values(&BTreeMap::from([("span".to_owned(), span.to_owned())]))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_importer_registers_its_uri_once_unless_told_to_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("curated");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("data.txt"), "curated").unwrap();
    let build = |reimport: bool| {
        let mut p = Pipeline::builder("imports");
        let imported = p.import(
            "curated",
            Importer::<Dataset>::new(data.display().to_string()).reimport(reimport),
        );
        p.add("read", ReadData::new(imported.result));
        p.build().unwrap()
    };
    let store = store(&dir).await;
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"));
    let first = runner.run(&build(false), BTreeMap::new()).await.unwrap();
    assert!(first.succeeded, "{first:#?}");
    let second = runner.run(&build(false), BTreeMap::new()).await.unwrap();
    assert_eq!(
        second.node("read").unwrap().state,
        NodeState::Cached,
        "the same imported artifact"
    );
    let imported = store
        .get_artifacts(&NodeQuery::all().of_type("Dataset"))
        .await
        .unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(
        imported[0].custom_properties["is_external"],
        Value::Bool(true)
    );

    let third = runner.run(&build(true), BTreeMap::new()).await.unwrap();
    assert_eq!(
        third.node("read").unwrap().state,
        NodeState::Complete,
        "a new artifact is a new input"
    );
    assert_eq!(
        store
            .get_artifacts(&NodeQuery::all().of_type("Dataset"))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolvers_select_the_latest_artifact_and_span_ranges_of_earlier_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("spans");
    let span = p.param("span", 1_i64);
    let examples = p.add("gen", SpanGen::new(&span));
    let latest = p.resolve("previous", LatestArtifact::of(examples.examples));
    let window = p.resolve(
        "window",
        SpanRange::of(examples.examples).between(2, 10).latest(2),
    );
    p.add("count_latest", CountSpans::new(latest.artifact));
    p.add("count_window", CountSpans::new(window.examples));
    let pipeline = p.build().unwrap();

    let store = store(&dir).await;
    let runner =
        LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts")).keep_going(true);
    // The first run has nothing earlier: the resolvers find nothing, their readers fail on a
    // missing required input, and the run says so.
    let first = runner
        .run(&pipeline, parameters(&pipeline, "1"))
        .await
        .unwrap();
    assert_eq!(first.node("gen").unwrap().state, NodeState::Complete);
    for span in ["2", "3", "4"] {
        runner
            .run(&pipeline, parameters(&pipeline, span))
            .await
            .unwrap();
    }
    let last = runner
        .run(&pipeline, parameters(&pipeline, "5"))
        .await
        .unwrap();
    // The newest span of an earlier run (never this run's: the resolver leaves out what `gen`
    // holds in this run).
    assert_eq!(
        reported(&*store, &last, "count_latest").await,
        Value::String("4".into())
    );
    // Spans 2..=10 of earlier runs, only the newest two, oldest first.
    assert_eq!(
        reported(&*store, &last, "count_window").await,
        Value::String("3,4".into())
    );
}

/// The `spans` a node's report recorded in a run.
async fn reported(
    store: &dyn MetadataStore,
    summary: &millrace_runner::RunSummary,
    node: &str,
) -> Value {
    let id = summary.node(node).unwrap().execution_id.unwrap();
    let events = store
        .get_events(&millrace_metadata::EventQuery::of_executions(vec![id]))
        .await
        .unwrap();
    let output = events
        .iter()
        .find(|e| e.event_type == millrace_metadata::EventType::Output)
        .unwrap();
    let artifact = store
        .get_artifacts(&NodeQuery::all().ids([output.artifact_id]))
        .await
        .unwrap()
        .remove(0);
    artifact.custom_properties["spans"].clone()
}

/// ML-Metadata keeps a run's parameters as a protobuf Struct, whose numbers are doubles; a run
/// reopened by another process (each `run-node` task) must see an int parameter as an int, or
/// a component whose configuration holds it fails to deserialise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_run_keeps_its_integer_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("reopen");
    let span = p.param("span", 1_i64);
    let _ratio = p.param("ratio", 0.5_f64);
    p.add("gen", SpanGen::new(&span));
    let pipeline = p.build().unwrap();
    let store = store(&dir).await;
    let parameters = pipeline
        .parameter_values(&BTreeMap::from([
            ("span".to_owned(), "12".to_owned()),
            ("ratio".to_owned(), "2".to_owned()),
        ]))
        .unwrap();
    millrace_runner::RunRecord::start(&*store, &pipeline, "r1", parameters)
        .await
        .unwrap();
    let reopened = millrace_runner::RunRecord::open(&*store, &pipeline, "r1")
        .await
        .unwrap();
    assert_eq!(reopened.parameters["span"], serde_json::json!(12));
    assert!(reopened.parameters["span"].is_i64());
    assert_eq!(reopened.parameters["ratio"].as_f64(), Some(2.0));
}
