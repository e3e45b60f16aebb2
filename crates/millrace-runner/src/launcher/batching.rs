//! Launching under the local runner: one durable commit per node.
//!
//! A launcher on its own (`run-node`, one task of a remote engine) writes each record in a
//! transaction of its own and reads its inputs from the store. Under the
//! [`LocalRunner`](crate::LocalRunner), which schedules every node of the run in this process,
//! it is given a [`Batching`] and then:
//!
//! - **writes through the run's [`GroupCommit`]**, so that records arriving together — parallel
//!   nodes finishing at once, several runs in one process — share a transaction;
//! - **reads its inputs from [`RunOutputs`]**, what the run's nodes produced, kept in memory as
//!   they finish, instead of three store reads an input (a task that finished before a resume,
//!   or that this process did not run, is still read from the store);
//! - **announces its finish before its record commits** ([`Finishing`]): once a node's outputs
//!   are in place and its publish (or CACHED record) is queued, the scheduler starts the
//!   successors it unblocks, and their starts join the same transaction. The announcement
//!   carries a [`Hold`], which keeps the transaction open until the scheduler has given each
//!   successor a hold of its own; each successor releases its hold when it queues its start.
//!
//! Nothing here changes what the store says or when: a successor's start commits with its
//! predecessor's publish — never before it — so an execution shown RUNNING is running or was
//! interrupted, and a crash leaves exactly what it left before (the runner's SIGKILL-and-resume
//! tests run unchanged). If the shared transaction fails, the predecessor's publish and the
//! successors' starts fail together.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use millrace_core::spec::ChannelRef;
use millrace_metadata::{Artifact, PutExecution, PutExecutionResult};
use tokio::sync::mpsc::UnboundedSender;

use super::NodeLauncher;
use crate::error::Result;
use crate::group_commit::{GroupCommit, Hold};
use crate::resolve;
use crate::state::NodeState;

/// A task's artifacts by output name.
pub(crate) type Outputs = BTreeMap<String, Vec<Artifact>>;

/// The outputs of the tasks that finished in this run, by task id, as their records commit
/// them (LIVE, with their properties).
#[derive(Debug, Clone, Default)]
pub struct RunOutputs(Arc<Mutex<HashMap<String, Outputs>>>);

impl RunOutputs {
    fn get(&self, task: &str) -> Option<Outputs> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(task)
            .cloned()
    }

    fn set(&self, task: &str, outputs: Outputs) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(task.to_owned(), outputs);
    }

    fn forget(&self, task: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(task);
    }
}

/// A task whose outputs are in place and whose record is queued: the scheduler may start the
/// nodes it unblocks, whose starts then join the record's transaction. Dropping `hold` lets
/// that transaction commit.
#[derive(Debug)]
pub struct Finishing {
    /// The task.
    pub task: String,
    /// How it is ending: complete or cached.
    pub state: NodeState,
    /// Keeps the queued record's transaction open.
    pub hold: Hold,
}

/// What a launcher under the local runner shares with the run's scheduler; see the
/// [module](self).
#[derive(Debug, Clone)]
pub struct Batching {
    /// The commit queue every launcher of the runner writes through.
    pub group: GroupCommit,
    /// The outputs of the run's finished tasks.
    pub outputs: RunOutputs,
    /// Where finishing tasks are announced.
    pub finishing: UnboundedSender<Finishing>,
}

impl NodeLauncher<'_> {
    /// Writes an execution record: through the group commit (releasing this launcher's hold)
    /// under the local runner, in a transaction of its own otherwise.
    pub(super) async fn put(&self, request: PutExecution) -> Result<PutExecutionResult> {
        match &self.batching {
            Some(batching) => batching.group.put(request, self.take_hold()).await,
            None => Ok(self.store.put_execution(&request).await?),
        }
    }

    /// Lets the group commit go on without waiting for this launcher's next write (before
    /// work that may take long, such as downloading inputs).
    pub(super) fn release_hold(&self) {
        drop(self.take_hold());
    }

    fn take_hold(&self) -> Option<Hold> {
        self.hold
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The artifacts `channel` holds in this run.
    pub(super) async fn channel_in_run(&self, channel: &ChannelRef) -> Result<Vec<Artifact>> {
        if let Some(outputs) = self
            .batching
            .as_ref()
            .and_then(|batching| batching.outputs.get(&channel.node))
        {
            return Ok(outputs.get(&channel.output).cloned().unwrap_or_default());
        }
        resolve::channel_in_run(self.store, self.record, channel).await
    }

    /// Says that `task` ends `state` with `outputs`, whose record is about to be queued:
    /// nodes reading them may start now (see the [module](self)).
    pub(super) fn announce(&self, task: &str, state: NodeState, outputs: Outputs) {
        let Some(batching) = &self.batching else {
            return;
        };
        batching.outputs.set(task, outputs);
        // Until the record is queued, this launcher holds the transaction open too: the
        // scheduler may start the successors and let go before the record is in the queue.
        *self.hold.lock().unwrap_or_else(PoisonError::into_inner) = Some(batching.group.hold());
        let _ = batching.finishing.send(Finishing {
            task: task.to_owned(),
            state,
            hold: batching.group.hold(),
        });
    }

    /// Takes back an announcement whose record failed to commit.
    pub(super) fn retract(&self, task: &str) {
        if let Some(batching) = &self.batching {
            batching.outputs.forget(task);
        }
    }
}
