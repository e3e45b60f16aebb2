//! # millrace-components
//!
//! The standard components of Millrace.
//!
//! With the `data` feature (on by default): the Examples format (Parquet per split), CsvExampleGen
//! and ImportExampleGen, StatisticsGen, SchemaGen, ExampleValidator and Transform.

mod error;

#[cfg(feature = "data")]
pub mod data;

pub use error::{DataError, Result};

#[cfg(feature = "data")]
pub use data::{
    example_gen::{CsvExampleGen, ImportExampleGen},
    schema::SchemaGen,
    statistics::StatisticsGen,
    transform::Transform,
    validation::ExampleValidator,
};
