//! The data components in pipelines, run by the local runner: serving applies exactly what
//! training saw, a curated schema takes precedence, a validator can fail the pipeline, Parquet
//! imports normalise their types and take splits from a column.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Float32Array, Int32Array, RecordBatch, StringArray};
use millrace_components::data::examples_format::{read_split, split_dir};
use millrace_components::data::schema::{Domain, read_schema, write_schema};
use millrace_components::data::split::SplitConfig;
use millrace_components::data::transform::{
    Fill, TRANSFORM_GRAPH_FILE, TransformGraph, TransformOp,
};
use millrace_components::{
    CsvExampleGen, ExampleValidator, ImportExampleGen, SchemaGen, StatisticsGen, Transform,
};
use millrace_core::artifact::standard::Schema as SchemaArtifact;
use millrace_core::prelude::*;
use millrace_runner::{LocalRunner, NodeState, RunSummary};

async fn run(pipeline: &Pipeline, root: &Path) -> RunSummary {
    let store = millrace_metadata::connect("memory://").await.unwrap();
    LocalRunner::new(store, root)
        .run(pipeline, BTreeMap::new())
        .await
        .unwrap()
}

fn state(summary: &RunSummary, node: &str) -> NodeState {
    summary.node(node).unwrap().state
}

#[tokio::test]
async fn serving_applies_exactly_the_transform_training_saw() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("transform");
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("chicago_taxi/data.csv")),
    );
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
        TransformOp::Bucketize {
            input: "trip_miles".into(),
            output: "miles_bucket".into(),
            buckets: 4,
        },
    ];
    p.add("transform", Transform::new(ingest.examples, ops, &["fare"]));
    let summary = run(&p.build().unwrap(), dir.path()).await;
    assert_eq!(
        state(&summary, "transform"),
        NodeState::Complete,
        "{summary:?}"
    );

    let graph_dir = common::output_dir(dir.path(), "transform", "transform", "transform_graph");
    let graph = TransformGraph::load(&graph_dir.join(TRANSFORM_GRAPH_FILE)).unwrap();
    let raw = common::output_dir(dir.path(), "transform", "example_gen", "examples");
    let transformed =
        common::output_dir(dir.path(), "transform", "transform", "transformed_examples");
    for split in ["train", "eval"] {
        // What serving computes from raw rows equals what training read.
        let served: Vec<RecordBatch> = read_split(&raw, split)
            .unwrap()
            .iter()
            .map(|batch| graph.apply(batch).unwrap())
            .collect();
        let trained = read_split(&transformed, split).unwrap();
        let concat = |batches: &[RecordBatch]| {
            arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
        };
        assert_eq!(concat(&served), concat(&trained), "split {split}");
    }
    // The chain was fitted on the filled column: the z-scores of train are centred.
    let train = read_split(&transformed, "train").unwrap();
    let train = arrow_select::concat::concat_batches(&train[0].schema(), &train).unwrap();
    let z = train
        .column_by_name("seconds_z")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap();
    assert_eq!(z.null_count(), 0, "filled before scaling");
    let mean = z.values().iter().sum::<f64>() / z.len() as f64;
    assert!(
        mean.abs() < 1e-9,
        "z-scores of the fitting split are centred: {mean}"
    );
}

#[tokio::test]
async fn a_curated_schema_takes_precedence_over_the_inferred_one() {
    let dir = tempfile::tempdir().unwrap();
    let curated_dir = dir.path().join("curated");
    std::fs::create_dir_all(&curated_dir).unwrap();
    // Infer once, then widen a range by hand, as a reviewer would.
    let mut p = Pipeline::builder("infer");
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("penguins/penguins_processed.csv")),
    );
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    p.add("schema_gen", SchemaGen::new(stats.statistics));
    run(&p.build().unwrap(), &dir.path().join("first")).await;
    let mut schema = read_schema(&common::output_dir(
        &dir.path().join("first"),
        "infer",
        "schema_gen",
        "schema",
    ))
    .unwrap();
    for feature in &mut schema.features {
        if feature.name == "culmen_length_mm" {
            feature.domain = Some(Domain::Range {
                min: Some(-1.0),
                max: Some(1.0),
            });
        }
    }
    write_schema(&curated_dir, &schema).unwrap();

    let mut p = Pipeline::builder("curated");
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("penguins/penguins_skewed.csv")),
    );
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    let curated = p.import(
        "curated_schema",
        Importer::<SchemaArtifact>::new(curated_dir.display().to_string()),
    );
    let schema_node = p.add(
        "schema_gen",
        SchemaGen::curated(stats.statistics, curated.result),
    );
    p.add(
        "example_validator",
        ExampleValidator::new(stats.statistics, schema_node.schema)
            .configure(|v| v.fail_on_anomalies = true),
    );
    let root = dir.path().join("second");
    let summary = run(&p.build().unwrap(), &root).await;
    // With the curated range, -1 is allowed: no anomaly, the strict validator passes.
    assert_eq!(
        state(&summary, "example_validator"),
        NodeState::Complete,
        "{summary:?}"
    );
    let used = read_schema(&common::output_dir(
        &root,
        "curated",
        "schema_gen",
        "schema",
    ))
    .unwrap();
    assert_eq!(used, schema);
}

