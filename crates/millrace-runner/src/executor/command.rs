//! The command executor: a subprocess in its own process group, with placeholders expanded,
//! its output logged per execution, killed with its children on timeout, and an optional
//! `executor_output.json` read back for properties and metrics. A command fails when it exits
//! with an error or leaves an output directory empty; the message ends with its last lines of
//! standard error.
//!
//! `executor_output.json`:
//!
//! ```json
//! {"outputs": {"model": {"properties": {"framework": "xgboost"}, "custom_properties": {"rmse": 3.2}}},
//!  "metrics": {"rmse": 3.2}, "summary": "fitted xgboost on 9,870 examples"}
//! ```

use std::collections::BTreeMap;
use std::process::Stdio;

use millrace_core::{CommandSpec, Placeholder};
use millrace_metadata::Value;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Deserialize;

use super::{Prepared, Produced, properties_from_json};

/// The file a command may write its properties and metrics into (`{{executor_output}}`).
pub const EXECUTOR_OUTPUT_FILE: &str = "executor_output.json";

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ExecutorOutput {
    outputs: BTreeMap<String, OutputProperties>,
    metrics: BTreeMap<String, f64>,
    summary: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct OutputProperties {
    properties: BTreeMap<String, serde_json::Value>,
    custom_properties: BTreeMap<String, serde_json::Value>,
}

fn parameter_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_json().to_string(),
    }
}

fn expand(command: &CommandSpec, prepared: &Prepared) -> Result<CommandSpec, String> {
    let executor_output = prepared.log_dir.join(EXECUTOR_OUTPUT_FILE);
    command
        .expand(|placeholder| match placeholder {
            Placeholder::InputUri(name) => prepared.inputs.get(name)?.first()?.uri.clone(),
            Placeholder::InputProperty(name, key) => {
                let artifact = prepared.inputs.get(name)?.first()?;
                artifact
                    .properties
                    .get(key)
                    .or_else(|| artifact.custom_properties.get(key))
                    .map(value_text)
            }
            Placeholder::OutputUri(name) => {
                Some(prepared.outputs.get(name)?.1.display().to_string())
            }
            Placeholder::Parameter(name) => prepared.parameters.get(name).map(parameter_text),
            Placeholder::RunId => Some(prepared.run_id.clone()),
            Placeholder::NodeId => Some(prepared.node_id.clone()),
            Placeholder::Pipeline => Some(prepared.pipeline.clone()),
            Placeholder::ExecutorOutput => Some(executor_output.display().to_string()),
        })
        .map_err(|error| error.to_string())
}

/// Kills a command's whole process group when dropped: on a timeout, at the end, and when the
/// node's task is aborted (Ctrl-C), so that nothing the command started outlives it.
struct ProcessGroup(Option<Pid>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

/// The most of a command's standard error kept in memory for its failure's message.
const STDERR_TAIL_BYTES: usize = 64 * 1024;

/// How long a finished command's standard error may stay open: a process that left the
/// command's group (`setsid`) may hold it for ever.
const STDERR_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The last bytes of a command's standard error.
type StderrTail = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u8>>>;

/// Copies a command's standard error into its log file as it comes, keeping the last
/// [`STDERR_TAIL_BYTES`] in `tail`: on a full disk the log file cannot take the very lines
/// that say so, and the failure's message must still show them.
async fn tee_stderr(mut pipe: tokio::process::ChildStderr, log: std::fs::File, tail: StderrTail) {
    use std::io::Write as _;
    use tokio::io::AsyncReadExt as _;
    let mut log = Some(log);
    let mut buffer = vec![0_u8; 8192];
    while let Ok(read) = pipe.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        // A log file that fails once (a full disk) is written no more.
        if log
            .as_mut()
            .is_some_and(|file| file.write_all(chunk).is_err())
        {
            log = None;
        }
        let mut kept = tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.extend(chunk);
        let excess = kept.len().saturating_sub(STDERR_TAIL_BYTES);
        kept.drain(..excess);
    }
}

