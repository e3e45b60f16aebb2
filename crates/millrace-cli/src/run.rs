//! `run`: the pipeline on this machine, with a summary at the end.

use std::io::Write;

use millrace_core::Pipeline;
use std::io::IsTerminal;

use millrace_runner::{LocalRunner, NodeLauncher, NodeState, RunEvent, RunRecord, RunSummary};

use crate::command::Location;
use crate::error::CliError;

pub(crate) struct RunRequest<'a> {
    pub(crate) params: &'a [(String, String)],
    pub(crate) resume: Option<&'a str>,
    pub(crate) parallelism: Option<usize>,
    pub(crate) keep_going: bool,
    pub(crate) location: &'a Location,
    pub(crate) json: bool,
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
        return Err(CliError::Runner(millrace_runner::RunnerError::Mismatch(
            "--param cannot change a resumed run: it keeps the parameters it started with"
                .to_owned(),
        )));
    }
    let store = millrace_metadata::connect(&request.location.store)
        .await
        .map_err(millrace_runner::RunnerError::from)?;
    let mut runner = LocalRunner::new(store, &request.location.root).keep_going(request.keep_going);
    if let Some(parallelism) = request.parallelism {
        runner = runner.parallelism(parallelism);
    }
    // A progress line on a terminal; elsewhere the `tracing` logs (MILLRACE_LOG=info) say it.
    let progress = (!request.json && std::io::stderr().is_terminal()).then(|| {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        runner = runner.clone().events(sender);
        tokio::spawn(show_progress(receiver))
    });
    let summary = match request.resume {
        Some(run_id) => runner.resume(pipeline, run_id).await,
        None => runner.run(pipeline, parameters).await,
    };
    drop(runner);
    if let Some(progress) = progress {
        let _ = progress.await;
    }
    let summary = summary?;
    if request.json {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
        writeln!(stdout, "{json}").map_err(CliError::Stdout)?;
    } else {
        write_summary(&summary, stdout).map_err(CliError::Stdout)?;
    }
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

/// Redraws one line on standard error: how many nodes finished, and which run.
async fn show_progress(mut events: tokio::sync::mpsc::UnboundedReceiver<RunEvent>) {
    let (mut total, mut finished) = (0, 0);
    let mut running: Vec<String> = Vec::new();
    let mut drawn = false;
    while let Some(event) = events.recv().await {
        match event {
            RunEvent::Started { nodes, .. } => total = nodes,
            RunEvent::NodeStarted(node) => running.push(node),
            RunEvent::NodeFinished(outcome) => {
                finished += 1;
                running.retain(|node| *node != outcome.node);
            }
        }
        let line = format!("[{finished}/{total}] running: {}", running.join(", "));
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        drawn = true;
    }
    if drawn {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

fn state_name(state: NodeState) -> &'static str {
    match state {
        NodeState::Complete => "complete",
        NodeState::Cached => "cached",
        NodeState::Failed => "FAILED",
        NodeState::Skipped => "skipped",
        NodeState::UpstreamFailed => "upstream failed",
        NodeState::Canceled => "canceled",
    }
}

fn write_summary(summary: &RunSummary, out: &mut dyn Write) -> std::io::Result<()> {
    let verdict = if summary.succeeded {
        "succeeded"
    } else {
        "FAILED"
    };
    writeln!(
        out,
        "run {} of `{}` {verdict} in {:.2} s",
        summary.run_id,
        summary.pipeline,
        summary.duration_ms as f64 / 1000.0
    )?;
    let width = summary
        .nodes
        .iter()
        .map(|node| node.node.len())
        .max()
        .unwrap_or(4);
    for node in &summary.nodes {
        let detail = match (&node.message, node.attempts) {
            (Some(message), _) => message.lines().next().unwrap_or_default().to_owned(),
            (None, attempts) if attempts > 1 => format!("{attempts} attempts"),
            (None, _) => String::new(),
        };
        writeln!(
            out,
            "  {:<width$}  {:<15}  {:>7} ms  {detail}",
            node.node,
            state_name(node.state),
            node.duration_ms
        )?;
    }
    Ok(())
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
    pipeline.node(node)?;
    let overrides = params.iter().cloned().collect();
    let parameters = pipeline.parameter_values(&overrides)?;
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(millrace_runner::RunnerError::from)?;
    let record = RunRecord::open_or_start(&*store, pipeline, run_id, parameters).await?;
    let outcome = NodeLauncher::new(&*store, pipeline, &record, &location.root)
        .single_attempt()
        .launch(node)
        .await?;
    if json {
        let text = serde_json::to_string_pretty(&outcome).unwrap_or_default();
        writeln!(stdout, "{text}").map_err(CliError::Stdout)?;
    } else {
        writeln!(
            stdout,
            "node `{node}` of run {run_id}: {}{}",
            state_name(outcome.state),
            outcome
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )
        .map_err(CliError::Stdout)?;
    }
    match outcome.state {
        NodeState::Failed => Err(CliError::RunFailed),
        NodeState::Skipped => Err(CliError::Skipped),
        _ => Ok(()),
    }
}
