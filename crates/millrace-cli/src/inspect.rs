//! The inspection commands: `runs list`, `runs show`, `artifacts list`, `lineage`,
//! `cache explain` — each asks the runner's [`RunHistory`] and renders its answer.

use std::io::Write;
use std::sync::Arc;

use millrace_core::Pipeline;
use millrace_metadata::{Direction, MetadataStore};
use millrace_runner::{RunHistory, RunPage, RunnerError};

use crate::command::{LineageDirection, Location};
use crate::error::CliError;
use crate::render;

async fn open(location: &Location) -> Result<Arc<dyn MetadataStore>, CliError> {
    Ok(millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?)
}

pub(crate) async fn runs_list(
    pipeline: &Pipeline,
    page: RunPage,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let runs = RunHistory::new(&*store).runs(pipeline, &page).await?;
    render::run_listing(pipeline.name(), &store.location(), &runs).write(stdout, json)
}

pub(crate) async fn runs_show(
    pipeline: &Pipeline,
    run_id: &str,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let run = RunHistory::new(&*store).run(pipeline, run_id).await?;
    render::run_details(&run).write(stdout, json)
}

pub(crate) async fn artifacts_list(
    pipeline: &Pipeline,
    artifact_type: Option<&str>,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let artifacts = RunHistory::new(&*store)
        .artifacts(pipeline, artifact_type)
        .await?;
    render::artifacts(&artifacts).write(stdout, json)
}

pub(crate) async fn lineage(
    artifact_id: i64,
    direction: LineageDirection,
    hops: u32,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let direction = match direction {
        LineageDirection::Upstream => Direction::Upstream,
        LineageDirection::Downstream => Direction::Downstream,
        LineageDirection::Both => Direction::Both,
    };
    let graph = RunHistory::new(&*store)
        .lineage(artifact_id, direction, hops)
        .await?;
    render::lineage(artifact_id, &graph).write(stdout, json)
}

pub(crate) async fn cache_explain(
    pipeline: &Pipeline,
    node: &str,
    run_id: Option<&str>,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    pipeline.node(node)?;
    let store = open(location).await?;
    let explanation = RunHistory::new(&*store)
        .explain_cache(pipeline, node, run_id)
        .await?;
    render::cache_explanation(&explanation).write(stdout, json)
}

pub(crate) async fn gc(
    pipeline: &Pipeline,
    keep_last: Option<usize>,
    older_than_days: u32,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let storage = location.storage()?;
    let pruned = match keep_last {
        Some(keep_last) => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
                });
            let older_than_ms = now_ms - i64::from(older_than_days) * 86_400_000;
            Some(
                store
                    .prune_runs(pipeline.name(), older_than_ms, keep_last)
                    .await
                    .map_err(RunnerError::from)?,
            )
        }
        None => None,
    };
    let collected = millrace_runner::collect_garbage(&*store, &storage).await?;
    render::garbage(pruned.as_ref(), &collected).write(stdout, json)?;
    if collected.failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::RunFailed)
    }
}
