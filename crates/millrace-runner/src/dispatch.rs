//! Dispatching nodes elsewhere: the scheduler of [`LocalRunner`](crate::LocalRunner) with each
//! component node executed by `run-node` in another process — a container, a Kubernetes Job.
//!
//! The scheduler is the same whatever executes a node: trigger rules, conditions, the exit
//! handler, parallelism, resume and Ctrl-C are decided here, on the machine that runs the
//! pipeline binary. What changes is one step: instead of calling the [`NodeLauncher`](crate::NodeLauncher) in
//! process, the scheduler hands a [`NodeTask`] to a [`NodeDispatcher`], which starts
//! `<binary> run-node --run-id R --node N` wherever it executes things and returns when that
//! ended. `run-node` makes exactly one attempt and records it in the shared metadata store; the
//! scheduler then reads the store to learn how the attempt ended, and retries with the node's
//! backoff. Every runner therefore retries the same way (a Kubernetes Job has
//! `backoffLimit: 0`; the runner, not the cluster, retries).
//!
//! A task that died without recording its end (killed at its timeout, out of memory, its pod
//! evicted, its image missing) leaves its execution RUNNING and its outputs PENDING: the
//! scheduler marks that execution FAILED with the dispatcher's reason and its outputs
//! ABANDONED, so nothing half-written is ever LIVE.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use millrace_core::spec::{NodeOptions, ShardTask};
use millrace_metadata::{Comparison, ExecutionState, MetadataStore, NodeQuery, OrderBy, Value};
use serde_json::Value as Json;

use crate::error::Result;
use crate::launcher::NodeOutcome;
use crate::local::recover_execution;
use crate::properties;
use crate::record::RunRecord;
use crate::state::NodeState;

/// One attempt of one node, for a dispatcher to execute with `run-node`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTask {
    /// The pipeline's name.
    pub pipeline: String,
    /// The pipeline's fingerprint (hex), which `run-node --fingerprint` checks.
    pub fingerprint: String,
    /// The run.
    pub run_id: String,
    /// The task: a node, or one shard of a sharded node (`<node>.shard-<i>`, see
    /// [`ShardTask`]), which `run-node` receives as `--node <node> --shard <i>`.
    pub node: String,
    /// Which attempt this is (0 for the first).
    pub attempt: u32,
    /// The run's parameter values (the run is already recorded; `run-node` joins it).
    pub parameters: BTreeMap<String, Json>,
    /// The node's options: its image, resources, timeout.
    pub options: NodeOptions,
    /// A local directory for what the dispatcher captures of the task (its output, a pod's
    /// log), created by the dispatcher when it writes there.
    pub log_dir: PathBuf,
}

impl NodeTask {
    /// The arguments of `run-node` for this task, after the binary.
    pub fn run_node_arguments(&self) -> Vec<String> {
        let task = ShardTask::parse(&self.node);
        let mut arguments = vec![
            "run-node".to_owned(),
            "--run-id".to_owned(),
            self.run_id.clone(),
            "--node".to_owned(),
            task.node.to_owned(),
        ];
        if let Some(index) = task.shard {
            arguments.extend(["--shard".to_owned(), index.to_string()]);
        }
        arguments.extend(["--fingerprint".to_owned(), self.fingerprint.clone()]);
        arguments
    }

    /// The node's timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.options.timeout_ms.map(Duration::from_millis)
    }

    /// A name for the task, unique within a store: lowercase letters, digits and `-`, at most
    /// 63 characters (what container engines and Kubernetes accept as a name).
    ///
    /// `millrace-<run id>-<node>-<attempt>`, lowercased, when the node id already is lowercase
    /// letters, digits and `-` and the run id letters, digits and `-` (generated run ids such as
    /// `20261204T135612-b88588` differ in more than case). Otherwise, or when it is too long,
    /// other characters become `-`, it is cut to 50 characters and ends with `-` and 12 hex
    /// digits of a hash of the original, so that node ids the cleaning makes equal
    /// (`Count-Echo_1` and `count_echo-1`, or `Train` and `train`) still name different tasks.
    pub fn name(&self) -> String {
        let original = format!("millrace-{}-{}-{}", self.run_id, self.node, self.attempt);
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let kept = self.node.chars().all(valid)
            && self
                .run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if kept && original.len() <= 63 {
            return original.to_ascii_lowercase();
        }
        let mut name: String = original
            .to_ascii_lowercase()
            .chars()
            .map(|c| if valid(c) { c } else { '-' })
            .take(50)
            .collect();
        while name.ends_with('-') {
            name.pop();
        }
        let hash = blake3::hash(original.as_bytes()).to_hex();
        name.push('-');
        name.push_str(&hash[..12]);
        name
    }
}

