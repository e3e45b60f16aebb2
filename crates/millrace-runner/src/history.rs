//! The run history: which runs there were, what happened to each node of a run, why a node was
//! or was not served from the cache, which artifacts a pipeline made and where they came from.
//!
//! This is what `runs list`, `runs show`, `cache explain`, `artifacts list` and `lineage` print,
//! and what the web UI reads; the command line only renders it. Every answer is one page of
//! indexed queries whose cost does not grow with the number of past runs: runs are listed
//! newest first from the pipeline context's children, a page at a time ([`RunPage`]); a run is
//! read through its own context; a node's earlier executions through its context, newest first,
//! as far back as the answer needs.
//!
//! ```
//! use std::collections::BTreeMap;
//! use millrace_core::prelude::*;
//! use millrace_runner::{LocalRunner, NodeState, RunHistory, RunPage, RunState};
//!
//! /// Writes a greeting.
//! #[millrace_macros::component(crate = millrace_core, kind = "doc.HistoryGreet")]
//! async fn greet(greeting: Output<Dataset>, name: String) -> Result<(), ComponentError> {
//!     std::fs::write(greeting.uri().join("greeting.txt"), format!("Hello, {name}!"))?;
//!     Ok(())
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut p = Pipeline::builder("greetings");
//! p.add("greet", Greet::new("world"));
//! let pipeline = p.build().unwrap();
//! let root = tempfile::tempdir().unwrap();
//! let store = millrace_metadata::connect("memory://").await.unwrap();
//! let runner = LocalRunner::new(store.clone(), root.path());
//! runner.run(&pipeline, BTreeMap::new()).await.unwrap();
//! let second = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
//!
//! let history = RunHistory::new(&*store);
//! let runs = history.runs(&pipeline, &RunPage::newest(50)).await.unwrap();
//! assert_eq!(runs.len(), 2);
//! assert_eq!(runs[0].run.run_id, second.run_id);
//! assert_eq!(runs[0].run.state, RunState::Succeeded);
//! let shown = history.run(&pipeline, &second.run_id).await.unwrap();
//! assert_eq!(shown.nodes[0].state, NodeState::Cached);
//! # });
//! ```

use std::collections::BTreeMap;

use millrace_core::Pipeline;
use millrace_core::spec::ShardTask;
use millrace_metadata::store::{NODE_CONTEXT, PIPELINE_CONTEXT, PIPELINE_RUN_CONTEXT};
use millrace_metadata::{
    Artifact, Comparison, Context, Direction, Execution, ExecutionState, LineageGraph,
    LineageQuery, MetadataStore, NodeQuery, OrderBy, Value,
};
use serde::Serialize;
use serde_json::Value as Json;

use crate::cache_key::{CacheChange, CacheKey};
use crate::error::{Result, RunnerError};
use crate::properties;
use crate::record::{recorded_parameters, run_context};
use crate::state::{NodeState, RunState};

/// Which runs to list: newest first, a page at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPage {
    /// At most this many runs.
    pub limit: u32,
    /// Only runs older than this one: the [`RunListing::position`] of the last run of the
    /// previous page.
    pub before: Option<i64>,
    /// Only runs that ended in this state (`succeeded`, `failed` or `interrupted`, as the
    /// runner recorded it at the end): the store filters, so a page costs the same however
    /// rare the state. Running and incomplete runs recorded no end; filter those by reading.
    pub ended_as: Option<RunState>,
}

impl RunPage {
    /// The newest `limit` runs.
    pub fn newest(limit: u32) -> RunPage {
        RunPage {
            limit,
            before: None,
            ended_as: None,
        }
    }

    /// The `limit` runs older than the one at `position`.
    pub fn older_than(position: i64, limit: u32) -> RunPage {
        RunPage {
            limit,
            before: Some(position),
            ended_as: None,
        }
    }

    /// Only the runs that ended as `state` (see [`RunPage::ended_as`]).
    pub fn ended_as(mut self, state: RunState) -> RunPage {
        self.ended_as = Some(state);
        self
    }
}

