//! The DAG file: one task per node, each running the pipeline's binary as `run-node`.

use std::fmt::Write as _;

use millrace_core::Pipeline;
use millrace_core::spec::ParameterType;
use millrace_core::spec::TriggerRule;
use millrace_core::spec::validate::{holds_secret, redact_secrets};
use millrace_core::spec::{NodeSpec, ParameterSpec};

use crate::AirflowError;
use crate::python::{string, value};

/// Where the exported tasks find the binary, the metadata store and the artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirflowOptions {
    /// The pipeline binary on the workers (or in the node's image, for pods).
    pub binary: String,
    /// The metadata store URL the tasks use (`postgres://...` for distributed workers); `None`:
    /// the workers' `MILLRACE_STORE`. A URL with a password is never written into the DAG:
    /// the tasks read it from the Airflow connection [`STORE_CONNECTION`] at run time.
    pub store: Option<String>,
    /// The artifact root; `None`: the workers' `MILLRACE_ROOT`.
    pub root: Option<String>,
}

/// The Airflow connection the tasks read the store's URL from when it has a password: create
/// it with `airflow connections add millrace_store --conn-uri 'postgresql://USER:PASSWORD@HOST/DB'`
/// (or a secrets backend). Airflow masks its password in task logs.
pub const STORE_CONNECTION: &str = "millrace_store";

/// The id of the task that fails a run in which a node failed, when the pipeline has an exit
/// handler (whose success would otherwise decide the run's state).
pub const WATCHER_TASK: &str = "millrace_watcher";

/// The exit code with which `run-node` reports a node skipped by its `when` condition; the
/// tasks map it to Airflow's `skipped` (`skip_on_exit_code`).
pub const SKIP_EXIT_CODE: u8 = 99;

/// The file name of a pipeline's DAG: `<pipeline>.py`, with `-` as `_` (a Python module name).
pub fn dag_file_name(pipeline: &Pipeline) -> String {
    format!("{}.py", pipeline.name().replace('-', "_"))
}

fn json_schema_type(parameter_type: ParameterType) -> &'static str {
    match parameter_type {
        ParameterType::Int => "integer",
        ParameterType::Double => "number",
        ParameterType::String => "string",
        ParameterType::Bool => "boolean",
        ParameterType::List => "array",
        ParameterType::Struct => "object",
    }
}

fn param(parameter: &ParameterSpec) -> String {
    let mut arguments = Vec::new();
    if let Some(default) = &parameter.default {
        arguments.push(value(default));
    }
    arguments.push(format!(
        "type={}",
        string(json_schema_type(parameter.parameter_type))
    ));
    if let Some(description) = &parameter.description {
        arguments.push(format!("description={}", string(description)));
    }
    format!("Param({})", arguments.join(", "))
}

fn trigger_rule(rule: TriggerRule) -> &'static str {
    match rule {
        TriggerRule::AllSuccess => "all_success",
        TriggerRule::AllDone => "all_done",
        TriggerRule::OneFailed => "one_failed",
    }
}

fn millis(ms: u64) -> String {
    format!("datetime.timedelta(milliseconds={ms})")
}

/// The settings of a node's task beyond its id: trigger rule, retries, timeout, pool — as
/// (keyword, Python value) pairs.
pub(crate) fn task_settings(node: &NodeSpec, exit_handler: bool) -> Vec<(&'static str, String)> {
    let options = &node.options;
    let mut settings = Vec::new();
    let rule = if exit_handler {
        TriggerRule::AllDone
    } else {
        options.trigger_rule
    };
    if rule != TriggerRule::AllSuccess {
        settings.push(("trigger_rule", string(trigger_rule(rule))));
    }
    let retry = &options.retry;
    settings.push(("retries", retry.max_retries.to_string()));
    if retry.max_retries > 0 {
        settings.push(("retry_delay", millis(retry.initial_backoff_ms)));
        if retry.multiplier > 1.0 {
            settings.push((
                "retry_exponential_backoff",
                format!("{:?}", retry.multiplier),
            ));
            settings.push(("max_retry_delay", millis(retry.max_backoff_ms)));
        }
    }
    if let Some(timeout) = options.timeout_ms {
        settings.push(("execution_timeout", millis(timeout)));
    }
    if let Some(pool) = &options.pool {
        settings.push(("pool", string(pool)));
    }
    settings
}

/// A node's task settings, except that a sharded node's own task — its merge — waits for every
/// shard to succeed whatever the node's trigger rule (which its shards follow).
fn merge_aware_settings(node: &NodeSpec, exit_handler: bool) -> Vec<(&'static str, String)> {
    let mut settings = task_settings(node, exit_handler);
    if node.options.shards.is_some() && !exit_handler {
        settings.retain(|(key, _)| *key != "trigger_rule");
    }
    settings
}

