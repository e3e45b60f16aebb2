//! `compile --target kfp`: a Kubeflow Pipelines v2 `PipelineSpec` whose tasks run this binary's
//! `run-node` (feature `kfp`; see `millrace-kfp`), or the pipeline's schedule as a KFP
//! recurring run or a Vertex AI schedule.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;
use millrace_core::Pipeline;

use crate::error::CliError;

/// What `compile --target kfp --schedule` writes instead of the `PipelineSpec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KfpSchedule {
    /// A KFP `RecurringRun` (the body of `POST /apis/v2beta1/recurringruns`), the compiled
    /// pipeline inline.
    Kfp,
    /// The body of Vertex AI's `projects.locations.schedules.create`, running the compiled
    /// pipeline stored at `--template-uri` under `--vertex-parent`.
    Vertex,
}

/// `compile --target kfp`'s own options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KfpCompileArgs {
    /// KFP: the Vertex AI accelerator type of nodes that ask for GPUs (such as
    /// `NVIDIA_TESLA_T4`; default: `nvidia.com/gpu`, what KFP on Kubernetes expects).
    #[arg(long, value_name = "TYPE")]
    pub accelerator_type: Option<String>,
    /// KFP: write the pipeline's schedule instead (`kfp`: a recurring run; `vertex`: a Vertex
    /// AI schedule, which needs --vertex-parent and --template-uri).
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub schedule: Option<KfpSchedule>,
    /// KFP, `--schedule vertex`: where the schedule lives, `projects/P/locations/L`.
    #[arg(long, value_name = "PARENT")]
    pub vertex_parent: Option<String>,
    /// KFP, `--schedule vertex`: where the compiled pipeline is stored (a `gs://` path or an
    /// Artifact Registry URL).
    #[arg(long, value_name = "URI")]
    pub template_uri: Option<String>,
}

/// What `compile --target kfp` needs besides its own options.
pub(crate) struct KfpTarget<'a> {
    /// The binary inside the images.
    pub binary: String,
    /// The image of nodes without their own.
    pub image: Option<&'a str>,
    /// The store URL written into the spec (never credentials).
    pub store: Option<&'a str>,
    /// The artifact root, also the pipeline root.
    pub root: Option<&'a str>,
    /// Where to write.
    pub out: Option<&'a Path>,
}

/// Writes the `PipelineSpec` YAML, or the schedule's JSON.
#[cfg(feature = "kfp")]
pub(crate) fn compile(
    pipeline: &Pipeline,
    args: &KfpCompileArgs,
    target: &KfpTarget<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    let mut options = millrace_kfp::KfpOptions::new(target.binary.clone());
    options.image = target.image.map(str::to_owned);
    options.store = target.store.map(str::to_owned);
    options.root = target.root.map(str::to_owned);
    options.accelerator_type = args.accelerator_type.clone();
    let compiled = millrace_kfp::compile_pipeline_spec(pipeline, &options)?;
    let (text, file_name, what) = match args.schedule {
        None => (
            compiled.to_yaml()?,
            format!("{}.kfp.yaml", pipeline.name()),
            "the Kubeflow Pipelines v2 PipelineSpec",
        ),
        Some(KfpSchedule::Kfp) => (
            schedule_json(
                millrace_kfp::kfp_recurring_run(pipeline, &compiled)?,
                pipeline,
            )?,
            format!("{}.kfp-recurring-run.json", pipeline.name()),
            "the KFP recurring run",
        ),
        Some(KfpSchedule::Vertex) => {
            let (Some(parent), Some(template_uri)) = (&args.vertex_parent, &args.template_uri)
            else {
                return Err(CliError::Usage(
                    "--schedule vertex needs --vertex-parent projects/P/locations/L and \
                     --template-uri (where the compiled pipeline is stored)"
                        .to_owned(),
                ));
            };
            let body = millrace_kfp::vertex_schedule(pipeline, &compiled, parent, template_uri)?;
            (
                schedule_json(body, pipeline)?,
                format!("{}.vertex-schedule.json", pipeline.name()),
                "the Vertex AI schedule",
            )
        }
    };
    crate::command::emit(&text, target.out, &file_name, stdout)?;
    if let Some(out) = target.out {
        let _ = writeln!(
            stderr,
            "wrote {what} of `{}` to {} (fingerprint {})",
            pipeline.name(),
            crate::command::output_path(out, &file_name).display(),
            pipeline.fingerprint()
        );
    }
    Ok(())
}

/// A schedule body as pretty JSON, or the error of a pipeline without a schedule.
#[cfg(feature = "kfp")]
fn schedule_json(body: Option<serde_json::Value>, pipeline: &Pipeline) -> Result<String, CliError> {
    let body = body.ok_or_else(|| {
        CliError::Usage(format!(
            "pipeline `{}` has no schedule: give it one with `PipelineBuilder::schedule`",
            pipeline.name()
        ))
    })?;
    Ok(format!("{body:#}\n"))
}

/// Without the `kfp` feature, the target is known but not built in.
#[cfg(not(feature = "kfp"))]
pub(crate) fn compile(
    _pipeline: &Pipeline,
    _args: &KfpCompileArgs,
    _target: &KfpTarget<'_>,
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::TargetNotBuilt {
        target: "kfp",
        feature: "kfp",
    })
}