/// How a dispatched task ended, as the dispatcher saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEnd {
    /// `run-node` exited with this code (0 succeeded, 1 the node failed, 99 it was skipped).
    Exited(i32),
    /// The task ended without `run-node` exiting by itself: why, in words that name the cause
    /// (`"timed out after 30 s"`, `"OOMKilled"`, `"image localhost/x:1 not found"`).
    Killed(String),
}

/// Executes one attempt of a node with `run-node`, somewhere.
#[async_trait]
pub trait NodeDispatcher: Send + Sync + fmt::Debug {
    /// Runs `task` to its end. An `Err` is a failure of the dispatcher itself (it could not
    /// reach its engine at all); a task that ran and failed is `Ok` with its end.
    async fn dispatch(&self, task: &NodeTask) -> Result<TaskEnd>;

    /// Stops every task this dispatcher still runs (the run was interrupted) and removes what
    /// it created for them.
    async fn cancel_all(&self) -> Result<()>;
}

/// Runs `node` through `dispatcher`, attempt after attempt with its retry policy's backoff,
/// reading each attempt's end from the store.
pub(crate) async fn launch_dispatched(
    dispatcher: &dyn NodeDispatcher,
    store: &dyn MetadataStore,
    record: &RunRecord,
    options: &NodeOptions,
    node: &str,
    log_root: PathBuf,
) -> Result<NodeOutcome> {
    let retries = options.retry.max_retries;
    let mut outcome = None;
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(options.retry.delay_before(attempt)).await;
        }
        let before = newest_execution_id(store, record, node).await?;
        let task = NodeTask {
            pipeline: record.pipeline.clone(),
            fingerprint: record.fingerprint.clone(),
            run_id: record.run_id.clone(),
            node: node.to_owned(),
            attempt,
            parameters: record.parameters.clone(),
            options: options.clone(),
            log_dir: log_root.join(format!("attempt-{attempt}")),
        };
        let end = dispatcher.dispatch(&task).await?;
        let ended = attempt_outcome(store, record, node, before, &end).await?;
        // A task that recorded nothing (its pod evicted before it started, its image not
        // pulled) failed like any other attempt: the policy decides whether to retry.
        let done = matches!(
            ended.state,
            NodeState::Complete | NodeState::Cached | NodeState::Skipped
        );
        outcome = Some(NodeOutcome {
            attempts: attempt + 1,
            ..ended
        });
        if done {
            break;
        }
        tracing::warn!(node, attempt, message = ?outcome.as_ref().and_then(|o| o.message.clone()), "attempt failed");
    }
    Ok(outcome.unwrap_or_else(|| NodeOutcome {
        node: node.to_owned(),
        state: NodeState::Failed,
        attempts: 0,
        execution_id: None,
        message: Some("no attempt was made".to_owned()),
        duration_ms: 0,
    }))
}

/// The id of the newest execution of `node` in the run, of any state.
async fn newest_execution_id(
    store: &dyn MetadataStore,
    record: &RunRecord,
    node: &str,
) -> Result<Option<i64>> {
    Ok(store
        .get_executions(
            &NodeQuery::all()
                .in_context(record.run_context)
                .where_custom_property(properties::NODE_ID, Comparison::Eq, node)
                .order_by(OrderBy::Id)
                .descending()
                .limit(1),
        )
        .await?
        .first()
        .and_then(|execution| execution.id))
}

