//! The data half of the Chicago taxi pipeline: ingest → statistics → schema → validate →
//! transform, on the real trip data, with HTML reports of the statistics and the anomalies.
//!
//! ```text
//! cargo run --release --example taxi_data                 # runs it (on examples/data/chicago_taxi)
//! cargo run --release --example taxi_data -- artifacts list --type ExampleStatistics
//! TAXI_DATA='data/span-{SPAN}/*.csv' cargo run --release --example taxi_data   # spans of your own
//! ```
//!
//! The statistics report is `statistics.html` in the ExampleStatistics artifact's directory,
//! the anomalies report `anomalies.html` in the ExampleAnomalies one (`artifacts list` shows
//! where). Each run also compares the data with the previous run's statistics for drift.
//!
//! StatisticsGen runs in four shards and Transform's apply in two (`.shards(n)`): each shard is
//! a task, merged into the one artifact a single task would write — what profiles a data set
//! too big for one machine on an engine (`compile --target kfp|argo|airflow`).

use millrace::components::{CsvExampleGen, ExampleValidator, SchemaGen, StatisticsGen, Transform};
use millrace::prelude::*;
use millrace::tabular::schema::InferenceOptions;
use millrace::tabular::transform::{Fill, TransformOp};

/// The preprocessing of the taxi features: what training and serving both apply.
fn preprocessing() -> Vec<TransformOp> {
    let text = |s: &str| s.to_owned();
    vec![
        TransformOp::FillMissing {
            input: text("trip_seconds"),
            output: text("trip_seconds_filled"),
            with: Fill::Median,
        },
        TransformOp::Log {
            input: text("trip_seconds_filled"),
            output: text("trip_seconds_log"),
            offset: 1.0,
        },
        TransformOp::ZScore {
            input: text("trip_seconds_log"),
            output: text("trip_seconds_z"),
        },
        TransformOp::ZScore {
            input: text("trip_miles"),
            output: text("trip_miles_z"),
        },
        TransformOp::Bucketize {
            input: text("pickup_latitude"),
            output: text("pickup_latitude_bucket"),
            buckets: 10,
        },
        TransformOp::Bucketize {
            input: text("pickup_longitude"),
            output: text("pickup_longitude_bucket"),
            buckets: 10,
        },
        TransformOp::Vocabulary {
            input: text("payment_type"),
            output: text("payment_type_id"),
            top_k: None,
            num_oov_buckets: 1,
        },
        TransformOp::Vocabulary {
            input: text("company"),
            output: text("company_id"),
            top_k: Some(20),
            num_oov_buckets: 2,
        },
        TransformOp::OneHot {
            input: text("payment_type"),
            output: text("payment"),
            top_k: Some(4),
        },
        TransformOp::Cross {
            inputs: vec![text("pickup_community_area"), text("trip_start_hour")],
            output: text("area_x_hour"),
            buckets: 1000,
        },
    ]
}

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("chicago-taxi-data");
    p.description("Ingests, profiles, validates and preprocesses the Chicago taxi trips.");
    let data = std::env::var("TAXI_DATA")
        .ok()
        .filter(|pattern| !pattern.is_empty())
        .unwrap_or_else(|| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/data/chicago_taxi/data.csv"
            )
            .to_owned()
        });

    let ingest = p.add("example_gen", CsvExampleGen::new(data));
    // Profiled in four shards and transformed in two, each shard a task of its own (parallel
    // nodes here; a ParallelFor on KFP, withItems on Argo, mapped tasks on Airflow), merged into
    // the artifacts one task would write.
    let stats = p.add(
        "statistics_gen",
        StatisticsGen::new(ingest.examples).shards(4),
    );
    let schema = p.add(
        "schema_gen",
        SchemaGen::new(stats.statistics).configure(|schema_gen| {
            schema_gen.inference = InferenceOptions {
                drift_threshold: Some(0.1),
                skew_threshold: Some(0.1),
                ..InferenceOptions::default()
            };
        }),
    );
    let previous = p.resolve("previous_statistics", LatestArtifact::of(stats.statistics));
    p.add(
        "example_validator",
        ExampleValidator::with_previous(stats.statistics, schema.schema, previous.artifact),
    );
    p.add(
        "transform",
        Transform::new(ingest.examples, preprocessing(), &["fare", "tips"]).shards(2),
    );
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // With no arguments, run the pipeline.
    let options = millrace::cli::Options::default().when_no_arguments(["run"]);
    millrace::cli::main_with(pipeline, options).await
}
