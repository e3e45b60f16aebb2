//! `/artifacts/{id}`: an artifact — its properties, its files (each a download), its lineage
//! graph: what it came from and what came from it (every box a link), and its HTML reports (statistics,
//! anomalies, evaluation) inline.
//!
//! Files are served from the artifact's directory only (a path that leaves it is refused), with
//! the type their name says; HTML is served under `Content-Security-Policy: sandbox`, so a
//! report — which may hold strings from data — runs as a page of no origin, never as this one.

use std::path::{Component, Path as FilePath, PathBuf};

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use millrace_metadata::{Artifact, Direction, EventType, LineageGraph, NodeQuery, Value};
use millrace_runner::{RunHistory, properties};

use super::Failure;
use super::graph::{Graph, GraphNode, Shape};
use super::page::encode;
use super::page::{self, Section};
use super::run::node_href;
use crate::ServerState;
use crate::error::ApiError;

/// How far the lineage graph reaches each way, in hops (artifact → execution is one): back
/// to the data and forward to the pushed model in a TFX-shaped pipeline.
const LINEAGE_HOPS: u32 = 10;
/// The most files listed.
const MAX_FILES: usize = 500;

/// `GET /artifacts/{id}`.
pub(crate) async fn page(
    State(state): State<ServerState>,
    Path(id): Path<i64>,
) -> Result<Markup, Failure> {
    let ui = super::of(&state)?;
    let artifact = find(&state, id).await?;
    // Its ancestors and its descendants — not the descendants of its ancestors, which a
    // two-way walk would also reach.
    let history = RunHistory::new(&*state.store);
    let mut lineage = history
        .lineage(id, Direction::Upstream, LINEAGE_HOPS)
        .await?;
    let downstream = history
        .lineage(id, Direction::Downstream, LINEAGE_HOPS)
        .await?;
    merge(&mut lineage, downstream);
    let dir = match &artifact.uri {
        Some(uri) => ui.storage.materialise(uri, true).await.ok(),
        None => None,
    };
    let files = match &dir {
        Some(dir) => list_files(dir).await,
        None => Vec::new(),
    };
    let reports: Vec<&String> = files
        .iter()
        .filter(|file| file.ends_with(".html"))
        .collect();
    let versions = state
        .store
        .versions_of_artifact(id)
        .await
        .map_err(ApiError::from)?;
    let body = html! {
        dl.facts {
            dt { "Type" } dd { (artifact.type_name.as_deref().unwrap_or("?")) }
            dt { "State" } dd { (state_name(&artifact.state)) }
            dt { "URI" } dd { code { (artifact.uri.as_deref().unwrap_or("")) } }
            @if let Some(name) = &artifact.name { dt { "Name" } dd { (name) } }
            dt { "Created (UTC)" } dd { (page::time(artifact.create_time_since_epoch)) }
            @for version in &versions {
                dt { "Registered" } dd {
                    a href=(format!("/models/{}", encode(&version.name))) { (version.name) " v" (version.version) }
                    @for alias in &version.aliases { " " span.trigger { "@" (alias) } }
                }
            }
        }
        h2 { "Lineage" }
        p.quiet { "Upstream to the left, downstream to the right; click a box to go to it." }
        (lineage_graph(id, &lineage).to_svg())
        div.columns {
            div {
                h2 { "Properties" }
                table {
                    tbody {
                        @for (name, value) in artifact.properties.iter().chain(artifact.custom_properties.iter()) {
                            tr { th { (name) } td { code { (value_text(value)) } } }
                        }
                    }
                }
            }
            div {
                h2 { "Files" }
                @if files.is_empty() {
                    p.quiet { "No files to show (none, or not readable from this server)." }
                } @else {
                    ul.files {
                        @for file in &files {
                            li { a href=(file_href(id, file)) download { (file) } }
                        }
                    }
                    @if files.len() == MAX_FILES { p.quiet { "The first " (MAX_FILES) " files." } }
                }
            }
        }
        @for report in &reports {
            h2 { "Report: " (report) }
            iframe.report src=(file_href(id, report)) sandbox="allow-scripts" title=(report) {}
        }
    };
    Ok(page::shell(
        &format!(
            "Artifact {id} · {}",
            artifact.type_name.as_deref().unwrap_or("?")
        ),
        Section::None,
        &body,
    ))
}

async fn find(state: &ServerState, id: i64) -> Result<Artifact, Failure> {
    state
        .store
        .get_artifacts(&NodeQuery::all().ids([id]))
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("there is no artifact {id}")).into())
}

fn file_href(id: i64, file: &str) -> String {
    let path: Vec<String> = file.split('/').map(encode).collect();
    format!("/artifacts/{id}/files/{}", path.join("/"))
}

fn state_name<T: serde::Serialize>(state: &T) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_json().to_string(),
    }
}

