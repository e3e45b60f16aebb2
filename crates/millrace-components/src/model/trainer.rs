//! The Trainer component (Rust-native flavor) and loading a trained model for prediction.

use std::path::Path;

use arrow_array::RecordBatch;
use millrace_core::artifact::standard::TransformGraph as TransformGraphArtifact;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::command_server::CommandServer;
use super::manifest::{
    Flavor, MANIFEST_FORMAT_VERSION, ModelManifest, Producer, Signature, SignatureField, Task,
};
use super::metrics::{binary_metrics, multiclass_metrics, regression_metrics};
use super::native::{
    Algorithm, Features, NativeModel, complete_rows, features_and_classes_of, features_of,
};
use super::prediction::ClassPredictions;
use super::tuner::TuningResult;
use crate::data::examples_format::{feature_type_of, read_split};
use crate::data::transform::{TRANSFORM_GRAPH_FILE, TransformGraph};
use crate::{DataError, Error, Result};

/// The file of a Rust-native model beside its manifest.
pub const NATIVE_MODEL_FILE: &str = "model.json";

/// A model loaded from its directory in the serving harness of its flavor, with the
/// preprocessing it expects.
#[derive(Debug)]
pub struct LoadedModel {
    /// What the directory says about the model.
    pub manifest: ModelManifest,
    predictor: Predictor,
    transform: Option<TransformGraph>,
}

/// Where predictions come from.
#[derive(Debug)]
enum Predictor {
    /// A Rust-native model, in this process.
    Native(NativeModel),
    /// The model's own serving process (the command flavor).
    Command(CommandServer),
}

impl LoadedModel {
    /// Loads the model in `dir`: a Rust-native model into this process, a command model by
    /// starting its serving process (which lives as long as the `LoadedModel`).
    pub fn load(dir: &Path) -> Result<LoadedModel> {
        let manifest = ModelManifest::read(dir)?;
        let predictor = match &manifest.flavor {
            Flavor::RustNative { file, .. } => {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).map_err(|error| DataError::io(&path, error))?;
                Predictor::Native(
                    serde_json::from_slice(&bytes)
                        .map_err(|error| DataError::json(&path, error))?,
                )
            }
            Flavor::Command { predict } => {
                Predictor::Command(CommandServer::start(predict, dir, manifest.input_names())?)
            }
        };
        let transform = match &manifest.transform_graph {
            Some(file) => Some(TransformGraph::load(&dir.join(file))?),
            None => None,
        };
        Ok(LoadedModel {
            manifest,
            predictor,
            transform,
        })
    }

    /// How long loading took in the serving harness, for a model served by its own process.
    pub fn server_load_time(&self) -> Option<std::time::Duration> {
        match &self.predictor {
            Predictor::Native(_) => None,
            Predictor::Command(server) => Some(server.load_time),
        }
    }

    /// Predictions for raw rows (the model's transform, if any, applied first): one per row,
    /// `None` where a feature has no value.
    pub fn predict(&self, batch: &RecordBatch) -> Result<Vec<Option<f64>>> {
        let transformed;
        let batch = match &self.transform {
            Some(graph) => {
                transformed = graph.apply(batch)?;
                &transformed
            }
            None => batch,
        };
        self.predict_prepared(batch)
    }

    /// A classifier's predictions for raw rows (the model's transform, if any, applied first):
    /// per row the probability of every class, `None` where a feature has no value.
    pub fn predict_classes(&self, batch: &RecordBatch) -> Result<ClassPredictions> {
        let transformed;
        let batch = match &self.transform {
            Some(graph) => {
                transformed = graph.apply(batch)?;
                &transformed
            }
            None => batch,
        };
        let classes = &self.manifest.signature.classes;
        if self.manifest.task != Task::Classification || classes.len() < 2 {
            return Err(self.not_a(
                "classifier",
                &format!(
                    "its manifest's task is {:?} with {} classes; predict numbers with `predict`",
                    self.manifest.task,
                    classes.len()
                ),
            ));
        }
        let inputs = self.manifest.input_names();
        let (features, _, _) = features_of(std::slice::from_ref(batch), &inputs, None)?;
        let rows: Vec<Vec<f64>> = match &self.predictor {
            Predictor::Native(model) => {
                let Some(classifier) = model.classifier() else {
                    return Err(self.not_a(
                        "classifier",
                        &format!("its model file holds a {}", model.name()),
                    ));
                };
                if classifier.classes() != classes.as_slice() {
                    return Err(self.not_a(
                        "classifier",
                        &format!(
                            "its model's classes {:?} differ from its manifest's {classes:?}",
                            classifier.classes()
                        ),
                    ));
                }
                classifier
                    .predict_probabilities(&features)?
                    .chunks_exact(classes.len())
                    .map(<[f64]>::to_vec)
                    .collect()
            }
            Predictor::Command(server) => server.predict_classes(&features, classes)?,
        };
        let mut rows = rows.into_iter();
        Ok(ClassPredictions {
            classes: classes.clone(),
            probabilities: complete_rows(batch, &inputs)?
                .into_iter()
                .map(|complete| if complete { rows.next() } else { None })
                .collect(),
        })
    }

    /// The error of a model asked for a kind of prediction it does not make.
    fn not_a(&self, kind: &str, reason: &str) -> Error {
        Error::Prediction {
            model: self.manifest.flavor_name(),
            reason: format!("it is not a {kind}: {reason}"),
        }
    }

    /// Predictions for rows already preprocessed (the transformed examples).
    pub fn predict_prepared(&self, batch: &RecordBatch) -> Result<Vec<Option<f64>>> {
        if self.manifest.task == Task::Classification {
            return Err(self.not_a(
                "model of one number per row",
                &format!(
                    "it classifies into {} classes; predict with `predict_classes`",
                    self.manifest.signature.classes.len()
                ),
            ));
        }
        let inputs = self.manifest.input_names();
        let (features, _, _) = features_of(std::slice::from_ref(batch), &inputs, None)?;
        let predictions = match &self.predictor {
            Predictor::Native(model) => model.predict(&features)?,
            Predictor::Command(server) => server.predict(&features)?,
        };
        let mut predictions = predictions.into_iter();
        Ok(complete_rows(batch, &inputs)?
            .into_iter()
            .map(|complete| if complete { predictions.next() } else { None })
            .collect())
    }
}

