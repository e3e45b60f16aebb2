//! `compile --target argo`: an Argo Workflows `Workflow`, `WorkflowTemplate` or `CronWorkflow`
//! whose DAG tasks run this binary's `run-node` (feature `argo`; see `millrace-argo`).

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;
use millrace_core::Pipeline;

use crate::error::CliError;

/// Which Argo manifest `compile --target argo` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ArgoKind {
    /// A `Workflow`: one run, `argo submit FILE`.
    #[default]
    Workflow,
    /// A `WorkflowTemplate`: `argo submit --from workflowtemplate/NAME` runs it.
    WorkflowTemplate,
    /// A `CronWorkflow` from the pipeline's schedule.
    CronWorkflow,
}

#[cfg(feature = "argo")]
impl ArgoKind {
    /// The file name's suffix for this kind.
    fn suffix(self) -> &'static str {
        match self {
            ArgoKind::Workflow => "argo-workflow",
            ArgoKind::WorkflowTemplate => "argo-workflow-template",
            ArgoKind::CronWorkflow => "argo-cron-workflow",
        }
    }
}

/// `compile --target argo`'s own options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ArgoCompileArgs {
    /// Argo: the manifest's kind.
    #[arg(long, value_enum, default_value_t = ArgoKind::Workflow)]
    pub kind: ArgoKind,
    /// Argo: the service account of the workflow's pods (default: Argo's).
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// Argo, `--kind cron-workflow`: the IANA timezone of the schedule (default: the
    /// schedule's own, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
}

/// What `compile --target argo` needs besides its own options.
pub(crate) struct ArgoTarget<'a> {
    /// The binary inside the images.
    pub binary: String,
    /// The image of nodes without their own.
    pub image: Option<&'a str>,
    /// The namespace of the manifest.
    pub namespace: Option<&'a str>,
    /// The Secret with MILLRACE_STORE and MILLRACE_ROOT.
    pub secret: Option<&'a str>,
    /// Where to write.
    pub out: Option<&'a Path>,
}

/// Writes the manifest as YAML.
#[cfg(feature = "argo")]
pub(crate) fn compile(
    pipeline: &Pipeline,
    args: &ArgoCompileArgs,
    target: &ArgoTarget<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    use millrace_argo::{ArgoOptions, ManifestKind};

    let mut options = ArgoOptions::new(target.binary.clone());
    options.image = target.image.map(str::to_owned);
    options.namespace = target.namespace.map(str::to_owned);
    options.service_account = args.service_account.clone();
    if let Some(secret) = target.secret {
        options.secret = secret.to_owned();
    }
    if let Some(timezone) = &args.timezone {
        options.timezone = Some(timezone.clone());
    }
    options.kind = match args.kind {
        ArgoKind::Workflow => ManifestKind::Workflow,
        ArgoKind::WorkflowTemplate => ManifestKind::WorkflowTemplate,
        ArgoKind::CronWorkflow => ManifestKind::CronWorkflow,
    };
    let manifest = millrace_argo::compile(pipeline, &options)?;
    let yaml = format!(
        "# The Argo Workflows manifest of the Millrace pipeline `{}` (fingerprint {}), written by\n\
         # `compile --target argo`; recompile instead of editing.\n{}",
        pipeline.name(),
        pipeline.fingerprint(),
        manifest.to_yaml()?
    );
    let file_name = format!("{}.{}.yaml", pipeline.name(), args.kind.suffix());
    crate::command::emit(&yaml, target.out, &file_name, stdout)?;
    if let Some(out) = target.out {
        let _ = writeln!(
            stderr,
            "wrote the Argo {} of `{}` to {} (fingerprint {})",
            manifest.value["kind"].as_str().unwrap_or("manifest"),
            pipeline.name(),
            crate::command::output_path(out, &file_name).display(),
            pipeline.fingerprint()
        );
    }
    Ok(())
}

/// Without the `argo` feature, the target is known but not built in.
#[cfg(not(feature = "argo"))]
pub(crate) fn compile(
    _pipeline: &Pipeline,
    _args: &ArgoCompileArgs,
    _target: &ArgoTarget<'_>,
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::TargetNotBuilt {
        target: "argo",
        feature: "argo",
    })
}
