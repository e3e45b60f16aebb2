//! The states of nodes and runs, with the one spelling every output uses.
//!
//! ML-Metadata records an execution's state (NEW, RUNNING, COMPLETE, FAILED, CACHED,
//! CANCELED); a pipeline user thinks in what happened to a node of a run — it completed, was
//! served from the cache, was skipped by its condition, did not run because something upstream
//! failed. [`NodeState`] is the latter, and [`NodeState::of_execution`] reads it back from the
//! store, so that a live run, `runs show` and the web UI say the same thing in the same words.
//!
//! ```
//! use millrace_runner::NodeState;
//!
//! assert_eq!(NodeState::UpstreamFailed.as_str(), "upstream_failed");
//! assert_eq!(serde_json::to_value(NodeState::Cached).unwrap(), "cached");
//! assert!(NodeState::Cached.succeeded());
//! ```

use millrace_metadata::{Execution, ExecutionState, Value};
use serde::{Deserialize, Serialize};

use crate::properties;

/// What happened to a node in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// It ran and succeeded.
    Complete,
    /// Its results were reused from an earlier execution.
    Cached,
    /// It failed, after its retries.
    Failed,
    /// Its condition was false (or an upstream node was skipped).
    Skipped,
    /// It did not run because an upstream node failed.
    UpstreamFailed,
    /// It did not run because the run stopped (fail-fast, Ctrl-C, or an interruption).
    Canceled,
    /// It is running — or its process died and nobody has resumed the run yet.
    Running,
    /// Nothing of it is recorded in the run yet.
    NotStarted,
}

impl NodeState {
    /// Every state, in the order listings show them.
    pub const ALL: [NodeState; 8] = [
        NodeState::Complete,
        NodeState::Cached,
        NodeState::Failed,
        NodeState::Skipped,
        NodeState::UpstreamFailed,
        NodeState::Canceled,
        NodeState::Running,
        NodeState::NotStarted,
    ];

    /// Whether downstream nodes may use its outputs.
    pub fn succeeded(self) -> bool {
        matches!(self, NodeState::Complete | NodeState::Cached)
    }

    /// Whether the node has finished, one way or another.
    pub fn is_final(self) -> bool {
        !matches!(self, NodeState::Running | NodeState::NotStarted)
    }

    /// Whether the run can still count as a success with the node in this state.
    pub fn is_success_of_run(self) -> bool {
        matches!(
            self,
            NodeState::Complete | NodeState::Cached | NodeState::Skipped
        )
    }

    /// The state's name, as JSON output and the store spell it: `upstream_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Complete => "complete",
            NodeState::Cached => "cached",
            NodeState::Failed => "failed",
            NodeState::Skipped => "skipped",
            NodeState::UpstreamFailed => "upstream_failed",
            NodeState::Canceled => "canceled",
            NodeState::Running => "running",
            NodeState::NotStarted => "not_started",
        }
    }

    /// The state named `name` (as [`NodeState::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<NodeState> {
        NodeState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }

    /// What a recorded execution says happened to its node. Executions of nodes that did not
    /// run are CANCELED in ML-Metadata's terms; the runner records which of skipped, upstream
    /// failed and canceled it was (and stores written before it did, whether it was skipped).
    pub fn of_execution(execution: &Execution) -> NodeState {
        match execution.last_known_state {
            ExecutionState::Complete => NodeState::Complete,
            ExecutionState::Cached => NodeState::Cached,
            ExecutionState::Failed => NodeState::Failed,
            ExecutionState::Running | ExecutionState::New => NodeState::Running,
            ExecutionState::Canceled | ExecutionState::Unknown => {
                let custom = &execution.custom_properties;
                match custom.get(properties::NODE_STATE) {
                    Some(Value::String(name)) => {
                        NodeState::from_name(name).unwrap_or(NodeState::Canceled)
                    }
                    _ if custom.get(properties::SKIPPED) == Some(&Value::Bool(true)) => {
                        NodeState::Skipped
                    }
                    _ => NodeState::Canceled,
                }
            }
        }
    }
}

impl std::fmt::Display for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Some node is running (or was, when its process died).
    Running,
    /// Every node completed, was cached or skipped.
    Succeeded,
    /// A node failed.
    Failed,
    /// The run was stopped (Ctrl-C) before it finished.
    Interrupted,
    /// Nothing runs, nothing failed, but not every node has finished: a remote run between
    /// tasks, or a run whose process died before recording every node; resume it.
    Incomplete,
}

impl RunState {
    /// The state's name: `succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Incomplete => "incomplete",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<RunState> {
        [
            RunState::Running,
            RunState::Succeeded,
            RunState::Failed,
            RunState::Interrupted,
            RunState::Incomplete,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }

    /// The state of a run whose nodes are in `states` (one per recorded node) and which has
    /// `unrecorded` nodes that left no trace yet.
    pub fn of_nodes(states: impl IntoIterator<Item = NodeState>, unrecorded: usize) -> RunState {
        let (mut running, mut failed, mut canceled) = (false, false, false);
        for state in states {
            match state {
                NodeState::Running => running = true,
                NodeState::Failed | NodeState::UpstreamFailed => failed = true,
                NodeState::Canceled => canceled = true,
                _ => {}
            }
        }
        if running {
            RunState::Running
        } else if failed {
            RunState::Failed
        } else if canceled {
            RunState::Interrupted
        } else if unrecorded > 0 {
            RunState::Incomplete
        } else {
            RunState::Succeeded
        }
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canceled(properties: &[(&str, Value)]) -> Execution {
        Execution {
            last_known_state: ExecutionState::Canceled,
            custom_properties: properties
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
            ..Execution::default()
        }
    }

    #[test]
    fn names_round_trip_and_match_the_json_spelling() {
        for state in NodeState::ALL {
            assert_eq!(NodeState::from_name(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }

    #[test]
    fn a_not_run_node_reads_back_as_what_it_was() {
        let upstream = canceled(&[(properties::NODE_STATE, Value::from("upstream_failed"))]);
        assert_eq!(
            NodeState::of_execution(&upstream),
            NodeState::UpstreamFailed
        );
        let older_skip = canceled(&[(properties::SKIPPED, Value::Bool(true))]);
        assert_eq!(NodeState::of_execution(&older_skip), NodeState::Skipped);
        assert_eq!(NodeState::of_execution(&canceled(&[])), NodeState::Canceled);
    }

    #[test]
    fn a_run_fails_with_a_node_and_is_incomplete_while_nodes_are_missing() {
        use NodeState::*;
        assert_eq!(
            RunState::of_nodes([Complete, Skipped], 0),
            RunState::Succeeded
        );
        assert_eq!(
            RunState::of_nodes([Complete, UpstreamFailed], 0),
            RunState::Failed
        );
        assert_eq!(
            RunState::of_nodes([Complete, Running, Failed], 0),
            RunState::Running
        );
        assert_eq!(
            RunState::of_nodes([Complete, Canceled], 0),
            RunState::Interrupted
        );
        assert_eq!(RunState::of_nodes([Complete], 2), RunState::Incomplete);
    }
}
