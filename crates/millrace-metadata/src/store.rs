//! The `MetadataStore` trait: the ML-Metadata operations every backend provides, plus the
//! composite operations built on them (caching, garbage collection, pruning).

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;

use crate::error::{MetadataError, Result};
use crate::model::{
    Artifact, ArtifactState, Association, Attribution, Context, Event, EventType, Execution,
    ExecutionState, NodeType, ParentContext, PathStep, TypeKind,
};
use crate::query::{LineageQuery, NodeQuery, OrderBy, OutputQuery};

/// An artifact to write with an execution, and how it relates to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactAndEvent {
    /// The artifact (new when its id is `None`, updated otherwise).
    pub artifact: Artifact,
    /// The event linking it to the execution, if any (its ids are filled in).
    pub event: Option<(EventType, Vec<PathStep>)>,
}

/// The text in an artifact URI of a [`PutExecution`] that the store replaces by the
/// execution's id, so that a new execution and outputs named after it are written together.
pub const EXECUTION_ID_PLACEHOLDER: &str = "{execution_id}";

/// The atomic write "an execution with its input and output artifacts, events and contexts".
///
/// An artifact URI may contain [`EXECUTION_ID_PLACEHOLDER`]: it is replaced by the id of the
/// execution, which a new execution only gets inside the transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PutExecution {
    /// The execution (new when its id is `None`, updated otherwise).
    pub execution: Execution,
    /// Its artifacts and events.
    pub artifacts: Vec<ArtifactAndEvent>,
    /// Contexts to associate the execution with and attribute the artifacts to; a new context
    /// whose type and name exist already is reused.
    pub contexts: Vec<Context>,
}

/// The ids [`MetadataStore::put_execution`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutExecutionResult {
    /// The execution.
    pub execution_id: i64,
    /// The artifacts, in request order.
    pub artifact_ids: Vec<i64>,
    /// The contexts, in request order.
    pub context_ids: Vec<i64>,
}

/// Which events to read: those touching any of these artifacts or executions, optionally only
/// of some types and at most so many. Events come by execution, then artifact.
///
/// ```
/// use millrace_metadata::{EventQuery, EventType};
///
/// // The first three executions that read artifact 7.
/// let readers = EventQuery::of_artifacts([7]).of_types([EventType::Input]).limit(3);
/// assert_eq!(readers.limit, Some(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventQuery {
    /// Events of these artifacts (`None`: no condition on artifacts).
    pub artifact_ids: Option<Vec<i64>>,
    /// Events of these executions (`None`: no condition on executions).
    pub execution_ids: Option<Vec<i64>>,
    /// Only events of these types (`None`: every type).
    pub event_types: Option<Vec<EventType>>,
    /// At most this many events, the earliest executions' first.
    pub limit: Option<u32>,
}

impl EventQuery {
    /// The events of these artifacts.
    pub fn of_artifacts(ids: impl IntoIterator<Item = i64>) -> Self {
        EventQuery {
            artifact_ids: Some(ids.into_iter().collect()),
            ..EventQuery::default()
        }
    }

    /// The events of these executions.
    pub fn of_executions(ids: impl IntoIterator<Item = i64>) -> Self {
        EventQuery {
            execution_ids: Some(ids.into_iter().collect()),
            ..EventQuery::default()
        }
    }

    /// Only events of these types.
    pub fn of_types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.event_types = Some(types.into_iter().collect());
        self
    }

    /// At most `limit` events.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// The subgraph a lineage query reached.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineageGraph {
    /// The artifacts, by id.
    pub artifacts: Vec<Artifact>,
    /// The executions, by id.
    pub executions: Vec<Execution>,
    /// The events between them.
    pub events: Vec<Event>,
    /// The contexts the artifacts are attributed to and the executions associated with.
    pub contexts: Vec<Context>,
}

/// An earlier execution whose results can be reused.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedExecution {
    /// The execution.
    pub execution: Execution,
    /// Its output events and artifacts.
    pub outputs: Vec<(Event, Artifact)>,
}

/// What garbage collection did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GarbageReport {
    /// Artifacts whose files were removed and which are now DELETED.
    pub deleted: Vec<i64>,
    /// Artifacts whose files could not be removed (they stay MARKED_FOR_DELETION), with why.
    pub failed: Vec<(i64, String)>,
}

