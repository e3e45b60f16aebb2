//! Where a run's files go under the pipeline root.
//!
//! An output artifact lives at `<root>/<pipeline>/<node>/<output>/<execution-id>/` — a local
//! directory, or a prefix in a bucket (`s3://bucket/prefix/<pipeline>/…`). It is written into
//! a local staging directory first and published only once the executor has succeeded: renamed
//! into place on a local root, uploaded with its manifest last on an object store (see
//! `millrace_storage`), so what is at an artifact's URI is always complete. Staging and logs
//! are local: under the root itself when it is local, under the storage's working directory
//! otherwise. Logs of an execution go to `<local>/<pipeline>/<node>/.logs/<execution-id>/`.
//!
//! No path the layout makes can leave the root (or the working directory), whatever it is
//! given: each part — the pipeline's name, a node or shard task id, an output name — is joined
//! as exactly one segment (`millrace_storage::location::path_segment` spells `..`, `/`, an
//! empty part or NUL so that it stays one). Validated pipelines never have such parts
//! (`InvalidPipelineName`, `InvalidNodeId`, `InvalidOutputName`); [`Layout::check`] refuses
//! them for a caller that can fail instead.

use std::path::{Path, PathBuf};

use millrace_storage::ArtifactStorage;

use crate::error::{Result, RunnerError};

/// How the name of an output's staging directory starts (`.staging-<execution-id>`).
const STAGING_PREFIX: &str = ".staging-";

/// The pipeline root and the paths in it.
#[derive(Debug, Clone)]
pub struct Layout {
    storage: ArtifactStorage,
    pipeline: String,
}

impl Layout {
    /// The layout of `pipeline` in `storage`.
    pub fn new(storage: &ArtifactStorage, pipeline: &str) -> Self {
        Layout {
            storage: storage.clone(),
            pipeline: pipeline.to_owned(),
        }
    }

    /// The storage.
    pub fn storage(&self) -> &ArtifactStorage {
        &self.storage
    }

    /// Refuses a task id or output name that is not one path segment of the layout — empty,
    /// `.`, `..`, or holding `/`, `\` or a control character such as NUL — and a pipeline name
    /// that is not one. Paths are safe without this check (see the module's guide); it says
    /// what is wrong instead of spelling the part another way.
    pub fn check(&self, task: &str, output: &str) -> Result<()> {
        for (what, part) in [
            ("the pipeline's name", self.pipeline.as_str()),
            ("the node id", task),
            ("the output name", output),
        ] {
            if millrace_storage::location::path_segment(part) != part || part.starts_with('.') {
                return Err(RunnerError::InvalidNode {
                    node: task.to_owned(),
                    reason: format!(
                        "{what} `{}` is not one segment of an artifact's path",
                        part.escape_debug()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The URI of an output (what the metadata store records).
    pub fn output(&self, node: &str, output: &str, execution_id: i64) -> String {
        self.storage.uri([
            self.pipeline.as_str(),
            node,
            output,
            &execution_id.to_string(),
        ])
    }

    /// The URI of an output with the execution id left as the metadata store's placeholder,
    /// for recording it in the same transaction as its new execution.
    pub fn output_template(&self, node: &str, output: &str) -> String {
        self.storage.uri([
            self.pipeline.as_str(),
            node,
            output,
            millrace_metadata::EXECUTION_ID_PLACEHOLDER,
        ])
    }

    /// The local directory an output is written to before it is published.
    pub fn staging(&self, node: &str, output: &str, execution_id: i64) -> PathBuf {
        self.storage.local_dir([
            self.pipeline.as_str(),
            node,
            output,
            &format!("{STAGING_PREFIX}{execution_id}"),
        ])
    }

    /// The execution whose staging directory is called `name` (`.staging-12` → 12).
    pub fn staging_execution_id(name: &str) -> Option<i64> {
        name.strip_prefix(STAGING_PREFIX)?.parse().ok()
    }

    /// The local log directory of an execution.
    pub fn logs(&self, node: &str, execution_id: i64) -> PathBuf {
        self.storage.local_dir([
            self.pipeline.as_str(),
            node,
            ".logs",
            &execution_id.to_string(),
        ])
    }

    /// Where a dispatcher keeps what it captured of a node's tasks in a run (a container's
    /// output, a pod's log): `<local>/<pipeline>/<node>/.logs/run-<run-id>/`.
    pub fn task_logs(&self, node: &str, run_id: &str) -> PathBuf {
        self.storage.local_dir([
            self.pipeline.as_str(),
            node,
            ".logs",
            &format!("run-{run_id}"),
        ])
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

/// The local path of an artifact URI (`file://` or a plain path).
pub fn local_path(uri: &str) -> &Path {
    Path::new(uri.strip_prefix("file://").unwrap_or(uri))
}
