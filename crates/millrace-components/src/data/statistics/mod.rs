//! Statistics of examples: the document, the mergeable sketches behind it, and StatisticsGen.

pub mod accumulator;
pub mod frequent_values;
pub mod model;
pub mod quantile_sketch;
pub mod statistics_gen;

pub use accumulator::{SplitAccumulator, StatisticsOptions};
pub use frequent_values::FrequentValues;
pub use model::*;
pub use quantile_sketch::QuantileSketch;
pub use statistics_gen::{
    StatisticsGen, csv_statistics, examples_statistics, split_statistics, write_statistics,
};
