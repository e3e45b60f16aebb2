//! # millrace-server
//!
//! The server of a pipeline binary's `serve` command: **MLflow's REST API** — tracking
//! (experiments, runs, params, metrics with `log-batch` and `get-history`, tags, `runs/search`),
//! artifacts (`mlflow-artifacts` upload, download, list) and the model registry (registered
//! models, versions, aliases, tags, the deprecated stages, search, download URIs), plus 3.x's
//! logged models — on a Millrace metadata store and artifact root. The `mlflow` client that
//! training scripts already call logs straight into the store: its runs are executions, its
//! models are Model artifacts with lineage. The same [`router`] serves the web UI ([`ui`]:
//! runs, a run's live graph and timeline, node logs and cache decisions, artifacts with lineage
//! and reports, compare, models, schedules) when the state has one
//! ([`ServerState::with_ui`]), and `serve` runs the [`scheduler`] beside it: cron ticks and
//! data-arrival triggers, each fired once. The other way round, [`mirror`] writes a Millrace
//! run into an existing MLflow server through the same API.
//!
//! ```
//! use axum::body::Body;
//! use axum::http::Request;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = millrace_metadata::connect("memory://").await.unwrap();
//! let root = tempfile::tempdir().unwrap();
//! let app = millrace_server::router(millrace_server::ServerState::new(store, root.path()));
//! let reply = app
//!     .oneshot(
//!         Request::post("/api/2.0/mlflow/experiments/create")
//!             .header("content-type", "application/json")
//!             .body(Body::from(r#"{"name": "forest"}"#))
//!             .unwrap(),
//!     )
//!     .await
//!     .unwrap();
//! assert_eq!(reply.status(), 200);
//! # });
//! ```

mod artifacts;
mod error;
pub mod mirror;
mod mlflow;
pub mod scheduler;
pub mod ui;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use millrace_metadata::MetadataStore;
use serde_json::json;

pub use error::{ApiError, ServerError};

/// The largest artifact one request uploads (a model's largest file).
const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024 * 1024;
/// The largest tracking request (MLflow's own limit is 1 MB).
const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

/// What the server serves: a store and the local artifact root `mlflow-artifacts:/` maps to.
#[derive(Clone)]
pub struct ServerState {
    /// The metadata store (tracking and registry included).
    pub store: Arc<dyn MetadataStore>,
    /// The local artifact root.
    pub root: PathBuf,
    /// The web UI, when it is served ([`ServerState::with_ui`]).
    pub ui: Option<ui::Ui>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("store", &self.store.location())
            .field("root", &self.root)
            .field("ui", &self.ui)
            .finish()
    }
}

impl ServerState {
    /// Serves `store`, with artifacts under the local directory `root`.
    pub fn new(store: Arc<dyn MetadataStore>, root: impl AsRef<Path>) -> Self {
        ServerState {
            store,
            root: root.as_ref().to_path_buf(),
            ui: None,
        }
    }

    /// Serves the web UI too: its pages at `/`, `/runs`, `/artifacts/…` beside MLflow's API.
    pub fn with_ui(mut self, ui: ui::Ui) -> Self {
        self.ui = Some(ui);
        self
    }
}

async fn list_artifacts(
    State(state): State<ServerState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let path = query
        .iter()
        .find(|(key, _)| key == "path")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    artifacts::list(&state.root, &path).await.map(axum::Json)
}

async fn artifact(
    State(state): State<ServerState>,
    method: Method,
    UrlPath(path): UrlPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    match method {
        Method::GET => artifacts::download(&state.root, &path).await,
        Method::PUT => artifacts::upload(&state.root, &path, body).await,
        Method::DELETE => artifacts::delete(&state.root, &path).await,
        other => Err(ApiError::no_endpoint(other.as_str(), &path)),
    }
}

/// The UI's `/get-artifact?path=&run_uuid=`: a file of a run.
async fn get_artifact(
    State(state): State<ServerState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let run = state.store.get_run(&value("run_uuid")).await?;
    let base = artifacts::run_files(&run.info)?;
    artifacts::download(&state.root, &format!("{base}/{}", value("path"))).await
}

/// The routes: MLflow's API under `/api/2.0/mlflow`, `/ajax-api/2.0/mlflow` and the artifact
/// service, `/health`, `/version`, `/api/3.0/mlflow/server-info`. Anything else is MLflow's
/// `404 ENDPOINT_NOT_FOUND`.
pub fn router(state: ServerState) -> Router {
    let artifacts = Router::new()
        .route("/artifacts", get(list_artifacts))
        .route("/artifacts/{*path}", any(artifact))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES));
    let api = Router::new()
        .route("/{*path}", any(mlflow::dispatch))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES));
    let pages = match &state.ui {
        Some(ui) => ui::routes(ui),
        None => Router::new(),
    };
    pages
        .nest("/api/2.0/mlflow", api.clone())
        .nest("/ajax-api/2.0/mlflow", api)
        .nest("/api/2.0/mlflow-artifacts", artifacts.clone())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifacts)
        .route("/get-artifact", get(get_artifact))
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { env!("CARGO_PKG_VERSION") }))
        .route(
            "/api/3.0/mlflow/server-info",
            get(|| async {
                axum::Json(json!({
                    "store_type": "SqlStore",
                    "multipart_uploads_enabled": false,
                    "multipart_downloads_enabled": false,
                }))
            }),
        )
        .fallback(|method: Method, uri: axum::http::Uri| async move {
            ApiError::no_endpoint(method.as_str(), uri.path()).into_response()
        })
        .with_state(state)
}

/// A server running in the background; dropping it stops it.
#[derive(Debug)]
pub struct RunningServer {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// The address it listens on (the port the system chose when asked for 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its URI for `MLFLOW_TRACKING_URI`: `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops it after the requests in progress, and waits.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(ServerError::Serve),
                Err(error) => Err(ServerError::Serve(std::io::Error::other(error))),
            },
            None => Ok(()),
        }
    }

    /// Serves until it fails (or forever).
    pub async fn wait(mut self) -> Result<(), ServerError> {
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(ServerError::Serve),
                Err(error) => Err(ServerError::Serve(std::io::Error::other(error))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts serving `state` on `address` in the background.
pub async fn serve(state: ServerState, address: SocketAddr) -> Result<RunningServer, ServerError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind {
            address: address.to_string(),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| ServerError::Bind {
        address: address.to_string(),
        source,
    })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(address = %bound, "serving MLflow's API");
    Ok(RunningServer {
        address: bound,
        stop: Some(stop),
        task: Some(task),
    })
}
