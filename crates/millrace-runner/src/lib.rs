//! # millrace-runner
//!
//! Runs pipelines: the [`NodeLauncher`] executes one node the same way under every runner —
//! inputs resolved from the metadata store, a cache lookup, outputs written to staging and
//! published atomically with the execution's completion — and the [`LocalRunner`] runs a whole
//! pipeline on this machine, independent nodes in parallel.

mod error;
pub mod executor;
pub mod launcher;
pub mod layout;
pub mod local;
pub mod record;
pub mod resolve;

pub use error::{Result, RunnerError};
pub use launcher::{NodeLauncher, NodeOutcome, NodeState};
pub use layout::Layout;
pub use local::{LocalRunner, RunEvent, RunSummary, recover_interrupted};
pub use record::{RunRecord, new_run_id};
