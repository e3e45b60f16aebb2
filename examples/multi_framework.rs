//! The course's four-framework lab: TensorFlow, PyTorch, scikit-learn, XGBoost and a
//! Rust-native forest trained in parallel on the same transformed taxi examples, each evaluated,
//! the blessed model with the lowest RMSE pushed.
//!
//! ```text
//! MILLRACE_PYTHON=.venv-trainers/bin/python \
//!     cargo run --release --example multi_framework -- run --parallelism 4
//! MILLRACE_PYTHON=... cargo run --release --example multi_framework -- run --param pytorch=true
//! cargo run --example multi_framework -- compile --target kfp --image localhost/multi-framework:1
//! cargo run --example multi_framework -- image --all --out images/
//! ```
//!
//! The Python trainers run `python3` from `PATH`, or `MILLRACE_PYTHON`: an interpreter with
//! `pyarrow`, `scikit-learn`, `xgboost-cpu`, `tensorflow-cpu` and `keras` — the trainers' venv
//! that `cargo xtask test` makes (`tools/trainers/requirements.txt`). Each trainer is a node of
//! its own, so with `--parallelism 4` (the default is the number of cores) the four train at
//! once.
//!
//! **PyTorch** is in the pipeline always, behind the runtime parameter `pytorch` (default
//! `false`): its trainer has the condition `pytorch == true`, so by default it and its evaluator
//! are skipped, and `--param pytorch=true` trains it where torch is installed
//! (`MILLRACE_PYTORCH_PYTHON`, default the same interpreter). The pipeline compiled for an engine
//! therefore holds all five trainers whatever this machine has, and the engine decides per run.
//!
//! `select_best` runs once every evaluation is done (trigger rule `all_done`, so a skipped
//! PyTorch branch does not skip it; its PyTorch inputs are optional). It reads the evaluations
//! and passes on the **blessed model with the lowest RMSE**, blessed — or, when no evaluator
//! blessed its model, the lowest-RMSE one, not blessed, which the Pusher then keeps back. The
//! Pusher writes to `serving/multi_framework`.
//!
//! **Images**: each framework's trainer and evaluator (which serves the model with the same
//! framework) run in an image of their own, `localhost/multi-framework-<framework>:latest`
//! ([`Framework::image`]); `image --all --out DIR` writes one Containerfile per image with only
//! that framework pinned, `image build --node tensorflow_trainer` builds one, and
//! `compile --target kfp|argo --image <pipeline image>` gives those nodes their framework's image
//! and every other node (ingestion, transform, the Rust forest, the choice, the push) the
//! pipeline's.

use millrace::components::model::{
    Algorithm, Evaluation, Evaluator, Framework, Metric, Pusher, PythonTrainer, Task, Threshold,
    Trainer, copy_model,
};
use millrace::components::{CsvExampleGen, Transform};
use millrace::prelude::*;
use millrace::tabular::transform::{Fill, TransformOp};

/// Where the framework images live: `<repository>-<framework>:<tag>`.
const IMAGE_REPOSITORY: &str = "localhost/multi-framework";

/// The tag of the framework images.
const IMAGE_TAG: &str = "latest";

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

/// One trained model and what its evaluator said.
struct Candidate<'a> {
    name: &'static str,
    model: &'a Input<Model>,
    rmse: f64,
    blessed: bool,
}

/// The candidate to push: the blessed one with the lowest RMSE, else the lowest-RMSE one.
fn pick<'a, 'b>(candidates: &'b [Candidate<'a>]) -> Option<&'b Candidate<'a>> {
    let lowest = |blessed_only: bool| {
        candidates
            .iter()
            .filter(|candidate| candidate.blessed || !blessed_only)
            .min_by(|a, b| a.rmse.total_cmp(&b.rmse))
    };
    lowest(true).or_else(|| lowest(false))
}

/// Picks the blessed model with the lowest evaluation RMSE (see the module doc).
#[millrace::component(kind = "multi_framework.SelectBest")]
#[allow(clippy::too_many_arguments)] // One input per candidate and its evaluation.
async fn select_best(
    tensorflow: Input<Model>,
    tensorflow_evaluation: Input<ModelEvaluation>,
    pytorch: Option<Input<Model>>,
    pytorch_evaluation: Option<Input<ModelEvaluation>>,
    sklearn: Input<Model>,
    sklearn_evaluation: Input<ModelEvaluation>,
    xgboost: Input<Model>,
    xgboost_evaluation: Input<ModelEvaluation>,
    rust: Input<Model>,
    rust_evaluation: Input<ModelEvaluation>,
    best: Output<Model>,
    blessing: Output<ModelBlessing>,
) -> Result<(), ComponentError> {
    let pytorch = pytorch.as_ref().zip(pytorch_evaluation.as_ref());
    let present = [
        ("tensorflow", Some((&tensorflow, &tensorflow_evaluation))),
        ("pytorch", pytorch),
        ("scikit-learn", Some((&sklearn, &sklearn_evaluation))),
        ("xgboost", Some((&xgboost, &xgboost_evaluation))),
        ("rust", Some((&rust, &rust_evaluation))),
    ];
    let mut candidates = Vec::new();
    for (name, inputs) in present {
        if let Some((model, evaluation)) = inputs {
            let (rmse, blessed) = rmse_and_verdict(evaluation)?;
            candidates.push(Candidate {
                name,
                model,
                rmse,
                blessed,
            });
        }
    }
    let Some(chosen) = pick(&candidates) else {
        return Err(ComponentError::new("no candidate model to choose from"));
    };
    copy_model(chosen.model.uri(), best.uri())?;
    best.set_custom_property("framework", chosen.name);
    best.set_custom_property("rmse", chosen.rmse);
    for candidate in &candidates {
        best.set_custom_property(&format!("rmse_{}", candidate.name), candidate.rmse);
        best.set_custom_property(&format!("blessed_{}", candidate.name), candidate.blessed);
    }
    blessing.set_property("blessed", chosen.blessed)?;
    Ok(())
}

