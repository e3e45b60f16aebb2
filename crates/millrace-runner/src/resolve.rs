//! Finding the artifacts a node reads: outputs of its producers in this run, and the queries of
//! resolver nodes across runs.
//!
//! Every query here is bounded by the size of one run or by what it returns, never by how many
//! runs came before: this run's artifacts are found through the run's context; a producer's
//! earlier outputs through [`MetadataStore::get_output_artifacts`], which walks the producer's
//! node context from its newest artifact and stops at what the strategy needs. An unchanged
//! pipeline run for the thousandth time resolves as fast as the second time.
//!
//! Strategies see a producer's earlier outputs newest artifact first (the order TFX's
//! resolvers use), each artifact once, without what the producer holds in this run: a model's
//! baseline is never the model itself, even when this run took it from the cache.

use std::collections::BTreeSet;

use millrace_core::Artifact as _;
use millrace_core::artifact::standard::ModelBlessing;
use millrace_core::spec::{ChannelRef, ResolverStrategy};
use millrace_metadata::store::NODE_CONTEXT;
use millrace_metadata::{
    Artifact, ArtifactState, Comparison, EventQuery, EventType, Execution, ExecutionState,
    MetadataStore, NodeQuery, OrderBy, OutputQuery, PathStep, Value,
};

use crate::error::Result;
use crate::properties;
use crate::record::RunRecord;

/// The custom property that names the node an execution ran.
pub const NODE_ID_PROPERTY: &str = properties::NODE_ID;

/// How many earlier outputs a strategy reads at a time while it looks for one that fits.
const PAGE: u32 = 16;

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
                .where_custom_property(properties::NODE_ID, Comparison::Eq, node)
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
        .get_events(&EventQuery::of_executions([execution_id]).of_types([EventType::Output]))
        .await?
        .into_iter()
        .filter(|event| matches!(event.path.first(), Some(PathStep::Key(key)) if key == output))
        .collect();
    if events.is_empty() {
        return Ok(Vec::new());
    }
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

/// The context of `node` of this run's pipeline, if the node ever ran.
pub(crate) async fn node_context(
    store: &dyn MetadataStore,
    pipeline: &str,
    node: &str,
) -> Result<Option<i64>> {
    Ok(store
        .get_contexts(
            &NodeQuery::all()
                .of_type(NODE_CONTEXT)
                .named(format!("{pipeline}.{node}")),
        )
        .await?
        .into_iter()
        .next()
        .and_then(|context| context.id))
}

/// The LIVE artifacts `source`'s producer wrote to its output in earlier runs, newest first,
/// page by page, leaving out what it holds in this run.
struct EarlierOutputs<'a> {
    store: &'a dyn MetadataStore,
    query: Option<OutputQuery>,
    this_run: BTreeSet<i64>,
}

impl<'a> EarlierOutputs<'a> {
    async fn of(
        store: &'a dyn MetadataStore,
        record: &RunRecord,
        (source, this_run): (&ChannelRef, &[Artifact]),
        filters: impl FnOnce(OutputQuery) -> OutputQuery,
    ) -> Result<EarlierOutputs<'a>> {
        let this_run = this_run.iter().filter_map(|artifact| artifact.id).collect();
        let query = node_context(store, &record.pipeline, &source.node)
            .await?
            .map(|context| {
                filters(
                    OutputQuery::new(context, &source.output).states([ArtifactState::Live.code()]),
                )
            });
        Ok(EarlierOutputs {
            store,
            query,
            this_run,
        })
    }

    /// The next page (empty when there are no more): at most `size` artifacts.
    async fn next_page(&mut self, size: u32) -> Result<Vec<Artifact>> {
        let Some(query) = &mut self.query else {
            return Ok(Vec::new());
        };
        let size = size.saturating_add(u32::try_from(self.this_run.len()).unwrap_or(u32::MAX));
        let page = self
            .store
            .get_output_artifacts(&query.clone().limit(size))
            .await?;
        match page.last().and_then(|artifact| artifact.id) {
            Some(last) if page.len() as u64 == u64::from(size) => query.before_id = Some(last),
            _ => self.query = None,
        }
        Ok(page
            .into_iter()
            .filter(|artifact| artifact.id.is_some_and(|id| !self.this_run.contains(&id)))
            .collect())
    }

    /// Every remaining artifact.
    async fn all(mut self) -> Result<Vec<Artifact>> {
        let mut found = Vec::new();
        loop {
            let page = self.next_page(256).await?;
            if page.is_empty() && self.query.is_none() {
                return Ok(found);
            }
            found.extend(page);
        }
    }
}

/// How many of a model's first readers a blessing recorded before blessings named their model
/// is looked for among: the evaluator that blessed a model reads it in the run that trained it,
/// before the cached reruns that read it again.
const FIRST_READERS: u32 = 16;

