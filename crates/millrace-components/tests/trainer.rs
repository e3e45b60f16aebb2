//! The Rust-native Trainer in a pipeline: trains on the transformed taxi examples, writes a model
//! directory whose manifest describes it, and the loaded model predicts raw rows exactly as it
//! predicts the transformed ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::collections::BTreeMap;

use millrace_components::data::examples_format::read_split;
use millrace_components::data::transform::{Fill, TransformOp};
use millrace_components::model::{
    Algorithm, Features, Flavor, LoadedModel, ModelManifest, Predict, Task, TrainFn, TrainFnError,
    Trainer,
};
use millrace_components::{CsvExampleGen, Transform};
use millrace_core::prelude::*;
use millrace_runner::{LocalRunner, NodeState};

#[tokio::test]
async fn a_trained_model_carries_its_transform_and_predicts_raw_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("train");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let ops = vec![
        TransformOp::FillMissing {
            input: "trip_seconds".into(),
            output: "seconds".into(),
            with: Fill::Median,
        },
        TransformOp::ZScore {
            input: "seconds".into(),
            output: "seconds_z".into(),
        },
        TransformOp::ZScore {
            input: "trip_miles".into(),
            output: "miles_z".into(),
        },
    ];
    let transform = p.add("transform", Transform::new(ingest.examples, ops, &["fare"]));
    p.add(
        "trainer",
        Trainer::with_transform(
            transform.transformed_examples,
            transform.transform_graph,
            Algorithm::LinearRegression,
            "fare",
        ),
    );
    p.add(
        "forest",
        Trainer::new(
            ingest.examples,
            Algorithm::RandomForestRegressor {
                trees: 20.into(),
                max_depth: Some(6.into()),
            },
            "fare",
        )
        .configure(|t| t.features = vec!["trip_miles".into(), "trip_seconds".into()]),
    );
    p.add(
        "bad",
        Trainer::new(ingest.examples, Algorithm::LinearRegression, "fare").configure(|t| {
            t.features = vec!["company".into()];
        }),
    );
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let summary = LocalRunner::new(store, dir.path())
        .run(&p.build().unwrap(), BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        summary.node("trainer").unwrap().state,
        NodeState::Complete,
        "{summary:?}"
    );
    assert_eq!(
        summary.node("forest").unwrap().state,
        NodeState::Complete,
        "{summary:?}"
    );
    let bad = summary.node("bad").unwrap();
    assert_eq!(bad.state, NodeState::Failed);
    assert!(
        bad.message
            .as_deref()
            .unwrap()
            .contains("feature `company` is not numeric"),
        "{bad:?}"
    );

    let model_dir = common::output_dir(dir.path(), "train", "trainer", "model");
    let manifest = ModelManifest::read(&model_dir).unwrap();
    assert_eq!(manifest.task, Task::Regression);
    assert!(
        matches!(&manifest.flavor, Flavor::RustNative { algorithm, .. } if algorithm == "linear_regression")
    );
    let inputs: Vec<&str> = manifest
        .signature
        .inputs
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        inputs,
        ["seconds", "seconds_z", "miles_z"],
        "every numeric column but the label"
    );
    assert_eq!(manifest.signature.label, "fare");
    assert_eq!(
        manifest.transform_graph.as_deref(),
        Some("transform_graph.json")
    );
    assert_eq!(manifest.produced_by.as_ref().unwrap().node, "trainer");
    assert!(
        manifest.metrics["r2"] > 0.0,
        "better than predicting the mean: {:?}",
        manifest.metrics
    );

    // Serving: raw rows through the model's own transform give the same predictions as the
    // transformed rows training saw.
    let model = LoadedModel::load(&model_dir).unwrap();
    let raw = read_split(
        &common::output_dir(dir.path(), "train", "example_gen", "examples"),
        "eval",
    )
    .unwrap();
    let prepared = read_split(
        &common::output_dir(dir.path(), "train", "transform", "transformed_examples"),
        "eval",
    )
    .unwrap();
    let mut predicted = 0;
    for (raw, prepared) in raw.iter().zip(&prepared) {
        let from_raw = model.predict(raw).unwrap();
        let from_prepared = model.predict_prepared(prepared).unwrap();
        assert_eq!(from_raw, from_prepared);
        assert_eq!(from_raw.len(), raw.num_rows());
        predicted += from_raw.iter().filter(|p| p.is_some()).count();
    }
    assert!(predicted > 4_000, "{predicted} eval rows predicted");

    let forest =
        ModelManifest::read(&common::output_dir(dir.path(), "train", "forest", "model")).unwrap();
    assert!(forest.transform_graph.is_none());
    assert!(
        forest.metrics["rmse"] < manifest.metrics["rmse"] * 1.5,
        "{:?}",
        forest.metrics
    );
}

