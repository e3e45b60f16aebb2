//! Finding the artifacts a node reads: outputs of its producers in this run, and the queries of
//! resolver nodes across runs.

use millrace_core::spec::{ChannelRef, ResolverStrategy};
use millrace_metadata::store::NODE_CONTEXT;
use millrace_metadata::{
    Artifact, ArtifactState, Comparison, EventQuery, EventType, Execution, ExecutionState,
    MetadataStore, NodeQuery, OrderBy, PathStep, Value,
};

use crate::error::Result;
use crate::record::RunRecord;

/// The custom property that names the node an execution ran.
pub const NODE_ID_PROPERTY: &str = "node_id";

/// The newest successful execution of `node` in this run.
pub(crate) async fn latest_execution_in_run(
    store: &dyn MetadataStore,
    record: &RunRecord,
    node: &str,
) -> Result<Option<Execution>> {
    Ok(store
        .get_executions(
            &NodeQuery::all()
                .in_context(record.run_context)
                .where_custom_property(NODE_ID_PROPERTY, Comparison::Eq, node)
                .states([
                    ExecutionState::Complete.code(),
                    ExecutionState::Cached.code(),
                ])
                .order_by(OrderBy::Id)
                .descending()
                .limit(1),
        )
        .await?
        .into_iter()
        .next())
}

/// The LIVE artifacts an execution wrote to `output`, in path order.
pub(crate) async fn execution_outputs(
    store: &dyn MetadataStore,
    execution_id: i64,
    output: &str,
) -> Result<Vec<Artifact>> {
    let mut events: Vec<_> = store
        .get_events(&EventQuery {
            artifact_ids: None,
            execution_ids: Some(vec![execution_id]),
        })
        .await?
        .into_iter()
        .filter(|event| {
            event.event_type == EventType::Output
                && matches!(event.path.first(), Some(PathStep::Key(key)) if key == output)
        })
        .collect();
    events.sort_by_key(|event| match event.path.get(1) {
        Some(PathStep::Index(index)) => *index,
        _ => 0,
    });
    let artifacts = store
        .get_artifacts(&NodeQuery::all().ids(events.iter().map(|event| event.artifact_id)))
        .await?;
    Ok(events
        .iter()
        .filter_map(|event| {
            artifacts
                .iter()
                .find(|artifact| artifact.id == Some(event.artifact_id))
        })
        .filter(|artifact| artifact.state == ArtifactState::Live)
        .cloned()
        .collect())
}

/// The artifacts `channel` holds in this run.
pub(crate) async fn channel_in_run(
    store: &dyn MetadataStore,
    record: &RunRecord,
    channel: &ChannelRef,
) -> Result<Vec<Artifact>> {
    match latest_execution_in_run(store, record, &channel.node).await? {
        Some(execution) => {
            execution_outputs(store, execution.id.unwrap_or_default(), &channel.output).await
        }
        None => Ok(Vec::new()),
    }
}

/// Successful executions of `node` in any run, newest first.
async fn executions_of_node(
    store: &dyn MetadataStore,
    record: &RunRecord,
    node: &str,
) -> Result<Vec<Execution>> {
    let Some(context) = store
        .get_contexts(
            &NodeQuery::all()
                .of_type(NODE_CONTEXT)
                .named(format!("{}.{node}", record.pipeline)),
        )
        .await?
        .into_iter()
        .next()
    else {
        return Ok(Vec::new());
    };
    Ok(store
        .get_executions(
            &NodeQuery::all()
                .in_context(context.id.unwrap_or_default())
                .states([
                    ExecutionState::Complete.code(),
                    ExecutionState::Cached.code(),
                ])
                .order_by(OrderBy::Id)
                .descending(),
        )
        .await?)
}

/// Every LIVE artifact `source` held in earlier runs, newest execution first, without repeats,
/// leaving out what it holds in this run (a resolver waits for the producer it names): a model's
/// baseline is never the model itself, even when this run took the model from the cache.
async fn history(
    store: &dyn MetadataStore,
    record: &RunRecord,
    source: &ChannelRef,
) -> Result<Vec<Artifact>> {
    let mut seen: std::collections::BTreeSet<Option<i64>> = channel_in_run(store, record, source)
        .await?
        .into_iter()
        .map(|artifact| artifact.id)
        .collect();
    let mut found = Vec::new();
    let this_run = Value::String(record.run_id.clone());
    for execution in executions_of_node(store, record, &source.node).await? {
        if execution.custom_properties.get("run_id") == Some(&this_run) {
            continue;
        }
        for artifact in
            execution_outputs(store, execution.id.unwrap_or_default(), &source.output).await?
        {
            if seen.insert(artifact.id) {
                found.push(artifact);
            }
        }
    }
    Ok(found)
}

/// Whether an evaluator blessed `model`: a `ModelBlessing` with `blessed = true` written by an
/// execution that read the model.
async fn is_blessed(store: &dyn MetadataStore, model: &Artifact) -> Result<bool> {
    let Some(model_id) = model.id else {
        return Ok(false);
    };
    let readers: Vec<i64> = store
        .get_events(&EventQuery {
            artifact_ids: Some(vec![model_id]),
            execution_ids: None,
        })
        .await?
        .into_iter()
        .filter(|event| event.event_type == EventType::Input)
        .map(|event| event.execution_id)
        .collect();
    if readers.is_empty() {
        return Ok(false);
    }
    let written: Vec<i64> = store
        .get_events(&EventQuery {
            artifact_ids: None,
            execution_ids: Some(readers),
        })
        .await?
        .into_iter()
        .filter(|event| event.event_type == EventType::Output)
        .map(|event| event.artifact_id)
        .collect();
    let blessings = store
        .get_artifacts(
            &NodeQuery::all()
                .ids(written)
                .of_type("ModelBlessing")
                .where_property("blessed", Comparison::Eq, true),
        )
        .await?;
    Ok(!blessings.is_empty())
}

fn span_of(artifact: &Artifact) -> Option<i64> {
    match artifact.properties.get("span") {
        Some(Value::Int(span)) => Some(*span),
        _ => None,
    }
}

/// What a resolver node selects.
pub(crate) async fn resolve(
    store: &dyn MetadataStore,
    record: &RunRecord,
    strategy: &ResolverStrategy,
    source: &ChannelRef,
) -> Result<Vec<Artifact>> {
    let candidates = history(store, record, source).await?;
    match strategy {
        ResolverStrategy::LatestArtifact => Ok(candidates.into_iter().take(1).collect()),
        ResolverStrategy::LatestBlessedModel => {
            for model in candidates {
                if is_blessed(store, &model).await? {
                    return Ok(vec![model]);
                }
            }
            Ok(Vec::new())
        }
        ResolverStrategy::SpanRange {
            min_span,
            max_span,
            latest_spans,
        } => {
            let mut in_range: Vec<Artifact> = candidates
                .into_iter()
                .filter(|artifact| {
                    span_of(artifact).is_some_and(|span| {
                        min_span.is_none_or(|min| span >= min)
                            && max_span.is_none_or(|max| span <= max)
                    })
                })
                .collect();
            in_range.sort_by_key(|artifact| std::cmp::Reverse(span_of(artifact)));
            if let Some(count) = latest_spans {
                let mut spans: Vec<i64> = in_range.iter().filter_map(span_of).collect();
                spans.dedup();
                spans.truncate(*count as usize);
                in_range
                    .retain(|artifact| span_of(artifact).is_some_and(|span| spans.contains(&span)));
            }
            in_range.reverse();
            Ok(in_range)
        }
    }
}
