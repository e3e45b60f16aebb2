//! Python trainers' model directories are MLflow model directories too: models trained with
//! scikit-learn, XGBoost and TensorFlow (PyTorch where torch is installed) by command nodes in the
//! trainers' venv (`MILLRACE_TEST_TRAINERS_PYTHON`) load with the real MLflow 3.17.2
//! (`MILLRACE_TEST_MLFLOW_PYTHON`, running `tools/python/mlflow_model_check.py`), through
//! `mlflow.pyfunc.load_model` and through their flavor's own loader, and predict what Millrace's
//! serving of the same directory predicts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly; a skipped suite says why.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::{Array, Float64Array, Int64Array};
use millrace_components::CsvExampleGen;
use millrace_components::data::examples_format::read_split;
use millrace_components::model::{LoadedModel, PythonTrainer, Task};
use millrace_core::prelude::*;
use millrace_runner::LocalRunner;
use serde_json::{Value, json};

/// The features every model reads: one floating point column, one integer column.
const FEATURES: [&str; 2] = ["distance", "stops"];

/// The interpreter an environment variable names, or `None` after saying the suite skipped.
fn interpreter(variable: &str, why: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            // Straight to the terminal, past the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (mlflow_models): {variable} is not set; {why}"
            );
            None
        }
    }
}

/// A reproducible stream of numbers in [0, 1).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Deliveries: a cost to regress on and whether they were late, to classify.
fn write_examples(path: &Path) {
    let mut numbers = Numbers(11);
    let mut csv = String::from("distance,stops,cost,late\n");
    for _ in 0..400 {
        let distance = numbers.next() * 30.0;
        let stops = (numbers.next() * 8.0).floor() as i64;
        let cost = 4.0 + 1.5 * distance + 2.0 * stops as f64 + numbers.next() * 3.0;
        let late = u8::from(distance / 30.0 + stops as f64 / 8.0 + numbers.next() * 0.5 > 1.2);
        csv.push_str(&format!("{distance:.4},{stops},{cost:.4},{late}\n"));
    }
    std::fs::write(path, csv).unwrap();
}

/// The eval split's feature columns as JSON (integers as integers), and every trained model's
/// predictions for those rows, served the way Millrace serves them.
fn millrace_predictions(
    examples: &Path,
    models: &[(String, PathBuf)],
) -> (Value, BTreeMap<String, Vec<f64>>) {
    let eval = read_split(examples, "eval").unwrap();
    let mut columns: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for batch in &eval {
        for name in FEATURES {
            let column = batch.column_by_name(name).unwrap();
            assert_eq!(column.null_count(), 0, "{name} is complete");
            let values = columns.entry(name).or_default();
            if let Some(floats) = column.as_any().downcast_ref::<Float64Array>() {
                values.extend(floats.values().iter().map(|v| json!(v)));
            } else {
                let ints = column.as_any().downcast_ref::<Int64Array>().unwrap();
                values.extend(ints.values().iter().map(|v| json!(v)));
            }
        }
    }
    let mut predictions = BTreeMap::new();
    for (id, dir) in models {
        let model = LoadedModel::load(dir).unwrap();
        let mut predicted = Vec::new();
        for batch in &eval {
            predicted.extend(
                model
                    .predict(batch)
                    .unwrap()
                    .into_iter()
                    .map(|p| p.unwrap()),
            );
        }
        predictions.insert(id.clone(), predicted);
    }
    (json!(columns), predictions)
}

