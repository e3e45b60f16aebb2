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
//! * **Hash.** [`fnv1a_64`](crate::hash::fnv1a_64) over the UTF-8 bytes, which any language can
//!   reimplement in a few lines and which never changes between builds, platforms or runs (see
//!   [`crate::hash`]).
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
//!
//! # Where things are
//!
//! | file | what |
//! |---|---|
//! | `declaration.rs` | [`TransformOp`] and [`Fill`]: the declarations, checked on their own |
//! | `fit.rs` | [`TransformOp::fit`]: statistics in, fitted parameters out |
//! | `fitted.rs` | [`FittedOp`], [`FillValue`], [`Vocabulary`]: the fitted ops, checked and typed |
//! | `apply.rs` | [`FittedOp::apply`]: columns in, columns out |
//! | `columns.rs` | reading Arrow columns by name and type |

mod apply;
mod columns;
mod declaration;
mod fit;
mod fitted;
#[cfg(test)]
pub(crate) mod test_support;

pub(crate) use columns::{Columns, feature_type_of};
pub use declaration::{Fill, TransformOp};
pub use fitted::{FillValue, FittedOp, Vocabulary};

/// The stable 64-bit hash of the hashing ops: [`fnv1a_64`](crate::hash::fnv1a_64), under the
/// name this module gave it before the hashes moved to [`crate::hash`].
pub use crate::hash::fnv1a_64 as stable_hash;
pub use crate::hash::{FNV1A_64_OFFSET_BASIS, FNV1A_64_PRIME};

use crate::{DataError, FeatureType};

/// The largest number of hash buckets: bucket indices are `i64`s.
const MAX_HASH_BUCKETS: u64 = i64::MAX as u64;

/// Whether a flag is off: serde leaves such flags out of the JSON.
fn is_false(value: &bool) -> bool {
    !*value
}

/// `kind inputs → output`, for messages: ``transform op z_score `fare` → `fare_z` ``.
fn label(kind: &str, inputs: &[&str], output: &str) -> String {
    let inputs = inputs
        .iter()
        .map(|input| format!("`{input}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("transform op {kind} {inputs} → `{output}`")
}

/// An [`InvalidOption`](DataError::InvalidOption) of the op labelled `owner`.
fn invalid_option(owner: String, option: &str, reason: String) -> DataError {
    DataError::InvalidOption {
        owner,
        option: option.to_owned(),
        reason,
    }
}

/// The option naming an empty column, if any: `output`, or `input` / `inputs`.
fn empty_name(output: &str, inputs: &[&str]) -> Option<&'static str> {
    if output.is_empty() {
        Some("output")
    } else if inputs.iter().any(|input| input.is_empty()) {
        Some(if inputs.len() == 1 { "input" } else { "inputs" })
    } else {
        None
    }
}

/// The error of a fill value that cannot fill the column it is for: the `with` of
/// `fill_missing` does not suit the data.
fn unfit_constant(
    label: &str,
    value: &FillValue,
    column: &str,
    column_type: FeatureType,
) -> DataError {
    invalid_option(
        label.to_owned(),
        "with",
        format!(
            "the fill value {value} ({}) does not fit `{column}`, a {column_type} column",
            value.feature_type()
        ),
    )
}

/// Checks a number of hash buckets: at least 1, and small enough for `i64` bucket indices.
fn check_hash_buckets(buckets: u64) -> std::result::Result<(), String> {
    if buckets == 0 || buckets > MAX_HASH_BUCKETS {
        Err(format!(
            "`buckets` must be between 1 and {MAX_HASH_BUCKETS}, not {buckets}"
        ))
    } else {
        Ok(())
    }
}
