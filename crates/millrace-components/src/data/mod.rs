//! The data components and the formats they share.

pub mod csv;
mod feature_type;
pub mod report;
pub mod schema;
pub mod statistics;
pub mod transform;
pub mod validation;

pub use feature_type::{FeatureType, parse_float, parse_int};