fn assert_close(what: &str, theirs: &Value, ours: &[f64], tolerance: f64) {
    let theirs: Vec<f64> = theirs
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no predictions"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(theirs.len(), ours.len(), "{what}: one prediction a row");
    for (row, (a, b)) in theirs.iter().zip(ours).enumerate() {
        assert!(
            (a - b).abs() <= tolerance * b.abs().max(1.0),
            "{what}, row {row}: MLflow {a}, Millrace {b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_models_load_with_mlflow_and_predict_what_millrace_serves() {
    let Some(trainers) = interpreter(
        "MILLRACE_TEST_TRAINERS_PYTHON",
        "`cargo xtask test` installs the trainers' frameworks into a venv and sets it",
    ) else {
        return;
    };
    let Some(mlflow) = interpreter(
        "MILLRACE_TEST_MLFLOW_PYTHON",
        "point it at a venv with mlflow 3.17.2, scikit-learn, xgboost-cpu, pandas and \
         tensorflow-cpu",
    ) else {
        return;
    };
    let has_torch = Command::new(&trainers)
        .args(["-c", "import torch"])
        .status()
        .is_ok_and(|status| status.success());
    if !has_torch {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (mlflow_models pytorch): the trainers' venv has no torch; `pip install \
             torch` into it (and into the MLflow venv) to check the pytorch flavor too"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("deliveries.csv");
    write_examples(&csv);
    let mut p = Pipeline::builder("mlflow");
    let examples = p
        .add("example_gen", CsvExampleGen::new(csv.display().to_string()))
        .examples;
    let mut trainers_of = vec![
        (
            "sklearn_regressor",
            PythonTrainer::scikit_learn("random_forest_regressor", Task::Regression, "cost")
                .hyperparameter("n_estimators", 20)
                .hyperparameter("random_state", 0),
        ),
        (
            "sklearn_classifier",
            PythonTrainer::scikit_learn("logistic_regression", Task::BinaryClassification, "late"),
        ),
        (
            "xgboost_regressor",
            PythonTrainer::xgboost(Task::Regression, "cost").hyperparameter("n_estimators", 30),
        ),
        (
            "xgboost_classifier",
            PythonTrainer::xgboost(Task::BinaryClassification, "late")
                .hyperparameter("n_estimators", 30),
        ),
        (
            "tensorflow_classifier",
            PythonTrainer::tensorflow(Task::BinaryClassification, "late")
                .hyperparameter("hidden", vec![8])
                .hyperparameter("epochs", 3),
        ),
    ];
    if has_torch {
        trainers_of.push((
            "pytorch_regressor",
            PythonTrainer::pytorch(Task::Regression, "cost").hyperparameter("epochs", 20),
        ));
    }
    for (id, trainer) in &trainers_of {
        p.add(
            id,
            trainer
                .clone()
                .features(FEATURES)
                .python(&trainers)
                .on(examples),
        );
    }
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let summary = LocalRunner::new(store, dir.path())
        .run(&p.build().unwrap(), BTreeMap::new())
        .await
        .unwrap();
    assert!(summary.succeeded, "{summary:#?}");

    let models: Vec<(String, PathBuf)> = trainers_of
        .iter()
        .map(|(id, _)| {
            let model = common::output_dir(dir.path(), "mlflow", id, "model");
            ((*id).to_owned(), model)
        })
        .collect();
    for (id, model) in &models {
        for file in [
            "MLmodel",
            "conda.yaml",
            "python_env.yaml",
            "requirements.txt",
            "manifest.json",
        ] {
            assert!(model.join(file).is_file(), "{id} has {file}");
        }
    }
    let examples_dir = common::output_dir(dir.path(), "mlflow", "example_gen", "examples");
    let (rows, ours) = millrace_predictions(&examples_dir, &models);

    let request = dir.path().join("request.json");
    let dirs: Vec<String> = models
        .iter()
        .map(|(_, d)| d.display().to_string())
        .collect();
    std::fs::write(
        &request,
        serde_json::to_vec(&json!({"rows": rows, "models": dirs})).unwrap(),
    )
    .unwrap();
    let checker =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/python/mlflow_model_check.py");
    let output = Command::new(&mlflow)
        .arg(&checker)
        .arg(&request)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the checker failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["mlflow_version"], "3.17.2", "{answer}");

    let expected_loaded = |id: &str, task: &str| match (id.split('_').next().unwrap(), task) {
        ("sklearn", "regression") => "sklearn.ensemble._forest.RandomForestRegressor",
        ("sklearn", _) => "sklearn.linear_model._logistic.LogisticRegression",
        ("xgboost", "regression") => "xgboost.sklearn.XGBRegressor",
        ("xgboost", _) => "xgboost.sklearn.XGBClassifier",
        ("tensorflow", _) => "keras.src.models.sequential.Sequential",
        _ => "torch.nn.modules.container.Sequential",
    };
    for ((id, _), checked) in models.iter().zip(answer["models"].as_array().unwrap()) {
        let framework = id.split('_').next().unwrap();
        assert_eq!(checked["flavor"], framework, "{checked}");
        let task = checked["task"].as_str().unwrap();
        assert_eq!(
            task,
            if id.ends_with("regressor") {
                "regression"
            } else {
                "binary_classification"
            }
        );
        assert_eq!(checked["loaded"], expected_loaded(id, task), "{id}");
        assert_eq!(
            checked["signature"],
            json!([["distance", "double"], ["stops", "long"]]),
            "{id}: the features' names and types"
        );
        let ours = &ours[id];
        // The python_function flavor serves with Millrace's own code: the same numbers.
        assert_close(&format!("{id} pyfunc"), &checked["pyfunc"], ours, 1e-12);
        // The flavor's loader rebuilds the framework's model from its own files; a Keras
        // model and a torch module recompute in float32.
        let tolerance = if matches!(framework, "tensorflow" | "pytorch") {
            1e-5
        } else {
            1e-12
        };
        assert_close(
            &format!("{id} {framework} flavor"),
            &checked["flavor_predictions"],
            ours,
            tolerance,
        );
        if task == "binary_classification" {
            assert!(
                ours.iter().all(|p| (0.0..=1.0).contains(p)),
                "{id}: probabilities of class 1"
            );
        }
    }
}
