//! The names of the custom properties the runner records, in one place.
//!
//! ML-Metadata's executions and contexts carry custom properties; these are the ones Millrace
//! writes and reads back (the launcher writes them, the run history reads them). Other tools
//! reading the store (`ml-metadata`, the web UI) see the same names.

/// Execution: the node id within its pipeline.
pub const NODE_ID: &str = "node_id";
/// The shard a shard task's execution processed (its node id is `<node>.shard-<i>`).
pub const SHARD_INDEX: &str = "shard_index";
/// How many shards the node has, on shard and merge executions.
pub const SHARD_COUNT: &str = "shard_count";
/// Execution: the id of the run it belongs to.
pub const RUN_ID: &str = "run_id";
/// Execution: the attempt number, from 0.
pub const ATTEMPT: &str = "attempt";
/// Execution: the hex fingerprint of its cache key.
pub const CACHE_KEY: &str = "cache_key";
/// Execution: what the cache key was made of (a struct), for `cache explain`.
pub const CACHE_COMPONENTS: &str = "cache_components";
/// Cached execution: the execution whose results it reused.
pub const CACHED_EXECUTION_ID: &str = "cached_execution_id";
/// Execution: why it failed.
pub const ERROR: &str = "error";
/// A node that did not run: why.
pub const REASON: &str = "reason";
/// A node that did not run: whether it was skipped (written by every version).
pub const SKIPPED: &str = "skipped";
/// A node that did not run: which of `skipped`, `upstream_failed`, `canceled` it was.
pub const NODE_STATE: &str = "node_state";
/// Execution: the component's one-line summary of what it did.
pub const SUMMARY: &str = "summary";
/// Execution: the directory of its logs.
pub const LOG_DIR: &str = "log_dir";
/// Resolver execution: how many artifacts it resolved.
pub const RESOLVED: &str = "resolved";
/// Execution: the prefix of a metric's property (`metric.rmse`).
pub const METRIC_PREFIX: &str = "metric.";

/// Run context: the pipeline's fingerprint when the run started.
pub const FINGERPRINT: &str = "fingerprint";
/// Run context: the pipeline's name.
pub const PIPELINE: &str = "pipeline";
/// Run context: the value of every runtime parameter (a struct).
pub const PARAMETERS: &str = "parameters";
/// Run context: how the run ended (`succeeded`, `failed`, `interrupted`), once it has.
pub const RUN_STATE: &str = "state";
/// Run context: when the run ended, in milliseconds since the epoch.
pub const FINISHED_MS: &str = "finished_ms";

/// Run context: each node's fingerprint, a struct of node id → 16 hex digits (what `rerun`
/// compares).
pub const NODE_FINGERPRINTS: &str = "node_fingerprints";
