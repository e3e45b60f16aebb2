//! `NodeLauncher`: the one way a node executes, under every runner.
//!
//! A component node goes through five steps, one file each:
//!
//! 1. `condition.rs`: evaluate the node's `when` condition; a false one records the node as
//!    skipped.
//! 2. `inputs.rs`: resolve its inputs — the outputs of the producers' executions in this run —
//!    and fail the node when a required one has no artifact.
//! 3. `cache.rs`: compute the [`CacheKey`](crate::CacheKey) and look it up: a hit whose output
//!    files still exist is recorded as a CACHED execution with OUTPUT events to the reused
//!    artifacts.
//! 4. `attempt.rs`: execute, with retries: the execution is recorded RUNNING with its inputs and
//!    its outputs PENDING at `<root>/<pipeline>/<node>/<output>/<execution-id>/`; the executor
//!    writes into staging directories, which move into place only when it succeeded.
//! 5. publish (in `attempt.rs`): outputs PENDING → LIVE with their properties and OUTPUT
//!    events, and the execution RUNNING → COMPLETE, in one transaction. A failure marks the
//!    execution FAILED and its outputs ABANDONED; retries are new executions.
//!
//! Resolver nodes (`resolver_node.rs`) query earlier runs; importer nodes (`importer_node.rs`)
//! register an external URI.

mod attempt;
pub(crate) mod batching;
mod cache;
mod condition;
mod importer_node;
mod inputs;
mod resolver_node;
mod shard;

use shard::shard_properties;

use std::collections::BTreeMap;
use std::time::Instant;

use millrace_core::Pipeline;
use millrace_core::spec::{NodeSpec, ShardRole, ShardTask, TaskSpec};
use millrace_metadata::{
    Artifact, ArtifactAndEvent, EventType, Execution, ExecutionState, MetadataStore, PathStep,
    Properties, PutExecution, Value,
};
use serde::Serialize;

use crate::error::Result;
use crate::layout::Layout;
use crate::properties;
use crate::record::RunRecord;
use crate::state::NodeState;
use millrace_storage::ArtifactStorage;

/// The execution property holding a component's one-line summary of what it did.
pub const SUMMARY_PROPERTY: &str = properties::SUMMARY;

/// The outcome of one node in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeOutcome {
    /// The node.
    pub node: String,
    /// How it ended.
    pub state: NodeState,
    /// How many executions were attempted.
    pub attempts: u32,
    /// The last execution recorded for it.
    pub execution_id: Option<i64>,
    /// Why it failed or was skipped, or its summary.
    pub message: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// Executes nodes of one run.
pub struct NodeLauncher<'a> {
    store: &'a dyn MetadataStore,
    pipeline: &'a Pipeline,
    record: &'a RunRecord,
    layout: Layout,
    retries_here: bool,
    tracking_uri: Option<String>,
    /// Under the local runner: the run's group commit and outputs (see `batching.rs`).
    batching: Option<batching::Batching>,
    /// Keeps the group commit waiting for this launcher's first write.
    hold: std::sync::Mutex<Option<crate::group_commit::Hold>>,
}

impl<'a> NodeLauncher<'a> {
    /// A launcher for the run `record` of `pipeline`, writing into `storage`.
    pub fn new(
        store: &'a dyn MetadataStore,
        pipeline: &'a Pipeline,
        record: &'a RunRecord,
        storage: &ArtifactStorage,
    ) -> Self {
        NodeLauncher {
            store,
            pipeline,
            record,
            layout: Layout::new(storage, pipeline.name()),
            retries_here: true,
            tracking_uri: None,
            batching: None,
            hold: std::sync::Mutex::new(None),
        }
    }

    /// Writes through the local runner's group commit and reads inputs from its run's
    /// outputs; `hold` keeps the commit waiting for this launcher's first write (see
    /// `batching.rs`).
    pub(crate) fn batching(
        mut self,
        batching: batching::Batching,
        hold: crate::group_commit::Hold,
    ) -> Self {
        self.batching = Some(batching);
        self.hold = std::sync::Mutex::new(Some(hold));
        self
    }

