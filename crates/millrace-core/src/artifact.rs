//! Artifact types: the kinds of data that flow between nodes.
//!
//! An artifact type has a name, an optional ML-Metadata base type and a schema of typed
//! properties. Rust types implement [`Artifact`] to become usable as `Channel<T>` parameters;
//! the standard TFX-style types live in [`standard`], and `#[derive(millrace::Artifact)]`
//! makes a user-defined one.

pub mod standard;

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

/// Rust types usable as fields of a `#[derive(Artifact)]` struct, i.e. as typed properties.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an artifact property",
    note = "artifact properties are i64, i32, f64, bool, String or serde_json::Value (a struct)"
)]
pub trait PropertyValue {
    /// The ML-Metadata property type of this Rust type.
    const PROPERTY_TYPE: PropertyType;
}

impl PropertyValue for i64 {
    const PROPERTY_TYPE: PropertyType = PropertyType::Int;
}
impl PropertyValue for i32 {
    const PROPERTY_TYPE: PropertyType = PropertyType::Int;
}
impl PropertyValue for f64 {
    const PROPERTY_TYPE: PropertyType = PropertyType::Double;
}
impl PropertyValue for bool {
    const PROPERTY_TYPE: PropertyType = PropertyType::Boolean;
}
impl PropertyValue for String {
    const PROPERTY_TYPE: PropertyType = PropertyType::String;
}
impl PropertyValue for serde_json::Value {
    const PROPERTY_TYPE: PropertyType = PropertyType::Struct;
}

/// One declared property of an artifact type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PropertySpec {
    /// The property's name.
    pub name: &'static str,
    /// Its type.
    pub property_type: PropertyType,
}

/// A kind of data that flows through a pipeline.
///
/// Implement it with `#[derive(millrace::Artifact)]`; the struct's fields declare the typed
/// properties of the type:
///
/// ```
/// use millrace_core::{Artifact, BaseType, PropertySpec, PropertyType};
///
/// /// Sentence embeddings written as Parquet.
/// struct Embeddings;
///
/// impl Artifact for Embeddings {
///     const TYPE_NAME: &'static str = "Embeddings";
///     const BASE_TYPE: Option<BaseType> = Some(BaseType::Dataset);
///     const PROPERTIES: &'static [PropertySpec] = &[PropertySpec {
///         name: "dimension",
///         property_type: PropertyType::Int,
///     }];
/// }
/// assert_eq!(Embeddings::info().name, "Embeddings");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an artifact type",
    note = "declare artifact types with `#[derive(millrace::Artifact)]`"
)]
pub trait Artifact: Send + Sync + 'static {
    /// The type name, unique in a pipeline and stored in ML-Metadata's `Type` table.
    const TYPE_NAME: &'static str;
    /// The ML-Metadata base type, if any.
    const BASE_TYPE: Option<BaseType> = None;
    /// The declared (typed) properties.
    const PROPERTIES: &'static [PropertySpec] = &[];

    /// The type's description as data.
    fn info() -> ArtifactTypeInfo {
        ArtifactTypeInfo::of::<Self>()
    }
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
    /// The description of `A`; usable in constants and `inventory::submit!`.
    pub const fn of<A: Artifact + ?Sized>() -> Self {
        ArtifactTypeInfo {
            name: A::TYPE_NAME,
            base_type: A::BASE_TYPE,
            properties: A::PROPERTIES,
        }
    }

    /// The declared property called `name`.
    pub fn property(&self, name: &str) -> Option<&PropertySpec> {
        self.properties
            .iter()
            .find(|property| property.name == name)
    }
}

inventory::collect!(ArtifactTypeInfo);
