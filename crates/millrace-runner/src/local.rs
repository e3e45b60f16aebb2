//! `LocalRunner`: runs a whole pipeline on this machine, independent nodes in parallel.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use millrace_core::spec::{ShardTask, TaskSpec, shard_task_id};
use millrace_core::{Pipeline, TriggerRule};
use millrace_metadata::{
    Artifact, ArtifactAndEvent, ArtifactState, Execution, ExecutionState, MetadataStore, NodeQuery,
    PutExecution, Value,
};
use serde::Serialize;
use serde_json::Value as Json;
use tokio::task::JoinSet;

use millrace_storage::ArtifactStorage;

use crate::dispatch::{NodeDispatcher, launch_dispatched};
use crate::error::{Result, RunnerError};
use crate::group_commit::{CommitCounts, GroupCommit, Hold};
use crate::launcher::batching::{Batching, Finishing, RunOutputs};
use crate::launcher::{NodeLauncher, NodeOutcome};
use crate::properties;
use crate::readiness::Readiness;
use crate::record::{RunRecord, new_run_id};
use crate::resolve::latest_execution_in_run;
use crate::state::{NodeState, RunState};

/// What a run did, node by node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The pipeline.
    pub pipeline: String,
    /// The run.
    pub run_id: String,
    /// Every node's outcome, in the order they finished.
    pub nodes: Vec<NodeOutcome>,
    /// Whether every node that had to run succeeded.
    pub succeeded: bool,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
}

impl RunSummary {
    /// The outcome of `node`.
    pub fn node(&self, node: &str) -> Option<&NodeOutcome> {
        self.nodes.iter().find(|outcome| outcome.node == node)
    }

    /// How many nodes ended in `state`.
    pub fn count(&self, state: NodeState) -> usize {
        self.nodes
            .iter()
            .filter(|outcome| outcome.state == state)
            .count()
    }
}

/// What a runner reports while it runs, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// The run started (or resumed) with this many nodes.
    Started {
        /// The run.
        run_id: String,
        /// How many nodes the pipeline has.
        nodes: usize,
    },
    /// A node started executing.
    NodeStarted(String),
    /// A node ended.
    NodeFinished(NodeOutcome),
}

/// Runs pipelines locally.
#[derive(Debug, Clone)]
pub struct LocalRunner {
    store: Arc<dyn MetadataStore>,
    storage: ArtifactStorage,
    parallelism: usize,
    keep_going: bool,
    events: Option<tokio::sync::mpsc::UnboundedSender<RunEvent>>,
    dispatcher: Option<Arc<dyn NodeDispatcher>>,
    experiment: Option<String>,
    tracking_uri: Option<String>,
    cancellations: Option<crate::Cancellations>,
    /// Every run of this runner (and of its clones) writes through one commit queue, so that
    /// records arriving together share a transaction.
    group: GroupCommit,
}

/// What to do with a node whose upstream nodes have all finished.
enum Decision {
    Run,
    NotRun(NodeState, String),
}

fn decide(rule: TriggerRule, upstream: &[&NodeOutcome]) -> Decision {
    let failed: Vec<&str> = upstream
        .iter()
        .filter(|outcome| {
            matches!(
                outcome.state,
                NodeState::Failed | NodeState::UpstreamFailed | NodeState::Canceled
            )
        })
        .map(|outcome| outcome.node.as_str())
        .collect();
    let skipped = upstream
        .iter()
        .any(|outcome| outcome.state == NodeState::Skipped);
    match rule {
        TriggerRule::AllDone => Decision::Run,
        TriggerRule::OneFailed if failed.is_empty() => Decision::NotRun(
            NodeState::Skipped,
            "no upstream node failed (trigger rule one_failed)".to_owned(),
        ),
        TriggerRule::OneFailed => Decision::Run,
        TriggerRule::AllSuccess if !failed.is_empty() => Decision::NotRun(
            NodeState::UpstreamFailed,
            format!("upstream {} did not succeed", failed.join(", ")),
        ),
        TriggerRule::AllSuccess if skipped => Decision::NotRun(
            NodeState::Skipped,
            "an upstream node was skipped".to_owned(),
        ),
        TriggerRule::AllSuccess => Decision::Run,
    }
}

