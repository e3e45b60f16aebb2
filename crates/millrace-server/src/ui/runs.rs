//! `/runs`: the pipeline's runs, newest first, a page at a time — state, trigger, parameters,
//! start, duration, nodes — filtered by state and by a parameter's value.
//!
//! Paging is by keyset (`before` = the position of the last run shown), so the hundredth page
//! costs what the first does. A state the runner records at a run's end (succeeded, failed,
//! interrupted) is filtered by the store. Other filters (a parameter's value, a run still
//! running) read pages of runs until they have a page of matches or have looked at
//! [`SCAN_LIMIT`] runs; then the page says how far it looked and links on from there, so a
//! rare match never makes one request slow.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use maud::{Markup, html};
use millrace_metadata::triggers::TriggerFire;
use millrace_runner::{NodeState, RunHistory, RunListing, RunPage, RunState};
use serde::Deserialize;

use super::page::{self, Section};
use super::{Failure, actions};
use crate::ServerState;
use crate::error::ApiError;

/// Runs on a page unless asked otherwise, and at most.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;
/// The states a run's end records, which the store can filter on.
const ENDED: [RunState; 3] = [RunState::Succeeded, RunState::Failed, RunState::Interrupted];
/// How many runs one filtered request looks at before it stops and links on.
const SCAN_LIMIT: usize = 1_000;
/// The largest batch a filter reads at once (batches start at a page and double).
const MAX_BATCH: u32 = 400;

/// The query of `/runs`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunsQuery {
    /// Only runs in this state (`succeeded`, `failed`, `running`, …).
    #[serde(default)]
    state: Option<String>,
    /// Only runs with this parameter value: `name=value`.
    #[serde(default)]
    param: Option<String>,
    /// Only runs older than this position.
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// A filter on runs.
struct Filter {
    state: Option<RunState>,
    parameter: Option<(String, String)>,
}

impl Filter {
    fn parse(query: &RunsQuery) -> Result<Filter, ApiError> {
        let state = match query.state.as_deref().filter(|text| !text.is_empty()) {
            None => None,
            Some(name) => Some(RunState::from_name(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "no run state `{name}`: use succeeded, failed, running, interrupted or incomplete"
                ))
            })?),
        };
        let parameter = match query
            .param
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            None => None,
            Some(text) => {
                let (name, value) = text.split_once('=').ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "the parameter filter `{text}` is not NAME=VALUE (for example max_depth=12)"
                    ))
                })?;
                Some((name.trim().to_owned(), value.trim().to_owned()))
            }
        };
        Ok(Filter { state, parameter })
    }

    fn is_on(&self) -> bool {
        self.state.is_some() || self.parameter.is_some()
    }

    fn admits(&self, listing: &RunListing) -> bool {
        self.state.is_none_or(|state| listing.run.state == state)
            && self.parameter.as_ref().is_none_or(|(name, value)| {
                listing
                    .run
                    .parameters
                    .get(name)
                    .is_some_and(|actual| page::value_text(actual) == *value)
            })
    }
}

/// One page of matching runs, and where the next page starts (if there may be one).
struct Found {
    runs: Vec<RunListing>,
    next: Option<i64>,
    looked_at: usize,
}

async fn find(
    state: &ServerState,
    pipeline: &millrace_core::Pipeline,
    filter: &Filter,
    before: Option<i64>,
    limit: u32,
) -> Result<Found, Failure> {
    let history = RunHistory::new(&*state.store);
    let mut batch = limit;
    let mut found = Found {
        runs: Vec::new(),
        next: None,
        looked_at: 0,
    };
    let mut cursor = before;
    loop {
        let mut page = RunPage {
            limit: batch,
            before: cursor,
            ended_as: None,
        };
        // An end state the runner records is filtered by the store.
        if let Some(state) = filter.state.filter(|state| ENDED.contains(state)) {
            page = page.ended_as(state);
        }
        let listings = history.runs(pipeline, &page).await?;
        let exhausted = listings.len() < batch as usize;
        for listing in listings {
            found.looked_at += 1;
            cursor = Some(listing.position);
            if filter.admits(&listing) {
                found.runs.push(listing);
                if found.runs.len() == limit as usize {
                    found.next = cursor;
                    return Ok(found);
                }
            }
        }
        if exhausted {
            return Ok(found);
        }
        if found.looked_at >= SCAN_LIMIT {
            found.next = cursor;
            return Ok(found);
        }
        batch = (batch * 2).min(MAX_BATCH);
    }
}

/// How a run was started, from the trigger ledger's firing of it (none: by hand).
pub(crate) fn trigger_label(fire: Option<&TriggerFire>) -> String {
    match fire.map(|fire| fire.trigger.as_str()) {
        None => "manual".to_owned(),
        Some(crate::scheduler::SCHEDULE_TRIGGER) => "schedule".to_owned(),
        Some(crate::scheduler::BACKFILL_TRIGGER) => "backfill".to_owned(),
        Some(other) => match other.strip_prefix("new-data:") {
            Some(node) => format!("new data ({node})"),
            None => other.to_owned(),
        },
    }
}

