//! The real `mlflow` client against `serve`: the acceptance snippet (`tools/python/
//! mlflow_snippet.py`) runs unchanged, and what it logged reads back from the store as
//! ML-Metadata records — runs are executions, models are artifacts with lineage.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

mod common;

use std::path::Path;
use std::process::Command;

use millrace_metadata::tracking::TRACKED_RUN_EXECUTION;
use millrace_metadata::{EventQuery, EventType, NodeQuery};

fn snippet() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/python/mlflow_snippet.py")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_mlflow_3_clients_snippet_runs_unchanged_and_its_records_are_lineage() {
    if let Some(python) = common::python("MILLRACE_TEST_MLFLOW_PYTHON", "MLflow 3.17.2 client") {
        snippet_against_serve(python, "3.17.2").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_mlflow_2_clients_snippet_runs_unchanged_and_its_records_are_lineage() {
    if let Some(python) = common::python("MILLRACE_TEST_MLFLOW2_PYTHON", "MLflow 2.22.5 client") {
        snippet_against_serve(python, "2.22.5").await;
    }
}

async fn snippet_against_serve(python: String, version: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _root, server) = common::served(dir.path()).await;
    let uri = server.uri();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(snippet())
            .arg(uri)
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(seen["mlflow_version"], version);

    // What the client saw.
    let run_id = seen["run_id"].as_str().unwrap();
    assert_eq!(seen["status"], "FINISHED");
    assert_eq!(seen["searched"], serde_json::json!([run_id]));
    assert_eq!(seen["searched_max_depth"], serde_json::json!(["8"]));
    assert_eq!(
        seen["loss_steps"],
        serde_json::json!((0..20).collect::<Vec<_>>())
    );
    assert_eq!(seen["params"]["lr"], "0.01");
    assert_eq!(seen["tags_team"], "fares");
    // MLflow 3 logs a model apart from the run's files (a logged model); MLflow 2 under them.
    let artifacts = if version.starts_with('2') {
        serde_json::json!(["docs", "model", "notes.txt"])
    } else {
        serde_json::json!(["docs", "notes.txt"])
    };
    assert_eq!(seen["artifacts"], artifacts);
    assert_eq!(seen["docs"], serde_json::json!(["docs/notes.txt"]));
    assert_eq!(seen["downloaded"], "hello");
    assert_eq!(
        (seen["version"].as_str(), seen["second_version"].as_str()),
        (Some("1"), Some("2"))
    );
    assert_eq!(seen["champion"], "1");
    assert_eq!(seen["champion_aliases"], serde_json::json!(["champion"]));
    assert_eq!(seen["stage"], "Production");
    assert_eq!(seen["versions"], serde_json::json!(["1", "2"]));
    assert_eq!(seen["version_tags"]["validated"], "yes");
    assert_eq!(seen["registered_models"], serde_json::json!(["taxi"]));
    let (predicted, expected) = (
        seen["prediction"].as_f64().unwrap(),
        seen["expected_prediction"].as_f64().unwrap(),
    );
    assert!((predicted - expected).abs() < 1e-9, "{seen:#}");
    assert_eq!(seen["unknown_run"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(seen["duplicate_model"], "RESOURCE_ALREADY_EXISTS");
    assert_eq!(seen["invalid_filter"], "INVALID_PARAMETER_VALUE");

    // The same, read back from the store: the run is an execution of the experiment's
    // context, the model an artifact it produced, the champion that artifact.
    let run = store.get_run(run_id).await.unwrap();
    let execution_id = run.info.execution_id().unwrap();
    let execution = store
        .get_executions(&NodeQuery::all().ids([execution_id]))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(execution.type_name.as_deref(), Some(TRACKED_RUN_EXECUTION));
    assert_eq!(
        store.metric_history(run_id, "loss").await.unwrap().len(),
        20
    );
    let champion = store
        .get_version_by_alias("taxi", "champion")
        .await
        .unwrap();
    let model_id = champion.artifact_id.unwrap();
    let produced = store
        .get_events(&EventQuery::of_artifacts([model_id]).of_types([EventType::Output]))
        .await
        .unwrap();
    assert_eq!(produced[0].execution_id, execution_id);
    let model = store
        .get_artifacts(&NodeQuery::all().ids([model_id]))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(model.type_name.as_deref(), Some("Model"));
    let files = Path::new(model.uri.as_deref().unwrap());
    assert!(files.join("MLmodel").is_file(), "{}", files.display());
    server.shutdown().await.unwrap();
}
