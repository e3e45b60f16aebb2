//! The model components and what they share: evaluation metrics so far.

pub mod metrics;

pub use metrics::{BinaryMetrics, Metric, MulticlassMetrics, RegressionMetrics};