/// A pod's `container_resources` argument, when the node requests any.
pub(crate) fn pod_resources(resources: &millrace_core::Resources) -> Option<String> {
    let mut requests = Vec::new();
    if let Some(cpu) = &resources.cpu {
        requests.push(format!("\"cpu\": {}", string(cpu)));
    }
    if let Some(memory) = &resources.memory {
        requests.push(format!("\"memory\": {}", string(memory)));
    }
    let mut limits = requests.clone();
    if let Some(gpu) = resources.gpu {
        limits.push(format!("\"nvidia.com/gpu\": \"{gpu}\""));
    }
    (!limits.is_empty()).then(|| {
        format!(
            "container_resources=k8s.V1ResourceRequirements(requests={{{}}}, limits={{{}}})",
            requests.join(", "),
            limits.join(", ")
        )
    })
}

/// The environment of a task: fixed values as literals (never rendered by Jinja), the run id,
/// the parameter values and a store URL with a password (from [`STORE_CONNECTION`]) as the only
/// templates — none of them holds text of the user's.
fn environment(pipeline: &Pipeline, options: &AirflowOptions) -> String {
    let mut entries = vec![
        format!("\"MILLRACE_BINARY\": literal({})", string(&options.binary)),
        format!(
            "\"MILLRACE_FINGERPRINT\": {}",
            string(&pipeline.fingerprint().to_hex())
        ),
        "\"MILLRACE_RUN_ID\": \"{{ run_id }}\"".to_owned(),
        "\"MILLRACE_PARAMS_JSON\": PARAMS_JSON".to_owned(),
    ];
    if let Some(store) = &options.store {
        if holds_secret(store) {
            // The DAG file is not secret: the URL, password and all, comes from the connection.
            entries.push(format!(
                "\"MILLRACE_STORE\": \"{{{{ conn.{STORE_CONNECTION}.get_uri() }}}}\""
            ));
        } else {
            entries.push(format!("\"MILLRACE_STORE\": literal({})", string(store)));
        }
    }
    if let Some(root) = &options.root {
        entries.push(format!("\"MILLRACE_ROOT\": literal({})", string(root)));
    }
    format!("{{{}}}", entries.join(", "))
}

