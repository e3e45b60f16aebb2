//! The local scheduler of `serve`: runs the pipeline on its cron schedule, in its time zone,
//! with catch-up and a bound on concurrent runs, each tick once — across restarts and even
//! with two schedulers on one store — and none lost.
//!
//! **How a tick becomes a run.** The tick is claimed in the store's trigger ledger
//! ([`millrace_metadata::triggers`]) under its time (`2026-12-04T03:00:00Z`); only the claim
//! that is first starts a run, with the id [`run_id_of_tick`] gives it (`scheduled-20261204T030000Z`),
//! recorded in the ledger before the run starts. **After a crash** (a SIGKILL of `serve`, the
//! machine going down) the next scheduler resumes every recent scheduled run that did not
//! finish, and starts the claims whose run never began: the run id is a function of the tick,
//! so resuming is `run_or_resume` of the same id.
//!
//! **Which ticks.** The ticks after the newest one claimed (or, for a pipeline never
//! scheduled, after the schedule's start date with catch-up, after now without) up to now; with
//! `catchup` every one of them, oldest first, as slots free up; without, only the newest — the
//! ones missed while `serve` was down or the schedule paused are skipped, as Airflow does.
//! At most `max_active_runs` scheduled runs at once (1 when the schedule does not say: two
//! trainings of one pipeline should not race for its champion).
//!
//! **Pausing.** A paused schedule (in the ledger: `schedule pause` and the web UI's pause) fires
//! nothing; the scheduler looks at least once a (real) second.
//!
//! **New data.** The pipeline's data triggers ([`data`]) are watched in the same loop: a new
//! span under an ingesting node's input, settled for its debounce, is claimed under
//! `new-data:<node>` and runs as [`data_run_id`] names it; the same ledger makes it once, the
//! same recovery resumes it. Cron runs and data runs share `max_active_runs`.

mod backfill;
mod clock;
pub mod data;
mod notify;
mod status;
mod ticks;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use millrace_core::Pipeline;
use millrace_metadata::MetadataStore;
use millrace_metadata::triggers::Claim;
use millrace_runner::history::RunHistory;
use millrace_runner::{LocalRunner, RunSummary, RunnerError};

pub use backfill::{BackfilledTick, MAX_BACKFILL_TICKS, backfill, backfill_range};
pub use clock::Clock;
pub use data::{WatchedTrigger, data_run_id, data_triggers};
pub use notify::{Notifier, NotifyOn, RunEnded};
pub use status::{Firing, ScheduleStatus, schedule_status};
pub use ticks::Ticks;

use crate::error::ServerError;

/// The ledger's name of the cron schedule's trigger.
pub const SCHEDULE_TRIGGER: &str = "schedule";
/// The ledger's name of a backfill's trigger.
pub const BACKFILL_TRIGGER: &str = "backfill";
/// A runtime parameter with this name receives the time of the tick a run is for (RFC 3339,
/// UTC): what Airflow calls the logical date, so that a backfilled run reads its own day.
pub const LOGICAL_DATE_PARAMETER: &str = "logical_date";
/// How long the scheduler waits at most before looking again (a pause, a freed slot).
const LOOK_AGAIN: Duration = Duration::from_secs(1);
/// How many recent scheduled runs a restart checks for unfinished ones.
const RECENT_RUNS: u32 = 100;
/// How many missed ticks catch-up runs at most in one go.
const CATCH_UP_LIMIT: usize = 1000;

/// The run id of the run of `tick`: `scheduled-20261204T030000Z`.
pub fn run_id_of_tick(tick: Timestamp) -> String {
    format!("scheduled-{}", tick.strftime("%Y%m%dT%H%M%SZ"))
}

/// The run id of a backfill's run of `tick`: `backfill-20261204T030000Z`.
pub fn backfill_run_id(tick: Timestamp) -> String {
    format!("backfill-{}", tick.strftime("%Y%m%dT%H%M%SZ"))
}

