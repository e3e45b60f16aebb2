//! The KFP v2 `PipelineSpec`: one container component per node running `run-node`, the
//! pipeline's parameters as the root's inputs, and the exit handler as KFP's exit-handler group.

use std::collections::{BTreeMap, BTreeSet};

use millrace_core::Pipeline;
use millrace_core::spec::validate::{holds_secret, redact_secrets};
use millrace_core::spec::{NodeSpec, ParameterSpec, ParameterType, TriggerRule};
use serde_json::{Map, Value, json};

use crate::KfpError;
use crate::KfpOptions;
use crate::resources::container_resources;
use crate::task_name::{EXIT_HANDLER_GROUP, task_names};

/// The IR version written (what `kfp` 2.x writes).
pub const SCHEMA_VERSION: &str = "2.1.0";

/// The placeholder KFP and Vertex replace with the run's unique id: the Millrace run id of
/// every task of one pipeline job.
pub const RUN_ID_PLACEHOLDER: &str = "{{$.pipeline_job_uuid}}";

/// The exit code with which `run-node` reports a node skipped by its `when` condition; the
/// container of such a node turns it into success (KFP has no "skipped by the task" state), and
/// the downstream nodes learn of the skip from the metadata store.
pub const SKIP_EXIT_CODE: u8 = 99;

/// The prefix `kfp` gives the inputs of a task group that pass a pipeline parameter on.
pub(crate) const CHANNEL_PREFIX: &str = "pipelinechannel--";

/// A compiled pipeline: the `PipelineSpec` document and the task name of every node.
#[derive(Debug, Clone, PartialEq)]
pub struct KfpPipeline {
    /// The `PipelineSpec`, as the proto3 JSON mapping (what `kfp` writes as YAML).
    pub spec: Value,
    /// The KFP task name of every node id.
    pub task_names: BTreeMap<String, String>,
}

impl KfpPipeline {
    /// The `PipelineSpec` as YAML, the file `kfp` clients upload and Vertex AI runs.
    pub fn to_yaml(&self) -> Result<String, KfpError> {
        let yaml = serde_saphyr::to_string(&self.spec)
            .map_err(|error| KfpError::Yaml(error.to_string()))?;
        let name = self.spec["pipelineInfo"]["name"].as_str().unwrap_or("");
        Ok(format!(
            "# The Kubeflow Pipelines v2 IR of the Millrace pipeline `{name}`, written by\n\
             # `compile --target kfp`; recompile instead of editing.\n{yaml}"
        ))
    }
}

/// The IR's name of a parameter type.
pub fn parameter_type(parameter_type: ParameterType) -> &'static str {
    match parameter_type {
        ParameterType::Int => "NUMBER_INTEGER",
        ParameterType::Double => "NUMBER_DOUBLE",
        ParameterType::String => "STRING",
        ParameterType::Bool => "BOOLEAN",
        ParameterType::List => "LIST",
        ParameterType::Struct => "STRUCT",
    }
}

/// The root's definition of a pipeline parameter: type, default, description.
fn root_parameter(parameter: &ParameterSpec) -> Value {
    let mut definition = Map::new();
    definition.insert(
        "parameterType".into(),
        parameter_type(parameter.parameter_type).into(),
    );
    if let Some(default) = &parameter.default {
        definition.insert("defaultValue".into(), default.clone());
        definition.insert("isOptional".into(), true.into());
    }
    if let Some(description) = &parameter.description {
        definition.insert("description".into(), description.clone().into());
    }
    Value::Object(definition)
}

/// The input definitions of a component taking every pipeline parameter, each under
/// `prefix` + its name.
pub(crate) fn parameter_inputs(pipeline: &Pipeline, prefix: &str) -> Value {
    let parameters: Map<String, Value> = pipeline
        .spec()
        .parameters
        .iter()
        .map(|parameter| {
            (
                format!("{prefix}{}", parameter.name),
                json!({"parameterType": parameter_type(parameter.parameter_type)}),
            )
        })
        .collect();
    json!({ "parameters": parameters })
}

