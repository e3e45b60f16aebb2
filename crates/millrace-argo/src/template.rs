//! The container template of one node: `run-node` for the node, in its image, with its retry
//! strategy, deadline and resources.

use millrace_core::spec::{NodeSpec, RetryPolicy};
use serde_json::{Value, json};

use crate::names::NODE_ANNOTATION;

/// The exit code with which `run-node` reports a node skipped by its `when` condition.
///
/// Argo has no way to turn a container's exit code into the `Skipped` phase: the task ends
/// `Failed`. The retry strategy does not retry it (its `retryStrategy` expression), and downstream tasks
/// with `all_success` do not run, as Millrace's own runner does for a skipped upstream node.
/// The run as a whole ends `Failed` in Argo where Millrace's runner would report success.
pub const SKIP_EXIT_CODE: u8 = 99;

/// The name of the container in every template.
pub const CONTAINER: &str = "run-node";

/// The resource name Kubernetes' NVIDIA device plugin offers GPUs under.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// What every task shares: the binary, the fingerprint, the Secret and the parameter names.
#[derive(Debug, Clone)]
pub(crate) struct Shared<'a> {
    pub binary: &'a str,
    pub fingerprint: String,
    pub secret: &'a str,
    pub parameters: Vec<&'a str>,
}

/// The arguments of `run-node` for node `id`. The run id is the workflow's name; parameters
/// are passed as `--param NAME={{workflow.parameters.NAME}}` (names are identifiers, so the
/// only template text is Argo's own). The node id is a validated id: no `{{`.
pub(crate) fn run_node_arguments(id: &str, shared: &Shared<'_>) -> Vec<String> {
    let mut arguments = vec![
        "run-node".to_owned(),
        "--run-id".to_owned(),
        "{{workflow.name}}".to_owned(),
        "--node".to_owned(),
        id.to_owned(),
        "--fingerprint".to_owned(),
        shared.fingerprint.clone(),
    ];
    for name in &shared.parameters {
        arguments.push("--param".to_owned());
        arguments.push(format!("{name}={{{{workflow.parameters.{name}}}}}"));
    }
    arguments
}

/// A Go duration for `ms` milliseconds, in seconds when whole.
pub(crate) fn duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The template's `retryStrategy`, when the node is retried: every failure is retried
/// (`Always`) but a skip ([`SKIP_EXIT_CODE`]), after `duration × factorⁿ`.
///
/// The node's longest wait (`max_backoff_ms`) is the backoff's `cap`; Argo's
/// `backoff.maxDuration` bounds the whole retrying instead, which Millrace does not, and is not
/// written.
pub(crate) fn retry_strategy(retry: &RetryPolicy) -> Option<Value> {
    if retry.max_retries == 0 {
        return None;
    }
    let mut backoff = json!({
        "duration": duration(retry.initial_backoff_ms),
        "cap": duration(retry.max_backoff_ms),
    });
    if retry.multiplier > 1.0 {
        // IntOrString: an integer when whole, else the decimal as a string.
        backoff["factor"] = if retry.multiplier.fract() == 0.0 && retry.multiplier < 1e9 {
            json!(retry.multiplier as i64)
        } else {
            json!(retry.multiplier.to_string())
        };
    }
    Some(json!({
        "limit": retry.max_retries,
        "retryPolicy": "Always",
        "expression": format!("asInt(lastRetry.exitCode) != {SKIP_EXIT_CODE}"),
        "backoff": backoff,
    }))
}

fn resources(node: &NodeSpec) -> Option<Value> {
    let wanted = &node.options.resources;
    let mut requests = serde_json::Map::new();
    let mut limits = serde_json::Map::new();
    if let Some(cpu) = &wanted.cpu {
        requests.insert("cpu".to_owned(), json!(cpu));
    }
    if let Some(memory) = &wanted.memory {
        requests.insert("memory".to_owned(), json!(memory));
        limits.insert("memory".to_owned(), json!(memory));
    }
    if let Some(gpu) = wanted.gpu.filter(|gpu| *gpu > 0) {
        limits.insert(GPU_RESOURCE.to_owned(), json!(gpu.to_string()));
    }
    let mut value = serde_json::Map::new();
    if !requests.is_empty() {
        value.insert("requests".to_owned(), Value::Object(requests));
    }
    if !limits.is_empty() {
        value.insert("limits".to_owned(), Value::Object(limits));
    }
    (!value.is_empty()).then_some(Value::Object(value))
}

/// The container template named `name` that runs `node` in `image`.
pub(crate) fn container_template(
    node: &NodeSpec,
    name: &str,
    image: &str,
    shared: &Shared<'_>,
) -> Value {
    let from_secret = |variable: &str| {
        json!({
            "name": variable,
            "valueFrom": { "secretKeyRef": { "name": shared.secret, "key": variable } },
        })
    };
    let mut container = json!({
        "name": CONTAINER,
        "image": image,
        "command": [shared.binary],
        "args": run_node_arguments(&node.id, shared),
        "env": [from_secret("MILLRACE_STORE"), from_secret("MILLRACE_ROOT")],
    });
    if let Some(resources) = resources(node) {
        container["resources"] = resources;
    }
    let mut template = json!({
        "name": name,
        "metadata": { "annotations": { NODE_ANNOTATION: node.id } },
        "container": container,
    });
    if let Some(retry) = retry_strategy(&node.options.retry) {
        template["retryStrategy"] = retry;
    }
    if let Some(ms) = node.options.timeout_ms {
        template["activeDeadlineSeconds"] = json!(ms.div_ceil(1000).max(1));
    }
    template
}