/// What is known of a run as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The run's id.
    pub run_id: String,
    /// The pipeline.
    pub pipeline: String,
    /// The fingerprint of the pipeline that ran.
    pub fingerprint: String,
    /// When it started, in milliseconds since the epoch.
    pub started_ms: i64,
    /// When it ended, if it has and the runner recorded it.
    pub finished_ms: Option<i64>,
    /// How it stands.
    pub state: RunState,
    /// The value of every runtime parameter.
    pub parameters: BTreeMap<String, Json>,
}

/// One run in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunListing {
    /// The run.
    #[serde(flatten)]
    pub run: RunInfo,
    /// Where the run sits in the listing (its context's id): pass it to
    /// [`RunPage::older_than`] for the next page.
    pub position: i64,
    /// How many nodes are in each state.
    pub nodes: BTreeMap<NodeState, usize>,
}

/// One run, node by node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetails {
    /// The run.
    #[serde(flatten)]
    pub run: RunInfo,
    /// Every node of the pipeline in execution order (then any recorded node the pipeline no
    /// longer has).
    pub nodes: Vec<NodeHistory>,
}

impl RunDetails {
    /// The history of `node`.
    pub fn node(&self, node: &str) -> Option<&NodeHistory> {
        self.nodes.iter().find(|history| history.node == node)
    }
}

/// What happened to one node in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeHistory {
    /// The node.
    pub node: String,
    /// How it ended (or stands).
    pub state: NodeState,
    /// Its last execution.
    pub execution_id: Option<i64>,
    /// When its last execution started, in milliseconds since the epoch.
    pub started_ms: Option<i64>,
    /// When its last execution was last recorded (its end, once it ended).
    pub finished_ms: Option<i64>,
    /// How long its last execution took.
    pub duration_ms: Option<i64>,
    /// The one line to show: why it failed or did not run, or else its summary.
    pub message: Option<String>,
    /// The component's summary of what it did (a cached node shows the reused one's).
    pub summary: Option<String>,
    /// The execution a cached node reused.
    pub cached_from: Option<i64>,
    /// Every execution of the component, oldest first (a cached or not-run node has none).
    pub attempts: Vec<Attempt>,
}

/// One execution of a node's component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// The execution.
    pub execution_id: i64,
    /// Its number, from 0.
    pub number: u32,
    /// How it ended (or stands).
    pub state: NodeState,
    /// When it started.
    pub started_ms: i64,
    /// When it was last recorded.
    pub finished_ms: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// Its log directory, when it wrote logs.
    pub log_dir: Option<String>,
}

/// Why a node's execution was or was not served from the cache.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheExplanation {
    /// The node.
    pub node: String,
    /// The execution explained (the node's newest, or its newest in the run asked about).
    pub execution_id: Option<i64>,
    /// What happened.
    pub verdict: CacheVerdict,
}

/// Whether the cache served a node's execution, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CacheVerdict {
    /// The node has not executed (in that run).
    NoExecution,
    /// It reused an earlier execution with the same cache key.
    Cached {
        /// The execution it reused.
        reused_execution: Option<i64>,
        /// The cache key's fingerprint.
        key: String,
    },
    /// It executed.
    NotCached {
        /// Why, every reason found.
        reasons: Vec<NotCachedReason>,
    },
}

/// One reason why a node executed instead of reusing an earlier result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotCachedReason {
    /// Caching is turned off for the node.
    CachingOff,
    /// No earlier execution of the node succeeded: there was nothing to reuse.
    NothingEarlier,
    /// The earlier execution had the same key, but its outputs were no longer LIVE or their
    /// files were gone.
    OutputsGone {
        /// The earlier execution.
        execution: i64,
    },
    /// Part of the cache key changed since the node's previous successful execution.
    Changed {
        /// The previous successful execution.
        compared_with: i64,
        /// What changed.
        change: CacheChange,
    },
}

