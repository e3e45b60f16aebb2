//! Serialising `f64` fields as their IEEE 754 bits, so that a sketch written by one process and
//! read by another is the same bit for bit — infinities and NaN included, which JSON numbers
//! cannot hold (an empty sketch's minimum is `+∞`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes `value` as the `u64` of its bits.
pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    value.to_bits().serialize(serializer)
}

/// Reads an `f64` written by [`serialize`].
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    u64::deserialize(deserializer).map(f64::from_bits)
}
