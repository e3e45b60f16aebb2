//! What a run records for experiment tracking, on the store's tracking tables
//! ([`millrace_metadata::tracking`]):
//!
//! - the pipeline run is a tracked run (id = the run's id) of the pipeline's experiment (or of
//!   a named one), with the runtime parameters as its parameters and where it came from as its
//!   tags: the git commit and whether the tree was dirty, the binary's digest, the pipeline's
//!   fingerprint, the user and the host ([`Provenance`]);
//! - a node attempt that tracks something — metrics, stepped curves, parameters, tags, files —
//!   is a run nested under it, recording the attempt's execution; a command node's attempt is
//!   one from its start when a tracking server is known, so that the `mlflow` client inside it
//!   logs into it (`MLFLOW_TRACKING_URI`, `MLFLOW_RUN_ID`);
//! - each node's latest metrics are copied onto the pipeline run as `<node>.<metric>`, so that
//!   pipeline runs compare and search by them (`metrics.evaluator.rmse < 4`).
//!
//! Tracking never fails a node: a write that fails is logged and the run goes on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use millrace_core::{MetricStep, Tracked};
use millrace_metadata::tracking::{
    LogBatch, MAX_BATCH_METRICS, MAX_BATCH_PARAMS_AND_TAGS, Metric, MetricPoint, NewRun, RunStatus,
    RunSubject, RunUpdate,
};
use millrace_metadata::{MetadataError, MetadataStore};
use serde_json::Value as Json;

use crate::error::Result;
use crate::record::RunRecord;
use crate::state::RunState;

/// The tag naming a nested run's node.
pub const NODE_TAG: &str = "millrace.node";
/// The tag naming a nested run's attempt (from 0).
pub const ATTEMPT_TAG: &str = "millrace.attempt";
/// The environment variable that names a named experiment for the runs this process starts.
pub const EXPERIMENT_VARIABLE: &str = "MILLRACE_EXPERIMENT";

/// The id of a pipeline run's tracked run: the run's own id when it is one MLflow accepts
/// (Millrace's are), otherwise — an engine's id like Airflow's
/// `manual__2026-12-04T18:44:43.201150+00:00` — the id with every other character made `_`
/// and a digest of the original appended, the same in every task of the run.
pub fn tracked_run_id(run_id: &str) -> String {
    if millrace_metadata::tracking::check_run_id(run_id).is_ok() {
        return run_id.to_owned();
    }
    let cleaned: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    let digest = blake3::hash(run_id.as_bytes()).to_hex();
    format!("r{cleaned}-{}", &digest[..8])
}

/// Where a run came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// Who ran it.
    pub user: String,
    /// On which machine.
    pub host: String,
    /// The binary that ran it.
    pub binary: String,
    /// BLAKE3 of the binary's bytes (empty when it cannot be read).
    pub binary_digest: String,
    /// The commit of the git work tree the binary ran in, if any.
    pub git_commit: Option<String>,
    /// Whether that tree had uncommitted changes to tracked files.
    pub git_dirty: Option<bool>,
}

impl Provenance {
    /// This process's provenance, found once.
    pub fn of_this_process() -> &'static Provenance {
        static FOUND: OnceLock<Provenance> = OnceLock::new();
        FOUND.get_or_init(Provenance::detect)
    }

    fn detect() -> Provenance {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".to_owned());
        let binary = std::env::current_exe().unwrap_or_default();
        let binary_digest = digest_file(&binary).unwrap_or_default();
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .stderr(std::process::Stdio::null())
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let git_commit = git(&["rev-parse", "HEAD"]).filter(|commit| !commit.is_empty());
        let git_dirty = git_commit.as_ref().and_then(|_| {
            git(&["status", "--porcelain", "--untracked-files=no"]).map(|text| !text.is_empty())
        });
        Provenance {
            user,
            host,
            binary: binary.display().to_string(),
            binary_digest,
            git_commit,
            git_dirty,
        }
    }

    /// The tags that say it, in MLflow's names where MLflow has one.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::from([
            ("mlflow.user".to_owned(), self.user.clone()),
            ("mlflow.source.type".to_owned(), "LOCAL".to_owned()),
            ("mlflow.source.name".to_owned(), self.binary.clone()),
            ("millrace.host".to_owned(), self.host.clone()),
        ]);
        if !self.binary_digest.is_empty() {
            tags.insert(
                "millrace.binary.blake3".to_owned(),
                self.binary_digest.clone(),
            );
        }
        if let Some(commit) = &self.git_commit {
            tags.insert("mlflow.source.git.commit".to_owned(), commit.clone());
        }
        if let Some(dirty) = self.git_dirty {
            tags.insert("millrace.git.dirty".to_owned(), dirty.to_string());
        }
        tags
    }
}