impl std::fmt::Display for NotCachedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotCachedReason::CachingOff => f.write_str("caching is turned off for this node"),
            NotCachedReason::NothingEarlier => {
                f.write_str("no earlier successful execution of this node: nothing to reuse")
            }
            NotCachedReason::OutputsGone { execution } => write!(
                f,
                "execution {execution} had the same cache key, but its outputs were no longer LIVE or their files were gone"
            ),
            NotCachedReason::Changed {
                compared_with,
                change,
            } => write!(f, "{change} (compared with execution {compared_with})"),
        }
    }
}

/// Reads the run history from a metadata store.
#[derive(Debug, Clone, Copy)]
pub struct RunHistory<'a> {
    store: &'a dyn MetadataStore,
}

impl<'a> RunHistory<'a> {
    /// The history in `store`.
    pub fn new(store: &'a dyn MetadataStore) -> Self {
        RunHistory { store }
    }

    /// The context of `pipeline`, if it ever ran.
    async fn pipeline_context(&self, pipeline: &str) -> Result<Option<i64>> {
        self.context(PIPELINE_CONTEXT, pipeline).await
    }

    async fn context(&self, context_type: &str, name: &str) -> Result<Option<i64>> {
        Ok(self
            .store
            .get_contexts(&NodeQuery::all().of_type(context_type).named(name))
            .await?
            .into_iter()
            .next()
            .and_then(|context| context.id))
    }

    /// The pipeline's runs, newest first, one page.
    pub async fn runs(&self, pipeline: &Pipeline, page: &RunPage) -> Result<Vec<RunListing>> {
        let Some(pipeline_context) = self.pipeline_context(pipeline.name()).await? else {
            return Ok(Vec::new());
        };
        let mut query = NodeQuery {
            child_of: Some(pipeline_context),
            ..NodeQuery::all()
                .of_type(PIPELINE_RUN_CONTEXT)
                .order_by(OrderBy::Id)
                .descending()
                .limit(page.limit)
        };
        query.before_id = page.before;
        if let Some(state) = page.ended_as {
            query = query.where_custom_property(
                properties::RUN_STATE,
                millrace_metadata::Comparison::Eq,
                state.as_str(),
            );
        }
        let runs = self.store.get_contexts(&query).await?;
        let mut executions = self.executions_of_runs(&runs).await?;
        let mut listings = Vec::new();
        for run in runs {
            let executions = executions
                .remove(&run.id.unwrap_or_default())
                .unwrap_or_default();
            let nodes = latest_by_node(&executions);
            let mut counts: BTreeMap<NodeState, usize> = BTreeMap::new();
            for execution in nodes.values() {
                *counts
                    .entry(NodeState::of_execution(execution))
                    .or_default() += 1;
            }
            // Shard tasks are counted by state, but only nodes are missing or not.
            let recorded_nodes = nodes
                .keys()
                .filter(|id| ShardTask::parse(id).shard.is_none())
                .count();
            let unrecorded = unrecorded_nodes(pipeline, &run, recorded_nodes);
            if unrecorded > 0 {
                counts.insert(NodeState::NotStarted, unrecorded);
            }
            let state = recorded_run_state(&run).unwrap_or_else(|| {
                RunState::of_nodes(
                    nodes.values().map(|e| NodeState::of_execution(e)),
                    unrecorded,
                )
            });
            listings.push(RunListing {
                run: run_info(&run, pipeline, state),
                position: run.id.unwrap_or_default(),
                nodes: counts,
            });
        }
        Ok(listings)
    }

    /// The executions of a page of runs, oldest first, by run: three reads for the page,
    /// however many runs it lists.
    async fn executions_of_runs(&self, runs: &[Context]) -> Result<BTreeMap<i64, Vec<Execution>>> {
        let run_ids: Vec<i64> = runs.iter().filter_map(|run| run.id).collect();
        let associations = self.store.get_associations(Some(&run_ids)).await?;
        let executions: BTreeMap<i64, Execution> = self
            .store
            .get_executions(
                &NodeQuery::all().ids(associations.iter().map(|link| link.execution_id)),
            )
            .await?
            .into_iter()
            .filter_map(|execution| Some((execution.id?, execution)))
            .collect();
        // Associations come by run, then execution: each run's executions oldest first.
        let mut by_run: BTreeMap<i64, Vec<Execution>> = BTreeMap::new();
        for link in associations {
            if let Some(execution) = executions.get(&link.execution_id) {
                by_run
                    .entry(link.context_id)
                    .or_default()
                    .push(execution.clone());
            }
        }
        Ok(by_run)
    }

