//! Experiment tracking on the metadata store: experiments, runs, parameters, tags and stepped
//! metric histories — MLflow's tracking model, kept in the store's own database beside
//! ML-Metadata's tables, so that one file holds lineage and training curves alike.
//!
//! | MLflow | here | ML-Metadata record |
//! |---|---|---|
//! | experiment | [`Experiment`] | a `pipeline` context (every pipeline is one), or a `millrace.Experiment` context (a name that groups runs across pipelines and scripts) |
//! | run of a pipeline | [`TrackedRun`] with [`RunSubject::PipelineRun`], id = the pipeline run's id | the `pipeline_run` context |
//! | run of a node | [`TrackedRun`] with [`RunSubject::Execution`], child of its pipeline run | the node attempt's execution |
//! | run started by a script | [`TrackedRun`] with [`RunSubject::NewExecution`] | a new `millrace.TrackedRun` execution, associated with the experiment's context |
//! | params, tags, latest metrics | tables `millrace_run_param`, `millrace_run_tag`, `millrace_latest_metric` | — |
//! | metric history | `millrace_metric_chunk`, 512 points a row (see `history.rs`) | — |
//!
//! Every write is one transaction: a batch is stored whole or not at all.
//!
//! ```
//! use millrace_metadata::connect;
//! use millrace_metadata::tracking::{LogBatch, NewExperiment, NewRun, RunSubject, TrackingStore};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = connect("memory://").await?;
//! let experiment = store
//!     .create_experiment(&NewExperiment { name: "forest".into(), ..NewExperiment::default() })
//!     .await?;
//! let run = store
//!     .create_run(&NewRun::started_by("ada", experiment.experiment_id, RunSubject::NewExecution))
//!     .await?;
//! for step in 0..100 {
//!     let loss = 1.0 / f64::from(step + 1);
//!     store.log_batch(&run.info.run_id, &LogBatch::metric("loss", loss, 0, i64::from(step))).await?;
//! }
//! store.log_batch(&run.info.run_id, &LogBatch::param("max_depth", "8")).await?;
//! let curve = store.metric_history(&run.info.run_id, "loss").await?;
//! assert_eq!(curve.len(), 100);
//! assert_eq!(store.get_run(&run.info.run_id).await?.metrics["loss"].step, 99);
//! # Ok::<(), millrace_metadata::MetadataError>(())
//! # }).unwrap();
//! ```

mod history;
mod model;
pub(crate) mod ops;
pub(crate) mod schema;
pub mod search;
mod validate;

use async_trait::async_trait;

pub use model::{
    Experiment, LifecycleStage, LogBatch, Metric, MetricPoint, NewExperiment, NewRun, RunInfo,
    RunSearch, RunSearchPage, RunStatus, RunSubject, RunUpdate, TrackedRun, ViewType,
};
pub use validate::{
    MAX_BATCH_ENTRIES, MAX_BATCH_METRICS, MAX_BATCH_PARAMS_AND_TAGS, MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH, check_batch, check_key, check_run_id, check_tag,
};

use crate::error::Result;

/// The context type of a named experiment.
pub const EXPERIMENT_CONTEXT: &str = "millrace.Experiment";
/// The execution type of a run started through the tracking API (by a script, not a node).
pub const TRACKED_RUN_EXECUTION: &str = "millrace.TrackedRun";
/// MLflow's experiment `0`.
pub const DEFAULT_EXPERIMENT: &str = "Default";
/// The most runs one search returns (MLflow's threshold).
pub const MAX_SEARCH_RESULTS: usize = 50_000;

/// Hex digits of a BLAKE3 hash of `bytes`.
pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

impl NewRun {
    /// A run of `experiment_id` started now by `user`, recording `subject`, with a new id.
    pub fn started_by(user: impl Into<String>, experiment_id: i64, subject: RunSubject) -> Self {
        NewRun {
            run_id: None,
            experiment_id,
            name: None,
            user_id: user.into(),
            start_time: crate::sql::ops::now_ms(),
            tags: std::collections::BTreeMap::new(),
            parent_run_id: None,
            subject,
        }
    }
}

/// Experiment tracking: what MLflow's tracking API does, on the metadata store. Every store
/// [`connect`](crate::connect) opens implements it.
#[async_trait]
pub trait TrackingStore: Send + Sync {
    /// Creates a named experiment; a name in use is [`AlreadyExists`](crate::MetadataError::AlreadyExists).
    async fn create_experiment(&self, request: &NewExperiment) -> Result<Experiment>;

    /// The experiment with this id (`0` is `Default`, made when first asked for).
    async fn get_experiment(&self, experiment_id: i64) -> Result<Experiment>;

    /// The experiment with this name, if any.
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>>;

    /// The experiment of a pipeline, by its `pipeline` context (made if new).
    async fn pipeline_experiment(&self, context_id: i64, name: &str) -> Result<Experiment>;

    /// Every experiment in `view`, by id.
    async fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>>;

    /// Renames an experiment and/or moves it to another lifecycle stage.
    async fn update_experiment(
        &self,
        experiment_id: i64,
        name: Option<&str>,
        stage: Option<LifecycleStage>,
    ) -> Result<Experiment>;

    /// Sets an experiment's tag.
    async fn set_experiment_tag(&self, experiment_id: i64, key: &str, value: &str) -> Result<()>;

    /// Starts a run.
    async fn create_run(&self, request: &NewRun) -> Result<TrackedRun>;

    /// A run with its parameters, tags and latest metrics.
    async fn get_run(&self, run_id: &str) -> Result<TrackedRun>;

    /// The run that records an execution, if any.
    async fn run_of_execution(&self, execution_id: i64) -> Result<Option<RunInfo>>;

    /// The runs nested under a run (a pipeline run's node attempts), oldest first.
    async fn child_runs(&self, run_id: &str) -> Result<Vec<TrackedRun>>;

    /// Changes a run's status, end time or name.
    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo>;

    /// Deletes or restores a run.
    async fn set_run_lifecycle(&self, run_id: &str, stage: LifecycleStage) -> Result<()>;

    /// Writes metrics, parameters and tags: all of them, or none and an error.
    async fn log_batch(&self, run_id: &str, batch: &LogBatch) -> Result<()>;

    /// Removes a run's tag.
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()>;

    /// Every point of a run's metric, by step.
    async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>>;

    /// One page of the runs matching a search.
    async fn search_runs(&self, search: &RunSearch) -> Result<RunSearchPage>;
}
