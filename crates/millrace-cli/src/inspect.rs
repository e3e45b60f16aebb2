//! The inspection commands: `runs list`, `runs show`, `artifacts list`, `lineage`,
//! `cache explain`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use millrace_core::Pipeline;
use millrace_metadata::store::{NODE_CONTEXT, PIPELINE_CONTEXT, PIPELINE_RUN_CONTEXT};
use millrace_metadata::{
    Artifact, Direction, Execution, ExecutionState, LineageQuery, MetadataStore, NodeQuery,
    OrderBy, Value,
};
use serde_json::{Value as Json, json};

use crate::command::{LineageDirection, Location};
use crate::error::CliError;

async fn open(location: &Location) -> Result<Arc<dyn MetadataStore>, CliError> {
    Ok(millrace_metadata::connect(&location.store)
        .await
        .map_err(millrace_runner::RunnerError::from)?)
}

fn metadata_error(error: millrace_metadata::MetadataError) -> CliError {
    CliError::Runner(error.into())
}

/// A time in milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn format_time(ms: i64) -> String {
    let (year, month, day, hour, minute, second) =
        millrace_runner::utc_date_time(ms.div_euclid(1000));
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_json().to_string(),
        None => String::new(),
    }
}

fn state_name<T: serde::Serialize>(state: &T) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn emit(
    stdout: &mut dyn Write,
    json: bool,
    document: &Json,
    lines: &[String],
) -> Result<(), CliError> {
    let text = if json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(document).unwrap_or_default()
        )
    } else {
        lines.iter().map(|line| format!("{line}\n")).collect()
    };
    stdout.write_all(text.as_bytes()).map_err(CliError::Stdout)
}

async fn pipeline_context(
    store: &dyn MetadataStore,
    pipeline: &Pipeline,
) -> Result<Option<i64>, CliError> {
    Ok(store
        .get_contexts(
            &NodeQuery::all()
                .of_type(PIPELINE_CONTEXT)
                .named(pipeline.name()),
        )
        .await
        .map_err(metadata_error)?
        .first()
        .and_then(|context| context.id))
}

