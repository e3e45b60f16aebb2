//! How a pipeline's schedule stands: paused or not, its next ticks, and its latest firings
//! with how their runs went — what `schedule status` prints and the UI's schedules page shows.

use jiff::Timestamp;
use millrace_core::Pipeline;
use millrace_core::spec::ScheduleSpec;
use millrace_metadata::MetadataStore;
use millrace_runner::history::RunHistory;
use serde::Serialize;

use super::{BACKFILL_TRIGGER, Clock, SCHEDULE_TRIGGER, Ticks};
use crate::error::ServerError;

/// How many next ticks a status lists.
const NEXT_TICKS: usize = 3;

/// One firing and how its run went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Firing {
    /// `schedule` or `backfill`.
    pub trigger: String,
    /// The tick (RFC 3339, UTC).
    pub tick: String,
    /// The run it started, once started.
    pub run_id: Option<String>,
    /// The run's state (`not started` while the claim has no run).
    pub state: String,
    /// Whether the runner recorded the run's end (a run whose node waits for a retry has not
    /// ended, whatever its nodes say).
    pub finished: bool,
}

/// A schedule's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleStatus {
    /// The pipeline.
    pub pipeline: String,
    /// Its schedule.
    pub schedule: ScheduleSpec,
    /// Paused: it fires nothing until resumed.
    pub paused: bool,
    /// The next ticks after now (on `clock`), in UTC.
    pub next: Vec<String>,
    /// The latest firings of the schedule, then of backfills, newest first in each.
    pub recent: Vec<Firing>,
}

/// The status of `pipeline`'s schedule (`None`: it has none), with `recent` firings of each
/// trigger.
pub async fn schedule_status(
    store: &dyn MetadataStore,
    pipeline: &Pipeline,
    clock: Clock,
    recent: u32,
) -> Result<Option<ScheduleStatus>, ServerError> {
    let Some(spec) = pipeline.spec().schedule.clone() else {
        return Ok(None);
    };
    let failed = |reason: String| ServerError::Schedule {
        pipeline: pipeline.name().to_owned(),
        reason,
    };
    let ticks = Ticks::new(&spec.cron, spec.timezone.as_deref()).map_err(failed)?;
    let paused = store
        .trigger_states(pipeline.name())
        .await
        .map_err(|error| failed(error.to_string()))?
        .iter()
        .any(|state| state.trigger == SCHEDULE_TRIGGER && state.paused);
    let mut next = Vec::new();
    let mut after: Timestamp = clock.now();
    while next.len() < NEXT_TICKS {
        match ticks.next_after(after) {
            Some(tick) => {
                next.push(tick.to_string());
                after = tick;
            }
            None => break,
        }
    }
    let history = RunHistory::new(store);
    let mut firings = Vec::new();
    for trigger in [SCHEDULE_TRIGGER, BACKFILL_TRIGGER] {
        for fire in store
            .trigger_fires(pipeline.name(), Some(trigger), recent)
            .await
            .map_err(|error| failed(error.to_string()))?
        {
            let run = match &fire.run_id {
                Some(run_id) => history.run(pipeline, run_id).await.ok(),
                None => None,
            };
            let (state, finished) = run.map_or(("not started", false), |run| {
                (run.run.state.as_str(), run.run.finished_ms.is_some())
            });
            firings.push(Firing {
                trigger: trigger.to_owned(),
                tick: fire.key,
                run_id: fire.run_id,
                state: state.to_owned(),
                finished,
            });
        }
    }
    Ok(Some(ScheduleStatus {
        pipeline: pipeline.name().to_owned(),
        schedule: spec,
        paused,
        next,
        recent: firings,
    }))
}
