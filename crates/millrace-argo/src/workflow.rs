//! The manifest: a `Workflow`, `WorkflowTemplate` or `CronWorkflow` whose DAG has one task per
//! node of the pipeline.

use millrace_core::Pipeline;
use millrace_core::spec::{ParameterSpec, TriggerRule};
use serde_json::{Value, json};

use crate::ArgoError;
use crate::depends::depends;
use crate::names::{TaskNames, dns_label};
use crate::options::{ArgoOptions, ManifestKind};
use crate::schedule::cron_workflow_spec;
use crate::shards::{shard_names, shard_task, shard_template};
use crate::template::{Shared, container_template};

/// The API version of every manifest.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";

/// The name of the DAG template (the entrypoint); no node's template takes it.
pub const DAG_TEMPLATE: &str = "main";

/// The label holding the pipeline's name.
pub const PIPELINE_LABEL: &str = "millrace.dev/pipeline";

/// The annotation holding the pipeline's fingerprint.
pub const FINGERPRINT_ANNOTATION: &str = "millrace.dev/fingerprint";

/// An Argo manifest of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoManifest {
    /// The manifest as JSON (what Argo's schema describes).
    pub value: Value,
    /// The Argo task name of every node.
    pub names: TaskNames,
}

impl ArgoManifest {
    /// The manifest as one YAML document.
    pub fn to_yaml(&self) -> Result<String, ArgoError> {
        let yaml = serde_saphyr::to_string(&self.value).map_err(|error| ArgoError::Yaml {
            kind: self.value["kind"].as_str().unwrap_or("").to_owned(),
            name: self.value["metadata"]["name"]
                .as_str()
                .or(self.value["metadata"]["generateName"].as_str())
                .unwrap_or("")
                .to_owned(),
            message: error.to_string(),
        })?;
        Ok(format!("---\n{yaml}"))
    }
}

/// A parameter's value as Argo's string: strings as they are (what `run-node --param` reads
/// as a string), other values as JSON text (which the parameter's type parses).
fn parameter_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn argument(parameter: &ParameterSpec) -> Value {
    let mut argument = json!({ "name": parameter.name });
    if let Some(default) = &parameter.default {
        argument["value"] = json!(parameter_text(default));
    }
    if let Some(description) = &parameter.description {
        argument["description"] = json!(description);
    }
    argument
}

/// Compiles `pipeline` to the Argo manifest `options.kind` says.
///
/// Every node (components, resolvers and importers alike) is a DAG task running
/// `run-node`; the exit handler is not a task but `spec.onExit`.
pub fn compile(pipeline: &Pipeline, options: &ArgoOptions) -> Result<ArgoManifest, ArgoError> {
    let spec = pipeline.spec();
    let exit_handler = spec.exit_handler.as_deref();
    let without_image: Vec<String> = spec
        .nodes
        .iter()
        .filter(|node| node.options.image.is_none() && options.image.is_none())
        .map(|node| node.id.clone())
        .collect();
    if !without_image.is_empty() {
        return Err(ArgoError::NoImage {
            nodes: without_image,
        });
    }
    let names = TaskNames::new(
        pipeline.nodes_in_order().map(|node| node.id.as_str()),
        &[DAG_TEMPLATE],
    );
    let shared = Shared {
        binary: &options.binary,
        fingerprint: pipeline.fingerprint().to_hex(),
        secret: &options.secret,
        parameters: spec.parameters.iter().map(|p| p.name.as_str()).collect(),
    };

    let mut tasks = Vec::new();
    let mut templates = Vec::new();
    for node in pipeline.nodes_in_order() {
        let name = names.of(&node.id).unwrap_or_default();
        let image = node
            .options
            .image
            .as_deref()
            .or(options.image.as_deref())
            .unwrap_or_default();
        templates.push(container_template(node, name, image, &shared));
        if exit_handler == Some(node.id.as_str()) {
            continue;
        }
        let mut upstream = Vec::new();
        for id in node.upstream_node_ids() {
            if exit_handler == Some(id) {
                return Err(ArgoError::Pipeline(format!(
                    "node `{}` reads the exit handler `{id}`, which runs after every task",
                    node.id
                )));
            }
            let upstream_name = names.of(id).ok_or_else(|| {
                ArgoError::Pipeline(format!(
                    "node `{}` depends on `{id}`, which the pipeline does not have",
                    node.id
                ))
            })?;
            upstream.push(upstream_name);
        }
        upstream.sort_unstable();
        upstream.dedup();
        let mut task = json!({ "name": name, "template": name });
        let expression = depends(&upstream, node.options.trigger_rule);
        match node.options.shards {
            Some(count) => {
                let (task_name, template_name) = shard_names(name, &names, node)?;
                templates.push(shard_template(node, &template_name, image, &shared));
                tasks.push(shard_task(
                    &task_name,
                    &template_name,
                    count,
                    expression.as_deref(),
                ));
                // The merge needs every shard to have succeeded.
                task["depends"] = json!(depends(&[&task_name], TriggerRule::AllSuccess));
            }
            None => {
                if let Some(expression) = expression {
                    task["depends"] = json!(expression);
                }
            }
        }
        tasks.push(task);
    }
    let mut all = vec![json!({ "name": DAG_TEMPLATE, "dag": { "tasks": tasks } })];
    all.extend(templates);

    let mut workflow_spec = json!({
        "entrypoint": DAG_TEMPLATE,
        "arguments": { "parameters": spec.parameters.iter().map(argument).collect::<Vec<_>>() },
        "templates": all,
    });
    if let Some(exit) = exit_handler {
        workflow_spec["onExit"] = json!(names.of(exit).unwrap_or_default());
    }
    if let Some(account) = &options.service_account {
        workflow_spec["serviceAccountName"] = json!(account);
    }

    let name = dns_label(&spec.name);
    let mut metadata = json!({
        "labels": { PIPELINE_LABEL: name },
        "annotations": { FINGERPRINT_ANNOTATION: shared.fingerprint },
    });
    if let Some(description) = &spec.description {
        metadata["annotations"]["workflows.argoproj.io/description"] = json!(description);
    }
    if let Some(namespace) = &options.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let (kind, spec_value) = match options.kind {
        ManifestKind::Workflow => {
            metadata["generateName"] = json!(format!("{name}-"));
            ("Workflow", workflow_spec)
        }
        ManifestKind::WorkflowTemplate => {
            metadata["name"] = json!(name);
            ("WorkflowTemplate", workflow_spec)
        }
        ManifestKind::CronWorkflow => {
            let schedule = spec
                .schedule
                .as_ref()
                .ok_or_else(|| ArgoError::NoSchedule(spec.name.clone()))?;
            metadata["name"] = json!(name);
            (
                "CronWorkflow",
                cron_workflow_spec(
                    schedule,
                    options
                        .timezone
                        .as_deref()
                        .or(schedule.timezone.as_deref())
                        .unwrap_or("UTC"),
                    workflow_spec,
                ),
            )
        }
    };
    Ok(ArgoManifest {
        value: json!({
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": metadata,
            "spec": spec_value,
        }),
        names,
    })
}