pub(crate) async fn runs_list(
    pipeline: &Pipeline,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let mut rows = Vec::new();
    if let Some(pipeline_context) = pipeline_context(&*store, pipeline).await? {
        let runs = store
            .get_contexts(&NodeQuery {
                child_of: Some(pipeline_context),
                ..NodeQuery::all()
                    .of_type(PIPELINE_RUN_CONTEXT)
                    .order_by(OrderBy::CreateTime)
                    .descending()
            })
            .await
            .map_err(metadata_error)?;
        for run in runs {
            let executions = store
                .get_executions(&NodeQuery::all().in_context(run.id.unwrap_or_default()))
                .await
                .map_err(metadata_error)?;
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for execution in &executions {
                *counts
                    .entry(state_name(&execution.last_known_state))
                    .or_default() += 1;
            }
            rows.push(json!({
                "run_id": run.name,
                "started": format_time(run.create_time_since_epoch),
                "executions": counts,
                "fingerprint": text(run.custom_properties.get("fingerprint")),
            }));
        }
    }
    let lines: Vec<String> = if rows.is_empty() {
        vec![format!(
            "no runs of `{}` in {}",
            pipeline.name(),
            store.location()
        )]
    } else {
        rows.iter()
            .map(|row| {
                let counts = row["executions"]
                    .as_object()
                    .map(|counts| {
                        counts
                            .iter()
                            .map(|(state, n)| format!("{n} {}", state.to_lowercase()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                format!(
                    "{}  {}  {counts}",
                    row["run_id"].as_str().unwrap_or(""),
                    row["started"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    emit(stdout, json, &Json::Array(rows), &lines)
}

pub(crate) async fn runs_show(
    pipeline: &Pipeline,
    run_id: &str,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let run = store
        .get_contexts(&NodeQuery::all().of_type(PIPELINE_RUN_CONTEXT).named(run_id))
        .await
        .map_err(metadata_error)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            CliError::Runner(millrace_runner::RunnerError::Mismatch(format!(
                "there is no run `{run_id}`"
            )))
        })?;
    let executions = store
        .get_executions(
            &NodeQuery::all()
                .in_context(run.id.unwrap_or_default())
                .order_by(OrderBy::Id),
        )
        .await
        .map_err(metadata_error)?;
    let mut by_node: BTreeMap<String, Vec<&Execution>> = BTreeMap::new();
    for execution in &executions {
        by_node
            .entry(text(execution.custom_properties.get("node_id")))
            .or_default()
            .push(execution);
    }
    let mut rows = Vec::new();
    for node in pipeline.nodes_in_order() {
        let Some(list) = by_node.get(&node.id) else {
            rows.push(json!({"node": node.id, "state": "NOT_STARTED", "attempts": 0}));
            continue;
        };
        let Some(last) = list.last() else { continue };
        let skipped = matches!(
            last.custom_properties.get("skipped"),
            Some(Value::Bool(true))
        );
        rows.push(json!({
            "node": node.id,
            "state": if skipped { "SKIPPED".to_owned() } else { state_name(&last.last_known_state) },
            "attempts": list.iter().filter(|e| !matches!(e.last_known_state, ExecutionState::Cached | ExecutionState::Canceled)).count(),
            "execution_id": last.id,
            "started_ms": last.create_time_since_epoch,
            "finished_ms": last.last_update_time_since_epoch,
            "duration_ms": last.last_update_time_since_epoch - last.create_time_since_epoch,
            "message": text(last.custom_properties.get("error").or_else(|| last.custom_properties.get("reason")).or_else(|| last.custom_properties.get(millrace_runner::SUMMARY_PROPERTY))),
        }));
    }
    let mut lines = vec![format!(
        "run {run_id} of `{}`, started {}",
        pipeline.name(),
        format_time(run.create_time_since_epoch)
    )];
    for row in &rows {
        lines.push(format!(
            "  {:<24} {:<12} attempts {}  {} ms  {}",
            row["node"].as_str().unwrap_or(""),
            row["state"].as_str().unwrap_or(""),
            row["attempts"],
            row["duration_ms"].as_i64().unwrap_or(0),
            row["message"]
                .as_str()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    emit(
        stdout,
        json,
        &json!({"run_id": run_id, "nodes": rows}),
        &lines,
    )
}

fn artifact_json(artifact: &Artifact) -> Json {
    json!({
        "id": artifact.id,
        "type": artifact.type_name,
        "state": state_name(&artifact.state),
        "uri": artifact.uri,
        "created": format_time(artifact.create_time_since_epoch),
        "properties": artifact.properties.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        "custom_properties": artifact.custom_properties.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
    })
}

pub(crate) async fn artifacts_list(
    pipeline: &Pipeline,
    artifact_type: Option<&str>,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let mut artifacts = Vec::new();
    if let Some(pipeline_context) = pipeline_context(&*store, pipeline).await? {
        let mut query = NodeQuery::all()
            .in_context(pipeline_context)
            .order_by(OrderBy::Id)
            .descending();
        if let Some(name) = artifact_type {
            query = query.of_type(name);
        }
        artifacts = store.get_artifacts(&query).await.map_err(metadata_error)?;
    }
    let lines: Vec<String> = artifacts
        .iter()
        .map(|a| {
            format!(
                "{:>6}  {:<20} {:<20} {}",
                a.id.unwrap_or_default(),
                a.type_name.as_deref().unwrap_or(""),
                state_name(&a.state),
                a.uri.as_deref().unwrap_or("")
            )
        })
        .collect();
    emit(
        stdout,
        json,
        &Json::Array(artifacts.iter().map(artifact_json).collect()),
        &lines,
    )
}

pub(crate) async fn lineage(
    artifact_id: i64,
    direction: LineageDirection,
    hops: u32,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let graph = store
        .get_lineage(&LineageQuery {
            artifact_ids: vec![artifact_id],
            execution_ids: vec![],
            direction: match direction {
                LineageDirection::Upstream => Direction::Upstream,
                LineageDirection::Downstream => Direction::Downstream,
                LineageDirection::Both => Direction::Both,
            },
            max_hops: hops,
        })
        .await
        .map_err(metadata_error)?;
    if graph.artifacts.is_empty() {
        return Err(CliError::Runner(millrace_runner::RunnerError::Mismatch(
            format!("there is no artifact {artifact_id}"),
        )));
    }
    let describe_artifact = |id: i64| {
        graph
            .artifacts
            .iter()
            .find(|a| a.id == Some(id))
            .map_or(format!("artifact {id}"), |a| {
                format!(
                    "artifact {id} ({}, {})",
                    a.type_name.as_deref().unwrap_or("?"),
                    a.uri.as_deref().unwrap_or("")
                )
            })
    };
    let describe_execution = |id: i64| {
        graph
            .executions
            .iter()
            .find(|e| e.id == Some(id))
            .map_or(format!("execution {id}"), |e| {
                format!(
                    "execution {id} (node {}, {})",
                    text(e.custom_properties.get("node_id")),
                    state_name(&e.last_known_state)
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
        edges.push(json!({"artifact_id": event.artifact_id, "execution_id": event.execution_id, "type": state_name(&event.event_type)}));
    }
    if lines.is_empty() {
        lines.push(format!(
            "{} has no recorded lineage",
            describe_artifact(artifact_id)
        ));
    }
    let document = json!({
        "artifacts": graph.artifacts.iter().map(artifact_json).collect::<Vec<_>>(),
        "executions": graph.executions.iter().map(|e| json!({"id": e.id, "type": e.type_name, "node": text(e.custom_properties.get("node_id")), "state": state_name(&e.last_known_state)})).collect::<Vec<_>>(),
        "events": edges,
    });
    emit(stdout, json, &document, &lines)
}

/// JSON for people: integral numbers without a fraction (a protobuf Struct stores every
/// number as a double, so ids read back as `3.0`).
fn show(value: &Json) -> String {
    fn tidy(value: &Json) -> Json {
        match value {
            Json::Number(number) => match number.as_f64() {
                Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => {
                    Json::from(float as i64)
                }
                _ => value.clone(),
            },
            Json::Array(items) => Json::Array(items.iter().map(tidy).collect()),
            Json::Object(map) => {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), tidy(v))).collect())
            }
            other => other.clone(),
        }
    }
    tidy(value).to_string()
}

/// What differs between two sets of cache components, as sentences.
fn differences(
    previous: &serde_json::Map<String, Json>,
    current: &serde_json::Map<String, Json>,
) -> Vec<String> {
    let mut reasons = Vec::new();
    for key in ["kind", "version"] {
        if previous.get(key) != current.get(key) {
            reasons.push(format!(
                "the component's {key} changed: {} → {}",
                show(previous.get(key).unwrap_or(&Json::Null)),
                show(current.get(key).unwrap_or(&Json::Null))
            ));
        }
    }
    let empty = serde_json::Map::new();
    for section in ["config", "inputs", "outputs"] {
        let old = previous
            .get(section)
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let new = current
            .get(section)
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let (before, after) = (old.get(name), new.get(name));
            if before != after {
                let what = match section {
                    "config" => "configuration value",
                    "inputs" => "input artifacts of",
                    _ => "output",
                };
                reasons.push(format!(
                    "{what} `{name}` changed: {} → {}",
                    before.map_or("(none)".to_owned(), show),
                    after.map_or("(none)".to_owned(), show)
                ));
            }
        }
    }
    reasons
}

pub(crate) async fn cache_explain(
    pipeline: &Pipeline,
    node: &str,
    run_id: Option<&str>,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let spec = pipeline.node(node)?;
    let store = open(location).await?;
    let context = store
        .get_contexts(
            &NodeQuery::all()
                .of_type(NODE_CONTEXT)
                .named(format!("{}.{node}", pipeline.name())),
        )
        .await
        .map_err(metadata_error)?
        .into_iter()
        .next();
    let mut executions = match context.and_then(|context| context.id) {
        Some(context_id) => store
            .get_executions(
                &NodeQuery::all()
                    .in_context(context_id)
                    .order_by(OrderBy::Id)
                    .descending(),
            )
            .await
            .map_err(metadata_error)?,
        None => Vec::new(),
    };
    executions.retain(|e| e.custom_properties.contains_key("cache_components"));
    let latest_index = executions
        .iter()
        .position(|e| run_id.is_none_or(|run| text(e.custom_properties.get("run_id")) == run));
    let (verdict, reasons, execution_id) = match latest_index {
        None => (
            "no execution".to_owned(),
            vec![format!(
                "node `{node}` has not run{}",
                run_id.map(|r| format!(" in run {r}")).unwrap_or_default()
            )],
            None,
        ),
        Some(index) => {
            let latest = &executions[index];
            let components = match latest.custom_properties.get("cache_components") {
                Some(Value::Struct(map)) => map.clone(),
                _ => serde_json::Map::new(),
            };
            if latest.last_known_state == ExecutionState::Cached {
                let source = latest
                    .custom_properties
                    .get("cached_execution_id")
                    .map(|v| v.to_json().to_string())
                    .unwrap_or_default();
                (
                    "cached".to_owned(),
                    vec![format!(
                        "it reused execution {source}: same component, configuration and input artifacts (cache key {})",
                        text(latest.custom_properties.get("cache_key"))
                    )],
                    latest.id,
                )
            } else {
                let mut reasons = Vec::new();
                if !spec.options.cache {
                    reasons.push("caching is turned off for this node".to_owned());
                }
                let previous = executions[index + 1..]
                    .iter()
                    .find(|e| e.last_known_state == ExecutionState::Complete);
                match previous {
                    None => reasons.push(
                        "no earlier successful execution of this node: nothing to reuse".to_owned(),
                    ),
                    Some(previous) => {
                        let before = match previous.custom_properties.get("cache_components") {
                            Some(Value::Struct(map)) => map.clone(),
                            _ => serde_json::Map::new(),
                        };
                        let changed = differences(&before, &components);
                        if changed.is_empty() && spec.options.cache {
                            reasons.push(format!(
                                "execution {} had the same cache key, but its outputs were no longer LIVE or their files were gone",
                                previous.id.unwrap_or_default()
                            ));
                        }
                        reasons.extend(changed.into_iter().map(|reason| {
                            format!(
                                "{reason} (compared with execution {})",
                                previous.id.unwrap_or_default()
                            )
                        }));
                    }
                }
                ("not cached".to_owned(), reasons, latest.id)
            }
        }
    };
    let mut lines = vec![format!(
        "node `{node}`{}: {verdict}",
        execution_id
            .map(|id| format!(", execution {id}"))
            .unwrap_or_default()
    )];
    lines.extend(reasons.iter().map(|reason| format!("  - {reason}")));
    emit(
        stdout,
        json,
        &json!({"node": node, "execution_id": execution_id, "verdict": verdict, "reasons": reasons}),
        &lines,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        // Checked with Python: datetime.fromtimestamp(1795784050.390, timezone.utc).
        assert_eq!(format_time(1_795_784_050_390), "2026-11-27 12:54:10");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn differences_name_what_changed() {
        let before = json!({"kind": "k", "version": 1, "config": {"a": 1}, "inputs": {"x": [1]}});
        let after = json!({"kind": "k", "version": 2, "config": {"a": 2}, "inputs": {"x": [3]}});
        let reasons = differences(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].contains("version"));
        assert!(reasons[1].contains("`a`"));
        assert!(reasons[2].contains("`x`"));
    }
}
