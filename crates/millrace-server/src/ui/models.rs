//! `/models` and `/models/{name}`: the model registry — registered models, then a model's
//! versions with their aliases, stage, approval, the metrics of the run that registered them
//! and a link to the model artifact, whose lineage leads back to the data.

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use millrace_metadata::registry::{ModelVersion, RegistrySearch};
use serde::Deserialize;

use super::Failure;
use super::page::encode;
use super::page::{self, Section};
use super::run::run_href;
use crate::ServerState;
use crate::error::ApiError;

/// Registered models on a page.
const MODELS_PER_PAGE: u32 = 100;
/// The tag of a nested tracked run naming its parent (MLflow's).
const PARENT_RUN_TAG: &str = "mlflow.parentRunId";
/// Metrics shown per version (the run page has them all).
const METRICS_SHOWN: usize = 6;

/// The query of `/models`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ModelsQuery {
    #[serde(default)]
    offset: Option<u64>,
}

/// `GET /models`.
pub(crate) async fn list(
    State(state): State<ServerState>,
    Query(query): Query<ModelsQuery>,
) -> Result<Markup, Failure> {
    super::of(&state)?;
    let page = state
        .store
        .search_registered_models(&RegistrySearch {
            order_by: vec!["name ASC".to_owned()],
            max_results: MODELS_PER_PAGE,
            offset: query.offset.unwrap_or(0),
            ..RegistrySearch::default()
        })
        .await
        .map_err(ApiError::from)?;
    let body = html! {
        @if page.items.is_empty() {
            p.quiet { "No registered models yet. A pipeline's Pusher with a registry target, `models register`, or the mlflow client's `register_model` adds them." }
        } @else {
            table #models {
                thead { tr { th { "Model" } th { "Latest version" } th { "Aliases" } th { "Last modified (UTC)" } th { "Description" } } }
                tbody {
                    @for model in &page.items {
                        tr {
                            td { a href=(format!("/models/{}", encode(&model.name))) { (model.name) } }
                            td.num { @if let Some(latest) = model.latest_versions.iter().map(|v| v.version).max() { (latest) } }
                            td { @for (alias, version) in &model.aliases { span.trigger { "@" (alias) " → v" (version) } " " } }
                            td { (page::time(model.last_updated_time)) }
                            td { (model.description) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = page.next_offset {
            div.pager { a href=(format!("/models?offset={next}")) rel="next" { "more »" } }
        }
    };
    Ok(page::shell("Models", Section::Models, &body))
}

/// `GET /models/{name}`.
pub(crate) async fn page(
    State(state): State<ServerState>,
    Path(name): Path<String>,
) -> Result<Markup, Failure> {
    super::of(&state)?;
    let model = state
        .store
        .get_registered_model(&name)
        .await
        .map_err(ApiError::from)?;
    let versions = state
        .store
        .search_model_versions(&RegistrySearch {
            filter: format!("name = '{}'", name.replace('\'', "''")),
            order_by: vec!["version_number DESC".to_owned()],
            ..RegistrySearch::default()
        })
        .await
        .map_err(ApiError::from)?
        .items;
    let mut rows = Vec::with_capacity(versions.len());
    for version in &versions {
        let (run, metrics) = registering_run(&state, version).await;
        rows.push((version, run, metrics));
    }
    let body = html! {
        dl.facts {
            dt { "Created (UTC)" } dd { (page::time(model.creation_time)) }
            dt { "Last modified (UTC)" } dd { (page::time(model.last_updated_time)) }
            @if !model.description.is_empty() { dt { "Description" } dd { (model.description) } }
            @for (key, value) in &model.tags { dt { "tag " (key) } dd { (value) } }
        }
        h2 { "Versions" }
        table #versions {
            thead { tr {
                th { "Version" } th { "Aliases" } th { "Approval" } th { "Stage" } th { "Registered (UTC)" }
                th { "Run" } th { "Metrics of the run" } th { "Model artifact" }
            } }
            tbody {
                @for (version, run, metrics) in &rows {
                    tr {
                        td.num { (version.version) }
                        td { @for alias in &version.aliases { span.trigger { "@" (alias) } " " } }
                        td { (version.approval.as_str()) }
                        td { (version.current_stage.to_string()) }
                        td { (page::time(version.creation_time)) }
                        td { @if let Some(run) = run { a href=(run_href(run)) { code { (run) } } } }
                        td { @for (key, value) in metrics { div { code { (key) } " " (format!("{value:.4}")) } } }
                        td { @if let Some(id) = version.artifact_id { a href=(format!("/artifacts/{id}")) { "artifact " (id) " (lineage)" } } }
                    }
                }
            }
        }
    };
    Ok(page::shell(
        &format!("Model {name}"),
        Section::Models,
        &body,
    ))
}

/// The pipeline run that registered `version` — the registering node's tracked run is
/// nested in it (`mlflow.parentRunId`) — and that run's latest metrics, the evaluator's first.
async fn registering_run(
    state: &ServerState,
    version: &ModelVersion,
) -> (Option<String>, Vec<(String, f64)>) {
    let Some(run) = &version.run_id else {
        return (None, Vec::new());
    };
    let Ok(mut tracked) = state.store.get_run(run).await else {
        return (Some(run.clone()), Vec::new());
    };
    if let Some(parent) = tracked.tags.get(PARENT_RUN_TAG).cloned()
        && let Ok(pipeline_run) = state.store.get_run(&parent).await
    {
        tracked = pipeline_run;
    }
    let mut metrics: Vec<(String, f64)> = tracked
        .metrics
        .iter()
        .map(|(key, point)| (key.clone(), point.value))
        .collect();
    metrics.sort_by_key(|(key, _)| (!key.starts_with("evaluator"), key.clone()));
    metrics.truncate(METRICS_SHOWN);
    (Some(tracked.info.run_id.clone()), metrics)
}