impl LocalRunner {
    /// A runner recording into `store` and writing artifacts under the local directory `root`.
    pub fn new(store: Arc<dyn MetadataStore>, root: impl Into<PathBuf>) -> Self {
        LocalRunner::with_storage(store, ArtifactStorage::local(root))
    }

    /// A runner recording into `store` and writing artifacts into `storage` — a local
    /// directory or an object store (`ArtifactStorage::open("s3://bucket/prefix")`).
    pub fn with_storage(store: Arc<dyn MetadataStore>, storage: ArtifactStorage) -> Self {
        LocalRunner {
            group: GroupCommit::new(Arc::clone(&store)),
            store,
            storage,
            parallelism: std::thread::available_parallelism().map_or(2, usize::from),
            keep_going: false,
            events: None,
            dispatcher: None,
            experiment: None,
            tracking_uri: None,
            cancellations: None,
        }
    }

    /// Registers each run while it executes in `cancellations`, which can then cancel it
    /// (as Ctrl-C would: running nodes are recorded CANCELED and the run ends interrupted).
    pub fn cancellations(mut self, cancellations: crate::Cancellations) -> Self {
        self.cancellations = Some(cancellations);
        self
    }

    /// Tracks new runs in the named experiment `name` (made if new) instead of the
    /// pipeline's own ([`tracking`](crate::tracking)).
    pub fn experiment(mut self, name: impl Into<String>) -> Self {
        self.experiment = Some(name.into());
        self
    }

    /// The MLflow-compatible tracking server (`http://127.0.0.1:5000`) that command nodes'
    /// `mlflow` clients log into: each command attempt gets `MLFLOW_TRACKING_URI` and its own
    /// run as `MLFLOW_RUN_ID`.
    pub fn tracking_uri(mut self, uri: impl Into<String>) -> Self {
        self.tracking_uri = Some(uri.into());
        self
    }

    /// Executes each component node through `dispatcher` (`run-node` in a container, a
    /// Kubernetes Job) instead of in this process; scheduling stays here. See
    /// [`dispatch`](crate::dispatch).
    pub fn dispatcher(mut self, dispatcher: Arc<dyn NodeDispatcher>) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// Reports progress on this channel.
    pub fn events(mut self, sender: tokio::sync::mpsc::UnboundedSender<RunEvent>) -> Self {
        self.events = Some(sender);
        self
    }

    /// How long a commit of execution records waits at most for a node that is preparing its
    /// start, so that the start joins the transaction (default
    /// [`MAX_HOLD_WAIT`](crate::group_commit::MAX_HOLD_WAIT)). Longer never changes what is
    /// recorded, only how many transactions it takes when preparing is slow.
    pub fn commit_wait(mut self, wait: std::time::Duration) -> Self {
        self.group = GroupCommit::with_max_wait(Arc::clone(&self.store), wait);
        self
    }

    /// How many transactions this runner's execution records took so far, and how many
    /// records they held (see [`GroupCommit`]).
    pub fn commit_counts(&self) -> CommitCounts {
        self.group.counts()
    }

    fn report(&self, event: RunEvent) {
        if let Some(sender) = &self.events {
            let _ = sender.send(event);
        }
    }

    /// Runs at most `parallelism` nodes at once (at least 1).
    pub fn parallelism(mut self, parallelism: usize) -> Self {
        self.parallelism = parallelism.max(1);
        self
    }

    /// After a failure, keeps running the nodes that do not depend on it (instead of starting
    /// nothing new).
    pub fn keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// Starts a new run with these parameter values (see `Pipeline::parameter_values`).
    pub async fn run(
        &self,
        pipeline: &Pipeline,
        parameters: BTreeMap<String, Json>,
    ) -> Result<RunSummary> {
        self.storage.check_writable().await?;
        let run_id = new_run_id();
        let record = match &self.experiment {
            Some(name) => {
                RunRecord::start_in(&*self.store, pipeline, &run_id, parameters, Some(name)).await?
            }
            None => RunRecord::start(&*self.store, pipeline, &run_id, parameters).await?,
        };
        self.execute(pipeline, record, HashMap::new()).await
    }

