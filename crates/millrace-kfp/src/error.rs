//! The error type of `millrace-kfp`.

/// What can go wrong compiling a pipeline to a KFP v2 `PipelineSpec` or a schedule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KfpError {
    /// Nodes have no image of their own and the options give no pipeline image.
    #[error(
        "nodes without an image: {}; give each an image (`.image(...)`) or a pipeline \
         image (`compile --target kfp --image IMAGE`, `KfpOptions::image`)",
        .0.join(", ")
    )]
    MissingImages(Vec<String>),
    /// A node option KFP cannot express.
    #[error("node `{node}`: {why}")]
    Unsupported {
        /// The node.
        node: String,
        /// What KFP cannot express, and what to do instead.
        why: String,
    },
    /// The pipeline cannot be expressed as a KFP DAG.
    #[error("{0}")]
    Pipeline(String),
    /// The schedule cannot be expressed as a recurring run.
    #[error("schedule: {0}")]
    Schedule(String),
    /// The store or root option holds a credential; the compiled YAML is not secret.
    #[error(
        "the {option} `{redacted}` holds a credential, and the compiled pipeline is not secret: \
         leave it out and give the tasks {variable} from the job's environment or a Kubernetes \
         Secret"
    )]
    SecretInOption {
        /// Which option (`metadata store`, `artifact root`).
        option: &'static str,
        /// The variable the tasks read instead (`MILLRACE_STORE`).
        variable: &'static str,
        /// Its value, the credential replaced by `***`.
        redacted: String,
    },
    /// The YAML writer failed.
    #[error("writing YAML: {0}")]
    Yaml(String),
}
