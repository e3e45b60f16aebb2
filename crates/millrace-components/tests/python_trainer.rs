//! Python trainers in a pipeline: scikit-learn and XGBoost models trained by command nodes
//! (the real libraries from the test venv), served through the predict contract for evaluation,
//! infra validation and bulk inference; crashing trainers and trainers that write no model fail
//! their node with their standard error. PyTorch is tested where the venv has it; TensorFlow with
//! the trainers' venv (`MILLRACE_TEST_TRAINERS_PYTHON`, TensorFlow needs a newer protobuf than
//! ml-metadata allows).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use arrow_array::Array;
use millrace_components::data::examples_format::read_split;
use millrace_components::data::transform::{Fill, TransformOp};
use millrace_components::model::metrics::regression_metrics;
use millrace_components::model::{
    BulkInferrer, Evaluation, Evaluator, Flavor, InfraReport, InfraValidator, LoadedModel, Metric,
    ModelManifest, PREDICTION_COLUMN, PythonTrainer, Task, Threshold,
};
use millrace_components::{CsvExampleGen, Transform};
use millrace_core::prelude::*;
use millrace_runner::{LocalRunner, NodeState, RunSummary};

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

async fn run(pipeline: &Pipeline, root: &Path) -> RunSummary {
    let store = millrace_metadata::connect("memory://").await.unwrap();
    LocalRunner::new(store, root)
        .keep_going(true)
        .run(pipeline, BTreeMap::new())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scikit_learn_and_xgboost_models_train_evaluate_and_serve() {
    let Some(python) = common::python("python_trainer") else {
        return;
    };
    let python = python.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("python");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let transform = p.add(
        "transform",
        Transform::new(
            ingest.examples,
            vec![
                TransformOp::FillMissing {
                    input: "trip_seconds".into(),
                    output: "seconds".into(),
                    with: Fill::Median,
                },
                TransformOp::FillMissing {
                    input: "trip_miles".into(),
                    output: "miles".into(),
                    with: Fill::Median,
                },
            ],
            &["fare"],
        ),
    );
    let forest = p.add(
        "sklearn",
        PythonTrainer::scikit_learn("random_forest_regressor", Task::Regression, "fare")
            .hyperparameter("n_estimators", 30)
            .hyperparameter("max_depth", 8)
            .hyperparameter("random_state", 0)
            .features(["seconds", "miles"])
            .python(&python)
            .on_transformed(transform.transformed_examples, transform.transform_graph),
    );
    let boosted = p.add(
        "xgboost",
        PythonTrainer::xgboost(Task::Regression, "fare")
            .hyperparameter("n_estimators", 60)
            .hyperparameter("max_depth", 4)
            .features(["trip_miles", "trip_seconds"])
            .python(&python)
            .on(ingest.examples),
    );
    for (id, model) in [("sklearn", forest.model), ("xgboost", boosted.model)] {
        p.add(
            &format!("evaluate_{id}"),
            Evaluator::new(
                ingest.examples,
                model,
                vec![Threshold::below(Metric::Rmse, 20.0)],
            ),
        );
    }
    p.add(
        "infra_validator",
        InfraValidator::new(forest.model, ingest.examples),
    );
    p.add(
        "bulk_inferrer",
        BulkInferrer::new(ingest.examples, boosted.model)
            .configure(|b| b.splits = vec!["eval".into()]),
    );
    let summary = run(&p.build().unwrap(), dir.path()).await;
    assert!(summary.succeeded, "{summary:#?}");

    let root = dir.path();
    let sklearn_dir = common::output_dir(root, "python", "sklearn", "model");
    let manifest = ModelManifest::read(&sklearn_dir).unwrap();
    assert!(
        manifest.framework.starts_with("scikit-learn 1."),
        "{manifest:?}"
    );
    assert!(matches!(&manifest.flavor, Flavor::Command { predict } if predict[0] == python));
    assert_eq!(manifest.task, Task::Regression);
    assert_eq!(manifest.input_names(), ["seconds", "miles"]);
    assert_eq!(
        manifest.transform_graph.as_deref(),
        Some("transform_graph.json")
    );
    assert_eq!(manifest.produced_by.as_ref().unwrap().node, "sklearn");
    assert!(manifest.metrics["r2"] > 0.5, "{:?}", manifest.metrics);
    assert!(sklearn_dir.join("model.joblib").is_file());
    assert!(
        sklearn_dir.join("millrace_model.py").is_file(),
        "the model carries its server"
    );
    let xgboost_manifest =
        ModelManifest::read(&common::output_dir(root, "python", "xgboost", "model")).unwrap();
    assert!(
        xgboost_manifest.framework.starts_with("xgboost 3."),
        "{xgboost_manifest:?}"
    );

    // The evaluator's RMSE is the RMSE of the served model's own predictions on the raw eval
    // split, the model's transform applied by the harness.
    let examples = common::output_dir(root, "python", "example_gen", "examples");
    let eval = read_split(&examples, "eval").unwrap();
    for id in ["sklearn", "xgboost"] {
        let evaluation: Evaluation = read_json(
            &common::output_dir(root, "python", &format!("evaluate_{id}"), "evaluation")
                .join("evaluation.json"),
        );
        assert!(evaluation.blessed, "{id}: {evaluation:#?}");
        let model = LoadedModel::load(&common::output_dir(root, "python", id, "model")).unwrap();
        assert!(
            model.server_load_time().is_some(),
            "served by its own process"
        );
        let (mut labels, mut predicted) = (Vec::new(), Vec::new());
        for batch in &eval {
            let fares = batch
                .column_by_name("fare")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .unwrap();
            for (row, prediction) in model.predict(batch).unwrap().into_iter().enumerate() {
                if let (Some(prediction), true) = (prediction, fares.is_valid(row)) {
                    labels.push(fares.value(row));
                    predicted.push(prediction);
                }
            }
        }
        let rmse = regression_metrics(&labels, &predicted).unwrap().rmse;
        assert!(
            (rmse - evaluation.overall["rmse"]).abs() <= 1e-9 * rmse,
            "{id}: {rmse} vs {:?}",
            evaluation.overall
        );
        assert_eq!(evaluation.overall["example_count"], labels.len() as f64);
    }

    let infra: InfraReport = read_json(
        &common::output_dir(root, "python", "infra_validator", "blessing")
            .join("infra_validation.json"),
    );
    assert!(
        infra.loaded && infra.blessed && infra.answered == infra.canaries,
        "{infra:?}"
    );

    let inferred = read_split(
        &common::output_dir(root, "python", "bulk_inferrer", "inference_result"),
        "eval",
    )
    .unwrap();
    let rows: usize = inferred.iter().map(|b| b.num_rows()).sum();
    let eval_rows: usize = eval.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, eval_rows);
    let predicted: usize = inferred
        .iter()
        .map(|b| b.num_rows() - b.column_by_name(PREDICTION_COLUMN).unwrap().null_count())
        .sum();
    assert!(predicted > eval_rows * 9 / 10, "{predicted} of {eval_rows}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_python_trainer_fails_its_node_with_its_stderr() {
    let Some(python) = common::python("python_trainer") else {
        return;
    };
    let python = python.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("failing");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    // scikit-learn raises inside fit: a crash with a traceback.
    p.add(
        "crash",
        PythonTrainer::scikit_learn("random_forest_regressor", Task::Regression, "fare")
            .hyperparameter("n_estimators", -3)
            .features(["trip_miles"])
            .python(&python)
            .on(ingest.examples),
    );
    // A mistake the script reports itself.
    p.add(
        "unknown",
        PythonTrainer::scikit_learn("deep_forest", Task::Regression, "fare")
            .python(&python)
            .on(ingest.examples),
    );
    // A user's trainer that exits successfully without writing a model.
    p.add(
        "no_model",
        NoModel {
            python: python.clone(),
        }
        .with_inputs(NoModelInputs {
            examples: ingest.examples,
        }),
    );
    let summary = run(&p.build().unwrap(), dir.path()).await;
    let message = |id: &str| {
        let node = summary.node(id).unwrap();
        assert_eq!(node.state, NodeState::Failed, "{node:?}");
        node.message.clone().unwrap()
    };
    let crash = message("crash");
    assert!(crash.contains("exited with exit status: 1"), "{crash}");
    assert!(
        crash.contains("n_estimators"),
        "the exception is in the message: {crash}"
    );
    let unknown = message("unknown");
    assert!(
        unknown.contains("unknown scikit-learn estimator `deep_forest`"),
        "{unknown}"
    );
    let no_model = message("no_model");
    assert!(
        no_model.contains("wrote nothing into output `model`"),
        "{no_model}"
    );
    assert!(no_model.contains("finished without a model"), "{no_model}");
}

/// A trainer of the user's that forgets to write its model.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct NoModel {
    python: String,
}