    /// Continues run `run_id`: nodes that completed are kept, the rest run.
    pub async fn resume(&self, pipeline: &Pipeline, run_id: &str) -> Result<RunSummary> {
        self.storage.check_writable().await?;
        let record = RunRecord::open(&*self.store, pipeline, run_id).await?;
        self.continue_run(pipeline, record).await
    }

    /// Runs `run_id`: starts it with `parameters` if it does not exist, resumes it otherwise.
    /// (Engines that name their runs — and crash-recovery loops — call this.)
    pub async fn run_or_resume(
        &self,
        pipeline: &Pipeline,
        run_id: &str,
        parameters: BTreeMap<String, Json>,
    ) -> Result<RunSummary> {
        self.storage.check_writable().await?;
        let record = RunRecord::open_or_start(&*self.store, pipeline, run_id, parameters).await?;
        self.continue_run(pipeline, record).await
    }

    /// Cleans up what an interrupted process left, then runs every node not yet complete.
    async fn continue_run(&self, pipeline: &Pipeline, record: RunRecord) -> Result<RunSummary> {
        let layout = crate::layout::Layout::new(&self.storage, pipeline.name());
        for (node, execution_id) in
            recover_interrupted(&*self.store, &record, ExecutionState::Failed).await?
        {
            // Whatever the interrupted execution wrote is abandoned: its staging directories,
            // and a directory moved into place just before the process died.
            if let Ok(spec) = pipeline.node(ShardTask::parse(&node).node) {
                for output in spec.outputs.keys() {
                    crate::layout::remove_dir(&layout.staging(&node, output, execution_id));
                    self.storage
                        .remove(&layout.output(&node, output, execution_id))
                        .await?;
                }
            }
        }
        let mut done = HashMap::new();
        for (task, _) in tasks_in_order(pipeline) {
            if let Some(execution) = latest_execution_in_run(&*self.store, &record, &task).await? {
                let state = if execution.last_known_state == ExecutionState::Cached {
                    NodeState::Cached
                } else {
                    NodeState::Complete
                };
                done.insert(
                    task.clone(),
                    NodeOutcome {
                        node: task.clone(),
                        state,
                        attempts: 0,
                        execution_id: execution.id,
                        message: Some("completed before the resume".to_owned()),
                        duration_ms: 0,
                    },
                );
            }
        }
        self.execute(pipeline, record, done).await
    }

