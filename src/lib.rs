//! # Millrace
//!
//! Machine-learning pipelines as code, in Rust: typed components wired by typed channels,
//! ML-Metadata lineage, and one binary that runs locally or on Airflow, Argo and Kubeflow.
//!
//! A pipeline is an ordinary program. Components are added to a builder, which hands back
//! their outputs as typed channels; wiring a model where examples are expected does not
//! compile. `build()` turns the typed pipeline into a validated, fingerprinted IR, and
//! `cli::main` gives the binary its command line (`run`, `run-node`, `compile`, `graph`,
//! `runs`, `artifacts`, `lineage`, `cache explain`).
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
//! ## Features
//!
//! Every part beyond the core is a feature, on by default, so that a library that only
//! defines components — or a binary that only compiles pipelines — pays for nothing else:
//!
//! | feature | gives | pulls in |
//! |---|---|---|
//! | (always) | the core (`millrace-core`): artifacts, channels, components, the builder, the IR ([`spec`]), validation, graphs; the macros | serde, petgraph, blake3 |
//! | `metadata` | [`metadata`]: the ML-Metadata store on SQLite or PostgreSQL | rusqlite (bundled SQLite), postgres |
//! | `runner` | [`runner`]: the node launcher, the local runner, the run history | `metadata`, tokio |
//! | `cli` | [`cli`]: the command line of every pipeline binary | `runner`, clap |
//! | `airflow` | [`airflow`]: Airflow 3 DAG export, `compile --target airflow` | — |
//! | `kfp` | [`kfp`]: Kubeflow Pipelines v2 / Vertex AI export, `compile --target kfp` | — |
//! | `argo` | [`argo`]: Argo Workflows export, `compile --target argo` | — |
//! | `server` | [`server`]: MLflow's REST API on the store, `serve`; the tracking server a run starts for its command nodes | `metadata`, axum |
//! | `containers` | [`containers`]: the pipeline's image (`image build`) and `run --containers` with podman or docker | `runner` |
//! | `kubernetes` | [`kubernetes`]: Jobs per node (`run --on kubernetes`), `compile --target kubernetes` | kube, k8s-openapi (`latest`) |
//! | `data` | [`components`]: CsvExampleGen, StatisticsGen, SchemaGen, ExampleValidator, Transform | Arrow, Parquet |
//! | `model` | [`components::model`]: Trainer, Tuner, Evaluator, InfraValidator, Pusher, BulkInferrer, Python trainers | `data`, smartcore |
//!
//! `cargo build -p millrace --no-default-features` builds the core alone (CI checks that it
//! pulls in none of rusqlite, postgres, arrow, parquet or smartcore).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub use millrace_core::*;
pub use millrace_macros::{Artifact, Inputs, Outputs, component};

/// `#[millrace::async_trait]`, for implementing [`Execute`] by hand.
pub use async_trait::async_trait;

/// The metadata store: ML-Metadata's model and format, lineage, caching, garbage collection.
#[cfg(feature = "metadata")]
#[cfg_attr(docsrs, doc(cfg(feature = "metadata")))]
pub use millrace_metadata as metadata;

/// The node launcher, the local runner and the run history.
#[cfg(feature = "runner")]
#[cfg_attr(docsrs, doc(cfg(feature = "runner")))]
pub use millrace_runner as runner;

/// Artifact roots: local directories and object stores (S3, Cloud Storage, Azure Blob), with
/// manifests and verified downloads.
#[cfg(feature = "runner")]
#[cfg_attr(docsrs, doc(cfg(feature = "runner")))]
pub use millrace_storage as storage;

/// The standard components: ingestion, statistics, schema, validation and transform (feature
/// `data`), and the model components (feature `model`), with the formats they share under
/// [`components::data`].
#[cfg(feature = "data")]
#[cfg_attr(docsrs, doc(cfg(feature = "data")))]
pub use millrace_components as components;