fn digest_file(path: &Path) -> Option<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path).ok()?).ok()?;
    Some(hasher.finalize().to_hex().to_string())
}

/// A parameter's value as MLflow keeps it: a string, unquoted.
pub fn parameter_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Writes `params`, `tags` and `metrics` into run `run_id` in batches within MLflow's limits.
pub async fn log_in_batches(
    store: &dyn MetadataStore,
    run_id: &str,
    params: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
    metrics: &[Metric],
) -> std::result::Result<(), MetadataError> {
    let entries: Vec<(bool, &String, &String)> = params
        .iter()
        .map(|(key, value)| (true, key, value))
        .chain(tags.iter().map(|(key, value)| (false, key, value)))
        .collect();
    for chunk in entries.chunks(MAX_BATCH_PARAMS_AND_TAGS) {
        let mut batch = LogBatch::default();
        for (is_param, key, value) in chunk {
            let pair = ((*key).clone(), (*value).clone());
            if *is_param {
                batch.params.push(pair);
            } else {
                batch.tags.push(pair);
            }
        }
        store.log_batch(run_id, &batch).await?;
    }
    for chunk in metrics.chunks(MAX_BATCH_METRICS) {
        let batch = LogBatch {
            metrics: chunk.to_vec(),
            ..LogBatch::default()
        };
        store.log_batch(run_id, &batch).await?;
    }
    Ok(())
}

/// Starts the pipeline run's tracked run; returns its experiment's id. `experiment` names a
/// named experiment (made if new); `None` is the pipeline's own.
pub async fn start_pipeline_run(
    store: &dyn MetadataStore,
    record: &RunRecord,
    experiment: Option<&str>,
) -> Result<i64> {
    let experiment_id = match experiment.filter(|name| !name.trim().is_empty()) {
        Some(name) => match store.get_experiment_by_name(name).await? {
            Some(found) => found.experiment_id,
            None => {
                store
                    .create_experiment(&millrace_metadata::tracking::NewExperiment {
                        name: name.to_owned(),
                        ..Default::default()
                    })
                    .await?
                    .experiment_id
            }
        },
        None => {
            store
                .pipeline_experiment(record.pipeline_context, &record.pipeline)
                .await?
                .experiment_id
        }
    };
    let provenance = Provenance::of_this_process();
    let mut tags = provenance.tags();
    tags.insert("millrace.pipeline".to_owned(), record.pipeline.clone());
    tags.insert(
        "millrace.fingerprint".to_owned(),
        record.fingerprint.clone(),
    );
    let mut request = NewRun::started_by(
        provenance.user.clone(),
        experiment_id,
        RunSubject::PipelineRun(record.run_context),
    );
    request.run_id = Some(tracked_run_id(&record.run_id));
    request.name = Some(record.run_id.clone());
    request.tags = tags;
    match store.create_run(&request).await {
        Ok(_) => {}
        // Another task of the same run made it first.
        Err(MetadataError::AlreadyExists(_)) => return Ok(experiment_id),
        Err(error) => return Err(error.into()),
    }
    let params = record
        .parameters
        .iter()
        .map(|(name, value)| (name.clone(), parameter_text(value)))
        .collect();
    log_in_batches(
        store,
        &tracked_run_id(&record.run_id),
        &params,
        &BTreeMap::new(),
        &[],
    )
    .await?;
    Ok(experiment_id)
}

/// The experiment of a run that exists; a run from before tracking gets its tracked run now.
pub async fn pipeline_run_experiment(store: &dyn MetadataStore, record: &RunRecord) -> Result<i64> {
    match store.get_run(&tracked_run_id(&record.run_id)).await {
        Ok(run) => Ok(run.info.experiment_id),
        Err(MetadataError::NotFound { .. }) => start_pipeline_run(store, record, None).await,
        Err(error) => Err(error.into()),
    }
}

/// Ends the pipeline run's tracked run with the run's state.
pub async fn end_pipeline_run(store: &dyn MetadataStore, run_id: &str, state: RunState) {
    let status = match state {
        RunState::Succeeded => RunStatus::Finished,
        RunState::Failed => RunStatus::Failed,
        RunState::Interrupted => RunStatus::Killed,
        _ => return,
    };
    let update = RunUpdate {
        status: Some(status),
        ..RunUpdate::default()
    };
    if let Err(error) = store.update_run(&tracked_run_id(run_id), &update).await {
        tracing::warn!(%run_id, %error, "could not end the run's tracked run");
    }
}

