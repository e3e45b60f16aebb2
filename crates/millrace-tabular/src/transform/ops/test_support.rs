//! Statistics, batches and accessors for the ops' tests.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};

use super::{FittedOp, TransformOp};
use crate::FeatureType;
use crate::statistics::{FeatureStatistics, NumericStatistics, StringStatistics, ValueCount};

pub(crate) fn numeric_stats(
    name: &str,
    feature_type: FeatureType,
    [mean, std_dev, min, max, median]: [f64; 5],
    quantiles: Vec<f64>,
) -> FeatureStatistics {
    FeatureStatistics {
        name: name.to_owned(),
        feature_type,
        count: 10,
        missing: 2,
        numeric: Some(NumericStatistics {
            mean,
            std_dev,
            min,
            max,
            median,
            zeros: 0,
            nan: 0,
            quantiles,
            rank_error: 0.0,
            histogram: Vec::new(),
            quantile_histogram: Vec::new(),
        }),
        string: None,
    }
}

pub(crate) fn string_stats(name: &str, top: &[(&str, u64)]) -> FeatureStatistics {
    FeatureStatistics {
        name: name.to_owned(),
        feature_type: FeatureType::String,
        count: top.iter().map(|(_, count)| count).sum(),
        missing: 1,
        numeric: None,
        string: Some(StringStatistics {
            unique: top.len() as u64,
            exact: true,
            top_values: top
                .iter()
                .map(|(value, count)| ValueCount {
                    value: (*value).to_owned(),
                    count: *count,
                })
                .collect(),
            avg_length: 1.0,
        }),
    }
}

pub(crate) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, array)| array).collect(),
    )
    .unwrap()
}

pub(crate) fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

pub(crate) fn floats(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

pub(crate) fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

pub(crate) fn op(json: &str) -> TransformOp {
    serde_json::from_str(json).unwrap()
}

/// Applies a single-output op and returns its column.
pub(crate) fn apply_one(fitted: &FittedOp, batch: &RecordBatch) -> ArrayRef {
    let mut outputs = fitted.apply(batch).unwrap();
    assert_eq!(outputs.len(), 1);
    outputs.remove(0).1
}

pub(crate) fn as_floats(array: &ArrayRef) -> Vec<Option<f64>> {
    array.as_primitive::<Float64Type>().iter().collect()
}

pub(crate) fn as_ints(array: &ArrayRef) -> Vec<Option<i64>> {
    array.as_primitive::<Int64Type>().iter().collect()
}

pub(crate) fn percentiles(f: impl Fn(usize) -> f64) -> Vec<f64> {
    (0..=100).map(f).collect()
}
