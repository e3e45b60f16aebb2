//! The metadata workload of the issue, timed: 10,000 artifacts put in batches of 100; 10,000
//! executions each written with one input, one new output, two events and a context — one
//! call (one transaction) each, and again 100 to a call through
//! `put_executions_with_events`, as a runner's parallel nodes finishing together; the
//! lineage of a 1,000-execution chain in one call. Run beside `benches/peers/mlmd_workload.py`
//! (Google's ml-metadata) by `benches/peers/metadata.sh`, which prints the ratios.
//!
//! ```text
//! cargo bench -p millrace-metadata --bench store_workload -- [--settings wal|mlmd] [--scale 1.0]
//! ```
//!
//! Prints one JSON object per measurement on standard output.

#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)] // A benchmark program.

use std::sync::Arc;
use std::time::Instant;

use millrace_metadata::{
    Artifact, ArtifactAndEvent, ArtifactState, Context, Direction, EventType, Execution,
    ExecutionState, LineageQuery, MetadataStore, NodeType, PathStep, PropertyType, PutExecution,
    Value, connect,
};

struct Types {
    examples: i64,
    trainer: i64,
    run: i64,
}

async fn types(store: &Arc<dyn MetadataStore>) -> Types {
    Types {
        examples: store
            .put_type(&NodeType::artifact("Examples").property("span", PropertyType::Int))
            .await
            .unwrap(),
        trainer: store
            .put_type(&NodeType::execution("Trainer"))
            .await
            .unwrap(),
        run: store
            .put_type(&NodeType::context("pipeline_run"))
            .await
            .unwrap(),
    }
}

fn artifact(types: &Types, uri: String, span: i64) -> Artifact {
    Artifact {
        type_id: types.examples,
        uri: Some(uri),
        state: ArtifactState::Live,
        properties: [("span".to_owned(), Value::Int(span))].into(),
        ..Artifact::default()
    }
}

/// One execution reading `input` and writing a new artifact, in the run context.
fn step(types: &Types, run_context: i64, input: &Artifact, index: usize) -> PutExecution {
    PutExecution {
        execution: Execution {
            type_id: types.trainer,
            last_known_state: ExecutionState::Complete,
            ..Execution::default()
        },
        artifacts: vec![
            ArtifactAndEvent {
                artifact: input.clone(),
                event: Some((
                    EventType::Input,
                    vec![PathStep::Key("examples".into()), PathStep::Index(0)],
                )),
            },
            ArtifactAndEvent {
                artifact: artifact(types, format!("/out/{index}"), index as i64),
                event: Some((
                    EventType::Output,
                    vec![PathStep::Key("model".into()), PathStep::Index(0)],
                )),
            },
        ],
        contexts: vec![Context {
            id: Some(run_context),
            type_id: types.run,
            name: "run-1".into(),
            ..Context::default()
        }],
    }
}

/// A new store with the workload's types, a run context and one input artifact at `uri`.
async fn fresh_store(url: &str, uri: &str) -> (Arc<dyn MetadataStore>, Types, i64, i64) {
    let store = connect(url).await.unwrap();
    let types = types(&store).await;
    let run = store
        .put_contexts(&[Context {
            type_id: types.run,
            name: "run-1".into(),
            ..Context::default()
        }])
        .await
        .unwrap()[0];
    let first = store
        .put_artifacts(&[artifact(&types, uri.into(), 0)])
        .await
        .unwrap()[0];
    (store, types, run, first)
}