/// Trains a Rust-native model: `Trainer::new(examples, Algorithm::LinearRegression, "fare")`.
///
/// A classification algorithm ([`Algorithm::RandomForestClassifier`] and its kin) reads the
/// label as classes: a string column (`"Adelie"`) or an integer one (`0`, `1`, `2`), at least two
/// distinct values; the classes, sorted as text, are kept in the model's manifest
/// (`signature.classes`), which is the order of its probabilities.
///
/// Reads the `train_split` of the examples (the transformed examples when the pipeline has a
/// Transform — pass its graph with [`Trainer::with_transform`] so the model carries it), fits
/// the algorithm on `features` (all numeric columns but the label when empty), and writes the
/// model directory: `manifest.json`, `model.json` and the transform graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trainer {
    /// What to fit.
    pub algorithm: Algorithm,
    /// The feature columns; empty: every numeric column except the label.
    #[serde(default)]
    pub features: Vec<String>,
    /// The label column.
    pub label: String,
    /// The split to train on.
    #[serde(default = "train_split")]
    pub train_split: String,
}

fn train_split() -> String {
    "train".to_owned()
}

/// The inputs of Trainer.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct TrainerInputs {
    /// The examples to train on.
    pub examples: Channel<Examples>,
    /// The preprocessing that produced them, carried into the model for serving.
    pub transform_graph: Option<Channel<TransformGraphArtifact>>,
    /// A tuner's best hyper-parameters, which replace the configured algorithm.
    pub hyperparameters: Option<Channel<HyperParameters>>,
}

/// The output of Trainer.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct TrainerOutputs {
    /// The model directory.
    pub model: Channel<Model>,
}

impl Trainer {
    /// Fits `algorithm` to predict `label` from the examples.
    pub fn new(examples: Channel<Examples>, algorithm: Algorithm, label: &str) -> Node<Trainer> {
        Trainer::configured(algorithm, label).with_inputs(TrainerInputs {
            examples,
            transform_graph: None,
            hyperparameters: None,
        })
    }

