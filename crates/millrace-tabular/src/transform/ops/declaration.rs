//! What a pipeline declares: [`TransformOp`] (with [`Fill`], how `fill_missing` fills), read
//! from JSON or built in code, and checked on its own by [`TransformOp::validate`] before it is
//! fitted.

use serde::{Deserialize, Serialize};

use super::fitted::FillValue;
use super::{check_hash_buckets, empty_name, invalid_option, is_false, label};
use crate::Result;

/// How `fill_missing` finds the value that replaces nulls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// A fixed value, which must fit the column: an integer for an int column, a number for a
    /// float column, a string for a string column (`{"constant": 0}`). Needs no statistics.
    Constant(serde_json::Value),
    /// The mean of the train split (numeric features; rounded to the nearest integer, halves
    /// away from zero, for int features).
    Mean,
    /// The median of the train split (numeric features; rounded like `mean` for int features).
    Median,
    /// The most frequent value of the train split (features whose statistics have top values:
    /// string features, or numeric ones whose statistics happen to carry them).
    MostFrequent,
}

fn default_num_oov_buckets() -> u32 {
    1
}

fn default_log_offset() -> f64 {
    1.0
}

/// A preprocessing op as a pipeline declares it, before fitting.
///
/// See the [module documentation](super) for null, NaN and hashing rules shared by every op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TransformOp {
    /// Float `(x - mean) / std_dev`, with the train split's mean and population standard
    /// deviation. A standard deviation of 0 (a constant feature) gives 0.0 for every present
    /// value, NaN included.
    ZScore {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
    },
    /// Float `(x - min) / (max - min)` with the train split's minimum and maximum: in `[0, 1]` on
    /// the train split; 0.0 for every present value when `max == min`. Values outside the fitted
    /// range map outside `[0, 1]` (they are not clipped) unless `clip` is set.
    MinMax {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
        /// Clamp results to `[0, 1]` (default false).
        #[serde(default, skip_serializing_if = "is_false")]
        clip: bool,
    },
    /// Int bucket index by quantile boundaries of the train split.
    ///
    /// The boundaries are the quantiles at ranks `1/buckets, 2/buckets, …`, interpolated
    /// linearly between the statistics' percentiles when `buckets` does not divide 100. Equal
    /// boundaries are merged and boundaries equal to the minimum dropped (they would leave a
    /// bucket empty on the train split), so a skewed feature may get fewer than `buckets`
    /// buckets: the fitted op has `boundaries.len() + 1`. A value `x` goes to the number of
    /// boundaries `≤ x`: below the first boundary → 0, at or above the last → the last bucket.
    /// NaN → null.
    Bucketize {
        /// The numeric column read.
        input: String,
        /// The int column written.
        output: String,
        /// How many buckets to aim for (at least 1).
        buckets: u32,
    },
    /// Int index in a vocabulary of the train split's most frequent values (most frequent
    /// first, ties by value), at most `top_k` of them (all the top values the statistics kept
    /// when absent). A value outside the vocabulary gets
    /// `vocabulary_len + stable_hash(value) % num_oov_buckets`. Needs a string feature.
    ///
    /// When the statistics' top values are estimates (`exact: false`), so is the vocabulary.
    Vocabulary {
        /// The string column read.
        input: String,
        /// The int column written.
        output: String,
        /// The largest vocabulary (at least 1 when given).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top_k: Option<usize>,
        /// How many buckets share the out-of-vocabulary values (at least 1; default 1).
        #[serde(default = "default_num_oov_buckets")]
        num_oov_buckets: u32,
    },
    /// One float 0/1 column per vocabulary term, `{output}_0`, `{output}_1`, … in vocabulary
    /// order, then `{output}_oov` for values outside the vocabulary. The vocabulary is fitted
    /// like `vocabulary`'s. A null gives 0 in every column, `{output}_oov` included. Needs a
    /// string feature.
    OneHot {
        /// The string column read.
        input: String,
        /// The prefix of the float columns written.
        output: String,
        /// The largest vocabulary (at least 1 when given).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top_k: Option<usize>,
    },
    /// Int `stable_hash(text form of x) % buckets`, for a column of any type. Needs no
    /// statistics.
    HashBuckets {
        /// The column read.
        input: String,
        /// The int column written.
        output: String,
        /// How many buckets (1 to `i64::MAX`).
        buckets: u64,
    },
    /// Float `ln(x + offset)`; null when `x + offset ≤ 0` or NaN. Needs no statistics.
    Log {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
        /// Added before the logarithm (default 1, finite).
        #[serde(default = "default_log_offset")]
        offset: f64,
    },
    /// The input with nulls replaced, of the input's type. Needs statistics unless the fill is a
    /// constant.
    FillMissing {
        /// The column read.
        input: String,
        /// The column written (may equal `input`: later ops then read the filled column).
        output: String,
        /// What replaces nulls.
        with: Fill,
    },
    /// Int feature cross: `stable_hash` of the inputs' text forms, each preceded by its byte
    /// length and `:` (`("cash", 3)` hashes `4:cash1:3`), `% buckets`. Null when any input is
    /// null. Needs no statistics.
    Cross {
        /// The columns read (at least 2), of any types.
        inputs: Vec<String>,
        /// The int column written.
        output: String,
        /// How many buckets (1 to `i64::MAX`).
        buckets: u64,
    },
}

