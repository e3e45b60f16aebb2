//! Applying fitted ops: the input columns of a batch in, the op's columns out, each as long as
//! the batch. The rules every op follows (nulls, NaN, text forms, hashing) are in the
//! [module documentation](super).

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use super::columns::{Columns, Input, Numeric, fill_primitive};
use super::fitted::{FillValue, FittedOp, one_hot_names};
use super::unfit_constant;
use crate::hash::{Fnv1a64, fnv1a_64};
use crate::{DataError, FeatureType, Result};

impl FittedOp {
    /// Applies the op to `batch`, reading its inputs by name: the columns written, in
    /// [`outputs`](Self::outputs) order, each as long as the batch.
    ///
    /// Errors name a missing column ([`DataError::MissingColumn`]) or one of the wrong type
    /// ([`DataError::WrongType`]).
    pub fn apply(&self, batch: &RecordBatch) -> Result<Vec<(String, ArrayRef)>> {
        self.apply_to(batch)
    }

    /// [`apply`](Self::apply) on any source of columns.
    pub(crate) fn apply_to(&self, columns: &dyn Columns) -> Result<Vec<(String, ArrayRef)>> {
        self.validate()?;
        let single = |array: ArrayRef| Ok(vec![(self.output().to_owned(), array)]);
        match self {
            FittedOp::ZScore {
                input,
                mean,
                std_dev,
                ..
            } => {
                let values = self.numeric(columns, input)?;
                let (mean, std_dev) = (*mean, *std_dev);
                let array = if std_dev == 0.0 {
                    values.map(|_| 0.0)
                } else {
                    values.map(|x| (x - mean) / std_dev)
                };
                single(Arc::new(array))
            }
            FittedOp::MinMax {
                input,
                min,
                max,
                clip,
                ..
            } => {
                let values = self.numeric(columns, input)?;
                let (min, range) = (*min, *max - *min);
                let array = if range == 0.0 {
                    values.map(|_| 0.0)
                } else if *clip {
                    values.map(|x| ((x - min) / range).clamp(0.0, 1.0))
                } else {
                    values.map(|x| (x - min) / range)
                };
                single(Arc::new(array))
            }
            FittedOp::Bucketize {
                input, boundaries, ..
            } => {
                let values = self.numeric(columns, input)?;
                let array = values.map_opt::<Int64Type>(|x| {
                    (!x.is_nan())
                        .then(|| boundaries.partition_point(|&boundary| boundary <= x) as i64)
                });
                single(Arc::new(array))
            }
            FittedOp::Vocabulary {
                input,
                vocabulary,
                num_oov_buckets,
                ..
            } => {
                let strings = self.string(columns, input)?;
                let known = vocabulary.len() as i64;
                let oov = u64::from(*num_oov_buckets);
                let values: Vec<i64> = strings
                    .iter()
                    .map(|value| {
                        value.map_or(0, |value| match vocabulary.index_of(value) {
                            Some(index) => index as i64,
                            None => known + hash_bucket(fnv1a_64(value.as_bytes()), oov),
                        })
                    })
                    .collect();
                single(Arc::new(Int64Array::new(
                    values.into(),
                    strings.nulls().cloned(),
                )))
            }
            FittedOp::OneHot {
                input,
                output,
                vocabulary,
            } => {
                let strings = self.string(columns, input)?;
                let oov = vocabulary.len();
                let mut hot = vec![vec![0.0; strings.len()]; oov + 1];
                for (row, value) in strings.iter().enumerate() {
                    if let Some(value) = value {
                        hot[vocabulary.index_of(value).unwrap_or(oov)][row] = 1.0;
                    }
                }
                Ok(one_hot_names(output, oov)
                    .into_iter()
                    .zip(hot)
                    .map(|(name, values)| (name, Arc::new(Float64Array::from(values)) as ArrayRef))
                    .collect())
            }
            FittedOp::HashBuckets { input, buckets, .. } => {
                let buckets = *buckets;
                let array = match self.input(columns, input)? {
                    Input::Int(array) => array.unary::<_, Int64Type>(|value| {
                        hash_bucket(Fnv1a64::of_display(value), buckets)
                    }),
                    Input::Float(array) => array.unary::<_, Int64Type>(|value| {
                        hash_bucket(Fnv1a64::of_display(value), buckets)
                    }),
                    Input::String(array) => {
                        let values: Vec<i64> = array
                            .iter()
                            .map(|value| {
                                value.map_or(0, |value| {
                                    hash_bucket(fnv1a_64(value.as_bytes()), buckets)
                                })
                            })
                            .collect();
                        Int64Array::new(values.into(), array.nulls().cloned())
                    }
                };
                single(Arc::new(array))
            }
            FittedOp::Log { input, offset, .. } => {
                let offset = *offset;
                let array = self.numeric(columns, input)?.map_opt::<Float64Type>(|x| {
                    let shifted = x + offset;
                    (shifted > 0.0).then(|| shifted.ln())
                });
                single(Arc::new(array))
            }
            FittedOp::FillMissing { input, value, .. } => {
                let column = self.input(columns, input)?;
                let array: ArrayRef = match (column, value) {
                    (Input::Int(array), FillValue::Int(fill)) => {
                        Arc::new(fill_primitive(array, *fill))
                    }
                    (Input::Float(array), FillValue::Int(fill)) => {
                        Arc::new(fill_primitive(array, *fill as f64))
                    }
                    (Input::Float(array), FillValue::Float(fill)) => {
                        Arc::new(fill_primitive(array, *fill))
                    }
                    (Input::String(array), FillValue::String(fill)) => {
                        if array.null_count() == 0 {
                            Arc::new(array.clone())
                        } else {
                            Arc::new(StringArray::from_iter_values(
                                array.iter().map(|value| value.unwrap_or(fill)),
                            ))
                        }
                    }
                    (column, value) => {
                        let column_type = match column {
                            Input::Int(_) => FeatureType::Int,
                            Input::Float(_) => FeatureType::Float,
                            Input::String(_) => FeatureType::String,
                        };
                        return Err(unfit_constant(&self.label(), value, input, column_type));
                    }
                };
                single(array)
            }
            FittedOp::Cross {
                inputs, buckets, ..
            } => {
                let columns = inputs
                    .iter()
                    .map(|input| self.input(columns, input))
                    .collect::<Result<Vec<_>>>()?;
                let rows = columns.first().map_or(0, Input::len);
                if columns.iter().any(|column| column.len() != rows) {
                    return Err(DataError::arrow(
                        self.label(),
                        "the input columns differ in length",
                    ));
                }
                let mut scratch = String::new();
                let array: Int64Array = (0..rows)
                    .map(|row| {
                        let mut hasher = Fnv1a64::new();
                        columns
                            .iter()
                            .all(|&column| feed_cross(column, row, &mut hasher, &mut scratch))
                            .then(|| hash_bucket(hasher.finish(), *buckets))
                    })
                    .collect();
                single(Arc::new(array))
            }
        }
    }

