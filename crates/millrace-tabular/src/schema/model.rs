//! The schema document: the expected shape of the data, inferred by SchemaGen and meant to be
//! read and edited by people (`schema.json`), and its file functions.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::FeatureType;
use crate::{DataError, Result};

/// The file name of the schema document inside a `Schema` artifact.
pub const SCHEMA_FILE: &str = "schema.json";

/// What the examples are expected to look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// One entry per expected feature.
    pub features: Vec<FeatureSchema>,
}

impl Schema {
    /// The entry of the feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureSchema> {
        self.features.iter().find(|feature| feature.name == name)
    }
}

/// What one feature is expected to look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// The feature's (column's) name.
    pub name: String,
    /// The type of its values.
    #[serde(rename = "type")]
    pub feature_type: FeatureType,
    /// How often it must have a value.
    pub presence: Presence,
    /// How many values an example has when it has the feature (always 1 for tabular data).
    #[serde(default = "ValueCount::one")]
    pub value_count: ValueCount,
    /// The values it may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    /// The largest allowed distance between this span's distribution and the previous span's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_comparator: Option<Comparator>,
    /// The largest allowed distance between two splits' distributions (train against the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_comparator: Option<Comparator>,
}

/// How often a feature must be present.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    /// The smallest fraction of examples that must have a value (1 = required).
    pub min_fraction: f64,
    /// The smallest number of examples that must have a value.
    #[serde(default)]
    pub min_count: u64,
}

impl Presence {
    /// Whether every example must have a value.
    pub fn is_required(&self) -> bool {
        self.min_fraction >= 1.0
    }
}

/// The number of values per example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueCount {
    /// At least.
    pub min: u64,
    /// At most.
    pub max: u64,
}

impl ValueCount {
    fn one() -> Self {
        ValueCount { min: 1, max: 1 }
    }
}

/// The values a feature may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Numbers in `[min, max]` (either bound may be absent).
    Range {
        /// The smallest allowed value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// The largest allowed value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// One of a list of strings (a categorical feature).
    Values(Vec<String>),
}

/// A distance between two distributions of a feature, with the largest allowed value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// L-infinity distance between the value frequencies (categorical features).
    InfinityNorm {
        /// The largest allowed distance.
        threshold: f64,
    },
    /// Jensen–Shannon divergence (base 2, in [0, 1]) between the distributions (numeric features).
    JensenShannonDivergence {
        /// The largest allowed divergence.
        threshold: f64,
    },
}

/// Writes `schema.json` into `dir`.
pub fn write_schema(dir: &Path, schema: &Schema) -> Result<()> {
    let path = dir.join(SCHEMA_FILE);
    let json = serde_json::to_vec_pretty(schema).map_err(|error| DataError::json(&path, error))?;
    std::fs::write(&path, json).map_err(|error| DataError::io(&path, error))
}

/// Reads the `schema.json` of a Schema artifact.
pub fn read_schema(dir: &Path) -> Result<Schema> {
    let path = dir.join(SCHEMA_FILE);
    let bytes = std::fs::read(&path).map_err(|error| DataError::io(&path, error))?;
    serde_json::from_slice(&bytes).map_err(|error| DataError::json(&path, error))
}
