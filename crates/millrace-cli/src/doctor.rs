//! `doctor [--repair] [--json]`: the runner's [`doctor`](millrace_runner::doctor) on the store
//! and root of the command line, rendered; exit code 1 while problems remain.

use std::io::Write;

use millrace_runner::RunnerError;

use crate::command::Location;
use crate::error::CliError;
use crate::render;

pub(crate) async fn doctor(
    location: &Location,
    repair: bool,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?;
    let storage = location.storage()?;
    let report = millrace_runner::doctor(&*store, &storage, repair).await?;
    render::doctor(&report).write(stdout, json)?;
    match report.remaining() {
        0 => Ok(()),
        remaining => Err(CliError::ProblemsRemain { remaining }),
    }
}

#[cfg(test)]
mod tests {
    use std::process::ExitCode;

    use millrace_core::BuildError;
    use millrace_core::prelude::*;

    fn pipeline() -> Result<Pipeline, BuildError> {
        let mut p = Pipeline::builder("checked");
        p.import("schema", Importer::<Schema>::new("data/schema.json"));
        p.build()
    }

    async fn doctor(dir: &std::path::Path, extra: &[&str]) -> (ExitCode, String, String) {
        let store = format!("sqlite://{}", dir.join("metadata.sqlite").display());
        let root = dir.join("artifacts").display().to_string();
        let mut arguments = vec!["checked", "doctor", "--store", &store, "--root", &root];
        arguments.extend(extra);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = crate::run(arguments, pipeline, &mut stdout, &mut stderr).await;
        (
            code,
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    #[tokio::test]
    async fn doctor_exits_with_1_while_problems_remain_and_0_once_repaired() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("artifacts")).unwrap();
        let (code, stdout, _) = doctor(dir.path(), &[]).await;
        assert_eq!(code, ExitCode::SUCCESS, "{stdout}");
        assert!(stdout.contains("no problems found"), "{stdout}");

        let staging = dir.path().join("artifacts/checked/gen/out/.staging-77");
        std::fs::create_dir_all(&staging).unwrap();
        let (code, stdout, stderr) = doctor(dir.path(), &[]).await;
        assert_eq!(code, ExitCode::from(1), "{stdout}");
        assert!(stdout.contains("orphan_staging"), "{stdout}");
        assert!(
            stdout.contains("--repair would remove the directory"),
            "{stdout}"
        );
        assert!(stderr.contains("1 problem(s) remain"), "{stderr}");
        assert!(staging.exists());

        let (code, stdout, _) = doctor(dir.path(), &["--repair", "--json"]).await;
        assert_eq!(code, ExitCode::SUCCESS, "{stdout}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["findings"][0]["kind"], "orphan_staging");
        assert_eq!(report["findings"][0]["repaired"], true);
        assert!(!staging.exists());
    }
}
