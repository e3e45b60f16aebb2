//! What fitting produces, the transform graph stores and serving applies: [`FittedOp`], with its
//! fitted parameters ([`FillValue`], [`Vocabulary`]), checked by [`FittedOp::validate`] (a graph
//! read from a file may hold anything) and typed by [`FittedOp::output_fields`].

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{check_hash_buckets, empty_name, invalid_option, is_false, label, unfit_constant};
use crate::{DataError, FeatureType, Result};

/// The value `fill_missing` writes in place of nulls, once fitted.
///
/// JSON: `{"int": 3}`, `{"float": 41.5}`, `{"string": "unknown"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillValue {
    /// For int columns (and float ones, converted).
    Int(i64),
    /// For float columns.
    Float(f64),
    /// For string columns.
    String(String),
}

impl FillValue {
    /// The type of the value itself.
    pub fn feature_type(&self) -> FeatureType {
        match self {
            FillValue::Int(_) => FeatureType::Int,
            FillValue::Float(_) => FeatureType::Float,
            FillValue::String(_) => FeatureType::String,
        }
    }

    /// Whether the value can fill a column of type `column`: an int fills int and float columns,
    /// a float fills float columns, a string fills string columns.
    pub fn fits(&self, column: FeatureType) -> bool {
        matches!(
            (self, column),
            (FillValue::Int(_), FeatureType::Int | FeatureType::Float)
                | (FillValue::Float(_), FeatureType::Float)
                | (FillValue::String(_), FeatureType::String)
        )
    }

    pub(super) fn from_json(value: &serde_json::Value) -> Option<FillValue> {
        match value {
            serde_json::Value::Number(number) => number
                .as_i64()
                .map(FillValue::Int)
                .or_else(|| number.as_f64().map(FillValue::Float)),
            serde_json::Value::String(text) => Some(FillValue::String(text.clone())),
            _ => None,
        }
    }
}

impl fmt::Display for FillValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FillValue::Int(value) => write!(f, "{value}"),
            FillValue::Float(value) => write!(f, "{value:?}"),
            FillValue::String(value) => write!(f, "{value:?}"),
        }
    }
}

/// A fitted vocabulary: terms in index order, with a lookup table built once.
///
/// Serialises as the JSON list of its terms.
#[derive(Clone, Default)]
pub struct Vocabulary {
    terms: Vec<String>,
    index: HashMap<String, usize>,
}

impl Vocabulary {
    /// A vocabulary of `terms`, term `i` getting index `i`. A repeated term keeps its first
    /// index ([`FittedOp::validate`] reports repeats).
    pub fn new(terms: Vec<String>) -> Self {
        let mut index = HashMap::with_capacity(terms.len());
        for (position, term) in terms.iter().enumerate() {
            index.entry(term.clone()).or_insert(position);
        }
        Vocabulary { terms, index }
    }

    /// The terms, in index order.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// How many terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The index of `term`, if it is in the vocabulary.
    #[inline]
    pub fn index_of(&self, term: &str) -> Option<usize> {
        self.index.get(term).copied()
    }

    pub(super) fn has_repeats(&self) -> bool {
        self.index.len() != self.terms.len()
    }
}

impl fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.terms).finish()
    }
}

impl PartialEq for Vocabulary {
    fn eq(&self, other: &Self) -> bool {
        self.terms == other.terms
    }
}

impl Serialize for Vocabulary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.terms.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Vocabulary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let vocabulary = Vocabulary::new(Vec::deserialize(deserializer)?);
        if vocabulary.has_repeats() {
            return Err(serde::de::Error::custom("a vocabulary repeats a term"));
        }
        Ok(vocabulary)
    }
}

