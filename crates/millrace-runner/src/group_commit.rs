//! `GroupCommit`: execution writes that arrive together share one durable transaction.
//!
//! # Why
//!
//! A durable commit of ML-Metadata's schema costs about 0.3 ms on a small virtual machine,
//! many times what writing the rows of one execution costs (see `docs/benchmarks.md`). A node
//! writes twice — its start, then its publish — so a runner that commits every write alone
//! spends most of a short node's time waiting for the disk. Writes that can share a
//! transaction should.
//!
//! # How
//!
//! Writers [`put`](GroupCommit::put) requests into a queue. One commit at a time takes
//! *everything* queued and writes it with
//! [`MetadataStore::put_executions_with_events`] — one transaction, all or none, in queue
//! order. While a commit runs, new requests queue for the next one, so under load every
//! commit carries the writes that arrived during the previous one.
//!
//! A [`Hold`] says "a write that belongs with the queued ones is about to arrive": while any
//! hold is alive, a commit waits (at most [`MAX_HOLD_WAIT`], so a slow holder delays others by
//! that much and never blocks them). The local runner uses holds to fold a node's publish
//! and its successors' starts into one transaction: the finishing node takes a hold before it
//! queues its publish and hands it to the scheduler, which gives each successor it starts a
//! hold of its own before it lets go; each successor releases its hold as it queues its start.
//! A chain of nodes then commits once per node instead of twice.
//!
//! # Guarantees
//!
//! - A request's future resolves only after its transaction committed (or failed): what a
//!   caller does next happens after its write is durable, exactly as with
//!   [`MetadataStore::put_execution`].
//! - A batch is atomic. If it fails, its requests are written again one at a time, in order,
//!   until one fails: that one gets the store's error, the ones after it (which may depend on
//!   it) fail with [`RunnerError::SharedCommit`] naming it, and the ones before it are
//!   committed — one bad record does not fail the writes that happened to share its
//!   transaction, and nothing queued after it is written.
//! - Holds never deadlock a writer that holds one: [`put`](GroupCommit::put) releases the
//!   caller's hold in the same step as it queues the request.
//!
//! # Cost
//!
//! One mutex operation per request and per hold, one task per burst of commits; the
//! requests move into the transaction once.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use millrace_metadata::{MetadataStore, PutExecution, PutExecutionResult};
use tokio::sync::{Notify, oneshot};

use crate::error::{Result, RunnerError};

/// How long a commit waits at most for holds to be released before it commits what is
/// queued, unless [`GroupCommit::with_max_wait`] says otherwise.
pub const MAX_HOLD_WAIT: Duration = Duration::from_millis(20);

/// A queue of execution writes in front of a metadata store; see the [module](self).
#[derive(Clone)]
pub struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn MetadataStore>,
    max_wait: Duration,
    state: Mutex<State>,
    /// Signalled when a hold is released and when a burst of commits ends.
    changed: Notify,
}

#[derive(Default)]
struct State {
    queue: Vec<Queued>,
    holds: usize,
    committing: bool,
    commits: u64,
    written: u64,
}

struct Queued {
    request: PutExecution,
    reply: oneshot::Sender<Result<PutExecutionResult>>,
}

/// While alive, commits of its [`GroupCommit`] wait (see the [module](self)). Released when
/// dropped, or when passed to [`GroupCommit::put`].
#[must_use = "a hold is released as soon as it is dropped"]
pub struct Hold {
    shared: Option<Arc<Shared>>,
}

/// How many transactions a [`GroupCommit`] has committed, and how many requests they held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitCounts {
    /// Transactions committed (or attempted).
    pub commits: u64,
    /// Requests written by them.
    pub requests: u64,
    /// Requests queued and not yet taken by a commit.
    pub queued: usize,
}

