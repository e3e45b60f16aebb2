//! Fitting: a declared op and the train split's statistics of its inputs give a fitted op,
//! whose parameters (a mean, boundaries, a vocabulary, a fill value) no longer refer to the
//! statistics.

use std::collections::HashSet;

use super::declaration::{Fill, TransformOp};
use super::fitted::{FillValue, FittedOp, Vocabulary};
use super::unfit_constant;
use crate::statistics::{FeatureStatistics, NumericStatistics, StringStatistics};
use crate::{DataError, FeatureType, Result};

impl TransformOp {
    /// Fits the op on the statistics of its inputs (the train split's), given in
    /// [`inputs`](Self::inputs) order.
    ///
    /// Ops that need no statistics accept any slice, empty included; `fill_missing` with a
    /// constant checks that the constant fits the feature when its statistics are given.
    /// Errors: a bad declaration ([`DataError::InvalidOption`]); statistics that are missing,
    /// of another feature, without values or with unusable figures
    /// ([`DataError::UnusableStatistics`]); statistics of the wrong type of feature
    /// ([`DataError::WrongType`]). Each names the feature.
    pub fn fit(&self, inputs: &[&FeatureStatistics]) -> Result<FittedOp> {
        self.validate()?;
        let fitted = match self {
            TransformOp::ZScore { input, output } => {
                let numeric = self.numeric_statistics(self.statistics(inputs, 0)?)?;
                let (mean, std_dev) = (numeric.mean, numeric.std_dev);
                if !mean.is_finite() || !std_dev.is_finite() || std_dev < 0.0 {
                    return Err(self.unusable(
                        input,
                        format!(
                            "the statistics of `{input}` have mean {mean} and standard deviation \
                             {std_dev}"
                        ),
                    ));
                }
                FittedOp::ZScore {
                    input: input.clone(),
                    output: output.clone(),
                    mean,
                    std_dev,
                }
            }
            TransformOp::MinMax {
                input,
                output,
                clip,
            } => {
                let numeric = self.numeric_statistics(self.statistics(inputs, 0)?)?;
                let (min, max) = (numeric.min, numeric.max);
                if !min.is_finite() || !max.is_finite() || min > max {
                    return Err(self.unusable(
                        input,
                        format!("the statistics of `{input}` have minimum {min} and maximum {max}"),
                    ));
                }
                FittedOp::MinMax {
                    input: input.clone(),
                    output: output.clone(),
                    min,
                    max,
                    clip: *clip,
                }
            }
            TransformOp::Bucketize {
                input,
                output,
                buckets,
            } => {
                let numeric = self.numeric_statistics(self.statistics(inputs, 0)?)?;
                let boundaries = quantile_boundaries(&numeric.quantiles, *buckets)
                    .map_err(|why| self.unusable(input, why))?;
                FittedOp::Bucketize {
                    input: input.clone(),
                    output: output.clone(),
                    boundaries,
                }
            }
            TransformOp::Vocabulary {
                input,
                output,
                top_k,
                num_oov_buckets,
            } => {
                let strings = self.string_statistics(self.statistics(inputs, 0)?)?;
                FittedOp::Vocabulary {
                    input: input.clone(),
                    output: output.clone(),
                    vocabulary: fit_vocabulary(strings, *top_k),
                    num_oov_buckets: *num_oov_buckets,
                }
            }
            TransformOp::OneHot {
                input,
                output,
                top_k,
            } => {
                let strings = self.string_statistics(self.statistics(inputs, 0)?)?;
                FittedOp::OneHot {
                    input: input.clone(),
                    output: output.clone(),
                    vocabulary: fit_vocabulary(strings, *top_k),
                }
            }
            TransformOp::HashBuckets {
                input,
                output,
                buckets,
            } => FittedOp::HashBuckets {
                input: input.clone(),
                output: output.clone(),
                buckets: *buckets,
            },
            TransformOp::Log {
                input,
                output,
                offset,
            } => FittedOp::Log {
                input: input.clone(),
                output: output.clone(),
                offset: *offset,
            },
            TransformOp::FillMissing {
                input,
                output,
                with,
            } => FittedOp::FillMissing {
                input: input.clone(),
                output: output.clone(),
                value: self.fill_value(with, inputs)?,
            },
            TransformOp::Cross {
                inputs: columns,
                output,
                buckets,
            } => FittedOp::Cross {
                inputs: columns.clone(),
                output: output.clone(),
                buckets: *buckets,
            },
        };
        Ok(fitted)
    }

