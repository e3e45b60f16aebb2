//! Schemas: the document that says what the data should look like, its file, and its inference
//! from statistics.

pub mod infer;
pub mod model;

pub use infer::{InferenceOptions, infer_schema};
pub use model::*;
