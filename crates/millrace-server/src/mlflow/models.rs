//! Models as Millrace records: MLflow's logged models (`mlflow.<flavor>.log_model`) and the
//! sources of registered versions are **Model artifacts**, with an OUTPUT event from the run's
//! execution, so lineage leads from a registered version to the run (and, for a node's run,
//! through the node to the data).
//!
//! A logged model is a Model artifact whose external id is its model id (`m-<32 hex>`), PENDING
//! until the client finalizes it (LIVE), with its name, experiment, source run and tags as
//! custom properties `mlflow.*` and `tag.*`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use millrace_metadata::{
    Artifact, ArtifactState, Comparison, Event, EventType, NodeQuery, NodeType, PathStep, Value,
};
use serde_json::{Value as Json, json};

use super::args::Args;
use super::now_ms;
use crate::ServerState;
use crate::artifacts::local_path;
use crate::error::ApiError;

type Reply = Result<Json, ApiError>;

const NAME: &str = "mlflow.name";
const EXPERIMENT: &str = "mlflow.experiment_id";
const SOURCE_RUN: &str = "mlflow.source_run_id";
const MODEL_TYPE: &str = "mlflow.model_type";
const TAG_PREFIX: &str = "tag.";

/// A new logged model id: `m-` and 32 hex digits.
fn new_model_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = std::collections::hash_map::RandomState::new();
    let mut halves = [0_u64; 2];
    for half in &mut halves {
        let mut hasher = state.build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or_default(),
        );
        *half = hasher.finish();
    }
    format!("m-{:016x}{:016x}", halves[0], halves[1])
}

fn text_property(artifact: &Artifact, name: &str) -> String {
    match artifact.custom_properties.get(name) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Int(number)) => number.to_string(),
        _ => String::new(),
    }
}

async fn model_type_id(state: &ServerState) -> Result<i64, ApiError> {
    Ok(state.store.put_type(&NodeType::artifact("Model")).await?)
}

/// The Model artifact of logged model `model_id`.
async fn logged_model(state: &ServerState, model_id: &str) -> Result<Artifact, ApiError> {
    state
        .store
        .get_artifacts(&NodeQuery::all().external_ids([model_id.to_owned()]))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("Logged model with ID '{model_id}' not found")))
}

fn logged_model_json(artifact: &Artifact) -> Json {
    let model_id = artifact.external_id.clone().unwrap_or_default();
    let experiment = text_property(artifact, EXPERIMENT);
    let status = match artifact.state {
        ArtifactState::Live => "LOGGED_MODEL_READY",
        ArtifactState::Abandoned => "LOGGED_MODEL_UPLOAD_FAILED",
        _ => "LOGGED_MODEL_PENDING",
    };
    let tags: Vec<Json> = artifact
        .custom_properties
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix(TAG_PREFIX)?;
            let Value::String(value) = value else {
                return None;
            };
            Some(json!({"key": key, "value": value}))
        })
        .collect();
    json!({"info": {
        "model_id": model_id,
        "experiment_id": experiment,
        "name": text_property(artifact, NAME),
        "creation_timestamp_ms": artifact.create_time_since_epoch,
        "last_updated_timestamp_ms": artifact.last_update_time_since_epoch,
        "artifact_uri": format!("mlflow-artifacts:/mlflow/{experiment}/models/{model_id}/artifacts"),
        "status": status,
        "model_type": text_property(artifact, MODEL_TYPE),
        "source_run_id": text_property(artifact, SOURCE_RUN),
        "tags": tags,
    }, "data": {}})
}

/// Records that the run's execution produced `artifact_id` (a run without an execution —
/// a pipeline run — records nothing).
async fn produced_by_run(
    state: &ServerState,
    run_id: &str,
    artifact_id: i64,
) -> Result<(), ApiError> {
    let run = state.store.get_run(run_id).await?;
    if let Some(execution_id) = run.info.execution_id() {
        state
            .store
            .put_events(&[Event {
                artifact_id,
                execution_id,
                event_type: EventType::Output,
                path: vec![PathStep::Key("model".to_owned()), PathStep::Index(0)],
                milliseconds_since_epoch: now_ms(),
            }])
            .await?;
    }
    Ok(())
}

