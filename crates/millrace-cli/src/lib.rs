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
//! | `compile --target kubernetes [--run-id ID] [--namespace N] [--image IMAGE] [--secret S] [--binary PATH] [--out FILE]` | writes the Kubernetes manifests of a run: the runner's RBAC, the run's parent ConfigMap, every node's Job (YAML) |
//! | `compile --target kfp [--image IMAGE] [--binary PATH] [--store URL] [--root URL] [--accelerator-type T] [--out FILE]` | writes a Kubeflow Pipelines v2 `PipelineSpec` (YAML) for KFP 2.x and Vertex AI Pipelines (feature `kfp`) |
//! | `compile --target kfp --schedule kfp\|vertex [--vertex-parent P --template-uri URI]` | writes the pipeline's schedule as a KFP recurring run or a Vertex AI schedule (JSON) |
//! | `compile --target argo [--kind workflow\|workflow-template\|cron-workflow] [--image IMAGE] [--namespace N] [--secret S] [--service-account A] [--timezone Z] [--out FILE]` | writes an Argo Workflows manifest (feature `argo`) |
//! | `graph [--format dot\|mermaid] [--out PATH]` | draws the pipeline |
//! | `validate` | checks the pipeline and prints its fingerprint |
//! | `registry [--json]` | lists the component kinds and artifact types the binary knows |
//! | `run [--param K=V]... [--resume RUN_ID] [--parallelism N] [--keep-going] [--json]` | runs the pipeline locally |
//! | `run --containers [--image IMAGE] [--container-env NAME]... [--mount DIR]...` | runs it with each component node in a container of the pipeline's image (podman or docker; feature `containers`) |
//! | `image [--base IMAGE] [--out PATH]` | writes the Containerfile of the pipeline's image (this binary, Python when nodes need it, a non-root user) |
//! | `image build [--tag TAG] [--base IMAGE] [--json]` | builds that image (default tag `localhost/<pipeline>:<fingerprint prefix>`) |
//! | `run --on kubernetes [--namespace N] [--image IMAGE] [--secret S] ...` | schedules here, runs each component node's attempt as a Kubernetes Job |
//! | `run-node --run-id ID --node NODE [--shard I] [--params-json JSON] [--fingerprint HEX]` | executes one node of a run, one attempt (what remote engines call; they retry); `--shard I` one shard of a sharded node, without it the node merges its shards |
//! | `runs list [--limit N] [--before POSITION]`, `runs show ID` | run history (newest first, a page at a time) with per-node state, attempts and timing |
//! | `artifacts list [--type T]`, `lineage ARTIFACT_ID` | inspect metadata and lineage |
//! | `cache explain NODE [--run-id ID]` | why a node was or was not cached |
//! | `gc [--keep-last N [--older-than-days D]] [--json]` | removes the files or objects of abandoned artifacts (failed or interrupted attempts) and, with `--keep-last`, of those only pruned runs used |
//!
//! Exit codes: 0 success, 1 the pipeline or a node failed, 2 invalid usage or an invalid
//! pipeline (every problem is listed, with node ids) or, for `run-node`, a fingerprint that is
//! not this binary's pipeline's; 99 from `run-node` when the node was skipped (its `when`
//! condition is false), which Airflow maps to a skipped task. `--store` / `MILLRACE_STORE` (default
//! `sqlite://.millrace/metadata.sqlite`) and `--root` / `MILLRACE_ROOT` (default
//! `.millrace/artifacts`; also `s3://BUCKET/PREFIX`, `gs://…`, `az://…`, with credentials from
//! the cloud's usual environment) say where metadata and artifacts go.

mod argo;
mod command;
mod containers;
mod doctor;
mod error;
mod inspect;
mod kfp;
mod kubernetes;
#[cfg(feature = "server")]
mod mirror;
mod models;
mod redact;
mod render;
mod run;
#[cfg(feature = "server")]
mod schedule;
#[cfg(feature = "server")]
mod serve;
mod tracking;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use millrace_core::{BuildError, Pipeline};

pub use command::{
    ArtifactsCommand, CacheCommand, Cli, Command, ExperimentsCommand, GraphFormat,
    LineageDirection, Location, RunsCommand, Target,
};
pub use containers::{ContainerRunArgs, ImageArgs, ImageCommand};
pub use error::CliError;
pub use kubernetes::{KubernetesCompileArgs, KubernetesRunArgs, RunOn};
pub use models::{DecisionArgs, ModelsCommand};
pub use tracking::SearchArgs;

/// Runs the command line of a pipeline binary with the process's arguments.
///
/// `pipeline` builds the pipeline; it is called once, after the arguments are parsed.
pub async fn main<F>(pipeline: F) -> ExitCode
where
    F: FnOnce() -> Result<Pipeline, BuildError>,
{
    main_with(pipeline, Options::default()).await
}

/// How [`main_with`] runs the command line.
///
/// ```no_run
/// # use millrace_core::prelude::*;
/// # fn pipeline() -> Result<Pipeline, millrace_core::BuildError> { Pipeline::builder("p").build() }
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     // `cargo run --example taxi` with no arguments runs the pipeline.
///     let options = millrace_cli::Options::default().when_no_arguments(["run"]);
///     millrace_cli::main_with(pipeline, options).await
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Options {
    when_no_arguments: Vec<OsString>,
}

impl Options {
    /// When the binary is started without arguments, act as if it had been given these.
    pub fn when_no_arguments<I, S>(mut self, arguments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.when_no_arguments = arguments.into_iter().map(Into::into).collect();
        self
    }
}

/// Runs the command line of a pipeline binary with the process's arguments, as [`main`] does,
/// with `options`: the one entry point of every pipeline binary, which also sets up logging
/// (`MILLRACE_LOG`).
pub async fn main_with<F>(pipeline: F, options: Options) -> ExitCode
where
    F: FnOnce() -> Result<Pipeline, BuildError>,
{
    init_logging();
    let mut arguments: Vec<OsString> = std::env::args_os().collect();
    if arguments.len() == 1 {
        arguments.extend(options.when_no_arguments);
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    run(arguments, pipeline, &mut stdout, &mut stderr).await
}

/// Logs to standard error, filtered by `MILLRACE_LOG` (a `tracing` filter such as `info` or
/// `millrace_runner=debug`), with colours only when standard error is a terminal: a log file or
/// a CI log gets plain text.
fn init_logging() {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    // On a terminal the progress line says what runs; elsewhere (CI, a scheduler's log) the
    // runner's start and end of every node are logged.
    let default = if terminal {
        "warn"
    } else {
        "warn,millrace_runner=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MILLRACE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(redact::RedactedStderr)
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

    // Nothing printed holds a secret (`redact`).
    let mut stdout = redact::Redacting::new(stdout);
    let mut stderr = redact::Redacting::new(stderr);
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
    match command::execute(&cli.command, pipeline, &mut stdout, &mut stderr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
