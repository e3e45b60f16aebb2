//! Typed runtime parameters and parameter-or-value configuration fields.
//!
//! `PipelineBuilder::param("rmse_max", 10.0)` declares a runtime parameter and returns a
//! [`RuntimeParameter<f64>`]. Component configurations hold [`Param<T>`] fields, which are
//! either a literal value or a reference to a runtime parameter; a reference is written into
//! the IR as `{"$param": "rmse_max"}` and replaced by the run's value before the component is
//! instantiated to execute. Runtime parameters map onto Airflow params, Argo parameters and
//! KFP pipeline inputs.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::channel::BuilderId;
pub use crate::spec::parameter::{
    PARAMETER_REFERENCE_KEY, ParameterType, parameter_reference, referenced_parameters,
    substitute_parameters,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn param_deserialises_a_literal_or_a_reference() {
        let literal: Param<f64> = serde_json::from_value(json!(2.5)).unwrap();
        assert_eq!(literal, Param::Value(2.5));
        let reference: Param<f64> = serde_json::from_value(json!({"$param": "x"})).unwrap();
        assert_eq!(reference.parameter_name(), Some("x"));
        assert!(serde_json::from_value::<Param<f64>>(json!("text")).is_err());
    }
}
