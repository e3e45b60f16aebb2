//! Sharded data components on the local runner: StatisticsGen with 4 shards writes the
//! statistics one task writes (exact figures equal, quantiles and top values within the
//! sketches' stated error) on the 1M-row benchmark file and on the taxi data; sharded Transform
//! and BulkInferrer outputs equal the unsharded ones row for row; each shard is an execution of
//! its own and the merge reads them all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use millrace_components::data::examples_format::{read_split, splits_of};
use millrace_components::data::statistics::{DatasetStatistics, FeatureStatistics};
use millrace_components::data::transform::{Fill, TransformOp};
use millrace_components::model::{Algorithm, BulkInferrer, Trainer};
use millrace_components::{CsvExampleGen, StatisticsGen, Transform};
use millrace_core::prelude::*;
use millrace_metadata::{EventQuery, MetadataStore, NodeQuery};
use millrace_runner::{LocalRunner, NodeState, RunSummary};

async fn run(
    pipeline: &Pipeline,
    root: &Path,
    store: std::sync::Arc<dyn MetadataStore>,
) -> RunSummary {
    LocalRunner::new(store, root)
        .parallelism(4)
        .run(pipeline, BTreeMap::new())
        .await
        .unwrap()
}

/// Examples from `csv`, and their statistics twice: by one task and by `shards` shards.
fn statistics_pipeline(csv: &str, shards: u32) -> Pipeline {
    let mut p = Pipeline::builder("sharded-statistics");
    let ingest = p.add("example_gen", CsvExampleGen::new(csv));
    p.add("whole", StatisticsGen::new(ingest.examples));
    p.add(
        "sharded",
        StatisticsGen::new(ingest.examples).shards(shards),
    );
    p.build().unwrap()
}

fn read_statistics(dir: &Path) -> DatasetStatistics {
    let text = std::fs::read_to_string(dir.join("statistics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every present numeric value of `feature` in the batches, sorted; or the string values with
/// their counts.
enum Values {
    Numeric(Vec<f64>),
    Strings(HashMap<String, u64>),
}

fn values(batches: &[RecordBatch], feature: &str) -> Values {
    let column = |batch: &RecordBatch| batch.column_by_name(feature).unwrap().clone();
    match batches[0].column_by_name(feature).unwrap().data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => {
            let mut counts = HashMap::new();
            for batch in batches {
                let column = column(batch);
                let strings = arrow_cast_strings(&column);
                for value in strings.into_iter().flatten() {
                    *counts.entry(value).or_insert(0) += 1;
                }
            }
            Values::Strings(counts)
        }
        _ => {
            let mut all = Vec::new();
            for batch in batches {
                let column = column(batch);
                match column.data_type() {
                    DataType::Int64 => all.extend(
                        column
                            .as_primitive::<Int64Type>()
                            .iter()
                            .flatten()
                            .map(|v| v as f64),
                    ),
                    DataType::Float64 => all.extend(
                        column
                            .as_primitive::<Float64Type>()
                            .iter()
                            .flatten()
                            .filter(|v| !v.is_nan()),
                    ),
                    other => panic!("feature {feature}: unexpected type {other}"),
                }
            }
            all.sort_by(f64::total_cmp);
            Values::Numeric(all)
        }
    }
}

fn arrow_cast_strings(column: &dyn Array) -> Vec<Option<String>> {
    match column.data_type() {
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        other => panic!("not a string column: {other}"),
    }
}

/// Whether `value` may be the quantile at `rank` of the sorted `values` within `error` (a
/// fraction of the count): some position of `value` in the sorted values is that close.
fn within_rank_error(values: &[f64], value: f64, rank: f64, error: f64) -> bool {
    let n = values.len() as f64;
    let below = values.partition_point(|v| *v < value) as f64;
    let at_most = values.partition_point(|v| *v <= value) as f64;
    let asked = rank * n;
    // One value's slack for the rank convention (the quantile at rank r is a value whose
    // position lies within r·n ± error·n).
    let slack = error * n + 1.0;
    asked >= below - slack && asked <= at_most + slack
}

/// Asserts the sharded document equals the single task's in every exact figure, and that its
/// quantiles and top values are within their stated error of the data's true ones.
fn assert_same_statistics(examples: &Path, whole: &DatasetStatistics, sharded: &DatasetStatistics) {
    assert_eq!(whole.span, sharded.span);
    let names = |s: &DatasetStatistics| s.splits.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(whole), names(sharded));
    for (one, many) in whole.splits.iter().zip(&sharded.splits) {
        assert_eq!(one.num_examples, many.num_examples, "split {}", one.name);
        let batches = read_split(examples, &one.name).unwrap();
        assert_eq!(one.features.len(), many.features.len());
        for (a, b) in one.features.iter().zip(&many.features) {
            assert_same_feature(&one.name, a, b, &batches);
        }
    }
}

/// Equal up to the rounding of combining moments in another order (relative 1e-9: measured up to
/// 1.4e-12, on the taxi latitudes, whose spread is tiny beside their mean).
fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn assert_same_feature(
    split: &str,
    a: &FeatureStatistics,
    b: &FeatureStatistics,
    batches: &[RecordBatch],
) {
    let at = format!("split {split}, feature {}", a.name);
    assert_eq!(a.name, b.name, "{at}");
    assert_eq!(a.feature_type, b.feature_type, "{at}");
    assert_eq!((a.count, a.missing), (b.count, b.missing), "{at}");
    if a.numeric.is_none() && a.string.is_none() {
        // No present value: nothing but the counts.
        assert_eq!(a, b, "{at}");
        return;
    }
    match (&a.numeric, &b.numeric, values(batches, &a.name)) {
        (Some(x), Some(y), Values::Numeric(data)) => {
            assert_eq!(
                (x.min, x.max, x.zeros, x.nan),
                (y.min, y.max, y.zeros, y.nan),
                "{at}"
            );
            assert!(close(x.mean, y.mean), "{at}: mean {} vs {}", x.mean, y.mean);
            assert!(
                close(x.std_dev, y.std_dev),
                "{at}: std {} vs {}",
                x.std_dev,
                y.std_dev
            );
            assert_eq!(x.quantiles.len(), y.quantiles.len(), "{at}");
            for (k, value) in y.quantiles.iter().enumerate() {
                let rank = k as f64 / (y.quantiles.len() - 1) as f64;
                assert!(
                    within_rank_error(&data, *value, rank, y.rank_error),
                    "{at}: quantile {rank} = {value} is not within rank error {}",
                    y.rank_error
                );
            }
            assert!(
                within_rank_error(&data, y.median, 0.5, y.rank_error),
                "{at}: median"
            );
        }
        (None, None, Values::Strings(counts)) => {
            let (x, y) = (a.string.as_ref().unwrap(), b.string.as_ref().unwrap());
            assert!(close(x.avg_length, y.avg_length), "{at}: avg length");
            if x.exact && y.exact {
                assert_eq!(x, y, "{at}");
                assert_eq!(y.unique as usize, counts.len(), "{at}");
            }
            // Space-Saving's stated bound after merges: a count is at least the true count
            // and at most 2·count/capacity more; the capacity is at least the reported top-k.
            let bound = if y.exact {
                0
            } else {
                2 * b.count / y.top_values.len().max(1) as u64
            };
            for top in &y.top_values {
                let truth = counts.get(&top.value).copied().unwrap_or(0);
                assert!(
                    top.count >= truth && top.count - truth <= bound,
                    "{at}: `{}` counted {} times, truly {truth}",
                    top.value,
                    top.count
                );
            }
        }
        _ => panic!("{at}: the two documents describe the feature differently"),
    }
}

/// The 1M-row benchmark CSV, generated once by `benches/peers/statistics_data.py` (fixed seed).
fn benchmark_csv(python: &Path) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-data");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("mixed-1000000.csv");
    if !csv.exists() {
        let partial = dir.join(format!("mixed-1000000.csv.{}", std::process::id()));
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/peers/statistics_data.py");
        let status = std::process::Command::new(python)
            .arg(script)
            .arg("1000000")
            .arg(&partial)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::rename(&partial, &csv).unwrap();
    }
    csv
}

