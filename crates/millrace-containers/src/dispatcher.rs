//! [`ContainerDispatcher`]: each component node's attempt as `run-node` in a container.
//!
//! Per task it runs
//!
//! ```text
//! <engine> run --rm --pull never --name <task name> --network host --user <host uid:gid>
//!     --env MILLRACE_STORE --env MILLRACE_ROOT --env MILLRACE_PARAMS_JSON [--env AWS_… GOOGLE_… AZURE_… MILLRACE_LOG]
//!     --volume <root>:<root> --volume <store dir>:<store dir> --volume <cwd>:<cwd> --workdir <cwd>
//!     <image> run-node --run-id R --node N --fingerprint F
//! ```
//!
//! - **The image** is the node's `options.image`, else the pipeline's (built by `image build`);
//!   nothing is pulled. An image that does not exist ends the task as killed, naming the image
//!   and the node, before `run-node` recorded anything.
//! - **Values never appear on the command line** nor in a file: `--env NAME` hands the engine
//!   the variable of its own environment, which the dispatcher sets (store, root, parameters)
//!   or the host has (credentials of object stores: `AWS_*`, `GOOGLE_*`, `AZURE_*`; the log
//!   filter `MILLRACE_LOG`).
//! - **The user** is the host user running the pipeline (`--user uid:gid`), not the image's
//!   `millrace`: files written into the bind-mounted root then belong to whoever owns them in a
//!   local run, and that user can write there. (Rootless podman's `--userns keep-id` would do the
//!   same for a non-root user; rootful podman refuses it: "keep-id is only supported in rootless
//!   mode".)
//! - **Output** of the container goes to `stdout.log` and `stderr.log` in the task's log
//!   directory, nothing to the terminal.
//! - **A timeout** (the node's `timeout`) removes the container (`<engine> rm --force`) and ends
//!   the task as killed, "timed out after N s"; [`cancel_all`](NodeDispatcher::cancel_all)
//!   removes every container still running.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use millrace_runner::{NodeDispatcher, NodeTask, RunnerError, TaskEnd};

use crate::engine::{Engine, says_image_is_missing};
use crate::host_access::HostAccess;

/// Prefixes of the host's environment variables every container gets (when set): the
/// credentials and settings of object stores.
pub const PASSED_ENV_PREFIXES: &[&str] = &["AWS_", "GOOGLE_", "AZURE_"];

/// Host environment variables every container gets (when set).
pub const PASSED_ENV_NAMES: &[&str] = &["MILLRACE_LOG"];

/// How long a timed-out or cancelled task's engine client gets to exit once its container was
/// removed, before it is killed.
const CLIENT_GRACE: Duration = Duration::from_secs(5);

/// Runs each task's `run-node` in a container: see the [module](self).
#[derive(Debug)]
pub struct ContainerDispatcher {
    engine: Engine,
    image: String,
    access: HostAccess,
    passed_env: Vec<String>,
    user: Option<String>,
    running: Mutex<BTreeSet<String>>,
}

impl ContainerDispatcher {
    /// Runs tasks in `image` (the pipeline's) with `engine`, seeing the host as `access` says,
    /// as the user running this process.
    pub fn new(engine: Engine, image: impl Into<String>, access: HostAccess) -> Self {
        ContainerDispatcher {
            engine,
            image: image.into(),
            access,
            passed_env: Vec::new(),
            user: host_user(),
            running: Mutex::new(BTreeSet::new()),
        }
    }

    /// Also passes the host's variable `name` into the containers, when it is set (a pipeline
    /// that reads its configuration from the environment needs it to have the same
    /// fingerprint in the container).
    pub fn pass_env(mut self, name: impl Into<String>) -> Self {
        self.passed_env.push(name.into());
        self
    }

    /// Runs the containers as `user` (`uid:gid`), or as the image's user with `None`.
    pub fn user(mut self, user: Option<String>) -> Self {
        self.user = user;
        self
    }

    /// The pipeline's image.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The image `task` runs in: its node's, else the pipeline's.
    pub fn image_of<'a>(&'a self, task: &'a NodeTask) -> &'a str {
        task.options.image.as_deref().unwrap_or(&self.image)
    }

