//! The taxi pipeline's definition, apart from its `main` so that benchmarks can build it too.

use millrace::components::model::{
    Algorithm, Evaluator, InfraValidator, Metric, Pusher, Registrar, Threshold, Trainer,
};
use millrace::components::{CsvExampleGen, ExampleValidator, SchemaGen, StatisticsGen, Transform};
use millrace::prelude::*;
use millrace::tabular::schema::InferenceOptions;
use millrace::tabular::transform::{Fill, TransformOp};

/// The label.
const LABEL: &str = "fare";

/// The name the model is registered under: every evaluated model is a version, the best one
/// holds the alias `champion`.
pub const REGISTERED_MODEL: &str = "taxi";

/// Numeric trip features, each filled with its median where missing (so that serving can
/// predict every trip) under the name `<feature>_filled`.
const NUMERIC: [&str; 7] = [
    "trip_miles",
    "trip_seconds",
    "trip_start_hour",
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
];

/// The preprocessing training and serving share: median fills and a payment type index.
fn preprocessing() -> Vec<TransformOp> {
    let mut ops: Vec<TransformOp> = NUMERIC
        .iter()
        .map(|feature| TransformOp::FillMissing {
            input: (*feature).to_owned(),
            output: format!("{feature}_filled"),
            with: Fill::Median,
        })
        .collect();
    ops.push(TransformOp::Vocabulary {
        input: "payment_type".to_owned(),
        output: "payment_type_id".to_owned(),
        top_k: Some(8),
        num_oov_buckets: 1,
    });
    ops
}

/// The model's inputs: the transform's outputs.
fn features() -> Vec<String> {
    NUMERIC
        .iter()
        .map(|feature| format!("{feature}_filled"))
        .chain(["payment_type_id".to_owned()])
        .collect()
}

fn from_env(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The Chicago taxi continuous-training pipeline.
pub fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("chicago-taxi");
    p.description(
        "Fare regression on the Chicago taxi trips, pushed when better than a threshold and \
         than the registry's champion, and registered as a version of `taxi`.",
    );
    let rmse_max = p.param("rmse_max", 10.0_f64);
    p.describe_param(
        &rmse_max,
        "The evaluation RMSE a model must stay below to be pushed.",
    );
    let trees = p.param("trees", 40_i64);
    p.describe_param(&trees, "How many trees the forest grows.");
    let max_depth = p.param("max_depth", 12_i64);
    p.describe_param(&max_depth, "The deepest a tree of the forest may grow.");
    let data = from_env(
        "TAXI_DATA",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/chicago_taxi/data.csv"
        ),
    );
    let serving = from_env("TAXI_SERVING", "serving/taxi");

    let ingest = p.add("example_gen", CsvExampleGen::new(data));
    // Continuous training under `serve`: a run when a new span lands (TAXI_DATA with
    // `{SPAN}`), once it has not changed for TAXI_DEBOUNCE seconds; and on TAXI_SCHEDULE, a
    // cron expression, when set.
    let debounce = from_env("TAXI_DEBOUNCE", "5").parse().unwrap_or(5);
    p.trigger_on_new_data("example_gen", debounce);
    if let Some(cron) = std::env::var("TAXI_SCHEDULE")
        .ok()
        .filter(|cron| !cron.is_empty())
    {
        p.schedule(Schedule::cron(cron));
    }
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    let schema = p.add(
        "schema_gen",
        SchemaGen::new(stats.statistics).configure(|schema_gen| {
            schema_gen.inference = InferenceOptions {
                drift_threshold: Some(0.1),
                ..InferenceOptions::default()
            };
        }),
    );
    let previous = p.resolve("previous_statistics", LatestArtifact::of(stats.statistics));
    p.add(
        "example_validator",
        ExampleValidator::with_previous(stats.statistics, schema.schema, previous.artifact),
    );
    let transform = p.add(
        "transform",
        Transform::new(ingest.examples, preprocessing(), &[LABEL]),
    );
    let forest = Algorithm::RandomForestRegressor {
        trees: (&trees).into(),
        max_depth: Some((&max_depth).into()),
    };
    let trained = p.add(
        "trainer",
        Trainer::with_transform(
            transform.transformed_examples,
            transform.transform_graph,
            forest,
            LABEL,
        )
        .configure(|trainer| trainer.features = features()),
    );
    // The baseline to beat is the registry's champion: the evaluator blesses a model that is
    // below the threshold and not worse than it, and the registrar then moves `champion`.
    let baseline = p.resolve(
        "champion",
        ModelAlias::of(REGISTERED_MODEL, "champion").baseline_for(trained.model),
    );
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
        .configure(|evaluator| evaluator.slices = vec!["payment_type".to_owned()]),
    );
    let infra = p.add(
        "infra_validator",
        InfraValidator::new(trained.model, ingest.examples),
    );
    p.add(
        "pusher",
        Pusher::with_infra(trained.model, evaluated.blessing, infra.blessing, &serving),
    );
    p.add(
        "registrar",
        Registrar::with_evaluation(
            trained.model,
            evaluated.blessing,
            evaluated.evaluation,
            REGISTERED_MODEL,
        ),
    );
    p.build()
}
