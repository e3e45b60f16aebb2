//! Experiment tracking under the runner: a pipeline run is a tracked run with its parameters
//! and provenance, a node's curve lands in its own nested run and on the pipeline run, and a
//! component's registration request lands in the model registry with lineage.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::sync::Arc;

use millrace_core::ModelRegistration;
use millrace_core::prelude::*;
use millrace_metadata::registry::Approval;
use millrace_metadata::tracking::RunStatus;
use millrace_metadata::{MetadataStore, connect};
use millrace_runner::LocalRunner;

/// Trains a "model": a loss curve of `epochs` steps.
#[millrace_macros::component(crate = millrace_core, kind = "test.CurveTrainer")]
async fn curve_trainer(
    model: Output<Model>,
    epochs: i64,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    std::fs::write(model.uri().join("weights.txt"), epochs.to_string())?;
    context.log_param("optimizer", "adam");
    for step in 0..epochs {
        context.log_metric_at("loss", 1.0 / (step as f64 + 1.0), step);
    }
    context.log_metric("rmse", 3.5);
    context.set_note("a **small** model");
    context.log_file("plots/loss.txt", "1.0 0.5 0.33");
    Ok(())
}

/// Registers its input model as `toy`, moving `champion` to it.
#[millrace_macros::component(crate = millrace_core, kind = "test.Registrar")]
async fn toy_registrar(
    model: Input<Model>,
    report: Output<Metrics>,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let _ = (model, report);
    context.register_model(ModelRegistration {
        input: "model".into(),
        name: "toy".into(),
        alias: Some("champion".into()),
        reason: "the only one".into(),
        ..ModelRegistration::default()
    });
    Ok(())
}

/// Fails.
#[millrace_macros::component(crate = millrace_core, kind = "test.Broken")]
async fn broken(
    report: Output<Metrics>,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let _ = report;
    context.log_metric_at("loss", 9.0, 0);
    Err(ComponentError::new("diverged"))
}