/// Adds what `more` has that `into` does not.
fn merge(into: &mut LineageGraph, more: LineageGraph) {
    for artifact in more.artifacts {
        if !into.artifacts.iter().any(|known| known.id == artifact.id) {
            into.artifacts.push(artifact);
        }
    }
    for execution in more.executions {
        if !into.executions.iter().any(|known| known.id == execution.id) {
            into.executions.push(execution);
        }
    }
    for event in more.events {
        let same = |known: &&millrace_metadata::Event| {
            known.artifact_id == event.artifact_id
                && known.execution_id == event.execution_id
                && known.event_type == event.event_type
        };
        if !into.events.iter().any(|known| same(&known)) {
            into.events.push(event);
        }
    }
}

/// The lineage as boxes: artifacts (rounded) and executions, `focus` outlined.
fn lineage_graph(focus: i64, lineage: &LineageGraph) -> Graph {
    let mut graph = Graph::default();
    let mut artifact_index = std::collections::HashMap::new();
    let mut execution_index = std::collections::HashMap::new();
    for artifact in &lineage.artifacts {
        let id = artifact.id.unwrap_or_default();
        artifact_index.insert(id, graph.nodes.len());
        graph.nodes.push(GraphNode {
            key: format!("artifact-{id}"),
            label: format!(
                "{} {id}",
                artifact.type_name.as_deref().unwrap_or("artifact")
            ),
            detail: artifact.uri.as_deref().map(|uri| {
                uri.rsplit('/')
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("/")
            }),
            state: None,
            href: Some(format!("/artifacts/{id}")),
            shape: Shape::Artifact,
            focus: id == focus,
        });
    }
    for execution in &lineage.executions {
        let id = execution.id.unwrap_or_default();
        let text = |name: &str| match execution.custom_properties.get(name) {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        let node = text(properties::NODE_ID)
            .unwrap_or_else(|| execution.type_name.clone().unwrap_or_default());
        let run = text(properties::RUN_ID);
        execution_index.insert(id, graph.nodes.len());
        graph.nodes.push(GraphNode {
            key: format!("execution-{id}"),
            label: node.clone(),
            detail: run.clone().map(|run| format!("run {run}")),
            state: None,
            href: run.map(|run| node_href(&run, &node)),
            shape: Shape::Task,
            focus: false,
        });
    }
    for event in &lineage.events {
        let (Some(&artifact), Some(&execution)) = (
            artifact_index.get(&event.artifact_id),
            execution_index.get(&event.execution_id),
        ) else {
            continue;
        };
        match event.event_type {
            EventType::Input | EventType::DeclaredInput | EventType::InternalInput => {
                graph.edges.push((artifact, execution));
            }
            _ => graph.edges.push((execution, artifact)),
        }
    }
    graph
}

/// The files under `dir`, relative, sorted; at most [`MAX_FILES`].
async fn list_files(dir: &FilePath) -> Vec<String> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut files = Vec::new();
        let mut pending = vec![dir.clone()];
        while let Some(current) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&current) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(relative) = path.strip_prefix(&dir) {
                    files.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        files.sort();
        files.truncate(MAX_FILES);
        files
    })
    .await
    .unwrap_or_default()
}

/// `relative` under `dir`, if it names a path inside it (no `..`, no root).
fn inside(dir: &FilePath, relative: &str) -> Option<PathBuf> {
    let relative = FilePath::new(relative);
    relative
        .components()
        .all(|part| matches!(part, Component::Normal(_)))
        .then(|| dir.join(relative))
}

/// `GET /artifacts/{id}/files/{*path}`: one file of the artifact.
pub(crate) async fn file(
    State(state): State<ServerState>,
    Path((id, path)): Path<(i64, String)>,
) -> Result<Response, Failure> {
    let ui = super::of(&state)?;
    let artifact = find(&state, id).await?;
    let uri = artifact
        .uri
        .ok_or_else(|| ApiError::not_found(format!("artifact {id} has no URI")))?;
    let dir = ui
        .storage
        .materialise(&uri, true)
        .await
        .map_err(|error| ApiError::not_found(error.to_string()))?;
    let file = inside(&dir, &path).ok_or_else(|| {
        ApiError::bad_request(format!("`{path}` is not a path inside artifact {id}"))
    })?;
    let bytes = tokio::fs::read(&file)
        .await
        .map_err(|_| ApiError::not_found(format!("artifact {id} has no file `{path}`")))?;
    let kind = content_type(&path);
    let mut response = ([(header::CONTENT_TYPE, kind)], bytes).into_response();
    // HTML and SVG may hold scripts: they run, if at all, in a sandbox of no origin.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox allow-scripts"),
    );
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "csv" | "txt" | "log" | "md" | "pbtxt" | "yaml" | "yml" | "py" => {
            "text/plain; charset=utf-8"
        }
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_path_that_leaves_the_artifact_is_refused() {
        let dir = FilePath::new("/artifacts/7");
        assert_eq!(inside(dir, "a/b.txt"), Some(dir.join("a/b.txt")));
        assert_eq!(inside(dir, "../8/secret"), None);
        assert_eq!(inside(dir, "/etc/passwd"), None);
        assert_eq!(inside(dir, "a/../../x"), None);
    }
}
