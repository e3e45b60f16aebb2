//! The Evaluator in a pipeline: metrics on the eval split overall and per slice, a blessing
//! against a runtime-parameter threshold and the last blessed model, and an HTML report.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use millrace_components::CsvExampleGen;
use millrace_components::data::example_gen::ExampleGenOutputs;
use millrace_components::data::examples_format::read_split;
use millrace_components::model::metrics::regression_metrics;
use millrace_components::model::trainer::TrainerOutputs;
use millrace_components::model::{
    Algorithm, Evaluation, Evaluator, LoadedModel, Metric, Threshold, Trainer,
};
use millrace_components::model::{BulkInferrer, InfraReport, InfraValidator, Pusher};
use millrace_core::prelude::*;
use millrace_core::resolver::BlessedModelOutputs;
use millrace_core::{PipelineBuilder, RuntimeParameter};
use millrace_runner::{LocalRunner, NodeState};

/// The taxi examples, a decision tree of runtime-parameter depth on two features, and the last
/// blessed tree: what both test pipelines start with. Also the `rmse_max` parameter.
fn tree_and_baseline(
    p: &mut PipelineBuilder,
) -> (
    RuntimeParameter<f64>,
    ExampleGenOutputs,
    TrainerOutputs,
    BlessedModelOutputs,
) {
    let rmse_max = p.param("rmse_max", 20.0_f64);
    let max_depth = p.param("max_depth", 6_i64);
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    let tree = Algorithm::DecisionTreeRegressor {
        max_depth: Some((&max_depth).into()),
    };
    let trained = p.add(
        "trainer",
        Trainer::new(ingest.examples, tree, "fare")
            .configure(|t| t.features = vec!["trip_miles".into(), "trip_seconds".into()]),
    );
    let baseline = p.resolve(
        "latest_blessed_model",
        LatestBlessedModel::of(trained.model),
    );
    (rmse_max, ingest, trained, baseline)
}

fn pipeline(serving: &Path) -> Pipeline {
    let mut p = Pipeline::builder("evaluate");
    let (rmse_max, ingest, trained, baseline) = tree_and_baseline(&mut p);
    let evaluated = p.add(
        "evaluator",
        Evaluator::with_baseline(
            ingest.examples,
            trained.model,
            baseline.model,
            vec![
                Threshold::below(Metric::Rmse, &rmse_max),
                Threshold::not_worse_than_baseline(Metric::Rmse),
            ],
        )
        .configure(|e| e.slices = vec!["payment_type".into()]),
    );
    let infra = p.add(
        "infra_validator",
        InfraValidator::new(trained.model, ingest.examples),
    );
    p.add(
        "pusher",
        Pusher::with_infra(
            trained.model,
            evaluated.blessing,
            infra.blessing,
            &serving.display().to_string(),
        ),
    );
    p.add(
        "bulk_inferrer",
        BulkInferrer::new(ingest.examples, trained.model)
            .configure(|b| b.splits = vec!["eval".into()]),
    );
    p.build().unwrap()
}