fn report(name: &str, settings: &str, count: usize, seconds: f64) {
    println!(
        "{{\"system\": \"millrace\", \"settings\": \"{settings}\", \"workload\": \"{name}\", \"count\": {count}, \"seconds\": {seconds:.6}, \"per_item_us\": {:.3}}}",
        seconds * 1e6 / count as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        arguments
            .iter()
            .position(|argument| argument == name)
            .and_then(|index| arguments.get(index + 1))
            .cloned()
    };
    let settings = option("--settings").unwrap_or_else(|| "wal".to_owned());
    let scale: f64 = option("--scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let query = match settings.as_str() {
        "wal" => "",
        "mlmd" => "?journal=delete&synchronous=full",
        "memory" => "",
        other => panic!("unknown settings {other}: use wal, mlmd or memory"),
    };
    let artifacts_total = (10_000.0 * scale) as usize;
    let executions_total = (10_000.0 * scale) as usize;
    let chain_length = 1_000;

    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        if settings == "memory" {
            "memory://".to_owned()
        } else {
            format!("sqlite://{}{query}", dir.path().join(name).display())
        }
    };

    // 1. Artifacts in batches of 100.
    let store = connect(&open("artifacts.sqlite")).await.unwrap();
    let types_1 = types(&store).await;
    let started = Instant::now();
    for batch in 0..artifacts_total / 100 {
        let artifacts: Vec<Artifact> = (0..100)
            .map(|index| artifact(&types_1, format!("/a/{batch}/{index}"), index))
            .collect();
        store.put_artifacts(&artifacts).await.unwrap();
    }
    report(
        "put_artifacts_batch_100",
        &settings,
        artifacts_total,
        started.elapsed().as_secs_f64(),
    );

    // 2. Executions with an input, a new output, two events and a context.
    let (store, types_2, run, first) = fresh_store(&open("executions.sqlite"), "/in/0").await;
    let mut input = Artifact {
        id: Some(first),
        ..artifact(&types_2, "/in/0".into(), 0)
    };
    let started = Instant::now();
    for index in 0..executions_total {
        let result = store
            .put_execution(&step(&types_2, run, &input, index))
            .await
            .unwrap();
        input = Artifact {
            id: Some(result.artifact_ids[1]),
            ..artifact(&types_2, format!("/out/{index}"), index as i64)
        };
    }
    report(
        "put_execution_with_events",
        &settings,
        executions_total,
        started.elapsed().as_secs_f64(),
    );

    // 2b. The same executions, 100 to a transaction: 100 chains side by side, each execution
    // reading what its chain's previous one wrote.
    let (store, types_2b, run, first) = fresh_store(&open("batched.sqlite"), "/in/0").await;
    let mut inputs: Vec<Artifact> = vec![
        Artifact {
            id: Some(first),
            ..artifact(&types_2b, "/in/0".into(), 0)
        };
        100
    ];
    let started = Instant::now();
    for batch in 0..executions_total / 100 {
        let requests: Vec<PutExecution> = inputs
            .iter()
            .enumerate()
            .map(|(chain, input)| step(&types_2b, run, input, batch * 100 + chain))
            .collect();
        let results = store.put_executions_with_events(&requests).await.unwrap();
        inputs = results
            .iter()
            .zip(&requests)
            .map(|(result, request)| Artifact {
                id: Some(result.artifact_ids[1]),
                ..request.artifacts[1].artifact.clone()
            })
            .collect();
    }
    report(
        "put_executions_with_events_batch_100",
        &settings,
        executions_total,
        started.elapsed().as_secs_f64(),
    );

    // 3. The lineage of a 1,000-execution chain, in one call.
    let (store, types_3, run, first) = fresh_store(&open("chain.sqlite"), "/chain/0").await;
    let mut input = Artifact {
        id: Some(first),
        ..artifact(&types_3, "/chain/0".into(), 0)
    };
    for index in 0..chain_length {
        let result = store
            .put_execution(&step(&types_3, run, &input, index))
            .await
            .unwrap();
        input = Artifact {
            id: Some(result.artifact_ids[1]),
            ..artifact(&types_3, format!("/out/{index}"), index as i64)
        };
    }
    let last = input.id.unwrap();
    let mut samples = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let graph = store
            .get_lineage(&LineageQuery {
                artifact_ids: vec![last],
                execution_ids: vec![],
                direction: Direction::Upstream,
                max_hops: 2 * chain_length as u32,
            })
            .await
            .unwrap();
        samples.push(started.elapsed().as_secs_f64());
        assert_eq!(graph.executions.len(), chain_length);
        assert_eq!(graph.artifacts.len(), chain_length + 1);
    }
    samples.sort_by(f64::total_cmp);
    report(
        "lineage_1000_chain_median",
        &settings,
        1,
        samples[samples.len() / 2],
    );
}