/// A task's inputs: every pipeline parameter, from the enclosing component's input `prefix` +
/// its name.
fn task_parameters(pipeline: &Pipeline, prefix: &str) -> Value {
    let parameters: Map<String, Value> = pipeline
        .spec()
        .parameters
        .iter()
        .map(|parameter| {
            (
                parameter.name.clone(),
                json!({"componentInputParameter": format!("{prefix}{}", parameter.name)}),
            )
        })
        .collect();
    json!({ "parameters": parameters })
}

/// The shell script of nodes that may be skipped: runs the binary (`$0`) with its arguments
/// and turns the skip exit code into success. Nothing of the user's is in it.
fn skip_script() -> String {
    format!(
        "\"$0\" \"$@\"; status=$?; if [ \"$status\" -eq {SKIP_EXIT_CODE} ]; then echo \
         'skipped: the when condition of this node or of one upstream is false' >&2; exit 0; fi; \
         exit \"$status\""
    )
}

/// The nodes `run-node` may skip: those with a `when` condition and every node downstream of
/// one (a node whose upstream node was skipped is skipped too).
fn skippable_nodes(pipeline: &Pipeline) -> BTreeSet<&str> {
    let mut skippable = BTreeSet::new();
    for node in pipeline.nodes_in_order() {
        if node.options.when.is_some()
            || node
                .upstream_node_ids()
                .iter()
                .any(|upstream| skippable.contains(upstream))
        {
            skippable.insert(node.id.as_str());
        }
    }
    skippable
}

/// The container executor of `node`.
pub(crate) fn executor(
    pipeline: &Pipeline,
    node: &NodeSpec,
    image: &str,
    options: &KfpOptions,
    shard_input: Option<&str>,
    skippable: bool,
) -> Result<Value, KfpError> {
    let mut arguments = vec![
        "run-node".to_owned(),
        "--run-id".to_owned(),
        RUN_ID_PLACEHOLDER.to_owned(),
        "--node".to_owned(),
        node.id.clone(),
    ];
    if let Some(input) = shard_input {
        arguments.push("--shard".to_owned());
        arguments.push(format!("{{{{$.inputs.parameters['{input}']}}}}"));
    }
    arguments.push("--fingerprint".to_owned());
    arguments.push(pipeline.fingerprint().to_hex());
    for parameter in &pipeline.spec().parameters {
        arguments.push("--param".to_owned());
        arguments.push(format!(
            "{name}={{{{$.inputs.parameters['{name}']}}}}",
            name = parameter.name
        ));
    }
    let (command, args) = if skippable {
        let mut args = vec![options.binary.clone()];
        args.extend(arguments);
        (vec!["sh".to_owned(), "-c".to_owned(), skip_script()], args)
    } else {
        (vec![options.binary.clone()], arguments)
    };
    let mut container = Map::new();
    container.insert("image".into(), image.into());
    container.insert("command".into(), json!(command));
    container.insert("args".into(), json!(args));
    let mut env = Vec::new();
    if let Some(store) = &options.store {
        env.push(json!({"name": "MILLRACE_STORE", "value": store}));
    }
    if let Some(root) = &options.root {
        env.push(json!({"name": "MILLRACE_ROOT", "value": root}));
    }
    if !env.is_empty() {
        container.insert("env".into(), Value::Array(env));
    }
    if let Some(resources) = container_resources(node, options)? {
        container.insert("resources".into(), resources);
    }
    Ok(json!({ "container": container }))
}

/// The retry policy of a node's task, when it retries.
pub(crate) fn retry_policy(node: &NodeSpec) -> Option<Value> {
    let retry = &node.options.retry;
    (retry.max_retries > 0).then(|| {
        json!({
            "maxRetryCount": retry.max_retries,
            "backoffDuration": seconds(retry.initial_backoff_ms),
            "backoffFactor": retry.multiplier,
            "backoffMaxDuration": seconds(retry.max_backoff_ms),
        })
    })
}

/// A proto3 JSON `Duration`: seconds with up to nine decimals and an `s`.
fn seconds(milliseconds: u64) -> String {
    let whole = milliseconds / 1000;
    match milliseconds % 1000 {
        0 => format!("{whole}s"),
        fraction => format!("{whole}.{fraction:03}s"),
    }
}