/// Starts the nested run of a node's attempt; returns its id.
pub async fn start_node_run(
    store: &dyn MetadataStore,
    record: &RunRecord,
    node: &str,
    execution_id: i64,
    attempt: u32,
) -> std::result::Result<String, MetadataError> {
    let mut request = NewRun::started_by(
        Provenance::of_this_process().user.clone(),
        record.experiment_id,
        RunSubject::Execution(execution_id),
    );
    request.name = Some(if attempt == 0 {
        node.to_owned()
    } else {
        format!("{node} (attempt {})", attempt + 1)
    });
    request.parent_run_id = Some(tracked_run_id(&record.run_id));
    request.tags = BTreeMap::from([
        (NODE_TAG.to_owned(), node.to_owned()),
        (ATTEMPT_TAG.to_owned(), attempt.to_string()),
    ]);
    Ok(store.create_run(&request).await?.info.run_id)
}

/// What an attempt tracked, to record when it ends.
pub struct AttemptTracking<'a> {
    /// The node (or shard task).
    pub node: &'a str,
    /// The attempt's execution.
    pub execution_id: i64,
    /// Which attempt (from 0).
    pub attempt: u32,
    /// The nested run started with the attempt, if one was.
    pub run_id: Option<String>,
    /// The execution's metrics (latest values).
    pub metrics: &'a BTreeMap<String, f64>,
    /// Curves, parameters, tags and files.
    pub tracked: &'a Tracked,
    /// Whether it succeeded.
    pub succeeded: bool,
}

/// Records an attempt's tracking at its end; returns the nested run's id, if it has one.
/// Failures are logged, never returned: tracking does not fail a node.
pub async fn finish_node_run(
    store: &dyn MetadataStore,
    record: &RunRecord,
    storage: &millrace_storage::ArtifactStorage,
    attempt: AttemptTracking<'_>,
) -> Option<String> {
    match record_attempt(store, record, storage, &attempt).await {
        Ok(run_id) => run_id,
        Err(error) => {
            tracing::warn!(node = attempt.node, %error, "could not record the node's tracking");
            attempt.run_id
        }
    }
}

async fn record_attempt(
    store: &dyn MetadataStore,
    record: &RunRecord,
    storage: &millrace_storage::ArtifactStorage,
    attempt: &AttemptTracking<'_>,
) -> std::result::Result<Option<String>, String> {
    let has_data = !attempt.metrics.is_empty() || !attempt.tracked.is_empty();
    let run_id = match (&attempt.run_id, has_data) {
        (Some(run_id), _) => run_id.clone(),
        (None, true) => start_node_run(
            store,
            record,
            attempt.node,
            attempt.execution_id,
            attempt.attempt,
        )
        .await
        .map_err(|error| error.to_string())?,
        (None, false) => return Ok(None),
    };
    let now = now_ms();
    let mut points: Vec<Metric> = Vec::new();
    for (key, curve) in &attempt.tracked.curves {
        points.extend(curve.iter().map(|step: &MetricStep| Metric {
            key: key.clone(),
            point: MetricPoint {
                value: step.value,
                timestamp: step.timestamp,
                step: step.step,
            },
        }));
    }
    for (key, value) in attempt.metrics {
        if !attempt.tracked.curves.contains_key(key) {
            points.push(Metric {
                key: key.clone(),
                point: MetricPoint {
                    value: *value,
                    timestamp: now,
                    step: 0,
                },
            });
        }
    }
    log_in_batches(
        store,
        &run_id,
        &attempt.tracked.params,
        &attempt.tracked.tags,
        &points,
    )
    .await
    .map_err(|error| error.to_string())?;
    if !attempt.tracked.files.is_empty() {
        keep_files(store, storage, &run_id, &attempt.tracked.files).await?;
    }
    let status = if attempt.succeeded {
        RunStatus::Finished
    } else {
        RunStatus::Failed
    };
    store
        .update_run(
            &run_id,
            &RunUpdate {
                status: Some(status),
                end_time: Some(now),
                name: None,
            },
        )
        .await
        .map_err(|error| error.to_string())?;
    // The node's latest metrics (its own and what a script logged through the API) on the
    // pipeline run, under `<node>.<metric>`.
    let latest = store
        .get_run(&run_id)
        .await
        .map_err(|error| error.to_string())?
        .metrics;
    let on_pipeline: Vec<Metric> = latest
        .into_iter()
        .map(|(key, point)| Metric {
            key: format!("{}.{key}", attempt.node),
            point,
        })
        .collect();
    log_in_batches(
        store,
        &tracked_run_id(&record.run_id),
        &BTreeMap::new(),
        &BTreeMap::new(),
        &on_pipeline,
    )
    .await
    .map_err(|error| error.to_string())?;
    Ok(Some(run_id))
}

