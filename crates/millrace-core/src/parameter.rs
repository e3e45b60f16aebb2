//! Typed runtime parameters and parameter-or-value configuration fields.
//!
//! `PipelineBuilder::param("rmse_max", 10.0)` declares a runtime parameter and returns a
//! [`RuntimeParameter<f64>`]. Component configurations hold [`Param<T>`] fields, which are
//! either a literal value or a reference to a runtime parameter; a reference is written into
//! the IR as `{"$param": "rmse_max"}` and replaced by the run's value before the component is
//! instantiated to execute. Runtime parameters map onto Airflow params, Argo parameters and
//! KFP pipeline inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::channel::BuilderId;

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
            ParameterType::Int => text.trim().parse::<i64>().map(Value::from).ok(),
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

/// Rust types that can be runtime parameters.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a runtime parameter",
    note = "runtime parameters are i64, f64, String, bool, Vec<T> or serde_json::Map"
)]
pub trait ParameterValue: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The parameter type this Rust type maps to.
    const TYPE: ParameterType;
}

impl ParameterValue for i64 {
    const TYPE: ParameterType = ParameterType::Int;
}
impl ParameterValue for f64 {
    const TYPE: ParameterType = ParameterType::Double;
}
impl ParameterValue for String {
    const TYPE: ParameterType = ParameterType::String;
}
impl ParameterValue for bool {
    const TYPE: ParameterType = ParameterType::Bool;
}
impl<T: ParameterValue> ParameterValue for Vec<T> {
    const TYPE: ParameterType = ParameterType::List;
}
impl ParameterValue for serde_json::Map<String, Value> {
    const TYPE: ParameterType = ParameterType::Struct;
}

/// A declared runtime parameter of type `T`, returned by `PipelineBuilder::param`.
pub struct RuntimeParameter<T> {
    pub(crate) name: Arc<str>,
    pub(crate) builder: BuilderId,
    value_type: PhantomData<fn() -> T>,
}

impl<T> Clone for RuntimeParameter<T> {
    fn clone(&self) -> Self {
        RuntimeParameter {
            name: Arc::clone(&self.name),
            builder: self.builder,
            value_type: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RuntimeParameter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RuntimeParameter").field(&self.name).finish()
    }
}

impl<T> RuntimeParameter<T> {
    pub(crate) fn new(name: &str, builder: BuilderId) -> Self {
        RuntimeParameter {
            name: Arc::from(name),
            builder,
            value_type: PhantomData,
        }
    }

    /// The parameter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The placeholder that command components use to receive this parameter's value.
    pub fn placeholder(&self) -> String {
        format!("{{{{parameters.{}}}}}", self.name)
    }
}

/// A configuration field that is either a literal value or a runtime parameter.
///
/// ```
/// use millrace_core::{Param, Pipeline};
///
/// let mut builder = Pipeline::builder("demo");
/// let threshold = builder.param("threshold", 0.5_f64);
/// let from_parameter: Param<f64> = (&threshold).into();
/// let literal: Param<f64> = 0.25.into();
/// assert_eq!(serde_json::to_string(&from_parameter).unwrap(), r#"{"$param":"threshold"}"#);
/// assert_eq!(serde_json::to_string(&literal).unwrap(), "0.25");
/// ```
#[derive(Clone, PartialEq)]
pub enum Param<T> {
    /// A value fixed when the pipeline was written.
    Value(T),
    /// The value of the named runtime parameter in the current run.
    Runtime(Arc<str>),
}

impl<T: fmt::Debug> fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Value(value) => value.fmt(f),
            Param::Runtime(name) => write!(f, "${name}"),
        }
    }
}

impl<T> Param<T> {
    /// The value, once runtime parameters have been substituted.
    ///
    /// Executors receive configurations with every reference replaced, so an unresolved
    /// reference here means the component was instantiated outside a run.
    pub fn value(&self) -> Result<&T, crate::ComponentError> {
        match self {
            Param::Value(value) => Ok(value),
            Param::Runtime(name) => Err(crate::ComponentError::new(format!(
                "runtime parameter `{name}` was not substituted before execution"
            ))),
        }
    }

    /// The name of the runtime parameter this refers to, if any.
    pub fn parameter_name(&self) -> Option<&str> {
        match self {
            Param::Value(_) => None,
            Param::Runtime(name) => Some(name),
        }
    }
}

impl<T: fmt::Display> Param<T> {
    /// The text to put on a command line: the literal value, or the parameter's placeholder.
    pub fn to_argument(&self) -> String {
        match self {
            Param::Value(value) => value.to_string(),
            Param::Runtime(name) => format!("{{{{parameters.{name}}}}}"),
        }
    }
}

impl<T> From<T> for Param<T> {
    fn from(value: T) -> Self {
        Param::Value(value)
    }
}

impl From<&str> for Param<String> {
    fn from(value: &str) -> Self {
        Param::Value(value.to_owned())
    }
}

impl<T> From<&RuntimeParameter<T>> for Param<T> {
    fn from(parameter: &RuntimeParameter<T>) -> Self {
        Param::Runtime(Arc::clone(&parameter.name))
    }
}

impl<T> From<RuntimeParameter<T>> for Param<T> {
    fn from(parameter: RuntimeParameter<T>) -> Self {
        Param::Runtime(parameter.name)
    }
}

impl<T: Serialize> Serialize for Param<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Param::Value(value) => value.serialize(serializer),
            Param::Runtime(name) => {
                let mut reference = BTreeMap::new();
                reference.insert(PARAMETER_REFERENCE_KEY, &**name);
                reference.serialize(serializer)
            }
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Param<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Some(name) = parameter_reference(&value) {
            return Ok(Param::Runtime(Arc::from(name)));
        }
        T::deserialize(value)
            .map(Param::Value)
            .map_err(serde::de::Error::custom)
    }
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
    fn param_deserialises_a_literal_or_a_reference() {
        let literal: Param<f64> = serde_json::from_value(json!(2.5)).unwrap();
        assert_eq!(literal, Param::Value(2.5));
        let reference: Param<f64> = serde_json::from_value(json!({"$param": "x"})).unwrap();
        assert_eq!(reference.parameter_name(), Some("x"));
        assert!(serde_json::from_value::<Param<f64>>(json!("text")).is_err());
    }

    #[test]
    fn command_line_values_parse_by_type() {
        assert_eq!(ParameterType::Int.parse("42"), Ok(json!(42)));
        assert!(ParameterType::Int.parse("4.2").is_err());
        assert_eq!(ParameterType::Double.parse("4"), Ok(json!(4.0)));
        assert!(ParameterType::Double.parse("NaN").is_err());
        assert_eq!(ParameterType::Bool.parse("true"), Ok(json!(true)));
        assert_eq!(ParameterType::List.parse("[1,2]"), Ok(json!([1, 2])));
        assert!(ParameterType::Struct.parse("[1,2]").is_err());
    }
}
