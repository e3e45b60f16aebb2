//! Statistics of examples: the document, the mergeable sketches behind it, and the profiling
//! pass that computes it.

pub mod accumulator;
mod float_bits;
pub mod frequent_values;
pub mod model;
pub mod profile;
pub mod quantile_sketch;
pub mod shard;

pub use accumulator::{SplitAccumulator, StatisticsOptions};
pub use frequent_values::FrequentValues;
pub use model::*;
pub use profile::{csv_statistics, examples_statistics, split_statistics};
pub use quantile_sketch::QuantileSketch;
pub use shard::{
    SHARD_FILE, SplitShard, StatisticsShard, merge_shards, read_shard, shard_statistics,
    write_shard,
};
