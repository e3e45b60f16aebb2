//! The Palmer penguins: which of three species (Adelie, Chinstrap, Gentoo) a penguin is, from
//! its bill, flipper and body mass — the TFX tutorial's data set, raw, with its missing values.
//!
//! ingest → statistics → schema → validate → transform (missing measurements filled with the
//! train split's median, then scaled to z-scores; the species kept as text) → train (a random
//! forest classifier; its classes are the species names) → evaluate on the eval split (accuracy,
//! macro and weighted precision / recall / F1, log loss, per-species metrics and the confusion
//! matrix, overall and per island and sex; blessed when the accuracy is above the
//! `accuracy_min` runtime parameter, default 0.9, and not below the last blessed model's) →
//! infra-validate → push to `serving/penguins/<version>`.
//!
//! ```text
//! cargo run --release --example penguins                  # runs it; a second run is cached
//! cargo run --release --example penguins -- run --param trees=5 --param max_depth=2
//! cargo run --release --example penguins -- run --param accuracy_min=1   # not pushed
//! cargo run --release --example penguins -- artifacts list --type ModelEvaluation
//! ```
//!
//! The evaluation's `evaluation.html` (in its artifact's directory) shows the per-species table
//! and the confusion matrices; the pushed model's `manifest.json` lists the classes in the order
//! of its probabilities. `PENGUINS_DATA` reads another CSV of the same columns;
//! `PENGUINS_SERVING` chooses the serving directory.

use millrace::components::model::{
    Algorithm, Evaluator, InfraValidator, Metric, Pusher, Threshold, Trainer,
};
use millrace::components::{CsvExampleGen, ExampleValidator, SchemaGen, StatisticsGen, Transform};
use millrace::prelude::*;
use millrace::tabular::transform::{Fill, TransformOp};

/// The label: the species, as text.
const LABEL: &str = "species";

/// The measurements the model reads.
const MEASUREMENTS: [&str; 4] = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
];

/// Each measurement filled with its median where missing, then as a z-score:
/// `<measurement>_scaled`.
fn preprocessing() -> Vec<TransformOp> {
    MEASUREMENTS
        .iter()
        .flat_map(|measurement| {
            [
                TransformOp::FillMissing {
                    input: (*measurement).to_owned(),
                    output: format!("{measurement}_filled"),
                    with: Fill::Median,
                },
                TransformOp::ZScore {
                    input: format!("{measurement}_filled"),
                    output: format!("{measurement}_scaled"),
                },
            ]
        })
        .collect()
}

fn from_env(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The penguin species pipeline.
fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("penguins");
    p.description(
        "Penguin species (three classes) from body measurements, pushed when accurate enough \
         and not worse than the last blessed model.",
    );
    let accuracy_min = p.param("accuracy_min", 0.9_f64);
    p.describe_param(
        &accuracy_min,
        "The evaluation accuracy a model must exceed to be pushed.",
    );
    let trees = p.param("trees", 50_i64);
    p.describe_param(&trees, "How many trees the forest grows.");
    let max_depth = p.param("max_depth", 8_i64);
    p.describe_param(&max_depth, "The deepest a tree of the forest may grow.");
    let data = from_env(
        "PENGUINS_DATA",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/penguins/penguins.csv"
        ),
    );
    let serving = from_env("PENGUINS_SERVING", "serving/penguins");

    let ingest = p.add("example_gen", CsvExampleGen::new(data));
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    let schema = p.add("schema_gen", SchemaGen::new(stats.statistics));
    p.add(
        "example_validator",
        ExampleValidator::new(stats.statistics, schema.schema),
    );
    let transform = p.add(
        "transform",
        Transform::new(ingest.examples, preprocessing(), &[LABEL]),
    );
    let forest = Algorithm::RandomForestClassifier {
        trees: (&trees).into(),
        max_depth: Some((&max_depth).into()),
        seed: 42,
    };
    let trained = p.add(
        "trainer",
        Trainer::with_transform(
            transform.transformed_examples,
            transform.transform_graph,
            forest,
            LABEL,
        )
        .configure(|trainer| {
            trainer.features = MEASUREMENTS
                .iter()
                .map(|measurement| format!("{measurement}_scaled"))
                .collect();
        }),
    );
    let baseline = p.resolve(
        "latest_blessed_model",
        LatestBlessedModel::of(trained.model),
    );
    let evaluated = p.add(
        "evaluator",
        Evaluator::with_baseline(
            ingest.examples,
            trained.model,
            baseline.model,
            vec![
                Threshold::above(Metric::Accuracy, &accuracy_min),
                Threshold::not_worse_than_baseline(Metric::Accuracy),
            ],
        )
        .configure(|evaluator| evaluator.slices = vec!["island".to_owned(), "sex".to_owned()]),
    );
    let infra = p.add(
        "infra_validator",
        InfraValidator::new(trained.model, ingest.examples),
    );
    p.add(
        "pusher",
        Pusher::with_infra(trained.model, evaluated.blessing, infra.blessing, &serving),
    );
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // With no arguments, run the pipeline: `cargo run --release --example penguins`.
    let options = millrace::cli::Options::default().when_no_arguments(["run"]);
    millrace::cli::main_with(pipeline, options).await
}