    async fn executions_of_run(&self, run: &Context) -> Result<Vec<Execution>> {
        Ok(self
            .store
            .get_executions(
                &NodeQuery::all()
                    .in_context(run.id.unwrap_or_default())
                    .order_by(OrderBy::Id),
            )
            .await?)
    }

    /// Run `run_id`, node by node: state, attempts, timing, errors, summaries.
    pub async fn run(&self, pipeline: &Pipeline, run_id: &str) -> Result<RunDetails> {
        let run = run_context(self.store, run_id).await?;
        let executions = self.executions_of_run(&run).await?;
        let mut by_node: BTreeMap<String, Vec<&Execution>> = BTreeMap::new();
        for execution in &executions {
            by_node
                .entry(
                    text(execution.custom_properties.get(properties::NODE_ID)).unwrap_or_default(),
                )
                .or_default()
                .push(execution);
        }
        let mut order: Vec<String> = pipeline
            .nodes_in_order()
            .map(|node| node.id.clone())
            .collect();
        for recorded in by_node.keys() {
            if !order.contains(recorded) {
                order.push(recorded.clone());
            }
        }
        let nodes: Vec<NodeHistory> = order
            .into_iter()
            .map(|node| {
                node_history(
                    node.clone(),
                    by_node.get(&node).map(Vec::as_slice).unwrap_or(&[]),
                )
            })
            .collect();
        let unrecorded = nodes
            .iter()
            .filter(|node| node.state == NodeState::NotStarted)
            .count();
        let state = recorded_run_state(&run).unwrap_or_else(|| {
            RunState::of_nodes(
                nodes
                    .iter()
                    .map(|node| node.state)
                    .filter(|state| *state != NodeState::NotStarted),
                unrecorded,
            )
        });
        Ok(RunDetails {
            run: run_info(&run, pipeline, state),
            nodes,
        })
    }

