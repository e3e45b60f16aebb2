//! Canceling a run from outside it: a [`Cancellations`] handed to a [`LocalRunner`] with
//! [`LocalRunner::cancellations`] registers each run while it executes; [`Cancellations::cancel`]
//! then stops that run as Ctrl-C would — running nodes are stopped and recorded CANCELED, the
//! run ends `interrupted`, and `resume` can continue it. (The web UI's cancel action.)
//!
//! ```
//! let cancellations = millrace_runner::Cancellations::default();
//! assert!(!cancellations.cancel("no-such-run"));
//! assert!(cancellations.running().is_empty());
//! ```
//!
//! [`LocalRunner`]: crate::LocalRunner
//! [`LocalRunner::cancellations`]: crate::LocalRunner::cancellations

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// The runs that can be canceled, by id. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct Cancellations {
    runs: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Cancellations {
    /// Cancels run `run_id` if it is executing here; whether it was.
    pub fn cancel(&self, run_id: &str) -> bool {
        match self
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(run_id)
        {
            Some(signal) => {
                // A stored permit: the run sees it even if it is not waiting at this moment.
                signal.notify_one();
                true
            }
            None => false,
        }
    }

    /// The runs executing here, sorted.
    pub fn running(&self) -> Vec<String> {
        let mut runs: Vec<String> = self
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        runs.sort();
        runs
    }

    /// Registers `run_id` until the returned registration is dropped.
    pub(crate) fn register(&self, run_id: &str) -> Registration {
        let signal = Arc::new(Notify::new());
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(run_id.to_owned(), Arc::clone(&signal));
        Registration {
            runs: self.clone(),
            run_id: run_id.to_owned(),
            signal,
        }
    }
}

/// A run registered for cancellation; dropping it unregisters the run.
#[derive(Debug)]
pub(crate) struct Registration {
    runs: Cancellations,
    run_id: String,
    signal: Arc<Notify>,
}

impl Registration {
    /// Resolves when the run is canceled.
    pub(crate) async fn canceled(&self) {
        self.signal.notified().await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.runs
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.run_id);
    }
}
