//! Mirroring a Millrace run into an existing MLflow server, for teams that keep one
//! (`run --mlflow URL`, `runs mirror RUN_ID --mlflow URL`).
//!
//! What lands there, through MLflow's own REST API:
//!
//! - the pipeline run as a run of the experiment of the same name (made if new): its
//!   parameters, tags (where it came from: commit, binary, user, host) and every node's
//!   metrics as `<node>.<metric>`; the state and one-line summary of each node as tags
//!   `millrace.state.<node>` and `millrace.summary.<node>`;
//! - each node attempt that tracked something as a nested run (`mlflow.parentRunId`), with
//!   its whole metric histories (a training curve keeps every step) and its files;
//! - the HTML reports of the run's nodes (statistics, anomalies, evaluation) as files of the
//!   pipeline run under `reports/<node>/`;
//! - the model versions registered in the run: the model's files under the registering run's
//!   `models/<name>/<version>`, a version of the registered model of the same name whose
//!   source they are, with the local aliases and stage; the local version number, approval
//!   and Model artifact are tags (`millrace.version`, `millrace.approval`,
//!   `millrace.artifact_id`). The server numbers its versions itself.
//!
//! **Once, and never half.** Every mirrored run carries the tag `millrace.run_id`; the
//! pipeline run gets `millrace.mirror = complete` as the last write. Mirroring a run that is
//! already complete there writes nothing and says so; a mirror that stopped half-way (the
//! server went away) is marked FAILED, and the next attempt deletes it — its runs and the
//! versions they registered — before it starts again.
//!
//! Cost: one `runs/create` and `runs/update` per mirrored run, one `log-batch` per 100
//! parameters, 100 tags and 800 metric points (MLflow's limits), one `PUT` per file. Files are
//! read whole.
//!
//! ```no_run
//! use millrace_server::mirror::{MirrorSource, MlflowClient, mirror_run};
//!
//! # async fn example(pipeline: &millrace_core::Pipeline) -> Result<(), Box<dyn std::error::Error>> {
//! let store = millrace_metadata::connect("sqlite://.millrace/metadata.sqlite").await?;
//! let storage = millrace_storage::ArtifactStorage::open(".millrace/artifacts")?;
//! let client = MlflowClient::new("http://mlflow.internal:5000")?;
//! let source = MirrorSource { store: &*store, storage: &storage, pipeline };
//! let report = mirror_run(source, "20261204T202704-6f9ab8", &client).await?;
//! println!("{} ({} metric points)", report.run_url, report.metric_points);
//! # Ok(())
//! # }
//! ```

mod client;
mod files;
mod registry;

use std::collections::BTreeMap;

use millrace_core::Pipeline;
use millrace_metadata::tracking::TrackedRun;
use millrace_metadata::{EventQuery, EventType, MetadataStore, NodeQuery};
use millrace_runner::history::RunHistory;
use millrace_runner::tracking::tracked_run_id;
use millrace_storage::ArtifactStorage;
use serde::Serialize;
use serde_json::{Value, json};

pub use client::MlflowClient;
pub use registry::MirroredVersion;

use crate::error::ServerError;
use crate::mlflow::shapes::metric_value;

/// The tag with the Millrace run id of a mirrored run.
pub const RUN_ID_TAG: &str = "millrace.run_id";
/// The tag the mirror sets to `complete` on the pipeline run as its last write.
pub const MIRROR_TAG: &str = "millrace.mirror";
/// MLflow's tag naming a nested run's parent.
const PARENT_TAG: &str = "mlflow.parentRunId";
/// `log-batch` takes at most this many parameters, and as many tags,
const BATCH_KEYS: usize = 100;
/// and at most this many entries in all.
const BATCH_ENTRIES: usize = 1000;
/// Tag values are cut to this many characters (MLflow 2's limit; 3 takes 8,000).
const TAG_VALUE_CHARS: usize = 5000;