    async fn execute(
        &self,
        pipeline: &Pipeline,
        record: RunRecord,
        mut done: HashMap<String, NodeOutcome>,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let spec = pipeline.spec();
        let exit_handler = spec.exit_handler.clone();
        // The tasks: every node, and before a sharded node its shard tasks, which wait for the
        // node's upstream nodes while the node (the merge) waits for its shards.
        let tasks_with_upstream = tasks_in_order(pipeline);
        let upstream: HashMap<String, Vec<String>> = tasks_with_upstream
            .iter()
            .map(|(task, ups)| {
                let mut ids = ups.clone();
                if exit_handler.as_deref() == Some(task.as_str()) {
                    // The exit handler waits for every other node.
                    ids = spec
                        .nodes
                        .iter()
                        .map(|other| other.id.clone())
                        .filter(|id| id != task)
                        .collect();
                }
                (task.clone(), ids)
            })
            .collect();
        let mut finished: Vec<NodeOutcome> = Vec::new();
        self.report(RunEvent::Started {
            run_id: record.run_id.clone(),
            nodes: spec.nodes.len(),
        });
        for outcome in done.values() {
            self.report(RunEvent::NodeFinished(outcome.clone()));
        }
        let order: Vec<String> = tasks_with_upstream
            .into_iter()
            .map(|(task, _)| task)
            .collect();
        let shared_pipeline = Arc::new(pipeline.clone());
        let shared_record = Arc::new(record);
        let mut running: JoinSet<(String, Result<NodeOutcome>)> = JoinSet::new();
        let mut tasks: HashMap<tokio::task::Id, String> = HashMap::new();
        // Tasks whose outputs are in place and whose record is queued: they count as done for
        // starting their successors, whose starts then join the record's transaction.
        let mut finishing: HashMap<String, NodeOutcome> = HashMap::new();
        // The holds of those announcements, released once their successors have started.
        let mut announced: Vec<Hold> = Vec::new();
        let (announce, mut announcements) = tokio::sync::mpsc::unbounded_channel::<Finishing>();
        let batching = Batching {
            group: self.group.clone(),
            outputs: RunOutputs::default(),
            finishing: announce,
        };
        // The tasks a dispatcher executes elsewhere.
        let dispatched: std::collections::HashSet<&str> = match &self.dispatcher {
            Some(_) => order
                .iter()
                .filter(|id| {
                    pipeline
                        .node(ShardTask::parse(id).node)
                        .is_ok_and(|node| matches!(node.task, TaskSpec::Component { .. }))
                })
                .map(String::as_str)
                .collect(),
            None => std::collections::HashSet::new(),
        };
        let mut readiness = Readiness::new(
            order.clone(),
            &upstream,
            &dispatched,
            &done.keys().map(String::as_str).collect(),
        );
        let mut stopping = false;
        let mut interrupted = false;
        let registration = self
            .cancellations
            .as_ref()
            .map(|cancellations| cancellations.register(&shared_record.run_id));
        let ctrl_c = async {
            match &registration {
                Some(registration) => tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    () = registration.canceled() => {}
                },
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        tokio::pin!(ctrl_c);

        loop {
            // Start every task whose upstream tasks have ended (see `readiness.rs`), as many as
            // the parallelism allows; a task that does not run ends at once and may make more
            // ready.
            while readiness.peek().is_some() {
                let executing = running.len().saturating_sub(finishing.len());
                if executing >= self.parallelism {
                    break;
                }
                let Some(id) = readiness.take() else { break };
                let id = &id;
                let ups = upstream.get(id.as_str()).map_or(&[][..], Vec::as_slice);
                let ended = |up: &String| done.get(up).or_else(|| finishing.get(up));
                let task = ShardTask::parse(id);
                let node = pipeline.node(task.node)?;
                let is_exit_handler = exit_handler.as_deref() == Some(id.as_str());
                let rule = if is_exit_handler {
                    TriggerRule::AllDone
                } else if task.shard.is_none() && node.options.shards.is_some() {
                    // A merge needs every shard, whatever the node's own rule says.
                    TriggerRule::AllSuccess
                } else {
                    node.options.trigger_rule
                };
                let upstream_outcomes: Vec<&NodeOutcome> = ups.iter().filter_map(ended).collect();
                let decision = if (stopping || interrupted) && !is_exit_handler {
                    Decision::NotRun(
                        NodeState::Canceled,
                        "the run stopped after a failure".to_owned(),
                    )
                } else {
                    decide(rule, &upstream_outcomes)
                };
                match decision {
                    Decision::NotRun(state, reason) => {
                        let launcher = NodeLauncher::new(
                            &*self.store,
                            pipeline,
                            &shared_record,
                            &self.storage,
                        );
                        let outcome = launcher.record_not_run(id, state, &reason).await?;
                        readiness.done(id);
                        done.insert(id.clone(), outcome.clone());
                        self.report(RunEvent::NodeFinished(outcome.clone()));
                        finished.push(outcome);
                    }
                    Decision::Run => {
                        let (store, pipeline, record, root, id, id_of_task) = (
                            Arc::clone(&self.store),
                            Arc::clone(&shared_pipeline),
                            Arc::clone(&shared_record),
                            self.storage.clone(),
                            id.clone(),
                            id.clone(),
                        );
                        let tracking_uri = self.tracking_uri.clone();
                        tracing::info!(node = %id, "starting");
                        self.report(RunEvent::NodeStarted(id.clone()));
                        let dispatcher = self
                            .dispatcher
                            .clone()
                            .filter(|_| matches!(node.task, TaskSpec::Component { .. }));
                        // Nodes launched here write through the group commit, which waits
                        // for their first record from now on.
                        let batched = dispatcher
                            .is_none()
                            .then(|| (batching.clone(), self.group.hold()));
                        let task = running.spawn(async move {
                            let started = Instant::now();
                            let outcome = match dispatcher {
                                Some(dispatcher) => {
                                    let options = match pipeline.node(ShardTask::parse(&id).node) {
                                        Ok(node) => node.options.clone(),
                                        Err(error) => return (id, Err(error.into())),
                                    };
                                    let logs = crate::layout::Layout::new(&root, pipeline.name())
                                        .task_logs(&id, &record.run_id);
                                    launch_dispatched(
                                        &*dispatcher,
                                        &*store,
                                        &record,
                                        &options,
                                        &id,
                                        logs,
                                    )
                                    .await
                                }
                                None => {
                                    let launcher =
                                        NodeLauncher::new(&*store, &pipeline, &record, &root)
                                            .tracking_uri(tracking_uri);
                                    match batched {
                                        Some((batching, hold)) => {
                                            launcher.batching(batching, hold).launch(&id).await
                                        }
                                        None => launcher.launch(&id).await,
                                    }
                                }
                            };
                            let outcome = outcome.map(|outcome| NodeOutcome {
                                duration_ms: u64::try_from(started.elapsed().as_millis())
                                    .unwrap_or(u64::MAX),
                                ..outcome
                            });
                            (id, outcome)
                        });
                        tasks.insert(task.id(), id_of_task);
                    }
                }
            }
            // Every node the announced tasks unblocked has started and holds the transaction
            // open itself: the announcements' records may commit.
            announced.clear();
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some(first) = announcements.recv() => {
                    let mut next = Some(first);
                    while let Some(Finishing { task, state, hold }) = next {
                        readiness.finishing(&task);
                        finishing.insert(task.clone(), NodeOutcome {
                            node: task,
                            state,
                            attempts: 1,
                            execution_id: None,
                            message: None,
                            duration_ms: 0,
                        });
                        announced.push(hold);
                        next = announcements.try_recv().ok();
                    }
                }
                joined = running.join_next_with_id() => {
                    let Some(joined) = joined else { break };
                    let (_, (id, outcome)) = joined.map_err(|error| RunnerError::TaskFailed {
                        node: tasks.get(&error.id()).cloned().unwrap_or_default(),
                        message: error.to_string(),
                    })?;
                    finishing.remove(&id);
                    let outcome = outcome?;
                    tracing::info!(node = %id, state = ?outcome.state, "finished");
                    if outcome.state == NodeState::Failed && !self.keep_going {
                        stopping = true;
                    }
                    readiness.done(&id);
                    done.insert(id, outcome.clone());
                    self.report(RunEvent::NodeFinished(outcome.clone()));
                    finished.push(outcome);
                }
                _ = &mut ctrl_c, if !interrupted => {
                    tracing::warn!("interrupted: cancelling the running nodes");
                    interrupted = true;
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    // What the aborted nodes queued commits before their executions are
                    // recovered, so that none is left RUNNING behind the recovery.
                    announced.clear();
                    while let Ok(Finishing { hold, .. }) = announcements.try_recv() {
                        drop(hold);
                    }
                    self.group.flush().await;
                    if let Some(dispatcher) = &self.dispatcher {
                        dispatcher.cancel_all().await?;
                    }
                    recover_interrupted(&*self.store, &shared_record, ExecutionState::Canceled).await?;
                    break;
                }
            }
        }
        let succeeded = !interrupted
            && spec.nodes.iter().all(|node| {
                done.get(&node.id)
                    .is_some_and(|outcome| outcome.state.is_success_of_run())
            });
        let ended = if interrupted {
            RunState::Interrupted
        } else if succeeded {
            RunState::Succeeded
        } else {
            RunState::Failed
        };
        shared_record.finish(&*self.store, ended).await?;
        Ok(RunSummary {
            pipeline: pipeline.name().to_owned(),
            run_id: shared_record.run_id.clone(),
            nodes: finished,
            succeeded,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// Every task of `pipeline` in an order that respects dependencies, with the tasks each waits
/// for: a node waits for its upstream nodes; a sharded node's shard tasks come first and wait
/// for the node's upstream nodes, and the node (its merge) waits for its shards.
fn tasks_in_order(pipeline: &Pipeline) -> Vec<(String, Vec<String>)> {
    let mut tasks = Vec::new();
    for node in pipeline.nodes_in_order() {
        let ups: Vec<String> = node
            .upstream_node_ids()
            .into_iter()
            .map(str::to_owned)
            .collect();
        match node.options.shards {
            Some(count) => {
                let shards: Vec<String> = (0..count)
                    .map(|index| shard_task_id(&node.id, index))
                    .collect();
                for shard in &shards {
                    tasks.push((shard.clone(), ups.clone()));
                }
                tasks.push((node.id.clone(), shards));
            }
            None => tasks.push((node.id.clone(), ups)),
        }
    }
    tasks
}

/// Marks the executions of this run that were left RUNNING (by a crash or an interruption) as
/// `state`, and their PENDING outputs ABANDONED, so that no half-written output is ever LIVE.
/// Returns the node and execution id of each.
pub async fn recover_interrupted(
    store: &dyn MetadataStore,
    record: &RunRecord,
    state: ExecutionState,
) -> Result<Vec<(String, i64)>> {
    let mut recovered = Vec::new();
    let stale = store
        .get_executions(
            &NodeQuery::all()
                .in_context(record.run_context)
                .states([ExecutionState::Running.code(), ExecutionState::New.code()]),
        )
        .await?;
    for execution in stale {
        let Some(execution_id) = execution.id else {
            continue;
        };
        let node = match execution.custom_properties.get(properties::NODE_ID) {
            Some(Value::String(node)) => node.clone(),
            _ => String::new(),
        };
        recover_execution(
            store,
            record.run_context,
            execution,
            state,
            "the run was interrupted while this execution ran",
        )
        .await?;
        recovered.push((node, execution_id));
    }
    Ok(recovered)
}

/// Ends one execution left RUNNING (its process died or was killed) in `state` with `error`,
/// and marks its PENDING outputs ABANDONED, in one transaction.
pub(crate) async fn recover_execution(
    store: &dyn MetadataStore,
    run_context: i64,
    execution: Execution,
    state: ExecutionState,
    error: &str,
) -> Result<()> {
    let Some(execution_id) = execution.id else {
        return Ok(());
    };
    let node = match execution.custom_properties.get(properties::NODE_ID) {
        Some(Value::String(node)) => node.clone(),
        _ => String::new(),
    };
    // Its outputs are its PENDING artifacts in the run, recorded at
    // `<root>/<pipeline>/<node>/<output>/<execution-id>`.
    let (node_part, id_part) = (format!("/{node}/"), format!("/{execution_id}"));
    let pending: Vec<Artifact> = store
        .get_artifacts(
            &NodeQuery::all()
                .in_context(run_context)
                .states([ArtifactState::Pending.code()]),
        )
        .await?
        .into_iter()
        .filter(|artifact| {
            artifact
                .uri
                .as_deref()
                .is_some_and(|uri| uri.contains(&node_part) && uri.ends_with(&id_part))
        })
        .collect();
    let mut ended = Execution {
        last_known_state: state,
        ..execution
    };
    ended.custom_properties.insert(
        properties::ERROR.to_owned(),
        Value::String(error.to_owned()),
    );
    store
        .put_execution(&PutExecution {
            execution: ended,
            artifacts: pending
                .into_iter()
                .map(|artifact| ArtifactAndEvent {
                    artifact: Artifact {
                        state: ArtifactState::Abandoned,
                        ..artifact
                    },
                    event: None,
                })
                .collect(),
            contexts: Vec::new(),
        })
        .await?;
    Ok(())
}
