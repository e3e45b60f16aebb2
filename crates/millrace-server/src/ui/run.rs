//! `/runs/{run}`: a run — its graph with every node's state (updated live while it runs), its
//! timeline, its parameters and a line per node; and `/runs/{run}/nodes/{node}`: one node of
//! it — attempts, errors, summary, the cache decision in words, inputs and outputs, logs.

use axum::extract::{Path, State};
use maud::{Markup, html};
use millrace_core::Pipeline;
use millrace_metadata::{EventQuery, EventType, NodeQuery};
use millrace_runner::{CacheVerdict, NodeHistory, NodeState, RunDetails, RunHistory};

use super::graph::{Graph, GraphNode, Shape};
use super::page::encode;
use super::page::{self, Section};
use super::runs::{trigger_label, triggers_of};
use super::{Failure, actions, timeline};
use crate::ServerState;
use crate::error::ApiError;

/// The graph of `run`: the pipeline's nodes and dependencies, each box in its node's state
/// and linked to its node page.
pub(crate) fn run_graph(pipeline: &Pipeline, run: &RunDetails) -> Graph {
    let mut graph = Graph::default();
    let mut index = std::collections::HashMap::new();
    for spec in pipeline.nodes_in_order() {
        let history = run.node(&spec.id);
        index.insert(spec.id.as_str(), graph.nodes.len());
        graph.nodes.push(GraphNode {
            key: spec.id.clone(),
            label: spec.id.clone(),
            detail: Some(node_detail(history)),
            state: Some(
                history
                    .map_or(NodeState::NotStarted, |node| node.state)
                    .as_str(),
            ),
            href: Some(node_href(&run.run.run_id, &spec.id)),
            shape: Shape::Task,
            focus: false,
        });
    }
    for spec in pipeline.nodes_in_order() {
        for upstream in spec.upstream_node_ids() {
            if let (Some(&from), Some(&to)) = (index.get(upstream), index.get(spec.id.as_str())) {
                graph.edges.push((from, to));
            }
        }
    }
    graph
}

fn node_detail(history: Option<&NodeHistory>) -> String {
    match history {
        Some(node) => match node.duration_ms {
            Some(ms) if node.state != NodeState::Cached => {
                format!("{} · {}", page::node_label(node.state), page::duration(ms))
            }
            _ => page::node_label(node.state).to_owned(),
        },
        None => page::node_label(NodeState::NotStarted).to_owned(),
    }
}

pub(crate) fn run_href(run: &str) -> String {
    format!("/runs/{}", encode(run))
}

pub(crate) fn node_href(run: &str, node: &str) -> String {
    format!("/runs/{}/nodes/{}", encode(run), encode(node))
}

fn now_ms() -> i64 {
    crate::mlflow::now_ms()
}