/// The last `lines` lines of `bytes`.
fn last_lines(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub(super) async fn run(command: &CommandSpec, prepared: &Prepared) -> Result<Produced, String> {
    let expanded = expand(command, prepared)?;
    let (program, arguments) = expanded
        .command
        .split_first()
        .ok_or_else(|| "the command is empty".to_owned())?;
    std::fs::create_dir_all(&prepared.log_dir)
        .map_err(|error| format!("cannot create {}: {error}", prepared.log_dir.display()))?;
    let stdout_path = prepared.log_dir.join("stdout.log");
    let stderr_path = prepared.log_dir.join("stderr.log");
    let open = |path: &std::path::Path| {
        std::fs::File::create(path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))
    };
    let mut process = tokio::process::Command::new(program);
    process
        .args(arguments)
        .args(&expanded.args)
        .envs(&expanded.env)
        .envs(&prepared.env)
        .env("MILLRACE_RUN_ID", &prepared.run_id)
        .env("MILLRACE_NODE_ID", &prepared.node_id)
        .stdin(Stdio::null())
        .stdout(open(&stdout_path)?)
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &expanded.working_dir {
        process.current_dir(dir);
    }
    let stderr_log = open(&stderr_path)?;
    let mut child = process
        .spawn()
        .map_err(|error| format!("cannot start `{program}`: {error}"))?;
    let stderr_tail = StderrTail::default();
    let copying = child
        .stderr
        .take()
        .map(|pipe| tokio::spawn(tee_stderr(pipe, stderr_log, stderr_tail.clone())));
    let group = ProcessGroup(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let waited = match prepared.timeout {
        Some(limit) => match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                // The whole group goes: the command and everything it started.
                drop(group);
                let _ = child.wait().await;
                return Err(format!(
                    "timed out after {} s; the command and its children were killed",
                    limit.as_secs_f64()
                ));
            }
        },
        None => child.wait().await,
    };
    let status = waited.map_err(|error| format!("waiting for `{program}` failed: {error}"))?;
    // Children left behind by a finished command go too (and with them the last writers of
    // its standard error, which then ends).
    drop(group);
    if let Some(copying) = copying {
        let _ = tokio::time::timeout(STDERR_CLOSE_WAIT, copying).await;
    }
    let last_words = || {
        let kept = stderr_tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stderr = last_lines(&Vec::from(kept.clone()), 20);
        if stderr.is_empty() {
            String::new()
        } else {
            format!("; its last lines of standard error:\n{stderr}")
        }
    };
    if !status.success() {
        return Err(format!("`{program}` exited with {status}{}", last_words()));
    }
    // A command that succeeds without writing an output has failed all the same: a model
    // trainer that wrote no model must not publish an empty Model.
    for (name, (_, dir)) in &prepared.outputs {
        let wrote_nothing =
            std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none());
        if wrote_nothing {
            return Err(format!(
                "`{program}` exited successfully but wrote nothing into output `{name}` ({}){}",
                dir.display(),
                last_words()
            ));
        }
    }
    let output_file = prepared.log_dir.join(EXECUTOR_OUTPUT_FILE);
    let mut produced = Produced::default();
    if output_file.exists() {
        let text = std::fs::read_to_string(&output_file)
            .map_err(|error| format!("cannot read {}: {error}", output_file.display()))?;
        let output: ExecutorOutput = serde_json::from_str(&text)
            .map_err(|error| format!("{}: {error}", output_file.display()))?;
        produced.metrics = output.metrics;
        produced.summary = output.summary;
        for (name, properties) in output.outputs {
            if !prepared.outputs.contains_key(&name) {
                return Err(format!(
                    "{EXECUTOR_OUTPUT_FILE}: the node has no output `{name}`"
                ));
            }
            produced.properties.insert(
                name,
                (
                    properties_from_json(&properties.properties)
                        .map_err(|error| format!("{EXECUTOR_OUTPUT_FILE}: {error}"))?,
                    properties_from_json(&properties.custom_properties)
                        .map_err(|error| format!("{EXECUTOR_OUTPUT_FILE}: {error}"))?,
                ),
            );
        }
    }
    Ok(produced)
}
