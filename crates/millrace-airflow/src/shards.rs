//! Sharded nodes in Airflow: dynamic task mapping.
//!
//! For a node `n` with `shards: k`, the DAG gets one mapped task `n.shards` — the node's
//! operator (a `BashOperator`, or a `KubernetesPodOperator` for a node with an image) built with
//! `.partial(...)` from the node's settings and `.expand(...)` over the `k` commands
//! `run-node … --node n --shard i` — so Airflow creates `k` task instances at run time, each
//! retried on its own. The upstream edges of `n` lead to `n.shards`, and `n.shards` leads to `n`,
//! whose task (the merge) waits for every mapped instance to succeed. `k` must stay within
//! Airflow's `max_map_length` (1024 by default).

use std::fmt::Write as _;

use millrace_core::Pipeline;

use crate::dag::{SKIP_EXIT_CODE, pod_resources, task_settings};
use crate::python::string;

/// The task id of a sharded node's mapped task: `<node>.shards` (node ids contain no `.`).
pub(crate) fn mapped_task_id(node: &str) -> String {
    format!("{node}.shards")
}

/// The mapped task of every sharded node.
pub(crate) fn write_sharded_tasks(
    out: &mut String,
    pipeline: &Pipeline,
    exit_handler: Option<&str>,
) {
    let sharded: Vec<_> = pipeline
        .nodes_in_order()
        .filter(|node| node.options.shards.is_some())
        .collect();
    if sharded.is_empty() {
        return;
    }
    out.push_str(
        "    # Sharded nodes: one mapped task per node, an instance per shard (dynamic task\n\
         \x20   # mapping); the node's own task merges the shards' outputs.\n",
    );
    for node in sharded {
        let count = node.options.shards.unwrap_or(1);
        let is_exit = exit_handler == Some(node.id.as_str());
        let mapped = mapped_task_id(&node.id);
        let mut arguments = vec![format!("task_id={}", string(&mapped))];
        arguments.extend(
            task_settings(node, is_exit)
                .into_iter()
                .map(|(key, setting)| format!("{key}={setting}")),
        );
        arguments.push(format!("skip_on_exit_code={SKIP_EXIT_CODE}"));
        let expansion = match &node.options.image {
            None => {
                arguments.push("env=ENV".to_owned());
                arguments.push("append_env=True".to_owned());
                format!(
                    "BashOperator.partial(\n        {},\n    ).expand(\n        \
                     bash_command=[RUN_NODE + {} + \" --shard \" + str(shard) for shard in range({count})],\n    )",
                    arguments.join(",\n        "),
                    string(&node.id),
                )
            }
            Some(image) => {
                arguments.push(format!(
                    "name={}",
                    string(&format!(
                        "{}-shard",
                        node.id.replace('_', "-").to_lowercase()
                    ))
                ));
                arguments.push(format!("image=literal({})", string(image)));
                arguments.push("cmds=[ENV[\"MILLRACE_BINARY\"]]".to_owned());
                arguments.push(
                    "env_vars={name: setting for name, setting in ENV.items() if name != \"MILLRACE_BINARY\"}"
                        .to_owned(),
                );
                if let Some(resources) = pod_resources(&node.options.resources) {
                    arguments.push(resources);
                }
                format!(
                    "KubernetesPodOperator.partial(\n        {},\n    ).expand(\n        \
                     arguments=[[\"run-node\", \"--run-id\", \"{{{{ run_id }}}}\", \"--node\", {}, \
                     \"--shard\", str(shard)] for shard in range({count})],\n    )",
                    arguments.join(",\n        "),
                    string(&node.id),
                )
            }
        };
        let _ = writeln!(out, "    tasks[{}] = {expansion}", string(&mapped));
    }
}
