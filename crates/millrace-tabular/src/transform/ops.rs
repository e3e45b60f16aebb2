//! Preprocessing ops: what a pipeline declares ([`TransformOp`]), fitted on the train split's
//! statistics into what Transform writes and serving applies ([`FittedOp`]).
//!
//! Every op reads one or more input columns by name and writes new columns. Inputs are nullable
//! Arrow `Int64`, `Float64` or `Utf8` columns (the [`FeatureType`]s `int`, `float` and `string`).
//!
//! # Semantics shared by every op
//!
//! * **Nulls.** A null input gives a null output, except for `fill_missing` (which replaces nulls)
//!   and `one_hot` (a null gives all-zero columns, `{output}_oov` included). `cross` is null when
//!   any of its inputs is.
//! * **NaN** is a value, not a missing one (the statistics count NaNs apart and leave them out of
//!   every figure): `fill_missing` keeps it, arithmetic propagates it, `bucketize` and `log` give
//!   null for it, and the hashing ops hash its text form `NaN`.
//! * **Text forms.** The hashing ops (`hash_buckets`, `cross`, and the out-of-vocabulary buckets
//!   of `vocabulary`) hash a value's text: an int in decimal (`-7`), a float as Rust's `{}`
//!   formats it (`2.5`, `42` for 42.0, `NaN`, `inf`), a string as it is. An int and an integral
//!   float therefore hash alike, so a column read as int in one split and float in another buckets
//!   identically.
//! * **Hash.** [`stable_hash`]: FNV-1a 64 over the UTF-8 bytes, which any language can
//!   reimplement in a few lines and which never changes between builds, platforms or runs.
//!
//! # JSON
//!
//! Both enums are externally tagged with snake_case names and refuse unknown fields, so a typo in
//! a hand-written declaration is an error rather than a silently defaulted option:
//!
//! ```json
//! {"vocabulary": {"input": "payment_type", "output": "payment_type_id", "top_k": 10}}
//! {"fill_missing": {"input": "tips", "output": "tips_filled", "with": "median"}}
//! {"fill_missing": {"input": "company", "output": "company_filled", "with": {"constant": "unknown"}}}
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{ArrowPrimitiveType, Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, PrimitiveArray, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FeatureType;
use crate::statistics::{FeatureStatistics, NumericStatistics, StringStatistics};
use crate::{DataError, Result};

/// The FNV-1a 64 offset basis: the hash of no bytes.
pub const FNV1A_64_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The FNV-1a 64 prime.
pub const FNV1A_64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The stable 64-bit hash of the hashing ops: FNV-1a 64 of `bytes`.
///
/// Start from [`FNV1A_64_OFFSET_BASIS`]; for each byte, xor it in, then multiply by
/// [`FNV1A_64_PRIME`] modulo 2⁶⁴. `stable_hash(b"a") == 0xaf63dc4c8601ec8c`.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a::new();
    hasher.update(bytes);
    hasher.0
}