/// Writes a run's files under the artifact root where the run's `artifact_uri` points
/// (`mlflow-artifacts:/P` is `<root>/P`).
async fn keep_files(
    store: &dyn MetadataStore,
    storage: &millrace_storage::ArtifactStorage,
    run_id: &str,
    files: &BTreeMap<String, Vec<u8>>,
) -> std::result::Result<(), String> {
    let run = store
        .get_run(run_id)
        .await
        .map_err(|error| error.to_string())?;
    let relative = run
        .info
        .artifact_uri
        .strip_prefix("mlflow-artifacts:/")
        .ok_or_else(|| {
            format!(
                "run {run_id} keeps its files elsewhere ({})",
                run.info.artifact_uri
            )
        })?
        .to_owned();
    let staging = storage.work_dir().join("tracking-staging").join(run_id);
    for (name, contents) in files {
        millrace_metadata::tracking::check_key("file", name).map_err(|error| error.to_string())?;
        let path = staging.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| error.to_string())?;
        }
        std::fs::write(&path, contents).map_err(|error| error.to_string())?;
    }
    let parts: Vec<&str> = relative
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    let uri = storage.uri(parts);
    storage
        .publish(&staging, &uri)
        .await
        .map_err(|error| format!("keeping the run's files failed: {error}"))?;
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Puts a node's metrics on the pipeline run as `<node>.<metric>` (a cached node's, which
/// has no run of its own in this pipeline run). Logged, never returned, on failure.
pub async fn carry_metrics_to_pipeline_run(
    store: &dyn MetadataStore,
    record: &RunRecord,
    node: &str,
    metrics: &BTreeMap<String, f64>,
) {
    if metrics.is_empty() {
        return;
    }
    let now = now_ms();
    let points: Vec<Metric> = metrics
        .iter()
        .map(|(key, value)| Metric {
            key: format!("{node}.{key}"),
            point: MetricPoint {
                value: *value,
                timestamp: now,
                step: 0,
            },
        })
        .collect();
    let empty = BTreeMap::new();
    let pipeline_run = tracked_run_id(&record.run_id);
    if let Err(error) = log_in_batches(store, &pipeline_run, &empty, &empty, &points).await {
        tracing::warn!(%node, %error, "could not put the node's metrics on the run");
    }
}

/// The run of node `node`'s latest attempt in pipeline run `run_id`.
pub async fn node_run_of(
    store: &dyn MetadataStore,
    run_id: &str,
    node: &str,
) -> Result<millrace_metadata::tracking::TrackedRun> {
    let children = match store.child_runs(&tracked_run_id(run_id)).await {
        Ok(children) => children,
        Err(MetadataError::NotFound { .. }) => {
            return Err(crate::RunnerError::UnknownRun {
                run_id: run_id.to_owned(),
                store: store.location(),
            });
        }
        Err(error) => return Err(error.into()),
    };
    children
        .into_iter()
        .rev()
        .find(|run| run.tags.get(NODE_TAG).is_some_and(|tagged| tagged == node))
        .ok_or_else(|| crate::RunnerError::UnknownRun {
            run_id: format!("{run_id} (node `{node}` tracked nothing in it)"),
            store: store.location(),
        })
}

/// Whether any node of `pipeline` runs a command (a Python trainer, a container): what needs
/// a tracking server during a run. A component that cannot be built from the parameters'
/// defaults counts as one.
pub fn has_command_nodes(pipeline: &millrace_core::Pipeline) -> bool {
    use millrace_core::Executor;
    use millrace_core::spec::TaskSpec;
    let defaults: BTreeMap<String, Json> = pipeline
        .spec()
        .parameters
        .iter()
        .map(|parameter| {
            (
                parameter.name.clone(),
                parameter.default.clone().unwrap_or(Json::Null),
            )
        })
        .collect();
    pipeline.spec().nodes.iter().any(|node| {
        matches!(node.task, TaskSpec::Component { .. })
            && pipeline
                .instantiate(&node.id, &defaults)
                .map_or(true, |component| {
                    matches!(component.execution(), Executor::Command(_))
                })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engines_run_id_becomes_a_valid_tracked_run_id_the_same_every_time() {
        assert_eq!(
            tracked_run_id("20261127T152300-3fa9c1"),
            "20261127T152300-3fa9c1"
        );
        let airflow = "manual__2026-12-04T18:44:43.201150+00:00";
        let tracked = tracked_run_id(airflow);
        assert!(
            millrace_metadata::tracking::check_run_id(&tracked).is_ok(),
            "{tracked}"
        );
        assert_eq!(tracked, tracked_run_id(airflow));
        assert_ne!(
            tracked,
            tracked_run_id("manual__2026-12-04T18:44:43.201150-00:00")
        );
    }
}
