//! # millrace-components
//!
//! The standard components of Millrace: typed nodes for a pipeline, each a thin layer that
//! reads its input artifacts, calls a library, and records what it wrote. The data work itself
//! — CSV and Parquet, the Examples format, statistics and sketches, schemas, validation,
//! transform graphs, HTML reports — is [`millrace_tabular`], which needs no pipeline; the model
//! code (trainers, metrics, the model format and its serving harnesses) is here, under
//! [`model`].
//!
//! With the `data` feature (on by default), the data half of a TFX-style pipeline:
//!
//! | component | reads | writes |
//! |---|---|---|
//! | [`CsvExampleGen`], [`ImportExampleGen`] | CSV / Parquet files matching a pattern with `{SPAN}` and `{VERSION}` | `Examples`: Parquet per split |
//! | [`StatisticsGen`] | `Examples` | `ExampleStatistics`: `statistics.json` and `statistics.html` |
//! | [`SchemaGen`] | `ExampleStatistics` (and a curated `Schema`, which wins) | `Schema`: `schema.json` |
//! | [`ExampleValidator`] | `ExampleStatistics`, `Schema` (and the previous span's statistics) | `ExampleAnomalies`: `anomalies.json` and `anomalies.html` |
//! | [`Transform`] | `Examples` | `TransformGraph` (fitted ops for serving) and transformed `Examples` |
//!
//! With the `model` feature (on by default), the model half: [`Trainer`] (Rust-native models,
//! or your own [`TrainFn`](model::TrainFn)), [`model::PythonTrainer`] (scikit-learn, XGBoost,
//! PyTorch, TensorFlow), [`Tuner`], [`Evaluator`], [`InfraValidator`], [`Pusher`] and [`BulkInferrer`].
//!
//! ```
//! use millrace_components::data::schema::InferenceOptions;
//! use millrace_components::data::transform::{Fill, TransformOp};
//! use millrace_components::{CsvExampleGen, ExampleValidator, SchemaGen, StatisticsGen, Transform};
//! use millrace_core::prelude::*;
//!
//! let mut p = Pipeline::builder("taxi-data");
//! let ingest = p.add("example_gen", CsvExampleGen::new("data/taxi/span-{SPAN}/*.csv"));
//! let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
//! let schema = p.add("schema_gen", SchemaGen::new(stats.statistics).configure(|s| {
//!     s.inference = InferenceOptions { drift_threshold: Some(0.1), ..Default::default() };
//! }));
//! p.add("example_validator", ExampleValidator::new(stats.statistics, schema.schema));
//! p.add("transform", Transform::new(ingest.examples, vec![
//!     TransformOp::FillMissing { input: "trip_seconds".into(), output: "seconds".into(),
//!                                with: Fill::Median },
//!     TransformOp::ZScore { input: "seconds".into(), output: "seconds_z".into() },
//! ], &["fare"]));
//! let pipeline = p.build()?;
//! assert_eq!(pipeline.spec().nodes.len(), 5);
//! # Ok::<(), millrace_core::BuildError>(())
//! ```
//!
//! The modules under [`data`] re-export [`millrace_tabular`]'s beside the components, so that
//! `millrace_components::data::schema::InferenceOptions` and
//! `millrace_tabular::schema::InferenceOptions` are the same type.
//!
//! Errors: the components fail their node with any error (`ComponentError`); the functions
//! of this crate return [`Error`], which holds the library's [`DataError`] and adds what the
//! components and the model code can get wrong (a configuration, training, prediction, a model
//! server, anomalies).

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
