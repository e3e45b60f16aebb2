//! `run`: the pipeline on this machine, with a summary at the end.

use std::io::Write;

use std::io::IsTerminal;

use millrace_core::Pipeline;
use millrace_runner::{LocalRunner, NodeLauncher, NodeState, RunnerError};

use crate::command::Location;
use crate::error::CliError;
use crate::render;

pub(crate) struct RunRequest<'a> {
    pub(crate) params: &'a [(String, String)],
    pub(crate) resume: Option<&'a str>,
    pub(crate) parallelism: Option<usize>,
    pub(crate) keep_going: bool,
    pub(crate) location: &'a Location,
    pub(crate) json: bool,
    pub(crate) containers: &'a crate::containers::ContainerRunArgs,
    pub(crate) image: Option<&'a str>,
    /// Where component nodes run, when not in this process (`--on kubernetes`).
    pub(crate) dispatcher: Option<std::sync::Arc<dyn millrace_runner::NodeDispatcher>>,
    /// A named experiment to track the run in (default: the pipeline's).
    pub(crate) experiment: Option<&'a str>,
    /// The tracking server command nodes log into.
    pub(crate) tracking_uri: Option<&'a str>,
    /// The MLflow server to mirror the run into afterwards.
    pub(crate) mlflow: Option<&'a str>,
}

pub(crate) async fn run(
    pipeline: &Pipeline,
    request: &RunRequest<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    // Parameters are checked before anything runs or is written.
    let overrides = request.params.iter().cloned().collect();
    let parameters = pipeline.parameter_values(&overrides)?;
    if request.resume.is_some() && !request.params.is_empty() {
        return Err(CliError::ParametersOnResume);
    }
    #[cfg(not(feature = "server"))]
    if request.mlflow.is_some() {
        return Err(CliError::CommandNotBuilt {
            command: "run --mlflow",
            feature: "server",
        });
    }
    let summary = execute_run(pipeline, request, parameters, stdout).await?;
    #[cfg(feature = "server")]
    if let Some(url) = request.mlflow {
        mirror_after_run(pipeline, &summary.run_id, url, request.location, stderr).await?;
    }
    verdict(&summary, stderr)
}

/// `run --mlflow URL`: the run just made, mirrored (a failed run too); what was done goes to
/// standard error, so that standard output stays the run's summary.
#[cfg(feature = "server")]
async fn mirror_after_run(
    pipeline: &Pipeline,
    run_id: &str,
    url: &str,
    location: &Location,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    match crate::mirror::mirror(pipeline, run_id, url, location).await {
        Ok(report) => crate::mirror::rendered(run_id, &report).write(stderr, false),
        Err(error) => {
            let _ = writeln!(
                stderr,
                "run {run_id} is recorded here, but mirroring it failed; mirror it again with `runs mirror {run_id} --mlflow {url}`"
            );
            Err(error)
        }
    }
}

