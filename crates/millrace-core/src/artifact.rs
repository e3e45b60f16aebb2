//! Artifact types: the kinds of data that flow between nodes.
//!
//! An artifact type has a name, an optional ML-Metadata base type and a schema of typed
//! properties. Rust types implement [`Artifact`] to become usable as `Channel<T>` parameters;
//! the standard TFX-style types live in [`standard`], and `#[derive(millrace::Artifact)]`
//! makes a user-defined one.

pub mod standard;

pub use crate::spec::artifact_type::{ArtifactTypeInfo, BaseType, PropertySpec, PropertyType};

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

impl ArtifactTypeInfo {
    /// The description of `A`; usable in constants and `inventory::submit!`.
    pub const fn of<A: Artifact + ?Sized>() -> Self {
        ArtifactTypeInfo {
            name: A::TYPE_NAME,
            base_type: A::BASE_TYPE,
            properties: A::PROPERTIES,
        }
    }
}
