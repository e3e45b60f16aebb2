//! Statistics of examples: the document, the mergeable sketches behind it, and StatisticsGen.

// pending: pub mod accumulator;
pub mod frequent_values;
pub mod model;
pub mod quantile_sketch;
// pending: pub mod statistics_gen;

// pub use accumulator::{SplitAccumulator, StatisticsOptions};
pub use frequent_values::FrequentValues;
pub use model::*;
pub use quantile_sketch::QuantileSketch;
/* pending statistics_gen */