    /// The MLflow-compatible tracking server command nodes log into (`MLFLOW_TRACKING_URI`,
    /// with the attempt's own run as `MLFLOW_RUN_ID`); `None`: command nodes get no tracking
    /// server.
    pub fn tracking_uri(mut self, uri: Option<String>) -> Self {
        self.tracking_uri = uri;
        self
    }

    /// Makes one attempt only, leaving retries to the orchestrator that calls `run-node`
    /// (Airflow's, Argo's), which would otherwise multiply them.
    pub fn single_attempt(mut self) -> Self {
        self.retries_here = false;
        self
    }

    /// Executes node `node_id` of run `run_id` as one task of a remote engine does (Airflow's,
    /// Argo's, Kubeflow's — through `run-node`): joins the run, or starts it with `parameters`
    /// if this is its first task, and makes one attempt, leaving retries to the engine.
    pub async fn run_one_node(
        store: &dyn MetadataStore,
        pipeline: &Pipeline,
        run_id: &str,
        node_id: &str,
        parameters: BTreeMap<String, serde_json::Value>,
        storage: &ArtifactStorage,
        tracking_uri: Option<String>,
    ) -> Result<NodeOutcome> {
        pipeline.node(ShardTask::parse(node_id).node)?;
        let record = RunRecord::open_or_start(store, pipeline, run_id, parameters).await?;
        NodeLauncher::new(store, pipeline, &record, storage)
            .single_attempt()
            .tracking_uri(tracking_uri)
            .launch(node_id)
            .await
    }

    /// Runs task `node_id` to the end: condition, inputs, cache, attempts with retries,
    /// publish. The task is a node, or one shard of a sharded node (`<node>.shard-<i>`, see
    /// [`ShardTask`]); a sharded node itself is the merge of its shards' outputs.
    pub async fn launch(&self, node_id: &str) -> Result<NodeOutcome> {
        let started = Instant::now();
        let task = ShardTask::parse(node_id);
        let node = self.pipeline.node(task.node)?;
        if let Some(index) = task.shard {
            let (shard, role) = shard::shard_node(node, index)?;
            let mut outcome = self.run_component(&shard, &node.id, role).await?;
            outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            return Ok(outcome);
        }
        let role = match node.options.shards {
            Some(count) => ShardRole::Merge { count },
            None => ShardRole::Whole,
        };
        let mut outcome = match &node.task {
            TaskSpec::Resolver { strategy } => self.run_resolver(node, strategy).await?,
            TaskSpec::Importer {
                source_uri,
                reimport,
                properties,
                custom_properties,
            } => {
                self.run_importer(node, source_uri, *reimport, properties, custom_properties)
                    .await?
            }
            TaskSpec::Component { .. } => self.run_component(node, &node.id, role).await?,
        };
        outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(outcome)
    }

    /// The steps of a component node (or of a shard of one: `node` is then the shard's node,
    /// `pipeline_node` the id of the node in the pipeline), each of which may end it.
    async fn run_component(
        &self,
        node: &NodeSpec,
        pipeline_node: &str,
        role: ShardRole,
    ) -> Result<NodeOutcome> {
        if let Some(ended) = self.check_condition(node).await? {
            return Ok(ended);
        }
        let mut inputs = match self.resolve_inputs(node).await? {
            Ok(inputs) => inputs,
            Err(ended) => return Ok(ended),
        };
        if let ShardRole::Merge { count } = role
            && let Err(ended) = self.add_shard_parts(node, count, &mut inputs).await?
        {
            return Ok(ended);
        }
        let component = self
            .pipeline
            .instantiate(pipeline_node, &self.record.parameters)?;
        let key = self.cache_key(node, &*component, &inputs, role)?;
        if let Some(ended) = self.reuse_cached(node, &key, &inputs).await? {
            return Ok(ended);
        }
        self.execute_with_retries(node, &*component, &inputs, &key, role)
            .await
    }