/// Whether an evaluator blessed `model`: a LIVE `ModelBlessing` with `blessed = true` about it.
///
/// The Evaluator records the judged model's id on the blessing (`current_model_id`, TFX's
/// name), so this is one index lookup. Blessings written before it did are found through the
/// model's lineage — a blessing written by one of the model's first readers — which stays
/// bounded however many runs have read the model since.
async fn is_blessed(store: &dyn MetadataStore, model: &Artifact) -> Result<bool> {
    let Some(model_id) = model.id else {
        return Ok(false);
    };
    // Newest first: a model's blessing is usually among the newest, and the walk stops at it.
    let blessed = |query: NodeQuery| {
        query
            .of_type(ModelBlessing::TYPE_NAME)
            .where_property("blessed", Comparison::Eq, true)
            .states([ArtifactState::Live.code()])
            .order_by(OrderBy::Id)
            .descending()
            .limit(1)
    };
    let named = store
        .get_artifacts(&blessed(NodeQuery::all()).where_custom_property(
            ModelBlessing::CURRENT_MODEL_ID,
            Comparison::Eq,
            model_id,
        ))
        .await?;
    if !named.is_empty() {
        return Ok(true);
    }
    let readers: Vec<i64> = store
        .get_events(
            &EventQuery::of_artifacts([model_id])
                .of_types([EventType::Input])
                .limit(FIRST_READERS),
        )
        .await?
        .into_iter()
        .map(|event| event.execution_id)
        .collect();
    if readers.is_empty() {
        return Ok(false);
    }
    let written: Vec<i64> = store
        .get_events(&EventQuery::of_executions(readers).of_types([EventType::Output]))
        .await?
        .into_iter()
        .map(|event| event.artifact_id)
        .collect();
    let legacy = store
        .get_artifacts(&blessed(NodeQuery::all().ids(written)))
        .await?;
    Ok(!legacy.is_empty())
}

fn span_of(artifact: &Artifact) -> Option<i64> {
    match artifact.properties.get("span") {
        Some(Value::Int(span)) => Some(*span),
        _ => None,
    }
}

/// The LIVE Model artifact registered model `model`'s `alias` points at; nothing when the
/// model, the alias or a live artifact is missing (the first run of a pipeline), or when it is
/// one of `this_run` (what the resolver's source holds in this run) — the baseline of a model
/// is never the model itself, so an unchanged rerun resolves what the first run did.
pub(crate) async fn model_alias(
    store: &dyn MetadataStore,
    (model, alias): (&str, &str),
    this_run: &[Artifact],
) -> Result<Vec<Artifact>> {
    let version = match store.get_version_by_alias(model, alias).await {
        Ok(version) => version,
        Err(millrace_metadata::MetadataError::NotFound { .. }) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let Some(artifact_id) = version.artifact_id else {
        return Ok(Vec::new());
    };
    let found = store
        .get_artifacts(&millrace_metadata::NodeQuery::all().ids([artifact_id]))
        .await?;
    Ok(found
        .into_iter()
        .filter(|artifact| artifact.state == millrace_metadata::ArtifactState::Live)
        .filter(|artifact| this_run.iter().all(|own| own.id != artifact.id))
        .collect())
}

/// What a resolver node selects from what `source`'s producer wrote before this run; `this_run`
/// is what the producer holds in this run, which is never selected.
pub(crate) async fn resolve(
    store: &dyn MetadataStore,
    record: &RunRecord,
    strategy: &ResolverStrategy,
    (source, this_run): (&ChannelRef, &[Artifact]),
) -> Result<Vec<Artifact>> {
    match strategy {
        ResolverStrategy::LatestArtifact => {
            let mut earlier =
                EarlierOutputs::of(store, record, (source, this_run), |query| query).await?;
            loop {
                let page = earlier.next_page(1).await?;
                if let Some(newest) = page.into_iter().next() {
                    return Ok(vec![newest]);
                }
                if earlier.query.is_none() {
                    return Ok(Vec::new());
                }
            }
        }
        ResolverStrategy::LatestBlessedModel => {
            let mut earlier =
                EarlierOutputs::of(store, record, (source, this_run), |query| query).await?;
            loop {
                let page = earlier.next_page(PAGE).await?;
                for model in page {
                    if is_blessed(store, &model).await? {
                        return Ok(vec![model]);
                    }
                }
                if earlier.query.is_none() {
                    return Ok(Vec::new());
                }
            }
        }
        ResolverStrategy::SpanRange {
            min_span,
            max_span,
            latest_spans,
        } => {
            let (min_span, max_span) = (*min_span, *max_span);
            let earlier = EarlierOutputs::of(store, record, (source, this_run), |mut query| {
                if let Some(min) = min_span {
                    query = query.where_property("span", Comparison::Ge, min);
                }
                if let Some(max) = max_span {
                    query = query.where_property("span", Comparison::Le, max);
                }
                query
            })
            .await?;
            let mut in_range: Vec<Artifact> = earlier
                .all()
                .await?
                .into_iter()
                .filter(|artifact| span_of(artifact).is_some())
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
        ResolverStrategy::ModelAlias { model, alias } => {
            model_alias(store, (model, alias), this_run).await
        }
    }
}
