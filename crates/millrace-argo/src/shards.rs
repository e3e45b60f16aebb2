//! A sharded node in Argo: one DAG task fanned out over its shard indices with `withItems`,
//! then the node's own task, the merge.
//!
//! For a node `n` with `shards: k`, the DAG gets a task `n-shards` running the template
//! `n-shard` — the node's container template with `--shard {{inputs.parameters.shard}}` and an
//! input parameter `shard` — once per item of `withItems: ["0", …, "k-1"]`, each given
//! `shard: "{{item}}"`. It waits for the node's upstream tasks through the node's `depends`;
//! the node's task waits for `n-shards`, which Argo resolves only when every item has ended
//! (the merge's `depends` is `n-shards.Succeeded`: every item succeeded). Each item retries with the node's
//! `retryStrategy`, as a pod of its own.

use millrace_core::spec::NodeSpec;
use serde_json::{Value, json};

use crate::ArgoError;
use crate::names::TaskNames;
use crate::template::{Shared, container_template};

/// The input parameter of a shard's template that holds its index.
const SHARD_PARAMETER: &str = "shard";

/// The names of a sharded node's fan-out: the DAG task and its template.
pub(crate) fn shard_names(
    name: &str,
    names: &TaskNames,
    node: &NodeSpec,
) -> Result<(String, String), ArgoError> {
    let (task, template) = (format!("{name}-shards"), format!("{name}-shard"));
    if names
        .iter()
        .any(|(_, taken)| taken == task || taken == template)
    {
        return Err(ArgoError::Pipeline(format!(
            "node `{}` is sharded, and another node's task is called `{task}` or `{template}`, \
             the names of its shard tasks: rename one",
            node.id
        )));
    }
    Ok((task, template))
}

/// The template a shard runs: the node's, with `--shard` from the input parameter.
pub(crate) fn shard_template(
    node: &NodeSpec,
    template_name: &str,
    image: &str,
    shared: &Shared<'_>,
) -> Value {
    let mut template = container_template(node, template_name, image, shared);
    if let Some(Value::Array(args)) = template["container"].get_mut("args") {
        // After `run-node --run-id ID --node NODE`.
        let at = args.len().min(5);
        args.insert(at, json!("--shard"));
        args.insert(
            at + 1,
            json!(format!("{{{{inputs.parameters.{SHARD_PARAMETER}}}}}")),
        );
    }
    template["inputs"] = json!({ "parameters": [{ "name": SHARD_PARAMETER }] });
    template
}

/// The DAG task fanning the shards out, waiting as the node would (`depends`).
pub(crate) fn shard_task(
    task_name: &str,
    template_name: &str,
    count: u32,
    depends: Option<&str>,
) -> Value {
    let items: Vec<String> = (0..count).map(|index| index.to_string()).collect();
    let mut task = json!({
        "name": task_name,
        "template": template_name,
        "arguments": { "parameters": [{ "name": SHARD_PARAMETER, "value": "{{item}}" }] },
        "withItems": items,
    });
    if let Some(expression) = depends {
        task["depends"] = json!(expression);
    }
    task
}
