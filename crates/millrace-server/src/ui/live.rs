//! What changes while a page is open, as Server-Sent Events: a run's node states
//! (`/runs/{run}/events`) and a node's log as it is written (`/runs/{run}/nodes/{node}/log`).
//!
//! Both read the store (and the log file) every [`POLL`], so they follow runs of any process
//! on the store — a scheduled run of this server, a `run` in a terminal — not only this one.
//! An event is sent when something changed; `end` is sent when the run (or the attempt) has
//! ended, and the stream closes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use millrace_runner::{RunDetails, RunHistory};
use serde::Deserialize;
use serde_json::json;

use super::Failure;
use super::page;
use crate::ServerState;
use crate::error::ApiError;

/// How often the store and log files are read.
const POLL: Duration = Duration::from_millis(400);
/// The most log text one event carries.
const CHUNK_BYTES: u64 = 64 * 1024;
/// The log files a node's attempt may have.
const LOG_FILES: [&str; 3] = ["stdout.log", "stderr.log", "error.log"];

/// The state of a run as the page shows it.
fn snapshot(run: &RunDetails) -> serde_json::Value {
    let ended = run.run.finished_ms.is_some();
    let label = match (run.run.state, ended) {
        (millrace_runner::RunState::Failed, false) => "failed (not ended)",
        (state, _) => state.as_str(),
    };
    json!({
        "run": {"state": run.run.state.as_str(), "label": label, "ended": ended},
        "nodes": run.nodes.iter().map(|node| json!({
            "node": node.node,
            "state": node.state.as_str(),
            "label": page::node_label(node.state),
            "duration": node.duration_ms.map(page::duration),
        })).collect::<Vec<_>>(),
    })
}

struct Following {
    state: ServerState,
    run_id: String,
    last: Option<serde_json::Value>,
    ended: bool,
    first: bool,
}

/// `GET /runs/{run}/events`: a `state` event whenever a node's state changes, `end` when the
/// run has ended.
pub(crate) async fn run_events(
    State(state): State<ServerState>,
    Path(run_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    let ui = super::of(&state)?;
    // An unknown run is a 404 now, not an empty stream.
    RunHistory::new(&*state.store)
        .run(&ui.pipeline, &run_id)
        .await?;
    let following = Following {
        state,
        run_id,
        last: None,
        ended: false,
        first: true,
    };
    let stream = futures_util::stream::unfold(following, |mut following| async move {
        if following.ended {
            return None;
        }
        loop {
            if !following.first {
                tokio::time::sleep(POLL).await;
            }
            following.first = false;
            let ui = following.state.ui.as_ref()?;
            let run = match RunHistory::new(&*following.state.store)
                .run(&ui.pipeline, &following.run_id)
                .await
            {
                Ok(run) => run,
                Err(error) => {
                    following.ended = true;
                    let event = Event::default().event("end").data(error.to_string());
                    return Some((Ok(event), following));
                }
            };
            let now = snapshot(&run);
            let ended = run.run.finished_ms.is_some();
            if following.last.as_ref() != Some(&now) {
                following.last = Some(now.clone());
                let event = Event::default().event("state").data(now.to_string());
                return Some((Ok(event), following));
            }
            if ended {
                following.ended = true;
                return Some((Ok(Event::default().event("end").data("ended")), following));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The query of a log stream.
#[derive(Debug, Deserialize)]
pub(crate) struct LogQuery {
    /// The attempt's number (the last one when absent).
    #[serde(default)]
    attempt: Option<u32>,
    /// `stdout.log`, `stderr.log` or `error.log`.
    file: String,
}

struct Tailing {
    state: ServerState,
    run_id: String,
    node: String,
    attempt: Option<u32>,
    file: String,
    offset: u64,
    ended: bool,
}

impl Tailing {
    /// The attempt's log directory (once recorded) and whether the attempt has ended.
    async fn attempt(&self) -> Result<(Option<std::path::PathBuf>, bool), String> {
        let ui = self.state.ui.as_ref().ok_or("no UI")?;
        let run = RunHistory::new(&*self.state.store)
            .run(&ui.pipeline, &self.run_id)
            .await
            .map_err(|error| error.to_string())?;
        let node = run
            .node(&self.node)
            .ok_or_else(|| format!("no node `{}`", self.node))?;
        let attempt = match self.attempt {
            Some(number) => node.attempts.iter().find(|a| a.number == number),
            None => node.attempts.last(),
        };
        Ok(match attempt {
            Some(attempt) => (
                attempt.log_dir.as_ref().map(std::path::PathBuf::from),
                attempt.state.is_final(),
            ),
            None => (None, node.state.is_final()),
        })
    }

    /// The text written to the file since the last read.
    async fn read_more(&mut self, dir: &std::path::Path) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(dir.join(&self.file)).await.ok()?;
        let length = file.metadata().await.ok()?.len();
        if length <= self.offset {
            return None;
        }
        file.seek(std::io::SeekFrom::Start(self.offset))
            .await
            .ok()?;
        let mut bytes = Vec::new();
        file.take(CHUNK_BYTES).read_to_end(&mut bytes).await.ok()?;
        // Cut at the last whole character; the rest comes with the next read.
        let whole = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(_) => bytes.len(),
        };
        self.offset += whole as u64;
        Some(String::from_utf8_lossy(&bytes[..whole]).into_owned())
    }
}

/// `GET /runs/{run}/nodes/{node}/log?attempt=N&file=stdout.log`: the log from its start, then
/// what is appended, as `chunk` events (JSON strings); `end` once the attempt has ended and
/// everything is sent.
pub(crate) async fn log_tail(
    State(state): State<ServerState>,
    Path((run_id, node)): Path<(String, String)>,
    Query(query): Query<LogQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    super::of(&state)?;
    if !LOG_FILES.contains(&query.file.as_str()) {
        return Err(ApiError::bad_request(format!(
            "no log file `{}`: use stdout.log, stderr.log or error.log",
            query.file
        ))
        .into());
    }
    let tailing = Tailing {
        state,
        run_id,
        node,
        attempt: query.attempt,
        file: query.file,
        offset: 0,
        ended: false,
    };
    tailing.attempt().await.map_err(ApiError::not_found)?;
    let stream = futures_util::stream::unfold(tailing, |mut tailing| async move {
        if tailing.ended {
            return None;
        }
        loop {
            let (dir, finished) = match tailing.attempt().await {
                Ok(found) => found,
                Err(error) => {
                    tailing.ended = true;
                    return Some((Ok(Event::default().event("end").data(error)), tailing));
                }
            };
            if let Some(dir) = &dir
                && let Some(text) = tailing.read_more(dir).await
            {
                let event = Event::default()
                    .event("chunk")
                    .data(serde_json::Value::String(text).to_string());
                return Some((Ok(event), tailing));
            }
            if finished {
                tailing.ended = true;
                return Some((Ok(Event::default().event("end").data("ended")), tailing));
            }
            tokio::time::sleep(POLL).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
