//! # millrace-runner
//!
//! Runs pipelines: the [`NodeLauncher`] executes one node the same way under every runner —
//! inputs resolved from the metadata store, a cache lookup, outputs written to staging and
//! published atomically with the execution's completion — and the [`LocalRunner`] runs a whole
//! pipeline on this machine, independent nodes in parallel.
//!
//! ```
//! use std::collections::BTreeMap;
//! use millrace_core::prelude::*;
//! use millrace_runner::{LocalRunner, NodeState};
//!
//! /// Writes a greeting.
//! #[millrace_macros::component(crate = millrace_core, kind = "doc.Greet")]
//! async fn greet(greeting: Output<Dataset>, name: String) -> Result<(), ComponentError> {
//!     std::fs::write(greeting.uri().join("greeting.txt"), format!("Hello, {name}!"))?;
//!     Ok(())
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut p = Pipeline::builder("greetings");
//! p.add("greet", Greet::new("world"));
//! let pipeline = p.build().unwrap();
//!
//! let root = tempfile::tempdir().unwrap();
//! let store = millrace_metadata::connect("memory://").await.unwrap();
//! let runner = LocalRunner::new(store, root.path());
//! let first = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
//! assert_eq!(first.node("greet").unwrap().state, NodeState::Complete);
//! let second = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
//! assert_eq!(second.node("greet").unwrap().state, NodeState::Cached);
//! # });
//! ```

pub mod cache_key;
pub mod cancel;
pub mod compare;
pub mod dispatch;
pub mod doctor;
mod error;
pub mod executor;
pub mod garbage;
pub mod group_commit;
pub mod history;
pub mod launcher;
pub mod layout;
pub mod local;
pub mod properties;
mod readiness;
pub mod record;
pub mod rerun;
pub mod resolve;
pub mod state;
pub mod tracking;

pub use cache_key::{CacheChange, CacheKey};
pub use cancel::Cancellations;
pub use compare::{ComparedRow, ComparedRun, RunComparison, compare_runs};
pub use dispatch::{NodeDispatcher, NodeTask, TaskEnd};
pub use doctor::{DoctorReport, Finding, FindingKind, doctor};
pub use error::{Result, RunnerError};
pub use garbage::{GarbageCollection, collect_garbage};
pub use group_commit::{CommitCounts, GroupCommit, Hold};
pub use history::{
    Attempt, CacheExplanation, CacheVerdict, NodeHistory, NotCachedReason, RunDetails, RunHistory,
    RunListing, RunPage,
};
pub use launcher::{NodeLauncher, NodeOutcome, SUMMARY_PROPERTY};
pub use layout::Layout;
pub use local::{LocalRunner, RunEvent, RunSummary, recover_interrupted};
pub use millrace_storage::ArtifactStorage;
pub use record::{RunRecord, new_run_id, utc_date_time};
pub use rerun::rerun_parameters;
pub use state::{NodeState, RunState};
pub use tracking::Provenance;
