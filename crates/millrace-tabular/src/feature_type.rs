//! The value types of features, and how a column's type is inferred from text.

use serde::{Deserialize, Serialize};

/// The type of a feature's values: what Parquet column type and which statistics it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureType {
    /// 64-bit signed integers (Parquet INT64).
    Int,
    /// 64-bit floating point numbers (Parquet DOUBLE).
    Float,
    /// UTF-8 text (Parquet BYTE_ARRAY, UTF8).
    String,
}

impl FeatureType {
    /// The narrowest type that holds values of both `self` and `other`: int ⊂ float ⊂ string.
    pub fn widen(self, other: FeatureType) -> FeatureType {
        self.max(other)
    }

    /// The name used in schemas and reports.
    pub fn name(self) -> &'static str {
        match self {
            FeatureType::Int => "int",
            FeatureType::Float => "float",
            FeatureType::String => "string",
        }
    }

    /// Whether values are numbers.
    pub fn is_numeric(self) -> bool {
        matches!(self, FeatureType::Int | FeatureType::Float)
    }

    /// The narrowest type a non-empty text field parses as.
    pub fn of_text(text: &[u8]) -> FeatureType {
        // A byte scan decides the common cases; only what looks numeric is parsed.
        let digits = text
            .strip_prefix(b"-")
            .or_else(|| text.strip_prefix(b"+"))
            .unwrap_or(text);
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
            if digits.len() < 19 || parse_int(text).is_some() {
                return FeatureType::Int;
            }
            return FeatureType::Float;
        }
        let numeric_bytes = text
            .iter()
            .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'-' | b'+' | b'e' | b'E'));
        if numeric_bytes && parse_float(text).is_some() {
            FeatureType::Float
        } else {
            FeatureType::String
        }
    }
}

impl std::fmt::Display for FeatureType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FeatureType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "int" => Ok(FeatureType::Int),
            "float" => Ok(FeatureType::Float),
            "string" => Ok(FeatureType::String),
            other => Err(format!(
                "unknown feature type `{other}` (expected int, float or string)"
            )),
        }
    }
}

/// Parses a decimal integer with an optional sign, as CSV writers emit them.
pub fn parse_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(digit))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Parses a decimal or scientific floating-point number.
///
/// Words that Rust would read as numbers (`inf`, `NaN`) are text here: a column of names that
/// happens to hold "Nan" stays a string column.
pub fn parse_float(text: &[u8]) -> Option<f64> {
    parse_float_text(std::str::from_utf8(text).ok()?)
}

/// [`parse_float`] of text already known to be UTF-8.
pub fn parse_float_text(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if bytes[1..]
        .iter()
        .any(|byte| byte.is_ascii_alphabetic() && !matches!(byte, b'e' | b'E'))
    {
        return None;
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_with_signs_and_refuse_overflow() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-42"), Some(-42));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"1.5"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b" 1"), None);
    }

    #[test]
    fn text_types_widen_from_int_to_string() {
        assert_eq!(FeatureType::of_text(b"12"), FeatureType::Int);
        assert_eq!(FeatureType::of_text(b"12.5"), FeatureType::Float);
        assert_eq!(FeatureType::of_text(b"1e-3"), FeatureType::Float);
        assert_eq!(FeatureType::of_text(b"Credit Card"), FeatureType::String);
        assert_eq!(FeatureType::of_text("é".as_bytes()), FeatureType::String);
        assert_eq!(FeatureType::of_text(b"NaN"), FeatureType::String);
        assert_eq!(FeatureType::of_text(b"-inf"), FeatureType::String);
        assert_eq!(FeatureType::of_text(b"-12"), FeatureType::Int);
        assert_eq!(
            FeatureType::of_text(b"99999999999999999999"),
            FeatureType::Float
        );
        assert_eq!(FeatureType::of_text(b"1-2"), FeatureType::String);
        assert_eq!(FeatureType::of_text(b"-"), FeatureType::String);
        assert_eq!(
            FeatureType::Int.widen(FeatureType::Float),
            FeatureType::Float
        );
        assert_eq!(
            FeatureType::String.widen(FeatureType::Int),
            FeatureType::String
        );
    }
}