/// Answers `path` if it is a logged-model endpoint.
pub(crate) async fn handle(
    state: &ServerState,
    method: &str,
    path: &str,
    args: &Args,
) -> Option<Reply> {
    let rest = path.strip_prefix("logged-models")?;
    Some(match (method, rest) {
        ("POST", "") => {
            async {
                let experiment = args.required("experiment_id")?;
                let experiment_id: i64 = experiment.parse().map_err(|_| {
                    ApiError::invalid(format!("'{experiment}' is not an experiment id"))
                })?;
                state.store.get_experiment(experiment_id).await?;
                let model_id = new_model_id();
                let name = args.text("name").unwrap_or_else(|| "model".to_owned());
                let source_run = args.text("source_run_id").filter(|id| !id.is_empty());
                let dir: PathBuf = local_path(
                    &state.root,
                    &format!("mlflow/{experiment_id}/models/{model_id}/artifacts"),
                )?;
                let mut properties: BTreeMap<String, Value> = [
                    (NAME.to_owned(), Value::from(name.as_str())),
                    (
                        EXPERIMENT.to_owned(),
                        Value::from(experiment_id.to_string()),
                    ),
                    (
                        MODEL_TYPE.to_owned(),
                        Value::from(args.text("model_type").unwrap_or_default()),
                    ),
                ]
                .into();
                if let Some(run) = &source_run {
                    properties.insert(SOURCE_RUN.to_owned(), Value::from(run.as_str()));
                }
                for (key, value) in args.key_values("tags")? {
                    properties.insert(format!("{TAG_PREFIX}{key}"), Value::from(value));
                }
                let id = state
                    .store
                    .put_artifacts(&[Artifact {
                        type_id: model_type_id(state).await?,
                        uri: Some(dir.display().to_string()),
                        external_id: Some(model_id.clone()),
                        state: ArtifactState::Pending,
                        custom_properties: properties,
                        ..Artifact::default()
                    }])
                    .await?[0];
                if let Some(run) = &source_run {
                    produced_by_run(state, run, id).await?;
                }
                Ok(json!({"model": logged_model_json(&logged_model(state, &model_id).await?)}))
            }
            .await
        }
        ("POST", "/search") => {
            async {
                let experiments = args.list("experiment_ids");
                let wanted = args.text("filter").unwrap_or_default();
                let name = wanted
                    .split_once('=')
                    .filter(|(left, _)| left.trim() == "name")
                    .map(|(_, right)| right.trim().trim_matches(['\'', '"']).to_owned());
                let mut found = Vec::new();
                for experiment in &experiments {
                    let query = NodeQuery::all().of_type("Model").where_custom_property(
                        EXPERIMENT,
                        Comparison::Eq,
                        experiment.as_str(),
                    );
                    found.extend(state.store.get_artifacts(&query).await?);
                }
                let models: Vec<Json> = found
                    .iter()
                    .filter(|artifact| {
                        name.as_ref()
                            .is_none_or(|name| &text_property(artifact, NAME) == name)
                    })
                    .map(logged_model_json)
                    .collect();
                Ok(if models.is_empty() {
                    json!({})
                } else {
                    json!({"models": models})
                })
            }
            .await
        }
        (method, rest) => {
            let rest = rest.strip_prefix('/')?;
            let (model_id, action) = rest.split_once('/').unwrap_or((rest, ""));
            match (method, action) {
                ("GET", "") => async {
                    Ok(json!({"model": logged_model_json(&logged_model(state, model_id).await?)}))
                }
                .await,
                ("PATCH", "") => async {
                    let mut artifact = logged_model(state, model_id).await?;
                    if args.text("status").as_deref() == Some("LOGGED_MODEL_READY") {
                        artifact.state = ArtifactState::Live;
                    } else if args.text("status").as_deref() == Some("LOGGED_MODEL_UPLOAD_FAILED") {
                        artifact.state = ArtifactState::Abandoned;
                    }
                    state
                        .store
                        .put_artifacts(std::slice::from_ref(&artifact))
                        .await?;
                    Ok(json!({"model": logged_model_json(&logged_model(state, model_id).await?)}))
                }
                .await,
                ("DELETE", "") => {
                    async {
                        let artifact = logged_model(state, model_id).await?;
                        if let Some(id) = artifact.id {
                            state.store.mark_artifacts_for_deletion(&[id]).await?;
                        }
                        Ok(json!({}))
                    }
                    .await
                }
                ("PATCH", "tags") => {
                    async {
                        let mut artifact = logged_model(state, model_id).await?;
                        for (key, value) in args.key_values("tags")? {
                            artifact
                                .custom_properties
                                .insert(format!("{TAG_PREFIX}{key}"), Value::from(value));
                        }
                        state
                            .store
                            .put_artifacts(std::slice::from_ref(&artifact))
                            .await?;
                        Ok(json!({}))
                    }
                    .await
                }
                ("POST", "params") => {
                    async {
                        logged_model(state, model_id).await?;
                        Ok(json!({}))
                    }
                    .await
                }
                _ => return None,
            }
        }
    })
}

