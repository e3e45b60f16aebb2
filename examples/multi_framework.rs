//! The course's multi-framework lab: scikit-learn, XGBoost and a Rust-native model trained in
//! parallel on the same transformed taxi examples, each evaluated, the best one pushed.
//!
//! ```text
//! cargo run --release --example multi_framework -- run --parallelism 3
//! MILLRACE_PYTHON=.venv/bin/python cargo run --release --example multi_framework
//! ```
//!
//! The Python trainers run `python3` from `PATH` (or `MILLRACE_PYTHON`), which needs `pyarrow`,
//! `scikit-learn` and `xgboost` (`pip install pyarrow scikit-learn xgboost-cpu`). Each trainer
//! is a node of its own: with `--parallelism 3` (the default is the number of cores) the three
//! train at once. `select_best` reads the three evaluations and passes the model with the
//! lowest RMSE — if its evaluator blessed it — to the Pusher (`serving/multi_framework`).
//!
//! PyTorch joins the same way: `PythonTrainer::pytorch(Task::Regression, "fare")` (a multilayer
//! perceptron; `pip install torch`).

use millrace::components::model::{
    Algorithm, Evaluation, Evaluator, Metric, Pusher, PythonTrainer, Task, Threshold, Trainer,
    copy_model,
};
use millrace::components::{CsvExampleGen, Transform};
use millrace::prelude::*;
use millrace::tabular::transform::{Fill, TransformOp};

/// The label.
const LABEL: &str = "fare";

/// The trip features, filled with their medians by the Transform.
const FEATURES: [&str; 4] = [
    "trip_miles",
    "trip_seconds",
    "trip_start_hour",
    "pickup_community_area",
];

fn filled(feature: &str) -> String {
    format!("{feature}_filled")
}

/// Reads an evaluation's overall RMSE and verdict.
fn rmse_and_verdict(evaluation: &Input<ModelEvaluation>) -> Result<(f64, bool), ComponentError> {
    let path = evaluation.uri().join("evaluation.json");
    let evaluation: Evaluation = serde_json::from_slice(&std::fs::read(&path)?)?;
    let rmse = evaluation
        .overall
        .get("rmse")
        .copied()
        .ok_or_else(|| ComponentError::new(format!("{}: no overall rmse", path.display())))?;
    Ok((rmse, evaluation.blessed))
}

/// Picks the model with the lowest evaluation RMSE; it is blessed when its evaluator blessed it.
#[millrace::component(kind = "multi_framework.SelectBest")]
#[allow(clippy::too_many_arguments)] // One input per candidate and its evaluation.
async fn select_best(
    sklearn: Input<Model>,
    sklearn_evaluation: Input<ModelEvaluation>,
    xgboost: Input<Model>,
    xgboost_evaluation: Input<ModelEvaluation>,
    rust: Input<Model>,
    rust_evaluation: Input<ModelEvaluation>,
    best: Output<Model>,
    blessing: Output<ModelBlessing>,
) -> Result<(), ComponentError> {
    let candidates = [
        (
            "scikit-learn",
            &sklearn,
            rmse_and_verdict(&sklearn_evaluation)?,
        ),
        ("xgboost", &xgboost, rmse_and_verdict(&xgboost_evaluation)?),
        ("rust", &rust, rmse_and_verdict(&rust_evaluation)?),
    ];
    let Some((name, model, (rmse, blessed))) =
        candidates.iter().min_by(|a, b| a.2.0.total_cmp(&b.2.0))
    else {
        return Err(ComponentError::new("no candidate"));
    };
    copy_model(model.uri(), best.uri())?;
    best.set_custom_property("framework", *name);
    best.set_custom_property("rmse", *rmse);
    for (candidate, _, (value, _)) in &candidates {
        best.set_custom_property(&format!("rmse_{candidate}"), *value);
    }
    blessing.set_property("blessed", *blessed)?;
    Ok(())
}

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("multi-framework");
    p.description("scikit-learn, XGBoost and Rust trained side by side; the best one pushed.");
    let rmse_max = p.param("rmse_max", 10.0_f64);
    p.describe_param(&rmse_max, "The RMSE a model must stay below to be pushed.");
    let python = std::env::var("MILLRACE_PYTHON")
        .ok()
        .filter(|python| !python.is_empty())
        .unwrap_or_else(|| "python3".to_owned());
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/chicago_taxi/data.csv"
    );

    let ingest = p.add("example_gen", CsvExampleGen::new(data));
    let fills = FEATURES
        .iter()
        .map(|feature| TransformOp::FillMissing {
            input: (*feature).to_owned(),
            output: filled(feature),
            with: Fill::Median,
        })
        .collect();
    let transform = p.add(
        "transform",
        Transform::new(ingest.examples, fills, &[LABEL]),
    );
    let features: Vec<String> = FEATURES.iter().map(|feature| filled(feature)).collect();

    let sklearn = p.add(
        "sklearn_trainer",
        PythonTrainer::scikit_learn("gradient_boosting_regressor", Task::Regression, LABEL)
            .hyperparameter("max_iter", 200)
            .hyperparameter("random_state", 0)
            .features(features.clone())
            .python(&python)
            .on_transformed(transform.transformed_examples, transform.transform_graph),
    );
    let xgboost = p.add(
        "xgboost_trainer",
        PythonTrainer::xgboost(Task::Regression, LABEL)
            .hyperparameter("n_estimators", 200)
            .hyperparameter("max_depth", 6)
            .hyperparameter("learning_rate", 0.1)
            .features(features.clone())
            .python(&python)
            .on_transformed(transform.transformed_examples, transform.transform_graph),
    );
    let rust = p.add(
        "rust_trainer",
        Trainer::with_transform(
            transform.transformed_examples,
            transform.transform_graph,
            Algorithm::RandomForestRegressor {
                trees: 100.into(),
                max_depth: Some(12.into()),
            },
            LABEL,
        )
        .configure(|trainer| trainer.features = features.clone()),
    );
    let mut evaluate = |id: &str, model: Channel<Model>| {
        p.add(
            id,
            Evaluator::new(
                ingest.examples,
                model,
                vec![Threshold::below(Metric::Rmse, &rmse_max)],
            ),
        )
        .evaluation
    };
    let sklearn_evaluation = evaluate("sklearn_evaluator", sklearn.model);
    let xgboost_evaluation = evaluate("xgboost_evaluator", xgboost.model);
    let rust_evaluation = evaluate("rust_evaluator", rust.model);
    let best = p.add(
        "select_best",
        SelectBest::new(
            sklearn.model,
            sklearn_evaluation,
            xgboost.model,
            xgboost_evaluation,
            rust.model,
            rust_evaluation,
        ),
    );
    p.add(
        "pusher",
        Pusher::new(best.best, best.blessing, "serving/multi_framework"),
    );
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // With no arguments, run the pipeline.
    let options = millrace::cli::Options::default().when_no_arguments(["run"]);
    millrace::cli::main_with(pipeline, options).await
}