async fn assert_sharded_statistics_match(csv: &str, shards: u32) {
    let dir = tempfile::tempdir().unwrap();
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let pipeline = statistics_pipeline(csv, shards);
    let summary = run(&pipeline, dir.path(), store.clone()).await;
    assert!(summary.succeeded, "{summary:?}");
    for index in 0..shards {
        let id = format!("sharded.shard-{index}");
        assert_eq!(
            summary.node(&id).unwrap().state,
            NodeState::Complete,
            "{id}"
        );
    }
    let root = dir.path();
    let examples = common::output_dir(root, "sharded-statistics", "example_gen", "examples");
    let whole = read_statistics(&common::output_dir(
        root,
        "sharded-statistics",
        "whole",
        "statistics",
    ));
    let sharded = read_statistics(&common::output_dir(
        root,
        "sharded-statistics",
        "sharded",
        "statistics",
    ));
    assert!(sharded.splits.iter().all(|s| s.num_examples > 0));
    assert_same_statistics(&examples, &whole, &sharded);
    assert!(splits_of(&examples, None).unwrap().len() >= 2);
}

#[tokio::test]
async fn sharded_statistics_of_the_million_row_file_equal_one_tasks_within_the_sketch_error() {
    let Some(python) = common::python("sharded statistics, 1M rows") else {
        return;
    };
    let csv = benchmark_csv(&python);
    assert_sharded_statistics_match(&csv.display().to_string(), 4).await;
}

#[tokio::test]
async fn sharded_statistics_of_the_taxi_data_equal_one_tasks_within_the_sketch_error() {
    assert_sharded_statistics_match(&common::taxi(), 4).await;
}

