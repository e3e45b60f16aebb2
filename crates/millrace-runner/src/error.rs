//! The error type of `millrace-runner`.

/// What can stop a run or a node, or a question about the history.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The metadata store failed.
    #[error(transparent)]
    Metadata(#[from] millrace_metadata::MetadataError),
    /// A write failed because the transaction it shared with other writes failed (see
    /// [`GroupCommit`](crate::group_commit::GroupCommit)).
    #[error("the transaction this write shared with others failed: {message}")]
    SharedCommit {
        /// Why the transaction failed.
        message: String,
    },
    /// The pipeline cannot be used as asked (unknown node, bad parameter).
    #[error(transparent)]
    Pipeline(#[from] millrace_core::Error),
    /// The artifact root failed (an unreachable bucket, missing credentials, a denied write).
    #[error(transparent)]
    Storage(#[from] millrace_storage::StorageError),
    /// A new run was given the id of a run that exists.
    #[error("a run called `{run_id}` exists already; resume it with --resume {run_id}")]
    RunExists {
        /// The run.
        run_id: String,
    },
    /// The run to resume or join was started by another build of the pipeline.
    #[error(
        "run `{run_id}` was started by a pipeline with fingerprint {recorded}, but this binary's pipeline `{pipeline}` has fingerprint {ours}: rebuild and redeploy so that both match"
    )]
    RunOfAnotherPipeline {
        /// The run.
        run_id: String,
        /// The fingerprint the run recorded.
        recorded: String,
        /// This binary's pipeline.
        pipeline: String,
        /// Its fingerprint.
        ours: String,
    },
    /// `rerun` of a run whose pipeline is not this binary's.
    #[error(
        "run `{run_id}` ran the pipeline with fingerprint {recorded}, but this binary's has {ours}: {}; build the commit the run came from (its tag mlflow.source.git.commit) to reproduce it",
        differences.join("; ")
    )]
    RerunOfChangedPipeline {
        /// The run.
        run_id: String,
        /// The fingerprint the run recorded.
        recorded: String,
        /// This binary's.
        ours: String,
        /// What differs, node by node.
        differences: Vec<String>,
    },
    /// No run has this id.
    #[error("there is no run `{run_id}` in {store}")]
    UnknownRun {
        /// The run asked for.
        run_id: String,
        /// The store looked in.
        store: String,
    },
    /// No artifact has this id.
    #[error("there is no artifact {artifact_id} in {store}")]
    UnknownArtifact {
        /// The artifact asked for.
        artifact_id: i64,
        /// The store looked in.
        store: String,
    },
    /// A type that the run's record does not know: the pipeline changed under a running run.
    #[error("{kind} type `{name}` is not used by pipeline `{pipeline}`")]
    UnknownType {
        /// `artifact` or `execution`.
        kind: &'static str,
        /// The type's name.
        name: String,
        /// The pipeline.
        pipeline: String,
    },
    /// A node that cannot be executed as its spec says (a spec that skipped validation).
    #[error("node `{node}` cannot run: {reason}")]
    InvalidNode {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// The task running a node stopped abnormally (it panicked).
    #[error("the task running node `{node}` stopped abnormally: {message}")]
    TaskFailed {
        /// The node, when known.
        node: String,
        /// What the runtime said.
        message: String,
    },
    /// A file of the pipeline root could not be written or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl RunnerError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        RunnerError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Whether the error is about how the runner was asked (a run or artifact that does not
    /// exist, a run of another build, an invalid pipeline, node or search filter) rather than
    /// about running: command lines exit with 2 for these.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RunnerError::Pipeline(_)
                | RunnerError::RunExists { .. }
                | RunnerError::RunOfAnotherPipeline { .. }
                | RunnerError::UnknownRun { .. }
                | RunnerError::UnknownArtifact { .. }
                | RunnerError::UnknownType { .. }
                | RunnerError::InvalidNode { .. }
                | RunnerError::Storage(millrace_storage::StorageError::InvalidUri { .. })
                | RunnerError::Metadata(
                    millrace_metadata::MetadataError::InvalidFilter { .. }
                        | millrace_metadata::MetadataError::InvalidOrderBy { .. }
                )
        )
    }
}

/// A `Result` with a [`RunnerError`].
pub type Result<T, E = RunnerError> = std::result::Result<T, E>;
