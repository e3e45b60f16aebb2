//! Classification end to end on the raw Palmer penguins (three species as text, missing
//! measurements): the Trainer fits a multiclass model whose manifest lists the classes, the
//! Evaluator reports accuracy, averages, log loss, per-class metrics and confusion matrices
//! overall and per slice — equal to scikit-learn's on the same probabilities — and blesses on an
//! accuracy threshold, the InfraValidator and Pusher take the model, BulkInferrer writes the
//! predicted species and a probability column per species; integer labels and the predict
//! contract of a served classifier too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.
#![allow(clippy::print_stderr)] // A skipped check says why.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use millrace_components::data::examples_format::read_split;
use millrace_components::data::transform::{Fill, TransformOp};
use millrace_components::model::{
    Algorithm, BulkInferrer, ClassPredictions, Evaluation, Evaluator, Features, InfraReport,
    InfraValidator, LoadedModel, Metric, ModelManifest, NativeModel, Pusher, Task, Threshold,
    Trainer, evaluate,
};
use millrace_components::{CsvExampleGen, Transform};
use millrace_core::prelude::*;
use millrace_runner::{LocalRunner, NodeState};
use serde_json::{Value, json};

const SPECIES: [&str; 3] = ["Adelie", "Chinstrap", "Gentoo"];

const MEASUREMENTS: [&str; 4] = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
];

