//! # Millrace
//!
//! Machine-learning pipelines as code, in Rust: typed components wired by typed channels,
//! ML-Metadata lineage, and one binary that runs locally or on Airflow, Argo and Kubeflow.
//!
//! A pipeline is an ordinary program. Components are added to a builder, which hands back
//! their outputs as typed channels; wiring a model where examples are expected does not
//! compile. `build()` turns the typed pipeline into a validated, fingerprinted IR, and
//! [`cli::main`] gives the binary its command line (`compile`, `graph`, and the runner's
//! commands as they arrive).
//!
//! ```
//! use millrace::prelude::*;
//!
//! /// Writes a greeting: a function component with one output and one parameter.
//! #[millrace::component]
//! async fn greet(greeting: Output<Dataset>, name: String) -> Result<(), ComponentError> {
//!     std::fs::write(greeting.uri().join("greeting.txt"), format!("hello, {name}"))?;
//!     Ok(())
//! }
//!
//! /// Counts the words of a greeting: a command component, run as a subprocess.
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct CountWords;
//!
//! #[derive(millrace::Inputs)]
//! struct CountWordsInputs {
//!     text: Channel<Dataset>,
//! }
//!
//! #[derive(millrace::Outputs)]
//! struct CountWordsOutputs {
//!     counts: Channel<Metrics>,
//! }
//!
//! impl Component for CountWords {
//!     const KIND: &'static str = "doc.CountWords";
//!     type Inputs = CountWordsInputs;
//!     type Outputs = CountWordsOutputs;
//!     fn execution(&self) -> Executor<'_> {
//!         Executor::Command(CommandSpec::new(["sh", "-c"]).args([
//!             "wc -w < {{inputs.text.uri}}/greeting.txt > {{outputs.counts.uri}}/words.txt",
//!         ]))
//!     }
//! }
//!
//! fn pipeline() -> Result<Pipeline, BuildError> {
//!     let mut p = Pipeline::builder("hello");
//!     let who = p.param("who", "world".to_string());
//!     let greeting = p.add("greet", Greet::new(&who));
//!     p.add("count_words", CountWords.with_inputs(CountWordsInputs { text: greeting.greeting }));
//!     p.build()
//! }
//!
//! let pipeline = pipeline()?;
//! assert_eq!(pipeline.spec().nodes.len(), 2);
//! # Ok::<(), BuildError>(())
//! ```
//!
//! The crates behind the facade: `millrace-core` (artifacts, channels, components, builder,
//! IR), `millrace-macros` (derives and `#[component]`), `millrace-cli` (the command line) and,
//! with the default `metadata` feature, `millrace-metadata` as [`metadata`] (the ML-Metadata
//! store on SQLite or PostgreSQL) and, with the default `data` feature, `millrace-components`
//! as [`components`] (CsvExampleGen, StatisticsGen, SchemaGen, ExampleValidator, Transform).

pub use millrace_core::*;
pub use millrace_macros::{Artifact, Inputs, Outputs, component};

/// `#[millrace::async_trait]`, for implementing [`Execute`] by hand.
pub use async_trait::async_trait;

/// The metadata store: ML-Metadata's model and format, lineage, caching, garbage collection.
#[cfg(feature = "metadata")]
pub use millrace_metadata as metadata;

/// The standard components: ingestion, statistics, schema, validation and transform (feature
/// `data`), with the formats they share under [`components::data`].
#[cfg(any(feature = "data", feature = "model"))]
pub use millrace_components as components;

/// The tabular data library under the data components, usable without a pipeline: CSV, the
/// Examples format, statistics, schemas, validation, transform graphs, reports (feature `data`).
#[cfg(feature = "data")]
pub use millrace_tabular as tabular;

/// Apache Airflow 3 export: DAG files whose tasks run the pipeline's binary
/// (`compile --target airflow`).
pub use millrace_airflow as airflow;

/// The command line every pipeline binary gets: `millrace::cli::main(pipeline).await`.
pub mod cli {
    pub use millrace_cli::*;
}

/// The names a pipeline author needs, in one `use`.
pub mod prelude {
    pub use millrace_core::prelude::*;
    pub use millrace_core::{BuildError, RuntimeParameter};
    pub use millrace_macros::{Artifact, Inputs, Outputs, component};
}