/// What a mirror did.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MirrorReport {
    /// The MLflow server.
    pub url: String,
    /// The experiment there.
    pub experiment_id: String,
    /// The pipeline run there.
    pub run_id: String,
    /// The run in the server's web UI.
    pub run_url: String,
    /// The run was mirrored before: nothing was written.
    pub already_mirrored: bool,
    /// Runs made there (the pipeline run and its nested runs).
    pub runs: usize,
    /// Parameters logged.
    pub params: usize,
    /// Metric points logged.
    pub metric_points: usize,
    /// Files uploaded.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The model versions registered there.
    pub versions: Vec<MirroredVersion>,
}

/// Where the mirror reads from: the store, the artifact root and the pipeline.
#[derive(Clone, Copy)]
pub struct MirrorSource<'a> {
    /// The metadata store the run is in.
    pub store: &'a dyn MetadataStore,
    /// Its artifact root.
    pub storage: &'a ArtifactStorage,
    /// The pipeline that ran.
    pub pipeline: &'a Pipeline,
}

/// Mirrors run `run_id` of `source` into the MLflow server of `client`.
///
/// # Errors
///
/// [`ServerError::Mirror`] when the run cannot be read here; [`ServerError::Unreachable`],
/// [`ServerError::Refused`] or [`ServerError::ArtifactStore`] when the server does not take
/// it — then what was written there is marked FAILED, and the next mirror replaces it.
pub async fn mirror_run(
    source: MirrorSource<'_>,
    run_id: &str,
    client: &MlflowClient,
) -> Result<MirrorReport, ServerError> {
    let local_error = |reason: String| ServerError::Mirror {
        run_id: run_id.to_owned(),
        reason,
    };
    let details = RunHistory::new(source.store)
        .run(source.pipeline, run_id)
        .await
        .map_err(|error| local_error(error.to_string()))?;
    let tracked_id = tracked_run_id(run_id);
    let local = source
        .store
        .get_run(&tracked_id)
        .await
        .map_err(|error| local_error(format!("its tracked run: {error}")))?;
    let experiment = source
        .store
        .get_experiment(local.info.experiment_id)
        .await
        .map_err(|error| local_error(error.to_string()))?;
    let experiment_id = remote_experiment(client, &experiment.name).await?;
    let mut mirror = Mirror {
        source,
        client,
        report: MirrorReport {
            url: client.url(),
            experiment_id: experiment_id.clone(),
            ..MirrorReport::default()
        },
        run_id: run_id.to_owned(),
        remote_runs: BTreeMap::new(),
    };
    if let Some(done) = mirror.previous_mirror(&experiment_id, &tracked_id).await? {
        mirror.report.run_id = done;
        mirror.report.already_mirrored = true;
        mirror.report.run_url = mirror.run_url();
        return Ok(mirror.report);
    }
    let parent = mirror.create_run(&experiment_id, &local, None).await?;
    mirror.report.run_id.clone_from(&parent.run_id);
    mirror.report.run_url = mirror.run_url();
    let written = mirror
        .write(&experiment_id, &local, &parent, &details)
        .await;
    if let Err(error) = written {
        let failed = json!({"run_id": parent.run_id, "status": "FAILED"});
        if let Err(marking) = client.post("runs/update", &failed).await {
            tracing::warn!(%marking, "could not mark the half-written mirror FAILED");
        }
        return Err(error);
    }
    Ok(mirror.report)
}

/// The id of the experiment named `name` there, made if new.
async fn remote_experiment(client: &MlflowClient, name: &str) -> Result<String, ServerError> {
    let id_of = |reply: &Value| {
        reply["experiment"]["experiment_id"]
            .as_str()
            .or_else(|| reply["experiment_id"].as_str())
            .map(str::to_owned)
    };
    match client
        .get("experiments/get-by-name", &[("experiment_name", name)])
        .await
    {
        Ok(found) => {
            if found["experiment"]["lifecycle_stage"] == "deleted" {
                client
                    .post(
                        "experiments/restore",
                        &json!({"experiment_id": id_of(&found)}),
                    )
                    .await?;
            }
            return Ok(id_of(&found).unwrap_or_default());
        }
        Err(error) if client::is_code(&error, "RESOURCE_DOES_NOT_EXIST") => {}
        Err(error) => return Err(error),
    }
    match client
        .post("experiments/create", &json!({"name": name}))
        .await
    {
        Ok(made) => Ok(id_of(&made).unwrap_or_default()),
        // Made by another mirror meanwhile.
        Err(error) if client::is_code(&error, "RESOURCE_ALREADY_EXISTS") => Ok(id_of(
            &client
                .get("experiments/get-by-name", &[("experiment_name", name)])
                .await?,
        )
        .unwrap_or_default()),
        Err(error) => Err(error),
    }
}