/// `GET /runs/{run}`.
pub(crate) async fn page(
    State(state): State<ServerState>,
    Path(run_id): Path<String>,
) -> Result<Markup, Failure> {
    let ui = super::of(&state)?;
    let run = RunHistory::new(&*state.store)
        .run(&ui.pipeline, &run_id)
        .await?;
    let triggers = triggers_of(&state, ui.pipeline.name(), std::slice::from_ref(&run_id)).await?;
    let ended = run.run.finished_ms.is_some();
    let info = &run.run;
    let body = html! {
        dl.facts {
            dt { "State" } dd { (page::run_badge(info.state, ended)) }
            dt { "Trigger" } dd { span.trigger { (trigger_label(triggers.get(&run_id))) } }
            dt { "Pipeline" } dd { (info.pipeline) " " span.quiet { "fingerprint " code { (info.fingerprint.chars().take(12).collect::<String>()) } } }
            dt { "Started (UTC)" } dd { (page::time(info.started_ms)) }
            @if let Some(end) = info.finished_ms {
                dt { "Ended (UTC)" } dd { (page::time(end)) " · took " (page::duration(end - info.started_ms)) }
            }
        }
        @if !ended {
            p #live.quiet data-events=(format!("{}/events", run_href(&run_id))) { "Following the run: states change here as nodes finish." }
            @if let Some(actions) = &ui.actions {
                (actions::cancel_form(actions, &run_id))
            }
        }
        h2 { "Graph" }
        (run_graph(&ui.pipeline, &run).to_svg())
        h2 { "Timeline" }
        (timeline::render(&run, now_ms()))
        div.columns {
            div {
                h2 { "Nodes" }
                table #nodes {
                    thead { tr { th { "Node" } th { "State" } th { "Took" } th { "Attempts" } th { "What happened" } } }
                    tbody {
                        @for node in &run.nodes {
                            tr data-node=(node.node) data-state=(node.state.as_str()) {
                                td { a href=(node_href(&run_id, &node.node)) { (node.node) } }
                                td { (page::node_badge(node.state)) }
                                td.num data-duration="" { @if let Some(ms) = node.duration_ms { (page::duration(ms)) } }
                                td.num { (node.attempts.len()) }
                                td { @if let Some(message) = &node.message { (first_line(message)) } }
                            }
                        }
                    }
                }
            }
            div {
                h2 { "Parameters" }
                table {
                    tbody {
                        @for (name, value) in &info.parameters {
                            tr { th { (name) } td { code { (page::value_text(value)) } } }
                        }
                    }
                }
                p { a href=(format!("/compare?run={}", encode(&run_id))) { "Compare with other runs" } }
            }
        }
    };
    Ok(page::shell(&format!("Run {run_id}"), Section::Runs, &body))
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// `GET /runs/{run}/nodes/{node}`.
pub(crate) async fn node_page(
    State(state): State<ServerState>,
    Path((run_id, node_id)): Path<(String, String)>,
) -> Result<Markup, Failure> {
    let ui = super::of(&state)?;
    let history = RunHistory::new(&*state.store);
    let run = history.run(&ui.pipeline, &run_id).await?;
    let node = run
        .node(&node_id)
        .ok_or_else(|| ApiError::not_found(format!("run `{run_id}` has no node `{node_id}`")))?;
    let explanation = if ui.pipeline.node(&node_id).is_ok() {
        Some(
            history
                .explain_cache(&ui.pipeline, &node_id, Some(&run_id))
                .await?,
        )
    } else {
        None
    };
    let artifacts = artifacts_of(&state, node.execution_id.or(node.cached_from)).await?;
    let running = !node.state.is_final();
    let last_attempt = node.attempts.last();
    let body = html! {
        p { a href=(run_href(&run_id)) { "← run " (run_id) } }
        dl.facts {
            dt { "State" } dd { (page::node_badge(node.state)) }
            @if let Some(id) = node.execution_id { dt { "Execution" } dd { (id) } }
            @if let Some(start) = node.started_ms { dt { "Started (UTC)" } dd { (page::time(start)) } }
            @if let Some(ms) = node.duration_ms { dt { "Took" } dd { (page::duration(ms)) } }
            @if let Some(from) = node.cached_from { dt { "Reused" } dd { "execution " (from) } }
            @if let Some(summary) = &node.summary { dt { "Summary" } dd { (summary) } }
        }
        @if let Some(message) = &node.message {
            @if matches!(node.state, NodeState::Failed | NodeState::UpstreamFailed | NodeState::Canceled) {
                h2 { "Error" }
                pre.error { (message) }
            }
        }
        @if let Some(explanation) = &explanation {
            h2 { "Cache" }
            (cache_words(explanation))
        }
        h2 { "Inputs and outputs" }
        @if artifacts.is_empty() {
            p.quiet { "None recorded." }
        } @else {
            table {
                thead { tr { th { "" } th { "Artifact" } th { "Type" } th { "URI" } } }
                tbody {
                    @for (direction, artifact) in &artifacts {
                        tr data-direction=(direction) {
                            td { (direction) }
                            td { a href=(format!("/artifacts/{}", artifact.id.unwrap_or_default())) { (artifact.id.unwrap_or_default()) } }
                            td { (artifact.type_name.as_deref().unwrap_or("")) }
                            td { code { (artifact.uri.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
        h2 { "Attempts" }
        @if node.attempts.is_empty() {
            p.quiet { "No execution of its own (cached, skipped, or not started)." }
        } @else {
            table #attempts {
                thead { tr { th { "#" } th { "Execution" } th { "State" } th { "Started (UTC)" } th { "Took" } th { "Error" } } }
                tbody {
                    @for attempt in &node.attempts {
                        tr {
                            td.num { (attempt.number) }
                            td.num { (attempt.execution_id) }
                            td { (page::node_badge(attempt.state)) }
                            td { (page::time(attempt.started_ms)) }
                            td.num { (page::duration(attempt.finished_ms - attempt.started_ms)) }
                            td { @if let Some(error) = &attempt.error { pre.error { (error) } } }
                        }
                    }
                }
            }
        }
        @if let Some(attempt) = last_attempt {
            @if attempt.log_dir.is_some() || running {
                h2 { "Logs" @if running { " " span.quiet { "(following)" } } }
                @for file in ["stdout.log", "stderr.log"] {
                    h3 { (file) }
                    pre.log data-tail=(format!("{}/log?attempt={}&file={file}", node_href(&run_id, &node_id), attempt.number)) {}
                }
            }
        }
    };
    Ok(page::shell(
        &format!("{node_id} in run {run_id}"),
        Section::Runs,
        &body,
    ))
}

/// The artifacts execution `execution` read and wrote, as (`in`/`out`, artifact).
async fn artifacts_of(
    state: &ServerState,
    execution: Option<i64>,
) -> Result<Vec<(&'static str, millrace_metadata::Artifact)>, Failure> {
    let Some(execution) = execution else {
        return Ok(Vec::new());
    };
    let events = state
        .store
        .get_events(&EventQuery::of_executions([execution]))
        .await
        .map_err(ApiError::from)?;
    let ids: Vec<i64> = events.iter().map(|event| event.artifact_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let artifacts = state
        .store
        .get_artifacts(&NodeQuery::all().ids(ids))
        .await
        .map_err(ApiError::from)?;
    let mut listed = Vec::new();
    for event in &events {
        let direction = match event.event_type {
            EventType::Input | EventType::DeclaredInput | EventType::InternalInput => "in",
            _ => "out",
        };
        if let Some(artifact) = artifacts.iter().find(|a| a.id == Some(event.artifact_id)) {
            listed.push((direction, artifact.clone()));
        }
    }
    listed.sort_by_key(|(direction, artifact)| (*direction != "in", artifact.id));
    Ok(listed)
}

/// Why the node was or was not served from the cache, in words.
fn cache_words(explanation: &millrace_runner::CacheExplanation) -> Markup {
    match &explanation.verdict {
        CacheVerdict::NoExecution => html! { p { "The node has not executed in this run." } },
        CacheVerdict::Cached {
            reused_execution,
            key,
        } => html! {
            p {
                "Served from the cache: it reused execution "
                (reused_execution.map_or_else(|| "?".to_owned(), |id| id.to_string()))
                ", which had the same component, configuration and input artifacts (cache key "
                code { (key.chars().take(16).collect::<String>()) } ")."
            }
        },
        CacheVerdict::NotCached { reasons } => html! {
            p { "Executed, not served from the cache, because:" }
            ul { @for reason in reasons { li { (reason.to_string()) } } }
        },
        _ => html! { p.quiet { "No explanation recorded." } },
    }
}
