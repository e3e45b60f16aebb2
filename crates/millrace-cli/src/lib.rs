//! # millrace-cli
//!
//! The command line that every Millrace pipeline binary gets from one call:
//!
//! ```no_run
//! use millrace_core::prelude::*;
//!
//! fn pipeline() -> Result<Pipeline, millrace_core::BuildError> {
//!     Pipeline::builder("hello").build()
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     millrace_cli::main(pipeline).await
//! }
//! ```
//!
//! | command | does |
//! |---|---|
//! | `compile --target ir [--out PATH]` | writes the pipeline IR (JSON) |
//! | `compile --target airflow [--out DIR] [--binary PATH] [--store URL] [--root DIR]` | writes an Airflow 3 DAG file whose tasks run this binary's `run-node` |
//! | `graph [--format dot\|mermaid] [--out PATH]` | draws the pipeline |
//! | `validate` | checks the pipeline and prints its fingerprint |
//! | `registry [--json]` | lists the component kinds and artifact types the binary knows |
//! | `run [--param K=V]... [--resume RUN_ID] [--parallelism N] [--keep-going] [--json]` | runs the pipeline locally |
//! | `run-node --run-id ID --node NODE [--params-json JSON] [--fingerprint HEX]` | executes one node of a run, one attempt (what remote engines call; they retry) |
//! | `runs list`, `runs show ID` | run history with per-node state and timing |
//! | `artifacts list [--type T]`, `lineage ARTIFACT_ID` | inspect metadata and lineage |
//! | `cache explain NODE [--run-id ID]` | why a node was or was not cached |
//!
//! Exit codes: 0 success, 1 the pipeline or a node failed, 2 invalid usage or an invalid
//! pipeline (every problem is listed, with node ids) or, for `run-node`, a fingerprint that is
//! not this binary's pipeline's; 99 from `run-node` when the node was skipped (its `when`
//! condition is false), which Airflow maps to a skipped task. `--store` / `MILLRACE_STORE` (default
//! `sqlite://.millrace/metadata.sqlite`) and `--root` / `MILLRACE_ROOT` (default
//! `.millrace/artifacts`) say where metadata and artifacts go.

mod command;
mod error;
mod inspect;
mod run;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use millrace_core::{BuildError, Pipeline};

pub use command::{
    ArtifactsCommand, CacheCommand, Cli, Command, GraphFormat, LineageDirection, Location,
    RunsCommand, Target,
};
pub use error::CliError;

/// Runs the command line of a pipeline binary with the process's arguments.
///
/// `pipeline` builds the pipeline; it is called once, after the arguments are parsed.
pub async fn main<F>(pipeline: F) -> ExitCode
where
    F: FnOnce() -> Result<Pipeline, BuildError>,
{
    init_logging();
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    run(std::env::args_os(), pipeline, &mut stdout, &mut stderr).await
}

fn init_logging() {
    use std::io::IsTerminal;
    // On a terminal the progress line says what runs; elsewhere (CI, a scheduler's log) the
    // runner's start and end of every node are logged.
    let default = if std::io::stderr().is_terminal() {
        "warn"
    } else {
        "warn,millrace_runner=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MILLRACE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the command line on explicit arguments and output streams (what tests call).
pub async fn run<I, T, F>(
    arguments: I,
    pipeline: F,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: FnOnce() -> Result<Pipeline, BuildError>,
{
    use clap::Parser;

    let cli = match Cli::try_parse_from(arguments) {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to standard output with success; usage errors to standard
            // error with exit code 2.
            return if error.use_stderr() {
                let _ = write!(stderr, "{}", error.render());
                ExitCode::from(2)
            } else {
                let _ = write!(stdout, "{}", error.render());
                ExitCode::SUCCESS
            };
        }
    };
    match command::execute(&cli.command, pipeline, stdout, stderr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
