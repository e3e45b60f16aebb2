//! MLflow-compatible experiment tracking.

pub mod search;