impl TransformOp {
    /// The op's name in JSON (`z_score`, `min_max`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            TransformOp::ZScore { .. } => "z_score",
            TransformOp::MinMax { .. } => "min_max",
            TransformOp::Bucketize { .. } => "bucketize",
            TransformOp::Vocabulary { .. } => "vocabulary",
            TransformOp::OneHot { .. } => "one_hot",
            TransformOp::HashBuckets { .. } => "hash_buckets",
            TransformOp::Log { .. } => "log",
            TransformOp::FillMissing { .. } => "fill_missing",
            TransformOp::Cross { .. } => "cross",
        }
    }

    /// The columns the op reads, in order.
    pub fn inputs(&self) -> Vec<&str> {
        match self {
            TransformOp::ZScore { input, .. }
            | TransformOp::MinMax { input, .. }
            | TransformOp::Bucketize { input, .. }
            | TransformOp::Vocabulary { input, .. }
            | TransformOp::OneHot { input, .. }
            | TransformOp::HashBuckets { input, .. }
            | TransformOp::Log { input, .. }
            | TransformOp::FillMissing { input, .. } => vec![input.as_str()],
            TransformOp::Cross { inputs, .. } => inputs.iter().map(String::as_str).collect(),
        }
    }

    /// The declared output name: the column written, or for `one_hot` the prefix of the
    /// columns written (their names depend on the fitted vocabulary: see
    /// [`FittedOp::outputs`](super::FittedOp::outputs)).
    pub fn outputs(&self) -> Vec<String> {
        vec![self.output().to_owned()]
    }

    pub(super) fn output(&self) -> &str {
        match self {
            TransformOp::ZScore { output, .. }
            | TransformOp::MinMax { output, .. }
            | TransformOp::Bucketize { output, .. }
            | TransformOp::Vocabulary { output, .. }
            | TransformOp::OneHot { output, .. }
            | TransformOp::HashBuckets { output, .. }
            | TransformOp::Log { output, .. }
            | TransformOp::FillMissing { output, .. }
            | TransformOp::Cross { output, .. } => output,
        }
    }

    /// Whether [`fit`](Self::fit) needs the statistics of the inputs: false for `hash_buckets`,
    /// `cross`, `log` and `fill_missing` with a constant.
    pub fn needs_statistics(&self) -> bool {
        match self {
            TransformOp::ZScore { .. }
            | TransformOp::MinMax { .. }
            | TransformOp::Bucketize { .. }
            | TransformOp::Vocabulary { .. }
            | TransformOp::OneHot { .. } => true,
            TransformOp::FillMissing { with, .. } => !matches!(with, Fill::Constant(_)),
            TransformOp::HashBuckets { .. }
            | TransformOp::Log { .. }
            | TransformOp::Cross { .. } => false,
        }
    }

    /// Checks the declaration alone (no statistics): names, bucket counts, `top_k`, the
    /// offset, the constant. [`fit`](Self::fit) starts with it.
    pub fn validate(&self) -> Result<()> {
        let invalid =
            |option: &str, reason: String| Err(invalid_option(self.label(), option, reason));
        if let Some(option) = empty_name(self.output(), &self.inputs()) {
            return invalid(option, "column names cannot be empty".to_owned());
        }
        match self {
            TransformOp::ZScore { .. } | TransformOp::MinMax { .. } => {}
            TransformOp::Bucketize { buckets, .. } => {
                if *buckets == 0 {
                    return invalid("buckets", "`buckets` must be at least 1".to_owned());
                }
            }
            TransformOp::Vocabulary {
                top_k,
                num_oov_buckets,
                ..
            } => {
                if *top_k == Some(0) {
                    return invalid("top_k", "`top_k` must be at least 1".to_owned());
                }
                if *num_oov_buckets == 0 {
                    return invalid(
                        "num_oov_buckets",
                        "`num_oov_buckets` must be at least 1 (out-of-vocabulary values need a bucket)"
                            .to_owned(),
                    );
                }
            }
            TransformOp::OneHot { top_k, .. } => {
                if *top_k == Some(0) {
                    return invalid("top_k", "`top_k` must be at least 1".to_owned());
                }
            }
            TransformOp::HashBuckets { buckets, .. } => {
                check_hash_buckets(*buckets).or_else(|reason| invalid("buckets", reason))?;
            }
            TransformOp::Cross {
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
            TransformOp::Log { offset, .. } => {
                if !offset.is_finite() {
                    return invalid("offset", format!("`offset` must be finite, not {offset}"));
                }
            }
            TransformOp::FillMissing { with, .. } => {
                if let Fill::Constant(value) = with
                    && FillValue::from_json(value).is_none()
                {
                    return invalid(
                        "with",
                        format!("the constant must be a number or a string, not {value}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// `kind inputs → output`, for messages.
    pub(crate) fn label(&self) -> String {
        label(self.kind(), &self.inputs(), self.output())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::transform::ops::test_support::*;

    #[test]
    fn declarations_read_defaults_and_refuse_typos() {
        assert_eq!(
            op(r#"{"vocabulary": {"input": "a", "output": "b"}}"#),
            TransformOp::Vocabulary {
                input: "a".into(),
                output: "b".into(),
                top_k: None,
                num_oov_buckets: 1
            }
        );
        let typo = serde_json::from_str::<TransformOp>(
            r#"{"vocabulary": {"input": "a", "output": "b", "num_oov_bucket": 2}}"#,
        );
        assert!(typo.is_err());
        let fill =
            op(r#"{"fill_missing": {"input": "a", "output": "b", "with": {"constant": "?"}}}"#);
        assert_eq!(
            serde_json::to_value(&fill).unwrap(),
            serde_json::json!({"fill_missing": {"input": "a", "output": "b", "with": {"constant": "?"}}})
        );
        let cross = op(r#"{"cross": {"inputs": ["a", "b"], "output": "c", "buckets": 9}}"#);
        assert_eq!(cross.inputs(), ["a", "b"]);
        assert_eq!(cross.outputs(), ["c"]);
    }
}