#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
struct NoModelInputs {
    examples: Channel<Examples>,
}

impl Component for NoModel {
    const KIND: &'static str = "test.NoModel";
    type Inputs = NoModelInputs;
    type Outputs = millrace_components::model::trainer::TrainerOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new([
            self.python.as_str(),
            "-c",
            "import sys; print('finished without a model', file=sys.stderr)",
            "{{inputs.examples.uri}}",
            "{{outputs.model.uri}}",
        ]))
    }
}

millrace_core::register_component!(NoModel);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pytorch_model_trains_and_serves_where_torch_is_installed() {
    let Some(python) = common::python("python_trainer (pytorch)") else {
        return;
    };
    let has_torch = Command::new(&python)
        .args(["-c", "import torch"])
        .status()
        .is_ok_and(|status| status.success());
    if !has_torch {
        // Straight to the terminal, past the test harness's capture: a plain `cargo test`
        // shows which suites skipped.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (python_trainer pytorch): the venv has no torch; `pip install torch` into \
             it to run this test"
        );
        return;
    }
    let python = python.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("torch");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let trained = p.add(
        "pytorch",
        PythonTrainer::pytorch(Task::Regression, "fare")
            .hyperparameter("epochs", 200)
            .features(["trip_miles", "trip_seconds"])
            .python(&python)
            .on(ingest.examples),
    );
    p.add(
        "evaluator",
        Evaluator::new(
            ingest.examples,
            trained.model,
            vec![Threshold::below(Metric::Rmse, 30.0)],
        ),
    );
    let summary = run(&p.build().unwrap(), dir.path()).await;
    assert!(summary.succeeded, "{summary:#?}");
    let evaluation: Evaluation = read_json(
        &common::output_dir(dir.path(), "torch", "evaluator", "evaluation").join("evaluation.json"),
    );
    assert!(evaluation.overall["rmse"].is_finite(), "{evaluation:?}");
}