#[tokio::test]
async fn the_tuner_picks_the_best_trial_and_the_trainer_fits_it() {
    use millrace_components::model::{Metric, Search, Tuner, TuningResult};
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("tune");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let tuner = Tuner {
        algorithm: "random_forest_regressor".to_owned(),
        space: BTreeMap::from([
            (
                "trees".to_owned(),
                vec![serde_json::json!(5), serde_json::json!(15)],
            ),
            (
                "max_depth".to_owned(),
                vec![serde_json::json!(2), serde_json::json!(6)],
            ),
        ]),
        search: Search::Grid,
        objective: Metric::Rmse,
        features: vec!["trip_miles".into(), "trip_seconds".into()],
        label: "fare".to_owned(),
        parallel_trials: 2,
    };
    let tuned = p.add("tuner", tuner.tune(ingest.examples));
    p.add(
        "trainer",
        Trainer::tuned(ingest.examples, tuned.best_hyperparameters, "fare")
            .configure(|t| t.features = vec!["trip_miles".into(), "trip_seconds".into()]),
    );
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let summary = LocalRunner::new(store, dir.path())
        .run(&p.build().unwrap(), BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        summary.node("trainer").unwrap().state,
        NodeState::Complete,
        "{summary:?}"
    );
    let result = TuningResult::read(&common::output_dir(
        dir.path(),
        "tune",
        "tuner",
        "best_hyperparameters",
    ))
    .unwrap();
    assert_eq!(result.trials.len(), 4);
    let lowest = result
        .trials
        .iter()
        .map(|t| t.value)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(result.best_value, lowest, "RMSE is minimised");
    let manifest =
        ModelManifest::read(&common::output_dir(dir.path(), "tune", "trainer", "model")).unwrap();
    assert!(
        matches!(&manifest.flavor, Flavor::RustNative { algorithm, .. } if algorithm == "random_forest_regressor")
    );
}

/// The user's own training code: least squares through the origin on one feature.
#[derive(serde::Serialize, serde::Deserialize)]
struct ThroughOrigin {
    /// Added to the fitted slope, to tell configurations apart.
    nudge: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Slope(f64);

impl Predict for Slope {
    fn predict(&self, features: &Features) -> Result<Vec<f64>, TrainFnError> {
        if features.columns != 1 {
            return Err(format!("one feature expected, got {}", features.columns).into());
        }
        Ok(features.values.iter().map(|x| self.0 * x).collect())
    }
}

impl TrainFn for ThroughOrigin {
    const NAME: &'static str = "test.through_origin";
    const TASK: Task = Task::Regression;
    type Model = Slope;
    fn train(&self, features: &Features, labels: &[f64]) -> Result<Slope, TrainFnError> {
        if self.nudge < 0.0 {
            return Err(format!("nudge {} is negative", self.nudge).into());
        }
        let xy: f64 = features.values.iter().zip(labels).map(|(x, y)| x * y).sum();
        let xx: f64 = features.values.iter().map(|x| x * x).sum();
        if xx == 0.0 {
            return Err("every value of the feature is 0".into());
        }
        Ok(Slope(xy / xx + self.nudge))
    }
}

millrace_components::register_train_fn!(ThroughOrigin);

#[tokio::test]
async fn the_users_own_training_code_trains_evaluates_and_serves() {
    use millrace_components::model::{Evaluation, Evaluator, Metric, Threshold};
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("own");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let algorithm = Algorithm::custom(&ThroughOrigin { nudge: 0.0 }).unwrap();
    let trained = p.add(
        "trainer",
        Trainer::new(ingest.examples, algorithm, "fare")
            .configure(|t| t.features = vec!["trip_miles".into()]),
    );
    p.add(
        "evaluator",
        Evaluator::new(
            ingest.examples,
            trained.model,
            vec![Threshold::below(Metric::Rmse, 50.0)],
        ),
    );
    p.add(
        "negative",
        Trainer::new(
            ingest.examples,
            Algorithm::custom(&ThroughOrigin { nudge: -1.0 }).unwrap(),
            "fare",
        )
        .configure(|t| t.features = vec!["trip_miles".into()]),
    );
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let summary = LocalRunner::new(store, dir.path())
        .keep_going(true)
        .run(&p.build().unwrap(), BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        summary.node("evaluator").unwrap().state,
        NodeState::Complete,
        "{summary:?}"
    );

    let model_dir = common::output_dir(dir.path(), "own", "trainer", "model");
    let manifest = ModelManifest::read(&model_dir).unwrap();
    assert!(
        matches!(&manifest.flavor, Flavor::RustNative { algorithm, .. } if algorithm == "test.through_origin")
    );
    // The slope is the least-squares one, recomputed here from the training split.
    let train = read_split(
        &common::output_dir(dir.path(), "own", "example_gen", "examples"),
        "train",
    )
    .unwrap();
    let (features, labels, _) =
        millrace_components::model::features_of(&train, &["trip_miles".into()], Some("fare"))
            .unwrap();
    let slope = ThroughOrigin { nudge: 0.0 }
        .train(&features, &labels)
        .unwrap()
        .0;
    let model = LoadedModel::load(&model_dir).unwrap();
    let one = arrow_array::RecordBatch::try_from_iter([(
        "trip_miles",
        std::sync::Arc::new(arrow_array::Float64Array::from(vec![2.0])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    assert_eq!(model.predict(&one).unwrap(), [Some(2.0 * slope)]);
    let evaluation: Evaluation = serde_json::from_slice(
        &std::fs::read(
            common::output_dir(dir.path(), "own", "evaluator", "evaluation")
                .join("evaluation.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(evaluation.overall["rmse"].is_finite(), "{evaluation:?}");

    // The user's error is the node's error.
    let negative = summary.node("negative").unwrap();
    assert_eq!(negative.state, NodeState::Failed);
    assert!(
        negative
            .message
            .as_deref()
            .unwrap()
            .contains("training test.through_origin failed: nudge -1 is negative"),
        "{negative:?}"
    );
}
