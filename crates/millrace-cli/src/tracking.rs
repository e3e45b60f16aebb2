//! The tracking commands: `runs compare`, `runs metric`, `runs search`, `experiments list`
//! and `rerun` — each asks the runner or the store's tracking API and renders the answer.

use std::io::Write;
use std::sync::Arc;

use millrace_core::Pipeline;
use millrace_metadata::MetadataStore;
use millrace_metadata::tracking::{LogBatch, RunSearch, ViewType};
use millrace_runner::RunnerError;

use crate::command::Location;
use crate::error::CliError;
use crate::render;

async fn open(location: &Location) -> Result<Arc<dyn MetadataStore>, CliError> {
    Ok(millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?)
}

/// What `runs search` looks for.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// MLflow's filter grammar: `metrics.`evaluator.rmse` < 4 and params.max_depth = '8'`.
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Order: `metrics.`evaluator.rmse` ASC` (repeatable); newest first after them.
    #[arg(long = "order-by", value_name = "CLAUSE")]
    pub order_by: Vec<String>,
    /// Search this experiment (default: this pipeline's).
    #[arg(long)]
    pub experiment: Option<String>,
    /// Search every experiment.
    #[arg(long, conflicts_with = "experiment")]
    pub all_experiments: bool,
    /// Include the runs of nodes nested in pipeline runs.
    #[arg(long)]
    pub nested: bool,
    /// At most this many runs.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Skip this many (the `next_offset` of the previous page).
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
}

pub(crate) async fn compare(
    run_ids: &[String],
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let comparison = millrace_runner::compare_runs(&*store, run_ids).await?;
    render::tracking::comparison(&comparison).write(stdout, json)
}

pub(crate) async fn metric(
    run_id: &str,
    key: &str,
    node: Option<&str>,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let tracked_run = match node {
        Some(node) => {
            millrace_runner::tracking::node_run_of(&*store, run_id, node)
                .await?
                .info
                .run_id
        }
        None => millrace_runner::tracking::tracked_run_id(run_id),
    };
    let points = store
        .metric_history(&tracked_run, key)
        .await
        .map_err(|error| unknown_run(error, &tracked_run, &*store))?;
    render::tracking::metric_history(&tracked_run, key, &points).write(stdout, json)
}

fn unknown_run(
    error: millrace_metadata::MetadataError,
    run_id: &str,
    store: &dyn MetadataStore,
) -> CliError {
    match error {
        millrace_metadata::MetadataError::NotFound { .. } => RunnerError::UnknownRun {
            run_id: run_id.to_owned(),
            store: store.location(),
        }
        .into(),
        other => RunnerError::from(other).into(),
    }
}

pub(crate) async fn search(
    pipeline: &Pipeline,
    args: &SearchArgs,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let experiment_ids = if args.all_experiments {
        Vec::new()
    } else {
        let name = args.experiment.as_deref().unwrap_or(pipeline.name());
        match store
            .get_experiment_by_name(name)
            .await
            .map_err(RunnerError::from)?
        {
            Some(experiment) => vec![experiment.experiment_id],
            None => {
                return Err(CliError::Usage(format!(
                    "there is no experiment `{name}` in {} (run the pipeline first, or see `experiments list`)",
                    store.location()
                )));
            }
        }
    };
    let page = store
        .search_runs(&RunSearch {
            experiment_ids,
            filter: args.filter.clone(),
            order_by: args.order_by.clone(),
            view: ViewType::ActiveOnly,
            max_results: args.limit,
            offset: args.offset,
            top_level_only: !args.nested,
        })
        .await
        .map_err(RunnerError::from)?;
    render::tracking::run_search(&page.runs, page.next_offset).write(stdout, json)
}

pub(crate) async fn experiments(
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(location).await?;
    let experiments = store
        .list_experiments(ViewType::ActiveOnly)
        .await
        .map_err(RunnerError::from)?;
    render::tracking::experiments(&experiments).write(stdout, json)
}

/// `rerun RUN_ID`: a new run of this binary's pipeline with the run's parameters, refused
/// (saying what differs) when the pipeline is not the one the run ran.
pub(crate) async fn rerun(
    pipeline: &Pipeline,
    run_id: &str,
    request: &crate::run::RunRequest<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open(request.location).await?;
    let parameters = millrace_runner::rerun_parameters(&*store, pipeline, run_id).await?;
    let _ = writeln!(stderr, "rerunning {run_id} with its parameters");
    let summary = crate::run::execute_run(pipeline, request, parameters, stdout).await?;
    store
        .log_batch(
            &millrace_runner::tracking::tracked_run_id(&summary.run_id),
            &LogBatch::tag("millrace.rerun_of", run_id),
        )
        .await
        .map_err(RunnerError::from)?;
    crate::run::verdict(&summary, stderr)
}
