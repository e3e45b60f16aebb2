//! The data components and the formats they share.

pub mod csv;
pub mod example_gen;
pub mod examples_format;
mod feature_type;
pub mod input_pattern;
pub mod parallel;
pub mod report;
pub mod schema;
pub mod split;
pub mod statistics;
pub mod transform;
pub mod validation;

pub use feature_type::{FeatureType, parse_float, parse_float_text, parse_int};