async fn store(dir: &tempfile::TempDir) -> Arc<dyn MetadataStore> {
    connect(&format!(
        "sqlite://{}",
        dir.path().join("m.sqlite").display()
    ))
    .await
    .unwrap()
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::builder("toy");
    let epochs = p.param("epochs", 30_i64);
    let trained = p.add("trainer", CurveTrainer::new(&epochs));
    p.add("registrar", ToyRegistrar::new(trained.model));
    p.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_run_is_a_tracked_run_with_its_parameters_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let pipeline = pipeline();
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"));
    let parameters = pipeline
        .parameter_values(&BTreeMap::from([("epochs".into(), "12".into())]))
        .unwrap();
    let summary = runner.run(&pipeline, parameters).await.unwrap();
    assert!(summary.succeeded, "{summary:#?}");
    let run = store.get_run(&summary.run_id).await.unwrap();
    assert_eq!(run.params["epochs"], "12");
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.info.end_time.is_some());
    assert_eq!(
        run.tags["millrace.fingerprint"],
        pipeline.fingerprint().to_hex()
    );
    assert_eq!(run.tags["millrace.pipeline"], "toy");
    for tag in [
        "mlflow.user",
        "millrace.host",
        "mlflow.source.name",
        "millrace.binary.blake3",
    ] {
        assert!(!run.tags[tag].is_empty(), "{tag} is recorded");
    }
    let experiment = store.get_experiment(run.info.experiment_id).await.unwrap();
    assert_eq!(experiment.name, "toy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_curve_lands_in_its_own_run_and_its_metrics_on_the_pipeline_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"));
    let pipeline = pipeline();
    let parameters = pipeline.parameter_values(&BTreeMap::new()).unwrap();
    let summary = runner.run(&pipeline, parameters).await.unwrap();
    assert!(summary.succeeded, "{summary:#?}");
    let children = store.child_runs(&summary.run_id).await.unwrap();
    let trainer = children
        .iter()
        .find(|run| run.tags["millrace.node"] == "trainer")
        .expect("the trainer tracked something, so it has a run");
    assert_eq!(trainer.info.status, RunStatus::Finished);
    assert_eq!(
        trainer.info.execution_id(),
        summary.node("trainer").unwrap().execution_id
    );
    assert_eq!(trainer.params["optimizer"], "adam");
    assert_eq!(trainer.tags["mlflow.note.content"], "a **small** model");
    let curve = store
        .metric_history(&trainer.info.run_id, "loss")
        .await
        .unwrap();
    assert_eq!(curve.len(), 30);
    assert_eq!(curve[29].step, 29);
    assert_eq!(trainer.metrics["rmse"].value, 3.5);
    let pipeline_run = store.get_run(&summary.run_id).await.unwrap();
    assert_eq!(pipeline_run.metrics["trainer.loss"].step, 29);
    assert_eq!(pipeline_run.metrics["trainer.rmse"].value, 3.5);
    let file = dir.path().join("artifacts").join(
        trainer
            .info
            .artifact_uri
            .strip_prefix("mlflow-artifacts:/")
            .unwrap(),
    );
    assert_eq!(
        std::fs::read_to_string(file.join("plots/loss.txt")).unwrap(),
        "1.0 0.5 0.33"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_request_registers_the_input_model_and_moves_the_alias() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"));
    let pipeline = pipeline();
    let parameters = pipeline.parameter_values(&BTreeMap::new()).unwrap();
    let first = runner.run(&pipeline, parameters.clone()).await.unwrap();
    assert!(first.succeeded, "{first:#?}");
    let champion = store.get_version_by_alias("toy", "champion").await.unwrap();
    assert_eq!(champion.version, 1);
    assert_eq!(champion.approval, Approval::Pending);
    assert_eq!(champion.user_id, "toy.registrar");
    // The version is the trainer's Model artifact.
    let trainer_execution = first.node("trainer").unwrap().execution_id.unwrap();
    let produced = store
        .get_events(&millrace_metadata::EventQuery::of_executions([
            trainer_execution,
        ]))
        .await
        .unwrap();
    assert!(
        produced
            .iter()
            .any(|event| Some(event.artifact_id) == champion.artifact_id)
    );
    assert!(
        champion
            .storage_location
            .starts_with("mlflow-artifacts:/toy/trainer/model/")
    );
    // A second run reuses both nodes from the cache: the same model is not registered twice.
    let second = runner.run(&pipeline, parameters).await.unwrap();
    assert!(second.succeeded);
    let versions = store
        .search_model_versions(&millrace_metadata::registry::RegistrySearch {
            filter: "name = 'toy'".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_node_has_a_failed_run_and_a_named_experiment_groups_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let mut p = Pipeline::builder("fragile");
    p.add("broken", Broken::new());
    let pipeline = p.build().unwrap();
    let runner =
        LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts")).experiment("shared");
    let summary = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
    assert!(!summary.succeeded);
    let run = store.get_run(&summary.run_id).await.unwrap();
    assert_eq!(run.info.status, RunStatus::Failed);
    let experiment = store.get_experiment(run.info.experiment_id).await.unwrap();
    assert_eq!(experiment.name, "shared");
    let children = store.child_runs(&summary.run_id).await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].info.status, RunStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_takes_the_runs_parameters_and_refuses_a_changed_pipeline_naming_the_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"));
    let pipeline = pipeline();
    let parameters = pipeline
        .parameter_values(&BTreeMap::from([("epochs".into(), "7".into())]))
        .unwrap();
    let first = runner.run(&pipeline, parameters.clone()).await.unwrap();
    let again = millrace_runner::rerun_parameters(&*store, &pipeline, &first.run_id)
        .await
        .unwrap();
    assert_eq!(again, parameters);
    // Another pipeline of the same name: a trainer configured differently, a node more.
    let mut p = Pipeline::builder("toy");
    let epochs = p.param("epochs", 30_i64);
    let trained = p.add("trainer", CurveTrainer::new(&epochs));
    p.add("registrar", ToyRegistrar::new(trained.model));
    p.add("broken", Broken::new());
    let changed = p.build().unwrap();
    let refused = millrace_runner::rerun_parameters(&*store, &changed, &first.run_id)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("node `broken` is new"), "{refused}");
    assert!(!refused.contains("node `trainer`"), "{refused}");
    let unknown = millrace_runner::rerun_parameters(&*store, &pipeline, "nope")
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("there is no run `nope`"), "{unknown}");
}
