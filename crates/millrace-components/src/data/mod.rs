//! The data components, and the formats they share (from [`millrace_tabular`]).

pub mod example_gen;
mod object_input;
pub mod schema;
pub mod statistics;
pub mod transform;
pub mod validation;

#[doc(no_inline)]
pub use millrace_tabular::{FeatureType, parse_float, parse_float_text, parse_int};
#[doc(no_inline)]
pub use millrace_tabular::{csv, examples_format, input_pattern, parallel, report, split};