/// Runs (or resumes) the pipeline with `parameters` and prints the summary.
pub(crate) async fn execute_run(
    pipeline: &Pipeline,
    request: &RunRequest<'_>,
    parameters: std::collections::BTreeMap<String, serde_json::Value>,
    stdout: &mut dyn Write,
) -> Result<millrace_runner::RunSummary, CliError> {
    let store = millrace_metadata::connect(&request.location.store)
        .await
        .map_err(RunnerError::from)?;
    let storage = request.location.storage()?;
    // Command nodes' `mlflow` clients log into a tracking server: the one named, or one this
    // process serves on 127.0.0.1 for the run.
    #[cfg(feature = "server")]
    let tracking_server = match request.tracking_uri {
        None if millrace_runner::tracking::has_command_nodes(pipeline) => {
            crate::serve::start(
                std::sync::Arc::clone(&store),
                request.location,
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await?
        }
        _ => None,
    };
    let mut runner = LocalRunner::with_storage(store, storage).keep_going(request.keep_going);
    #[cfg(feature = "server")]
    if let Some(server) = &tracking_server {
        runner = runner.tracking_uri(server.uri());
    }
    if let Some(dispatcher) = &request.dispatcher {
        runner = runner.dispatcher(std::sync::Arc::clone(dispatcher));
    }
    if let Some(parallelism) = request.parallelism {
        runner = runner.parallelism(parallelism);
    }
    if let Some(experiment) = request.experiment {
        runner = runner.experiment(experiment);
    }
    if let Some(uri) = request.tracking_uri {
        runner = runner.tracking_uri(uri);
    }
    if let Some(dispatcher) = crate::containers::dispatcher(
        pipeline,
        request.containers,
        request.image,
        request.location,
    )
    .await?
    {
        runner = runner.dispatcher(dispatcher);
    }
    // A progress line on a terminal; elsewhere the `tracing` logs (MILLRACE_LOG=info) say it.
    let progress = (!request.json && std::io::stderr().is_terminal()).then(|| {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        runner = runner.clone().events(sender);
        tokio::spawn(render::progress(receiver))
    });
    let summary = match request.resume {
        Some(run_id) => runner.resume(pipeline, run_id).await,
        None => runner.run(pipeline, parameters).await,
    };
    drop(runner);
    if let Some(progress) = progress {
        let _ = progress.await;
    }
    #[cfg(feature = "server")]
    if let Some(server) = tracking_server {
        let _ = server.shutdown().await;
    }
    let summary = summary?;
    render::run_summary(&summary).write(stdout, request.json)?;
    Ok(summary)
}

/// Success, or the failure and how to resume.
pub(crate) fn verdict(
    summary: &millrace_runner::RunSummary,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    if summary.succeeded {
        Ok(())
    } else {
        let _ = writeln!(
            stderr,
            "run {} of `{}` failed; resume it with `run --resume {}`",
            summary.run_id, summary.pipeline, summary.run_id
        );
        Err(CliError::RunFailed)
    }
}

/// Parameter assignments from a JSON object (`run-node --params-json`): strings as they are,
/// other values as JSON text, which the parameter's type parses.
pub(crate) fn parameters_from_json(text: &str) -> Result<Vec<(String, String)>, CliError> {
    let values: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|error| CliError::Parameters(format!("not a JSON object ({error}): {text}")))?;
    Ok(values
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect())
}

/// Executes one node of a run: one attempt (the orchestrator that calls it retries); fails
/// with exit code 1 when the node fails and 99 when it is skipped.
pub(crate) async fn run_node(
    pipeline: &Pipeline,
    run_id: &str,
    node: &str,
    params: &[(String, String)],
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    pipeline.node(millrace_core::spec::ShardTask::parse(node).node)?;
    let overrides = params.iter().cloned().collect();
    let parameters = pipeline.parameter_values(&overrides)?;
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?;
    let storage = location.storage()?;
    let named_uri = std::env::var("MLFLOW_TRACKING_URI")
        .ok()
        .filter(|uri| !uri.is_empty());
    #[cfg(feature = "server")]
    let tracking_server = match named_uri {
        None if millrace_runner::tracking::has_command_nodes(pipeline) => {
            crate::serve::start(
                std::sync::Arc::clone(&store),
                location,
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await?
        }
        _ => None,
    };
    #[cfg(feature = "server")]
    let tracking_uri = named_uri.or_else(|| tracking_server.as_ref().map(|server| server.uri()));
    #[cfg(not(feature = "server"))]
    let tracking_uri = named_uri;
    let outcome = NodeLauncher::run_one_node(
        &*store,
        pipeline,
        run_id,
        node,
        parameters,
        &storage,
        tracking_uri,
    )
    .await;
    #[cfg(feature = "server")]
    if let Some(server) = tracking_server {
        let _ = server.shutdown().await;
    }
    let outcome = outcome?;
    render::node_outcome(run_id, &outcome).write(stdout, json)?;
    match outcome.state {
        NodeState::Failed => Err(CliError::RunFailed),
        NodeState::Skipped => Err(CliError::Skipped),
        _ => Ok(()),
    }
}
