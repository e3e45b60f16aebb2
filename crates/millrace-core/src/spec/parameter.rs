//! Runtime parameters in the IR: their types and declarations, and the `{"$param": NAME}`
//! references that component configurations hold until a run substitutes its values.
//!
//! ```
//! use std::collections::BTreeMap;
//! use millrace_core::spec::parameter::{ParameterType, substitute_parameters};
//! use serde_json::json;
//!
//! let config = json!({"alpha": {"$param": "alpha"}, "depth": 3});
//! let values = BTreeMap::from([("alpha".to_owned(), ParameterType::Double.parse("0.5").unwrap())]);
//! assert_eq!(substitute_parameters(&config, &values), Ok(json!({"alpha": 0.5, "depth": 3})));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The key of the JSON object that stands for a runtime parameter reference.
pub const PARAMETER_REFERENCE_KEY: &str = "$param";

/// The type of a runtime parameter (KFP's and Airflow's parameter types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    /// A 64-bit signed integer.
    Int,
    /// A 64-bit float.
    Double,
    /// A string.
    String,
    /// A boolean.
    Bool,
    /// A JSON list.
    List,
    /// A JSON object.
    Struct,
}

impl ParameterType {
    /// Whether `value` is a value of this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ParameterType::Int => value.as_i64().is_some(),
            ParameterType::Double => value.is_number(),
            ParameterType::String => value.is_string(),
            ParameterType::Bool => value.is_boolean(),
            ParameterType::List => value.is_array(),
            ParameterType::Struct => value.is_object(),
        }
    }

    /// Parses a command-line value (`--param name=VALUE`) as this type.
    pub fn parse(self, text: &str) -> Result<Value, String> {
        let parsed = match self {
            ParameterType::String => return Ok(Value::String(text.to_owned())),
            ParameterType::Int => text
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| whole_number(text.trim()))
                .map(Value::from),
            ParameterType::Double => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map(Value::from),
            ParameterType::Bool => match text.trim() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            ParameterType::List | ParameterType::Struct => serde_json::from_str::<Value>(text)
                .ok()
                .filter(|value| self.accepts(value)),
        };
        parsed.ok_or_else(|| format!("`{text}` is not a valid {self} value"))
    }
}

/// `12.0` or `1e3` as an integer, when the text is exactly a whole number that an `i64` holds:
/// engines that keep every number as a double (KFP's protobuf `Value`) may render an integer
/// parameter that way. The text is read digit by digit, not through a double, which would round
/// `9007199254740993.0` to its neighbour and take `9007199254740990.6` for a whole number.
fn whole_number(text: &str) -> Option<i64> {
    /// Exponents beyond this cannot make an `i64` out of digits a command line holds.
    const MAX_EXPONENT: i64 = 4096;
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&exponent) {
        return None;
    }
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if integer.is_empty() && fraction.is_empty() || !all_digits(integer) || !all_digits(fraction) {
        return None;
    }
    // The digits, and where the decimal point falls among them.
    let digits: Vec<u8> = integer.bytes().chain(fraction.bytes()).collect();
    let point = i64::try_from(integer.len()).ok()? + exponent;
    let split = usize::try_from(point.clamp(0, i64::try_from(digits.len()).ok()?)).ok()?;
    let (whole, rest) = digits.split_at(split);
    if rest.iter().any(|&digit| digit != b'0') {
        return None;
    }
    let zeros_after = usize::try_from(point).ok().map_or(0, |point| point - split);
    let mut value: i128 = 0;
    for &digit in whole.iter().chain(std::iter::repeat_n(&b'0', zeros_after)) {
        value = value.checked_mul(10)? + i128::from(digit - b'0');
        if value > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if negative { -value } else { value }).ok()
}

impl fmt::Display for ParameterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ParameterType::Int => "int",
            ParameterType::Double => "double",
            ParameterType::String => "string",
            ParameterType::Bool => "bool",
            ParameterType::List => "list",
            ParameterType::Struct => "struct",
        };
        f.write_str(name)
    }
}

/// A runtime parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// The parameter's name: an identifier.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub parameter_type: ParameterType,
    /// The value used when a run does not set one; a parameter without one must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The parameter name if `value` is a `{"$param": NAME}` reference.
pub fn parameter_reference(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(PARAMETER_REFERENCE_KEY)?.as_str(),
        _ => None,
    }
}

/// Every runtime parameter referenced anywhere inside a configuration.
pub fn referenced_parameters(config: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect_references(config, &mut names);
    names
}

fn collect_references(value: &Value, names: &mut BTreeSet<String>) {
    if let Some(name) = parameter_reference(value) {
        names.insert(name.to_owned());
        return;
    }
    match value {
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, names)),
        Value::Object(map) => map
            .values()
            .for_each(|item| collect_references(item, names)),
        _ => {}
    }
}

/// Replaces every `{"$param": NAME}` in `config` by the value of `NAME`.
///
/// Returns the names that have no value if any reference cannot be resolved.
pub fn substitute_parameters(
    config: &Value,
    values: &BTreeMap<String, Value>,
) -> Result<Value, BTreeSet<String>> {
    let mut missing = BTreeSet::new();
    let substituted = substitute(config, values, &mut missing);
    if missing.is_empty() {
        Ok(substituted)
    } else {
        Err(missing)
    }
}

fn substitute(
    value: &Value,
    values: &BTreeMap<String, Value>,
    missing: &mut BTreeSet<String>,
) -> Value {
    if let Some(name) = parameter_reference(value) {
        return match values.get(name) {
            Some(replacement) => replacement.clone(),
            None => {
                missing.insert(name.to_owned());
                Value::Null
            }
        };
    }
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| substitute(item, values, missing))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), substitute(item, values, missing)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_parameter_reference_round_trips_and_substitutes() {
        let config = json!({"alpha": {"$param": "alpha"}, "nested": [{"$param": "beta"}, 3]});
        assert_eq!(
            referenced_parameters(&config),
            BTreeSet::from(["alpha".to_owned(), "beta".to_owned()])
        );
        let values = BTreeMap::from([("alpha".to_owned(), json!(0.5))]);
        assert_eq!(
            substitute_parameters(&config, &values),
            Err(BTreeSet::from(["beta".to_owned()]))
        );
        let values = BTreeMap::from([
            ("alpha".to_owned(), json!(0.5)),
            ("beta".to_owned(), json!("b")),
        ]);
        assert_eq!(
            substitute_parameters(&config, &values),
            Ok(json!({"alpha": 0.5, "nested": ["b", 3]}))
        );
    }

    #[test]
    fn command_line_values_parse_by_type() {
        assert_eq!(ParameterType::Int.parse("42"), Ok(json!(42)));
        assert!(ParameterType::Int.parse("4.2").is_err());
        // What an engine that keeps numbers as doubles renders; only whole, exact ones.
        assert_eq!(ParameterType::Int.parse("12.0"), Ok(json!(12)));
        assert!(ParameterType::Int.parse("1e300").is_err());
        assert!(ParameterType::Int.parse("inf").is_err());
        assert_eq!(ParameterType::Double.parse("4"), Ok(json!(4.0)));
        assert!(ParameterType::Double.parse("NaN").is_err());
        assert_eq!(ParameterType::Bool.parse("true"), Ok(json!(true)));
        assert_eq!(ParameterType::List.parse("[1,2]"), Ok(json!([1, 2])));
        assert!(ParameterType::Struct.parse("[1,2]").is_err());
    }
}