/// The tabular data library under the data components, usable without a pipeline: CSV, the
/// Examples format, statistics, schemas, validation, transform graphs, reports (feature `data`).
#[cfg(feature = "data")]
#[cfg_attr(docsrs, doc(cfg(feature = "data")))]
pub use millrace_tabular as tabular;

/// Apache Airflow 3 export: DAG files whose tasks run the pipeline's binary
/// (`compile --target airflow`).
#[cfg(feature = "airflow")]
#[cfg_attr(docsrs, doc(cfg(feature = "airflow")))]
pub use millrace_airflow as airflow;

/// Kubeflow Pipelines v2 and Vertex AI Pipelines export: a `PipelineSpec` whose tasks run the
/// pipeline's binary, and schedules as recurring runs (`compile --target kfp`).
#[cfg(feature = "kfp")]
#[cfg_attr(docsrs, doc(cfg(feature = "kfp")))]
pub use millrace_kfp as kfp;

/// MLflow's tracking, artifact and model-registry REST API on a Millrace store (`serve`).
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use millrace_server as server;

/// Argo Workflows export: a Workflow, WorkflowTemplate or CronWorkflow whose DAG tasks run the
/// pipeline's binary (`compile --target argo`).
#[cfg(feature = "argo")]
#[cfg_attr(docsrs, doc(cfg(feature = "argo")))]
pub use millrace_argo as argo;

/// Containers with podman or docker: the image of a pipeline binary and a dispatcher that runs
/// each component node's `run-node` in a container (`image build`, `run --containers`).
#[cfg(feature = "containers")]
#[cfg_attr(docsrs, doc(cfg(feature = "containers")))]
pub use millrace_containers as containers;
/// The Kubernetes runner: each component node's attempt as a Job running the pipeline's own
/// binary (`run --on kubernetes`), and the manifests of `compile --target kubernetes`.
#[cfg(feature = "kubernetes")]
#[cfg_attr(docsrs, doc(cfg(feature = "kubernetes")))]
pub use millrace_kubernetes as kubernetes;

/// The command line every pipeline binary gets: `millrace::cli::main(pipeline).await`.
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli {
    pub use millrace_cli::*;
}

/// The README and the guides in `docs/`, whose code blocks `cargo test --doc` compiles (and
/// runs, unless marked `no_run`) like every other example in the crate docs.
#[cfg(all(doctest, feature = "cli", feature = "model", feature = "airflow"))]
mod guides {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/concepts.md")]
    struct Concepts;
    #[doc = include_str!("../docs/architecture.md")]
    struct Architecture;
    #[doc = include_str!("../docs/metadata.md")]
    struct Metadata;
    #[doc = include_str!("../docs/benchmarks.md")]
    struct Benchmarks;
    #[doc = include_str!("../docs/components/data.md")]
    struct DataComponents;
    #[doc = include_str!("../docs/components/model.md")]
    struct ModelComponents;
    #[doc = include_str!("../docs/runners/airflow.md")]
    struct Airflow;
    #[doc = include_str!("../docs/runners/containers.md")]
    struct Containers;
    #[doc = include_str!("../docs/runners/kubeflow.md")]
    struct Kubeflow;
    #[doc = include_str!("../docs/runners/argo.md")]
    struct Argo;
    #[doc = include_str!("../docs/storage.md")]
    struct Storage;
    #[doc = include_str!("../docs/tracking.md")]
    struct Tracking;
    #[doc = include_str!("../docs/schedules.md")]
    struct Schedules;
    #[doc = include_str!("../docs/operations.md")]
    struct Operations;
    #[doc = include_str!("../docs/fuzzing.md")]
    struct Fuzzing;
    #[cfg(feature = "server")]
    #[doc = include_str!("../docs/ui.md")]
    struct WebUi;
    #[cfg(feature = "kubernetes")]
    #[doc = include_str!("../docs/runners/kubernetes.md")]
    struct Kubernetes;
}

/// The names a pipeline author needs, in one `use`.
pub mod prelude {
    pub use millrace_core::prelude::*;
    pub use millrace_core::{BuildError, RuntimeParameter};
    pub use millrace_macros::{Artifact, Inputs, Outputs, component};
}