    fn input<'a>(&self, columns: &'a dyn Columns, name: &str) -> Result<Input<'a>> {
        let array = columns
            .find_column(name)
            .ok_or_else(|| DataError::MissingColumn {
                column: name.to_owned(),
                needed_by: self.label(),
                place: "the input".to_owned(),
                available: columns.column_names(),
            })?;
        if let Some(array) = array.as_primitive_opt::<Int64Type>() {
            Ok(Input::Int(array))
        } else if let Some(array) = array.as_primitive_opt::<Float64Type>() {
            Ok(Input::Float(array))
        } else if let Some(array) = array.as_string_opt::<i32>() {
            Ok(Input::String(array))
        } else {
            Err(DataError::WrongType {
                column: name.to_owned(),
                needed_by: self.label(),
                expected: "an int64, float64 or utf8 column".to_owned(),
                found: format!("of Arrow type {}", array.data_type()),
            })
        }
    }

    fn numeric<'a>(&self, columns: &'a dyn Columns, name: &str) -> Result<Numeric<'a>> {
        match self.input(columns, name)? {
            Input::Int(array) => Ok(Numeric::Int(array)),
            Input::Float(array) => Ok(Numeric::Float(array)),
            Input::String(_) => Err(self.wrong_type(name, FeatureType::String, "a numeric")),
        }
    }

    fn string<'a>(&self, columns: &'a dyn Columns, name: &str) -> Result<&'a StringArray> {
        match self.input(columns, name)? {
            Input::String(array) => Ok(array),
            Input::Int(_) => Err(self.wrong_type(name, FeatureType::Int, "a string")),
            Input::Float(_) => Err(self.wrong_type(name, FeatureType::Float, "a string")),
        }
    }
}

