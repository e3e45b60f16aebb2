//! Statistics of examples: the document, the mergeable sketches behind it, and StatisticsGen.

pub mod frequent_values;
pub mod model;
pub mod quantile_sketch;

pub use frequent_values::FrequentValues;
pub use model::*;
pub use quantile_sketch::QuantileSketch;
