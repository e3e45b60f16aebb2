//! The subcommands and what they do.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use millrace_core::{BuildError, Pipeline};

use crate::error::CliError;

/// The command line of a Millrace pipeline binary.
#[derive(Debug, Parser)]
#[command(version, about = "A Millrace pipeline: compile it, draw it, run it.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the pipeline for a target (the IR: canonical, versioned JSON).
    Compile {
        /// The target.
        #[arg(long, value_enum, default_value_t = Target::Ir)]
        target: Target,
        /// Write here instead of standard output; a directory (one that exists, or a path
        /// ending in `/`, created if needed) gets `<pipeline>.json`, or `<pipeline>.py` for
        /// Airflow.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Airflow: the pipeline binary on the workers (default: this binary's absolute path);
        /// Kubernetes: the binary in the image (default: the image's entrypoint); KFP and Argo:
        /// the binary in the images (default: `/usr/local/bin/<this binary's name>`, where
        /// `image` puts it).
        #[arg(long)]
        binary: Option<String>,
        /// Airflow and KFP: the metadata store the tasks use (default: the workers'
        /// MILLRACE_STORE). The compiled file is not secret: with a password, Airflow's tasks
        /// read the URL from the connection `millrace_store` and KFP refuses it.
        #[arg(long)]
        store: Option<String>,
        /// Airflow and KFP: the artifact root the tasks use (default: the workers'
        /// MILLRACE_ROOT); for KFP also the pipeline root.
        #[arg(long)]
        root: Option<String>,
        /// Kubernetes, KFP and Argo: the pipeline's image, for nodes without an image of their
        /// own (`.image(...)`).
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Kubernetes and Argo: the namespace (Kubernetes default: `default`; Argo: the one the
        /// manifest is submitted to).
        #[arg(long)]
        namespace: Option<String>,
        /// Kubernetes and Argo: the Secret whose keys MILLRACE_STORE and MILLRACE_ROOT the
        /// tasks read (default: `millrace`).
        #[arg(long)]
        secret: Option<String>,
        /// Kubernetes: the run the Jobs are written for.
        #[command(flatten)]
        kubernetes: crate::kubernetes::KubernetesCompileArgs,
        /// KFP: accelerators and schedules.
        #[command(flatten)]
        kfp: crate::kfp::KfpCompileArgs,
        /// Argo: the manifest's kind, service account and timezone.
        #[command(flatten)]
        argo: crate::argo::ArgoCompileArgs,
    },
    /// Draw the pipeline.
    Graph {
        /// The drawing language.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Write here instead of standard output; a directory (one that exists, or a path
        /// ending in `/`) gets `<pipeline>.dot` or `<pipeline>.mmd`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the pipeline and print its fingerprint.
    Validate,
    /// List the component kinds and artifact types this binary can rebuild from the IR.
    Registry {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the pipeline on this machine.
    Run {
        /// Set a runtime parameter: `--param name=value` (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_assignment)]
        params: Vec<(String, String)>,
        /// Continue this run: nodes that completed are kept, the rest run.
        #[arg(long, value_name = "RUN_ID")]
        resume: Option<String>,
        /// Run at most this many nodes at once (default: the number of cores).
        #[arg(long)]
        parallelism: Option<usize>,
        /// After a failure, keep running the nodes that do not depend on it.
        #[arg(long)]
        keep_going: bool,
        /// Where metadata and artifacts go.
        #[command(flatten)]
        location: Location,
        /// Print the run summary as JSON.
        #[arg(long)]
        json: bool,
        /// Running the nodes in containers.
        #[command(flatten)]
        containers: crate::containers::ContainerRunArgs,
        /// Running the nodes on Kubernetes.
        #[command(flatten)]
        kubernetes: crate::kubernetes::KubernetesRunArgs,
        /// With --containers or --on kubernetes: the pipeline's image (default for containers:
        /// `localhost/<pipeline>:<fingerprint>` with the fingerprint's first 12 hex digits, what
        /// `image build` tags; Kubernetes needs it unless every node names its own).
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Track the run in this named experiment (default: the pipeline's own).
        #[arg(long, env = "MILLRACE_EXPERIMENT")]
        experiment: Option<String>,
        /// The MLflow-compatible tracking server command nodes log into (default: a server
        /// this process starts on 127.0.0.1 for the run, when the pipeline has command nodes).
        #[arg(long, env = "MLFLOW_TRACKING_URI")]
        tracking_uri: Option<String>,
        /// After the run, mirror it into the MLflow server with this tracking URI: parameters,
        /// metric histories, reports and registered model versions (`runs mirror` does it
        /// later, or again after a failure).
        #[arg(long, value_name = "URL", env = "MILLRACE_MLFLOW_MIRROR")]
        mlflow: Option<String>,
    },
    /// Run a past run again: the same pipeline (refused, saying what differs, when this
    /// binary's is not the one it ran) with the same parameters.
    Rerun {
        /// The run to reproduce.
        run_id: String,
        /// Run at most this many nodes at once (default: the number of cores).
        #[arg(long)]
        parallelism: Option<usize>,
        /// Where metadata and artifacts go.
        #[command(flatten)]
        location: Location,
        /// Print the run summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the web UI (runs, graphs, lineage, reports, models, schedules) and MLflow's
    /// tracking, artifact and model-registry REST API on the store and artifact root (point
    /// `MLFLOW_TRACKING_URI` at it), and run the pipeline on its schedule and data triggers, if
    /// it has any. Stops on Ctrl-C; a run in progress is resumed by the next `serve`.
    #[cfg(feature = "server")]
    Serve {
        /// The address to listen on (127.0.0.1: this machine only).
        #[arg(long, default_value = "127.0.0.1:5000")]
        bind: std::net::SocketAddr,
        /// Do not run the pipeline's schedule (serve the API only).
        #[arg(long)]
        no_scheduler: bool,
        /// A runtime parameter of the scheduled runs: `--param name=value` (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_assignment)]
        params: Vec<(String, String)>,
        /// POST how a scheduled run ended (its summary, as JSON) to this URL.
        #[arg(long, value_name = "URL", env = "MILLRACE_NOTIFY_WEBHOOK")]
        notify_webhook: Option<String>,
        /// Run this command (`sh -c`) when a scheduled run ends: the summary on its standard
        /// input, MILLRACE_RUN_ID and MILLRACE_RUN_STATE in its environment.
        #[arg(long, value_name = "COMMAND", env = "MILLRACE_NOTIFY_COMMAND")]
        notify_command: Option<String>,
        /// Notify when a run fails, or always.
        #[arg(long, value_enum, default_value_t = crate::serve::NotifyWhen::Failure)]
        notify_on: crate::serve::NotifyWhen,
        /// Let the web UI start runs, cancel them and pause or resume triggers; each action
        /// needs the token in MILLRACE_UI_TOKEN. Without this flag there are no action
        /// endpoints at all.
        #[arg(long)]
        allow_actions: bool,
        /// Where metadata and artifacts are.
        #[command(flatten)]
        location: Location,
    },
    /// The pipeline's schedule: when it runs next, its recent runs, pausing and resuming.
    #[cfg(feature = "server")]
    Schedule {
        /// What to show or change.
        #[command(subcommand)]
        command: crate::schedule::ScheduleCommand,
    },
    /// The experiments of the store (every pipeline is one).
    Experiments {
        /// What to show.
        #[command(subcommand)]
        command: ExperimentsCommand,
    },
    /// The model registry: registered models, versions, aliases, approvals.
    Models {
        /// What to show or change.
        #[command(subcommand)]
        command: crate::models::ModelsCommand,
    },
    /// The pipeline's container image: print its Containerfile, or build it (`image build`).
    Image(crate::containers::ImageArgs),
    /// The run history of this pipeline.
    Runs {
        /// What to show.
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// The artifacts this pipeline produced.
    Artifacts {
        /// What to show.
        #[command(subcommand)]
        command: ArtifactsCommand,
    },
    /// The lineage of an artifact: what produced it and what was made from it.
    Lineage {
        /// The artifact's id.
        artifact_id: i64,
        /// Which way to follow events.
        #[arg(long, value_enum, default_value_t = LineageDirection::Both)]
        direction: LineageDirection,
        /// How many events to follow at most.
        #[arg(long, default_value_t = 20)]
        hops: u32,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Why a node was or was not cached.
    Cache {
        /// What to explain.
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Remove the artifacts nobody will read again: those of failed or interrupted attempts,
    /// and — with --keep-last — those only runs older than the newest N produced.
    Gc {
        /// First prune this pipeline's runs, keeping the newest N (and any newer than
        /// --older-than-days).
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// With --keep-last: prune only runs older than this many days.
        #[arg(long, value_name = "DAYS", default_value_t = 0, requires = "keep_last")]
        older_than_days: u32,
        /// Where metadata and artifacts are.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the metadata store against the artifact root: LIVE artifacts whose files are
    /// gone, executions a crash left RUNNING, PENDING leftovers, staging and output
    /// directories nothing points at. Exits with 1 while problems remain.
    Doctor {
        /// Repair what is safe to repair: mark LIVE artifacts whose files are gone DELETED,
        /// fail executions left RUNNING in ended runs and abandon their outputs, abandon stale
        /// PENDING outputs, remove orphan staging directories. Never removes a file a LIVE
        /// artifact points at.
        #[arg(long)]
        repair: bool,
        /// Where metadata and artifacts are.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Execute one node of a run (what Airflow, Argo and Kubeflow tasks call).
    RunNode {
        /// The run (started by the first of its tasks if new).
        #[arg(long)]
        run_id: String,
        /// The node.
        #[arg(long)]
        node: String,
        /// One shard of a sharded node (from 0); without it, a sharded node merges its shards.
        #[arg(long)]
        shard: Option<u32>,
        /// Runtime parameters, for a run this task starts.
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_assignment)]
        params: Vec<(String, String)>,
        /// Runtime parameters as one JSON object (what exported DAGs pass).
        #[arg(long, env = "MILLRACE_PARAMS_JSON")]
        params_json: Option<String>,
        /// Refuse to run unless this binary's pipeline has this fingerprint.
        #[arg(long, env = "MILLRACE_FINGERPRINT")]
        fingerprint: Option<String>,
        /// Where metadata and artifacts go.
        #[command(flatten)]
        location: Location,
        /// Print the node's outcome as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `runs ...`
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// The runs of this pipeline, newest first, a page at a time.
    List {
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only runs older than the run at this position (the `position` of the last run of
        /// the previous page, in `--json` output).
        #[arg(long, value_name = "POSITION")]
        before: Option<i64>,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every node of one run: state, attempts, timing.
    Show {
        /// The run.
        run_id: String,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Runs side by side: parameters and metrics, differences marked.
    Compare {
        /// The runs (two or more).
        #[arg(num_args = 2.., required = true)]
        run_ids: Vec<String>,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every point of a run's metric (a training curve), by step.
    Metric {
        /// The run.
        run_id: String,
        /// The metric.
        key: String,
        /// The metric of this node of the run (its latest attempt).
        #[arg(long)]
        node: Option<String>,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Mirror a run into an existing MLflow server: the pipeline run with its parameters,
    /// tags and metrics, a nested run per tracked node attempt with its metric histories and
    /// files, the nodes' HTML reports, the model versions it registered with their aliases.
    /// A run mirrored before is not written twice.
    Mirror {
        /// The run.
        run_id: String,
        /// The MLflow server's tracking URI (`http://mlflow.internal:5000`); credentials come
        /// from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and _PASSWORD.
        #[arg(long, value_name = "URL", env = "MILLRACE_MLFLOW_MIRROR")]
        mlflow: String,
        /// Where the metadata and artifacts are.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Runs matching MLflow's filter grammar, in an experiment.
    Search {
        /// The filter and order.
        #[command(flatten)]
        search: crate::tracking::SearchArgs,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `experiments ...`
#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// Every active experiment.
    List {
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `artifacts ...`
#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// The artifacts of this pipeline, newest first.
    List {
        /// Only artifacts of this type.
        #[arg(long = "type")]
        artifact_type: Option<String>,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `cache ...`
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Why a node's latest execution was or was not a cache hit.
    Explain {
        /// The node.
        node: String,
        /// The run to look at (default: the newest run of the node).
        #[arg(long)]
        run_id: Option<String>,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which way `lineage` follows events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineageDirection {
    /// Towards what produced the artifact.
    Upstream,
    /// Towards what was made from it.
    Downstream,
    /// Both ways.
    Both,
}

/// Where the metadata store and the artifacts are.
#[derive(Debug, Clone, clap::Args)]
pub struct Location {
    /// The metadata store: sqlite://PATH, postgres://..., memory://.
    #[arg(long, env = "MILLRACE_STORE", default_value = millrace_metadata::DEFAULT_STORE_URL)]
    pub store: String,
    /// The pipeline root, where artifacts are written: a directory, or s3://BUCKET/PREFIX,
    /// gs://BUCKET/PREFIX, az://CONTAINER/PREFIX (credentials from the cloud's usual
    /// environment; AWS_ENDPOINT_URL for S3-compatible servers).
    #[arg(long, env = "MILLRACE_ROOT", default_value = ".millrace/artifacts")]
    pub root: String,
}

impl Location {
    /// The artifact root, opened (a URL that is not a usable root is an error here, before
    /// anything runs).
    pub fn storage(&self) -> Result<millrace_runner::ArtifactStorage, CliError> {
        millrace_runner::ArtifactStorage::open(&self.root)
            .map_err(|error| CliError::Runner(error.into()))
    }
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.trim().to_owned(), value.to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

/// What `compile` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// The Millrace pipeline IR (JSON).
    Ir,
    /// An Apache Airflow 3 DAG file (Python) whose tasks run this binary's `run-node`.
    Airflow,
    /// Kubernetes manifests (YAML): the runner's RBAC, a run's parent and every node's Job.
    Kubernetes,
    /// A Kubeflow Pipelines v2 PipelineSpec (YAML) for KFP 2.x and Vertex AI Pipelines.
    Kfp,
    /// An Argo Workflows manifest (YAML): Workflow, WorkflowTemplate or CronWorkflow.
    Argo,
}

/// What an export says of the pipeline's data-arrival triggers, which no engine target
/// compiles: each engine needs an event system beside it (docs/schedules.md has the table).
fn data_trigger_note(pipeline: &Pipeline, target: Target) -> Option<String> {
    let triggers: Vec<String> = pipeline
        .spec()
        .data_triggers
        .iter()
        .map(millrace_core::spec::DataTrigger::name)
        .collect();
    let engine = match target {
        Target::Ir => return None,
        Target::Airflow => "Airflow (an asset or a sensor DAG would have to start it)",
        Target::Kubernetes => "the Kubernetes target (Jobs have no triggers)",
        Target::Kfp => "Kubeflow Pipelines and Vertex AI (recurring runs are time-based only)",
        Target::Argo => "Argo Workflows (data events are Argo Events' work, not a Workflow's)",
    };
    (!triggers.is_empty()).then(|| {
        format!(
            "note: {} not exported: {engine}; run `serve` beside the engine to watch the data and start runs",
            triggers.join(", ")
        )
    })
}

/// What `graph` draws in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

pub(crate) async fn execute<F>(
    command: &Command,
    pipeline: F,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError>
where
    F: FnOnce() -> Result<Pipeline, BuildError>,
{
    let pipeline = pipeline()?;
    if let Command::Compile { target, .. } = command
        && let Some(note) = data_trigger_note(&pipeline, *target)
    {
        let _ = writeln!(stderr, "{note}");
    }
    match command {
        Command::Run {
            params,
            resume,
            parallelism,
            keep_going,
            location,
            json,
            containers,
            kubernetes,
            image,
            experiment,
            tracking_uri,
            mlflow,
        } => {
            let request = crate::run::RunRequest {
                params,
                resume: resume.as_deref(),
                parallelism: *parallelism,
                keep_going: *keep_going,
                location,
                json: *json,
                containers,
                image: image.as_deref(),
                dispatcher: crate::kubernetes::dispatcher(kubernetes, image.as_deref()).await?,
                experiment: experiment.as_deref(),
                tracking_uri: tracking_uri.as_deref(),
                mlflow: mlflow.as_deref(),
            };
            crate::run::run(&pipeline, &request, stdout, stderr).await?;
        }
        Command::Rerun {
            run_id,
            parallelism,
            location,
            json,
        } => {
            let request = crate::run::RunRequest {
                params: &[],
                resume: None,
                parallelism: *parallelism,
                keep_going: false,
                location,
                json: *json,
                containers: &crate::containers::ContainerRunArgs::default(),
                image: None,
                dispatcher: None,
                experiment: None,
                tracking_uri: None,
                mlflow: None,
            };
            crate::tracking::rerun(&pipeline, run_id, &request, stdout, stderr).await?;
        }
        Command::Experiments {
            command: ExperimentsCommand::List { location, json },
        } => crate::tracking::experiments(location, *json, stdout).await?,
        #[cfg(feature = "server")]
        Command::Serve {
            bind,
            no_scheduler,
            params,
            notify_webhook,
            notify_command,
            notify_on,
            allow_actions,
            location,
        } => {
            let scheduling = crate::serve::Scheduling {
                on: !*no_scheduler,
                allow_actions: *allow_actions,
                parameters: params.iter().cloned().collect(),
                notifier: crate::serve::notifier(
                    notify_webhook.as_deref(),
                    notify_command.as_deref(),
                    *notify_on,
                ),
            };
            crate::serve::serve(&pipeline, *bind, &scheduling, location, stderr).await?;
        }
        #[cfg(feature = "server")]
        Command::Schedule { command } => {
            crate::schedule::execute(&pipeline, command, stdout).await?;
        }
        Command::Models { command } => crate::models::execute(command, stdout).await?,
        Command::Image(args) => crate::containers::image(&pipeline, args, stdout, stderr).await?,
        Command::Runs { command } => match command {
            RunsCommand::List {
                limit,
                before,
                location,
                json,
            } => {
                let page = match before {
                    Some(position) => millrace_runner::RunPage::older_than(*position, *limit),
                    None => millrace_runner::RunPage::newest(*limit),
                };
                crate::inspect::runs_list(&pipeline, page, location, *json, stdout).await?;
            }
            RunsCommand::Show {
                run_id,
                location,
                json,
            } => {
                crate::inspect::runs_show(&pipeline, run_id, location, *json, stdout).await?;
            }
            RunsCommand::Compare {
                run_ids,
                location,
                json,
            } => crate::tracking::compare(run_ids, location, *json, stdout).await?,
            RunsCommand::Metric {
                run_id,
                key,
                node,
                location,
                json,
            } => {
                crate::tracking::metric(run_id, key, node.as_deref(), location, *json, stdout)
                    .await?;
            }
            RunsCommand::Search {
                search,
                location,
                json,
            } => crate::tracking::search(&pipeline, search, location, *json, stdout).await?,
            #[cfg(feature = "server")]
            RunsCommand::Mirror {
                run_id,
                mlflow,
                location,
                json,
            } => {
                crate::mirror::runs_mirror(&pipeline, run_id, mlflow, location, *json, stdout)
                    .await?;
            }
            #[cfg(not(feature = "server"))]
            RunsCommand::Mirror { .. } => {
                return Err(CliError::CommandNotBuilt {
                    command: "runs mirror",
                    feature: "server",
                });
            }
        },
        Command::Gc {
            keep_last,
            older_than_days,
            location,
            json,
        } => {
            crate::inspect::gc(
                &pipeline,
                *keep_last,
                *older_than_days,
                location,
                *json,
                stdout,
            )
            .await?;
        }
        Command::Doctor {
            repair,
            location,
            json,
        } => crate::doctor::doctor(location, *repair, *json, stdout).await?,
        Command::Artifacts { command } => match command {
            ArtifactsCommand::List {
                artifact_type,
                location,
                json,
            } => {
                crate::inspect::artifacts_list(
                    &pipeline,
                    artifact_type.as_deref(),
                    location,
                    *json,
                    stdout,
                )
                .await?;
            }
        },
        Command::Lineage {
            artifact_id,
            direction,
            hops,
            location,
            json,
        } => {
            crate::inspect::lineage(*artifact_id, *direction, *hops, location, *json, stdout)
                .await?;
        }
        Command::Cache { command } => match command {
            CacheCommand::Explain {
                node,
                run_id,
                location,
                json,
            } => {
                crate::inspect::cache_explain(
                    &pipeline,
                    node,
                    run_id.as_deref(),
                    location,
                    *json,
                    stdout,
                )
                .await?;
            }
        },
        Command::RunNode {
            run_id,
            node,
            shard,
            params,
            params_json,
            fingerprint,
            location,
            json,
        } => {
            if let Some(expected) = fingerprint {
                let actual = pipeline.fingerprint().to_hex();
                if expected.trim() != actual {
                    return Err(CliError::FingerprintMismatch {
                        expected: expected.clone(),
                        actual,
                    });
                }
            }
            let mut params = params.clone();
            if let Some(text) = params_json {
                params.extend(crate::run::parameters_from_json(text)?);
            }
            let task = match shard {
                Some(index) => millrace_core::spec::shard_task_id(node, *index),
                None => node.clone(),
            };
            crate::run::run_node(&pipeline, run_id, &task, &params, location, *json, stdout)
                .await?;
        }
        Command::Compile {
            target: Target::Kubernetes,
            out,
            binary,
            image,
            namespace,
            secret,
            kubernetes,
            ..
        } => {
            let target = crate::kubernetes::KubernetesTarget {
                binary: binary.as_deref(),
                image: image.as_deref(),
                namespace: namespace.as_deref(),
                secret: secret.as_deref(),
                out: out.as_deref(),
            };
            crate::kubernetes::compile(&pipeline, kubernetes, &target, stdout, stderr)?;
        }
        Command::Compile {
            target: Target::Kfp,
            out,
            binary,
            store,
            root,
            image,
            kfp,
            ..
        } => {
            let target = crate::kfp::KfpTarget {
                binary: binary_in_image(binary.as_deref())?,
                image: image.as_deref(),
                store: store.as_deref(),
                root: root.as_deref(),
                out: out.as_deref(),
            };
            crate::kfp::compile(&pipeline, kfp, &target, stdout, stderr)?;
        }
        Command::Compile {
            target: Target::Argo,
            out,
            binary,
            image,
            namespace,
            secret,
            argo,
            ..
        } => {
            let target = crate::argo::ArgoTarget {
                binary: binary_in_image(binary.as_deref())?,
                image: image.as_deref(),
                namespace: namespace.as_deref(),
                secret: secret.as_deref(),
                out: out.as_deref(),
            };
            crate::argo::compile(&pipeline, argo, &target, stdout, stderr)?;
        }
        Command::Compile {
            target: Target::Airflow,
            out,
            binary,
            store,
            root,
            ..
        } => {
            let options = AirflowTarget {
                out: out.as_deref(),
                binary: binary.as_deref(),
                store: store.as_deref(),
                root: root.as_deref(),
            };
            compile_airflow(&pipeline, &options, stdout, stderr)?;
        }
        Command::Compile {
            target: Target::Ir,
            out,
            ..
        } => {
            let mut json = pipeline.to_json();
            json.push('\n');
            let file_name = format!("{}.json", pipeline.name());
            emit(&json, out.as_deref(), &file_name, stdout)?;
            if let Some(out) = out {
                let _ = writeln!(
                    stderr,
                    "wrote the IR of `{}` to {} (fingerprint {})",
                    pipeline.name(),
                    output_path(out, &file_name).display(),
                    pipeline.fingerprint()
                );
            }
        }
        Command::Graph { format, out } => {
            let (drawing, extension) = match format {
                GraphFormat::Dot => (pipeline.to_dot(), "dot"),
                GraphFormat::Mermaid => (pipeline.to_mermaid(), "mmd"),
            };
            let file_name = format!("{}.{extension}", pipeline.name());
            emit(&drawing, out.as_deref(), &file_name, stdout)?;
        }
        Command::Registry { json } => {
            let registry = pipeline.registry();
            let kinds = registry.component_kinds();
            let types = registry.artifact_type_names();
            let text = if *json {
                let listing = serde_json::json!({
                    "component_kinds": kinds,
                    "artifact_types": types,
                });
                format!("{listing:#}\n")
            } else {
                format!(
                    "component kinds:\n{}\nartifact types:\n{}\n",
                    kinds
                        .iter()
                        .map(|kind| format!("  {kind}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    types
                        .iter()
                        .map(|name| format!("  {name}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            };
            stdout
                .write_all(text.as_bytes())
                .map_err(CliError::Stdout)?;
        }
        Command::Validate => {
            writeln!(
                stdout,
                "pipeline `{}` is valid: {} nodes, fingerprint {}",
                pipeline.name(),
                pipeline.spec().nodes.len(),
                pipeline.fingerprint()
            )
            .map_err(CliError::Stdout)?;
        }
    }
    Ok(())
}

/// Where `image` puts a pipeline binary inside its image.
pub const BINARY_DIR_IN_IMAGE: &str = "/usr/local/bin";

/// The binary the tasks of an engine run: `binary` when given, else this binary's file name in
/// [`BINARY_DIR_IN_IMAGE`], where the image `image` writes has it.
fn binary_in_image(binary: Option<&str>) -> Result<String, CliError> {
    if let Some(binary) = binary {
        return Ok(binary.to_owned());
    }
    let exe = std::env::current_exe().map_err(CliError::Stdout)?;
    let name = exe
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(format!("{BINARY_DIR_IN_IMAGE}/{name}"))
}

/// What `compile --target airflow` was asked.
struct AirflowTarget<'a> {
    out: Option<&'a Path>,
    binary: Option<&'a str>,
    store: Option<&'a str>,
    root: Option<&'a str>,
}

/// Writes the Airflow DAG file whose tasks run this binary's `run-node`.
#[cfg(feature = "airflow")]
fn compile_airflow(
    pipeline: &Pipeline,
    target: &AirflowTarget<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    let binary = match target.binary {
        Some(binary) => binary.to_owned(),
        None => std::env::current_exe()
            .and_then(std::path::absolute)
            .map(|path| path.display().to_string())
            .map_err(CliError::Stdout)?,
    };
    let options = millrace_airflow::AirflowOptions {
        binary,
        store: target.store.map(str::to_owned),
        root: target.root.map(str::to_owned),
    };
    let dag = millrace_airflow::export_dag(pipeline, &options)?;
    let file_name = millrace_airflow::dag_file_name(pipeline);
    emit(&dag, target.out, &file_name, stdout)?;
    if let Some(out) = target.out {
        let _ = writeln!(
            stderr,
            "wrote the Airflow DAG of `{}` to {} (fingerprint {})",
            pipeline.name(),
            output_path(out, &file_name).display(),
            pipeline.fingerprint()
        );
    }
    if target
        .store
        .is_some_and(millrace_core::spec::validate::holds_secret)
    {
        let _ = writeln!(
            stderr,
            "note: the store's password is not in the DAG: its tasks read the URL from the \
             Airflow connection `{}` (airflow connections add {} --conn-uri 'URL')",
            millrace_airflow::STORE_CONNECTION,
            millrace_airflow::STORE_CONNECTION
        );
    }
    Ok(())
}

/// Without the `airflow` feature, the target is known but not built in.
#[cfg(not(feature = "airflow"))]
fn compile_airflow(
    _pipeline: &Pipeline,
    _target: &AirflowTarget<'_>,
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::TargetNotBuilt {
        target: "airflow",
        feature: "airflow",
    })
}

/// Writes `text` to `out` or to standard output. An `out` that names an existing directory or
/// ends with a path separator is a directory: the file goes inside it as `file_name`, and the
/// directory is created if needed.
pub(crate) fn emit(
    text: &str,
    out: Option<&Path>,
    file_name: &str,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let Some(out) = out else {
        return stdout.write_all(text.as_bytes()).map_err(CliError::Stdout);
    };
    let path = output_path(out, file_name);
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| CliError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // Write beside the target and rename, so a reader never sees a half-written file.
    let staging = path.with_extension("partial");
    std::fs::write(&staging, text)
        .and_then(|()| std::fs::rename(&staging, &path))
        .map_err(|source| CliError::Write { path, source })
}

/// Where `--out` puts a file called `file_name`: inside `out` when it is a directory (an
/// existing one, or any path that ends with a separator), at `out` otherwise.
pub(crate) fn output_path(out: &Path, file_name: &str) -> PathBuf {
    let names_a_directory = out.is_dir()
        || out
            .as_os_str()
            .to_str()
            .is_some_and(|text| text.ends_with(std::path::MAIN_SEPARATOR) || text.ends_with('/'));
    if names_a_directory {
        out.join(file_name)
    } else {
        out.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_path_ending_in_a_separator_is_a_directory() {
        assert_eq!(
            output_path(Path::new("dags/"), "taxi.py"),
            Path::new("dags/taxi.py")
        );
        assert_eq!(
            output_path(Path::new("dags/taxi_dag.py"), "taxi.py"),
            Path::new("dags/taxi_dag.py")
        );
        let existing = tempfile::tempdir().unwrap();
        assert_eq!(
            output_path(existing.path(), "taxi.py"),
            existing.path().join("taxi.py")
        );
    }
}