/// The parameters of the run of `tick`: `overrides` over the defaults, and `logical_date` when
/// the pipeline has that parameter.
pub fn tick_parameters(
    pipeline: &Pipeline,
    overrides: &BTreeMap<String, String>,
    tick: Timestamp,
) -> Result<BTreeMap<String, serde_json::Value>, millrace_core::Error> {
    let mut overrides = overrides.clone();
    if pipeline
        .spec()
        .parameters
        .iter()
        .any(|parameter| parameter.name == LOGICAL_DATE_PARAMETER)
    {
        overrides.insert(LOGICAL_DATE_PARAMETER.to_owned(), tick.to_string());
    }
    pipeline.parameter_values(&overrides)
}

/// The scheduler of one pipeline.
#[derive(Debug, Clone)]
pub struct Scheduler {
    store: Arc<dyn MetadataStore>,
    runner: LocalRunner,
    pipeline: Arc<Pipeline>,
    clock: Clock,
    parameters: BTreeMap<String, String>,
    notifier: Notifier,
}

/// What fired a run: the trigger, what it fired for (a tick, a span) and the time the run is
/// for (its `logical_date`).
#[derive(Debug, Clone)]
struct Fired {
    trigger: String,
    key: String,
    tick: Timestamp,
}

/// A scheduled run in progress: its id, what fired it, and how it ends.
type Running = tokio::task::JoinSet<(String, Fired, Result<RunSummary, RunnerError>)>;

/// What a scheduler started, as it goes (for logs, the web UI and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum SchedulerEvent {
    /// A run started for a tick or a span (or was resumed after a crash).
    Started {
        /// The run.
        run_id: String,
        /// The trigger: `schedule`, `new-data:<node>`.
        trigger: String,
        /// What fired, as the ledger keys it: the tick's time, the span.
        tick: String,
        /// Resumed, not new.
        resumed: bool,
    },
    /// A run ended.
    Finished {
        /// The run.
        run_id: String,
        /// Whether it succeeded.
        succeeded: bool,
    },
}

