//! `serve`: the web UI and MLflow's REST API on the pipeline's store and artifact root — what
//! people look at and what the `mlflow` client of training scripts and notebooks logs into —
//! and the scheduler of the pipeline's cron schedule and data triggers; also the tracking
//! server a run starts for its command nodes.

use std::io::Write;
use std::net::SocketAddr;

use millrace_runner::RunnerError;
use millrace_server::scheduler::{Clock, Notifier, NotifyOn, Scheduler};
use millrace_server::ui::{ACTION_TOKEN_VARIABLE, Ui};
use millrace_server::{RunningServer, ServerState};

use crate::command::Location;
use crate::error::CliError;

/// The local artifact root of `location`, which the server serves `mlflow-artifacts:/` from.
fn local_root(location: &Location) -> Option<std::path::PathBuf> {
    location
        .storage()
        .ok()?
        .local_root()
        .map(std::path::Path::to_path_buf)
}

/// Starts the API on `bind` for `store`; `None` when the artifact root is not a local
/// directory (the server serves files from one).
pub(crate) async fn start(
    store: std::sync::Arc<dyn millrace_metadata::MetadataStore>,
    location: &Location,
    bind: SocketAddr,
) -> Result<Option<RunningServer>, CliError> {
    let Some(root) = local_root(location) else {
        return Ok(None);
    };
    let server = millrace_server::serve(ServerState::new(store, root), bind)
        .await
        .map_err(|error| CliError::Usage(error.to_string()))?;
    Ok(Some(server))
}

/// Whether and how `serve` runs the pipeline's schedule.
pub(crate) struct Scheduling {
    /// Run it (not `--no-scheduler`).
    pub(crate) on: bool,
    /// `--allow-actions`: the UI may start, cancel and pause (with the token).
    pub(crate) allow_actions: bool,
    /// The scheduled runs' parameter values (`--param`).
    pub(crate) parameters: std::collections::BTreeMap<String, String>,
    /// Who hears how scheduled runs end.
    pub(crate) notifier: Notifier,
}

/// `--notify-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyWhen {
    /// When a run fails.
    Failure,
    /// When any run ends.
    Always,
}

/// The notifier of `--notify-webhook`, `--notify-command` and `--notify-on`.
pub(crate) fn notifier(webhook: Option<&str>, command: Option<&str>, when: NotifyWhen) -> Notifier {
    let mut notifier = Notifier::none().on(match when {
        NotifyWhen::Failure => NotifyOn::Failure,
        NotifyWhen::Always => NotifyOn::Always,
    });
    if let Some(url) = webhook {
        notifier = notifier.webhook(url);
    }
    if let Some(command) = command {
        notifier = notifier.command(command);
    }
    notifier
}

/// `serve [--bind ADDRESS] [--no-scheduler] [--param NAME=VALUE]`: serves, and schedules the
/// pipeline, until Ctrl-C.
pub(crate) async fn serve(
    pipeline: &millrace_core::Pipeline,
    bind: SocketAddr,
    scheduling: &Scheduling,
    location: &Location,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?;
    let root = local_root(location).ok_or_else(|| {
        CliError::Usage(format!(
            "`serve` serves artifacts from a local directory; the root `{}` is not one (use --root DIR)",
            location.root
        ))
    })?;
    let storage = location.storage()?;
    let shared_pipeline = std::sync::Arc::new(pipeline.clone());
    let cancellations = millrace_runner::Cancellations::default();
    let mut ui = Ui::new(std::sync::Arc::clone(&shared_pipeline), storage.clone());
    // Runs started here log their command nodes into this same server: the runner learns its
    // address once it listens. The UI's runner and the scheduler's are clones of one, so that
    // their runs' writes share one commit queue.
    let base_runner =
        millrace_runner::LocalRunner::with_storage(std::sync::Arc::clone(&store), storage.clone())
            .cancellations(cancellations.clone());
    let runner_for = |uri: Option<String>| {
        let runner = base_runner.clone();
        match uri {
            Some(uri) => runner.tracking_uri(uri),
            None => runner,
        }
    };
    // Known before listening unless the system picks the port (then runs start their own).
    let listener_uri = (bind.port() != 0).then(|| format!("http://{bind}"));
    if scheduling.allow_actions {
        let token = std::env::var(ACTION_TOKEN_VARIABLE)
            .ok()
            .filter(|token| !token.is_empty());
        if token.is_none() {
            let _ = writeln!(
                stderr,
                "--allow-actions without {ACTION_TOKEN_VARIABLE}: every action will be refused (403)"
            );
        }
        ui = ui.allow_actions(token, runner_for(listener_uri), cancellations.clone());
    }
    let state = ServerState::new(std::sync::Arc::clone(&store), root).with_ui(ui);
    let server = millrace_server::serve(state, bind)
        .await
        .map_err(|error| CliError::Usage(error.to_string()))?;
    let _ = writeln!(
        stderr,
        "serving the web UI and MLflow's API for {} on {}\nopen {}/runs\nMLFLOW_TRACKING_URI={}",
        millrace_core::spec::validate::redact_secrets(&location.store),
        server.address(),
        server.uri(),
        server.uri()
    );
    let runner = runner_for(Some(server.uri()));
    let clock = Clock::from_environment();
    let scheduler = Scheduler::new(store, runner, shared_pipeline, clock)
        .parameters(scheduling.parameters.clone())?
        .notifier(scheduling.notifier.clone());
    let data_note = scheduling_on_data(pipeline, scheduling.on);
    let scheduling = match (scheduler.ticks()?, &pipeline.spec().schedule) {
        (Some(ticks), Some(spec)) if scheduling.on => {
            let next = ticks
                .next_after(clock.now())
                .map_or_else(|| "never".to_owned(), |tick| tick.to_string());
            let faster = if clock.speed() > 1.0 {
                format!(
                    " on a clock {}x faster than this machine's (MILLRACE_CLOCK_SPEED)",
                    clock.speed()
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                stderr,
                "scheduling `{}` ({}): the next run is at {next}{faster}",
                spec.cron,
                spec.timezone.as_deref().unwrap_or("UTC"),
            );
            Some(scheduler)
        }
        _ if scheduling.on && !pipeline.spec().data_triggers.is_empty() => Some(scheduler),
        _ => None,
    };
    if let Some(note) = data_note {
        let _ = writeln!(stderr, "{note}");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduled = async {
        match scheduling {
            Some(scheduler) => {
                scheduler
                    .run(
                        async {
                            let _ = stopped.await;
                        },
                        None,
                    )
                    .await
            }
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        result = server.wait() => result.map_err(|error| CliError::Usage(error.to_string())),
        result = scheduled => result.map_err(CliError::from),
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    let _ = stop.send(());
    outcome
}

/// What `serve` says about the data triggers it watches.
fn scheduling_on_data(pipeline: &millrace_core::Pipeline, on: bool) -> Option<String> {
    if !on || pipeline.spec().data_triggers.is_empty() {
        return None;
    }
    let watched: Vec<String> = millrace_server::scheduler::data_triggers(pipeline)
        .iter()
        .map(|trigger| format!("{} ({})", trigger.name(), trigger.pattern))
        .collect();
    Some(format!("watching for new data: {}", watched.join(", ")))
}