/// A fitted op: everything needed to apply it, with no reference to the statistics. This is what
/// the transform graph stores and serving applies.
///
/// The JSON names and input/output fields are the [`TransformOp`](super::TransformOp)'s; the fitted parameters
/// replace the declaration's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FittedOp {
    /// See [`TransformOp::ZScore`](super::TransformOp::ZScore).
    ZScore {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
        /// The train split's mean.
        mean: f64,
        /// The train split's population standard deviation (0 maps present values to 0.0).
        std_dev: f64,
    },
    /// See [`TransformOp::MinMax`](super::TransformOp::MinMax).
    MinMax {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
        /// The train split's minimum.
        min: f64,
        /// The train split's maximum.
        max: f64,
        /// Whether results are clamped to `[0, 1]`.
        #[serde(default, skip_serializing_if = "is_false")]
        clip: bool,
    },
    /// See [`TransformOp::Bucketize`](super::TransformOp::Bucketize).
    Bucketize {
        /// The numeric column read.
        input: String,
        /// The int column written.
        output: String,
        /// Strictly increasing boundaries: `x` goes to bucket `#{b ≤ x}`, in
        /// `0..=boundaries.len()`.
        boundaries: Vec<f64>,
    },
    /// See [`TransformOp::Vocabulary`](super::TransformOp::Vocabulary).
    Vocabulary {
        /// The string column read.
        input: String,
        /// The int column written.
        output: String,
        /// The terms, most frequent first.
        vocabulary: Vocabulary,
        /// How many buckets share the out-of-vocabulary values (at least 1).
        num_oov_buckets: u32,
    },
    /// See [`TransformOp::OneHot`](super::TransformOp::OneHot).
    OneHot {
        /// The string column read.
        input: String,
        /// The prefix of the float columns written.
        output: String,
        /// The terms: term `i` sets column `{output}_{i}`.
        vocabulary: Vocabulary,
    },
    /// See [`TransformOp::HashBuckets`](super::TransformOp::HashBuckets).
    HashBuckets {
        /// The column read.
        input: String,
        /// The int column written.
        output: String,
        /// How many buckets.
        buckets: u64,
    },
    /// See [`TransformOp::Log`](super::TransformOp::Log).
    Log {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
        /// Added before the logarithm.
        offset: f64,
    },
    /// See [`TransformOp::FillMissing`](super::TransformOp::FillMissing).
    FillMissing {
        /// The column read.
        input: String,
        /// The column written, of the input's type.
        output: String,
        /// What replaces nulls.
        value: FillValue,
    },
    /// See [`TransformOp::Cross`](super::TransformOp::Cross).
    Cross {
        /// The columns read.
        inputs: Vec<String>,
        /// The int column written.
        output: String,
        /// How many buckets.
        buckets: u64,
    },
}