    /// Fits the algorithm a tuner chose (its `best_hyperparameters`).
    pub fn tuned(
        examples: Channel<Examples>,
        hyperparameters: Channel<HyperParameters>,
        label: &str,
    ) -> Node<Trainer> {
        Trainer::configured(Algorithm::LinearRegression, label).with_inputs(TrainerInputs {
            examples,
            transform_graph: None,
            hyperparameters: Some(hyperparameters),
        })
    }

    /// Fits `algorithm` on transformed examples, carrying `graph` into the model.
    pub fn with_transform(
        transformed: Channel<Examples>,
        graph: Channel<TransformGraphArtifact>,
        algorithm: Algorithm,
        label: &str,
    ) -> Node<Trainer> {
        Trainer::configured(algorithm, label).with_inputs(TrainerInputs {
            examples: transformed,
            transform_graph: Some(graph),
            hyperparameters: None,
        })
    }

    fn configured(algorithm: Algorithm, label: &str) -> Trainer {
        Trainer {
            algorithm,
            features: Vec::new(),
            label: label.to_owned(),
            train_split: train_split(),
        }
    }
}

impl Component for Trainer {
    const KIND: &'static str = "millrace.Trainer";
    type Inputs = TrainerInputs;
    type Outputs = TrainerOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for Trainer {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.input::<Examples>("examples")?;
        let graph = context.optional_input::<TransformGraphArtifact>("transform_graph")?;
        let tuned = context.optional_input::<HyperParameters>("hyperparameters")?;
        let model = context.output::<Model>("model")?;
        let algorithm = match tuned {
            Some(tuned) => TuningResult::read(tuned.uri())?.best,
            None => self.algorithm.clone(),
        };
        let batches = read_split(examples.uri(), &self.train_split)?;
        let Some(schema) = batches.first().map(RecordBatch::schema) else {
            return Err(Error::Training {
                algorithm: algorithm.name().to_owned(),
                reason: format!("split `{}` has no rows", self.train_split),
            }
            .into());
        };
        let features: Vec<String> = if self.features.is_empty() {
            schema
                .fields()
                .iter()
                .filter(|field| field.name() != &self.label)
                .filter(|field| feature_type_of(field.data_type()).is_some_and(|t| t.is_numeric()))
                .map(|field| field.name().clone())
                .collect()
        } else {
            self.features.clone()
        };
        let inputs = features
            .iter()
            .map(|name| {
                let field = schema.field_with_name(name).map_err(|_| {
                    DataError::missing_column(
                        name,
                        "the Trainer's features",
                        "the examples",
                        &schema,
                    )
                })?;
                match feature_type_of(field.data_type()) {
                    Some(feature_type) if feature_type.is_numeric() => Ok(SignatureField {
                        name: name.clone(),
                        feature_type,
                    }),
                    _ => Err(Error::Configuration {
                        component: "Trainer".to_owned(),
                        option: "features".to_owned(),
                        reason: format!(
                            "feature `{name}` is not numeric ({}); encode it with a Transform \
                             vocabulary, one-hot or hash op",
                            field.data_type()
                        ),
                    }),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let fitting = std::time::Instant::now();
        let (fitted, matrix, skipped, metrics) = if algorithm.task() == Task::Classification {
            let (matrix, labels, skipped) =
                features_and_classes_of(&batches, &features, &self.label)?;
            let fitted = NativeModel::fit_classes(&algorithm, &matrix, &labels)?;
            context.log_metric("fit_seconds", fitting.elapsed().as_secs_f64());
            let metrics = classifier_training_metrics(&fitted, &matrix, &labels)?;
            (fitted, matrix, skipped, metrics)
        } else {
            let (matrix, labels, skipped) = features_of(&batches, &features, Some(&self.label))?;
            let fitted = NativeModel::fit(&algorithm, &matrix, &labels)?;
            context.log_metric("fit_seconds", fitting.elapsed().as_secs_f64());
            let metrics = training_metrics(&fitted, &algorithm, &matrix, &labels)?;
            (fitted, matrix, skipped, metrics)
        };
        let classes = fitted
            .classifier()
            .map(|classifier| classifier.classes().to_vec())
            .unwrap_or_default();
        let file = model.uri().join(NATIVE_MODEL_FILE);
        std::fs::write(&file, serde_json::to_vec(&fitted)?)?;
        let transform_graph = match graph {
            Some(graph) => {
                std::fs::copy(
                    graph.uri().join(TRANSFORM_GRAPH_FILE),
                    model.uri().join(TRANSFORM_GRAPH_FILE),
                )?;
                Some(TRANSFORM_GRAPH_FILE.to_owned())
            }
            None => None,
        };
        let manifest = ModelManifest {
            format_version: MANIFEST_FORMAT_VERSION,
            flavor: Flavor::RustNative {
                algorithm: algorithm.name().to_owned(),
                file: NATIVE_MODEL_FILE.to_owned(),
            },
            framework: "smartcore 0.7".to_owned(),
            task: algorithm.task(),
            signature: Signature {
                inputs,
                label: self.label.clone(),
                classes,
            },
            metrics: metrics.clone(),
            transform_graph,
            produced_by: Some(Producer {
                pipeline: context.pipeline().to_owned(),
                run_id: context.run_id().to_owned(),
                node: context.node_id().to_owned(),
            }),
        };
        manifest.write(model.uri())?;
        model.set_custom_property("algorithm", algorithm.name());
        for (name, value) in &metrics {
            context.log_metric(format!("train_{name}"), *value);
        }
        context.log(format!(
            "fitted {} on {} examples of split {} ({} left out for missing values), {} features",
            algorithm.name(),
            matrix.rows,
            self.train_split,
            skipped,
            features.len()
        ));
        context.set_summary(format!(
            "fitted {} on {} examples, {} features; train {}",
            algorithm.name(),
            matrix.rows,
            features.len(),
            metrics
                .iter()
                .map(|(name, value)| format!("{name} {value:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(())
    }
}

fn training_metrics(
    model: &NativeModel,
    algorithm: &Algorithm,
    features: &Features,
    labels: &[f64],
) -> Result<std::collections::BTreeMap<String, f64>> {
    let predictions = model.predict(features)?;
    let mut metrics = std::collections::BTreeMap::new();
    match algorithm.task() {
        Task::Regression => {
            let m = regression_metrics(labels, &predictions)?;
            metrics.insert("rmse".to_owned(), m.rmse);
            metrics.insert("mae".to_owned(), m.mae);
            metrics.insert("r2".to_owned(), m.r2);
        }
        Task::BinaryClassification => {
            let truth: Vec<bool> = labels.iter().map(|&y| y >= 0.5).collect();
            let m = binary_metrics(&truth, &predictions, 0.5)?;
            metrics.insert("accuracy".to_owned(), m.accuracy);
            metrics.insert("log_loss".to_owned(), m.log_loss);
            if let Some(auc) = m.roc_auc {
                metrics.insert("roc_auc".to_owned(), auc);
            }
        }
        // Fitted by fit_classes; measured by classifier_training_metrics.
        Task::Classification => {}
    }
    Ok(metrics)
}

/// A classifier's accuracy, macro F1 and log loss on its training examples.
fn classifier_training_metrics(
    model: &NativeModel,
    features: &Features,
    labels: &[String],
) -> Result<std::collections::BTreeMap<String, f64>> {
    let mut metrics = std::collections::BTreeMap::new();
    let Some(classifier) = model.classifier() else {
        return Ok(metrics);
    };
    let truth: Vec<usize> = classifier
        .class_indices(labels)
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let probabilities = classifier.predict_probabilities(features)?;
    let m = multiclass_metrics(&truth, &probabilities, classifier.classes().len())?;
    metrics.insert("accuracy".to_owned(), m.accuracy);
    metrics.insert("macro_f1".to_owned(), m.f1);
    metrics.insert("log_loss".to_owned(), m.log_loss);
    Ok(metrics)
}

millrace_core::register_component!(Trainer);