/// What a version's `source` is: its Model artifact and where its files are served.
pub(crate) struct ResolvedSource {
    /// The Model artifact.
    pub(crate) artifact_id: Option<i64>,
    /// `mlflow-artifacts:/…` when the files are under the root, else the source.
    pub(crate) storage_location: String,
}

/// Finds (or records) the Model artifact a version's source names: `models:/m-…` (a logged
/// model), `runs:/<run>/<path>` or `mlflow-artifacts:/<path>` (a directory under the root: an
/// existing artifact there, or a new LIVE Model artifact produced by the run's execution).
pub(crate) async fn resolve_source(
    state: &ServerState,
    source: &str,
    run_id: Option<&str>,
    model_id: Option<&str>,
) -> Result<ResolvedSource, ApiError> {
    let logged = model_id.filter(|id| !id.is_empty()).or_else(|| {
        source
            .strip_prefix("models:/")
            .filter(|id| id.starts_with("m-"))
    });
    if let Some(model_id) = logged {
        let artifact = logged_model(state, model_id).await?;
        let experiment = text_property(&artifact, EXPERIMENT);
        return Ok(ResolvedSource {
            artifact_id: artifact.id,
            storage_location: format!(
                "mlflow-artifacts:/mlflow/{experiment}/models/{model_id}/artifacts"
            ),
        });
    }
    let relative = if let Some(rest) = source.strip_prefix("runs:/") {
        let (run, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let info = state.store.get_run(run).await?.info;
        let base = info
            .artifact_uri
            .strip_prefix("mlflow-artifacts:/")
            .ok_or_else(|| {
                ApiError::invalid(format!("run {run} keeps its files outside this server"))
            })?
            .trim_end_matches('/')
            .to_owned();
        if sub.is_empty() {
            base
        } else {
            format!("{base}/{sub}")
        }
    } else if let Some(rest) = source.strip_prefix("mlflow-artifacts:/") {
        rest.trim_start_matches('/').to_owned()
    } else {
        return Ok(ResolvedSource {
            artifact_id: None,
            storage_location: source.to_owned(),
        });
    };
    let dir = local_path(&state.root, &relative)?;
    let uri = dir.display().to_string();
    let existing = state
        .store
        .get_artifacts(&NodeQuery::all().of_type("Model").with_uri(uri.clone()))
        .await?
        .into_iter()
        .next();
    let artifact_id = match existing.and_then(|artifact| artifact.id) {
        Some(id) => id,
        None => {
            let id = state
                .store
                .put_artifacts(&[Artifact {
                    type_id: model_type_id(state).await?,
                    uri: Some(uri),
                    state: ArtifactState::Live,
                    ..Artifact::default()
                }])
                .await?[0];
            let source_run = run_id.map(str::to_owned).or_else(|| {
                source
                    .strip_prefix("runs:/")
                    .and_then(|rest| rest.split('/').next())
                    .map(str::to_owned)
            });
            if let Some(run) = source_run.filter(|run| !run.is_empty()) {
                produced_by_run(state, &run, id).await?;
            }
            id
        }
    };
    Ok(ResolvedSource {
        artifact_id: Some(artifact_id),
        storage_location: format!("mlflow-artifacts:/{relative}"),
    })
}
