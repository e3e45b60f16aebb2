//! One streaming pass of statistics over Arrow batches, mergeable across files and threads,
//! with memory bounded by the number of features (not of rows).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use serde::{Deserialize, Serialize};

use super::model::{
    Bucket, FeatureStatistics, NumericStatistics, SplitStatistics, StringStatistics, ValueCount,
};
use super::{FrequentValues, QuantileSketch};
use crate::FeatureType;
use crate::examples_format::feature_type_of;
use crate::{DataError, Result};

/// What the errors of this module name as the reader of the columns.
const STATISTICS: &str = "statistics";

/// What the statistics report beyond the fixed figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatisticsOptions {
    /// How many of the most frequent values of a string feature to report.
    pub top_k: usize,
    /// How many buckets the equal-width histograms have.
    pub histogram_buckets: usize,
    /// How many buckets the quantile histograms have.
    pub quantile_buckets: usize,
}

impl Default for StatisticsOptions {
    fn default() -> Self {
        StatisticsOptions {
            top_k: 20,
            histogram_buckets: 10,
            quantile_buckets: 10,
        }
    }
}

/// The statistics being gathered for one split.
///
/// One read back (from a statistics shard) is checked first: a column per name, and in each
/// column every row counted once (as a value, a missing value or a NaN), with its sketch
/// counting as many values — so a damaged file is refused rather than merged into nonsense.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "AccumulatorFields")]
pub struct SplitAccumulator {
    names: Vec<String>,
    rows: u64,
    columns: Vec<ColumnAccumulator>,
}

/// A [`SplitAccumulator`]'s fields as written, checked before they become one.
#[derive(Deserialize)]
struct AccumulatorFields {
    names: Vec<String>,
    rows: u64,
    columns: Vec<ColumnAccumulator>,
}

impl TryFrom<AccumulatorFields> for SplitAccumulator {
    type Error = String;

