//! `schedule status|pause|resume|backfill`: the pipeline's schedule from the command line — the
//! next ticks and recent runs, the pause `serve`'s scheduler obeys, and backfilling a range of
//! dates now.

use std::io::Write;
use std::sync::Arc;

use clap::Subcommand;
use millrace_core::Pipeline;
use millrace_metadata::MetadataStore;
use millrace_runner::RunnerError;
use millrace_server::scheduler::{
    Clock, SCHEDULE_TRIGGER, backfill, backfill_range, schedule_status,
};
use serde_json::json;

use crate::command::Location;
use crate::error::CliError;
use crate::render::Rendered;

/// `schedule ...`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The schedule, whether it is paused, its next ticks and its recent runs.
    Status {
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause the schedule: `serve` starts no scheduled run until it is resumed.
    Pause {
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
    },
    /// Resume a paused schedule (without catch-up, only the newest missed tick runs).
    Resume {
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
    },
    /// Run the schedule's ticks from one date to another now, one after another; ticks that
    /// ran before are left alone. A `logical_date` parameter receives each tick's time.
    Backfill {
        /// The first day (`2026-12-01`, in the schedule's time zone) or time (RFC 3339).
        #[arg(long)]
        from: String,
        /// The last day, included, or time.
        #[arg(long)]
        to: String,
        /// Where metadata and artifacts go.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

async fn open(location: &Location) -> Result<Arc<dyn MetadataStore>, CliError> {
    Ok(millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?)
}

fn no_schedule(pipeline: &Pipeline) -> CliError {
    CliError::Usage(format!(
        "pipeline `{}` has no schedule: give it one with `PipelineBuilder::schedule`",
        pipeline.name()
    ))
}

pub(crate) async fn execute(
    pipeline: &Pipeline,
    command: &ScheduleCommand,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let spec = pipeline
        .spec()
        .schedule
        .clone()
        .ok_or_else(|| no_schedule(pipeline))?;
    match command {
        ScheduleCommand::Pause { location } | ScheduleCommand::Resume { location } => {
            let paused = matches!(command, ScheduleCommand::Pause { .. });
            open(location)
                .await?
                .set_trigger_paused(pipeline.name(), SCHEDULE_TRIGGER, paused)
                .await
                .map_err(RunnerError::from)?;
            let word = if paused { "paused" } else { "resumed" };
            let _ = writeln!(stdout, "the schedule of `{}` is {word}", pipeline.name());
            Ok(())
        }
        ScheduleCommand::Status { location, json } => {
            let store = open(location).await?;
            let status = schedule_status(&*store, pipeline, Clock::system(), 10)
                .await
                .map_err(|error| CliError::Usage(error.to_string()))?
                .ok_or_else(|| no_schedule(pipeline))?;
            let mut lines = vec![format!(
                "`{}` ({}){}{}{}",
                spec.cron,
                spec.timezone.as_deref().unwrap_or("UTC"),
                if spec.catchup { ", catch-up" } else { "" },
                spec.max_active_runs
                    .map_or_else(String::new, |runs| format!(", at most {runs} at once")),
                if status.paused { ": PAUSED" } else { "" },
            )];
            lines.push(format!("next: {}", status.next.join(", ")));
            for firing in &status.recent {
                lines.push(format!(
                    "  {:<9} {}  {}  {}",
                    firing.trigger,
                    firing.tick,
                    firing.run_id.as_deref().unwrap_or("-"),
                    firing.state
                ));
            }
            Rendered {
                json: serde_json::to_value(&status).unwrap_or_default(),
                lines,
            }
            .write(stdout, *json)
        }
        ScheduleCommand::Backfill {
            from,
            to,
            location,
            json,
        } => {
            let (from, to) =
                backfill_range(from, to, spec.timezone.as_deref()).map_err(CliError::Usage)?;
            let to = to.min(Clock::system().now());
            let store = open(location).await?;
            let runner =
                millrace_runner::LocalRunner::with_storage(Arc::clone(&store), location.storage()?);
            let done = backfill(store, runner, pipeline, from, to).await?;
            let mut lines = vec![format!(
                "backfilled {} tick(s) of `{}` from {from} to {to}",
                done.len(),
                spec.cron
            )];
            lines.extend(done.iter().map(|tick| {
                format!(
                    "  {}  {}  {}",
                    tick.tick,
                    tick.run_id.as_deref().unwrap_or("-"),
                    tick.outcome
                )
            }));
            let failed = done.iter().any(|tick| tick.outcome == "failed");
            Rendered {
                json: json!({"ticks": done}),
                lines,
            }
            .write(stdout, *json)?;
            if failed {
                Err(CliError::RunFailed)
            } else {
                Ok(())
            }
        }
    }
}