/// The interpreter of the trainers' venv (TensorFlow), or `None` after saying the suite skipped.
fn trainers_python(suite: &str) -> Option<String> {
    match std::env::var("MILLRACE_TEST_TRAINERS_PYTHON") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            // Straight to the terminal, past the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED ({suite}): MILLRACE_TEST_TRAINERS_PYTHON is not set; `cargo xtask test` \
                 installs TensorFlow into a venv of its own and sets it"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tensorflow_saved_model_trains_deterministically_and_serves_every_model_component() {
    let Some(python) = trainers_python("python_trainer tensorflow") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("tensorflow");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let transform = p.add(
        "transform",
        Transform::new(
            ingest.examples,
            ["trip_miles", "trip_seconds"]
                .iter()
                .map(|feature| TransformOp::FillMissing {
                    input: (*feature).into(),
                    output: format!("{feature}_filled"),
                    with: Fill::Median,
                })
                .collect(),
            &["fare"],
        ),
    );
    // Two trainers with the same seed: the same model twice.
    let trainer = |p: &mut PipelineBuilder, id: &str| {
        p.add(
            id,
            PythonTrainer::tensorflow(Task::Regression, "fare")
                .hyperparameter("hidden", vec![16, 8])
                .hyperparameter("epochs", 10)
                .hyperparameter("seed", 3)
                .features(["trip_miles_filled", "trip_seconds_filled"])
                .python(&python)
                .on_transformed(transform.transformed_examples, transform.transform_graph),
        )
        .model
    };
    let model = trainer(&mut p, "tensorflow");
    // Its model is only compared with the first one, below.
    let _twin = trainer(&mut p, "tensorflow_again");
    let evaluated = p.add(
        "evaluator",
        Evaluator::new(
            ingest.examples,
            model,
            vec![Threshold::below(Metric::Rmse, 30.0)],
        ),
    );
    let infra = p.add(
        "infra_validator",
        InfraValidator::new(model, ingest.examples),
    );
    p.add(
        "bulk_inferrer",
        BulkInferrer::new(ingest.examples, model).configure(|b| b.splits = vec!["eval".into()]),
    );
    p.add(
        "pusher",
        millrace_components::model::Pusher::with_infra(
            model,
            evaluated.blessing,
            infra.blessing,
            &dir.path().join("serving").display().to_string(),
        ),
    );
    let summary = run(&p.build().unwrap(), dir.path()).await;
    assert!(summary.succeeded, "{summary:#?}");
    let root = dir.path();

    let model_dir = common::output_dir(root, "tensorflow", "tensorflow", "model");
    let manifest = ModelManifest::read(&model_dir).unwrap();
    assert!(
        manifest.framework.starts_with("tensorflow 2."),
        "{manifest:?}"
    );
    assert!(matches!(&manifest.flavor, Flavor::Command { predict } if predict[0] == python));
    assert!(model_dir.join("saved_model/saved_model.pb").is_file());
    assert_eq!(
        manifest.input_names(),
        ["trip_miles_filled", "trip_seconds_filled"]
    );
    let twin = ModelManifest::read(&common::output_dir(
        root,
        "tensorflow",
        "tensorflow_again",
        "model",
    ))
    .unwrap();
    assert_eq!(
        manifest.metrics, twin.metrics,
        "the same seed trains the same model"
    );

    let evaluation: Evaluation = read_json(
        &common::output_dir(root, "tensorflow", "evaluator", "evaluation").join("evaluation.json"),
    );
    assert!(evaluation.blessed, "{evaluation:#?}");
    assert!(
        evaluation.overall["rmse"] < 30.0,
        "{:?}",
        evaluation.overall
    );
    let report: InfraReport = read_json(
        &common::output_dir(root, "tensorflow", "infra_validator", "blessing")
            .join("infra_validation.json"),
    );
    assert!(
        report.loaded && report.blessed && report.answered == report.canaries,
        "{report:?}"
    );
    let inferred = read_split(
        &common::output_dir(root, "tensorflow", "bulk_inferrer", "inference_result"),
        "eval",
    )
    .unwrap();
    let predicted: usize = inferred
        .iter()
        .map(|b| b.num_rows() - b.column_by_name(PREDICTION_COLUMN).unwrap().null_count())
        .sum();
    let rows: usize = inferred.iter().map(|b| b.num_rows()).sum();
    assert!(predicted > rows * 9 / 10, "{predicted} of {rows}");
    let pushed: Vec<_> = std::fs::read_dir(root.join("serving"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert!(pushed[0].join("saved_model/saved_model.pb").is_file());
}

#[test]
fn a_tensorflow_trainer_refuses_unknown_hyper_parameters_with_the_known_ones() {
    let Some(python) = trainers_python("python_trainer tensorflow hyper-parameters") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("examples");
    std::fs::create_dir_all(examples.join("Split-train")).unwrap();
    // The script refuses the settings before it reads any example or imports TensorFlow.
    let output = Command::new(&python)
        .args(["-c", millrace_components::model::MODEL_SCRIPT])
        .args([
            "train",
            "--framework",
            "tensorflow",
            "--estimator",
            "mlp",
            "--label",
            "y",
        ])
        .args(["--hyperparameters", r#"{"layers": 3}"#])
        .arg("--examples")
        .arg(&examples)
        .arg("--model-dir")
        .arg(dir.path().join("model"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown hyper-parameters for the TensorFlow MLP: ['layers']")
            && stderr.contains("'epochs'"),
        "{stderr}"
    );
}