/// The trigger of each of `runs`, by run id.
pub(crate) async fn triggers_of(
    state: &ServerState,
    pipeline: &str,
    runs: &[String],
) -> Result<BTreeMap<String, TriggerFire>, Failure> {
    let fires = state
        .store
        .fires_of_runs(pipeline, runs)
        .await
        .map_err(ApiError::from)?;
    // A backfilled tick holds the schedule's key too; the backfill is what started the run.
    let mut by_run: BTreeMap<String, TriggerFire> = BTreeMap::new();
    for fire in fires {
        let Some(run) = fire.run_id.clone() else {
            continue;
        };
        let keep = by_run
            .get(&run)
            .is_none_or(|kept| kept.trigger == crate::scheduler::SCHEDULE_TRIGGER);
        if keep {
            by_run.insert(run, fire);
        }
    }
    Ok(by_run)
}

/// `GET /runs`.
pub(crate) async fn page(
    State(state): State<ServerState>,
    Query(query): Query<RunsQuery>,
) -> Result<Markup, Failure> {
    let ui = super::of(&state)?;
    let filter = Filter::parse(&query)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let found = find(&state, &ui.pipeline, &filter, query.before, limit).await?;
    let ids: Vec<String> = found
        .runs
        .iter()
        .map(|run| run.run.run_id.clone())
        .collect();
    let triggers = triggers_of(&state, ui.pipeline.name(), &ids).await?;
    let next_href = found.next.map(|position| {
        let mut href = format!("/runs?before={position}&limit={limit}");
        if let Some(state) = &query.state {
            href.push_str(&format!("&state={}", page::encode(state)));
        }
        if let Some(param) = &query.param {
            href.push_str(&format!("&param={}", page::encode(param)));
        }
        href
    });
    let body = html! {
        @if let Some(actions) = &ui.actions {
            (actions::start_run_form(actions, &ui.pipeline))
        }
        form.filters method="get" action="/runs" {
            label { "State"
                select name="state" {
                    option value="" { "any" }
                    @for state in [RunState::Succeeded, RunState::Failed, RunState::Running, RunState::Interrupted, RunState::Incomplete] {
                        option value=(state.as_str()) selected[filter.state == Some(state)] { (state.as_str()) }
                    }
                }
            }
            label { "Parameter"
                input type="text" name="param" placeholder="name=value" value=[query.param.as_deref()];
            }
            button type="submit" { "Filter" }
            @if filter.is_on() { a href="/runs" { "clear" } }
        }
        @if filter.is_on() {
            p.quiet { "Looked at " (found.looked_at) " runs; " (found.runs.len()) " match." }
        }
        form method="get" action="/compare" {
            table #runs {
                thead { tr {
                    th { button type="submit" title="Compare the runs ticked" { "Compare" } }
                    th { "Run" } th { "State" } th { "Trigger" } th { "Parameters" }
                    th { "Started (UTC)" } th { "Duration" } th { "Nodes" }
                } }
                tbody {
                    @for listing in &found.runs {
                        @let run = &listing.run;
                        tr data-run=(run.run_id) {
                            td { input type="checkbox" name="run" value=(run.run_id); }
                            td { a href=(format!("/runs/{}", page::encode(&run.run_id))) { code { (run.run_id) } } }
                            td { (page::run_badge(run.state, run.finished_ms.is_some())) }
                            td { span.trigger { (trigger_label(triggers.get(&run.run_id))) } }
                            td { (parameters(&run.parameters)) }
                            td { (page::time(run.started_ms)) }
                            td.num { @if let Some(end) = run.finished_ms { (page::duration(end - run.started_ms)) } }
                            td { (node_counts(&listing.nodes)) }
                        }
                    }
                }
            }
        }
        @if found.runs.is_empty() {
            p.quiet { "No runs" @if filter.is_on() { " match" } "." }
        }
        div.pager {
            @if query.before.is_some() { a href="/runs" { "« newest" } }
            @if let Some(href) = next_href { a href=(href) rel="next" { "older »" } }
        }
    };
    Ok(page::shell(
        &format!("Runs of {}", ui.pipeline.name()),
        Section::Runs,
        &body,
    ))
}

/// Parameters as `name=value` lines, values cut at 40 characters.
fn parameters(values: &BTreeMap<String, serde_json::Value>) -> Markup {
    html! {
        @for (name, value) in values {
            @let text = page::value_text(value);
            div.quiet title=(text) {
                code { (name) "=" (text.chars().take(40).collect::<String>()) @if text.chars().count() > 40 { "…" } }
            }
        }
    }
}

fn node_counts(counts: &BTreeMap<NodeState, usize>) -> Markup {
    html! {
        @for (index, (state, count)) in counts.iter().enumerate() {
            @if index > 0 { " · " }
            span data-state=(state.as_str()) { (count) " " (page::node_label(*state)) }
        }
    }
}
