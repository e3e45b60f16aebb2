//! The UI's actions: start a run with parameters, cancel a run this server executes, pause or
//! resume a trigger. They exist only when the server allows them ([`super::Ui::allow_actions`],
//! `serve --allow-actions`); each then needs the token set in [`ACTION_TOKEN_VARIABLE`], sent
//! as the form field `token` or the header `Authorization: Bearer …`. Without it, or with a
//! wrong one, the answer is 403 and nothing happens. The token is never a cookie, so another
//! site cannot make a browser send it (no cross-site request forgery).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use maud::{Markup, html};
use millrace_core::Pipeline;
use millrace_runner::{Cancellations as RunCancellations, LocalRunner, RunRecord};

use super::Failure;
use super::run::run_href;
use crate::ServerState;
use crate::error::ApiError;

/// The environment variable that holds the actions' token.
pub const ACTION_TOKEN_VARIABLE: &str = "MILLRACE_UI_TOKEN";

/// The runs this process executes, which the cancel action reaches.
pub type Cancellations = RunCancellations;

/// What the actions need.
pub(crate) struct Actions {
    token: Option<String>,
    runner: LocalRunner,
    cancellations: Cancellations,
}

impl Actions {
    pub(crate) fn new(
        token: Option<String>,
        runner: LocalRunner,
        cancellations: Cancellations,
    ) -> Actions {
        Actions {
            token: token.filter(|token| !token.is_empty()),
            runner: runner.cancellations(cancellations.clone()),
            cancellations,
        }
    }

    /// Whether the request carries the token (compared in constant time).
    fn check(&self, form: &BTreeMap<String, String>, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.token else {
            return Err(ApiError::forbidden(format!(
                "actions are allowed but no token is set: start `serve --allow-actions` with {ACTION_TOKEN_VARIABLE} set"
            )));
        };
        let sent = form.get("token").cloned().or_else(|| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .map(str::to_owned)
        });
        match sent {
            Some(sent) if same(sent.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(ApiError::forbidden("the token is wrong")),
            None => Err(ApiError::forbidden(format!(
                "this action needs the token ({ACTION_TOKEN_VARIABLE} of the server)"
            ))),
        }
    }
}

/// Equal bytes, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn actions_of(state: &ServerState) -> Result<&Actions, Failure> {
    super::of(state)?
        .actions
        .as_deref()
        .ok_or_else(|| ApiError::not_found("actions are off (serve --allow-actions)").into())
}

/// The token field every action form has.
fn token_field() -> Markup {
    html! {
        label { "Token"
            input type="password" name="token" autocomplete="current-password" required;
        }
    }
}

/// The form that starts a run: a field per parameter, filled with its default.
pub(crate) fn start_run_form(_actions: &Actions, pipeline: &Pipeline) -> Markup {
    html! {
        details {
            summary { "Start a run" }
            form.action method="post" action="/actions/runs" {
                @for parameter in &pipeline.spec().parameters {
                    label title=[parameter.description.as_deref()] { (parameter.name)
                        input type="text" name=(format!("param.{}", parameter.name))
                            placeholder=[parameter.default.as_ref().map(super::page::value_text)];
                    }
                }
                (token_field())
                button type="submit" { "Start" }
            }
        }
    }
}

/// The form that cancels a run.
pub(crate) fn cancel_form(_actions: &Actions, run_id: &str) -> Markup {
    html! {
        form.action method="post" action=(format!("{}/cancel", run_href(run_id).replacen("/runs/", "/actions/runs/", 1))) {
            (token_field())
            button type="submit" { "Cancel the run" }
        }
    }
}

/// The form that pauses or resumes a trigger.
pub(crate) fn trigger_form(trigger: &str, paused: bool) -> Markup {
    let verb = if paused { "resume" } else { "pause" };
    html! {
        form.action method="post" action=(format!("/actions/triggers/{}/{verb}", super::page::encode(trigger))) {
            (token_field())
            button type="submit" { (if paused { "Resume" } else { "Pause" }) }
        }
    }
}

/// `POST /actions/runs`: starts a run with the form's `param.NAME` values (the rest default)
/// and shows it.
pub(crate) async fn start_run(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Redirect, Failure> {
    let actions = actions_of(&state)?;
    actions.check(&form, &headers)?;
    let ui = super::of(&state)?;
    let overrides: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("param.")?;
            (!value.is_empty()).then(|| (name.to_owned(), value.clone()))
        })
        .collect();
    let parameters = ui
        .pipeline
        .parameter_values(&overrides)
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    let run_id = millrace_runner::new_run_id();
    // Recorded before the answer, so the run's page exists when the browser gets there.
    RunRecord::open_or_start(&*state.store, &ui.pipeline, &run_id, parameters.clone())
        .await
        .map_err(ApiError::from)?;
    let runner = actions.runner.clone();
    let pipeline = std::sync::Arc::clone(&ui.pipeline);
    let started = run_id.clone();
    tokio::spawn(async move {
        if let Err(error) = runner.run_or_resume(&pipeline, &started, parameters).await {
            tracing::warn!(run = %started, %error, "a run started from the UI failed");
        }
    });
    tracing::info!(run = %run_id, "a run started from the UI");
    Ok(Redirect::to(&run_href(&run_id)))
}

/// `POST /actions/runs/{run}/cancel`.
pub(crate) async fn cancel_run(
    State(state): State<ServerState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Redirect, Failure> {
    let actions = actions_of(&state)?;
    actions.check(&form, &headers)?;
    if !actions.cancellations.cancel(&run_id) {
        return Err(ApiError::conflict(format!(
            "run `{run_id}` is not executing in this server; a run started elsewhere stops with Ctrl-C where it runs"
        ))
        .into());
    }
    tracing::info!(run = %run_id, "a run canceled from the UI");
    Ok(Redirect::to(&run_href(&run_id)))
}

async fn set_paused(
    state: &ServerState,
    trigger: &str,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
    paused: bool,
) -> Result<Redirect, Failure> {
    let actions = actions_of(state)?;
    actions.check(form, headers)?;
    let ui = super::of(state)?;
    let known = super::schedules::triggers(&ui.pipeline);
    if !known.iter().any(|known| known == trigger) {
        return Err(ApiError::not_found(format!(
            "pipeline `{}` has no trigger `{trigger}` (it has: {})",
            ui.pipeline.name(),
            known.join(", ")
        ))
        .into());
    }
    state
        .store
        .set_trigger_paused(ui.pipeline.name(), trigger, paused)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/schedules"))
}

/// `POST /actions/triggers/{trigger}/pause`.
pub(crate) async fn pause(
    State(state): State<ServerState>,
    Path(trigger): Path<String>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Redirect, Failure> {
    set_paused(&state, &trigger, &headers, &form, true).await
}

/// `POST /actions/triggers/{trigger}/resume`.
pub(crate) async fn resume(
    State(state): State<ServerState>,
    Path(trigger): Path<String>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Redirect, Failure> {
    set_paused(&state, &trigger, &headers, &form, false).await
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(same(b"s3cret", b"s3cret"));
        assert!(!same(b"s3cret", b"s3cres"));
        assert!(!same(b"s3cret", b"s3cret!"));
        assert!(!same(b"", b"x"));
    }
}