    fn try_from(fields: AccumulatorFields) -> std::result::Result<Self, String> {
        if fields.names.len() != fields.columns.len() {
            return Err(format!(
                "statistics of {} columns name {}",
                fields.columns.len(),
                fields.names.len()
            ));
        }
        for (name, column) in fields.names.iter().zip(&fields.columns) {
            let (counted, values_counted, consistent) = match column {
                ColumnAccumulator::Numeric(numeric) => (
                    [numeric.count, numeric.missing, numeric.nan]
                        .iter()
                        .try_fold(0_u64, |total, &n| total.checked_add(n)),
                    numeric.sketch.count(),
                    numeric.feature_type.is_numeric() && numeric.zeros <= numeric.count,
                ),
                ColumnAccumulator::String(text) => (
                    text.count.checked_add(text.missing),
                    text.values.count(),
                    true,
                ),
            };
            let count = match column {
                ColumnAccumulator::Numeric(numeric) => numeric.count,
                ColumnAccumulator::String(text) => text.count,
            };
            if counted != Some(fields.rows) || values_counted != count || !consistent {
                return Err(format!(
                    "the statistics of `{name}` do not count each of the {} rows once",
                    fields.rows
                ));
            }
        }
        Ok(SplitAccumulator {
            names: fields.names,
            rows: fields.rows,
            columns: fields.columns,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum ColumnAccumulator {
    Numeric(NumericAccumulator),
    String(StringAccumulator),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NumericAccumulator {
    feature_type: FeatureType,
    count: u64,
    missing: u64,
    zeros: u64,
    nan: u64,
    #[serde(with = "super::float_bits")]
    mean: f64,
    /// The sum of squared deviations from the mean (Chan et al.'s M2).
    #[serde(with = "super::float_bits")]
    squared_deviations: f64,
    #[serde(with = "super::float_bits")]
    min: f64,
    #[serde(with = "super::float_bits")]
    max: f64,
    sketch: QuantileSketch,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StringAccumulator {
    count: u64,
    missing: u64,
    values: FrequentValues,
}

impl SplitAccumulator {
    /// The features it gathers, in column order.
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// The type of each feature, in column order.
    pub fn feature_types(&self) -> Vec<FeatureType> {
        self.columns
            .iter()
            .map(|column| match column {
                ColumnAccumulator::Numeric(numeric) => numeric.feature_type,
                ColumnAccumulator::String(_) => FeatureType::String,
            })
            .collect()
    }

    /// How many rows it has seen.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// An accumulator for batches of `schema` (int, float and string columns).
    pub fn new(schema: &Schema) -> Result<Self> {
        let mut names = Vec::with_capacity(schema.fields().len());
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let feature_type =
                feature_type_of(field.data_type()).ok_or_else(|| DataError::WrongType {
                    column: field.name().clone(),
                    needed_by: STATISTICS.to_owned(),
                    expected: "an int, float or string column".to_owned(),
                    found: format!("of Arrow type {}", field.data_type()),
                })?;
            names.push(field.name().clone());
            columns.push(match feature_type {
                FeatureType::String => ColumnAccumulator::String(StringAccumulator {
                    count: 0,
                    missing: 0,
                    values: FrequentValues::new(),
                }),
                numeric => ColumnAccumulator::Numeric(NumericAccumulator {
                    feature_type: numeric,
                    count: 0,
                    missing: 0,
                    zeros: 0,
                    nan: 0,
                    mean: 0.0,
                    squared_deviations: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    sketch: QuantileSketch::new(),
                }),
            });
        }
        Ok(SplitAccumulator {
            names,
            rows: 0,
            columns,
        })
    }

    /// Adds the rows of `batch`, whose columns are those of the schema, in order.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.columns.len() {
            return Err(DataError::Arrow {
                context: STATISTICS.to_owned(),
                message: format!(
                    "a batch has {} columns where the statistics expect {}",
                    batch.num_columns(),
                    self.columns.len()
                ),
            });
        }
        self.rows += batch.num_rows() as u64;
        for ((column, array), name) in self
            .columns
            .iter_mut()
            .zip(batch.columns())
            .zip(&self.names)
        {
            match (column, array.data_type()) {
                (ColumnAccumulator::Numeric(numeric), DataType::Float64) => {
                    numeric.update_floats(array.as_primitive::<Float64Type>());
                }
                (ColumnAccumulator::Numeric(numeric), DataType::Int64) => {
                    numeric.update_ints(array.as_primitive::<Int64Type>());
                }
                (ColumnAccumulator::String(text), DataType::Utf8) => {
                    let strings = array.as_string::<i32>();
                    text.missing += strings.null_count() as u64;
                    text.count += (strings.len() - strings.null_count()) as u64;
                    for value in strings.iter().flatten() {
                        text.values.insert(value);
                    }
                }
                (column, other) => {
                    let expected = match column {
                        ColumnAccumulator::Numeric(_) => "an int64 or float64 column",
                        ColumnAccumulator::String(_) => "a utf8 column",
                    };
                    return Err(DataError::WrongType {
                        column: name.clone(),
                        needed_by: STATISTICS.to_owned(),
                        expected: format!("{expected}, as in the first batch"),
                        found: format!("of Arrow type {other} in a later batch"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds what `other` gathered (over other rows of the same columns).
    pub fn merge(&mut self, other: &SplitAccumulator) {
        self.rows += other.rows;
        for (mine, theirs) in self.columns.iter_mut().zip(&other.columns) {
            match (mine, theirs) {
                (ColumnAccumulator::Numeric(mine), ColumnAccumulator::Numeric(theirs)) => {
                    mine.merge(theirs);
                }
                (ColumnAccumulator::String(mine), ColumnAccumulator::String(theirs)) => {
                    mine.count += theirs.count;
                    mine.missing += theirs.missing;
                    mine.values.merge(&theirs.values);
                }
                // The schemas are equal by construction; mismatched columns have nothing to add.
                _ => {}
            }
        }
    }

    /// The statistics of the split called `name`.
    pub fn finish(&self, name: &str, options: &StatisticsOptions) -> SplitStatistics {
        SplitStatistics {
            name: name.to_owned(),
            num_examples: self.rows,
            features: self
                .columns
                .iter()
                .zip(&self.names)
                .map(|(column, feature)| match column {
                    ColumnAccumulator::Numeric(numeric) => numeric.finish(feature, options),
                    ColumnAccumulator::String(text) => FeatureStatistics {
                        name: feature.clone(),
                        feature_type: FeatureType::String,
                        count: text.count,
                        missing: text.missing,
                        numeric: None,
                        string: Some(StringStatistics {
                            unique: text.values.distinct(),
                            exact: text.values.is_exact(),
                            top_values: text
                                .values
                                .top(options.top_k)
                                .into_iter()
                                .map(|(value, count)| ValueCount { value, count })
                                .collect(),
                            avg_length: text.values.mean_length(),
                        }),
                    },
                })
                .collect(),
        }
    }
}

impl NumericAccumulator {
    fn update_floats(&mut self, array: &arrow_array::Float64Array) {
        self.missing += array.null_count() as u64;
        let mut batch = BatchMoments::default();
        if array.null_count() == 0 {
            for &value in array.values() {
                self.add(value, &mut batch);
            }
        } else {
            for value in array.iter().flatten() {
                self.add(value, &mut batch);
            }
        }
        self.absorb(&batch, array);
    }

    fn update_ints(&mut self, array: &arrow_array::Int64Array) {
        self.missing += array.null_count() as u64;
        let mut batch = BatchMoments::default();
        if array.null_count() == 0 {
            for &value in array.values() {
                self.add(value as f64, &mut batch);
            }
        } else {
            for value in array.iter().flatten() {
                self.add(value as f64, &mut batch);
            }
        }
        self.absorb(&batch, array);
    }

    #[inline]
    fn add(&mut self, value: f64, batch: &mut BatchMoments) {
        if value.is_nan() {
            self.nan += 1;
            return;
        }
        batch.count += 1;
        batch.sum += value;
        self.zeros += u64::from(value == 0.0);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sketch.insert(value);
    }

    /// Folds a batch's moments in: the batch mean first, then its squared deviations in a second
    /// pass over values still in cache, then Chan's parallel update.
    fn absorb<T>(&mut self, batch: &BatchMoments, array: &arrow_array::PrimitiveArray<T>)
    where
        T: arrow_array::ArrowPrimitiveType,
        T::Native: AsF64,
    {
        if batch.count == 0 {
            return;
        }
        let batch_mean = batch.sum / batch.count as f64;
        let mut squared_deviations = 0.0;
        for value in array.iter().flatten() {
            let value = value.as_f64();
            if !value.is_nan() {
                squared_deviations += (value - batch_mean) * (value - batch_mean);
            }
        }
        self.combine(batch.count, batch_mean, squared_deviations);
    }

    fn combine(&mut self, count: u64, mean: f64, squared_deviations: f64) {
        if count == 0 {
            return;
        }
        let total = self.count + count;
        let delta = mean - self.mean;
        self.mean += delta * count as f64 / total as f64;
        self.squared_deviations +=
            squared_deviations + delta * delta * self.count as f64 * count as f64 / total as f64;
        self.count = total;
    }

    fn merge(&mut self, other: &NumericAccumulator) {
        self.combine(other.count, other.mean, other.squared_deviations);
        self.missing += other.missing;
        self.zeros += other.zeros;
        self.nan += other.nan;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sketch.merge(&other.sketch);
    }

    fn finish(&self, name: &str, options: &StatisticsOptions) -> FeatureStatistics {
        let numeric = (self.count > 0).then(|| {
            let ranks: Vec<f64> = (0..=100)
                .map(|percent| f64::from(percent) / 100.0)
                .collect();
            let quantiles = self.sketch.quantiles(&ranks);
            let buckets = options.histogram_buckets.max(1);
            let width = (self.max - self.min) / buckets as f64;
            // An infinite value (or a range wider than the largest float) leaves no width to
            // divide: one bucket holds every value.
            let divisible = width.is_finite() && width > 0.0;
            let boundaries: Vec<f64> = if divisible {
                (0..=buckets)
                    .map(|index| {
                        if index == buckets {
                            self.max
                        } else {
                            self.min + width * index as f64
                        }
                    })
                    .collect()
            } else {
                vec![self.min, self.max]
            };
            let counts = if divisible {
                self.sketch.cdf_counts(&boundaries)
            } else {
                vec![self.count as f64]
            };
            let histogram = boundaries
                .windows(2)
                .zip(counts)
                .map(|(bounds, count)| Bucket {
                    low: bounds[0],
                    high: bounds[1],
                    count,
                })
                .collect();
            let quantile_buckets = options.quantile_buckets.max(1);
            let quantile_ranks: Vec<f64> = (0..=quantile_buckets)
                .map(|index| index as f64 / quantile_buckets as f64)
                .collect();
            let quantile_bounds = self.sketch.quantiles(&quantile_ranks);
            let quantile_histogram = quantile_bounds
                .windows(2)
                .map(|bounds| Bucket {
                    low: bounds[0],
                    high: bounds[1],
                    count: self.count as f64 / quantile_buckets as f64,
                })
                .collect();
            NumericStatistics {
                mean: self.mean,
                std_dev: (self.squared_deviations / self.count as f64).sqrt(),
                min: self.min,
                max: self.max,
                median: quantiles.get(50).copied().unwrap_or(self.min),
                zeros: self.zeros,
                nan: self.nan,
                quantiles,
                rank_error: self.sketch.rank_error(),
                histogram,
                quantile_histogram,
            }
        });
        FeatureStatistics {
            name: name.to_owned(),
            feature_type: self.feature_type,
            count: self.count,
            missing: self.missing,
            numeric,
            string: None,
        }
    }
}

#[derive(Debug, Default)]
struct BatchMoments {
    count: u64,
    sum: f64,
}

/// Numbers the statistics read as f64.
trait AsF64: Copy {
    fn as_f64(self) -> f64;
}

impl AsF64 for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

impl AsF64 for i64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}