/// A run made there.
#[derive(Debug, Clone)]
struct RemoteRun {
    run_id: String,
    artifact_uri: String,
}

struct Mirror<'a> {
    source: MirrorSource<'a>,
    client: &'a MlflowClient,
    report: MirrorReport,
    /// The Millrace run.
    run_id: String,
    /// Local tracked run id → the run made for it there.
    remote_runs: BTreeMap<String, RemoteRun>,
}

impl Mirror<'_> {
    fn run_url(&self) -> String {
        format!(
            "{}/#/experiments/{}/runs/{}",
            self.client.url(),
            self.report.experiment_id,
            self.report.run_id
        )
    }

    /// The run there that completely mirrors `tracked_id`, if one does; deletes half-written
    /// ones (and the versions they registered).
    async fn previous_mirror(
        &self,
        experiment_id: &str,
        tracked_id: &str,
    ) -> Result<Option<String>, ServerError> {
        let runs = self
            .search_runs(
                experiment_id,
                &format!("tags.`{RUN_ID_TAG}` = '{tracked_id}'"),
            )
            .await?;
        let mut half_written = Vec::new();
        for run in &runs {
            let tags = tags_of(run);
            if tags.contains_key(PARENT_TAG) {
                continue;
            }
            let id = run["info"]["run_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if tags
                .get(MIRROR_TAG)
                .is_some_and(|state| state == "complete")
            {
                return Ok(Some(id));
            }
            half_written.push(id);
        }
        for parent in half_written {
            self.delete_half_written(experiment_id, &parent).await?;
        }
        Ok(None)
    }

    /// The active runs of the experiment there that match `filter` (every page).
    async fn search_runs(
        &self,
        experiment_id: &str,
        filter: &str,
    ) -> Result<Vec<Value>, ServerError> {
        let mut runs = Vec::new();
        let mut page_token = String::new();
        loop {
            let mut request = json!({
                "experiment_ids": [experiment_id],
                "filter": filter,
                "run_view_type": "ACTIVE_ONLY",
                "max_results": 1000,
            });
            if !page_token.is_empty() {
                request["page_token"] = json!(page_token);
            }
            let page = self.client.post("runs/search", &request).await?;
            runs.extend(page["runs"].as_array().cloned().unwrap_or_default());
            match page["next_page_token"].as_str() {
                Some(token) if !token.is_empty() => page_token = token.to_owned(),
                _ => return Ok(runs),
            }
        }
    }

    /// Deletes a half-written mirror: the versions its runs registered, its nested runs, it.
    async fn delete_half_written(
        &self,
        experiment_id: &str,
        parent: &str,
    ) -> Result<(), ServerError> {
        let mut runs: Vec<String> = self
            .search_runs(experiment_id, &format!("tags.`{PARENT_TAG}` = '{parent}'"))
            .await?
            .iter()
            .filter_map(|run| run["info"]["run_id"].as_str().map(str::to_owned))
            .collect();
        runs.push(parent.to_owned());
        registry::delete_versions_of_runs(self.client, &runs).await?;
        for run_id in runs {
            self.client
                .post("runs/delete", &json!({"run_id": run_id}))
                .await?;
        }
        tracing::info!(run = %parent, "deleted a half-written mirror");
        Ok(())
    }

    /// Everything after the pipeline run's creation; the last write marks it complete.
    async fn write(
        &mut self,
        experiment_id: &str,
        local: &TrackedRun,
        parent: &RemoteRun,
        details: &millrace_runner::RunDetails,
    ) -> Result<(), ServerError> {
        self.fill_run(local, parent, &node_tags(details)).await?;
        let children = self
            .source
            .store
            .child_runs(&local.info.run_id)
            .await
            .map_err(|error| self.local_error(error.to_string()))?;
        for child in &children {
            let remote = self
                .create_run(experiment_id, child, Some(&parent.run_id))
                .await?;
            self.fill_run(child, &remote, &BTreeMap::new()).await?;
            self.end_run(child, &remote).await?;
        }
        self.upload_reports(parent, details).await?;
        let versions = registry::mirror_versions(self).await?;
        self.report.versions = versions;
        self.end_run(local, parent).await?;
        self.client
            .post(
                "runs/set-tag",
                &json!({"run_id": parent.run_id, "key": MIRROR_TAG, "value": "complete"}),
            )
            .await?;
        Ok(())
    }

    fn local_error(&self, reason: String) -> ServerError {
        ServerError::Mirror {
            run_id: self.run_id.clone(),
            reason,
        }
    }

    /// Makes the run for `local` there (nested under `parent`, when given).
    async fn create_run(
        &mut self,
        experiment_id: &str,
        local: &TrackedRun,
        parent: Option<&str>,
    ) -> Result<RemoteRun, ServerError> {
        let mut tags = vec![json!({"key": RUN_ID_TAG, "value": local.info.run_id})];
        if let Some(parent) = parent {
            tags.push(json!({"key": PARENT_TAG, "value": parent}));
        } else {
            tags.push(json!({"key": MIRROR_TAG, "value": "writing"}));
        }
        let made = self
            .client
            .post(
                "runs/create",
                &json!({
                    "experiment_id": experiment_id,
                    "run_name": local.info.name,
                    "user_id": local.info.user_id,
                    "start_time": local.info.start_time,
                    "tags": tags,
                }),
            )
            .await?;
        let info = &made["run"]["info"];
        let remote = RemoteRun {
            run_id: info["run_id"].as_str().unwrap_or_default().to_owned(),
            artifact_uri: info["artifact_uri"].as_str().unwrap_or_default().to_owned(),
        };
        self.report.runs += 1;
        self.remote_runs
            .insert(local.info.run_id.clone(), remote.clone());
        Ok(remote)
    }

    /// Logs `local`'s parameters, tags (and `extra_tags`), whole metric histories and files.
    async fn fill_run(
        &mut self,
        local: &TrackedRun,
        remote: &RemoteRun,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<(), ServerError> {
        let params: Vec<Value> = local
            .params
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        let tags: Vec<Value> = local
            .tags
            .iter()
            .chain(extra_tags)
            .filter(|(key, _)| key.as_str() != PARENT_TAG)
            .map(|(key, value)| {
                let value: String = value.chars().take(TAG_VALUE_CHARS).collect();
                json!({"key": key, "value": value})
            })
            .collect();
        let mut points = Vec::new();
        for key in local.metrics.keys() {
            let history = self
                .source
                .store
                .metric_history(&local.info.run_id, key)
                .await
                .map_err(|error| self.local_error(error.to_string()))?;
            points.extend(history.into_iter().map(|point| (key.as_str(), point)));
        }
        // As few calls as MLflow's limits allow: 100 parameters, 100 tags and the rest of
        // 1,000 entries in metric points, together.
        let mut param_chunks = params.chunks(BATCH_KEYS);
        let mut tag_chunks = tags.chunks(BATCH_KEYS);
        let mut point_chunks = points.chunks(BATCH_ENTRIES - 2 * BATCH_KEYS);
        loop {
            let params = param_chunks.next().unwrap_or_default();
            let tags = tag_chunks.next().unwrap_or_default();
            let metrics: Vec<Value> = point_chunks
                .next()
                .unwrap_or_default()
                .iter()
                .map(|(key, point)| {
                    json!({
                        "key": key,
                        "value": metric_value(point.value),
                        "timestamp": point.timestamp,
                        "step": point.step,
                    })
                })
                .collect();
            if params.is_empty() && tags.is_empty() && metrics.is_empty() {
                break;
            }
            self.log_batch(remote, params, tags, &metrics).await?;
        }
        self.report.params += params.len();
        self.report.metric_points += points.len();
        let files = files::files_at(self.source.storage, &local.info.artifact_uri)
            .await
            .map_err(|reason| {
                self.local_error(format!("the files of run {}: {reason}", local.info.run_id))
            })?;
        self.upload(remote, "", &files).await
    }

    async fn log_batch(
        &self,
        remote: &RemoteRun,
        params: &[Value],
        tags: &[Value],
        metrics: &[Value],
    ) -> Result<(), ServerError> {
        self.client
            .post(
                "runs/log-batch",
                &json!({"run_id": remote.run_id, "params": params, "tags": tags, "metrics": metrics}),
            )
            .await
            .map(drop)
    }

    /// Uploads `files` under `directory` (`""`: the top) of `remote`'s files.
    async fn upload(
        &mut self,
        remote: &RemoteRun,
        directory: &str,
        files: &[files::LocalFile],
    ) -> Result<(), ServerError> {
        if files.is_empty() {
            return Ok(());
        }
        let base = remote_files(self.client, remote)?;
        for file in files {
            let bytes = tokio::fs::read(&file.path)
                .await
                .map_err(|error| self.local_error(format!("{}: {error}", file.path.display())))?;
            let path = [base.as_str(), directory, file.relative.as_str()]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            self.report.bytes += bytes.len() as u64;
            self.client.upload(&path, bytes).await?;
            self.report.files += 1;
        }
        Ok(())
    }

    /// Ends `remote` as `local` ended.
    async fn end_run(&self, local: &TrackedRun, remote: &RemoteRun) -> Result<(), ServerError> {
        let mut update = json!({"run_id": remote.run_id, "status": local.info.status.as_str()});
        if let Some(end) = local.info.end_time {
            update["end_time"] = json!(end);
        }
        self.client.post("runs/update", &update).await.map(drop)
    }

    /// The HTML reports the run's nodes wrote (or reused), under `reports/<node>/`.
    async fn upload_reports(
        &mut self,
        parent: &RemoteRun,
        details: &millrace_runner::RunDetails,
    ) -> Result<(), ServerError> {
        for node in &details.nodes {
            let executions: Vec<i64> = node
                .execution_id
                .into_iter()
                .chain(node.cached_from)
                .collect();
            if executions.is_empty() {
                continue;
            }
            let events = self
                .source
                .store
                .get_events(&EventQuery {
                    execution_ids: Some(executions),
                    event_types: Some(vec![EventType::Output]),
                    ..EventQuery::default()
                })
                .await
                .map_err(|error| self.local_error(error.to_string()))?;
            let mut ids: Vec<i64> = events.iter().map(|event| event.artifact_id).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            let artifacts = self
                .source
                .store
                .get_artifacts(&NodeQuery::all().ids(ids))
                .await
                .map_err(|error| self.local_error(error.to_string()))?;
            let mut reports = Vec::new();
            for uri in artifacts
                .iter()
                .filter_map(|artifact| artifact.uri.as_deref())
            {
                let found = files::files_at(self.source.storage, uri)
                    .await
                    .map_err(|reason| self.local_error(format!("{uri}: {reason}")))?;
                reports.extend(
                    found
                        .into_iter()
                        .filter(|file| file.relative.ends_with(".html")),
                );
            }
            let directory = format!("reports/{}", node.node);
            self.upload(parent, &directory, &reports).await?;
        }
        Ok(())
    }
}

/// Where `remote`'s files go through the artifact proxy: its `artifact_uri` without
/// `mlflow-artifacts:/`.
fn remote_files(client: &MlflowClient, remote: &RemoteRun) -> Result<String, ServerError> {
    remote
        .artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .map(|path| path.trim_matches('/').to_owned())
        .ok_or_else(|| ServerError::ArtifactStore {
            url: client.url(),
            artifact_uri: remote.artifact_uri.clone(),
        })
}

/// `{"data": {"tags": [{"key", "value"}]}}` as a map.
fn tags_of(run: &Value) -> BTreeMap<String, String> {
    run["data"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| {
            Some((
                tag["key"].as_str()?.to_owned(),
                tag["value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Each node's state and summary, as the pipeline run's tags.
fn node_tags(details: &millrace_runner::RunDetails) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for node in &details.nodes {
        tags.insert(
            format!("millrace.state.{}", node.node),
            node.state.to_string(),
        );
        if let Some(summary) = &node.summary {
            tags.insert(format!("millrace.summary.{}", node.node), summary.clone());
        }
    }
    tags
}