/// An interpreter from the environment variable `name`, else `fallback`.
fn interpreter(name: &str, fallback: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|python| !python.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("multi-framework");
    p.description(
        "TensorFlow, PyTorch, scikit-learn, XGBoost and Rust trained side by side; the blessed \
         model with the lowest RMSE pushed.",
    );
    let rmse_max = p.param("rmse_max", 10.0_f64);
    p.describe_param(&rmse_max, "The RMSE a model must stay below to be pushed.");
    let with_pytorch = p.param("pytorch", false);
    p.describe_param(
        &with_pytorch,
        "Train the PyTorch model too (where the trainers' interpreter has torch).",
    );
    let python = interpreter("MILLRACE_PYTHON", "python3");
    let pytorch_python = interpreter("MILLRACE_PYTORCH_PYTHON", &python);
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

    // Every Python trainer: the same features, examples and transform graph, its framework's
    // image on container engines.
    let python_trainer = |trainer: PythonTrainer, interpreter: &str| {
        let image = trainer.framework.image(IMAGE_REPOSITORY, IMAGE_TAG);
        trainer
            .features(features.clone())
            .python(interpreter)
            .on_transformed(transform.transformed_examples, transform.transform_graph)
            .image(image)
    };
    let tensorflow = p.add(
        "tensorflow_trainer",
        python_trainer(
            PythonTrainer::tensorflow(Task::Regression, LABEL)
                .hyperparameter("hidden", vec![32, 16])
                .hyperparameter("epochs", 20)
                .hyperparameter("batch_size", 256)
                .hyperparameter("learning_rate", 0.005)
                .hyperparameter("seed", 0),
            &python,
        ),
    );
    let pytorch = p.add(
        "pytorch_trainer",
        python_trainer(
            PythonTrainer::pytorch(Task::Regression, LABEL)
                .hyperparameter("hidden", vec![32, 16])
                .hyperparameter("epochs", 300)
                .hyperparameter("seed", 0),
            &pytorch_python,
        )
        .when(with_pytorch.equals(true)),
    );
    let sklearn = p.add(
        "sklearn_trainer",
        python_trainer(
            PythonTrainer::scikit_learn("gradient_boosting_regressor", Task::Regression, LABEL)
                .hyperparameter("max_iter", 200)
                .hyperparameter("random_state", 0),
            &python,
        ),
    );
    let xgboost = p.add(
        "xgboost_trainer",
        python_trainer(
            PythonTrainer::xgboost(Task::Regression, LABEL)
                .hyperparameter("n_estimators", 200)
                .hyperparameter("max_depth", 6)
                .hyperparameter("learning_rate", 0.1),
            &python,
        ),
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
    // A Python model's evaluator serves it with its framework: it runs in the same image.
    let mut evaluate = |id: &str, model: Channel<Model>, framework: Option<Framework>| {
        let evaluator = Evaluator::new(
            ingest.examples,
            model,
            vec![Threshold::below(Metric::Rmse, &rmse_max)],
        );
        let evaluator = match framework {
            Some(framework) => evaluator.image(framework.image(IMAGE_REPOSITORY, IMAGE_TAG)),
            None => evaluator,
        };
        p.add(id, evaluator).evaluation
    };
    let tensorflow_evaluation = evaluate(
        "tensorflow_evaluator",
        tensorflow.model,
        Some(Framework::TensorFlow),
    );
    let pytorch_evaluation = evaluate("pytorch_evaluator", pytorch.model, Some(Framework::PyTorch));
    let sklearn_evaluation = evaluate(
        "sklearn_evaluator",
        sklearn.model,
        Some(Framework::ScikitLearn),
    );
    let xgboost_evaluation = evaluate("xgboost_evaluator", xgboost.model, Some(Framework::XGBoost));
    let rust_evaluation = evaluate("rust_evaluator", rust.model, None);
    let best = p.add(
        "select_best",
        SelectBest::new(
            tensorflow.model,
            tensorflow_evaluation,
            Some(pytorch.model),
            Some(pytorch_evaluation),
            sklearn.model,
            sklearn_evaluation,
            xgboost.model,
            xgboost_evaluation,
            rust.model,
            rust_evaluation,
        )
        // A skipped PyTorch branch must not skip the choice.
        .trigger_rule(TriggerRule::AllDone),
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
