//! The ledger of triggers: what a scheduler fired — a cron tick, a new span of data, a
//! backfill date — so that each fires once, even across restarts and with two schedulers on
//! one store, and none is lost; and whether each trigger is paused.
//!
//! **Once.** [`TriggerStore::claim_trigger`] inserts `(pipeline, trigger, key)` — the key is
//! what fired: the tick's time, the span — under a primary key, so of two claims of the same
//! key exactly one gets [`Claim::New`]. **Never lost.** A scheduler claims *before* it starts
//! the run and records the run id after ([`TriggerStore::attach_run`]); a claim without a run
//! is one that a crash interrupted, and [`TriggerStore::unstarted_claims`] hands it to the
//! next scheduler to start. The tables (`millrace_trigger_fire`, `millrace_trigger_state`)
//! sit beside ML-Metadata's, as tracking's do.
//!
//! ```
//! use millrace_metadata::connect;
//! use millrace_metadata::triggers::{Claim, TriggerStore};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = connect("memory://").await?;
//! let tick = "2026-12-04T03:00:00Z";
//! assert!(matches!(store.claim_trigger("taxi", "schedule", tick).await?, Claim::New));
//! assert!(matches!(store.claim_trigger("taxi", "schedule", tick).await?, Claim::Already(_)));
//! assert_eq!(store.unstarted_claims("taxi").await?.len(), 1);
//! store.attach_run("taxi", "schedule", tick, "20261204T030000-1a2b3c").await?;
//! assert!(store.unstarted_claims("taxi").await?.is_empty());
//! # Ok::<(), millrace_metadata::MetadataError>(())
//! # }).unwrap();
//! ```

pub(crate) mod ops;

use async_trait::async_trait;
use serde::Serialize;

use crate::error::Result;

/// One firing of a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriggerFire {
    /// The pipeline.
    pub pipeline: String,
    /// The trigger (`schedule`, `new-data:example_gen`, `backfill`).
    pub trigger: String,
    /// What fired: the tick's time, the span.
    pub key: String,
    /// The run it started, once started.
    pub run_id: Option<String>,
    /// When it was claimed, in milliseconds since the epoch.
    pub claimed_time: i64,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This claim is the first: start the run.
    New,
    /// Claimed before (by this or another scheduler): do nothing.
    Already(TriggerFire),
}

/// Whether a trigger is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriggerState {
    /// The trigger.
    pub trigger: String,
    /// Paused: it fires nothing until resumed.
    pub paused: bool,
    /// When that was last changed, in milliseconds since the epoch.
    pub updated_time: i64,
}

/// The ledger. Every store [`connect`](crate::connect) opens implements it.
#[async_trait]
pub trait TriggerStore: Send + Sync {
    /// Claims `key` of `trigger` of `pipeline`: [`Claim::New`] exactly once per key.
    async fn claim_trigger(&self, pipeline: &str, trigger: &str, key: &str) -> Result<Claim>;

    /// Records the run a claim started.
    async fn attach_run(
        &self,
        pipeline: &str,
        trigger: &str,
        key: &str,
        run_id: &str,
    ) -> Result<()>;

    /// The claims of `pipeline` that no run was recorded for (a crash came between), oldest
    /// first.
    async fn unstarted_claims(&self, pipeline: &str) -> Result<Vec<TriggerFire>>;

    /// The newest `limit` firings of `pipeline` (of one trigger, when given), newest first.
    async fn trigger_fires(
        &self,
        pipeline: &str,
        trigger: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TriggerFire>>;

    /// The firings that started any of `run_ids` (a run resumed after a crash was started by
    /// one firing; a backfill tick also holds its schedule key), oldest first.
    async fn fires_of_runs(&self, pipeline: &str, run_ids: &[String]) -> Result<Vec<TriggerFire>>;

    /// The greatest key claimed for `trigger` of `pipeline` (for time keys in RFC 3339 UTC,
    /// the latest tick), whatever order the claims came in.
    async fn latest_key(&self, pipeline: &str, trigger: &str) -> Result<Option<String>>;

    /// Pauses or resumes a trigger.
    async fn set_trigger_paused(&self, pipeline: &str, trigger: &str, paused: bool) -> Result<()>;

    /// The triggers of `pipeline` that were ever paused or resumed.
    async fn trigger_states(&self, pipeline: &str) -> Result<Vec<TriggerState>>;
}
