//! The anomalies document: what ExampleValidator writes as `anomalies.json` (with its HTML
//! report), and its file functions.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::report::anomalies_html;
use crate::{DataError, Result};

/// The file name of the anomalies document inside an `ExampleAnomalies` artifact.
pub const ANOMALIES_FILE: &str = "anomalies.json";

/// The file name of the HTML report inside an `ExampleAnomalies` artifact.
pub const ANOMALIES_REPORT_FILE: &str = "anomalies.html";

/// Everything found wrong with some examples, against a schema.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Anomalies {
    /// One entry per problem, by split then feature.
    pub anomalies: Vec<Anomaly>,
}

impl Anomalies {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The names of the features with at least one anomaly, sorted, without repeats.
    pub fn features(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .anomalies
            .iter()
            .map(|anomaly| anomaly.feature.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// One problem with one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The split where it was found; for drift, the current span's split.
    pub split: String,
    /// The feature.
    pub feature: String,
    /// What kind of problem.
    pub kind: AnomalyKind,
    /// A sentence for people: what was expected and what was found.
    pub description: String,
    /// Some of the offending values, when there are values to show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// The measured distance, for drift and skew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<f64>,
    /// The allowed distance, for drift and skew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// The kinds of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A feature of the schema is not in the data.
    MissingColumn,
    /// The data have a feature the schema does not know.
    UnexpectedColumn,
    /// The values have another type than the schema's.
    TypeMismatch,
    /// Values outside the schema's list of strings.
    OutOfDomain,
    /// Values outside the schema's numeric range.
    OutOfRange,
    /// The feature is missing from more examples than allowed.
    PresenceViolation,
    /// The distribution moved too far from the previous span's.
    Drift,
    /// The distribution differs too much between splits.
    Skew,
}

impl AnomalyKind {
    /// The name used in documents and reports.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::MissingColumn => "missing column",
            AnomalyKind::UnexpectedColumn => "unexpected column",
            AnomalyKind::TypeMismatch => "type mismatch",
            AnomalyKind::OutOfDomain => "out of domain",
            AnomalyKind::OutOfRange => "out of range",
            AnomalyKind::PresenceViolation => "presence violation",
            AnomalyKind::Drift => "drift",
            AnomalyKind::Skew => "skew",
        }
    }
}

/// Writes `anomalies.json` and `anomalies.html` into `dir`.
pub fn write_anomalies(dir: &Path, anomalies: &Anomalies, title: &str) -> Result<()> {
    let path = dir.join(ANOMALIES_FILE);
    let json =
        serde_json::to_vec_pretty(anomalies).map_err(|error| DataError::json(&path, error))?;
    std::fs::write(&path, json).map_err(|error| DataError::io(&path, error))?;
    let html = dir.join(ANOMALIES_REPORT_FILE);
    std::fs::write(&html, anomalies_html(anomalies, title))
        .map_err(|error| DataError::io(&html, error))
}

/// Reads the `anomalies.json` of an ExampleAnomalies artifact.
pub fn read_anomalies(dir: &Path) -> Result<Anomalies> {
    let path = dir.join(ANOMALIES_FILE);
    let bytes = std::fs::read(&path).map_err(|error| DataError::io(&path, error))?;
    serde_json::from_slice(&bytes).map_err(|error| DataError::json(&path, error))
}
