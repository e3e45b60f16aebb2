//! The error type of `millrace-cli`.

use std::path::PathBuf;

/// What can make a command fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The pipeline is invalid or cannot be used as asked.
    #[error(transparent)]
    Pipeline(#[from] millrace_core::Error),
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The run could not be done (the store, the pipeline root, a mismatched run).
    #[error(transparent)]
    Runner(#[from] millrace_runner::RunnerError),
    /// `run --resume` was given parameters: a resumed run keeps the ones it started with.
    #[error("--param cannot change a resumed run: it keeps the parameters it started with")]
    ParametersOnResume,
    /// The run finished, and some node failed.
    #[error("the run failed")]
    RunFailed,
    /// `doctor` found problems that remain (not repaired, or not repairable).
    #[error(
        "{remaining} problem(s) remain: `doctor --repair` repairs what is safe to repair; the \
         rest needs a person (see each finding)"
    )]
    ProblemsRemain {
        /// How many.
        remaining: usize,
    },
    /// `run-node`: the node was skipped (its `when` condition is false); exit code 99, which
    /// orchestrators map to a skipped task.
    #[error("the node was skipped")]
    Skipped,
    /// `run-node` was given a fingerprint that is not this binary's pipeline's.
    #[error(
        "this binary's pipeline has fingerprint {actual}, the caller expected {expected}: the \
         deployed DAG or workflow and the binary are from different builds; recompile and redeploy"
    )]
    FingerprintMismatch {
        /// What the caller expected.
        expected: String,
        /// This binary's.
        actual: String,
    },
    /// The pipeline cannot be exported.
    #[cfg(feature = "airflow")]
    #[error(transparent)]
    Export(#[from] millrace_airflow::AirflowError),
    /// The pipeline cannot be compiled to Kubeflow Pipelines.
    #[cfg(feature = "kfp")]
    #[error(transparent)]
    Kfp(#[from] millrace_kfp::KfpError),
    /// The pipeline cannot be compiled to Argo Workflows.
    #[cfg(feature = "argo")]
    #[error(transparent)]
    Argo(#[from] millrace_argo::ArgoError),
    /// The command's options do not fit together.
    #[error("{0}")]
    Usage(String),
    /// The Kubernetes runner or its manifests failed.
    #[cfg(feature = "kubernetes")]
    #[error(transparent)]
    Kubernetes(#[from] millrace_kubernetes::KubernetesError),
    /// A compile target this binary was built without.
    #[error(
        "this binary was built without `compile --target {target}`: enable the `{feature}` feature of millrace"
    )]
    TargetNotBuilt {
        /// The target.
        target: &'static str,
        /// The feature that builds it in.
        feature: &'static str,
    },
    /// A command this binary was built without.
    #[error(
        "this binary was built without `{command}`: enable the `{feature}` feature of millrace"
    )]
    CommandNotBuilt {
        /// The command.
        command: &'static str,
        /// The feature that builds it in.
        feature: &'static str,
    },
    /// Building an image or running nodes in containers failed.
    #[cfg(feature = "containers")]
    #[error(transparent)]
    Containers(#[from] millrace_containers::ContainerError),
    /// `run-node --params-json` is not a JSON object.
    #[error("--params-json: {0}")]
    Parameters(String),
    /// Mirroring a run into an MLflow server failed.
    #[cfg(feature = "server")]
    #[error(transparent)]
    Mirror(#[from] millrace_server::ServerError),
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

impl CliError {
    /// The process exit code: 2 for an invalid pipeline or usage, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Pipeline(_) | CliError::ParametersOnResume => 2,
            CliError::Runner(error) if error.is_usage() => 2,
            CliError::Runner(_) | CliError::RunFailed | CliError::ProblemsRemain { .. } => 1,
            CliError::Skipped => 99,
            CliError::FingerprintMismatch { .. } => 2,
            #[cfg(feature = "airflow")]
            CliError::Export(_) => 2,
            #[cfg(feature = "kfp")]
            CliError::Kfp(error) => match error {
                millrace_kfp::KfpError::Yaml(_) => 1,
                _ => 2,
            },
            #[cfg(feature = "argo")]
            CliError::Argo(error) => match error {
                millrace_argo::ArgoError::Yaml { .. } => 1,
                _ => 2,
            },
            CliError::Parameters(_)
            | CliError::Usage(_)
            | CliError::TargetNotBuilt { .. }
            | CliError::CommandNotBuilt { .. } => 2,
            #[cfg(feature = "containers")]
            CliError::Containers(error) if error.is_usage() => 2,
            #[cfg(feature = "containers")]
            CliError::Containers(_) => 1,
            #[cfg(feature = "kubernetes")]
            CliError::Kubernetes(error) => match error {
                millrace_kubernetes::KubernetesError::NoImage { .. }
                | millrace_kubernetes::KubernetesError::Pipeline(_) => 2,
                _ => 1,
            },
            #[cfg(feature = "server")]
            CliError::Mirror(_) => 1,
            CliError::Write { .. } | CliError::Stdout(_) => 1,
        }
    }
}
