//! The error type of `millrace-runner`.

/// What can stop a run or a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The metadata store failed.
    #[error(transparent)]
    Metadata(#[from] millrace_metadata::MetadataError),
    /// The pipeline cannot be used as asked (unknown node, bad parameter).
    #[error(transparent)]
    Pipeline(#[from] millrace_core::Error),
    /// The run to resume or the node to run does not match this binary's pipeline.
    #[error("{0}")]
    Mismatch(String),
    /// A file of the pipeline root could not be written or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A node failed (after its retries).
    #[error("node `{node}` failed: {message}")]
    NodeFailed {
        /// The node.
        node: String,
        /// Why.
        message: String,
    },
}

impl RunnerError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        RunnerError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// A `Result` with a [`RunnerError`].
pub type Result<T, E = RunnerError> = std::result::Result<T, E>;
