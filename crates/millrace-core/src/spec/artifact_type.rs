//! Artifact types as data: names, ML-Metadata base types and typed property schemas — what the
//! IR, its validation and the metadata store know of an artifact type. The Rust side of an
//! artifact type, the [`Artifact`](crate::Artifact) trait, describes itself with these.
//!
//! ```
//! use millrace_core::spec::artifact_type::{ArtifactTypeInfo, PropertySpec, PropertyType};
//!
//! const SPANS: &[PropertySpec] = &[PropertySpec { name: "span", property_type: PropertyType::Int }];
//! let examples = ArtifactTypeInfo { name: "Examples", base_type: None, properties: SPANS };
//! assert!(examples.property("span").unwrap().property_type.accepts(&3.into()));
//! ```

use serde::{Deserialize, Serialize};

/// The ML-Metadata system type an artifact type derives from (`mlmd.Dataset`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BaseType {
    /// `mlmd.Dataset`: examples, splits, tables.
    Dataset,
    /// `mlmd.Model`: a trained model.
    Model,
    /// `mlmd.Metrics`: evaluation results.
    Metrics,
    /// `mlmd.Statistics`: data statistics.
    Statistics,
}

impl BaseType {
    /// The name of the ML-Metadata simple type, as stored in the `Type` table.
    pub const fn mlmd_type_name(self) -> &'static str {
        match self {
            BaseType::Dataset => "mlmd.Dataset",
            BaseType::Model => "mlmd.Model",
            BaseType::Metrics => "mlmd.Metrics",
            BaseType::Statistics => "mlmd.Statistics",
        }
    }
}

/// The type of an artifact property, with ML-Metadata's `PropertyType` numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropertyType {
    /// A 64-bit signed integer (`INT = 1`).
    Int,
    /// A 64-bit float (`DOUBLE = 2`).
    Double,
    /// A UTF-8 string (`STRING = 3`).
    String,
    /// A JSON-like structure (`STRUCT = 4`).
    Struct,
    /// A serialized protocol buffer (`PROTO = 5`).
    Proto,
    /// A boolean (`BOOLEAN = 6`).
    Boolean,
}

impl PropertyType {
    /// The integer ML-Metadata stores for this type.
    pub const fn mlmd_code(self) -> i32 {
        match self {
            PropertyType::Int => 1,
            PropertyType::Double => 2,
            PropertyType::String => 3,
            PropertyType::Struct => 4,
            PropertyType::Proto => 5,
            PropertyType::Boolean => 6,
        }
    }

    /// Whether a JSON value is an acceptable value of this property type.
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match self {
            PropertyType::Int => value.as_i64().is_some(),
            PropertyType::Double => value.is_number(),
            PropertyType::String | PropertyType::Proto => value.is_string(),
            PropertyType::Struct => value.is_object(),
            PropertyType::Boolean => matches!(value, Value::Bool(_)),
        }
    }
}

/// One declared property of an artifact type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PropertySpec {
    /// The property's name.
    pub name: &'static str,
    /// Its type.
    pub property_type: PropertyType,
}

/// An artifact type described as data: what the registry and the IR validation work with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArtifactTypeInfo {
    /// The type name.
    pub name: &'static str,
    /// The ML-Metadata base type.
    pub base_type: Option<BaseType>,
    /// The declared properties.
    pub properties: &'static [PropertySpec],
}

impl ArtifactTypeInfo {
    /// The declared property called `name`.
    pub fn property(&self, name: &str) -> Option<&PropertySpec> {
        self.properties
            .iter()
            .find(|property| property.name == name)
    }
}
