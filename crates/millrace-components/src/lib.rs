//! # millrace-components
//!
//! The standard components of Millrace. With the `data` feature (on by default), the data half
//! of a TFX-style pipeline, on Arrow and Parquet:
//!
//! | component | reads | writes |
//! |---|---|---|
//! | [`CsvExampleGen`], [`ImportExampleGen`] | CSV / Parquet files matching a pattern with `{SPAN}` and `{VERSION}` | `Examples`: Parquet per split |
//! | [`StatisticsGen`] | `Examples` | `ExampleStatistics`: `statistics.json` and `statistics.html` |
//! | [`SchemaGen`] | `ExampleStatistics` (and a curated `Schema`, which wins) | `Schema`: `schema.json` |
//! | [`ExampleValidator`] | `ExampleStatistics`, `Schema` (and the previous span's statistics) | `ExampleAnomalies`: `anomalies.json` and `anomalies.html` |
//! | [`Transform`] | `Examples` | `TransformGraph` (fitted ops for serving) and transformed `Examples` |
//!
//! The functions behind the components work on their own too — on files, without a pipeline:
//!
//! ```
//! use millrace_components::data::csv::CsvOptions;
//! use millrace_components::data::example_gen::ingest_csv;
//! use millrace_components::data::schema::{InferenceOptions, infer_schema};
//! use millrace_components::data::split::SplitConfig;
//! use millrace_components::data::statistics::{StatisticsOptions, examples_statistics};
//! use millrace_components::data::validation::{AnomalyKind, validate};
//!
//! let dir = tempfile::tempdir()?;
//! let clean = dir.path().join("clean.csv");
//! std::fs::write(&clean, "size,colour\n1.5,red\n2.5,blue\n2.0,red\n")?;
//! let report = ingest_csv(&[clean], &CsvOptions::default(), &SplitConfig::buckets(&[("train", 1)]),
//!                         &dir.path().join("clean"), 2)?;
//! assert_eq!(report.splits, vec![("train".to_owned(), 3)]);
//!
//! let options = StatisticsOptions::default();
//! let statistics = examples_statistics(&dir.path().join("clean"), None, None, &options, 2)?;
//! let schema = infer_schema(&statistics, &InferenceOptions::default());
//! assert!(validate(&statistics, &schema, None).is_empty());
//!
//! // New data with a colour the schema has not seen.
//! let new = dir.path().join("new.csv");
//! std::fs::write(&new, "size,colour\n1.0,green\n")?;
//! ingest_csv(&[new], &CsvOptions::default(), &SplitConfig::buckets(&[("train", 1)]),
//!            &dir.path().join("new"), 2)?;
//! let fresh = examples_statistics(&dir.path().join("new"), None, None, &options, 2)?;
//! let anomalies = validate(&fresh, &schema, None);
//! assert_eq!(anomalies.features(), vec!["colour", "size"]);
//! assert!(anomalies.anomalies.iter().any(|a| a.kind == AnomalyKind::OutOfDomain
//!                                            && a.examples == ["green"]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors are one enum, [`DataError`]; malformed CSV names the file, line and column.

#[cfg(feature = "data")]
mod error;

#[cfg(feature = "data")]
pub mod data;

#[cfg(feature = "model")]
pub mod model;

/// Re-exports for the code that this crate's macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

#[cfg(feature = "data")]
pub use error::{Error, Result};
#[cfg(feature = "data")]
#[doc(no_inline)]
pub use millrace_tabular::DataError;

#[cfg(feature = "data")]
pub use data::{
    example_gen::{CsvExampleGen, ImportExampleGen},
    schema::SchemaGen,
    statistics::StatisticsGen,
    transform::Transform,
    validation::ExampleValidator,
};

#[cfg(feature = "model")]
pub use model::{BulkInferrer, Evaluator, InfraValidator, Pusher, Trainer, Tuner};