    fn fill_value(&self, with: &Fill, inputs: &[&FeatureStatistics]) -> Result<FillValue> {
        if let Fill::Constant(constant) = with {
            let value = FillValue::from_json(constant).ok_or_else(|| DataError::InvalidOption {
                owner: self.label(),
                option: "with".to_owned(),
                reason: format!("the constant must be a number or a string, not {constant}"),
            })?;
            // The statistics are optional here: check the type when they are given.
            if let [stats, ..] = inputs
                && stats.name == self.inputs()[0]
                && !value.fits(stats.feature_type)
            {
                return Err(self.unfit_constant(&value, &stats.name, stats.feature_type));
            }
            return Ok(value);
        }
        let stats = self.statistics(inputs, 0)?;
        let numeric_fill = |figure: f64| match stats.feature_type {
            FeatureType::Int => round_to_i64(figure).map(FillValue::Int),
            _ => figure.is_finite().then_some(FillValue::Float(figure)),
        };
        let value = match with {
            Fill::Constant(_) => None,
            Fill::Mean => numeric_fill(self.numeric_statistics(stats)?.mean),
            Fill::Median => numeric_fill(self.numeric_statistics(stats)?.median),
            Fill::MostFrequent => {
                let top = stats
                    .string
                    .as_ref()
                    .and_then(|strings| most_frequent(strings))
                    .ok_or_else(|| {
                        self.unusable(
                            &stats.name,
                            format!(
                                "the statistics of `{}` ({} feature) have no top values to take \
                                 the most frequent from (numeric features have none: use mean or \
                                 median)",
                                stats.name, stats.feature_type
                            ),
                        )
                    })?;
                let text = top.as_bytes();
                match stats.feature_type {
                    FeatureType::Int => crate::parse_int(text).map(FillValue::Int),
                    FeatureType::Float => crate::parse_float(text).map(FillValue::Float),
                    FeatureType::String => Some(FillValue::String(top.to_owned())),
                }
            }
        };
        value.ok_or_else(|| {
            self.unusable(
                &stats.name,
                format!(
                    "the statistics of `{}` give no usable fill value",
                    stats.name
                ),
            )
        })
    }

    fn unfit_constant(
        &self,
        value: &FillValue,
        column: &str,
        column_type: FeatureType,
    ) -> DataError {
        unfit_constant(&self.label(), value, column, column_type)
    }

    /// An [`UnusableStatistics`](DataError::UnusableStatistics) error of `feature`.
    fn unusable(&self, feature: &str, reason: String) -> DataError {
        DataError::UnusableStatistics {
            feature: feature.to_owned(),
            needed_by: self.label(),
            reason,
        }
    }