#[tokio::test]
async fn models_are_blessed_only_under_the_threshold_and_metrics_match_the_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let runner = LocalRunner::new(store, dir.path());
    let serving = dir.path().join("serving");
    let pipeline = pipeline(&serving);
    let versions = || {
        let mut names: Vec<String> = std::fs::read_dir(&serving)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    let defaults = pipeline.parameter_values(&BTreeMap::new()).unwrap();
    let first = runner.run(&pipeline, defaults).await.unwrap();
    assert_eq!(
        first.node("evaluator").unwrap().state,
        NodeState::Complete,
        "{first:?}"
    );
    let evaluation_dir = common::output_dirs(dir.path(), "evaluate", "evaluator", "evaluation")
        .pop()
        .unwrap();
    let evaluation: Evaluation =
        serde_json::from_slice(&std::fs::read(evaluation_dir.join("evaluation.json")).unwrap())
            .unwrap();
    assert!(evaluation.blessed, "{evaluation:#?}");
    assert!(
        evaluation.baseline.is_none(),
        "no blessed model before the first run"
    );
    assert!(
        std::fs::read_to_string(evaluation_dir.join("evaluation.html"))
            .unwrap()
            .contains("Blessed")
    );
    assert_eq!(
        versions(),
        ["1"],
        "the blessed model was pushed as version 1"
    );
    assert!(serving.join("1/manifest.json").is_file() && serving.join("1/model.json").is_file());
    let infra: InfraReport = serde_json::from_slice(
        &std::fs::read(
            common::output_dirs(dir.path(), "evaluate", "infra_validator", "blessing")
                .pop()
                .unwrap()
                .join("infra_validation.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        infra.loaded && infra.blessed && infra.canaries == 10 && infra.answered > 0,
        "{infra:?}"
    );

    // The overall RMSE is the RMSE of the model's own predictions on the eval split.
    let model_dir = common::output_dirs(dir.path(), "evaluate", "trainer", "model")
        .pop()
        .unwrap();
    let model = LoadedModel::load(&model_dir).unwrap();
    let examples = common::output_dirs(dir.path(), "evaluate", "example_gen", "examples")
        .pop()
        .unwrap();
    let (mut labels, mut predicted) = (Vec::new(), Vec::new());
    for batch in read_split(&examples, "eval").unwrap() {
        let fares = batch
            .column_by_name("fare")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .unwrap()
            .clone();
        for (prediction, fare) in model.predict(&batch).unwrap().into_iter().zip(fares.iter()) {
            if let (Some(p), Some(y)) = (prediction, fare) {
                predicted.push(p);
                labels.push(y);
            }
        }
    }
    let expected = regression_metrics(&labels, &predicted).unwrap();
    // The bulk inferrer predicted every eval row that has its features.
    let inferred = read_split(
        &common::output_dirs(dir.path(), "evaluate", "bulk_inferrer", "inference_result")
            .pop()
            .unwrap(),
        "eval",
    )
    .unwrap();
    let rows: usize = inferred.iter().map(|batch| batch.num_rows()).sum();
    let eval_rows: usize = read_split(&examples, "eval")
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, eval_rows);
    let inferred_predictions: Vec<f64> = inferred
        .iter()
        .flat_map(|batch| {
            let column = batch
                .column_by_name("prediction")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .unwrap()
                .clone();
            column.iter().flatten().collect::<Vec<_>>()
        })
        .collect();
    assert!(inferred_predictions.len() >= predicted.len());
    // The same predictions: equal up to the order of summation.
    assert!(
        (evaluation.overall["rmse"] - expected.rmse).abs() <= 1e-12 * expected.rmse,
        "{} vs {}",
        evaluation.overall["rmse"],
        expected.rmse
    );
    assert_eq!(evaluation.overall["example_count"], labels.len() as f64);
    let slice_counts: f64 = evaluation.slices.values().map(|m| m["example_count"]).sum();
    assert_eq!(
        slice_counts,
        labels.len() as f64,
        "the payment_type slices partition the examples"
    );
    assert!(
        evaluation.slices.contains_key("payment_type=Cash"),
        "{:?}",
        evaluation.slices.keys()
    );

    // Unchanged: the only blessed model is the candidate itself, which is never its own
    // baseline, so the run resolves what the first did and every node is cached.
    let again = runner
        .run(
            &pipeline,
            pipeline.parameter_values(&BTreeMap::new()).unwrap(),
        )
        .await
        .unwrap();
    for node in [
        "trainer",
        "evaluator",
        "infra_validator",
        "pusher",
        "bulk_inferrer",
    ] {
        assert_eq!(again.node(node).unwrap().state, NodeState::Cached, "{node}");
    }
    let first_rmse = evaluation.overall["rmse"];

    // Another model against a threshold it cannot meet: evaluated against the first model (the
    // last blessed one), not blessed.
    let strict = runner
        .run(
            &pipeline,
            pipeline
                .parameter_values(&BTreeMap::from([
                    ("rmse_max".to_owned(), "0.5".to_owned()),
                    ("max_depth".to_owned(), "3".to_owned()),
                ]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(strict.node("trainer").unwrap().state, NodeState::Complete);
    let evaluation: Evaluation = serde_json::from_slice(
        &std::fs::read(
            common::output_dirs(dir.path(), "evaluate", "evaluator", "evaluation")
                .pop()
                .unwrap()
                .join("evaluation.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!evaluation.blessed);
    let baseline = evaluation
        .baseline
        .as_ref()
        .expect("the first run's model was blessed");
    assert_eq!(
        baseline["rmse"], first_rmse,
        "the baseline is the first run's model"
    );
    let verdicts: Vec<bool> = evaluation.checks.iter().map(|c| c.passed).collect();
    assert_eq!(
        verdicts,
        vec![false, evaluation.overall["rmse"] <= first_rmse],
        "{:?}",
        evaluation.checks
    );
    assert_eq!(
        versions(),
        ["1"],
        "a model that is not blessed is not pushed"
    );
}

/// A trainer, an evaluator with a threshold and the last blessed model as its baseline.
fn re_evaluated_pipeline() -> Pipeline {
    let mut p = Pipeline::builder("re-evaluate");
    let (rmse_max, ingest, trained, baseline) = tree_and_baseline(&mut p);
    p.add(
        "evaluator",
        Evaluator::with_baseline(
            ingest.examples,
            trained.model,
            baseline.model,
            vec![Threshold::below(Metric::Rmse, &rmse_max)],
        ),
    );
    p.build().unwrap()
}

#[tokio::test]
async fn a_model_blessed_when_evaluated_again_becomes_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let runner = LocalRunner::new(store.clone(), dir.path());
    let pipeline = re_evaluated_pipeline();
    let run = |overrides: &[(&str, &str)]| {
        let values = pipeline
            .parameter_values(
                &overrides
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                    .collect(),
            )
            .unwrap();
        let runner = runner.clone();
        let pipeline = pipeline.clone();
        async move { runner.run(&pipeline, values).await.unwrap() }
    };
    let last_evaluation = || -> Evaluation {
        let dir = common::output_dirs(dir.path(), "re-evaluate", "evaluator", "evaluation")
            .pop()
            .unwrap();
        serde_json::from_slice(&std::fs::read(dir.join("evaluation.json")).unwrap()).unwrap()
    };

    // A threshold no model meets: the model is not blessed.
    run(&[("rmse_max", "0.5")]).await;
    assert!(!last_evaluation().blessed);
    // The same model (the trainer is cached) evaluated again, against the default threshold:
    // now it is blessed — by a later reader of the model than the run that trained it.
    let relaxed = run(&[]).await;
    assert_eq!(relaxed.node("trainer").unwrap().state, NodeState::Cached);
    assert!(last_evaluation().blessed);
    let model = store
        .get_artifacts(&millrace_metadata::NodeQuery::all().of_type("Model"))
        .await
        .unwrap()
        .remove(0);
    let blessings = store
        .get_artifacts(&millrace_metadata::NodeQuery::all().of_type("ModelBlessing"))
        .await
        .unwrap();
    assert!(
        blessings.iter().all(|blessing| blessing
            .custom_properties
            .get(ModelBlessing::CURRENT_MODEL_ID)
            == Some(&millrace_metadata::Value::Int(model.id.unwrap()))),
        "every blessing names the model it judged: {blessings:#?}"
    );
    // A new model is compared with it.
    run(&[("max_depth", "3")]).await;
    let evaluation = last_evaluation();
    assert!(
        evaluation.baseline.is_some(),
        "the model blessed on its second evaluation is the baseline: {evaluation:#?}"
    );
}
