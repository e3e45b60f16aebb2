//! The model format: a directory holding `manifest.json` beside the model's files.
//!
//! The manifest says how to load the model (its flavor), what it expects and returns (its
//! signature), how well it did, and which run and node produced it — everything a serving
//! harness, an evaluator or a person needs without opening the model files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::FeatureType;
use crate::{DataError, Result};

/// The file name of the manifest inside a Model artifact.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest version this build writes and reads.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;

/// What a model directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// The manifest format's version.
    pub format_version: u32,
    /// How to load and run the model.
    pub flavor: Flavor,
    /// The library that trained it, with its version (`smartcore 0.7`, `scikit-learn 1.9.1`).
    pub framework: String,
    /// What it predicts.
    pub task: Task,
    /// What it reads and returns.
    pub signature: Signature,
    /// Figures measured when it was trained (on the training data).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// The preprocessing applied before the model, a `transform_graph.json` beside the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_graph: Option<String>,
    /// The run and node that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced_by: Option<Producer>,
}

/// How a model is loaded and run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// A model of a Rust library, serialised with serde into `file`, run in process.
    RustNative {
        /// The algorithm.
        algorithm: String,
        /// The file beside the manifest.
        file: String,
    },
    /// A model served by a process speaking the predict contract (a Python model).
    Command {
        /// The command that serves predictions, with `{model_dir}` standing for the model's directory.
        predict: Vec<String>,
    },
}

/// What a model predicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A number.
    Regression,
    /// The probability of the positive class (labels 0 and 1).
    BinaryClassification,
    /// One of several classes (the signature's `classes`), with the probability of every class.
    Classification,
}

/// The inputs and output of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// The features, in the order the model reads them.
    pub inputs: Vec<SignatureField>,
    /// The label the model was trained to predict.
    pub label: String,
    /// A classifier's classes, in the order of its probabilities (empty for other tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

/// One feature of a signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureField {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub feature_type: FeatureType,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Producer {
    /// The pipeline.
    pub pipeline: String,
    /// The run.
    pub run_id: String,
    /// The node.
    pub node: String,
}

impl ModelManifest {
    /// Writes `manifest.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let json =
            serde_json::to_vec_pretty(self).map_err(|error| DataError::json(&path, error))?;
        std::fs::write(&path, json).map_err(|error| DataError::io(&path, error).into())
    }

    /// The model in a few words for messages: its algorithm, or its predict command.
    pub fn flavor_name(&self) -> String {
        match &self.flavor {
            Flavor::RustNative { algorithm, .. } => algorithm.clone(),
            Flavor::Command { predict } => predict.join(" "),
        }
    }

    /// The names of the signature's inputs, in the order the model reads them.
    pub fn input_names(&self) -> Vec<String> {
        self.signature
            .inputs
            .iter()
            .map(|field| field.name.clone())
            .collect()
    }

    /// Reads the `manifest.json` of the model in `dir`.
    pub fn read(dir: &Path) -> Result<ModelManifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|error| DataError::io(&path, error))?;
        let version: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|error| DataError::json(&path, error))?;
        match version
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(MANIFEST_FORMAT_VERSION) => {}
            other => {
                return Err(DataError::File {
                    file: path.display().to_string(),
                    message: format!(
                        "model manifest format_version {other:?} is not supported: this build \
                         reads version {MANIFEST_FORMAT_VERSION}"
                    ),
                }
                .into());
            }
        }
        serde_json::from_slice(&bytes).map_err(|error| DataError::json(&path, error).into())
    }
}