    /// The statistics of input `index`, checked to be of that input and to have values.
    fn statistics<'a>(
        &self,
        inputs: &[&'a FeatureStatistics],
        index: usize,
    ) -> Result<&'a FeatureStatistics> {
        let names = self.inputs();
        let name = names.get(index).copied().unwrap_or_default();
        let stats = inputs.get(index).copied().ok_or_else(|| {
            self.unusable(
                name,
                format!("fitting needs the statistics of `{name}`, and none were given"),
            )
        })?;
        if stats.name != name {
            return Err(self.unusable(
                name,
                format!(
                    "fitting needs the statistics of `{name}`, and was given those of `{}`",
                    stats.name
                ),
            ));
        }
        if stats.count == 0 {
            return Err(self.unusable(
                name,
                format!("`{name}` has no values in the statistics to fit on"),
            ));
        }
        Ok(stats)
    }

    fn numeric_statistics<'a>(
        &self,
        stats: &'a FeatureStatistics,
    ) -> Result<&'a NumericStatistics> {
        match &stats.numeric {
            Some(numeric) if stats.feature_type.is_numeric() => Ok(numeric),
            _ => Err(DataError::WrongType {
                column: stats.name.clone(),
                needed_by: self.label(),
                expected: "a numeric feature".to_owned(),
                found: format!("a {} feature", stats.feature_type),
            }),
        }
    }

    fn string_statistics<'a>(&self, stats: &'a FeatureStatistics) -> Result<&'a StringStatistics> {
        match &stats.string {
            Some(strings) if stats.feature_type == FeatureType::String => Ok(strings),
            _ => Err(DataError::WrongType {
                column: stats.name.clone(),
                needed_by: self.label(),
                expected: "a string feature".to_owned(),
                found: format!(
                    "a {} feature (hash_buckets or bucketize suit numbers)",
                    stats.feature_type
                ),
            }),
        }
    }
}

fn round_to_i64(value: f64) -> Option<i64> {
    let rounded = value.round();
    // `i64::MAX as f64` rounds up to 2^63, itself out of range: hence `<`.
    (rounded.is_finite() && rounded >= i64::MIN as f64 && rounded < i64::MAX as f64)
        .then_some(rounded as i64)
}

/// The most frequent value: most frequent first, ties by value.
fn most_frequent(strings: &StringStatistics) -> Option<&str> {
    strings
        .top_values
        .iter()
        .min_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)))
        .map(|top| top.value.as_str())
}

/// The vocabulary: the top values, most frequent first, ties by value, at most `top_k`.
fn fit_vocabulary(strings: &StringStatistics, top_k: Option<usize>) -> Vocabulary {
    let mut values: Vec<_> = strings.top_values.iter().collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    let limit = top_k.unwrap_or(usize::MAX);
    let mut seen = HashSet::new();
    let mut terms = Vec::new();
    for value in values {
        if terms.len() >= limit {
            break;
        }
        if seen.insert(value.value.as_str()) {
            terms.push(value.value.clone());
        }
    }
    Vocabulary::new(terms)
}

