//! Schemas: the document, its inference from statistics, and SchemaGen.

pub mod infer;
pub mod model;
pub mod schema_gen;

pub use infer::{InferenceOptions, infer_schema};
pub use model::*;
pub use schema_gen::{SchemaGen, read_schema, write_schema};
