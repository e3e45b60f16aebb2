//! `/schedules`: the pipeline's triggers — its cron schedule (next ticks, time zone, catch-up,
//! runs at once) and its data-arrival triggers — each paused or not, with its latest firings
//! and how their runs went.

use axum::extract::State;
use maud::{Markup, html};
use millrace_core::Pipeline;
use millrace_runner::RunState;

use super::page::{self, Section};
use super::run::run_href;
use super::{Failure, actions};
use crate::ServerState;
use crate::scheduler::{Clock, SCHEDULE_TRIGGER, schedule_status};

/// Firings listed per trigger.
const RECENT: u32 = 20;

/// The triggers of `pipeline` that can be paused: its schedule, then its data triggers.
pub(crate) fn triggers(pipeline: &Pipeline) -> Vec<String> {
    let mut triggers = Vec::new();
    if pipeline.spec().schedule.is_some() {
        triggers.push(SCHEDULE_TRIGGER.to_owned());
    }
    triggers.extend(
        crate::scheduler::data_triggers(pipeline)
            .into_iter()
            .map(|trigger| trigger.name()),
    );
    triggers
}

/// `GET /schedules`.
pub(crate) async fn page(State(state): State<ServerState>) -> Result<Markup, Failure> {
    let ui = super::of(&state)?;
    let status = schedule_status(
        &*state.store,
        &ui.pipeline,
        Clock::from_environment(),
        RECENT,
    )
    .await
    .map_err(|error| crate::error::ApiError::internal(error.to_string()))?;
    let paused_states = state
        .store
        .trigger_states(ui.pipeline.name())
        .await
        .map_err(crate::error::ApiError::from)?;
    let history = millrace_runner::RunHistory::new(&*state.store);
    let mut data = Vec::new();
    for trigger in crate::scheduler::data_triggers(&ui.pipeline) {
        let name = trigger.name();
        let paused = paused_states
            .iter()
            .any(|state| state.trigger == name && state.paused);
        let fires = state
            .store
            .trigger_fires(ui.pipeline.name(), Some(&name), RECENT)
            .await
            .map_err(crate::error::ApiError::from)?;
        let mut rows = Vec::with_capacity(fires.len());
        for fire in fires {
            let run = match fire.run_id.as_deref() {
                Some(run) if run != crate::scheduler::data::BASELINE_RUN_ID => {
                    history.run(&ui.pipeline, run).await.ok()
                }
                _ => None,
            };
            let (run_state, finished) = run.map_or(("", false), |run| {
                (run.run.state.as_str(), run.run.finished_ms.is_some())
            });
            rows.push((fire, run_state, finished));
        }
        data.push((trigger, paused, rows));
    }
    let body = html! {
        h2 { "Schedule" }
        @match &status {
            None => p.quiet { "The pipeline has no schedule (PipelineBuilder::schedule)." },
            Some(status) => {
                dl.facts {
                    dt { "Cron" } dd { code { (status.schedule.cron) } }
                    dt { "Time zone" } dd { (status.schedule.timezone.as_deref().unwrap_or("UTC")) }
                    dt { "Catch-up" } dd { (if status.schedule.catchup { "yes: missed ticks run" } else { "no: only the latest missed tick runs" }) }
                    dt { "Runs at once" } dd { (status.schedule.max_active_runs.map_or_else(|| "1".to_owned(), |runs| runs.to_string())) }
                    dt { "State" } dd #schedule-state { (if status.paused { "paused" } else { "active" }) }
                    dt { "Next (UTC)" } dd { (status.next.join(", ")) }
                }
                @if ui.actions.is_some() {
                    (actions::trigger_form(SCHEDULE_TRIGGER, status.paused))
                }
                (firings_table(status.recent.iter().map(|firing| (firing.trigger.as_str(), firing.tick.as_str(), firing.run_id.as_deref(), firing.state.as_str(), firing.finished))))
            }
        }
        h2 { "New data" }
        @if data.is_empty() {
            p.quiet { "No data-arrival triggers: a pipeline whose example ingestion reads a pattern of spans gets one per ingesting node." }
        }
        @for (trigger, paused, rows) in &data {
            @let name = trigger.name();
            h3 { code { (name) } }
            dl.facts {
                dt { "Watches" } dd { code { (trigger.pattern) } }
                dt { "Debounce" } dd { (trigger.trigger.debounce_seconds) " s" }
                dt { "State" } dd data-trigger=(name) { (if *paused { "paused" } else { "active" }) }
            }
            @if ui.actions.is_some() {
                (actions::trigger_form(&name, *paused))
            }
            (firings_table(rows.iter().map(|(fire, run_state, finished)| (fire.trigger.as_str(), fire.key.as_str(), fire.run_id.as_deref(), *run_state, *finished))))
        }
    };
    Ok(page::shell(
        "Schedules and triggers",
        Section::Schedules,
        &body,
    ))
}

fn firings_table<'a>(
    firings: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>, &'a str, bool)>,
) -> Markup {
    html! {
        table.firings {
            thead { tr { th { "Trigger" } th { "Fired for" } th { "Run" } th { "State" } } }
            tbody {
                @for (trigger, key, run, state, finished) in firings {
                    tr {
                        td { span.trigger { (trigger) } }
                        td { code { (key) } }
                        td {
                            @match run {
                                Some(crate::scheduler::data::BASELINE_RUN_ID) => span.quiet { "none: present when watching began" },
                                Some(run) => a href=(run_href(run)) { code { (run) } },
                                None => span.quiet { "not started" },
                            }
                        }
                        td { @if let Some(state) = RunState::from_name(state) { (page::run_badge(state, finished)) } }
                    }
                }
            }
        }
    }
}