/// The Jinja template that renders every parameter's value as one JSON object. Parameter names
/// are identifiers (validated), so the template holds no text of the user's; the values are
/// rendered by `tojson` and never rendered again.
fn params_template(pipeline: &Pipeline) -> String {
    let fields: Vec<String> = pipeline
        .spec()
        .parameters
        .iter()
        .map(|parameter| {
            format!(
                "\"{name}\": {{{{ params.{name} | tojson }}}}",
                name = parameter.name
            )
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// The arguments of `DAG(...)`: id, documentation, tags, params and schedule.
fn dag_arguments(pipeline: &Pipeline, fingerprint: &str) -> Vec<String> {
    let spec = pipeline.spec();
    let description = spec.description.clone().unwrap_or_default();
    let mut doc = description.clone();
    if !doc.is_empty() {
        doc.push_str("\n\n");
    }
    let _ = write!(
        doc,
        "Millrace pipeline `{}`, fingerprint `{fingerprint}`.",
        spec.name
    );
    let mut dag_arguments = vec![
        format!("dag_id={}", string(&spec.name)),
        format!("doc_md={}", string(&doc)),
    ];
    if let Some(first_line) = description.lines().next().filter(|line| !line.is_empty()) {
        dag_arguments.push(format!("description={}", string(first_line)));
    }
    let mut tags: Vec<&str> = spec.tags.iter().map(String::as_str).collect();
    tags.push("millrace");
    let tags: Vec<String> = tags.into_iter().map(string).collect();
    dag_arguments.push(format!("tags=[{}]", tags.join(", ")));
    let params: Vec<String> = spec
        .parameters
        .iter()
        .map(|parameter| format!("{}: {}", string(&parameter.name), param(parameter)))
        .collect();
    dag_arguments.push(format!("params={{{}}}", params.join(", ")));
    match &spec.schedule {
        Some(schedule) => {
            dag_arguments.push(format!("schedule={}", string(&schedule.cron)));
            dag_arguments.push(format!(
                "catchup={}",
                if schedule.catchup { "True" } else { "False" }
            ));
            if let Some(runs) = schedule.max_active_runs {
                dag_arguments.push(format!("max_active_runs={runs}"));
            }
            let start = schedule.start_date.as_deref().unwrap_or("2026-01-01");
            // Airflow reads a cron schedule in the start date's time zone.
            let zone = match schedule.timezone.as_deref() {
                None | Some("UTC") => "datetime.timezone.utc".to_owned(),
                Some(zone) => format!("pendulum.timezone({})", string(zone)),
            };
            dag_arguments.push(format!(
                "start_date=datetime.datetime.fromisoformat({}).replace(tzinfo={zone})",
                string(start)
            ));
        }
        None => {
            dag_arguments.push("schedule=None".to_owned());
            dag_arguments.push("catchup=False".to_owned());
            dag_arguments.push(
                "start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)".to_owned(),
            );
        }
    }
    dag_arguments
}

/// Writes the DAG file of `pipeline`.
pub fn export_dag(pipeline: &Pipeline, options: &AirflowOptions) -> Result<String, AirflowError> {
    if let Some(root) = options.root.as_deref().filter(|root| holds_secret(root)) {
        return Err(AirflowError::SecretInOption {
            option: "artifact root",
            redacted: redact_secrets(root).into_owned(),
        });
    }
    let spec = pipeline.spec();
    let fingerprint = pipeline.fingerprint().to_hex();
    let uses_pods = spec.nodes.iter().any(|node| node.options.image.is_some());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The Airflow DAG of the Millrace pipeline `{}` (fingerprint {fingerprint}).\n\
         # Generated by `compile --target airflow`; recompile instead of editing. Every task runs\n\
         # the pipeline's binary as `run-node`, which refuses to run a node of another build.",
        spec.name
    );
    let zoned = spec
        .schedule
        .as_ref()
        .and_then(|schedule| schedule.timezone.as_deref())
        .is_some_and(|zone| zone != "UTC");
    out.push_str(if zoned {
        "import datetime\n\nimport pendulum\n"
    } else {
        "import datetime\n\n"
    });
    out.push_str(
        "from airflow.providers.standard.operators.bash import BashOperator\n\
         from airflow.sdk import DAG, Param\n\
         from airflow.sdk.definitions.template import literal\n",
    );
    if uses_pods {
        out.push_str(
            "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n\
             from kubernetes.client import models as k8s\n",
        );
    }
    let _ = writeln!(
        out,
        "\nPARAMS_JSON = {}",
        string(&params_template(pipeline))
    );
    if let Some(store) = options.store.as_deref().filter(|store| holds_secret(store)) {
        let _ = writeln!(
            out,
            "# MILLRACE_STORE ({}) is read from the Airflow connection `{STORE_CONNECTION}`:\n\
             # this file holds no password.",
            redact_secrets(store)
        );
    }
    let _ = writeln!(out, "ENV = {}", environment(pipeline, options));
    let _ = writeln!(
        out,
        "# The command of every BashOperator task: no template of its own; the node id is an\n\
         # identifier, the rest comes from the environment.\n\
         RUN_NODE = '\"$MILLRACE_BINARY\" run-node --run-id \"$MILLRACE_RUN_ID\" --node '\n"
    );

    let dag_arguments = dag_arguments(pipeline, &fingerprint);
    let _ = writeln!(
        out,
        "with DAG(\n    {},\n) as dag:",
        dag_arguments.join(",\n    ")
    );
    out.push_str("    tasks = {}\n");

    let exit_handler = spec.exit_handler.as_deref();
    write_bash_tasks(&mut out, pipeline, exit_handler);
    write_pod_tasks(&mut out, pipeline, exit_handler);
    crate::shards::write_sharded_tasks(&mut out, pipeline, exit_handler);
    write_edges(&mut out, pipeline, exit_handler)?;
    if let Some(exit) = exit_handler {
        let _ = writeln!(
            out,
            "    # The exit handler runs when every other task is done, whatever their states; the\n\
             \x20   # watcher fails the run when one of them failed, so that the handler's success\n\
             \x20   # does not decide the run's state.\n\
             \x20   others = [task for task_id, task in tasks.items() if task_id != {exit}]\n\
             \x20   others >> tasks[{exit}]\n\
             \x20   watcher = BashOperator(\n\
             \x20       task_id={watcher},\n\
             \x20       bash_command=\"echo 'a node of the pipeline failed' >&2; exit 1\",\n\
             \x20       trigger_rule=\"one_failed\",\n\
             \x20       retries=0,\n\
             \x20   )\n\
             \x20   others >> watcher",
            exit = string(exit),
            watcher = string(WATCHER_TASK),
        );
    }
    Ok(out)
}

/// The nodes that run as BashOperators, as a table (one row per node: its id and settings) and
/// a loop. Data compiles faster than code, and Airflow parses this file again and again.
fn write_bash_tasks(out: &mut String, pipeline: &Pipeline, exit_handler: Option<&str>) {
    out.push_str(
        "    # One row per node: its task id and its own settings; every task runs `run-node`.\n\
         \x20   BASH_NODES = [\n",
    );
    for node in pipeline.nodes_in_order() {
        if node.options.image.is_some() {
            continue;
        }
        let is_exit = exit_handler == Some(node.id.as_str());
        let settings: Vec<String> = merge_aware_settings(node, is_exit)
            .into_iter()
            .map(|(key, setting)| format!("\"{key}\": {setting}"))
            .collect();
        let _ = writeln!(
            out,
            "        ({}, {{{}}}),",
            string(&node.id),
            settings.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "    ]\n\
         \x20   for task_id, settings in BASH_NODES:\n\
         \x20       tasks[task_id] = BashOperator(\n\
         \x20           task_id=task_id,\n\
         \x20           bash_command=RUN_NODE + task_id,\n\
         \x20           env=ENV,\n\
         \x20           append_env=True,\n\
         \x20           skip_on_exit_code={SKIP_EXIT_CODE},\n\
         \x20           **settings,\n\
         \x20       )"
    );
}

/// The nodes with an image, as KubernetesPodOperators running the binary in that image.
fn write_pod_tasks(out: &mut String, pipeline: &Pipeline, exit_handler: Option<&str>) {
    for node in pipeline.nodes_in_order() {
        let Some(image) = &node.options.image else {
            continue;
        };
        let is_exit = exit_handler == Some(node.id.as_str());
        let mut arguments = vec![format!("task_id={}", string(&node.id))];
        arguments.extend(
            merge_aware_settings(node, is_exit)
                .into_iter()
                .map(|(key, setting)| format!("{key}={setting}")),
        );
        arguments.push(format!(
            "name={}",
            string(&node.id.replace('_', "-").to_lowercase())
        ));
        arguments.push(format!("image=literal({})", string(image)));
        arguments.push("cmds=[ENV[\"MILLRACE_BINARY\"]]".to_owned());
        arguments.push(format!(
            "arguments=[\"run-node\", \"--run-id\", \"{{{{ run_id }}}}\", \"--node\", {}]",
            string(&node.id)
        ));
        arguments.push(
            "env_vars={name: setting for name, setting in ENV.items() if name != \"MILLRACE_BINARY\"}"
                .to_owned(),
        );
        arguments.push(format!("skip_on_exit_code={SKIP_EXIT_CODE}"));
        if let Some(resources) = pod_resources(&node.options.resources) {
            arguments.push(resources);
        }
        let _ = writeln!(
            out,
            "    tasks[{}] = KubernetesPodOperator(\n        {},\n    )",
            string(&node.id),
            arguments.join(",\n        ")
        );
    }
}

/// The pipeline's dependencies as a table of (upstream, downstream) and a loop; the exit
/// handler's are written with it.
fn write_edges(
    out: &mut String,
    pipeline: &Pipeline,
    exit_handler: Option<&str>,
) -> Result<(), AirflowError> {
    let spec = pipeline.spec();
    let ids: std::collections::HashSet<&str> =
        spec.nodes.iter().map(|node| node.id.as_str()).collect();
    out.push_str("\n    # The pipeline's dependencies: (upstream, downstream).\n    EDGES = [\n");
    for node in pipeline.nodes_in_order() {
        if exit_handler == Some(node.id.as_str()) {
            continue;
        }
        let mut upstream: Vec<&str> = node.upstream_node_ids();
        upstream.sort_unstable();
        upstream.dedup();
        for id in upstream {
            if !ids.contains(id) {
                return Err(AirflowError::Pipeline(format!(
                    "node `{}` depends on `{id}`, which the pipeline does not have",
                    node.id
                )));
            }
            let downstream = match node.options.shards {
                Some(_) => crate::shards::mapped_task_id(&node.id),
                None => node.id.clone(),
            };
            let _ = writeln!(out, "        ({}, {}),", string(id), string(&downstream));
        }
        if node.options.shards.is_some() {
            let mapped = crate::shards::mapped_task_id(&node.id);
            let _ = writeln!(out, "        ({}, {}),", string(&mapped), string(&node.id));
        }
    }
    out.push_str(
        "    ]\n    for upstream, downstream in EDGES:\n        tasks[upstream] >> tasks[downstream]\n",
    );
    Ok(())
}
