//! Executors: how a component's work is done — in process, or as a command.

mod command;
mod in_process;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use millrace_core::spec::ShardRole;
use millrace_core::{ErasedComponent, Executor};
use millrace_metadata::{Artifact, Properties};
use serde_json::Value as Json;

pub use command::EXECUTOR_OUTPUT_FILE;

/// Everything an executor needs: resolved inputs, where to write outputs, parameter values.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) pipeline: String,
    pub(crate) run_id: String,
    pub(crate) node_id: String,
    pub(crate) inputs: BTreeMap<String, Vec<Artifact>>,
    /// Output name → (artifact type, the staging directory to write into).
    pub(crate) outputs: BTreeMap<String, (String, PathBuf)>,
    pub(crate) parameters: BTreeMap<String, Json>,
    pub(crate) log_dir: PathBuf,
    pub(crate) timeout: Option<Duration>,
    /// What the execution does of a sharded node.
    pub(crate) shard_role: ShardRole,
    /// Extra environment of a command (the tracking server and run of the attempt).
    pub(crate) env: BTreeMap<String, String>,
}

/// What an executor reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Produced {
    /// Output name → (declared properties, custom properties).
    pub(crate) properties: BTreeMap<String, (Properties, Properties)>,
    /// Metrics of the execution.
    pub(crate) metrics: BTreeMap<String, f64>,
    /// What the execution did, in one line.
    pub(crate) summary: Option<String>,
    /// Curves, parameters, tags, files and registrations it tracked.
    pub(crate) tracked: millrace_core::Tracked,
}

/// Why an execution failed, with what it tracked before it did (a diverging loss curve is
/// worth keeping).
#[derive(Debug, Clone, Default)]
pub(crate) struct Failure {
    /// The message for the execution's record and the user.
    pub(crate) message: String,
    /// Metrics logged before the failure.
    pub(crate) metrics: BTreeMap<String, f64>,
    /// What it tracked before the failure.
    pub(crate) tracked: millrace_core::Tracked,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            ..Failure::default()
        }
    }
}

/// Runs a component.
pub(crate) async fn execute(
    component: &dyn ErasedComponent,
    prepared: &Prepared,
) -> Result<Produced, Failure> {
    let outcome = match component.execution() {
        Executor::InProcess(executor) => in_process::run(executor, prepared).await,
        Executor::Command(command) => command::run(&command, prepared)
            .await
            .map_err(Failure::from),
    };
    outcome.map_err(|mut failure| {
        if let Some(note) = disk_full_note(&failure.message, prepared) {
            failure.message.push_str(&note);
        }
        failure
    })
}

/// What to add to a failure's message that says the disk is full: which outputs were being
/// written where, and what to do. None when the message says nothing of a full disk.
fn disk_full_note(message: &str, prepared: &Prepared) -> Option<String> {
    let lower = message.to_lowercase();
    let full = [
        "no space left on device",
        "os error 28",
        "disk quota exceeded",
    ]
    .iter()
    .any(|sign| lower.contains(sign));
    if !full || prepared.outputs.is_empty() {
        return None;
    }
    let outputs: Vec<String> = prepared
        .outputs
        .iter()
        .map(|(name, (_, staging))| format!("`{name}` ({})", staging.display()))
        .collect();
    Some(format!(
        "\nthe disk ran out of space while node `{}` wrote its output{} {}: free space there \
         and run again (the finished nodes are cached; nothing of this attempt was published)",
        prepared.node_id,
        if outputs.len() == 1 { "" } else { "s" },
        outputs.join(", ")
    ))
}

/// Properties reported as JSON, as metadata values; a value metadata cannot hold (null, a
/// list) is an error naming the property.
pub(crate) fn properties_from_json(
    values: &BTreeMap<String, Json>,
) -> Result<millrace_metadata::Properties, String> {
    values
        .iter()
        .map(|(name, value)| {
            millrace_metadata::Value::from_json(value)
                .map(|value| (name.clone(), value))
                .ok_or_else(|| {
                    format!("property `{name}` = {value} cannot be stored (null or a list)")
                })
        })
        .collect()
}