#[tokio::test]
async fn each_shard_is_an_execution_and_the_merge_reads_every_shard_then_caches() {
    let dir = tempfile::tempdir().unwrap();
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let pipeline = statistics_pipeline(&common::taxi(), 3);
    let first = run(&pipeline, dir.path(), store.clone()).await;
    assert!(first.succeeded);
    let executions = store.get_executions(&NodeQuery::all()).await.unwrap();
    let node_of = |e: &millrace_metadata::Execution| match e.custom_properties.get("node_id") {
        Some(millrace_metadata::Value::String(id)) => id.clone(),
        _ => String::new(),
    };
    let shard_executions: Vec<_> = executions
        .iter()
        .filter(|e| node_of(e).starts_with("sharded.shard-"))
        .collect();
    assert_eq!(shard_executions.len(), 3);
    let merge = executions.iter().find(|e| node_of(e) == "sharded").unwrap();
    let events = store
        .get_events(&EventQuery::of_executions([merge.id.unwrap()]))
        .await
        .unwrap();
    let shard_inputs = events
        .iter()
        .filter(|event| {
            event.event_type == millrace_metadata::EventType::Input
                && matches!(event.path.first(), Some(millrace_metadata::PathStep::Key(k)) if k == "statistics.shards")
        })
        .count();
    assert_eq!(shard_inputs, 3, "the merge reads every shard's statistics");

    // A second run reuses every shard and the merge.
    let second = run(&pipeline, dir.path(), store).await;
    for task in [
        "sharded.shard-0",
        "sharded.shard-1",
        "sharded.shard-2",
        "sharded",
    ] {
        assert_eq!(
            second.node(task).unwrap().state,
            NodeState::Cached,
            "{task}"
        );
    }
}

#[tokio::test]
async fn sharded_transform_and_bulk_inference_equal_the_unsharded_outputs_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let mut p = Pipeline::builder("sharded-outputs");
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
        TransformOp::Vocabulary {
            input: "company".into(),
            output: "company_id".into(),
            top_k: Some(10),
            num_oov_buckets: 1,
        },
    ];
    p.add(
        "transform_whole",
        Transform::new(ingest.examples, ops.clone(), &["fare"]),
    );
    p.add(
        "transform_sharded",
        Transform::new(ingest.examples, ops, &["fare"]).shards(3),
    );
    let trained = p.add(
        "trainer",
        Trainer::new(ingest.examples, Algorithm::LinearRegression, "fare")
            .configure(|t| t.features = vec!["trip_miles".into(), "trip_seconds".into()]),
    );
    p.add(
        "infer_whole",
        BulkInferrer::new(ingest.examples, trained.model),
    );
    p.add(
        "infer_sharded",
        BulkInferrer::new(ingest.examples, trained.model).shards(4),
    );
    let pipeline = p.build().unwrap();
    let summary = run(&pipeline, dir.path(), store).await;
    assert!(summary.succeeded, "{summary:?}");
    let root = dir.path();
    let rows = |node: &str, output: &str| {
        let uri = common::output_dir(root, "sharded-outputs", node, output);
        splits_of(&uri, None)
            .unwrap()
            .into_iter()
            .map(|split| {
                let batches = read_split(&uri, &split).unwrap();
                let schema = batches[0].schema();
                let batch = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
                (split, batch)
            })
            .collect::<Vec<_>>()
    };
    for (whole, sharded, output) in [
        (
            "transform_whole",
            "transform_sharded",
            "transformed_examples",
        ),
        ("infer_whole", "infer_sharded", "inference_result"),
    ] {
        let (a, b) = (rows(whole, output), rows(sharded, output));
        assert!(!a.is_empty());
        assert_eq!(a.len(), b.len());
        for ((split_a, batch_a), (split_b, batch_b)) in a.iter().zip(&b) {
            assert_eq!(split_a, split_b);
            assert!(batch_a.num_rows() > 0);
            assert_eq!(
                batch_a, batch_b,
                "{sharded}: split {split_a} differs from {whole}"
            );
        }
    }
    let graph = |node: &str| {
        let dir = common::output_dir(root, "sharded-outputs", node, "transform_graph");
        std::fs::read(dir.join(millrace_components::data::transform::TRANSFORM_GRAPH_FILE)).unwrap()
    };
    assert_eq!(graph("transform_whole"), graph("transform_sharded"));
}

#[tokio::test]
async fn sharding_a_component_that_cannot_merge_is_a_validation_error() {
    let mut p = Pipeline::builder("unshardable");
    p.add(
        "example_gen",
        CsvExampleGen::new(common::taxi()).with_inputs(()).shards(2),
    );
    let error = p.build().unwrap_err().to_string();
    assert!(error.contains("cannot be sharded"), "{error}");

    let mut p = Pipeline::builder("no-shards");
    let ingest = p.add("example_gen", CsvExampleGen::new(common::taxi()));
    p.add(
        "statistics_gen",
        StatisticsGen::new(ingest.examples).shards(0),
    );
    let error = p.build().unwrap_err().to_string();
    assert!(error.contains("at least 1"), "{error}");
}
