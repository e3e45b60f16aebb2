//! Validation of examples against a schema: the anomalies document and its file, drift and skew
//! distances, and the checks.

pub mod distance;
pub mod model;
pub mod validate;

pub use model::*;
pub use validate::validate;
