//! `runs mirror RUN_ID --mlflow URL` and `run --mlflow URL`: a run, mirrored into an existing
//! MLflow server.

use std::io::Write;

use millrace_core::Pipeline;
use millrace_runner::RunnerError;
use millrace_server::mirror::{MirrorReport, MirrorSource, MlflowClient, mirror_run};
use serde_json::json;

use crate::command::Location;
use crate::error::CliError;
use crate::render::Rendered;

/// Mirrors run `run_id` of the store at `location` into the MLflow server at `url`.
pub(crate) async fn mirror(
    pipeline: &Pipeline,
    run_id: &str,
    url: &str,
    location: &Location,
) -> Result<MirrorReport, CliError> {
    let client = MlflowClient::new(url)?;
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?;
    let storage = location.storage()?;
    let source = MirrorSource {
        store: &*store,
        storage: &storage,
        pipeline,
    };
    Ok(mirror_run(source, run_id, &client).await?)
}

/// `runs mirror`: mirrors and prints what it did.
pub(crate) async fn runs_mirror(
    pipeline: &Pipeline,
    run_id: &str,
    url: &str,
    location: &Location,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let report = mirror(pipeline, run_id, url, location).await?;
    rendered(run_id, &report).write(stdout, json)
}

/// What a mirror did, in a line or two.
pub(crate) fn rendered(run_id: &str, report: &MirrorReport) -> Rendered {
    let mut lines = Vec::new();
    if report.already_mirrored {
        lines.push(format!(
            "run {run_id} was mirrored before: nothing written; it is {}",
            report.run_url
        ));
    } else {
        lines.push(format!(
            "mirrored run {run_id} to {}: {} runs, {} parameters, {} metric points, {} files ({} bytes)",
            report.run_url,
            report.runs,
            report.params,
            report.metric_points,
            report.files,
            report.bytes
        ));
        for version in &report.versions {
            let aliases = if version.aliases.is_empty() {
                String::new()
            } else {
                format!(" @{}", version.aliases.join(" @"))
            };
            lines.push(format!(
                "  model {} version {} is version {} there{aliases}",
                version.name, version.local_version, version.remote_version
            ));
        }
    }
    Rendered {
        json: json!(report),
        lines,
    }
}
