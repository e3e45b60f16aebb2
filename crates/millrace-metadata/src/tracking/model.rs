//! The tracking model: experiments, runs, their parameters, tags and metric points — MLflow's
//! vocabulary, kept beside ML-Metadata's records (see the [module](super) doc for the mapping).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{MetadataError, Result};

/// Where a run is in its life, in MLflow's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Going on.
    Running,
    /// Waiting to start.
    Scheduled,
    /// Ended well.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped from outside (Ctrl-C, a SIGKILL seen by the next process, a cancel).
    Killed,
}

impl RunStatus {
    /// The wire spelling: `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`, `KILLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Whether the run has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = MetadataError;

    fn from_str(text: &str) -> Result<Self> {
        Ok(match text {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            other => {
                return Err(MetadataError::InvalidArgument(format!(
                    "run status `{other}` is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"
                )));
            }
        })
    }
}

/// Whether an experiment or a run is in use or deleted (and restorable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// In use.
    Active,
    /// Deleted: hidden from searches by default, restorable.
    Deleted,
}

impl LifecycleStage {
    /// The wire spelling: `active`, `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }

    pub(crate) fn parse(text: &str) -> LifecycleStage {
        if text == "deleted" {
            LifecycleStage::Deleted
        } else {
            LifecycleStage::Active
        }
    }
}

/// Which runs or experiments a search returns, by lifecycle stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ViewType {
    /// Only active ones (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// The stages this view shows.
    pub(crate) fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

/// An experiment: a group of runs. Every pipeline is one (its `pipeline` context); a named
/// experiment (a `millrace.Experiment` context) can group runs of several pipelines and runs
/// started through MLflow's API. Experiment `0` is MLflow's `Default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its id (`0` is `Default`).
    pub experiment_id: i64,
    /// Its unique name.
    pub name: String,
    /// The ML-Metadata context that holds its runs' executions.
    pub context_id: i64,
    /// Where its runs' files go (`mlflow-artifacts:/mlflow/<id>` unless set).
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    /// Milliseconds since the epoch.
    pub last_update_time: i64,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// What a new experiment is called and holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewExperiment {
    /// The unique name.
    pub name: String,
    /// Where its runs' files go; `None` for the default.
    pub artifact_location: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// What a tracked run records, and which ML-Metadata record it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum RunSubject {
    /// A run started through the API (a training script): the store creates an execution of
    /// type [`TRACKED_RUN_EXECUTION`](super::TRACKED_RUN_EXECUTION) for it.
    NewExecution,
    /// An execution that exists: a node's attempt.
    Execution(i64),
    /// A pipeline run: its `pipeline_run` context.
    PipelineRun(i64),
}

/// Everything about a run but its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Its id: a pipeline run's id for a pipeline run, 32 hex digits otherwise.
    pub run_id: String,
    /// Its experiment.
    pub experiment_id: i64,
    /// Its display name (`mlflow.runName`).
    pub name: String,
    /// Who started it.
    pub user_id: String,
    /// Where it is in its life.
    pub status: RunStatus,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Milliseconds since the epoch, once ended.
    pub end_time: Option<i64>,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Where its files go: `mlflow-artifacts:/...`.
    pub artifact_uri: String,
    /// The run it is part of (a node's attempt is part of its pipeline run).
    pub parent_run_id: Option<String>,
    /// What it records.
    pub subject: RunSubject,
}

impl RunInfo {
    /// The ML-Metadata execution it records, if it records one.
    pub fn execution_id(&self) -> Option<i64> {
        match self.subject {
            RunSubject::Execution(id) => Some(id),
            _ => None,
        }
    }
}

/// One value of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The value (NaN and infinities allowed).
    pub value: f64,
    /// Milliseconds since the epoch when it was measured.
    pub timestamp: i64,
    /// The training step (0 when there are none).
    pub step: i64,
}

/// A metric's value under its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The metric's name.
    pub key: String,
    /// The point.
    #[serde(flatten)]
    pub point: MetricPoint,
}

/// A run with its data: parameters, tags and each metric's latest point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedRun {
    /// Who, where, when.
    pub info: RunInfo,
    /// Its parameters (immutable once logged).
    pub params: BTreeMap<String, String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Each metric's latest point (by step, then time, then value), by key.
    pub metrics: BTreeMap<String, MetricPoint>,
}

/// A run to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Its id; `None` for 32 new hex digits.
    pub run_id: Option<String>,
    /// Its experiment.
    pub experiment_id: i64,
    /// Its display name; `None` for one made from the id.
    pub name: Option<String>,
    /// Who starts it.
    pub user_id: String,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Its first tags.
    pub tags: BTreeMap<String, String>,
    /// The run it is part of.
    pub parent_run_id: Option<String>,
    /// What it records.
    pub subject: RunSubject,
}

/// Changes to a run's info.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunUpdate {
    /// A new status.
    pub status: Option<RunStatus>,
    /// When it ended.
    pub end_time: Option<i64>,
    /// A new display name.
    pub name: Option<String>,
}

/// Metrics, parameters and tags written at once: all of them or none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogBatch {
    /// Metric points.
    pub metrics: Vec<Metric>,
    /// Parameters: a key logged again must have the same value.
    pub params: Vec<(String, String)>,
    /// Tags: a key set again takes the new value.
    pub tags: Vec<(String, String)>,
}

impl LogBatch {
    /// A batch of one metric point.
    pub fn metric(key: impl Into<String>, value: f64, timestamp: i64, step: i64) -> Self {
        LogBatch {
            metrics: vec![Metric {
                key: key.into(),
                point: MetricPoint {
                    value,
                    timestamp,
                    step,
                },
            }],
            ..LogBatch::default()
        }
    }

    /// A batch of one parameter.
    pub fn param(key: impl Into<String>, value: impl Into<String>) -> Self {
        LogBatch {
            params: vec![(key.into(), value.into())],
            ..LogBatch::default()
        }
    }

    /// A batch of one tag.
    pub fn tag(key: impl Into<String>, value: impl Into<String>) -> Self {
        LogBatch {
            tags: vec![(key.into(), value.into())],
            ..LogBatch::default()
        }
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.params.is_empty() && self.tags.is_empty()
    }
}

/// A search for runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunSearch {
    /// The experiments to search (none: every experiment).
    pub experiment_ids: Vec<i64>,
    /// MLflow's filter grammar (`metrics.rmse < 4 and params.max_depth = '8'`); empty for all.
    pub filter: String,
    /// MLflow's order-by clauses (`metrics.rmse ASC`); newest first after them.
    pub order_by: Vec<String>,
    /// Which lifecycle stages.
    pub view: ViewType,
    /// At most this many runs (at most [`MAX_SEARCH_RESULTS`](super::MAX_SEARCH_RESULTS)).
    pub max_results: u32,
    /// Skip this many (the page token's offset).
    pub offset: u64,
    /// Only runs nested in no other (pipeline runs and scripts' runs, not node attempts).
    pub top_level_only: bool,
}

/// One page of a run search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunSearchPage {
    /// The runs, in order.
    pub runs: Vec<TrackedRun>,
    /// The offset of the next page, when there may be one.
    pub next_offset: Option<u64>,
}