    /// Why node `node`'s newest execution (in run `run_id`, when given) was or was not served
    /// from the cache: the reused execution, or every part of the cache key that changed since
    /// the node's previous successful execution.
    pub async fn explain_cache(
        &self,
        pipeline: &Pipeline,
        node: &str,
        run_id: Option<&str>,
    ) -> Result<CacheExplanation> {
        let spec = pipeline.node(node)?;
        let no_execution = CacheExplanation {
            node: node.to_owned(),
            execution_id: None,
            verdict: CacheVerdict::NoExecution,
        };
        let Some(context) = self
            .context(NODE_CONTEXT, &format!("{}.{node}", pipeline.name()))
            .await?
        else {
            return Ok(no_execution);
        };
        let latest = match run_id {
            Some(run_id) => {
                let run = run_context(self.store, run_id).await?;
                self.store
                    .get_executions(
                        &NodeQuery::all()
                            .in_context(run.id.unwrap_or_default())
                            .where_custom_property(properties::NODE_ID, Comparison::Eq, node)
                            .order_by(OrderBy::Id)
                            .descending(),
                    )
                    .await?
                    .into_iter()
                    .find(has_cache_key)
            }
            None => self.newest_keyed_execution(context).await?,
        };
        let Some(latest) = latest else {
            return Ok(no_execution);
        };
        let key = CacheKey::from_property(
            latest
                .custom_properties
                .get(properties::CACHE_COMPONENTS)
                .unwrap_or(&Value::Struct(serde_json::Map::new())),
        );
        let verdict = if latest.last_known_state == ExecutionState::Cached {
            CacheVerdict::Cached {
                reused_execution: match latest
                    .custom_properties
                    .get(properties::CACHED_EXECUTION_ID)
                {
                    Some(Value::Int(id)) => Some(*id),
                    _ => None,
                },
                key: text(latest.custom_properties.get(properties::CACHE_KEY)).unwrap_or_default(),
            }
        } else {
            let mut reasons = Vec::new();
            if !spec.options.cache {
                reasons.push(NotCachedReason::CachingOff);
            }
            let previous = self
                .store
                .get_executions(
                    &NodeQuery::all()
                        .in_context(context)
                        .states([
                            ExecutionState::Complete.code(),
                            ExecutionState::Cached.code(),
                        ])
                        .order_by(OrderBy::Id)
                        .descending()
                        .before(latest.id.unwrap_or_default())
                        .limit(1),
                )
                .await?
                .into_iter()
                .next();
            match previous {
                None => reasons.push(NotCachedReason::NothingEarlier),
                Some(previous) => {
                    let compared_with = previous.id.unwrap_or_default();
                    let before = previous
                        .custom_properties
                        .get(properties::CACHE_COMPONENTS)
                        .and_then(CacheKey::from_property);
                    let changes = match (&key, &before) {
                        (Some(now), Some(before)) => now.changes_since(before),
                        _ => Vec::new(),
                    };
                    if changes.is_empty() && spec.options.cache {
                        reasons.push(NotCachedReason::OutputsGone {
                            execution: compared_with,
                        });
                    }
                    reasons.extend(changes.into_iter().map(|change| NotCachedReason::Changed {
                        compared_with,
                        change,
                    }));
                }
            }
            CacheVerdict::NotCached { reasons }
        };
        Ok(CacheExplanation {
            node: node.to_owned(),
            execution_id: latest.id,
            verdict,
        })
    }

    /// The newest execution of a node that has a cache key (nodes that did not run have none),
    /// reading its history newest first a few at a time.
    async fn newest_keyed_execution(&self, node_context: i64) -> Result<Option<Execution>> {
        let mut before = None;
        loop {
            let mut query = NodeQuery::all()
                .in_context(node_context)
                .order_by(OrderBy::Id)
                .descending()
                .limit(8);
            query.before_id = before;
            let page = self.store.get_executions(&query).await?;
            let Some(last) = page.last().and_then(|execution| execution.id) else {
                return Ok(None);
            };
            if let Some(found) = page.into_iter().find(has_cache_key) {
                return Ok(Some(found));
            }
            before = Some(last);
        }
    }

    /// The artifacts of `pipeline`, newest first, optionally of one type.
    pub async fn artifacts(
        &self,
        pipeline: &Pipeline,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Artifact>> {
        let Some(context) = self.pipeline_context(pipeline.name()).await? else {
            return Ok(Vec::new());
        };
        let mut query = NodeQuery::all()
            .in_context(context)
            .order_by(OrderBy::Id)
            .descending();
        if let Some(name) = artifact_type {
            query = query.of_type(name);
        }
        Ok(self.store.get_artifacts(&query).await?)
    }

    /// What produced artifact `artifact_id` and what was made from it, up to `hops` events away.
    pub async fn lineage(
        &self,
        artifact_id: i64,
        direction: Direction,
        hops: u32,
    ) -> Result<LineageGraph> {
        let graph = self
            .store
            .get_lineage(&LineageQuery {
                artifact_ids: vec![artifact_id],
                execution_ids: vec![],
                direction,
                max_hops: hops,
            })
            .await?;
        if graph.artifacts.is_empty() {
            return Err(RunnerError::UnknownArtifact {
                artifact_id,
                store: self.store.location(),
            });
        }
        Ok(graph)
    }
}

fn has_cache_key(execution: &Execution) -> bool {
    execution
        .custom_properties
        .contains_key(properties::CACHE_COMPONENTS)
}

/// A string property's text.
fn text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    }
}

