//! Backfill: the schedule's ticks in a range of dates, run one after another now — each tick
//! once, under the ledger's `backfill` trigger (a tick the schedule already ran is left alone),
//! each run told its tick through `logical_date` when the pipeline has that parameter.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use millrace_core::Pipeline;
use millrace_metadata::MetadataStore;
use millrace_metadata::triggers::Claim;
use millrace_runner::LocalRunner;
use serde::Serialize;

use super::{BACKFILL_TRIGGER, SCHEDULE_TRIGGER, Ticks, backfill_run_id, tick_parameters};
use crate::error::ServerError;

/// The most ticks one backfill runs.
pub const MAX_BACKFILL_TICKS: usize = 10_000;

/// What a backfill did with one tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackfilledTick {
    /// The tick.
    pub tick: String,
    /// Its run (this backfill's, or the one that ran it before).
    pub run_id: Option<String>,
    /// `succeeded`, `failed`, or why it did not run now (`already scheduled`,
    /// `already backfilled`).
    pub outcome: String,
}

/// The instants `from` and `to` name: dates (`2026-12-01`) are whole days in `zone`, from
/// the first day's midnight to the end of the last; RFC 3339 times are taken as they are.
pub fn backfill_range(
    from: &str,
    to: &str,
    zone: Option<&str>,
) -> Result<(Timestamp, Timestamp), String> {
    let zone = super::ticks::time_zone(zone)?;
    let instant = |text: &str, end_of_day: bool| -> Result<Timestamp, String> {
        if let Ok(instant) = text.parse::<Timestamp>() {
            return Ok(instant);
        }
        let date: Date = text.parse().map_err(|error| {
            format!("`{text}` is neither a date (2026-12-01) nor an RFC 3339 time: {error}")
        })?;
        let day = if end_of_day {
            date.tomorrow().map_err(|error| error.to_string())?
        } else {
            date
        };
        let start = day
            .to_zoned(zone.clone())
            .map_err(|error| error.to_string())?
            .timestamp();
        if end_of_day {
            just_before(start)
        } else {
            Ok(start)
        }
    };
    let (from, to) = (instant(from, false)?, instant(to, true)?);
    if from > to {
        return Err(format!("the range is empty: {from} is after {to}"));
    }
    Ok((from, to))
}

/// The instant a nanosecond before `instant` (an error at the start of time).
fn just_before(instant: Timestamp) -> Result<Timestamp, String> {
    instant
        .checked_sub(jiff::SignedDuration::from_nanos(1))
        .map_err(|error| format!("{instant}: {error}"))
}

/// Runs the ticks of `pipeline`'s schedule in `[from, to]` with `runner`, oldest first.
pub async fn backfill(
    store: Arc<dyn MetadataStore>,
    runner: LocalRunner,
    pipeline: &Pipeline,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<BackfilledTick>, ServerError> {
    let failed = |reason: String| ServerError::Schedule {
        pipeline: pipeline.name().to_owned(),
        reason,
    };
    let schedule = pipeline
        .spec()
        .schedule
        .as_ref()
        .ok_or_else(|| failed("the pipeline has no schedule to backfill".to_owned()))?;
    let ticks = Ticks::new(&schedule.cron, schedule.timezone.as_deref()).map_err(failed)?;
    let before_from = just_before(from).map_err(failed)?;
    let due = ticks.between(before_from, to, MAX_BACKFILL_TICKS + 1);
    if due.len() > MAX_BACKFILL_TICKS {
        return Err(failed(format!(
            "{from} to {to} has more than {MAX_BACKFILL_TICKS} ticks: backfill a shorter range at a time"
        )));
    }
    let mut done = Vec::new();
    for tick in due {
        let key = tick.to_string();
        let run_id = backfill_run_id(tick);
        // One claim per tick for the schedule and backfills alike: a tick that ran (or runs)
        // already is left alone.
        if let Claim::Already(fire) = store
            .claim_trigger(pipeline.name(), SCHEDULE_TRIGGER, &key)
            .await
            .map_err(|error| failed(error.to_string()))?
        {
            let outcome = if fire.run_id.as_deref() == Some(run_id.as_str()) {
                "already backfilled"
            } else {
                "already scheduled"
            };
            done.push(BackfilledTick {
                tick: key,
                run_id: fire.run_id,
                outcome: outcome.to_owned(),
            });
            continue;
        }
        store
            .attach_run(pipeline.name(), SCHEDULE_TRIGGER, &key, &run_id)
            .await
            .map_err(|error| failed(error.to_string()))?;
        // The backfill's own entry says which runs it made.
        store
            .claim_trigger(pipeline.name(), BACKFILL_TRIGGER, &key)
            .await
            .map_err(|error| failed(error.to_string()))?;
        store
            .attach_run(pipeline.name(), BACKFILL_TRIGGER, &key, &run_id)
            .await
            .map_err(|error| failed(error.to_string()))?;
        let parameters = tick_parameters(pipeline, &std::collections::BTreeMap::new(), tick)
            .map_err(|error| failed(error.to_string()))?;
        let summary = runner
            .run_or_resume(pipeline, &run_id, parameters)
            .await
            .map_err(|error| failed(format!("run {run_id}: {error}")))?;
        done.push(BackfilledTick {
            tick: key,
            run_id: Some(run_id),
            outcome: if summary.succeeded {
                "succeeded".to_owned()
            } else {
                "failed".to_owned()
            },
        });
    }
    Ok(done)
}
