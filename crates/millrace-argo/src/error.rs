//! The error type of `millrace-argo`.

/// What can go wrong exporting a pipeline to Argo Workflows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgoError {
    /// Nodes without an image, and no pipeline image to fall back on.
    #[error(
        "no image for node(s) {}: set the node's image (`.image(...)`) or give a pipeline image \
         (`compile --target argo --image IMAGE`, `ArgoOptions::image`)",
        .nodes.join(", ")
    )]
    NoImage {
        /// Every node without one.
        nodes: Vec<String>,
    },
    /// A CronWorkflow was asked for a pipeline without a schedule.
    #[error("pipeline `{0}` has no schedule: a CronWorkflow needs one (PipelineBuilder::schedule)")]
    NoSchedule(String),
    /// The pipeline cannot be expressed as an Argo DAG.
    #[error("{0}")]
    Pipeline(String),
    /// The manifest could not be written as YAML.
    #[error("writing the {kind} `{name}` as YAML: {message}")]
    Yaml {
        /// The manifest's kind.
        kind: String,
        /// Its name.
        name: String,
        /// What the writer said.
        message: String,
    },
}