impl GroupCommit {
    /// A queue in front of `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        GroupCommit::with_max_wait(store, MAX_HOLD_WAIT)
    }

    /// A queue in front of `store` whose commits wait at most `max_wait` for holds.
    pub fn with_max_wait(store: Arc<dyn MetadataStore>, max_wait: Duration) -> Self {
        GroupCommit {
            shared: Arc::new(Shared {
                store,
                max_wait,
                state: Mutex::new(State::default()),
                changed: Notify::new(),
            }),
        }
    }

    /// A hold: commits wait while it is alive.
    pub fn hold(&self) -> Hold {
        self.shared.lock().holds += 1;
        Hold {
            shared: Some(Arc::clone(&self.shared)),
        }
    }

    /// Queues `request` for the next commit, releases `hold` (the caller's, if it has one) and
    /// waits until the transaction holding the request has committed.
    pub async fn put(
        &self,
        request: PutExecution,
        hold: Option<Hold>,
    ) -> Result<PutExecutionResult> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = self.shared.lock();
            state.queue.push(Queued { request, reply });
            if let Some(mut hold) = hold
                && hold.shared.take().is_some()
            {
                state.holds -= 1;
            }
            !std::mem::replace(&mut state.committing, true)
        };
        self.shared.changed.notify_waiters();
        if start {
            self.start_commits();
        }
        answer.await.unwrap_or_else(|_| {
            Err(RunnerError::SharedCommit {
                message: "the process stopped before the transaction committed".to_owned(),
            })
        })
    }

    /// Waits until every request queued so far has been committed.
    pub async fn flush(&self) {
        loop {
            let changed = self.shared.changed.notified();
            {
                let state = self.shared.lock();
                if state.queue.is_empty() && !state.committing {
                    return;
                }
            }
            changed.await;
        }
    }

    /// How many transactions have been committed so far, and how many requests they held.
    pub fn counts(&self) -> CommitCounts {
        let state = self.shared.lock();
        CommitCounts {
            commits: state.commits,
            requests: state.written,
            queued: state.queue.len(),
        }
    }

    fn start_commits(&self) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(Arc::clone(&self.shared).commit_while_queued());
            }
            Err(_) => {
                // No runtime to commit on: nobody can be waiting for an answer either, but
                // say why to anyone who is.
                let queued = {
                    let mut state = self.shared.lock();
                    state.committing = false;
                    std::mem::take(&mut state.queue)
                };
                for item in queued {
                    let _ = item.reply.send(Err(RunnerError::SharedCommit {
                        message: "there is no async runtime to commit on".to_owned(),
                    }));
                }
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave the queue half-changed (every change is
        // one push, take or counter step), so a poisoned lock is still a consistent queue.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Commits what is queued, batch after batch, until the queue is empty.
    async fn commit_while_queued(self: Arc<Self>) {
        // When the queue's first request would be committed despite a hold still alive.
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let changed = self.changed.notified();
            let batch = {
                let mut state = self.lock();
                if state.queue.is_empty() {
                    state.committing = false;
                    drop(state);
                    self.changed.notify_waiters();
                    return;
                }
                let waited_enough =
                    deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline);
                if state.holds > 0 && !waited_enough {
                    None
                } else {
                    state.commits += 1;
                    state.written += state.queue.len() as u64;
                    Some(std::mem::take(&mut state.queue))
                }
            };
            let Some(batch) = batch else {
                // Someone is about to add to this batch: wait for them, but not for long.
                let until =
                    *deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.max_wait);
                let _ = tokio::time::timeout_at(until, changed).await;
                continue;
            };
            deadline = None;
            let (requests, replies): (Vec<PutExecution>, Vec<_>) = batch
                .into_iter()
                .map(|queued| (queued.request, queued.reply))
                .unzip();
            match self.store.put_executions_with_events(&requests).await {
                Ok(results) => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(Ok(result));
                    }
                }
                Err(error) if requests.len() == 1 => {
                    if let Some(reply) = replies.into_iter().next() {
                        let _ = reply.send(Err(error.into()));
                    }
                }
                Err(_) => self.commit_one_by_one(requests, replies).await,
            }
        }
    }

    /// After a shared transaction failed: writes its requests again one at a time, in order,
    /// until one fails. The requests before it are committed; it gets its own error; the ones
    /// after it fail with that error without being written, since they may depend on it (a
    /// node's start reads what the failed publish would have made LIVE).
    async fn commit_one_by_one(
        &self,
        requests: Vec<PutExecution>,
        replies: Vec<oneshot::Sender<Result<PutExecutionResult>>>,
    ) {
        let mut failed: Option<String> = None;
        for (request, reply) in requests.into_iter().zip(replies) {
            let answer = match &failed {
                Some(message) => Err(RunnerError::SharedCommit {
                    message: message.clone(),
                }),
                None => match self.store.put_execution(&request).await {
                    Ok(result) => Ok(result),
                    Err(error) => {
                        failed = Some(error.to_string());
                        Err(error.into())
                    }
                },
            };
            let _ = reply.send(answer);
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.lock().holds -= 1;
            shared.changed.notify_waiters();
        }
    }
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("GroupCommit")
            .field("store", &self.shared.store.location())
            .field("queued", &state.queue.len())
            .field("holds", &state.holds)
            .field("commits", &state.commits)
            .finish()
    }
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hold")
            .field("released", &self.shared.is_none())
            .finish()
    }
}