/// Ingest → transform (median fill, z-score, species kept) → a random forest classifier →
/// evaluate (accuracy above `accuracy_min`, sliced by island) → infra-validate → push, and bulk
/// inference of the eval split.
fn penguins(serving: &Path) -> Pipeline {
    let mut p = Pipeline::builder("penguins");
    let accuracy_min = p.param("accuracy_min", 0.9_f64);
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("penguins/penguins.csv")),
    );
    let ops: Vec<TransformOp> = MEASUREMENTS
        .iter()
        .flat_map(|m| {
            [
                TransformOp::FillMissing {
                    input: (*m).into(),
                    output: format!("{m}_filled"),
                    with: Fill::Median,
                },
                TransformOp::ZScore {
                    input: format!("{m}_filled"),
                    output: format!("{m}_z"),
                },
            ]
        })
        .collect();
    let transform = p.add(
        "transform",
        Transform::new(ingest.examples, ops, &["species"]),
    );
    let forest = Algorithm::RandomForestClassifier {
        trees: 30.into(),
        max_depth: Some(8.into()),
        seed: 3,
    };
    let trained = p.add(
        "trainer",
        Trainer::with_transform(
            transform.transformed_examples,
            transform.transform_graph,
            forest,
            "species",
        )
        .configure(|t| t.features = MEASUREMENTS.iter().map(|m| format!("{m}_z")).collect()),
    );
    let evaluated = p.add(
        "evaluator",
        Evaluator::new(
            ingest.examples,
            trained.model,
            vec![
                Threshold::above(Metric::Accuracy, &accuracy_min),
                Threshold::below(Metric::LogLoss, 1.0),
            ],
        )
        .configure(|e| e.slices = vec!["island".into()]),
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

/// Runs the penguin pipeline in `dir` with `accuracy_min`; the evaluation it wrote.
async fn run_penguins(dir: &Path, accuracy_min: f64) -> Evaluation {
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let runner = LocalRunner::new(store, dir);
    let pipeline = penguins(&dir.join("serving"));
    let mut parameters = BTreeMap::new();
    parameters.insert("accuracy_min".to_owned(), accuracy_min.to_string());
    let values = pipeline.parameter_values(&parameters).unwrap();
    let run = runner.run(&pipeline, values).await.unwrap();
    for node in [
        "example_gen",
        "transform",
        "trainer",
        "evaluator",
        "infra_validator",
        "pusher",
        "bulk_inferrer",
    ] {
        assert_eq!(
            run.node(node).unwrap().state,
            NodeState::Complete,
            "{node}: {run:?}"
        );
    }
    let evaluation = common::output_dir(dir, "penguins", "evaluator", "evaluation");
    serde_json::from_slice(&std::fs::read(evaluation.join("evaluation.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn three_species_are_trained_evaluated_pushed_and_inferred_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let evaluation = run_penguins(dir.path(), 0.9).await;

    // The model's manifest says what it is: a classifier of the three species, in this order.
    let model_dir = common::output_dir(dir.path(), "penguins", "trainer", "model");
    let manifest = ModelManifest::read(&model_dir).unwrap();
    assert_eq!(manifest.task, Task::Classification);
    assert_eq!(manifest.signature.classes, SPECIES);
    assert!(manifest.metrics["accuracy"] > 0.9, "{:?}", manifest.metrics);

    // Blessed on accuracy, with every classification figure overall and per island.
    assert!(evaluation.blessed, "{evaluation:#?}");
    let accuracy = evaluation.overall["accuracy"];
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    for metric in [
        "accuracy",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "weighted_precision",
        "weighted_recall",
        "weighted_f1",
        "log_loss",
        "example_count",
    ] {
        assert!(evaluation.overall.contains_key(metric), "{metric}");
    }
    let report = evaluation.classification.as_ref().unwrap();
    assert_eq!(report.classes, SPECIES);
    let count = evaluation.overall["example_count"] as u64;
    let matrix_total: u64 = report.overall.confusion_matrix.iter().flatten().sum();
    assert_eq!(matrix_total, count);
    let supports: u64 = report.overall.per_class.iter().map(|c| c.support).sum();
    assert_eq!(supports, count);
    let islands: Vec<&String> = evaluation.slices.keys().collect();
    assert_eq!(
        islands,
        ["island=Biscoe", "island=Dream", "island=Torgersen"]
    );
    assert_eq!(report.slices.len(), 3);
    // Only Adelie penguins live on Torgersen: no other species in that slice's labels.
    let torgersen = &report.slices["island=Torgersen"];
    assert_eq!(
        torgersen.per_class[1].support + torgersen.per_class[2].support,
        0
    );
    let html = std::fs::read_to_string(
        common::output_dir(dir.path(), "penguins", "evaluator", "evaluation")
            .join("evaluation.html"),
    )
    .unwrap();
    assert!(
        html.contains("confusion") && html.contains("Chinstrap"),
        "{html}"
    );

    // Infra-validated (canaries answered with classes) and pushed.
    let infra: InfraReport = serde_json::from_slice(
        &std::fs::read(
            common::output_dir(dir.path(), "penguins", "infra_validator", "blessing")
                .join("infra_validation.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(infra.blessed && infra.answered > 0, "{infra:?}");
    assert!(dir.path().join("serving/1/manifest.json").is_file());

    // Bulk inference: the predicted species and one probability column per species.
    let inferred = common::output_dir(dir.path(), "penguins", "bulk_inferrer", "inference_result");
    let batches = read_split(&inferred, "eval").unwrap();
    let mut rows = 0;
    for batch in &batches {
        let predicted = batch
            .column_by_name("prediction")
            .unwrap()
            .as_string::<i32>();
        let probabilities: Vec<_> = SPECIES
            .iter()
            .map(|s| {
                batch
                    .column_by_name(&format!("probability_{s}"))
                    .unwrap()
                    .as_primitive::<Float64Type>()
                    .clone()
            })
            .collect();
        for row in 0..batch.num_rows() {
            if predicted.is_null(row) {
                continue;
            }
            let p: Vec<f64> = probabilities.iter().map(|c| c.value(row)).collect();
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
            let best = (0..3).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            assert_eq!(predicted.value(row), SPECIES[best]);
            rows += 1;
        }
    }
    assert!(rows as u64 >= count, "{rows} rows inferred");

    // An eval label the model never saw is a clear error, not a panic or a silent skip.
    let model = LoadedModel::load(&model_dir).unwrap();
    let raw = common::output_dir(dir.path(), "penguins", "example_gen", "examples");
    let batch = read_split(&raw, "eval").unwrap().remove(0);
    let error = evaluate(
        &model,
        None,
        &[with_species(&batch, "Emperor")],
        "eval",
        &[],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("class `Emperor`, which the model was not trained on"),
        "{error}"
    );
    // Asking a classifier for one number per row says what to call instead.
    let error = model.predict(&batch).unwrap_err().to_string();
    assert!(error.contains("predict_classes"), "{error}");
}

/// `batch` with every species replaced by `species`.
fn with_species(batch: &RecordBatch, species: &str) -> RecordBatch {
    let schema = batch.schema();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            if field.name() == "species" {
                Arc::new(StringArray::from(vec![species; batch.num_rows()])) as ArrayRef
            } else {
                Arc::clone(column)
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

#[tokio::test]
async fn an_accuracy_no_model_reaches_is_not_blessed_and_not_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let evaluation = run_penguins(dir.path(), 1.0).await;
    assert!(!evaluation.blessed, "{evaluation:#?}");
    assert!(!evaluation.checks[0].passed);
    assert!(!dir.path().join("serving/1").exists());
}

#[tokio::test]
async fn the_evaluators_classification_figures_equal_scikit_learns_overall_and_per_island() {
    let Some(python) = common::python("scikit-learn classification metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let evaluation = run_penguins(dir.path(), 0.9).await;
    let model = LoadedModel::load(&common::output_dir(
        dir.path(),
        "penguins",
        "trainer",
        "model",
    ))
    .unwrap();
    // The model's probabilities and the true species of the eval split, grouped as the
    // evaluator groups them, handed to scikit-learn.
    let raw = common::output_dir(dir.path(), "penguins", "example_gen", "examples");
    let mut cases: BTreeMap<String, (Vec<String>, Vec<Vec<f64>>)> = BTreeMap::new();
    for batch in read_split(&raw, "eval").unwrap() {
        let ClassPredictions { probabilities, .. } = model.predict_classes(&batch).unwrap();
        let species = batch.column_by_name("species").unwrap().as_string::<i32>();
        let islands = batch.column_by_name("island").unwrap().as_string::<i32>();
        for (row, answer) in probabilities.into_iter().enumerate() {
            let Some(answer) = answer else { continue };
            for case in [
                "overall".to_owned(),
                format!("island={}", islands.value(row)),
            ] {
                let entry = cases.entry(case).or_default();
                entry.0.push(species.value(row).to_owned());
                entry.1.push(answer.clone());
            }
        }
    }
    let mut document = serde_json::Map::new();
    document.insert(
        "regression".into(),
        json!({"labels": [1.0, 2.0], "predictions": [1.0, 2.5]}),
    );
    document.insert(
        "binary".into(),
        json!({"labels": [0, 1], "probabilities": [0.2, 0.7], "threshold": 0.5}),
    );
    for (case, (labels, probabilities)) in &cases {
        document.insert(
            format!("multiclass {case}"),
            json!({"classes": SPECIES, "labels": labels, "probabilities": probabilities}),
        );
    }
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
    let output = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/python/sklearn_metrics.py"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference: Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = evaluation.classification.as_ref().unwrap();
    for (case, _) in cases {
        let theirs = &reference[format!("multiclass {case}")];
        let (ours, breakdown) = if case == "overall" {
            (&evaluation.overall, &report.overall)
        } else {
            (&evaluation.slices[&case], &report.slices[&case])
        };
        for (name, reference_name) in [
            ("accuracy", "accuracy"),
            ("log_loss", "log_loss"),
            ("macro_precision", "precision"),
            ("macro_recall", "recall"),
            ("macro_f1", "f1"),
            ("weighted_precision", "weighted_precision"),
            ("weighted_recall", "weighted_recall"),
            ("weighted_f1", "weighted_f1"),
        ] {
            close(
                ours[name],
                &theirs[reference_name],
                &format!("{case} {name}"),
            );
        }
        for (class, metrics) in breakdown.per_class.iter().enumerate() {
            let per_class = &theirs["per_class"];
            close(
                metrics.precision,
                &per_class["precision"][class],
                &format!("{case} precision {class}"),
            );
            close(
                metrics.recall,
                &per_class["recall"][class],
                &format!("{case} recall {class}"),
            );
            close(
                metrics.f1,
                &per_class["f1"][class],
                &format!("{case} f1 {class}"),
            );
            assert_eq!(
                json!(metrics.support),
                per_class["support"][class],
                "{case}"
            );
        }
        assert_eq!(
            json!(breakdown.confusion_matrix),
            theirs["confusion_matrix"],
            "{case}"
        );
    }
}

fn close(ours: f64, theirs: &Value, what: &str) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no reference"));
    let scale = theirs.abs().max(1e-300);
    assert!(
        ours == theirs || (ours - theirs).abs() / scale <= 1e-9,
        "{what}: ours {ours}, scikit-learn {theirs}"
    );
}

#[tokio::test]
async fn integer_labels_train_a_classifier_and_binary_logistic_regression_points_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::builder("integers");
    let ingest = p.add(
        "example_gen",
        CsvExampleGen::new(common::example_input("penguins/penguins_processed.csv")),
    );
    p.add(
        "softmax",
        Trainer::new(
            ingest.examples,
            Algorithm::LogisticRegressionClassifier,
            "species",
        ),
    );
    p.add(
        "binary",
        Trainer::new(ingest.examples, Algorithm::LogisticRegression, "species"),
    );
    let pipeline = p.build().unwrap();
    let store = millrace_metadata::connect("memory://").await.unwrap();
    let run = LocalRunner::new(store, dir.path())
        .run(
            &pipeline,
            pipeline.parameter_values(&BTreeMap::new()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(run.node("softmax").unwrap().state, NodeState::Complete);
    let manifest = ModelManifest::read(&common::output_dir(
        dir.path(),
        "integers",
        "softmax",
        "model",
    ))
    .unwrap();
    assert_eq!(manifest.signature.classes, ["0", "1", "2"]);
    assert_eq!(manifest.signature.inputs.len(), 4);
    let binary = run.node("binary").unwrap();
    assert_eq!(binary.state, NodeState::Failed);
    let error = format!("{binary:?}");
    assert!(
        error.contains("found 2") && error.contains("LogisticRegressionClassifier"),
        "{error}"
    );
}

#[test]
fn a_label_of_one_class_is_refused_with_the_class_it_found() {
    let features = Features {
        rows: 3,
        columns: 1,
        values: vec![1.0, 2.0, 3.0],
    };
    let labels = vec!["Adelie".to_owned(); 3];
    let error =
        NativeModel::fit_classes(&Algorithm::LogisticRegressionClassifier, &features, &labels)
            .unwrap_err()
            .to_string();
    assert!(
        error.contains("at least two classes") && error.contains("Adelie"),
        "{error}"
    );
}

#[test]
fn a_served_classifier_answers_through_the_predict_contract() {
    let dir = tempfile::tempdir().unwrap();
    // A server answering the two rows it is sent, its classes in another order than the
    // manifest's.
    let script = r#"echo '{"ready": true}'; while read -r line; do echo '{"classes": ["b", "a"], "predictions": ["b", "a"], "probabilities": [[0.75, 0.25], [0.4, 0.6]]}'; done"#;
    let manifest = json!({
        "format_version": 1,
        "flavor": {"command": {"predict": ["sh", "-c", script]}},
        "framework": "shell",
        "task": "classification",
        "signature": {
            "inputs": [{"name": "x", "type": "float"}],
            "label": "y",
            "classes": ["a", "b"]
        }
    });
    std::fs::write(
        dir.path().join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let model = LoadedModel::load(dir.path()).unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)])),
        vec![Arc::new(arrow_array::Float64Array::from(vec![
            Some(1.0),
            None,
            Some(2.0),
        ])) as ArrayRef],
    )
    .unwrap();
    let answer = model.predict_classes(&batch).unwrap();
    assert_eq!(answer.classes, ["a", "b"]);
    assert_eq!(
        answer.probabilities,
        [Some(vec![0.25, 0.75]), None, Some(vec![0.6, 0.4])]
    );
    assert_eq!(answer.predicted_class(0), Some("b"));
    assert_eq!(answer.predicted_class(1), None);
    assert_eq!(answer.predicted_class(2), Some("a"));
}