/// What a run's context records of it.
fn run_info(run: &Context, pipeline: &Pipeline, state: RunState) -> RunInfo {
    RunInfo {
        run_id: run.name.clone(),
        pipeline: text(run.custom_properties.get(properties::PIPELINE))
            .unwrap_or_else(|| pipeline.name().to_owned()),
        fingerprint: text(run.custom_properties.get(properties::FINGERPRINT)).unwrap_or_default(),
        started_ms: run.create_time_since_epoch,
        finished_ms: finished_ms(run),
        state,
        parameters: recorded_parameters(run, pipeline.spec()),
    }
}

fn finished_ms(run: &Context) -> Option<i64> {
    match run.custom_properties.get(properties::FINISHED_MS) {
        Some(Value::Int(ms)) => Some(*ms),
        _ => None,
    }
}

/// How the runner recorded that the run ended, if it did.
fn recorded_run_state(run: &Context) -> Option<RunState> {
    text(run.custom_properties.get(properties::RUN_STATE))
        .and_then(|name| RunState::from_name(&name))
}

/// How many of the pipeline's nodes the run has not recorded — when the run is of this very
/// pipeline (another version's nodes cannot be counted).
fn unrecorded_nodes(pipeline: &Pipeline, run: &Context, recorded: usize) -> usize {
    let same_pipeline = text(run.custom_properties.get(properties::FINGERPRINT))
        .is_some_and(|fingerprint| fingerprint == pipeline.fingerprint().to_hex());
    if same_pipeline {
        pipeline.spec().nodes.len().saturating_sub(recorded)
    } else {
        0
    }
}

/// The newest execution of each node, by node id.
fn latest_by_node(executions: &[Execution]) -> BTreeMap<String, &Execution> {
    let mut latest: BTreeMap<String, &Execution> = BTreeMap::new();
    for execution in executions {
        let Some(node) = text(execution.custom_properties.get(properties::NODE_ID)) else {
            continue;
        };
        match latest.get(&node) {
            Some(known) if known.id >= execution.id => {}
            _ => {
                latest.insert(node, execution);
            }
        }
    }
    latest
}

/// A node's history from its executions in one run, oldest first.
fn node_history(node: String, executions: &[&Execution]) -> NodeHistory {
    let Some(last) = executions.last() else {
        return NodeHistory {
            node,
            state: NodeState::NotStarted,
            execution_id: None,
            started_ms: None,
            finished_ms: None,
            duration_ms: None,
            message: None,
            summary: None,
            cached_from: None,
            attempts: Vec::new(),
        };
    };
    let custom = &last.custom_properties;
    let summary = text(custom.get(properties::SUMMARY));
    let message = text(custom.get(properties::ERROR))
        .or_else(|| text(custom.get(properties::REASON)))
        .or_else(|| summary.clone());
    let attempts = executions
        .iter()
        .filter(|execution| {
            !matches!(
                execution.last_known_state,
                ExecutionState::Cached | ExecutionState::Canceled
            )
        })
        .map(|execution| Attempt {
            execution_id: execution.id.unwrap_or_default(),
            number: match execution.custom_properties.get(properties::ATTEMPT) {
                Some(Value::Int(number)) => u32::try_from(*number).unwrap_or(0),
                _ => 0,
            },
            state: NodeState::of_execution(execution),
            started_ms: execution.create_time_since_epoch,
            finished_ms: execution.last_update_time_since_epoch,
            error: text(execution.custom_properties.get(properties::ERROR)),
            log_dir: text(execution.custom_properties.get(properties::LOG_DIR)),
        })
        .collect();
    NodeHistory {
        node,
        state: NodeState::of_execution(last),
        execution_id: last.id,
        started_ms: Some(last.create_time_since_epoch),
        finished_ms: Some(last.last_update_time_since_epoch),
        duration_ms: Some(last.last_update_time_since_epoch - last.create_time_since_epoch),
        message,
        summary,
        cached_from: match custom.get(properties::CACHED_EXECUTION_ID) {
            Some(Value::Int(id)) => Some(*id),
            _ => None,
        },
        attempts,
    }
}
