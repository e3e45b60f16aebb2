//! Where a run's files go under the pipeline root.
//!
//! An output artifact lives at `<root>/<pipeline>/<node>/<output>/<execution-id>/`. It is written
//! into a sibling staging directory first and moved into place only once the executor has
//! succeeded, so a directory at an artifact's URI is always complete. Logs of an execution go to
//! `<root>/<pipeline>/<node>/.logs/<execution-id>/`.

use std::path::{Path, PathBuf};

use crate::error::{Result, RunnerError};

/// The pipeline root and the paths in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
    pipeline: String,
}

impl Layout {
    /// The layout of `pipeline` under `root`.
    pub fn new(root: impl Into<PathBuf>, pipeline: &str) -> Self {
        Layout {
            root: root.into(),
            pipeline: pipeline.to_owned(),
        }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The final directory of an output.
    pub fn output(&self, node: &str, output: &str, execution_id: i64) -> PathBuf {
        self.root
            .join(&self.pipeline)
            .join(node)
            .join(output)
            .join(execution_id.to_string())
    }

    /// The final directory of an output with the execution id left as the metadata store's
    /// placeholder, for recording it in the same transaction as its new execution.
    pub fn output_template(&self, node: &str, output: &str) -> PathBuf {
        self.root
            .join(&self.pipeline)
            .join(node)
            .join(output)
            .join(millrace_metadata::EXECUTION_ID_PLACEHOLDER)
    }

    /// Where an output is written before it is published.
    pub fn staging(&self, node: &str, output: &str, execution_id: i64) -> PathBuf {
        self.root
            .join(&self.pipeline)
            .join(node)
            .join(output)
            .join(format!(".staging-{execution_id}"))
    }

    /// The log directory of an execution.
    pub fn logs(&self, node: &str, execution_id: i64) -> PathBuf {
        self.root
            .join(&self.pipeline)
            .join(node)
            .join(".logs")
            .join(execution_id.to_string())
    }
}

impl Layout {
    /// Where a dispatcher keeps what it captured of a node's tasks in a run (a container's
    /// output, a pod's log): `<root>/<pipeline>/<node>/.logs/run-<run-id>/`.
    pub fn task_logs(&self, node: &str, run_id: &str) -> PathBuf {
        self.root
            .join(&self.pipeline)
            .join(node)
            .join(".logs")
            .join(format!("run-{run_id}"))
    }
}

/// Creates a directory and its parents.
pub(crate) fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|error| RunnerError::io(path, error))
}

/// Removes a directory if it exists.
pub(crate) fn remove_dir(path: &Path) {
    if path.exists() {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// Moves a finished staging directory to its final place (a rename: atomic on one file
/// system).
pub(crate) fn publish(staging: &Path, target: &Path) -> Result<()> {
    remove_dir(target);
    std::fs::rename(staging, target).map_err(|error| RunnerError::io(target, error))
}

/// The local path of an artifact URI (`file://` or a plain path).
pub fn local_path(uri: &str) -> &Path {
    Path::new(uri.strip_prefix("file://").unwrap_or(uri))
}
