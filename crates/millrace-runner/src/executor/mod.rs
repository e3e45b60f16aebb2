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
}

/// Runs a component; the error is a message for the execution's record and the user.
pub(crate) async fn execute(
    component: &dyn ErasedComponent,
    prepared: &Prepared,
) -> Result<Produced, String> {
    match component.execution() {
        Executor::InProcess(executor) => in_process::run(executor, prepared).await,
        Executor::Command(command) => command::run(&command, prepared).await,
    }
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