/// What one dispatched attempt did, from the executions it recorded after `before`.
async fn attempt_outcome(
    store: &dyn MetadataStore,
    record: &RunRecord,
    node: &str,
    before: Option<i64>,
    end: &TaskEnd,
) -> Result<NodeOutcome> {
    let recorded = store
        .get_executions(
            &NodeQuery::all()
                .in_context(record.run_context)
                .where_custom_property(properties::NODE_ID, Comparison::Eq, node)
                .order_by(OrderBy::Id)
                .descending()
                .limit(1),
        )
        .await?
        .into_iter()
        .next()
        .filter(|execution| execution.id > before);
    let end_message = match end {
        TaskEnd::Exited(code) => format!("run-node exited with code {code}"),
        TaskEnd::Killed(reason) => reason.clone(),
    };
    let Some(execution) = recorded else {
        // The task ended before `run-node` recorded anything (a missing image, a crash at
        // start): nothing to clean up, and retrying is what the policy says.
        return Ok(NodeOutcome {
            node: node.to_owned(),
            state: NodeState::Failed,
            attempts: 1,
            execution_id: None,
            message: Some(format!("the task recorded no execution: {end_message}")),
            duration_ms: 0,
        });
    };
    let text = |name: &str| match execution.custom_properties.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    };
    let (state, message) = match execution.last_known_state {
        ExecutionState::Running | ExecutionState::New => {
            // Killed before it could record its end.
            recover_execution(
                store,
                record.run_context,
                execution.clone(),
                ExecutionState::Failed,
                &end_message,
            )
            .await?;
            (NodeState::Failed, Some(end_message))
        }
        _ => {
            let state = NodeState::of_execution(&execution);
            let message = match state {
                NodeState::Failed => text(properties::ERROR).or(Some(end_message)),
                NodeState::Complete | NodeState::Cached => text(properties::SUMMARY),
                _ => text(properties::REASON),
            };
            (state, message)
        }
    };
    Ok(NodeOutcome {
        node: node.to_owned(),
        state,
        attempts: 1,
        execution_id: execution.id,
        message,
        duration_ms: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(run_id: &str, node: &str) -> NodeTask {
        NodeTask {
            pipeline: "p".to_owned(),
            fingerprint: "f".to_owned(),
            run_id: run_id.to_owned(),
            node: node.to_owned(),
            attempt: 1,
            parameters: BTreeMap::new(),
            options: NodeOptions::default(),
            log_dir: PathBuf::new(),
        }
    }

    fn is_dns_label(name: &str) -> bool {
        name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric())
    }

    #[test]
    fn a_name_that_is_already_a_dns_label_is_kept_and_a_generated_run_id_lowercased() {
        assert_eq!(task("r1", "train").name(), "millrace-r1-train-1");
        assert_eq!(
            task("20261204T135612-b88588", "train").name(),
            "millrace-20261204t135612-b88588-train-1"
        );
    }

    #[test]
    fn ids_that_cleaning_makes_equal_still_name_different_tasks() {
        let names: Vec<String> = [
            ("r1", "Count-Echo_1"),
            ("r1", "count_echo-1"),
            ("r1", "count-echo-1"),
            ("r1", "Train"),
            ("r1", "train"),
            ("r1", &"long_node_id_".repeat(5)),
            ("r1", &"long-node-id-".repeat(5)),
        ]
        .iter()
        .map(|(run, node)| task(run, node).name())
        .collect();
        for name in &names {
            assert!(is_dns_label(name), "{name}");
        }
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:#?}");
    }

    #[test]
    fn a_shard_task_runs_run_node_with_its_node_and_shard() {
        assert_eq!(
            task("r", "stats.shard-2").run_node_arguments(),
            [
                "run-node",
                "--run-id",
                "r",
                "--node",
                "stats",
                "--shard",
                "2",
                "--fingerprint",
                "f"
            ]
        );
        assert_eq!(
            task("r", "stats").run_node_arguments(),
            [
                "run-node",
                "--run-id",
                "r",
                "--node",
                "stats",
                "--fingerprint",
                "f"
            ]
        );
    }
}