/// Bucket boundaries at ranks `j / buckets` (`j` in `1..buckets`) from the 101 percentiles.
fn quantile_boundaries(quantiles: &[f64], buckets: u32) -> std::result::Result<Vec<f64>, String> {
    if quantiles.len() != 101 {
        return Err(format!(
            "the statistics have {} quantiles, and bucketize needs the 101 at ranks 0, 0.01, …, 1",
            quantiles.len()
        ));
    }
    if quantiles.iter().any(|quantile| !quantile.is_finite()) {
        return Err("the statistics' quantiles are not all finite".to_owned());
    }
    let buckets = u64::from(buckets);
    let mut boundaries = Vec::with_capacity(buckets.saturating_sub(1) as usize);
    for j in 1..buckets {
        // Rank j / buckets is percentile 100 j / buckets, between `low` and `low + 1`; integer
        // arithmetic keeps exact ranks exact.
        let scaled = j * 100;
        let low = (scaled / buckets) as usize;
        let remainder = scaled % buckets;
        let boundary = if remainder == 0 {
            quantiles[low]
        } else {
            let fraction = remainder as f64 / buckets as f64;
            quantiles[low] + fraction * (quantiles[low + 1] - quantiles[low])
        };
        boundaries.push(boundary);
    }
    boundaries.sort_by(f64::total_cmp);
    boundaries.dedup();
    let min = quantiles[0];
    boundaries.retain(|&boundary| boundary > min);
    Ok(boundaries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use arrow_array::cast::AsArray;

    use super::*;
    use crate::transform::ops::test_support::*;

    #[test]
    fn bucketize_boundaries_come_from_the_percentiles() {
        // Percentile i is 2 i: rank r is 200 r.
        let quantiles = percentiles(|i| 2.0 * i as f64);
        assert_eq!(
            quantile_boundaries(&quantiles, 4).unwrap(),
            [50.0, 100.0, 150.0]
        );
        assert_eq!(
            quantile_boundaries(&quantiles, 1).unwrap(),
            Vec::<f64>::new()
        );
        // Ranks 1/3 and 2/3 lie a third of the way between percentiles 33 and 34, 66 and 67.
        let thirds = quantile_boundaries(&quantiles, 3).unwrap();
        assert_eq!(thirds.len(), 2);
        assert!((thirds[0] - 200.0 / 3.0).abs() < 1e-9, "{thirds:?}");
        assert!((thirds[1] - 400.0 / 3.0).abs() < 1e-9, "{thirds:?}");
        // 60 % zeros: the boundaries at ranks 0.25 and 0.5 are the minimum and go, 0.75 → 15.
        let skewed = percentiles(|i| i.saturating_sub(60) as f64);
        assert_eq!(quantile_boundaries(&skewed, 4).unwrap(), [15.0]);
        // Equal boundaries above the minimum merge.
        let steps = percentiles(|i| {
            if i < 10 {
                0.0
            } else if i < 90 {
                1.0
            } else {
                2.0
            }
        });
        assert_eq!(quantile_boundaries(&steps, 4).unwrap(), [1.0]);
        assert!(quantile_boundaries(&quantiles[..100], 4).is_err());
    }

    #[test]
    fn vocabulary_orders_by_frequency_then_value_and_hashes_the_rest() {
        let stats = string_stats("pay", &[("b", 5), ("a", 5), ("c", 9), ("d", 1)]);
        let fitted = op(r#"{"vocabulary": {"input": "pay", "output": "pay_id", "top_k": 3, "num_oov_buckets": 3}}"#)
            .fit(&[&stats])
            .unwrap();
        let FittedOp::Vocabulary { vocabulary, .. } = &fitted else {
            panic!("{fitted:?}");
        };
        assert_eq!(vocabulary.terms(), ["c", "a", "b"]);
        // python3: FNV-1a 64 of "zzz" % 3 == 0, of "d" % 3 == 1, of "x" % 3 == 2.
        let input = batch(vec![(
            "pay",
            strings(&[
                Some("a"),
                None,
                Some("c"),
                Some("zzz"),
                Some("d"),
                Some("b"),
                Some("x"),
            ]),
        )]);
        assert_eq!(
            as_ints(&apply_one(&fitted, &input)),
            [Some(1), None, Some(0), Some(3), Some(4), Some(2), Some(5)]
        );

        let all = op(r#"{"vocabulary": {"input": "pay", "output": "pay_id"}}"#)
            .fit(&[&stats])
            .unwrap();
        assert_eq!(
            all,
            FittedOp::Vocabulary {
                input: "pay".into(),
                output: "pay_id".into(),
                vocabulary: Vocabulary::new(vec!["c".into(), "a".into(), "b".into(), "d".into()]),
                num_oov_buckets: 1
            }
        );
        let input = batch(vec![("pay", strings(&[Some("zzz"), Some("d")]))]);
        assert_eq!(as_ints(&apply_one(&all, &input)), [Some(4), Some(3)]);
    }

    #[test]
    fn vocabulary_refuses_numbers_and_zero_oov_buckets() {
        let numbers = numeric_stats(
            "age",
            FeatureType::Int,
            [1.0, 1.0, 0.0, 2.0, 1.0],
            percentiles(|i| i as f64),
        );
        let error = op(r#"{"vocabulary": {"input": "age", "output": "v"}}"#)
            .fit(&[&numbers])
            .unwrap_err();
        assert!(
            matches!(&error, DataError::WrongType { column, .. } if column == "age"),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("`age` is a int feature") && message.contains("string"),
            "{message}"
        );

        let error = op(r#"{"vocabulary": {"input": "age", "output": "v", "num_oov_buckets": 0}}"#)
            .fit(&[&numbers])
            .unwrap_err();
        assert!(
            matches!(&error, DataError::InvalidOption { option, .. } if option == "num_oov_buckets"),
            "{error:?}"
        );

        let stats = string_stats("age", &[("1", 3)]);
        let fitted = op(r#"{"vocabulary": {"input": "age", "output": "v"}}"#)
            .fit(&[&stats])
            .unwrap();
        let error = fitted
            .apply(&batch(vec![("age", ints(&[Some(1)]))]))
            .unwrap_err();
        assert!(
            matches!(&error, DataError::WrongType { column, .. } if column == "age"),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("needs a string column, and `age` is a int column"),
            "{error}"
        );
        assert!(fitted.output_fields(&[FeatureType::Float]).is_err());
        assert_eq!(
            fitted.output_fields(&[FeatureType::String]).unwrap(),
            [("v".to_owned(), FeatureType::Int)]
        );
    }

    #[test]
    fn fill_missing_fits_mean_median_and_most_frequent() {
        let ages = numeric_stats(
            "age",
            FeatureType::Int,
            [2.6, 1.0, 1.0, 5.0, 2.5],
            percentiles(|i| i as f64),
        );
        let mean = op(r#"{"fill_missing": {"input": "age", "output": "age_f", "with": "mean"}}"#)
            .fit(&[&ages])
            .unwrap();
        let median =
            op(r#"{"fill_missing": {"input": "age", "output": "age_f", "with": "median"}}"#)
                .fit(&[&ages])
                .unwrap();
        // Int features round: 2.6 → 3, 2.5 → 3 (halves away from zero).
        let input = batch(vec![("age", ints(&[Some(1), None, Some(5)]))]);
        assert_eq!(
            as_ints(&apply_one(&mean, &input)),
            [Some(1), Some(3), Some(5)]
        );
        assert_eq!(
            as_ints(&apply_one(&median, &input)),
            [Some(1), Some(3), Some(5)]
        );

        let fares = numeric_stats(
            "fare",
            FeatureType::Float,
            [2.6, 1.0, 1.0, 5.0, 2.5],
            percentiles(|i| i as f64),
        );
        let median =
            op(r#"{"fill_missing": {"input": "fare", "output": "fare", "with": "median"}}"#)
                .fit(&[&fares])
                .unwrap();
        let input = batch(vec![("fare", floats(&[None, Some(f64::NAN), Some(7.5)]))]);
        let output = apply_one(&median, &input);
        assert_eq!(output.null_count(), 0);
        let output = as_floats(&output);
        assert_eq!(output[0], Some(2.5));
        assert!(output[1].unwrap().is_nan());
        assert_eq!(output[2], Some(7.5));

        let companies = string_stats("company", &[("b", 4), ("a", 4), ("c", 1)]);
        let frequent = op(r#"{"fill_missing": {"input": "company", "output": "company", "with": "most_frequent"}}"#)
            .fit(&[&companies])
            .unwrap();
        assert_eq!(
            frequent,
            FittedOp::FillMissing {
                input: "company".into(),
                output: "company".into(),
                value: FillValue::String("a".into())
            }
        );
        let input = batch(vec![("company", strings(&[None, Some("c"), None]))]);
        let output = apply_one(&frequent, &input);
        let output: Vec<_> = output.as_string::<i32>().iter().collect();
        assert_eq!(output, [Some("a"), Some("c"), Some("a")]);

        let error =
            op(r#"{"fill_missing": {"input": "age", "output": "a", "with": "most_frequent"}}"#)
                .fit(&[&ages])
                .unwrap_err();
        assert!(error.to_string().contains("no top values"), "{error}");
    }
}