/// What pruning did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// The `pipeline_run` contexts pruned.
    pub runs: Vec<i64>,
    /// The artifacts marked for deletion.
    pub marked_artifacts: Vec<i64>,
}

/// The context type of a cache entry (TFX's vocabulary): its name is the cache key.
pub const EXECUTION_CACHE_CONTEXT: &str = "execution_cache";
/// The context type of a pipeline.
pub const PIPELINE_CONTEXT: &str = "pipeline";
/// The context type of a pipeline run.
pub const PIPELINE_RUN_CONTEXT: &str = "pipeline_run";
/// The context type of a node of a pipeline.
pub const NODE_CONTEXT: &str = "node";

/// A metadata store: the ML-Metadata data model, lineage, caching and garbage collection.
///
/// Every write is one transaction: it happens entirely or not at all.
#[async_trait]
pub trait MetadataStore:
    crate::tracking::TrackingStore
    + crate::registry::RegistryStore
    + crate::triggers::TriggerStore
    + Send
    + Sync
    + fmt::Debug
{
    /// Creates a type, or extends an existing one of the same kind, name and version with new
    /// properties. Changing an existing property's type is an error. Returns its id.
    async fn put_type(&self, node_type: &NodeType) -> Result<i64>;

    /// The type of `kind` called `name` (the unversioned one if several exist).
    async fn get_type(&self, kind: TypeKind, name: &str) -> Result<Option<NodeType>>;

    /// Every type of `kind`, by id, without ML-Metadata's simple types.
    async fn get_types(&self, kind: TypeKind) -> Result<Vec<NodeType>>;

    /// Creates artifacts (id `None`) or updates them (id set); returns their ids.
    async fn put_artifacts(&self, artifacts: &[Artifact]) -> Result<Vec<i64>>;

    /// Creates or updates executions; returns their ids.
    async fn put_executions(&self, executions: &[Execution]) -> Result<Vec<i64>>;

    /// Creates or updates contexts; returns their ids.
    async fn put_contexts(&self, contexts: &[Context]) -> Result<Vec<i64>>;

    /// Records events.
    async fn put_events(&self, events: &[Event]) -> Result<()>;

    /// Records attributions and associations (existing ones are kept).
    async fn put_attributions_and_associations(
        &self,
        attributions: &[Attribution],
        associations: &[Association],
    ) -> Result<()>;

    /// Records parent contexts; a link that would make a cycle is an error.
    async fn put_parent_contexts(&self, links: &[ParentContext]) -> Result<()>;

    /// Writes an execution with its artifacts, events and contexts in one transaction.
    async fn put_execution(&self, request: &PutExecution) -> Result<PutExecutionResult>;

    /// Writes many executions, each with its artifacts, events and contexts, in one
    /// transaction: all of them or none. They are written in order, so a later request may
    /// update what an earlier one created (its execution, its artifacts, a context it made).
    /// The results are in request order.
    ///
    /// One durable commit costs far more than the rows it writes (see `docs/benchmarks.md`):
    /// writers that have several executions to record at once — a runner whose parallel nodes
    /// finish together, an importer — pay it once.
    async fn put_executions_with_events(
        &self,
        requests: &[PutExecution],
    ) -> Result<Vec<PutExecutionResult>>;

    /// Artifacts matching a query.
    async fn get_artifacts(&self, query: &NodeQuery) -> Result<Vec<Artifact>>;

    /// Executions matching a query.
    async fn get_executions(&self, query: &NodeQuery) -> Result<Vec<Execution>>;

    /// Contexts matching a query.
    async fn get_contexts(&self, query: &NodeQuery) -> Result<Vec<Context>>;

    /// Events matching a query, by execution then artifact.
    async fn get_events(&self, query: &EventQuery) -> Result<Vec<Event>>;

    /// Attributions, of these contexts or of all.
    async fn get_attributions(&self, context_ids: Option<&[i64]>) -> Result<Vec<Attribution>>;

    /// Associations, of these contexts or of all.
    async fn get_associations(&self, context_ids: Option<&[i64]>) -> Result<Vec<Association>>;

    /// Parent-context links, of these children or of all.
    async fn get_parent_contexts(&self, child_ids: Option<&[i64]>) -> Result<Vec<ParentContext>>;

    /// The artifacts that the executions of a context (a pipeline node's) produced under one
    /// output, newest artifact first, each once however many cached executions wrote it again.
    async fn get_output_artifacts(&self, query: &OutputQuery) -> Result<Vec<Artifact>>;

    /// The lineage subgraph reached from the starting nodes within `max_hops` events, in one
    /// call whatever its depth.
    async fn get_lineage(&self, query: &LineageQuery) -> Result<LineageGraph>;

    /// Sets the state of artifacts.
    async fn set_artifact_states(&self, ids: &[i64], state: ArtifactState) -> Result<()>;

    /// Where the store is, for messages (no password).
    fn location(&self) -> String;

    /// Marks artifacts for deletion: garbage collection removes their files later.
    async fn mark_artifacts_for_deletion(&self, ids: &[i64]) -> Result<()> {
        self.set_artifact_states(ids, ArtifactState::MarkedForDeletion)
            .await
    }

    /// Removes the files of every artifact marked for deletion with `remove`, and marks those
    /// whose removal succeeded DELETED.
    async fn collect_garbage(
        &self,
        remove: &(dyn for<'a> Fn(&'a Artifact) -> std::io::Result<()> + Send + Sync),
    ) -> Result<GarbageReport> {
        let marked = self
            .get_artifacts(&NodeQuery::all().states([ArtifactState::MarkedForDeletion.code()]))
            .await?;
        let mut report = GarbageReport::default();
        for artifact in &marked {
            let Some(id) = artifact.id else { continue };
            match remove(artifact) {
                Ok(()) => report.deleted.push(id),
                Err(error) => report.failed.push((id, error.to_string())),
            }
        }
        self.set_artifact_states(&report.deleted, ArtifactState::Deleted)
            .await?;
        Ok(report)
    }

    /// Prunes the runs of `pipeline` created before `older_than_ms`, keeping the newest
    /// `keep_last` runs whatever their age: the artifacts attributed only to pruned runs are
    /// marked for deletion (collect garbage to remove their files).
    async fn prune_runs(
        &self,
        pipeline: &str,
        older_than_ms: i64,
        keep_last: usize,
    ) -> Result<PruneReport> {
        // Runs are pruned oldest first, up to the first that must be kept — one of the newest
        // `keep_last`, or one created since `older_than_ms` — and every run after it is kept.
        // The pipeline's context records how far pruning got (the id of the first run kept),
        // so that a call reads only the runs that became old since the last one: its cost
        // follows what it prunes, not how long the history is.
        const PRUNED_BELOW: &str = "pruned_below_run";
        const PAGE: u32 = 200;
        const CHUNK: usize = 500;
        let Some(mut pipeline_context) = self
            .get_contexts(&NodeQuery::all().of_type(PIPELINE_CONTEXT).named(pipeline))
            .await?
            .into_iter()
            .next()
        else {
            return Err(MetadataError::NotFound {
                kind: "pipeline",
                id: None,
                name: Some(pipeline.to_owned()),
                location: self.location(),
            });
        };
        let Some(pipeline_id) = pipeline_context.id else {
            return Ok(PruneReport::default());
        };
        let runs = || NodeQuery {
            child_of: Some(pipeline_id),
            ..NodeQuery::all()
                .of_type(PIPELINE_RUN_CONTEXT)
                .order_by(OrderBy::Id)
        };
        // The oldest of the newest `keep_last` runs, kept whatever its age.
        let newest_kept = match keep_last {
            0 => None,
            _ => match self
                .get_contexts(&runs().descending().offset(keep_last as u64 - 1).limit(1))
                .await?
                .first()
            {
                Some(run) => run.id,
                None => return Ok(PruneReport::default()),
            },
        };
        let pruned_below = match pipeline_context.custom_properties.get(PRUNED_BELOW) {
            Some(crate::model::Value::Int(id)) => *id,
            _ => 0,
        };
        let mut pruned: Vec<i64> = Vec::new();
        let mut first_kept = None;
        let mut after = pruned_below - 1;
        'walk: loop {
            let page = self.get_contexts(&runs().after(after).limit(PAGE)).await?;
            for run in &page {
                let Some(id) = run.id else { continue };
                if newest_kept.is_some_and(|kept| id >= kept)
                    || run.create_time_since_epoch >= older_than_ms
                {
                    first_kept = Some(id);
                    break 'walk;
                }
                pruned.push(id);
            }
            match page.last().and_then(|run| run.id) {
                Some(last) if page.len() == PAGE as usize => after = last,
                _ => break,
            }
        }
        let Some(&last_pruned) = pruned.last() else {
            return Ok(PruneReport::default());
        };
        // The artifacts the pruned runs hold that are not yet marked or deleted...
        let mut held = BTreeSet::new();
        for chunk in pruned.chunks(CHUNK) {
            held.extend(
                self.get_attributions(Some(chunk))
                    .await?
                    .into_iter()
                    .map(|attribution| attribution.artifact_id),
            );
        }
        let held: Vec<i64> = held.into_iter().collect();
        let mut candidates = Vec::new();
        for chunk in held.chunks(CHUNK) {
            candidates.extend(
                self.get_artifacts(&NodeQuery::all().ids(chunk.iter().copied()).states([
                    ArtifactState::Live.code(),
                    ArtifactState::Pending.code(),
                    ArtifactState::Abandoned.code(),
                    ArtifactState::Unknown.code(),
                ]))
                .await?
                .into_iter()
                .filter_map(|artifact| artifact.id),
            );
        }
        // ... and that no kept run holds too: one probe each, from the artifact's contexts.
        let mut marked = Vec::new();
        for artifact in candidates {
            let still_used = match first_kept {
                None => false,
                Some(first_kept) => !self
                    .get_contexts(&NodeQuery {
                        with_artifact: Some(artifact),
                        ..runs().after(first_kept - 1).limit(1)
                    })
                    .await?
                    .is_empty(),
            };
            if !still_used {
                marked.push(artifact);
            }
        }
        self.mark_artifacts_for_deletion(&marked).await?;
        pipeline_context.custom_properties.insert(
            PRUNED_BELOW.to_owned(),
            crate::model::Value::Int(first_kept.unwrap_or(last_pruned + 1)),
        );
        self.put_contexts(&[pipeline_context]).await?;
        pruned.reverse();
        Ok(PruneReport {
            runs: pruned,
            marked_artifacts: marked,
        })
    }

    /// The newest successful execution recorded under `cache_key` whose outputs are all still
    /// LIVE, with those outputs.
    async fn find_cached_execution(&self, cache_key: &str) -> Result<Option<CachedExecution>> {
        let Some(cache_context) = self
            .get_contexts(
                &NodeQuery::all()
                    .of_type(EXECUTION_CACHE_CONTEXT)
                    .named(cache_key),
            )
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let Some(context_id) = cache_context.id else {
            return Ok(None);
        };
        let executions = self
            .get_executions(
                &NodeQuery::all()
                    .in_context(context_id)
                    .states([ExecutionState::Complete.code()])
                    .order_by(OrderBy::CreateTime)
                    .descending(),
            )
            .await?;
        for execution in executions {
            let Some(execution_id) = execution.id else {
                continue;
            };
            let events: Vec<Event> = self
                .get_events(
                    &EventQuery::of_executions([execution_id]).of_types([EventType::Output]),
                )
                .await?;
            let artifacts = self
                .get_artifacts(&NodeQuery::all().ids(events.iter().map(|event| event.artifact_id)))
                .await?;
            let all_live = artifacts.len() == events.len()
                && artifacts
                    .iter()
                    .all(|artifact| artifact.state == ArtifactState::Live);
            if all_live {
                let outputs = events
                    .into_iter()
                    .filter_map(|event| {
                        let artifact = artifacts
                            .iter()
                            .find(|artifact| artifact.id == Some(event.artifact_id))?
                            .clone();
                        Some((event, artifact))
                    })
                    .collect();
                return Ok(Some(CachedExecution { execution, outputs }));
            }
        }
        Ok(None)
    }
}

/// Removes an artifact's local files: the directory or file its URI names (`file://` or a
/// plain path). A URI that no longer exists counts as removed.
pub fn remove_local_files(artifact: &Artifact) -> std::io::Result<()> {
    let Some(uri) = &artifact.uri else {
        return Ok(());
    };
    let path = std::path::Path::new(uri.strip_prefix("file://").unwrap_or(uri));
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
