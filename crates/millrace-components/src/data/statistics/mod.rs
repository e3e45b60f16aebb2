//! Statistics of examples: StatisticsGen, over the document, its sketches and the profiling
//! pass in [`millrace_tabular::statistics`].

#[doc(no_inline)]
pub use millrace_tabular::statistics::*;

pub mod statistics_gen;

pub use statistics_gen::StatisticsGen;
