//! MLflow's REST API: one dispatcher for `/api/2.0/mlflow/…` (and the UI's
//! `/ajax-api/2.0/mlflow/…`), reading a request's arguments the way MLflow's server does and
//! trying the tracking, registry and logged-model endpoints in turn.

pub(crate) mod args;
mod models;
mod registry;
pub(crate) mod shapes;
mod tracking;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{Value, json};

use crate::ServerState;
use crate::error::ApiError;
use args::Args;

/// Answers one MLflow API request.
pub(crate) async fn dispatch(
    State(state): State<ServerState>,
    method: Method,
    Path(path): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let args = if method == Method::GET {
        Args::from_query(query)
    } else {
        let mut args = Args::from_body(&body)?;
        for (key, value) in Args::from_query(query).0 {
            args.0.entry(key).or_insert(value);
        }
        args
    };
    let method = method.as_str();
    let path = path.trim_matches('/');
    if let Some(reply) = tracking::handle(&state, method, path, &args).await {
        return reply.map(Json);
    }
    if let Some(reply) = registry::handle(&state, method, path, &args).await {
        return reply.map(Json);
    }
    if let Some(reply) = models::handle(&state, method, path, &args).await {
        return reply.map(Json);
    }
    if (method, path) == ("GET", "artifacts/list") {
        return legacy_list(&state, &args).await.map(Json);
    }
    Err(ApiError::no_endpoint(
        method,
        &format!("/api/2.0/mlflow/{path}"),
    ))
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `GET artifacts/list?run_id=&path=`: a run's files, the way the UI lists them.
async fn legacy_list(state: &ServerState, args: &Args) -> Result<Value, ApiError> {
    let run = state.store.get_run(&args.run_id()?).await?;
    let base = crate::artifacts::run_files(&run.info)?;
    let sub = args.text("path").unwrap_or_default();
    let sub = sub.trim_matches('/');
    let listed = crate::artifacts::list(&state.root, &format!("{base}/{sub}")).await?;
    let files: Vec<Value> = listed["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|file| {
                    let mut file = file.clone();
                    if !sub.is_empty() {
                        let name = file["path"].as_str().unwrap_or_default().to_owned();
                        file["path"] = json!(format!("{sub}/{name}"));
                    }
                    file
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({"root_uri": run.info.artifact_uri, "files": files}))
}