    /// The host variables passed into containers: those set among the standard ones and the
    /// ones asked for, sorted.
    fn passed_env_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .filter(|name| {
                PASSED_ENV_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                    || PASSED_ENV_NAMES.contains(&name.as_str())
            })
            .collect();
        names.extend(
            self.passed_env
                .iter()
                .filter(|name| std::env::var_os(name).is_some())
                .cloned(),
        );
        names.into_iter().collect()
    }

    /// The engine's arguments for `task`, after the program.
    pub fn run_arguments(&self, task: &NodeTask) -> Vec<String> {
        let mut arguments: Vec<String> = [
            "run",
            "--rm",
            "--pull",
            "never",
            "--name",
            &task.name(),
            "--network",
            "host",
            "--label",
            &format!("io.millrace.run-id={}", task.run_id),
            "--label",
            &format!("io.millrace.node={}", task.node),
        ]
        .iter()
        .map(|&argument| argument.to_owned())
        .collect();
        if let Some(user) = &self.user {
            arguments.extend(["--user".to_owned(), user.clone()]);
        }
        for name in ["MILLRACE_STORE", "MILLRACE_ROOT", "MILLRACE_PARAMS_JSON"]
            .into_iter()
            .map(str::to_owned)
            .chain(self.passed_env_names())
        {
            arguments.extend(["--env".to_owned(), name]);
        }
        arguments.extend(self.access.arguments());
        arguments.push(self.image_of(task).to_owned());
        arguments.extend(task.run_node_arguments());
        arguments
    }

    /// How a container that exited with `status` ended, in the scheduler's words.
    fn end_of(&self, task: &NodeTask, status: ExitStatus, stderr_log: &Path) -> TaskEnd {
        let stderr = std::fs::read_to_string(stderr_log).unwrap_or_default();
        let log = stderr_log.display();
        let image = self.image_of(task);
        let engine = self.engine.name();
        match status.code() {
            Some(code @ (0 | 1 | 99)) => TaskEnd::Exited(code),
            Some(125) if says_image_is_missing(&stderr) => TaskEnd::Killed(format!(
                "image {image} of node `{}` does not exist in {engine} (containers run with \
                 --pull never): build it with `image build --tag {image}`",
                task.node
            )),
            Some(code @ 125..=127) => TaskEnd::Killed(format!(
                "{engine} could not run the container (exit {code}): {} (log: {log})",
                last_line(&stderr)
            )),
            Some(code) if code > 128 => TaskEnd::Killed(format!(
                "the container was killed by signal {}{} (log: {log})",
                code - 128,
                if code == 137 {
                    " (SIGKILL: out of memory, or removed)"
                } else {
                    ""
                }
            )),
            Some(code) => TaskEnd::Killed(format!(
                "run-node exited with code {code}: {} (log: {log})",
                last_line(&stderr)
            )),
            None => TaskEnd::Killed(format!(
                "the {engine} client running the container was killed by a signal (log: {log})"
            )),
        }
    }

    /// Removes container `name` and waits for its engine client to exit (killing it when it
    /// does not).
    async fn stop(&self, name: &str, client: &mut tokio::process::Child) {
        // A container the engine was still creating when the timeout struck appears after the
        // first removal: remove again until the client ends.
        for _ in 0..3 {
            if let Err(error) = self.engine.remove_container(name).await {
                tracing::warn!(container = name, %error, "could not remove the container");
            }
            if tokio::time::timeout(CLIENT_GRACE, client.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = client.kill().await;
    }

    fn forget(&self, name: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(name);
        }
    }
}

#[async_trait]
impl NodeDispatcher for ContainerDispatcher {
    async fn dispatch(&self, task: &NodeTask) -> millrace_runner::Result<TaskEnd> {
        let io_error = |path: &Path, source| RunnerError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&task.log_dir).map_err(|source| io_error(&task.log_dir, source))?;
        self.access
            .create_mounted_dirs()
            .map_err(|error| RunnerError::TaskFailed {
                node: task.node.clone(),
                message: error.to_string(),
            })?;
        let stdout_log = task.log_dir.join("stdout.log");
        let stderr_log = task.log_dir.join("stderr.log");
        let stdout =
            std::fs::File::create(&stdout_log).map_err(|source| io_error(&stdout_log, source))?;
        let stderr =
            std::fs::File::create(&stderr_log).map_err(|source| io_error(&stderr_log, source))?;
        let parameters =
            serde_json::to_string(&task.parameters).unwrap_or_else(|_| "{}".to_owned());

        let name = task.name();
        let mut command = self.engine.command();
        command
            .args(self.run_arguments(task))
            .env("MILLRACE_STORE", self.access.store())
            .env("MILLRACE_ROOT", self.access.root())
            .env("MILLRACE_PARAMS_JSON", parameters)
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true);
        if let Ok(mut running) = self.running.lock() {
            running.insert(name.clone());
        }
        tracing::debug!(node = %task.node, container = %name, image = self.image_of(task), "starting");
        let mut client = match command.spawn() {
            Ok(client) => client,
            Err(source) => {
                self.forget(&name);
                return Err(io_error(self.engine.program(), source));
            }
        };
        let waited = match task.timeout() {
            Some(limit) => tokio::time::timeout(limit, client.wait()).await.ok(),
            None => Some(client.wait().await),
        };
        let end = match waited {
            Some(Ok(status)) => self.end_of(task, status, &stderr_log),
            Some(Err(source)) => {
                self.forget(&name);
                return Err(io_error(self.engine.program(), source));
            }
            None => {
                self.stop(&name, &mut client).await;
                TaskEnd::Killed(format!(
                    "timed out after {}",
                    seconds(task.timeout().unwrap_or_default())
                ))
            }
        };
        self.forget(&name);
        Ok(end)
    }

    async fn cancel_all(&self) -> millrace_runner::Result<()> {
        let names: Vec<String> = match self.running.lock() {
            Ok(mut running) => std::mem::take(&mut *running).into_iter().collect(),
            Err(_) => Vec::new(),
        };
        for name in names {
            if let Err(error) = self.engine.remove_container(&name).await {
                tracing::warn!(container = %name, %error, "could not remove the container");
            }
        }
        Ok(())
    }
}

/// `30 s`, `1.5 s`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// The last non-empty line of `text`, at most 400 characters.
fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("(no output)");
    line.chars().take(400).collect()
}

/// The user and group this process runs as, `uid:gid`, from `/proc/self/status` (none where
/// there is no `/proc`: containers then run as their image's user).
fn host_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let effective = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    Some(format!("{}:{}", effective("Uid:")?, effective("Gid:")?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations_are_said_in_seconds() {
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn the_host_user_is_read_from_proc() {
        let user = host_user().unwrap();
        let (uid, gid) = user.split_once(':').unwrap();
        assert!(
            uid.parse::<u32>().is_ok() && gid.parse::<u32>().is_ok(),
            "{user}"
        );
    }

    #[test]
    fn the_last_line_of_an_error_output_is_its_message() {
        assert_eq!(last_line("a\nError: the cause\n\n"), "Error: the cause");
        assert_eq!(last_line(""), "(no output)");
    }
}