    /// Records a node that does not run because of its upstream nodes (or the run stopping).
    pub async fn record_not_run(
        &self,
        node_id: &str,
        state: NodeState,
        reason: &str,
    ) -> Result<NodeOutcome> {
        let node = self.pipeline.node(node_id)?;
        let execution = self.execution(
            node,
            ExecutionState::Canceled,
            &[
                (
                    properties::SKIPPED,
                    Value::Bool(state == NodeState::Skipped),
                ),
                (properties::NODE_STATE, Value::from(state.as_str())),
                (properties::REASON, Value::from(reason)),
            ],
        )?;
        let id = self.record_alone(node, execution).await?;
        Ok(Self::outcome(
            node,
            state,
            0,
            Some(id),
            Some(reason.to_owned()),
        ))
    }

    fn outcome(
        node: &NodeSpec,
        state: NodeState,
        attempts: u32,
        execution_id: Option<i64>,
        message: Option<String>,
    ) -> NodeOutcome {
        NodeOutcome {
            node: node.id.clone(),
            state,
            attempts,
            execution_id,
            message,
            duration_ms: 0,
        }
    }

    /// A new execution of `node` in this run, with the run's and node's identity and `extra`.
    fn execution(
        &self,
        node: &NodeSpec,
        state: ExecutionState,
        extra: &[(&str, Value)],
    ) -> Result<Execution> {
        let mut custom_properties: Properties = [
            (
                properties::NODE_ID.to_owned(),
                Value::String(node.id.clone()),
            ),
            (
                properties::RUN_ID.to_owned(),
                Value::String(self.record.run_id.clone()),
            ),
        ]
        .into();
        for (name, value) in extra {
            custom_properties.insert((*name).to_owned(), value.clone());
        }
        Ok(Execution {
            type_id: self.record.execution_type(&node.task)?,
            last_known_state: state,
            custom_properties,
            ..Execution::default()
        })
    }

    /// Records an execution that only reads and/or writes existing artifacts.
    async fn record_links(
        &self,
        node: &NodeSpec,
        execution: Execution,
        inputs: &BTreeMap<String, Vec<Artifact>>,
        outputs: &BTreeMap<String, Vec<Artifact>>,
    ) -> Result<i64> {
        let mut artifacts = events(EventType::Input, inputs);
        artifacts.extend(events(EventType::Output, outputs));
        Ok(self
            .put(PutExecution {
                execution,
                artifacts,
                contexts: self.record.contexts(&node.id),
            })
            .await?
            .execution_id)
    }

    /// Records an execution with no inputs or outputs (skipped, failed before it started).
    async fn record_alone(&self, node: &NodeSpec, execution: Execution) -> Result<i64> {
        self.record_links(node, execution, &BTreeMap::new(), &BTreeMap::new())
            .await
    }

    /// Records a node that failed before an execution of its component started.
    async fn record_failure(
        &self,
        node: &NodeSpec,
        inputs: &BTreeMap<String, Vec<Artifact>>,
        message: String,
    ) -> Result<NodeOutcome> {
        let execution = self.execution(
            node,
            ExecutionState::Failed,
            &[(properties::ERROR, Value::String(message.clone()))],
        )?;
        let id = self
            .record_links(node, execution, inputs, &BTreeMap::new())
            .await?;
        Ok(Self::outcome(
            node,
            NodeState::Failed,
            0,
            Some(id),
            Some(message),
        ))
    }
}

/// Artifacts linked to an execution by events of `event_type`, with TFX's `[name, index]`
/// paths.
fn events(
    event_type: EventType,
    by_name: &BTreeMap<String, Vec<Artifact>>,
) -> Vec<ArtifactAndEvent> {
    by_name
        .iter()
        .flat_map(|(name, list)| {
            list.iter()
                .enumerate()
                .map(move |(index, artifact)| ArtifactAndEvent {
                    artifact: artifact.clone(),
                    event: Some((
                        event_type,
                        vec![PathStep::Key(name.clone()), PathStep::Index(index as i64)],
                    )),
                })
        })
        .collect()
}
