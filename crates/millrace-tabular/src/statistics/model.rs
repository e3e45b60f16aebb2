//! The statistics document: what StatisticsGen writes as `statistics.json` (with its HTML
//! report) and what SchemaGen, ExampleValidator, Transform and the HTML report read.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::FeatureType;
use crate::report::statistics_html;
use crate::{DataError, Result};

/// The file name of the statistics document inside an `ExampleStatistics` artifact.
pub const STATISTICS_FILE: &str = "statistics.json";

/// The file name of the HTML report inside an `ExampleStatistics` artifact.
pub const STATISTICS_REPORT_FILE: &str = "statistics.html";

/// Statistics of every split of some examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStatistics {
    /// The span of the examples described, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<i64>,
    /// One entry per split, in the examples' split order.
    pub splits: Vec<SplitStatistics>,
}

impl DatasetStatistics {
    /// The statistics of the split called `name`.
    pub fn split(&self, name: &str) -> Option<&SplitStatistics> {
        self.splits.iter().find(|split| split.name == name)
    }
}

/// Statistics of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitStatistics {
    /// The split's name (`train`, `eval`, ...).
    pub name: String,
    /// How many examples (rows) the split has.
    pub num_examples: u64,
    /// One entry per feature (column), in column order.
    pub features: Vec<FeatureStatistics>,
}

impl SplitStatistics {
    /// The statistics of the feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureStatistics> {
        self.features.iter().find(|feature| feature.name == name)
    }
}

/// Statistics of one feature in one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStatistics {
    /// The feature's (column's) name.
    pub name: String,
    /// The type of its values.
    #[serde(rename = "type")]
    pub feature_type: FeatureType,
    /// How many examples have a value.
    pub count: u64,
    /// How many examples have no value (an empty CSV field, a Parquet null).
    pub missing: u64,
    /// For int and float features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericStatistics>,
    /// For string features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<StringStatistics>,
}

impl FeatureStatistics {
    /// The fraction of examples that have a value (1 when the split is empty).
    pub fn presence(&self) -> f64 {
        // In floating point: a document read back may hold counts whose sum overflows.
        let total = self.count as f64 + self.missing as f64;
        if total == 0.0 {
            1.0
        } else {
            self.count as f64 / total
        }
    }
}

/// Statistics of a numeric feature's present values.
///
/// A float feature may hold infinities, and then so may its figures: a non-finite figure is
/// written as `"Infinity"`, `"-Infinity"` or `"NaN"` (see `json_float`), so that the document
/// reads back as it was written.
///
/// Count, mean, standard deviation, minimum, maximum and zeros are exact. Quantiles and
/// histograms come from a mergeable quantile sketch: a reported quantile's true rank differs
/// from the asked rank by at most `rank_error` (a fraction of `count`), 0 when the sketch
/// kept every value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericStatistics {
    /// The arithmetic mean.
    #[serde(with = "crate::json_float")]
    pub mean: f64,
    /// The population standard deviation (divisor `count`, as TFDV reports it).
    #[serde(with = "crate::json_float")]
    pub std_dev: f64,
    /// The smallest value.
    #[serde(with = "crate::json_float")]
    pub min: f64,
    /// The largest value.
    #[serde(with = "crate::json_float")]
    pub max: f64,
    /// The median (the 0.5 quantile).
    #[serde(with = "crate::json_float")]
    pub median: f64,
    /// How many values are exactly zero.
    pub zeros: u64,
    /// How many values are NaN (they take no part in the other figures).
    #[serde(default)]
    pub nan: u64,
    /// The quantiles at ranks 0, 0.01, 0.02, …, 1 (101 values; the first is `min`, the last `max`).
    #[serde(with = "crate::json_float::vec")]
    pub quantiles: Vec<f64>,
    /// The bound on the quantiles' rank error, as a fraction of `count`.
    #[serde(with = "crate::json_float")]
    pub rank_error: f64,
    /// Equal-width buckets from `min` to `max`.
    pub histogram: Vec<Bucket>,
    /// Buckets holding equal numbers of values (deciles).
    pub quantile_histogram: Vec<Bucket>,
}

/// One histogram bucket: values in `[low, high)` (the last bucket includes `high`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Lower bound.
    #[serde(with = "crate::json_float")]
    pub low: f64,
    /// Upper bound.
    #[serde(with = "crate::json_float")]
    pub high: f64,
    /// How many values fall in it (a sketch estimate, hence fractional).
    #[serde(with = "crate::json_float")]
    pub count: f64,
}

/// Statistics of a string feature's present values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringStatistics {
    /// How many distinct values.
    pub unique: u64,
    /// Whether `unique` and the top values' counts are exact (they are estimates once a feature
    /// has more distinct values than the profiler keeps).
    pub exact: bool,
    /// The most frequent values, most frequent first (ties by value).
    pub top_values: Vec<ValueCount>,
    /// The mean length of the values, in characters.
    #[serde(with = "crate::json_float")]
    pub avg_length: f64,
}

/// A value and how many examples have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCount {
    /// The value.
    pub value: String,
    /// How many examples have it.
    pub count: u64,
}

/// Reads the `statistics.json` of an ExampleStatistics artifact.
pub fn read_statistics(dir: &Path) -> Result<DatasetStatistics> {
    let path = dir.join(STATISTICS_FILE);
    let bytes = std::fs::read(&path).map_err(|error| DataError::io(&path, error))?;
    serde_json::from_slice(&bytes).map_err(|error| DataError::json(&path, error))
}

/// Writes `statistics.json` and `statistics.html` into `dir`.
pub fn write_statistics(dir: &Path, statistics: &DatasetStatistics, title: &str) -> Result<()> {
    let json_path = dir.join(STATISTICS_FILE);
    let json = serde_json::to_vec_pretty(statistics)
        .map_err(|error| DataError::json(&json_path, error))?;
    std::fs::write(&json_path, json).map_err(|error| DataError::io(&json_path, error))?;
    let html_path = dir.join(STATISTICS_REPORT_FILE);
    std::fs::write(&html_path, statistics_html(statistics, title))
        .map_err(|error| DataError::io(&html_path, error))
}
