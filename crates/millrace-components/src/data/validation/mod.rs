//! Validation of examples against a schema: the anomalies document, drift and skew distances,
//! and ExampleValidator.

pub mod distance;
pub mod example_validator;
pub mod model;
pub mod validate;

pub use example_validator::{ExampleValidator, read_anomalies, write_anomalies};
pub use model::*;
pub use validate::validate;
