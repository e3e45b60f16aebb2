//! The tables tracking, the model registry and the trigger ledger add beside ML-Metadata's, in the same database.
//!
//! ML-Metadata reads a store through its own tables and ignores these, so `ml-metadata` still
//! opens a store that has them. They are created when a store is opened (`IF NOT EXISTS`), so
//! stores written by ML-Metadata or by older Millrace versions get them too. Names start with
//! `millrace_`; types are written once with `{INT}`, `{REAL}`, `{BLOB}` and `{BOOL}` for what
//! SQLite and PostgreSQL spell differently.

use crate::error::Result;
use crate::sql::{Dialect, SqlTx};

/// The statements, in dependency order.
const TABLES: &[&str] = &[
    // Experiments: a pipeline's context or a named experiment's.
    r#"CREATE TABLE IF NOT EXISTS "millrace_experiment" ("experiment_id" {INT} PRIMARY KEY, "context_id" {INT} NOT NULL UNIQUE, "name" TEXT NOT NULL UNIQUE, "artifact_location" TEXT NOT NULL, "lifecycle_stage" TEXT NOT NULL, "creation_time" {INT} NOT NULL, "last_update_time" {INT} NOT NULL)"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_experiment_tag" ("experiment_id" {INT} NOT NULL, "key" TEXT NOT NULL, "value" TEXT NOT NULL, PRIMARY KEY ("experiment_id", "key"))"#,
    // Runs: each records one execution or one pipeline run.
    r#"CREATE TABLE IF NOT EXISTS "millrace_run" ("run_id" TEXT PRIMARY KEY, "experiment_id" {INT} NOT NULL, "execution_id" {INT} UNIQUE, "run_context_id" {INT} UNIQUE, "parent_run_id" TEXT, "name" TEXT NOT NULL, "user_id" TEXT NOT NULL, "status" TEXT NOT NULL, "start_time" {INT} NOT NULL, "end_time" {INT}, "lifecycle_stage" TEXT NOT NULL, "artifact_uri" TEXT NOT NULL)"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_run_experiment_start" ON "millrace_run" ("experiment_id", "start_time")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_run_parent" ON "millrace_run" ("parent_run_id")"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_run_param" ("run_id" TEXT NOT NULL, "key" TEXT NOT NULL, "value" TEXT NOT NULL, PRIMARY KEY ("run_id", "key"))"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_run_param_key_value" ON "millrace_run_param" ("key", "value")"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_run_tag" ("run_id" TEXT NOT NULL, "key" TEXT NOT NULL, "value" TEXT NOT NULL, PRIMARY KEY ("run_id", "key"))"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_latest_metric" ("run_id" TEXT NOT NULL, "key" TEXT NOT NULL, "value" {REAL} NOT NULL, "timestamp" {INT} NOT NULL, "step" {INT} NOT NULL, "is_nan" {BOOL} NOT NULL, PRIMARY KEY ("run_id", "key"))"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_latest_metric_key_value" ON "millrace_latest_metric" ("key", "value")"#,
    // Metric histories, in chunks of points (see `history.rs`).
    r#"CREATE TABLE IF NOT EXISTS "millrace_metric_chunk" ("run_id" TEXT NOT NULL, "key" TEXT NOT NULL, "seq" {INT} NOT NULL, "count" {INT} NOT NULL, "points" {BLOB} NOT NULL, PRIMARY KEY ("run_id", "key", "seq"))"#,
    // The model registry.
    r#"CREATE TABLE IF NOT EXISTS "millrace_registered_model" ("name" TEXT PRIMARY KEY, "context_id" {INT} NOT NULL, "creation_time" {INT} NOT NULL, "last_updated_time" {INT} NOT NULL, "description" TEXT NOT NULL)"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_registered_model_tag" ("name" TEXT NOT NULL, "key" TEXT NOT NULL, "value" TEXT NOT NULL, PRIMARY KEY ("name", "key"))"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_model_version" ("name" TEXT NOT NULL, "version" {INT} NOT NULL, "artifact_id" {INT}, "source" TEXT NOT NULL, "storage_location" TEXT NOT NULL, "run_id" TEXT, "run_link" TEXT NOT NULL, "status" TEXT NOT NULL, "current_stage" TEXT NOT NULL, "approval" TEXT NOT NULL, "description" TEXT NOT NULL, "user_id" TEXT NOT NULL, "creation_time" {INT} NOT NULL, "last_updated_time" {INT} NOT NULL, PRIMARY KEY ("name", "version"))"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_model_version_artifact" ON "millrace_model_version" ("artifact_id")"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_model_version_tag" ("name" TEXT NOT NULL, "version" {INT} NOT NULL, "key" TEXT NOT NULL, "value" TEXT NOT NULL, PRIMARY KEY ("name", "version", "key"))"#,
    // The trigger ledger (`triggers/`): each firing once, and paused triggers.
    r#"CREATE TABLE IF NOT EXISTS "millrace_trigger_fire" ("pipeline" TEXT NOT NULL, "trigger" TEXT NOT NULL, "key" TEXT NOT NULL, "run_id" TEXT, "claimed_time" {INT} NOT NULL, PRIMARY KEY ("pipeline", "trigger", "key"))"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_trigger_fire_time" ON "millrace_trigger_fire" ("pipeline", "claimed_time")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_trigger_fire_run" ON "millrace_trigger_fire" ("pipeline", "run_id")"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_trigger_state" ("pipeline" TEXT NOT NULL, "trigger" TEXT NOT NULL, "paused" {BOOL} NOT NULL, "updated_time" {INT} NOT NULL, PRIMARY KEY ("pipeline", "trigger"))"#,
    r#"CREATE TABLE IF NOT EXISTS "millrace_model_alias" ("name" TEXT NOT NULL, "alias" TEXT NOT NULL, "version" {INT} NOT NULL, PRIMARY KEY ("name", "alias"))"#,
];

/// Creates the tables and indexes that do not exist yet.
pub(crate) fn ensure(tx: &mut dyn SqlTx) -> Result<()> {
    let (int, real, blob, boolean) = match tx.dialect() {
        Dialect::Sqlite => ("INTEGER", "REAL", "BLOB", "INTEGER"),
        Dialect::Postgres => ("BIGINT", "DOUBLE PRECISION", "BYTEA", "BOOLEAN"),
    };
    for statement in TABLES {
        let statement = statement
            .replace("{INT}", int)
            .replace("{REAL}", real)
            .replace("{BLOB}", blob)
            .replace("{BOOL}", boolean);
        tx.execute(&statement, &[])?;
    }
    Ok(())
}
