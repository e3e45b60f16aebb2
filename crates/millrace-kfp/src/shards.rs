//! A sharded node in KFP: a `ParallelFor` over its shard indices, then the node's own task.
//!
//! For a node `n` with `shards: k`, the DAG holding the node gets a loop task `n-shards` — a
//! `parameterIterator` over the raw list `["0", …, "k-1"]` (strings: they reach `run-node
//! --shard` through a placeholder exactly as written) — whose component `comp-n-shards` is a DAG
//! of one task, `n-shard`, running `run-node --node n --shard {{$.inputs.parameters['shard']}}`
//! with the node's image, resources and retry policy. The loop task waits for the node's upstream
//! tasks (with the node's trigger policy); the node's own task — the merge — waits for the loop,
//! that is for every iteration, and downstream tasks wait for the node as before. What `kfp`'s
//! `dsl.ParallelFor(items)` writes, without its `iteratorPolicy` (every shard may run at once;
//! the engine's own limits apply).

use std::collections::BTreeMap;

use millrace_core::Pipeline;
use millrace_core::spec::NodeSpec;
use serde_json::{Map, Value, json};

use crate::pipeline_spec::{CHANNEL_PREFIX, executor, parameter_inputs, retry_policy};
use crate::{KfpError, KfpOptions};

/// The input of a shard's component that holds its index.
const SHARD_INPUT: &str = "shard";

/// What the fan-out of one sharded node needs to know.
pub(crate) struct ShardFanOut<'a> {
    pub(crate) pipeline: &'a Pipeline,
    pub(crate) node: &'a NodeSpec,
    /// The node's task name.
    pub(crate) name: &'a str,
    pub(crate) image: &'a str,
    pub(crate) options: &'a KfpOptions,
    pub(crate) names: &'a BTreeMap<String, String>,
    /// How the enclosing DAG's component names the pipeline parameters.
    pub(crate) prefix: &'a str,
    /// Whether the node may be skipped (its condition, or an upstream skip).
    pub(crate) skippable: bool,
}

impl ShardFanOut<'_> {
    /// Adds the loop task (and its components and executor) to `dag`, and makes `node_task`, the
    /// merge, wait for it.
    pub(crate) fn add(
        &self,
        count: u32,
        components: &mut Map<String, Value>,
        executors: &mut Map<String, Value>,
        dag: &mut Map<String, Value>,
        node_task: &mut Value,
    ) -> Result<(), KfpError> {
        let loop_name = format!("{}-shards", self.name);
        let shard_name = format!("{}-shard", self.name);
        if self
            .names
            .values()
            .any(|name| *name == loop_name || *name == shard_name)
        {
            return Err(KfpError::Pipeline(format!(
                "node `{}` is sharded, and another node's task is called `{loop_name}` or \
                 `{shard_name}`, the names of its shard tasks: rename one",
                self.node.id
            )));
        }
        let item_input = format!("{CHANNEL_PREFIX}{loop_name}-item");
        let parameters = &self.pipeline.spec().parameters;

        // The shard's executor and component: the node's, with `--shard`.
        executors.insert(
            format!("exec-{shard_name}"),
            executor(
                self.pipeline,
                self.node,
                self.image,
                self.options,
                Some(SHARD_INPUT),
                self.skippable,
            )?,
        );
        let mut shard_inputs = parameter_inputs(self.pipeline, "");
        shard_inputs["parameters"][SHARD_INPUT] = json!({"parameterType": "STRING"});
        components.insert(
            format!("comp-{shard_name}"),
            json!({
                "executorLabel": format!("exec-{shard_name}"),
                "inputDefinitions": shard_inputs,
            }),
        );

        // The loop's component: a DAG of the one shard task, given the item and the parameters.
        let mut shard_task = Map::new();
        shard_task.insert("cachingOptions".into(), json!({}));
        shard_task.insert(
            "componentRef".into(),
            json!({"name": format!("comp-{shard_name}")}),
        );
        let mut task_inputs: Map<String, Value> = parameters
            .iter()
            .map(|parameter| {
                (
                    parameter.name.clone(),
                    json!({"componentInputParameter": format!("{CHANNEL_PREFIX}{}", parameter.name)}),
                )
            })
            .collect();
        task_inputs.insert(
            SHARD_INPUT.into(),
            json!({"componentInputParameter": item_input}),
        );
        shard_task.insert("inputs".into(), json!({ "parameters": task_inputs }));
        if let Some(retry) = retry_policy(self.node) {
            shard_task.insert("retryPolicy".into(), retry);
        }
        shard_task.insert("taskInfo".into(), json!({"name": shard_name}));
        let mut loop_inputs = parameter_inputs(self.pipeline, CHANNEL_PREFIX);
        loop_inputs["parameters"][item_input.as_str()] = json!({"parameterType": "STRING"});
        components.insert(
            format!("comp-{loop_name}"),
            json!({
                "dag": { "tasks": { shard_name: Value::Object(shard_task) } },
                "inputDefinitions": loop_inputs,
            }),
        );

        // The loop task: where the node's task was, waiting for what it waited for.
        let Value::Object(merge) = node_task else {
            return Err(KfpError::Pipeline(format!(
                "the task of node `{}` is not an object",
                self.node.id
            )));
        };
        let mut loop_task = Map::new();
        loop_task.insert(
            "componentRef".into(),
            json!({"name": format!("comp-{loop_name}")}),
        );
        for key in ["dependentTasks", "triggerPolicy"] {
            if let Some(value) = merge.get(key) {
                loop_task.insert(key.into(), value.clone());
            }
        }
        if !parameters.is_empty() {
            let passed: Map<String, Value> = parameters
                .iter()
                .map(|parameter| {
                    (
                        format!("{CHANNEL_PREFIX}{}", parameter.name),
                        json!({"componentInputParameter": format!("{}{}", self.prefix, parameter.name)}),
                    )
                })
                .collect();
            loop_task.insert("inputs".into(), json!({ "parameters": passed }));
        }
        let items: Vec<String> = (0..count).map(|index| index.to_string()).collect();
        let raw =
            serde_json::to_string(&items).map_err(|error| KfpError::Pipeline(error.to_string()))?;
        loop_task.insert(
            "parameterIterator".into(),
            json!({"itemInput": item_input, "items": {"raw": raw}}),
        );
        loop_task.insert("taskInfo".into(), json!({"name": loop_name}));
        dag.insert(loop_name.clone(), Value::Object(loop_task));

        // The merge needs every shard: it waits for the loop, with the default policy.
        merge.insert("dependentTasks".into(), json!([loop_name]));
        merge.remove("triggerPolicy");
        Ok(())
    }
}
