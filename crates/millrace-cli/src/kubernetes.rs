//! `run --on kubernetes` and `compile --target kubernetes`: every component node's attempt as
//! a Kubernetes Job (feature `kubernetes`; see `millrace-kubernetes`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use clap::ValueEnum;
use millrace_core::Pipeline;
use millrace_runner::NodeDispatcher;

use crate::error::CliError;

/// Where `run --on` executes the component nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOn {
    /// A Kubernetes Job per attempt, in the namespace of the current kubeconfig context (or
    /// the pod's, in a cluster).
    Kubernetes,
}

/// `run`'s options for running the nodes on Kubernetes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KubernetesRunArgs {
    /// Run each component node's attempts elsewhere (`kubernetes`: a Job each); scheduling,
    /// retries and the summary stay in this process.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub on: Option<RunOn>,
    /// With --on kubernetes: the namespace of the Jobs (default: the kubeconfig context's).
    #[arg(long, requires = "on")]
    pub namespace: Option<String>,
    /// With --on kubernetes: the Secret whose keys MILLRACE_STORE and MILLRACE_ROOT the
    /// tasks get (default: `millrace`).
    #[arg(long, requires = "on")]
    pub secret: Option<String>,
}

/// `compile --target kubernetes`'s own options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KubernetesCompileArgs {
    /// Kubernetes: the run id the Jobs are written for (default: `example-run`).
    #[arg(long)]
    pub run_id: Option<String>,
}

/// What `compile --target kubernetes` needs besides its own options (read only when the
/// target is built in).
#[cfg_attr(not(feature = "kubernetes"), allow(dead_code))]
pub(crate) struct KubernetesTarget<'a> {
    /// The binary in the image; `None`: the image's entrypoint.
    pub binary: Option<&'a str>,
    /// The image of nodes without their own.
    pub image: Option<&'a str>,
    /// The namespace (default `default`).
    pub namespace: Option<&'a str>,
    /// The Secret with MILLRACE_STORE and MILLRACE_ROOT.
    pub secret: Option<&'a str>,
    /// Where to write.
    pub out: Option<&'a Path>,
}

/// The dispatcher `run` hands the nodes to, if it was asked for one.
#[cfg(feature = "kubernetes")]
pub(crate) async fn dispatcher(
    args: &KubernetesRunArgs,
    image: Option<&str>,
) -> Result<Option<Arc<dyn NodeDispatcher>>, CliError> {
    use millrace_kubernetes::{JobDispatcher, KubernetesConfig};

    let Some(RunOn::Kubernetes) = args.on else {
        return Ok(None);
    };
    // An empty namespace is the kubeconfig context's (or the pod's).
    let mut config = KubernetesConfig::new(args.namespace.clone().unwrap_or_default());
    config.image = image.map(str::to_owned);
    if let Some(secret) = &args.secret {
        config.secret = secret.clone();
    }
    Ok(Some(Arc::new(
        JobDispatcher::from_environment(config).await?,
    )))
}

/// Without the `kubernetes` feature, `--on kubernetes` is known but not built in.
#[cfg(not(feature = "kubernetes"))]
pub(crate) async fn dispatcher(
    args: &KubernetesRunArgs,
    _image: Option<&str>,
) -> Result<Option<Arc<dyn NodeDispatcher>>, CliError> {
    match args.on {
        None => Ok(None),
        Some(RunOn::Kubernetes) => Err(CliError::TargetNotBuilt {
            target: "kubernetes",
            feature: "kubernetes",
        }),
    }
}

/// Writes the manifests of a run: the runner's RBAC, the run's parent and every node's Job.
#[cfg(feature = "kubernetes")]
pub(crate) fn compile(
    pipeline: &Pipeline,
    args: &KubernetesCompileArgs,
    target: &KubernetesTarget<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    use millrace_kubernetes::{KubernetesConfig, PLACEHOLDER_RUN_ID};

    let mut config = KubernetesConfig::new(target.namespace.unwrap_or("default"));
    config.image = target.image.map(str::to_owned);
    config.binary = target.binary.map(str::to_owned);
    if let Some(secret) = target.secret {
        config.secret = secret.to_owned();
    }
    let out = target.out;
    let run_id = args.run_id.as_deref().unwrap_or(PLACEHOLDER_RUN_ID);
    let manifests = millrace_kubernetes::compile(pipeline, &config, run_id)?;
    let yaml = format!(
        "# The Kubernetes objects of run `{run_id}` of pipeline `{}` (fingerprint {}), written by\n\
         # `compile --target kubernetes`: the runner's RBAC, the run's parent and every node's Job.\n{}",
        pipeline.name(),
        pipeline.fingerprint(),
        manifests.to_yaml()?
    );
    let file_name = format!("{}.kubernetes.yaml", pipeline.name());
    crate::command::emit(&yaml, out, &file_name, stdout)?;
    if let Some(out) = out {
        let _ = writeln!(
            stderr,
            "wrote the Kubernetes manifests of `{}` to {} (fingerprint {})",
            pipeline.name(),
            crate::command::output_path(out, &file_name).display(),
            pipeline.fingerprint()
        );
    }
    Ok(())
}

/// Without the `kubernetes` feature, the target is known but not built in.
#[cfg(not(feature = "kubernetes"))]
pub(crate) fn compile(
    _pipeline: &Pipeline,
    _args: &KubernetesCompileArgs,
    _target: &KubernetesTarget<'_>,
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::TargetNotBuilt {
        target: "kubernetes",
        feature: "kubernetes",
    })
}