impl FittedOp {
    /// The op's name in JSON (`z_score`, `min_max`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            FittedOp::ZScore { .. } => "z_score",
            FittedOp::MinMax { .. } => "min_max",
            FittedOp::Bucketize { .. } => "bucketize",
            FittedOp::Vocabulary { .. } => "vocabulary",
            FittedOp::OneHot { .. } => "one_hot",
            FittedOp::HashBuckets { .. } => "hash_buckets",
            FittedOp::Log { .. } => "log",
            FittedOp::FillMissing { .. } => "fill_missing",
            FittedOp::Cross { .. } => "cross",
        }
    }

    /// The columns the op reads, in order.
    pub fn inputs(&self) -> Vec<&str> {
        match self {
            FittedOp::ZScore { input, .. }
            | FittedOp::MinMax { input, .. }
            | FittedOp::Bucketize { input, .. }
            | FittedOp::Vocabulary { input, .. }
            | FittedOp::OneHot { input, .. }
            | FittedOp::HashBuckets { input, .. }
            | FittedOp::Log { input, .. }
            | FittedOp::FillMissing { input, .. } => vec![input.as_str()],
            FittedOp::Cross { inputs, .. } => inputs.iter().map(String::as_str).collect(),
        }
    }

    pub(super) fn output(&self) -> &str {
        match self {
            FittedOp::ZScore { output, .. }
            | FittedOp::MinMax { output, .. }
            | FittedOp::Bucketize { output, .. }
            | FittedOp::Vocabulary { output, .. }
            | FittedOp::OneHot { output, .. }
            | FittedOp::HashBuckets { output, .. }
            | FittedOp::Log { output, .. }
            | FittedOp::FillMissing { output, .. }
            | FittedOp::Cross { output, .. } => output,
        }
    }

    /// The columns the op writes, in order: the output, or for `one_hot` `{output}_0`, …,
    /// `{output}_{n-1}`, `{output}_oov` for a vocabulary of `n` terms.
    pub fn outputs(&self) -> Vec<String> {
        match self {
            FittedOp::OneHot {
                output, vocabulary, ..
            } => one_hot_names(output, vocabulary.len()),
            _ => vec![self.output().to_owned()],
        }
    }

    /// Whether the op's outputs can hold nulls (all but `fill_missing` and `one_hot` can).
    pub fn output_nullable(&self) -> bool {
        !matches!(self, FittedOp::FillMissing { .. } | FittedOp::OneHot { .. })
    }

    /// Checks the fitted parameters, as a graph read from a file may hold anything: non-empty
    /// names, finite figures, increasing boundaries, bucket counts in range, vocabularies without
    /// repeats. Errors are [`DataError::InvalidOption`].
    pub fn validate(&self) -> Result<()> {
        let invalid =
            |option: &str, reason: String| Err(invalid_option(self.label(), option, reason));
        if let Some(option) = empty_name(self.output(), &self.inputs()) {
            return invalid(option, "column names cannot be empty".to_owned());
        }
        match self {
            FittedOp::ZScore { mean, std_dev, .. } => {
                if !mean.is_finite() || !std_dev.is_finite() || *std_dev < 0.0 {
                    return invalid(
                        "std_dev",
                        format!(
                            "mean {mean} and standard deviation {std_dev} must be finite, the latter ≥ 0"
                        ),
                    );
                }
            }
            FittedOp::MinMax { min, max, .. } => {
                if !min.is_finite() || !max.is_finite() || min > max {
                    return invalid(
                        "max",
                        format!("minimum {min} and maximum {max} must be finite and ordered"),
                    );
                }
            }
            FittedOp::Bucketize { boundaries, .. } => {
                if boundaries.iter().any(|boundary| !boundary.is_finite())
                    || boundaries.windows(2).any(|pair| pair[0] >= pair[1])
                {
                    return invalid(
                        "boundaries",
                        "boundaries must be finite and strictly increasing".to_owned(),
                    );
                }
            }
            FittedOp::Vocabulary {
                vocabulary,
                num_oov_buckets,
                ..
            } => {
                if *num_oov_buckets == 0 {
                    return invalid(
                        "num_oov_buckets",
                        "`num_oov_buckets` must be at least 1".to_owned(),
                    );
                }
                if vocabulary.has_repeats() {
                    return invalid("vocabulary", "the vocabulary repeats a term".to_owned());
                }
            }
            FittedOp::OneHot { vocabulary, .. } => {
                if vocabulary.has_repeats() {
                    return invalid("vocabulary", "the vocabulary repeats a term".to_owned());
                }
            }
            FittedOp::HashBuckets { buckets, .. } => {
                check_hash_buckets(*buckets).or_else(|reason| invalid("buckets", reason))?;
            }
            FittedOp::Cross {
                inputs, buckets, ..
            } => {
                if inputs.len() < 2 {
                    return invalid(
                        "inputs",
                        format!("a cross needs at least 2 inputs, not {}", inputs.len()),
                    );
                }
                check_hash_buckets(*buckets).or_else(|reason| invalid("buckets", reason))?;
            }
            FittedOp::Log { offset, .. } => {
                if !offset.is_finite() {
                    return invalid("offset", format!("`offset` must be finite, not {offset}"));
                }
            }
            FittedOp::FillMissing { .. } => {}
        }
        Ok(())
    }

    /// The columns the op writes and their types, given the types of its inputs (in
    /// [`inputs`](Self::inputs) order). Errors ([`DataError::WrongType`]) when an input's type
    /// does not suit the op.
    pub fn output_fields(&self, input_types: &[FeatureType]) -> Result<Vec<(String, FeatureType)>> {
        let inputs = self.inputs();
        if input_types.len() != inputs.len() {
            return Err(invalid_option(
                self.label(),
                "inputs",
                format!(
                    "{} input types given for {} inputs",
                    input_types.len(),
                    inputs.len()
                ),
            ));
        }
        let single = |feature_type| Ok(vec![(self.output().to_owned(), feature_type)]);
        match self {
            FittedOp::ZScore { .. } | FittedOp::MinMax { .. } | FittedOp::Log { .. } => {
                self.require_numeric(inputs[0], input_types[0])?;
                single(FeatureType::Float)
            }
            FittedOp::Bucketize { .. } => {
                self.require_numeric(inputs[0], input_types[0])?;
                single(FeatureType::Int)
            }
            FittedOp::Vocabulary { .. } => {
                self.require_string(inputs[0], input_types[0])?;
                single(FeatureType::Int)
            }
            FittedOp::OneHot { .. } => {
                self.require_string(inputs[0], input_types[0])?;
                Ok(self
                    .outputs()
                    .into_iter()
                    .map(|name| (name, FeatureType::Float))
                    .collect())
            }
            FittedOp::HashBuckets { .. } | FittedOp::Cross { .. } => single(FeatureType::Int),
            FittedOp::FillMissing { value, .. } => {
                if !value.fits(input_types[0]) {
                    return Err(unfit_constant(
                        &self.label(),
                        value,
                        inputs[0],
                        input_types[0],
                    ));
                }
                single(input_types[0])
            }
        }
    }

    pub(super) fn require_numeric(&self, name: &str, feature_type: FeatureType) -> Result<()> {
        if feature_type.is_numeric() {
            Ok(())
        } else {
            Err(self.wrong_type(name, feature_type, "a numeric"))
        }
    }

    pub(super) fn require_string(&self, name: &str, feature_type: FeatureType) -> Result<()> {
        if feature_type == FeatureType::String {
            Ok(())
        } else {
            Err(self.wrong_type(name, feature_type, "a string"))
        }
    }

    pub(super) fn wrong_type(&self, name: &str, actual: FeatureType, wanted: &str) -> DataError {
        DataError::WrongType {
            column: name.to_owned(),
            needed_by: self.label(),
            expected: format!("{wanted} column"),
            found: format!("a {actual} column"),
        }
    }

    /// `kind inputs → output`, for messages.
    pub(crate) fn label(&self) -> String {
        label(self.kind(), &self.inputs(), self.output())
    }
}

