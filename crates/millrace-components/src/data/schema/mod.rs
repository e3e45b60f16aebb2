//! Schemas: the document, its inference from statistics, and SchemaGen.

pub mod model;

pub use model::*;
