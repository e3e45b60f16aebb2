//! Everything the command line prints, in one place: each answer as JSON (`--json`) or as lines
//! for people, with one spelling of states and one format of times.
//!
//! The commands get their answers from the runner (the run summary, the run history, the cache
//! explanation) and hand them here; nothing here queries a store or decides anything.

use std::io::Write;

use millrace_metadata::{Artifact, Execution, LineageGraph, Value};
use millrace_runner::{
    CacheExplanation, CacheVerdict, NodeOutcome, NodeState, RunDetails, RunEvent, RunListing,
    RunState, RunSummary, properties,
};
use serde_json::{Value as Json, json};

use crate::error::CliError;

pub(crate) mod tracking;

/// An answer, ready to print either way.
pub(crate) struct Rendered {
    /// The machine-readable form.
    pub(crate) json: Json,
    /// The lines for people.
    pub(crate) lines: Vec<String>,
}

impl Rendered {
    /// Writes the answer: JSON when `json`, the lines otherwise.
    pub(crate) fn write(&self, stdout: &mut dyn Write, json: bool) -> Result<(), CliError> {
        let text = if json {
            format!(
                "{}\n",
                serde_json::to_string_pretty(&self.json).unwrap_or_default()
            )
        } else {
            self.lines.iter().map(|line| format!("{line}\n")).collect()
        };
        stdout.write_all(text.as_bytes()).map_err(CliError::Stdout)
    }
}

/// A time in milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn time(ms: i64) -> String {
    let (year, month, day, hour, minute, second) =
        millrace_runner::utc_date_time(ms.div_euclid(1000));
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// A node state as people read it in a summary: failures stand out.
pub(crate) fn node_state(state: NodeState) -> &'static str {
    match state {
        NodeState::Complete => "complete",
        NodeState::Cached => "cached",
        NodeState::Failed => "FAILED",
        NodeState::Skipped => "skipped",
        NodeState::UpstreamFailed => "upstream failed",
        NodeState::Canceled => "canceled",
        NodeState::Running => "running",
        NodeState::NotStarted => "not started",
    }
}

/// A run state as people read it.
fn run_state(state: RunState) -> &'static str {
    match state {
        RunState::Succeeded => "succeeded",
        RunState::Failed => "FAILED",
        RunState::Running => "running",
        RunState::Interrupted => "interrupted",
        RunState::Incomplete => "incomplete",
    }
}

/// The first line of a message.
fn first_line(message: Option<&str>) -> &str {
    message.and_then(|text| text.lines().next()).unwrap_or("")
}

/// What `run` prints at the end: the verdict and a line per node.
pub(crate) fn run_summary(summary: &RunSummary) -> Rendered {
    let verdict = if summary.succeeded {
        "succeeded"
    } else {
        "FAILED"
    };
    let mut lines = vec![format!(
        "run {} of `{}` {verdict} in {:.2} s",
        summary.run_id,
        summary.pipeline,
        summary.duration_ms as f64 / 1000.0
    )];
    let width = summary
        .nodes
        .iter()
        .map(|node| node.node.len())
        .max()
        .unwrap_or(4);
    for node in &summary.nodes {
        let detail = match (&node.message, node.attempts) {
            (Some(message), _) => first_line(Some(message)).to_owned(),
            (None, attempts) if attempts > 1 => format!("{attempts} attempts"),
            (None, _) => String::new(),
        };
        lines.push(format!(
            "  {:<width$}  {:<15}  {:>7} ms  {detail}",
            node.node,
            node_state(node.state),
            node.duration_ms
        ));
    }
    Rendered {
        json: serde_json::to_value(summary).unwrap_or(Json::Null),
        lines,
    }
}

/// What `run-node` prints: the node's outcome.
pub(crate) fn node_outcome(run_id: &str, outcome: &NodeOutcome) -> Rendered {
    Rendered {
        json: serde_json::to_value(outcome).unwrap_or(Json::Null),
        lines: vec![format!(
            "node `{}` of run {run_id}: {}{}",
            outcome.node,
            node_state(outcome.state),
            outcome
                .message
                .as_deref()
                .map(|message| format!(" ({message})"))
                .unwrap_or_default()
        )],
    }
}

