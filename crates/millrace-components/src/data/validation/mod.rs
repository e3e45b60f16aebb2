//! Validation of examples against a schema: the anomalies document and ExampleValidator.

pub mod model;

pub use model::*;