#[tokio::test]
async fn a_strict_validator_fails_the_pipeline_naming_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let schema_dir = dir.path().join("schema");
    std::fs::create_dir_all(&schema_dir).unwrap();
    let mut p = Pipeline::builder("clean");
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("penguins/penguins_processed.csv")),
    );
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    p.add("schema_gen", SchemaGen::new(stats.statistics));
    run(&p.build().unwrap(), &dir.path().join("clean")).await;
    let inferred = read_schema(&common::output_dir(
        &dir.path().join("clean"),
        "clean",
        "schema_gen",
        "schema",
    ))
    .unwrap();
    write_schema(&schema_dir, &inferred).unwrap();

    let mut p = Pipeline::builder("skewed");
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("penguins/penguins_skewed.csv")),
    );
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    let schema = p.import(
        "schema",
        Importer::<SchemaArtifact>::new(schema_dir.display().to_string()),
    );
    p.add(
        "example_validator",
        ExampleValidator::new(stats.statistics, schema.result)
            .configure(|v| v.fail_on_anomalies = true),
    );
    let summary = run(&p.build().unwrap(), &dir.path().join("skewed")).await;
    let outcome = summary.node("example_validator").unwrap();
    assert_eq!(outcome.state, NodeState::Failed);
    let message = outcome.message.as_deref().unwrap();
    assert!(message.contains("1 anomalies found"), "{message}");
    assert!(
        message.contains("culmen_length_mm out of range"),
        "{message}"
    );
}

#[tokio::test]
async fn parquet_imports_normalise_types_and_split_by_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input/span-3");
    std::fs::create_dir_all(&input).unwrap();
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("id", arrow_schema::DataType::Int32, false),
        arrow_schema::Field::new("score", arrow_schema::DataType::Float32, true),
        arrow_schema::Field::new("fold", arrow_schema::DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5])),
            Arc::new(Float32Array::from(vec![
                Some(0.5),
                None,
                Some(1.5),
                Some(2.0),
                Some(-1.0),
            ])),
            Arc::new(StringArray::from(vec![
                "train", "test", "train", "train", "test",
            ])),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(input.join("part.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let mut p = Pipeline::builder("import");
    let pattern = dir
        .path()
        .join("input/span-{SPAN}/*.parquet")
        .display()
        .to_string();
    let ingest = p.add(
        "example_gen",
        ImportExampleGen::new(pattern).split(SplitConfig::Column {
            column: "fold".to_owned(),
        }),
    );
    p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    let root = dir.path().join("root");
    let summary = run(&p.build().unwrap(), &root).await;
    assert_eq!(
        state(&summary, "statistics_gen"),
        NodeState::Complete,
        "{summary:?}"
    );
    let examples = common::output_dir(&root, "import", "example_gen", "examples");
    assert!(split_dir(&examples, "test").is_dir() && split_dir(&examples, "train").is_dir());
    let train = read_split(&examples, "train").unwrap();
    let columns: Vec<(String, arrow_schema::DataType)> = train[0]
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("id".to_owned(), arrow_schema::DataType::Int64),
            ("score".to_owned(), arrow_schema::DataType::Float64),
        ],
        "ints widened, floats widened, the split column dropped"
    );
    assert_eq!(train.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    let statistics: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            common::output_dir(&root, "import", "statistics_gen", "statistics")
                .join("statistics.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(statistics["span"], 3);
    assert_eq!(statistics["splits"][0]["name"], "test");
    assert_eq!(statistics["splits"][0]["features"][1]["missing"], 1);
}
