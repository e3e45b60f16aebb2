//! The error type of `millrace-kubernetes`.

/// What can go wrong when running on Kubernetes or writing its manifests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubernetesError {
    /// The Kubernetes API refused or failed a request (after the retries of transient
    /// failures).
    #[error("Kubernetes API: {action}: {source}")]
    Api {
        /// What was asked: `create Job millrace-r1-train-0 in namespace ml`.
        action: String,
        /// What the client said.
        #[source]
        source: Box<kube::Error>,
    },
    /// A Job of the task's name exists but belongs to another task (its labels differ).
    #[error(
        "Job `{job}` in namespace `{namespace}` exists but is not node `{node}`'s attempt {attempt} of run `{run_id}` (its labels differ); delete it or choose another run id"
    )]
    ForeignJob {
        /// The Job.
        job: String,
        /// Its namespace.
        namespace: String,
        /// The run.
        run_id: String,
        /// The node.
        node: String,
        /// The attempt.
        attempt: u32,
    },
    /// No client could be made from the environment (no kubeconfig, not in a cluster).
    #[error("no Kubernetes client: {0} (set KUBECONFIG, or run inside a cluster)")]
    NoClient(#[source] Box<kube::Error>),
    /// An API server URL that is not one.
    #[error("`{url}` is not a URL of a Kubernetes API server")]
    InvalidUrl {
        /// What was given.
        url: String,
    },
    /// Following a task's objects stopped without an error (an internal fault).
    #[error("following {what} stopped unexpectedly")]
    WatchEnded {
        /// What was followed.
        what: String,
    },
    /// A node has no image: neither its own nor the pipeline's.
    #[error(
        "node `{node}` has no image: give the pipeline one (`--image`, `KubernetesConfig::image`) or the node `.image(..)`"
    )]
    NoImage {
        /// The node.
        node: String,
    },
    /// A manifest could not be written as YAML.
    #[error("cannot write {kind} `{name}` as YAML: {message}")]
    Yaml {
        /// The object's kind.
        kind: String,
        /// Its name.
        name: String,
        /// What the serializer said.
        message: String,
    },
    /// The pipeline cannot be compiled as asked.
    #[error(transparent)]
    Pipeline(#[from] millrace_core::Error),
    /// The task's log file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl KubernetesError {
    pub(crate) fn api(action: impl Into<String>, source: kube::Error) -> Self {
        KubernetesError::Api {
            action: action.into(),
            source: Box::new(source),
        }
    }

    /// The HTTP status of an API error, if it is one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            KubernetesError::Api { source, .. } => match &**source {
                kube::Error::Api(status) => Some(status.code),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A `Result` with a [`KubernetesError`].
pub type Result<T, E = KubernetesError> = std::result::Result<T, E>;