/// An FNV-1a 64 hasher that values can be formatted into without allocating.
#[derive(Debug, Clone, Copy)]
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(FNV1A_64_OFFSET_BASIS)
    }

    #[inline]
    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(FNV1A_64_PRIME);
        }
    }

    /// The hash of `value`'s `{}` text form.
    #[inline]
    fn of_display(value: impl fmt::Display) -> u64 {
        let mut hasher = Fnv1a::new();
        // Formatting into the hasher cannot fail: `write_str` always succeeds.
        let _ = write!(hasher, "{value}");
        hasher.0
    }

    /// Feeds one component of a cross: its byte length in decimal, `:`, then its bytes, so that
    /// no two different lists of texts feed the same bytes (`["a:b"]` vs `["a", "b"]`).
    #[inline]
    fn component(&mut self, text: &str) {
        let _ = write!(self, "{}:", text.len());
        self.update(text.as_bytes());
    }
}

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.update(text.as_bytes());
        Ok(())
    }
}

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

    fn from_json(value: &serde_json::Value) -> Option<FillValue> {
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

    fn has_repeats(&self) -> bool {
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

fn default_num_oov_buckets() -> u32 {
    1
}

fn default_log_offset() -> f64 {
    1.0
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A preprocessing op as a pipeline declares it, before fitting.
///
/// See the [module documentation](self) for null, NaN and hashing rules shared by every op.
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

/// The largest number of hash buckets: bucket indices are `i64`s.
const MAX_HASH_BUCKETS: u64 = i64::MAX as u64;

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
    /// [`FittedOp::outputs`]).
    pub fn outputs(&self) -> Vec<String> {
        vec![self.output().to_owned()]
    }

    fn output(&self) -> &str {
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
        let bad = |what: String| Err(DataError::Config(format!("{}: {what}", self.label())));
        if self.output().is_empty() || self.inputs().iter().any(|input| input.is_empty()) {
            return bad("column names cannot be empty".to_owned());
        }
        match self {
            TransformOp::ZScore { .. } | TransformOp::MinMax { .. } => {}
            TransformOp::Bucketize { buckets, .. } => {
                if *buckets == 0 {
                    return bad("`buckets` must be at least 1".to_owned());
                }
            }
            TransformOp::Vocabulary {
                top_k,
                num_oov_buckets,
                ..
            } => {
                if *top_k == Some(0) {
                    return bad("`top_k` must be at least 1".to_owned());
                }
                if *num_oov_buckets == 0 {
                    return bad(
                        "`num_oov_buckets` must be at least 1 (out-of-vocabulary values need a bucket)"
                            .to_owned(),
                    );
                }
            }
            TransformOp::OneHot { top_k, .. } => {
                if *top_k == Some(0) {
                    return bad("`top_k` must be at least 1".to_owned());
                }
            }
            TransformOp::HashBuckets { buckets, .. } => {
                check_hash_buckets(*buckets).or_else(bad)?;
            }
            TransformOp::Cross {
                inputs, buckets, ..
            } => {
                if inputs.len() < 2 {
                    return bad(format!(
                        "a cross needs at least 2 inputs, not {}",
                        inputs.len()
                    ));
                }
                check_hash_buckets(*buckets).or_else(bad)?;
            }
            TransformOp::Log { offset, .. } => {
                if !offset.is_finite() {
                    return bad(format!("`offset` must be finite, not {offset}"));
                }
            }
            TransformOp::FillMissing { with, .. } => {
                if let Fill::Constant(value) = with
                    && FillValue::from_json(value).is_none()
                {
                    return bad(format!(
                        "the constant must be a number or a string, not {value}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Fits the op on the statistics of its inputs (the train split's), given in
    /// [`inputs`](Self::inputs) order.
    ///
    /// Ops that need no statistics accept any slice, empty included; `fill_missing` with a
    /// constant checks that the constant fits the feature when its statistics are given.
    /// Errors: a bad declaration ([`DataError::Config`]), statistics that are missing, of
    /// another feature, without values, or of the wrong type of feature ([`DataError::Data`]
    /// for the last two, naming the feature).
    pub fn fit(&self, inputs: &[&FeatureStatistics]) -> Result<FittedOp> {
        self.validate()?;
        let fitted = match self {
            TransformOp::ZScore { input, output } => {
                let numeric = self.numeric_statistics(self.statistics(inputs, 0)?)?;
                let (mean, std_dev) = (numeric.mean, numeric.std_dev);
                if !mean.is_finite() || !std_dev.is_finite() || std_dev < 0.0 {
                    return Err(DataError::Data(format!(
                        "{}: the statistics of `{input}` have mean {mean} and standard deviation {std_dev}",
                        self.label()
                    )));
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
                    return Err(DataError::Data(format!(
                        "{}: the statistics of `{input}` have minimum {min} and maximum {max}",
                        self.label()
                    )));
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
                    .map_err(|why| DataError::Data(format!("{}: {why}", self.label())))?;
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
            let value = FillValue::from_json(constant).ok_or_else(|| {
                DataError::Config(format!(
                    "{}: the constant must be a number or a string, not {constant}",
                    self.label()
                ))
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
                        DataError::Data(format!(
                            "{}: the statistics of `{}` ({} feature) have no top values to take \
                             the most frequent from (numeric features have none: use mean or median)",
                            self.label(),
                            stats.name,
                            stats.feature_type
                        ))
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
            DataError::Data(format!(
                "{}: the statistics of `{}` give no usable fill value",
                self.label(),
                stats.name
            ))
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

    /// The statistics of input `index`, checked to be of that input and to have values.
    fn statistics<'a>(
        &self,
        inputs: &[&'a FeatureStatistics],
        index: usize,
    ) -> Result<&'a FeatureStatistics> {
        let names = self.inputs();
        let name = names.get(index).copied().unwrap_or_default();
        let stats = inputs.get(index).copied().ok_or_else(|| {
            DataError::Config(format!(
                "{}: fitting needs the statistics of `{name}`, and none were given",
                self.label()
            ))
        })?;
        if stats.name != name {
            return Err(DataError::Config(format!(
                "{}: fitting needs the statistics of `{name}`, and was given those of `{}`",
                self.label(),
                stats.name
            )));
        }
        if stats.count == 0 {
            return Err(DataError::Data(format!(
                "{}: `{name}` has no values in the statistics to fit on",
                self.label()
            )));
        }
        Ok(stats)
    }

    fn numeric_statistics<'a>(
        &self,
        stats: &'a FeatureStatistics,
    ) -> Result<&'a NumericStatistics> {
        match &stats.numeric {
            Some(numeric) if stats.feature_type.is_numeric() => Ok(numeric),
            _ => Err(DataError::Data(format!(
                "{}: needs a numeric feature, and `{}` is a {} feature",
                self.label(),
                stats.name,
                stats.feature_type
            ))),
        }
    }

    fn string_statistics<'a>(&self, stats: &'a FeatureStatistics) -> Result<&'a StringStatistics> {
        match &stats.string {
            Some(strings) if stats.feature_type == FeatureType::String => Ok(strings),
            _ => Err(DataError::Data(format!(
                "{}: needs a string feature, and `{}` is a {} feature (hash_buckets or bucketize \
                 suit numbers)",
                self.label(),
                stats.name,
                stats.feature_type
            ))),
        }
    }

    /// `kind inputs → output`, for messages.
    fn label(&self) -> String {
        label(self.kind(), &self.inputs(), self.output())
    }
}

fn label(kind: &str, inputs: &[&str], output: &str) -> String {
    let inputs = inputs
        .iter()
        .map(|input| format!("`{input}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("transform op {kind} {inputs} → `{output}`")
}

fn unfit_constant(
    label: &str,
    value: &FillValue,
    column: &str,
    column_type: FeatureType,
) -> DataError {
    DataError::Data(format!(
        "{label}: the fill value {value} ({}) does not fit `{column}`, a {column_type} column",
        value.feature_type()
    ))
}

fn check_hash_buckets(buckets: u64) -> std::result::Result<(), String> {
    if buckets == 0 || buckets > MAX_HASH_BUCKETS {
        Err(format!(
            "`buckets` must be between 1 and {MAX_HASH_BUCKETS}, not {buckets}"
        ))
    } else {
        Ok(())
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

/// A fitted op: everything needed to apply it, with no reference to the statistics. This is what
/// the transform graph stores and serving applies.
///
/// The JSON names and input/output fields are the [`TransformOp`]'s; the fitted parameters
/// replace the declaration's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FittedOp {
    /// See [`TransformOp::ZScore`].
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
    /// See [`TransformOp::MinMax`].
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
    /// See [`TransformOp::Bucketize`].
    Bucketize {
        /// The numeric column read.
        input: String,
        /// The int column written.
        output: String,
        /// Strictly increasing boundaries: `x` goes to bucket `#{b ≤ x}`, in
        /// `0..=boundaries.len()`.
        boundaries: Vec<f64>,
    },
    /// See [`TransformOp::Vocabulary`].
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
    /// See [`TransformOp::OneHot`].
    OneHot {
        /// The string column read.
        input: String,
        /// The prefix of the float columns written.
        output: String,
        /// The terms: term `i` sets column `{output}_{i}`.
        vocabulary: Vocabulary,
    },
    /// See [`TransformOp::HashBuckets`].
    HashBuckets {
        /// The column read.
        input: String,
        /// The int column written.
        output: String,
        /// How many buckets.
        buckets: u64,
    },
    /// See [`TransformOp::Log`].
    Log {
        /// The numeric column read.
        input: String,
        /// The float column written.
        output: String,
        /// Added before the logarithm.
        offset: f64,
    },
    /// See [`TransformOp::FillMissing`].
    FillMissing {
        /// The column read.
        input: String,
        /// The column written, of the input's type.
        output: String,
        /// What replaces nulls.
        value: FillValue,
    },
    /// See [`TransformOp::Cross`].
    Cross {
        /// The columns read.
        inputs: Vec<String>,
        /// The int column written.
        output: String,
        /// How many buckets.
        buckets: u64,
    },
}

/// Where ops find their input columns: a record batch, or a batch plus the outputs of the ops
/// before.
pub(crate) trait Columns {
    /// The column called `name`.
    fn find_column(&self, name: &str) -> Option<&ArrayRef>;
}

impl Columns for RecordBatch {
    fn find_column(&self, name: &str) -> Option<&ArrayRef> {
        self.column_by_name(name)
    }
}

/// The feature type of an Arrow column type ops can read.
pub(crate) fn feature_type_of(data_type: &DataType) -> Option<FeatureType> {
    match data_type {
        DataType::Int64 => Some(FeatureType::Int),
        DataType::Float64 => Some(FeatureType::Float),
        DataType::Utf8 => Some(FeatureType::String),
        _ => None,
    }
}

/// The Arrow column type of a feature type.
pub(crate) fn data_type_of(feature_type: FeatureType) -> DataType {
    match feature_type {
        FeatureType::Int => DataType::Int64,
        FeatureType::Float => DataType::Float64,
        FeatureType::String => DataType::Utf8,
    }
}

/// An input column, typed.
#[derive(Clone, Copy)]
enum Input<'a> {
    Int(&'a Int64Array),
    Float(&'a Float64Array),
    String(&'a StringArray),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Int(array) => array.len(),
            Input::Float(array) => array.len(),
            Input::String(array) => array.len(),
        }
    }

    /// Feeds value `row` to a cross's hash; false if it is null.
    #[inline]
    fn feed_cross(&self, row: usize, hasher: &mut Fnv1a, scratch: &mut String) -> bool {
        match self {
            Input::Int(array) => {
                if array.is_null(row) {
                    return false;
                }
                scratch.clear();
                let _ = write!(scratch, "{}", array.value(row));
                hasher.component(scratch);
            }
            Input::Float(array) => {
                if array.is_null(row) {
                    return false;
                }
                scratch.clear();
                let _ = write!(scratch, "{}", array.value(row));
                hasher.component(scratch);
            }
            Input::String(array) => {
                if array.is_null(row) {
                    return false;
                }
                hasher.component(array.value(row));
            }
        }
        true
    }
}

/// A numeric input column.
#[derive(Clone, Copy)]
enum Numeric<'a> {
    Int(&'a Int64Array),
    Float(&'a Float64Array),
}

impl Numeric<'_> {
    /// `f` on every value as f64, nulls kept (`f` also sees the values under nulls, harmlessly).
    #[inline]
    fn map(self, f: impl Fn(f64) -> f64) -> Float64Array {
        match self {
            Numeric::Int(array) => array.unary::<_, Float64Type>(|value| f(value as f64)),
            Numeric::Float(array) => array.unary::<_, Float64Type>(f),
        }
    }

    /// `f` on every present value as f64; `None` gives a null.
    #[inline]
    fn map_opt<O: ArrowPrimitiveType>(
        self,
        f: impl Fn(f64) -> Option<O::Native>,
    ) -> PrimitiveArray<O> {
        match self {
            Numeric::Int(array) => array.unary_opt::<_, O>(|value| f(value as f64)),
            Numeric::Float(array) => array.unary_opt::<_, O>(f),
        }
    }
}

fn hash_bucket(hash: u64, buckets: u64) -> i64 {
    // `buckets` is at most `i64::MAX` (checked by `validate`), so the remainder fits.
    (hash % buckets) as i64
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

    fn output(&self) -> &str {
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
    /// repeats. Errors are [`DataError::Config`].
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(DataError::Config(format!("{}: {what}", self.label())));
        if self.output().is_empty() || self.inputs().iter().any(|input| input.is_empty()) {
            return bad("column names cannot be empty".to_owned());
        }
        match self {
            FittedOp::ZScore { mean, std_dev, .. } => {
                if !mean.is_finite() || !std_dev.is_finite() || *std_dev < 0.0 {
                    return bad(format!(
                        "mean {mean} and standard deviation {std_dev} must be finite, the latter ≥ 0"
                    ));
                }
            }
            FittedOp::MinMax { min, max, .. } => {
                if !min.is_finite() || !max.is_finite() || min > max {
                    return bad(format!(
                        "minimum {min} and maximum {max} must be finite and ordered"
                    ));
                }
            }
            FittedOp::Bucketize { boundaries, .. } => {
                if boundaries.iter().any(|boundary| !boundary.is_finite())
                    || boundaries.windows(2).any(|pair| pair[0] >= pair[1])
                {
                    return bad("boundaries must be finite and strictly increasing".to_owned());
                }
            }
            FittedOp::Vocabulary {
                vocabulary,
                num_oov_buckets,
                ..
            } => {
                if *num_oov_buckets == 0 {
                    return bad("`num_oov_buckets` must be at least 1".to_owned());
                }
                if vocabulary.has_repeats() {
                    return bad("the vocabulary repeats a term".to_owned());
                }
            }
            FittedOp::OneHot { vocabulary, .. } => {
                if vocabulary.has_repeats() {
                    return bad("the vocabulary repeats a term".to_owned());
                }
            }
            FittedOp::HashBuckets { buckets, .. } => check_hash_buckets(*buckets).or_else(bad)?,
            FittedOp::Cross {
                inputs, buckets, ..
            } => {
                if inputs.len() < 2 {
                    return bad(format!(
                        "a cross needs at least 2 inputs, not {}",
                        inputs.len()
                    ));
                }
                check_hash_buckets(*buckets).or_else(bad)?;
            }
            FittedOp::Log { offset, .. } => {
                if !offset.is_finite() {
                    return bad(format!("`offset` must be finite, not {offset}"));
                }
            }
            FittedOp::FillMissing { .. } => {}
        }
        Ok(())
    }

    /// The columns the op writes and their types, given the types of its inputs (in
    /// [`inputs`](Self::inputs) order). Errors ([`DataError::Data`]) when an input's type does
    /// not suit the op.
    pub fn output_fields(&self, input_types: &[FeatureType]) -> Result<Vec<(String, FeatureType)>> {
        let inputs = self.inputs();
        if input_types.len() != inputs.len() {
            return Err(DataError::Config(format!(
                "{}: {} input types given for {} inputs",
                self.label(),
                input_types.len(),
                inputs.len()
            )));
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

    /// Applies the op to `batch`, reading its inputs by name: the columns written, in
    /// [`outputs`](Self::outputs) order, each as long as the batch.
    ///
    /// Errors ([`DataError::Data`]) name a missing column or one of the wrong type.
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
                            None => known + hash_bucket(stable_hash(value.as_bytes()), oov),
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
                        hash_bucket(Fnv1a::of_display(value), buckets)
                    }),
                    Input::Float(array) => array.unary::<_, Int64Type>(|value| {
                        hash_bucket(Fnv1a::of_display(value), buckets)
                    }),
                    Input::String(array) => {
                        let values: Vec<i64> = array
                            .iter()
                            .map(|value| {
                                value.map_or(0, |value| {
                                    hash_bucket(stable_hash(value.as_bytes()), buckets)
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
                    return Err(DataError::Data(format!(
                        "{}: the input columns differ in length",
                        self.label()
                    )));
                }
                let mut scratch = String::new();
                let array: Int64Array = (0..rows)
                    .map(|row| {
                        let mut hasher = Fnv1a::new();
                        columns
                            .iter()
                            .all(|column| column.feed_cross(row, &mut hasher, &mut scratch))
                            .then(|| hash_bucket(hasher.0, *buckets))
                    })
                    .collect();
                single(Arc::new(array))
            }
        }
    }

    fn input<'a>(&self, columns: &'a dyn Columns, name: &str) -> Result<Input<'a>> {
        let array = columns.find_column(name).ok_or_else(|| {
            DataError::Data(format!(
                "{}: there is no column `{name}` to read",
                self.label()
            ))
        })?;
        if let Some(array) = array.as_primitive_opt::<Int64Type>() {
            Ok(Input::Int(array))
        } else if let Some(array) = array.as_primitive_opt::<Float64Type>() {
            Ok(Input::Float(array))
        } else if let Some(array) = array.as_string_opt::<i32>() {
            Ok(Input::String(array))
        } else {
            Err(DataError::Data(format!(
                "{}: column `{name}` is of Arrow type {}; ops read int64, float64 and utf8 columns",
                self.label(),
                array.data_type()
            )))
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

    fn require_numeric(&self, name: &str, feature_type: FeatureType) -> Result<()> {
        if feature_type.is_numeric() {
            Ok(())
        } else {
            Err(self.wrong_type(name, feature_type, "a numeric"))
        }
    }

    fn require_string(&self, name: &str, feature_type: FeatureType) -> Result<()> {
        if feature_type == FeatureType::String {
            Ok(())
        } else {
            Err(self.wrong_type(name, feature_type, "a string"))
        }
    }

    fn wrong_type(&self, name: &str, actual: FeatureType, wanted: &str) -> DataError {
        DataError::Data(format!(
            "{}: needs {wanted} column, and `{name}` is a {actual} column",
            self.label()
        ))
    }

    /// `kind inputs → output`, for messages.
    fn label(&self) -> String {
        label(self.kind(), &self.inputs(), self.output())
    }
}

fn one_hot_names(output: &str, terms: usize) -> Vec<String> {
    (0..terms)
        .map(|index| format!("{output}_{index}"))
        .chain(std::iter::once(format!("{output}_oov")))
        .collect()
}

/// `array` with nulls replaced by `fill` (the array itself, shared, when it has none).
fn fill_primitive<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    fill: T::Native,
) -> PrimitiveArray<T> {
    let Some(nulls) = array.nulls().filter(|nulls| nulls.null_count() > 0) else {
        return array.clone();
    };
    let values: Vec<T::Native> = array
        .values()
        .iter()
        .enumerate()
        .map(|(row, &value)| if nulls.is_valid(row) { value } else { fill })
        .collect();
    PrimitiveArray::new(values.into(), None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use crate::statistics::ValueCount;
    use arrow_schema::{Field, Schema};

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

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
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

    fn ints(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    fn floats(values: &[Option<f64>]) -> ArrayRef {
        Arc::new(Float64Array::from(values.to_vec()))
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn op(json: &str) -> TransformOp {
        serde_json::from_str(json).unwrap()
    }

    /// Applies a single-output op and returns its column.
    fn apply_one(fitted: &FittedOp, batch: &RecordBatch) -> ArrayRef {
        let mut outputs = fitted.apply(batch).unwrap();
        assert_eq!(outputs.len(), 1);
        outputs.remove(0).1
    }

    fn as_floats(array: &ArrayRef) -> Vec<Option<f64>> {
        array.as_primitive::<Float64Type>().iter().collect()
    }

    fn as_ints(array: &ArrayRef) -> Vec<Option<i64>> {
        array.as_primitive::<Int64Type>().iter().collect()
    }

    fn percentiles(f: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..=100).map(f).collect()
    }

    #[test]
    fn fnv1a_matches_published_vectors_and_python() {
        // FNV-1a 64 reference vectors (the FNV test suite), and python3 for the rest.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(stable_hash(b"cash"), 13_068_984_946_121_058_130);
        assert_eq!(Fnv1a::of_display(42_i64), 571_532_774_284_038_691);
        assert_eq!(Fnv1a::of_display(42.0_f64), Fnv1a::of_display(42_i64));
        assert_eq!(Fnv1a::of_display(2.5_f64), 6_956_283_617_732_284_700);
    }

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
        assert!(matches!(error, DataError::Data(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("`age` is a int feature") && message.contains("string"),
            "{message}"
        );

        let error = op(r#"{"vocabulary": {"input": "age", "output": "v", "num_oov_buckets": 0}}"#)
            .fit(&[&numbers])
            .unwrap_err();
        assert!(matches!(error, DataError::Config(_)), "{error:?}");

        let stats = string_stats("age", &[("1", 3)]);
        let fitted = op(r#"{"vocabulary": {"input": "age", "output": "v"}}"#)
            .fit(&[&stats])
            .unwrap();
        let error = fitted
            .apply(&batch(vec![("age", ints(&[Some(1)]))]))
            .unwrap_err();
        assert!(
            matches!(&error, DataError::Data(message) if message.contains("needs a string column, and `age` is a int column")),
            "{error}"
        );
        assert!(fitted.output_fields(&[FeatureType::Float]).is_err());
        assert_eq!(
            fitted.output_fields(&[FeatureType::String]).unwrap(),
            [("v".to_owned(), FeatureType::Int)]
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
        assert!(matches!(error, DataError::Config(_)), "{error:?}");
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
        assert!(matches!(error, DataError::Config(_)), "{error:?}");
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
            matches!(&error, DataError::Data(message) if message.contains("no column `fare`")),
            "{error}"
        );

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
        assert!(matches!(unsorted.validate(), Err(DataError::Config(_))));
        let zero = FittedOp::HashBuckets {
            input: "a".into(),
            output: "b".into(),
            buckets: 0,
        };
        let error = zero
            .apply(&batch(vec![("a", ints(&[Some(1)]))]))
            .unwrap_err();
        assert!(matches!(error, DataError::Config(_)), "{error:?}");
    }
}