/// The task of `node` in a DAG whose component passes the pipeline parameters as
/// `prefix` + name.
pub(crate) fn task(
    pipeline: &Pipeline,
    node: &NodeSpec,
    names: &BTreeMap<String, String>,
    prefix: &str,
    exit_handler: bool,
) -> Result<Value, KfpError> {
    let name = &names[&node.id];
    let mut task = Map::new();
    // Millrace caches itself (by fingerprint, in its metadata store); KFP's cache would skip
    // `run-node` and leave the run's record without the node.
    task.insert("cachingOptions".into(), json!({}));
    task.insert(
        "componentRef".into(),
        json!({"name": format!("comp-{name}")}),
    );
    let mut upstream: Vec<&str> = if exit_handler {
        vec![EXIT_HANDLER_GROUP]
    } else {
        node.upstream_node_ids()
            .into_iter()
            .map(|id| {
                names.get(id).map(String::as_str).ok_or_else(|| {
                    KfpError::Pipeline(format!(
                        "node `{}` depends on `{id}`, which the pipeline does not have",
                        node.id
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    upstream.sort_unstable();
    upstream.dedup();
    if !upstream.is_empty() {
        task.insert("dependentTasks".into(), json!(upstream));
    }
    if !pipeline.spec().parameters.is_empty() {
        task.insert("inputs".into(), task_parameters(pipeline, prefix));
    }
    if let Some(retry) = retry_policy(node) {
        task.insert("retryPolicy".into(), retry);
    }
    task.insert("taskInfo".into(), json!({"name": name}));
    let strategy = match (exit_handler, node.options.trigger_rule) {
        (true, _) | (false, TriggerRule::AllDone) => Some("ALL_UPSTREAM_TASKS_COMPLETED"),
        (false, TriggerRule::AllSuccess) => None,
        (false, TriggerRule::OneFailed) => {
            return Err(KfpError::Unsupported {
                node: node.id.clone(),
                why: "the trigger rule one_failed has no KFP trigger policy (KFP knows \
                      ALL_UPSTREAM_TASKS_SUCCEEDED and ALL_UPSTREAM_TASKS_COMPLETED); make the \
                      node the exit handler, or use all_done and check the upstream states in \
                      the node"
                    .to_owned(),
            });
        }
    };
    if let Some(strategy) = strategy {
        task.insert("triggerPolicy".into(), json!({"strategy": strategy}));
    }
    Ok(Value::Object(task))
}

/// Compiles `pipeline` to a KFP v2 `PipelineSpec`.
///
/// Every node, resolvers and importers included, is a task running
/// `<binary> run-node --run-id {{$.pipeline_job_uuid}} --node N --fingerprint F --param ...` in
/// the node's image (or `options.image`). Fails listing every node without an image, and on a
/// trigger rule KFP cannot express (`one_failed`).
pub fn compile_pipeline_spec(
    pipeline: &Pipeline,
    options: &KfpOptions,
) -> Result<KfpPipeline, KfpError> {
    let secret_options = [
        ("metadata store", "MILLRACE_STORE", &options.store),
        ("artifact root", "MILLRACE_ROOT", &options.root),
    ];
    for (option, variable, value) in secret_options {
        if let Some(value) = value.as_deref().filter(|value| holds_secret(value)) {
            return Err(KfpError::SecretInOption {
                option,
                variable,
                redacted: redact_secrets(value).into_owned(),
            });
        }
    }
    let spec = pipeline.spec();
    let missing: Vec<String> = spec
        .nodes
        .iter()
        .filter(|node| node.options.image.is_none() && options.image.is_none())
        .map(|node| node.id.clone())
        .collect();
    if !missing.is_empty() {
        return Err(KfpError::MissingImages(missing));
    }
    let names = task_names(pipeline.nodes_in_order().map(|node| node.id.as_str()));
    let exit_handler = spec.exit_handler.as_deref();

    let mut components = Map::new();
    let mut executors = Map::new();
    let mut body_tasks = Map::new();
    let mut root_tasks = Map::new();
    let grouped = exit_handler.is_some();
    let skippable = skippable_nodes(pipeline);
    for node in pipeline.nodes_in_order() {
        let may_skip = skippable.contains(node.id.as_str());
        let name = &names[&node.id];
        let image = node
            .options
            .image
            .as_deref()
            .or(options.image.as_deref())
            .unwrap_or_default();
        executors.insert(
            format!("exec-{name}"),
            executor(pipeline, node, image, options, None, may_skip)?,
        );
        let mut component = Map::new();
        component.insert("executorLabel".into(), format!("exec-{name}").into());
        if !spec.parameters.is_empty() {
            component.insert("inputDefinitions".into(), parameter_inputs(pipeline, ""));
        }
        components.insert(format!("comp-{name}"), Value::Object(component));
        let is_exit = exit_handler == Some(node.id.as_str());
        let (dag, prefix) = if grouped && !is_exit {
            (&mut body_tasks, CHANNEL_PREFIX)
        } else {
            (&mut root_tasks, "")
        };
        let mut node_task = task(pipeline, node, &names, prefix, is_exit)?;
        if let Some(count) = node.options.shards {
            let fan_out = crate::shards::ShardFanOut {
                pipeline,
                node,
                name,
                image,
                options,
                names: &names,
                prefix,
                skippable: may_skip,
            };
            fan_out.add(count, &mut components, &mut executors, dag, &mut node_task)?;
        }
        dag.insert(name.clone(), node_task);
    }
    if grouped {
        let mut group = Map::new();
        group.insert("dag".into(), json!({ "tasks": body_tasks }));
        if !spec.parameters.is_empty() {
            group.insert(
                "inputDefinitions".into(),
                parameter_inputs(pipeline, CHANNEL_PREFIX),
            );
        }
        components.insert(format!("comp-{EXIT_HANDLER_GROUP}"), Value::Object(group));
        let mut group_task = Map::new();
        group_task.insert(
            "componentRef".into(),
            json!({"name": format!("comp-{EXIT_HANDLER_GROUP}")}),
        );
        if !spec.parameters.is_empty() {
            let parameters: Map<String, Value> = spec
                .parameters
                .iter()
                .map(|parameter| {
                    (
                        format!("{CHANNEL_PREFIX}{}", parameter.name),
                        json!({"componentInputParameter": parameter.name}),
                    )
                })
                .collect();
            group_task.insert("inputs".into(), json!({ "parameters": parameters }));
        }
        group_task.insert("taskInfo".into(), json!({"name": EXIT_HANDLER_GROUP}));
        root_tasks.insert(EXIT_HANDLER_GROUP.to_owned(), Value::Object(group_task));
    }

    let mut root = Map::new();
    root.insert("dag".into(), json!({ "tasks": root_tasks }));
    if !spec.parameters.is_empty() {
        let parameters: Map<String, Value> = spec
            .parameters
            .iter()
            .map(|parameter| (parameter.name.clone(), root_parameter(parameter)))
            .collect();
        root.insert(
            "inputDefinitions".into(),
            json!({ "parameters": parameters }),
        );
    }

    let mut pipeline_info = Map::new();
    pipeline_info.insert("name".into(), crate::task_name::sanitize(&spec.name).into());
    if let Some(description) = &spec.description {
        pipeline_info.insert("description".into(), description.clone().into());
    }
    let mut document = Map::new();
    document.insert("components".into(), Value::Object(components));
    // KFP and Vertex write their own outputs under the pipeline root, which must be an
    // object-store URL: the options' root, else the pipeline's own when it is one.
    let object_store_root = options
        .root
        .as_ref()
        .or(spec.root.as_ref())
        .filter(|root| root.contains("://"));
    if let Some(root) = object_store_root {
        document.insert("defaultPipelineRoot".into(), root.clone().into());
    }
    document.insert("deploymentSpec".into(), json!({ "executors": executors }));
    document.insert("pipelineInfo".into(), Value::Object(pipeline_info));
    document.insert("root".into(), Value::Object(root));
    document.insert("schemaVersion".into(), SCHEMA_VERSION.into());
    document.insert(
        "sdkVersion".into(),
        format!("millrace-{}", env!("CARGO_PKG_VERSION")).into(),
    );
    Ok(KfpPipeline {
        spec: Value::Object(document),
        task_names: names,
    })
}