fn hash_bucket(hash: u64, buckets: u64) -> i64 {
    // `buckets` is at most `i64::MAX` (checked by `validate`), so the remainder fits.
    (hash % buckets) as i64
}

/// Feeds value `row` of `column` to a cross's hash; false if it is null.
///
/// Each value is fed as its text form's byte length in decimal, `:`, then the text, so that no
/// two different lists of texts feed the same bytes (`["a:b"]` vs `["a", "b"]`).
#[inline]
fn feed_cross(column: Input<'_>, row: usize, hasher: &mut Fnv1a64, scratch: &mut String) -> bool {
    let text = match column {
        Input::Int(array) => {
            if array.is_null(row) {
                return false;
            }
            scratch.clear();
            let _ = write!(scratch, "{}", array.value(row));
            scratch.as_str()
        }
        Input::Float(array) => {
            if array.is_null(row) {
                return false;
            }
            scratch.clear();
            let _ = write!(scratch, "{}", array.value(row));
            scratch.as_str()
        }
        Input::String(array) => {
            if array.is_null(row) {
                return false;
            }
            array.value(row)
        }
    };
    let _ = write!(hasher, "{}:", text.len());
    hasher.update(text.as_bytes());
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::transform::ops::test_support::*;

    #[test]
    fn z_score_standardises_ints_and_floats_and_keeps_nulls() {
        let stats = numeric_stats(
            "age",
            FeatureType::Int,
            [3.0, 2.0, 1.0, 5.0, 3.0],
            percentiles(|i| i as f64),
        );
        let fitted = op(r#"{"z_score": {"input": "age", "output": "age_z"}}"#)
            .fit(&[&stats])
            .unwrap();
        assert_eq!(
            fitted,
            FittedOp::ZScore {
                input: "age".into(),
                output: "age_z".into(),
                mean: 3.0,
                std_dev: 2.0
            }
        );
        let input = batch(vec![("age", ints(&[Some(1), None, Some(3), Some(8)]))]);
        assert_eq!(
            as_floats(&apply_one(&fitted, &input)),
            [Some(-1.0), None, Some(0.0), Some(2.5)]
        );
        let input = batch(vec![("age", floats(&[Some(4.0), None]))]);
        assert_eq!(as_floats(&apply_one(&fitted, &input)), [Some(0.5), None]);

        let constant = FittedOp::ZScore {
            input: "age".into(),
            output: "age_z".into(),
            mean: 3.0,
            std_dev: 0.0,
        };
        let input = batch(vec![("age", ints(&[Some(3), None, Some(7)]))]);
        assert_eq!(
            as_floats(&apply_one(&constant, &input)),
            [Some(0.0), None, Some(0.0)]
        );
    }

    #[test]
    fn min_max_scales_and_clips_only_when_asked() {
        let stats = numeric_stats(
            "fare",
            FeatureType::Float,
            [5.0, 1.0, 2.0, 12.0, 5.0],
            percentiles(|i| i as f64),
        );
        let input = batch(vec![(
            "fare",
            floats(&[Some(2.0), Some(7.0), None, Some(14.0), Some(0.0)]),
        )]);
        let plain = op(r#"{"min_max": {"input": "fare", "output": "f"}}"#)
            .fit(&[&stats])
            .unwrap();
        assert_eq!(
            as_floats(&apply_one(&plain, &input)),
            [Some(0.0), Some(0.5), None, Some(1.2), Some(-0.2)]
        );
        let clipped = op(r#"{"min_max": {"input": "fare", "output": "f", "clip": true}}"#)
            .fit(&[&stats])
            .unwrap();
        assert_eq!(
            as_floats(&apply_one(&clipped, &input)),
            [Some(0.0), Some(0.5), None, Some(1.0), Some(0.0)]
        );
        let flat = FittedOp::MinMax {
            input: "fare".into(),
            output: "f".into(),
            min: 3.0,
            max: 3.0,
            clip: false,
        };
        assert_eq!(
            as_floats(&apply_one(&flat, &input)),
            [Some(0.0), Some(0.0), None, Some(0.0), Some(0.0)]
        );
    }

    #[test]
    fn bucketize_counts_the_boundaries_at_or_below_each_value() {
        let stats = numeric_stats(
            "x",
            FeatureType::Float,
            [100.0, 1.0, 0.0, 200.0, 100.0],
            percentiles(|i| 2.0 * i as f64),
        );
        let fitted = op(r#"{"bucketize": {"input": "x", "output": "b", "buckets": 4}}"#)
            .fit(&[&stats])
            .unwrap();
        let FittedOp::Bucketize { boundaries, .. } = &fitted else {
            panic!("{fitted:?}");
        };
        assert_eq!(boundaries, &[50.0, 100.0, 150.0]);
        let input = batch(vec![(
            "x",
            floats(&[
                Some(-5.0),
                Some(49.9),
                Some(50.0),
                None,
                Some(120.0),
                Some(150.0),
                Some(1e9),
                Some(f64::NAN),
            ]),
        )]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [
                Some(0),
                Some(0),
                Some(1),
                None,
                Some(2),
                Some(3),
                Some(3),
                None
            ]
        );
        let input = batch(vec![("x", ints(&[Some(100), None, Some(0)]))]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [Some(2), None, Some(0)]
        );
    }

    #[test]
    fn one_hot_writes_a_column_per_term_and_one_for_the_rest() {
        let stats = string_stats("pay", &[("a", 5), ("c", 9), ("b", 1)]);
        let fitted = op(r#"{"one_hot": {"input": "pay", "output": "pay", "top_k": 2}}"#)
            .fit(&[&stats])
            .unwrap();
        assert_eq!(fitted.outputs(), ["pay_0", "pay_1", "pay_oov"]);
        let input = batch(vec![(
            "pay",
            strings(&[Some("a"), None, Some("x"), Some("c")]),
        )]);
        let outputs = fitted.apply(&input).unwrap();
        let columns: Vec<(&str, Vec<Option<f64>>)> = outputs
            .iter()
            .map(|(name, array)| (name.as_str(), as_floats(array)))
            .collect();
        let v = |values: [f64; 4]| values.map(Some).to_vec();
        assert_eq!(
            columns,
            [
                ("pay_0", v([0.0, 0.0, 0.0, 1.0])),
                ("pay_1", v([1.0, 0.0, 0.0, 0.0])),
                ("pay_oov", v([0.0, 0.0, 1.0, 0.0])),
            ]
        );
        assert!(!fitted.output_nullable());
        assert_eq!(
            fitted.output_fields(&[FeatureType::String]).unwrap(),
            [
                ("pay_0".to_owned(), FeatureType::Float),
                ("pay_1".to_owned(), FeatureType::Float),
                ("pay_oov".to_owned(), FeatureType::Float)
            ]
        );
    }

    #[test]
    fn hash_buckets_hash_the_text_form_stably() {
        let fitted = op(r#"{"hash_buckets": {"input": "x", "output": "h", "buckets": 1000}}"#)
            .fit(&[])
            .unwrap();
        // python3: FNV-1a 64 of "cash" % 1000 == 130, "Credit Card" → 490, "42" → 691,
        // "-7" → 237, "2.5" → 700.
        let input = batch(vec![(
            "x",
            strings(&[Some("cash"), None, Some("Credit Card")]),
        )]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [Some(130), None, Some(490)]
        );
        let input = batch(vec![("x", ints(&[Some(42), None, Some(-7)]))]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [Some(691), None, Some(237)]
        );
        let input = batch(vec![("x", floats(&[Some(2.5), Some(42.0), None]))]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [Some(700), Some(691), None]
        );
        assert!(
            !op(r#"{"hash_buckets": {"input": "x", "output": "h", "buckets": 7}}"#)
                .needs_statistics()
        );
        assert!(
            op(r#"{"hash_buckets": {"input": "x", "output": "h", "buckets": 0}}"#)
                .fit(&[])
                .is_err()
        );
    }

    #[test]
    fn log_is_null_where_undefined() {
        let fitted = op(r#"{"log": {"input": "x", "output": "l"}}"#)
            .fit(&[])
            .unwrap();
        assert_eq!(
            fitted,
            FittedOp::Log {
                input: "x".into(),
                output: "l".into(),
                offset: 1.0
            }
        );
        let e = std::f64::consts::E;
        let input = batch(vec![(
            "x",
            floats(&[
                Some(0.0),
                None,
                Some(-1.0),
                Some(e - 1.0),
                Some(-3.0),
                Some(f64::NAN),
            ]),
        )]);
        let output = as_floats(&apply_one(&fitted, &input));
        assert_eq!(output[..3], [Some(0.0), None, None]);
        assert!((output[3].unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(output[4..], [None, None]);
        let shifted = op(r#"{"log": {"input": "x", "output": "l", "offset": 0.5}}"#)
            .fit(&[])
            .unwrap();
        let input = batch(vec![("x", ints(&[Some(0), Some(2)]))]);
        assert_eq!(
            as_floats(&apply_one(&shifted, &input)),
            [Some(0.5_f64.ln()), Some(2.5_f64.ln())]
        );
        let error = fitted
            .apply(&batch(vec![("x", strings(&[Some("1")]))]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs a numeric column, and `x` is a string column"),
            "{error}"
        );
    }

    #[test]
    fn fill_missing_constants_must_fit_the_column() {
        let zero =
            op(r#"{"fill_missing": {"input": "x", "output": "y", "with": {"constant": 0}}}"#);
        assert!(!zero.needs_statistics());
        let fitted = zero.fit(&[]).unwrap();
        let input = batch(vec![("x", floats(&[None, Some(1.5)]))]);
        assert_eq!(
            as_floats(&apply_one(&fitted, &input)),
            [Some(0.0), Some(1.5)]
        );
        let input = batch(vec![("x", ints(&[None, Some(4)]))]);
        assert_eq!(as_ints(&apply_one(&fitted, &input)), [Some(0), Some(4)]);
        let error = fitted
            .apply(&batch(vec![("x", strings(&[None]))]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("does not fit `x`, a string column"),
            "{error}"
        );

        let half =
            op(r#"{"fill_missing": {"input": "x", "output": "y", "with": {"constant": 0.5}}}"#);
        let ints_stats = numeric_stats(
            "x",
            FeatureType::Int,
            [1.0, 1.0, 0.0, 2.0, 1.0],
            percentiles(|i| i as f64),
        );
        let error = half.fit(&[&ints_stats]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("0.5 (float) does not fit `x`, a int column"),
            "{error}"
        );
        assert!(
            half.fit(&[])
                .unwrap()
                .output_fields(&[FeatureType::Int])
                .is_err()
        );
        assert_eq!(
            half.fit(&[])
                .unwrap()
                .output_fields(&[FeatureType::Float])
                .unwrap(),
            [("y".to_owned(), FeatureType::Float)]
        );

        let unknown = op(
            r#"{"fill_missing": {"input": "x", "output": "y", "with": {"constant": "unknown"}}}"#,
        )
        .fit(&[])
        .unwrap();
        let input = batch(vec![("x", strings(&[None, Some("k")]))]);
        let output = apply_one(&unknown, &input);
        let output: Vec<_> = output.as_string::<i32>().iter().collect();
        assert_eq!(output, [Some("unknown"), Some("k")]);

        let error =
            op(r#"{"fill_missing": {"input": "x", "output": "y", "with": {"constant": true}}}"#)
                .fit(&[])
                .unwrap_err();
        assert!(
            matches!(&error, DataError::InvalidOption { option, .. } if option == "with"),
            "{error:?}"
        );
    }

    #[test]
    fn cross_hashes_length_prefixed_text_forms() {
        let fitted =
            op(r#"{"cross": {"inputs": ["pay", "n"], "output": "pay_x_n", "buckets": 1000}}"#)
                .fit(&[])
                .unwrap();
        // python3: FNV-1a 64 of "4:cash1:3" % 1000 == 992, of "3:2.52:-7" % 1000 == 403.
        let input = batch(vec![
            ("pay", strings(&[Some("cash"), None, Some("cash")])),
            ("n", ints(&[Some(3), Some(3), None])),
        ]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [Some(992), None, None]
        );
        let fitted = op(r#"{"cross": {"inputs": ["f", "n"], "output": "c", "buckets": 1000}}"#)
            .fit(&[])
            .unwrap();
        let input = batch(vec![("f", floats(&[Some(2.5)])), ("n", ints(&[Some(-7)]))]);
        assert_eq!(as_ints(&apply_one(&fitted, &input)), [Some(403)]);
        // ["a:b"] and ["a", "b"]-like confusions cannot happen: "ab" + "c" ≠ "a" + "bc".
        let input = batch(vec![
            ("f", strings(&[Some("ab"), Some("a")])),
            ("n", strings(&[Some("c"), Some("bc")])),
        ]);
        let output = as_ints(&apply_one(&fitted, &input));
        assert_ne!(output[0], output[1]);

        let error = op(r#"{"cross": {"inputs": ["a"], "output": "c", "buckets": 10}}"#)
            .fit(&[])
            .unwrap_err();
        assert!(
            matches!(&error, DataError::InvalidOption { option, .. } if option == "inputs"),
            "{error:?}"
        );
    }

    #[test]
    fn missing_columns_and_statistics_are_named() {
        let fitted = op(r#"{"log": {"input": "fare", "output": "l"}}"#)
            .fit(&[])
            .unwrap();
        let error = fitted
            .apply(&batch(vec![("tips", floats(&[Some(1.0)]))]))
            .unwrap_err();
        assert!(
            matches!(&error, DataError::MissingColumn { column, available, .. }
                if column == "fare" && available == &["tips"]),
            "{error}"
        );
        assert!(error.to_string().contains("no column `fare`"), "{error}");

        let z = op(r#"{"z_score": {"input": "fare", "output": "z"}}"#);
        assert!(z.needs_statistics());
        assert!(
            z.fit(&[])
                .unwrap_err()
                .to_string()
                .contains("statistics of `fare`")
        );
        let other = numeric_stats(
            "tips",
            FeatureType::Float,
            [1.0, 1.0, 0.0, 2.0, 1.0],
            percentiles(|i| i as f64),
        );
        assert!(
            z.fit(&[&other])
                .unwrap_err()
                .to_string()
                .contains("those of `tips`")
        );
        let mut empty = numeric_stats("fare", FeatureType::Float, [0.0; 5], percentiles(|_| 0.0));
        empty.count = 0;
        assert!(
            z.fit(&[&empty])
                .unwrap_err()
                .to_string()
                .contains("no values")
        );
        let text = string_stats("fare", &[("x", 1)]);
        assert!(
            z.fit(&[&text])
                .unwrap_err()
                .to_string()
                .contains("`fare` is a string feature")
        );

        let error = fitted
            .apply(&batch(vec![(
                "fare",
                Arc::new(arrow_array::Int32Array::from(vec![1])) as ArrayRef,
            )]))
            .unwrap_err();
        assert!(error.to_string().contains("Arrow type Int32"), "{error}");
    }
}