impl Scheduler {
    /// Schedules `pipeline` with `runner` (which knows the store and the artifact root), on
    /// `clock`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        runner: LocalRunner,
        pipeline: Arc<Pipeline>,
        clock: Clock,
    ) -> Scheduler {
        Scheduler {
            store,
            runner,
            pipeline,
            clock,
            parameters: BTreeMap::new(),
            notifier: Notifier::none(),
        }
    }

    /// Tells `notifier` how scheduled runs end.
    pub fn notifier(mut self, notifier: Notifier) -> Scheduler {
        self.notifier = notifier;
        self
    }

    /// Runs the schedule's runs with these parameter values (`name` → value as on the command
    /// line) instead of the defaults; they are checked here.
    pub fn parameters(
        mut self,
        parameters: BTreeMap<String, String>,
    ) -> Result<Scheduler, millrace_core::Error> {
        self.pipeline.parameter_values(&parameters)?;
        self.parameters = parameters;
        Ok(self)
    }

    /// The schedule's ticks, or `None` when the pipeline has no schedule (or only `@once`).
    pub fn ticks(&self) -> Result<Option<Ticks>, ServerError> {
        let Some(schedule) = &self.pipeline.spec().schedule else {
            return Ok(None);
        };
        let ticks = Ticks::new(&schedule.cron, schedule.timezone.as_deref()).map_err(|reason| {
            ServerError::Schedule {
                pipeline: self.pipeline.name().to_owned(),
                reason,
            }
        })?;
        Ok((!ticks.is_once()).then_some(ticks))
    }

    /// Schedules until `shutdown` completes; reports what it starts and ends on `events`.
    /// Runs in progress at shutdown are left to the next scheduler, which resumes them.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        events: Option<tokio::sync::mpsc::UnboundedSender<SchedulerEvent>>,
    ) -> Result<(), ServerError> {
        let ticks = self.ticks()?;
        let data = self.pipeline.spec().data_triggers.clone();
        for trigger in &data {
            data::watched_input(&self.pipeline, &trigger.node).map_err(|reason| {
                self.schedule_error(format!("data trigger {}: {reason}", trigger.name()))
            })?;
        }
        if ticks.is_none() && data.is_empty() {
            shutdown.await;
            return Ok(());
        }
        let pipeline_name = self.pipeline.name().to_owned();
        let store_error = |error: millrace_metadata::MetadataError| ServerError::Schedule {
            pipeline: pipeline_name.clone(),
            reason: error.to_string(),
        };
        let report = |event: SchedulerEvent| {
            if let Some(sender) = &events {
                let _ = sender.send(event);
            }
        };
        let schedule = self.pipeline.spec().schedule.clone();
        let max_active = schedule
            .as_ref()
            .and_then(|schedule| schedule.max_active_runs)
            .unwrap_or(1)
            .max(1) as usize;
        let mut running = Running::new();
        let mut watch = data::DataWatch::default();
        for trigger in &data {
            self.baseline(trigger, &mut watch).await?;
        }
        let started_at = self.clock.now();
        tokio::pin!(shutdown);

        // After a crash: resume what did not finish, start what was claimed but never began.
        for (run_id, fired) in self.unfinished().await? {
            report(SchedulerEvent::Started {
                run_id: run_id.clone(),
                trigger: fired.trigger.clone(),
                tick: fired.key.clone(),
                resumed: true,
            });
            self.spawn(&mut running, run_id, fired);
        }

        loop {
            let states = self
                .store
                .trigger_states(self.pipeline.name())
                .await
                .map_err(store_error)?;
            let paused = |trigger: &str| {
                states
                    .iter()
                    .any(|state| state.trigger == trigger && state.paused)
            };
            let now = self.clock.now();
            // New data first: a schedule that keeps its slot busy must not starve it.
            for trigger in &data {
                let name = trigger.name();
                if paused(&name) {
                    continue;
                }
                let latest = match data::latest_span(
                    Arc::clone(&self.pipeline),
                    trigger.node.clone(),
                )
                .await
                {
                    Ok(latest) => latest,
                    Err(error) => {
                        tracing::warn!(trigger = %name, %error, "cannot look at the watched data");
                        continue;
                    }
                };
                let data::Look::Ready(key) = watch.look(trigger, latest, std::time::Instant::now())
                else {
                    continue;
                };
                if running.len() >= max_active {
                    continue;
                }
                let claim = self
                    .store
                    .claim_trigger(self.pipeline.name(), &name, &key)
                    .await
                    .map_err(store_error)?;
                watch.claimed(&name, &key);
                if claim != Claim::New {
                    continue;
                }
                let run_id = data_run_id(&trigger.node, &key);
                self.store
                    .attach_run(self.pipeline.name(), &name, &key, &run_id)
                    .await
                    .map_err(store_error)?;
                tracing::info!(pipeline = %self.pipeline.name(), %run_id, span = %key, "new data: run");
                report(SchedulerEvent::Started {
                    run_id: run_id.clone(),
                    trigger: name.clone(),
                    tick: key.clone(),
                    resumed: false,
                });
                let fired = Fired {
                    trigger: name,
                    key,
                    tick: now,
                };
                self.spawn(&mut running, run_id, fired);
            }
            if let (Some(ticks), Some(schedule)) = (&ticks, &schedule)
                && !paused(SCHEDULE_TRIGGER)
                && running.len() < max_active
            {
                let after = self.last_tick(schedule, started_at).await?;
                let mut due = ticks.between(after, now, CATCH_UP_LIMIT);
                if !schedule.catchup && due.len() > 1 {
                    due.drain(..due.len() - 1);
                }
                for tick in due {
                    if running.len() >= max_active {
                        break;
                    }
                    let key = tick.to_string();
                    let claim = self
                        .store
                        .claim_trigger(self.pipeline.name(), SCHEDULE_TRIGGER, &key)
                        .await
                        .map_err(store_error)?;
                    if claim != Claim::New {
                        continue;
                    }
                    let run_id = run_id_of_tick(tick);
                    self.store
                        .attach_run(self.pipeline.name(), SCHEDULE_TRIGGER, &key, &run_id)
                        .await
                        .map_err(store_error)?;
                    tracing::info!(pipeline = %self.pipeline.name(), %run_id, tick = %key, "scheduled run");
                    report(SchedulerEvent::Started {
                        run_id: run_id.clone(),
                        trigger: SCHEDULE_TRIGGER.to_owned(),
                        tick: key.clone(),
                        resumed: false,
                    });
                    let fired = Fired {
                        trigger: SCHEDULE_TRIGGER.to_owned(),
                        key,
                        tick,
                    };
                    self.spawn(&mut running, run_id, fired);
                }
            }
            let next = ticks
                .as_ref()
                .and_then(|ticks| ticks.next_after(now))
                .map_or(LOOK_AGAIN, |tick| self.clock.until(tick).min(LOOK_AGAIN));
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                Some(ended) = running.join_next() => {
                    if let Ok((run_id, fired, result)) = ended {
                        let succeeded = matches!(&result, Ok(summary) if summary.succeeded);
                        if let Err(error) = &result {
                            tracing::warn!(%run_id, %error, "the scheduled run could not run");
                        }
                        self.tell(&run_id, &fired, &result);
                        report(SchedulerEvent::Finished { run_id, succeeded });
                    }
                }
                () = tokio::time::sleep(next) => {}
            }
        }
    }

    /// Notifies, in the background, how `run_id` ended.
    fn tell(&self, run_id: &str, fired: &Fired, result: &Result<RunSummary, RunnerError>) {
        if self.notifier.is_none() {
            return;
        }
        let (state, summary, error) = match result {
            Ok(summary) => (
                if summary.succeeded {
                    "succeeded"
                } else {
                    "failed"
                },
                serde_json::to_value(summary).ok(),
                None,
            ),
            Err(error) => ("failed", None, Some(error.to_string())),
        };
        let ended = RunEnded {
            pipeline: self.pipeline.name().to_owned(),
            run_id: run_id.to_owned(),
            trigger: fired.trigger.clone(),
            tick: fired.key.clone(),
            state: state.to_owned(),
            summary,
            error,
        };
        let notifier = self.notifier.clone();
        tokio::spawn(async move { notifier.notify(&ended).await });
    }

    /// Starts (or resumes) `run_id`, the run `fired` started.
    fn spawn(&self, running: &mut Running, run_id: String, fired: Fired) {
        let runner = self.runner.clone();
        let pipeline = Arc::clone(&self.pipeline);
        let overrides = self.parameters.clone();
        running.spawn(async move {
            let result = match tick_parameters(&pipeline, &overrides, fired.tick) {
                Ok(parameters) => runner.run_or_resume(&pipeline, &run_id, parameters).await,
                Err(error) => Err(RunnerError::from(error)),
            };
            (run_id, fired, result)
        });
    }

    /// The newest tick claimed; or where scheduling starts for a pipeline never scheduled.
    async fn last_tick(
        &self,
        schedule: &millrace_core::spec::schedule::ScheduleSpec,
        started_at: Timestamp,
    ) -> Result<Timestamp, ServerError> {
        let latest = self
            .store
            .latest_key(self.pipeline.name(), SCHEDULE_TRIGGER)
            .await
            .map_err(|error| self.schedule_error(error.to_string()))?;
        if let Some(tick) = latest.and_then(|key| key.parse::<Timestamp>().ok()) {
            return Ok(tick);
        }
        let start_date = schedule
            .start_date
            .as_deref()
            .and_then(|date| format!("{date}T00:00:00Z").parse::<Timestamp>().ok());
        Ok(match start_date {
            Some(start) if schedule.catchup => start,
            _ => started_at,
        })
    }

    /// The recent runs of every trigger that did not finish, and the claims whose run never
    /// began.
    async fn unfinished(&self) -> Result<Vec<(String, Fired)>, ServerError> {
        let history = RunHistory::new(&*self.store);
        let mut triggers = vec![(SCHEDULE_TRIGGER.to_owned(), None)];
        triggers.extend(
            self.pipeline
                .spec()
                .data_triggers
                .iter()
                .map(|trigger| (trigger.name(), Some(trigger.node.clone()))),
        );
        let mut unfinished = Vec::new();
        for (trigger, node) in triggers {
            let fires = self
                .store
                .trigger_fires(self.pipeline.name(), Some(&trigger), RECENT_RUNS)
                .await
                .map_err(|error| self.schedule_error(error.to_string()))?;
            for fire in fires.into_iter().rev() {
                let tick = match &node {
                    None => fire.key.parse::<Timestamp>().map_err(|error| {
                        self.schedule_error(format!("the ledger's tick `{}`: {error}", fire.key))
                    })?,
                    Some(_) => Timestamp::from_millisecond(fire.claimed_time)
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                };
                let run_id = match &fire.run_id {
                    // A data trigger's baseline: no run.
                    Some(run_id) if run_id == data::BASELINE_RUN_ID => continue,
                    Some(run_id) => run_id.clone(),
                    None => {
                        let run_id = match &node {
                            None => run_id_of_tick(tick),
                            Some(node) => data_run_id(node, &fire.key),
                        };
                        self.store
                            .attach_run(self.pipeline.name(), &trigger, &fire.key, &run_id)
                            .await
                            .map_err(|error| self.schedule_error(error.to_string()))?;
                        run_id
                    }
                };
                // Ended only when the runner recorded its end: a run killed while a node waited
                // to be retried looks failed, and is not.
                let finished = match history.run(&self.pipeline, &run_id).await {
                    Ok(details) => details.run.finished_ms.is_some(),
                    Err(RunnerError::UnknownRun { .. }) => false,
                    Err(error) => return Err(self.schedule_error(error.to_string())),
                };
                if !finished {
                    let fired = Fired {
                        trigger: trigger.clone(),
                        key: fire.key,
                        tick,
                    };
                    unfinished.push((run_id, fired));
                }
            }
        }
        Ok(unfinished)
    }

    /// Records what data trigger `trigger` sees now as its baseline, if it was never watched.
    async fn baseline(
        &self,
        trigger: &millrace_core::spec::DataTrigger,
        watch: &mut data::DataWatch,
    ) -> Result<(), ServerError> {
        let name = trigger.name();
        let store_error =
            |error: millrace_metadata::MetadataError| self.schedule_error(error.to_string());
        if let Some(key) = self
            .store
            .latest_key(self.pipeline.name(), &name)
            .await
            .map_err(store_error)?
        {
            tracing::debug!(trigger = %name, %key, "watched before");
            return Ok(());
        }
        let latest = data::latest_span(Arc::clone(&self.pipeline), trigger.node.clone())
            .await
            .map_err(|reason| self.schedule_error(format!("data trigger {name}: {reason}")))?;
        let key = latest.map_or_else(|| data::NO_DATA_KEY.to_owned(), |span| span.key);
        if self
            .store
            .claim_trigger(self.pipeline.name(), &name, &key)
            .await
            .map_err(store_error)?
            == Claim::New
        {
            self.store
                .attach_run(self.pipeline.name(), &name, &key, data::BASELINE_RUN_ID)
                .await
                .map_err(store_error)?;
        }
        tracing::info!(trigger = %name, baseline = %key, "watching for new data");
        watch.claimed(&name, &key);
        Ok(())
    }

    fn schedule_error(&self, reason: String) -> ServerError {
        ServerError::Schedule {
            pipeline: self.pipeline.name().to_owned(),
            reason,
        }
    }
}
