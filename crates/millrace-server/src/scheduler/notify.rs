//! Telling someone how a scheduled run ended: a webhook (`POST` of the run's summary as JSON)
//! and/or a command (run with `sh -c`, the summary on its standard input and
//! `MILLRACE_RUN_ID`, `MILLRACE_RUN_STATE` in its environment) — on failure only, or always.
//! A notification that cannot be delivered is logged and never stops the scheduler; the
//! webhook is tried three times (after 1 and 2 s) when the server cannot be reached or
//! answers 5xx.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

/// When to notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyOn {
    /// When a run fails (or cannot run).
    #[default]
    Failure,
    /// When any run ends.
    Always,
}

/// How a scheduled run ended, as a notification says it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEnded {
    /// The pipeline.
    pub pipeline: String,
    /// The run.
    pub run_id: String,
    /// The trigger that started it: `schedule`, `new-data:<node>`.
    pub trigger: String,
    /// What fired it: the tick's time, the span.
    pub tick: String,
    /// `succeeded` or `failed`.
    pub state: String,
    /// The run's summary (every node's outcome), when it ran.
    pub summary: Option<Value>,
    /// Why it could not run, when it could not.
    pub error: Option<String>,
}

/// Where notifications go.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    webhook: Option<String>,
    command: Option<String>,
    on: NotifyOn,
}

impl Notifier {
    /// Notifies nobody.
    pub fn none() -> Notifier {
        Notifier::default()
    }

    /// `POST`s each notification to `url`.
    pub fn webhook(mut self, url: impl Into<String>) -> Notifier {
        self.webhook = Some(url.into());
        self
    }

    /// Runs `command` (with `sh -c`) for each notification.
    pub fn command(mut self, command: impl Into<String>) -> Notifier {
        self.command = Some(command.into());
        self
    }

    /// When to notify.
    pub fn on(mut self, on: NotifyOn) -> Notifier {
        self.on = on;
        self
    }

    /// Whether it notifies anyone.
    pub fn is_none(&self) -> bool {
        self.webhook.is_none() && self.command.is_none()
    }

    /// Delivers `ended`, if it is one to tell.
    pub async fn notify(&self, ended: &RunEnded) {
        if self.on == NotifyOn::Failure && ended.state == "succeeded" {
            return;
        }
        let body = serde_json::to_vec(&json!(ended)).unwrap_or_default();
        if let Some(url) = &self.webhook {
            post(url, &body, &ended.run_id).await;
        }
        if let Some(command) = &self.command {
            run_command(command, &body, ended).await;
        }
    }
}

/// A webhook's URL as logs show it: its scheme and host only. Webhooks (Slack's, Teams') carry
/// their secret in the path or the query, and a URL may carry a password.
fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}/…",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default()
        ),
        Err(_) => "(not a URL)".to_owned(),
    }
}

async fn post(url: &str, body: &[u8], run_id: &str) {
    millrace_storage::connect::install_ring_provider();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(webhook = %shown(url), %error, "cannot notify the webhook");
            return;
        }
    };
    for wait in [1, 2, 0] {
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(reply) if reply.status().is_success() => return,
            Ok(reply) if !reply.status().is_server_error() => {
                tracing::warn!(webhook = %shown(url), %run_id, status = %reply.status(), "the webhook refused the notification");
                return;
            }
            Ok(reply) => {
                tracing::warn!(webhook = %shown(url), %run_id, status = %reply.status(), "the webhook failed");
            }
            Err(error) => {
                let error = error.without_url();
                tracing::warn!(webhook = %shown(url), %run_id, %error, "cannot reach the webhook");
            }
        }
        if wait == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

async fn run_command(command: &str, body: &[u8], ended: &RunEnded) {
    let spawned = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("MILLRACE_RUN_ID", &ended.run_id)
        .env("MILLRACE_RUN_STATE", &ended.state)
        .env("MILLRACE_PIPELINE", &ended.pipeline)
        .stdin(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            tracing::warn!(%command, %error, "cannot run the notification command");
            return;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(body).await;
    }
    match child.wait().await {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::warn!(%command, %status, "the notification command failed"),
        Err(error) => tracing::warn!(%command, %error, "the notification command failed"),
    }
}