pub(super) fn one_hot_names(output: &str, terms: usize) -> Vec<String> {
    (0..terms)
        .map(|index| format!("{output}_{index}"))
        .chain(std::iter::once(format!("{output}_oov")))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::transform::ops::test_support::*;

    #[test]
    fn fitted_ops_round_trip_and_validate() {
        let fitted = FittedOp::Vocabulary {
            input: "a".into(),
            output: "b".into(),
            vocabulary: Vocabulary::new(vec!["x".into(), "y".into()]),
            num_oov_buckets: 2,
        };
        let json = serde_json::to_value(&fitted).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"vocabulary": {"input": "a", "output": "b", "vocabulary": ["x", "y"], "num_oov_buckets": 2}})
        );
        assert_eq!(serde_json::from_value::<FittedOp>(json).unwrap(), fitted);
        let repeated =
            serde_json::json!({"one_hot": {"input": "a", "output": "b", "vocabulary": ["x", "x"]}});
        assert!(serde_json::from_value::<FittedOp>(repeated).is_err());
        let unsorted = FittedOp::Bucketize {
            input: "a".into(),
            output: "b".into(),
            boundaries: vec![2.0, 1.0],
        };
        assert!(matches!(
            unsorted.validate(),
            Err(DataError::InvalidOption { option, .. }) if option == "boundaries"
        ));
        let zero = FittedOp::HashBuckets {
            input: "a".into(),
            output: "b".into(),
            buckets: 0,
        };
        let error = zero
            .apply(&batch(vec![("a", ints(&[Some(1)]))]))
            .unwrap_err();
        assert!(
            matches!(&error, DataError::InvalidOption { option, .. } if option == "buckets"),
            "{error:?}"
        );
    }
}
