//! The web UI of `serve`: server-rendered pages over the same store the CLI reads, with a
//! little JavaScript for what changes while you look (node states, logs).
//!
//! | page | what it shows |
//! |---|---|
//! | `/runs` | the runs, newest first, a page at a time, filtered by state and parameter |
//! | `/runs/{run}` | the graph with each node's state (live), the timeline, every node's line |
//! | `/runs/{run}/nodes/{node}` | attempts, errors, the cache decision in words, logs (tailing) |
//! | `/artifacts/{id}` | properties, files, the lineage graph, the reports inline |
//! | `/compare?run=…&run=…` | parameters and metrics side by side, differences marked, charts |
//! | `/models` | registered models, their versions, aliases, evaluations, lineage |
//! | `/schedules` | the schedule and the data triggers: next fire, last runs, paused or not |
//!
//! Every page is built with `maud`, which escapes every value it writes: node ids, parameter
//! values and strings from data cannot become markup. Reports that are HTML files of an
//! artifact are served with `Content-Security-Policy: sandbox`, so a report runs as a page of
//! no origin, never as this server. Actions — start a run, pause or resume a trigger, cancel
//! a run — exist only when the server is started with them allowed ([`Ui::allow_actions`]),
//! and then each needs the token ([`ACTION_TOKEN_VARIABLE`]); without it they answer 403 and
//! do nothing. The assets (one stylesheet, one script) are compiled into the binary.
//!
//! Costs: the runs page reads one page of run contexts and the executions of those runs —
//! a cost that does not grow with the number of runs in the store. The run page reads the
//! run's executions once; graphs are laid out on the server (`ui/graph.rs`) in time linear in
//! nodes and edges per sweep.

mod actions;
mod artifact;
mod assets;
mod compare;
pub(crate) mod graph;
mod live;
mod models;
mod page;
mod redact;
mod run;
mod runs;
mod schedules;
mod timeline;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use millrace_core::Pipeline;
use millrace_runner::{ArtifactStorage, LocalRunner};

pub use actions::{ACTION_TOKEN_VARIABLE, Cancellations};

use crate::ServerState;
use crate::error::ApiError;

/// What the UI shows and may do: the pipeline of this binary, where its artifacts are, and —
/// only when allowed — the runner its actions start runs with.
#[derive(Clone)]
pub struct Ui {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) storage: ArtifactStorage,
    pub(crate) actions: Option<Arc<actions::Actions>>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("pipeline", &self.pipeline.name())
            .field("storage", &self.storage.root().to_string())
            .field("actions", &self.actions.is_some())
            .finish()
    }
}

impl Ui {
    /// The read-only UI of `pipeline`, whose artifacts are in `storage`.
    pub fn new(pipeline: Arc<Pipeline>, storage: ArtifactStorage) -> Self {
        Ui {
            pipeline,
            storage,
            actions: None,
        }
    }

    /// Allows the actions (start a run, pause or resume a trigger, cancel a run), each
    /// checked against `token` (`None`: no token was set, so every action is refused). Runs
    /// start on `runner`; `cancellations` reaches the runs this process executes.
    pub fn allow_actions(
        mut self,
        token: Option<String>,
        runner: LocalRunner,
        cancellations: Cancellations,
    ) -> Self {
        self.actions = Some(Arc::new(actions::Actions::new(
            token,
            runner,
            cancellations,
        )));
        self
    }
}

/// A page that could not be shown, as an HTML page with the status.
#[derive(Debug)]
pub(crate) struct Failure(ApiError);

impl<E: Into<ApiError>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(error.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let title = match self.0.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::BAD_REQUEST => "Bad request",
            _ => "Error",
        };
        (
            self.0.status,
            page::shell(
                title,
                page::Section::None,
                &maud::html! { p.error { (self.0.shown_message()) } },
            ),
        )
            .into_response()
    }
}

/// The UI's routes, on the server's state (whose `ui` is set).
pub(crate) fn routes(ui: &Ui) -> Router<ServerState> {
    let mut routes = Router::new()
        .route("/", get(|| async { Redirect::to("/runs") }))
        .route("/runs", get(runs::page))
        .route("/runs/{run}", get(run::page))
        .route("/runs/{run}/events", get(live::run_events))
        .route("/runs/{run}/nodes/{node}", get(run::node_page))
        .route("/runs/{run}/nodes/{node}/log", get(live::log_tail))
        .route("/artifacts/{id}", get(artifact::page))
        .route("/compare", get(compare::page))
        .route("/models", get(models::list))
        .route("/models/{name}", get(models::page))
        .route("/schedules", get(schedules::page));
    if ui.actions.is_some() {
        routes = routes
            .route("/actions/runs", post(actions::start_run))
            .route("/actions/runs/{run}/cancel", post(actions::cancel_run))
            .route("/actions/triggers/{trigger}/pause", post(actions::pause))
            .route("/actions/triggers/{trigger}/resume", post(actions::resume));
    }
    // Pages and streams show no secret (`redact`); files and assets are served as they are.
    routes
        .layer(axum::middleware::map_response(redact::redacted))
        .route("/artifacts/{id}/files/{*path}", get(artifact::file))
        .route("/ui/assets/{file}", get(assets::serve))
}

/// The UI of the state; the routes exist only when it is set.
pub(crate) fn of(state: &ServerState) -> Result<&Ui, Failure> {
    state
        .ui
        .as_ref()
        .ok_or_else(|| Failure(ApiError::not_found("this server has no web UI")))
}