/// Redraws one line on standard error: how many nodes finished, and which run.
pub(crate) async fn progress(mut events: tokio::sync::mpsc::UnboundedReceiver<RunEvent>) {
    let (mut total, mut finished) = (0, 0);
    let mut running: Vec<String> = Vec::new();
    let mut drawn = false;
    while let Some(event) = events.recv().await {
        match event {
            RunEvent::Started { nodes, .. } => total = nodes,
            RunEvent::NodeStarted(node) => running.push(node),
            RunEvent::NodeFinished(outcome) => {
                finished += 1;
                running.retain(|node| *node != outcome.node);
            }
        }
        let line = format!("[{finished}/{total}] running: {}", running.join(", "));
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        drawn = true;
    }
    if drawn {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

/// `runs list`.
pub(crate) fn run_listing(pipeline: &str, store: &str, runs: &[RunListing]) -> Rendered {
    let lines = if runs.is_empty() {
        vec![format!("no runs of `{pipeline}` in {store}")]
    } else {
        runs.iter()
            .map(|run| {
                let counts = run
                    .nodes
                    .iter()
                    .map(|(state, count)| format!("{count} {}", node_state(*state)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "{}  {}  {:<11}  {counts}",
                    run.run.run_id,
                    time(run.run.started_ms),
                    run_state(run.run.state)
                )
            })
            .collect()
    };
    Rendered {
        json: serde_json::to_value(runs).unwrap_or(Json::Null),
        lines,
    }
}

/// `runs show`.
pub(crate) fn run_details(run: &RunDetails) -> Rendered {
    let mut lines = vec![format!(
        "run {} of `{}`, started {}: {}",
        run.run.run_id,
        run.run.pipeline,
        time(run.run.started_ms),
        run_state(run.run.state)
    )];
    for node in &run.nodes {
        lines.push(format!(
            "  {:<24} {:<15} attempts {}  {} ms  {}",
            node.node,
            node_state(node.state),
            node.attempts.len(),
            node.duration_ms.unwrap_or(0),
            first_line(node.message.as_deref())
        ));
    }
    Rendered {
        json: serde_json::to_value(run).unwrap_or(Json::Null),
        lines,
    }
}

/// `cache explain`.
pub(crate) fn cache_explanation(explanation: &CacheExplanation) -> Rendered {
    let (verdict, reasons): (&str, Vec<String>) = match &explanation.verdict {
        CacheVerdict::NoExecution => (
            "no execution",
            vec![format!("node `{}` has not run", explanation.node)],
        ),
        CacheVerdict::Cached {
            reused_execution,
            key,
        } => (
            "cached",
            vec![format!(
                "it reused execution {}: same component, configuration and input artifacts (cache key {key})",
                reused_execution.map_or_else(|| "?".to_owned(), |id| id.to_string())
            )],
        ),
        CacheVerdict::NotCached { reasons } => (
            "not cached",
            reasons.iter().map(ToString::to_string).collect(),
        ),
        _ => ("unknown", Vec::new()),
    };
    let mut lines = vec![format!(
        "node `{}`{}: {verdict}",
        explanation.node,
        explanation
            .execution_id
            .map(|id| format!(", execution {id}"))
            .unwrap_or_default()
    )];
    lines.extend(reasons.iter().map(|reason| format!("  - {reason}")));
    Rendered {
        json: serde_json::to_value(explanation).unwrap_or(Json::Null),
        lines,
    }
}

/// A property value as text: strings as they are, others as JSON.
fn value_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_json().to_string(),
        None => String::new(),
    }
}

/// A state's name as ML-Metadata spells it (`LIVE`, `COMPLETE`).
fn metadata_state<T: serde::Serialize>(state: &T) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn artifact_json(artifact: &Artifact) -> Json {
    let map = |properties: &millrace_metadata::Properties| -> serde_json::Map<String, Json> {
        properties
            .iter()
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect()
    };
    json!({
        "id": artifact.id,
        "type": artifact.type_name,
        "state": metadata_state(&artifact.state),
        "uri": artifact.uri,
        "created": time(artifact.create_time_since_epoch),
        "properties": map(&artifact.properties),
        "custom_properties": map(&artifact.custom_properties),
    })
}

/// `artifacts list`.
pub(crate) fn artifacts(artifacts: &[Artifact]) -> Rendered {
    Rendered {
        json: Json::Array(artifacts.iter().map(artifact_json).collect()),
        lines: artifacts
            .iter()
            .map(|artifact| {
                format!(
                    "{:>6}  {:<20} {:<20} {}",
                    artifact.id.unwrap_or_default(),
                    artifact.type_name.as_deref().unwrap_or(""),
                    metadata_state(&artifact.state),
                    artifact.uri.as_deref().unwrap_or("")
                )
            })
            .collect(),
    }
}

fn execution_node(execution: &Execution) -> String {
    value_text(execution.custom_properties.get(properties::NODE_ID))
}

/// `lineage`: an edge per event, artifacts and executions described.
pub(crate) fn lineage(artifact_id: i64, graph: &LineageGraph) -> Rendered {
    let describe_artifact = |id: i64| {
        graph
            .artifacts
            .iter()
            .find(|artifact| artifact.id == Some(id))
            .map_or(format!("artifact {id}"), |artifact| {
                format!(
                    "artifact {id} ({}, {})",
                    artifact.type_name.as_deref().unwrap_or("?"),
                    artifact.uri.as_deref().unwrap_or("")
                )
            })
    };
    let describe_execution = |id: i64| {
        graph
            .executions
            .iter()
            .find(|execution| execution.id == Some(id))
            .map_or(format!("execution {id}"), |execution| {
                format!(
                    "execution {id} (node {}, {})",
                    execution_node(execution),
                    metadata_state(&execution.last_known_state)
                )
            })
    };
    let mut lines = Vec::new();
    let mut edges = Vec::new();
    for event in &graph.events {
        let (from, to) = if event.event_type.is_input() {
            (
                describe_artifact(event.artifact_id),
                describe_execution(event.execution_id),
            )
        } else {
            (
                describe_execution(event.execution_id),
                describe_artifact(event.artifact_id),
            )
        };
        lines.push(format!("{from} → {to}"));
        edges.push(json!({
            "artifact_id": event.artifact_id,
            "execution_id": event.execution_id,
            "type": metadata_state(&event.event_type),
        }));
    }
    if lines.is_empty() {
        lines.push(format!(
            "{} has no recorded lineage",
            describe_artifact(artifact_id)
        ));
    }
    let executions: Vec<Json> = graph
        .executions
        .iter()
        .map(|execution| {
            json!({
                "id": execution.id,
                "type": execution.type_name,
                "node": execution_node(execution),
                "state": metadata_state(&execution.last_known_state),
            })
        })
        .collect();
    Rendered {
        json: json!({
            "artifacts": graph.artifacts.iter().map(artifact_json).collect::<Vec<_>>(),
            "executions": executions,
            "events": edges,
        }),
        lines,
    }
}

/// What `image --out` says on standard error: where the Containerfile went.
#[cfg(feature = "containers")]
pub(crate) fn containerfile_written(pipeline: &str, path: &std::path::Path) -> Rendered {
    Rendered {
        json: json!({ "pipeline": pipeline, "containerfile": path }),
        lines: vec![format!(
            "wrote the Containerfile of `{pipeline}` to {}",
            path.display()
        )],
    }
}

/// What `image build` prints: the image, its size and how long the build took.
#[cfg(feature = "containers")]
pub(crate) fn image_built(built: &millrace_containers::BuiltImage) -> Rendered {
    Rendered {
        json: json!({
            "tag": built.tag,
            "engine": built.engine,
            "size_bytes": built.size_bytes,
            "duration_ms": u64::try_from(built.duration.as_millis()).unwrap_or(u64::MAX),
        }),
        lines: vec![format!(
            "built image {} with {}: {:.0} MB in {:.1} s",
            built.tag,
            built.engine,
            built.size_bytes as f64 / 1e6,
            built.duration.as_secs_f64()
        )],
    }
}

/// What `gc` did.
pub(crate) fn garbage(
    pruned: Option<&millrace_metadata::PruneReport>,
    collected: &millrace_runner::GarbageCollection,
) -> Rendered {
    let mut lines = Vec::new();
    if let Some(pruned) = pruned {
        lines.push(format!(
            "pruned {} run(s); {} artifact(s) only they used marked for deletion",
            pruned.runs.len(),
            pruned.marked_artifacts.len()
        ));
    }
    lines.push(format!("removed {} artifact(s)", collected.removed.len()));
    for (id, uri) in &collected.removed {
        lines.push(format!("  {id:>6}  {uri}"));
    }
    for (id, uri, error) in &collected.failed {
        lines.push(format!("  {id:>6}  {uri}  NOT REMOVED: {error}"));
    }
    if !collected.outside_root.is_empty() {
        lines.push(format!(
            "left {} artifact(s) outside the artifact root alone (imported data)",
            collected.outside_root.len()
        ));
    }
    let json = json!({
        "pruned_runs": pruned.map(|pruned| pruned.runs.clone()),
        "marked_artifacts": pruned.map(|pruned| pruned.marked_artifacts.clone()),
        "removed": collected.removed.iter().map(|(id, uri)| json!({"id": id, "uri": uri})).collect::<Vec<_>>(),
        "failed": collected.failed.iter().map(|(id, uri, error)| json!({"id": id, "uri": uri, "error": error})).collect::<Vec<_>>(),
        "outside_root": collected.outside_root.iter().map(|(id, uri)| json!({"id": id, "uri": uri})).collect::<Vec<_>>(),
    });
    Rendered { json, lines }
}

/// What `doctor` found and repaired.
pub(crate) fn doctor(report: &millrace_runner::DoctorReport) -> Rendered {
    let checked = &report.checked;
    let mut lines = vec![
        format!("store {}, artifact root {}", report.store, report.root),
        format!(
            "checked {} LIVE artifact(s) under the root ({} outside it, not checked), {} \
             PENDING, {} staging and {} output director(ies)",
            checked.live, checked.outside_root, checked.pending, checked.staging, checked.outputs
        ),
    ];
    for finding in &report.findings {
        let mut subject = Vec::new();
        if !finding.artifact_ids.is_empty() {
            let ids: Vec<String> = finding.artifact_ids.iter().map(i64::to_string).collect();
            subject.push(format!("artifact {}", ids.join(", ")));
        }
        if let Some(id) = finding.execution_id {
            subject.push(format!("execution {id}"));
        }
        if let Some(node) = &finding.node {
            subject.push(format!("node {node}"));
        }
        if let Some(run) = &finding.run_id {
            subject.push(format!("run {run}"));
        }
        lines.push(format!(
            "{}: {} ({})",
            finding.kind.as_str(),
            finding.location,
            subject.join(", ")
        ));
        lines.push(format!("    {}", finding.problem));
        let repair = match (&finding.repair, finding.repaired, &finding.repair_error) {
            (None, _, _) => "not repaired: needs a person".to_owned(),
            (Some(what), true, _) => format!("repaired: {what}"),
            (Some(what), false, Some(error)) => format!("repair failed ({what}): {error}"),
            (Some(what), false, None) => format!("--repair would {what}"),
        };
        lines.push(format!("    {repair}"));
    }
    for running in &report.running {
        lines.push(format!(
            "running: execution {} of node {} in run {} (left alone; if its process is gone, \
             resume the run)",
            running.execution_id, running.node, running.run_id
        ));
    }
    let repaired = report.findings.len() - report.remaining();
    lines.push(if report.findings.is_empty() {
        "no problems found".to_owned()
    } else {
        format!(
            "{} problem(s) found, {repaired} repaired, {} remain",
            report.findings.len(),
            report.remaining()
        )
    });
    Rendered {
        json: serde_json::to_value(report).unwrap_or_default(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00:00");
        // Checked with Python: datetime.fromtimestamp(1795784050.390, timezone.utc).
        assert_eq!(time(1_795_784_050_390), "2026-11-27 12:54:10");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn every_node_state_has_a_label() {
        for state in NodeState::ALL {
            assert!(!node_state(state).is_empty());
        }
        assert_eq!(node_state(NodeState::UpstreamFailed), "upstream failed");
    }
}
