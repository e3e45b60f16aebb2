//! Sharded nodes: a shard task runs the node's component on one shard of its examples; the
//! merge task runs it once more to combine the shards' outputs into the node's own.
//!
//! Each shard is recorded as a node of its own in the metadata store, `<node>.shard-<i>`
//! ([`shard_task_id`]): its own context, executions (RUNNING → COMPLETE or FAILED, retried as
//! new executions), PENDING → LIVE outputs and cache entries, exactly like any node. The merge
//! is the node itself: one execution whose INPUT events are the node's inputs and, under
//! `<output>.shards`, every shard's artifact of that output in shard order, and whose OUTPUT
//! events are the node's outputs — so downstream nodes, resolvers and lineage see one node
//! whose outputs were derived from its shards. Caching follows: a shard's key is the node's
//! key plus `(index, count)`; the merge's key holds the shards' artifact ids, so it is reused
//! exactly when every shard was.

use std::collections::BTreeMap;

use millrace_core::spec::{ChannelRef, NodeSpec, ShardRole, shard_parts_input, shard_task_id};
use millrace_metadata::Value;

use super::NodeLauncher;
use super::inputs::Inputs;
use crate::error::{Result, RunnerError};
use crate::launcher::NodeOutcome;
use crate::properties;

/// The execution properties that say what an execution does of a sharded node.
pub(super) fn shard_properties(role: ShardRole) -> Vec<(&'static str, Value)> {
    match role {
        ShardRole::Whole => Vec::new(),
        ShardRole::Shard { index, count } => vec![
            (properties::SHARD_INDEX, Value::Int(i64::from(index))),
            (properties::SHARD_COUNT, Value::Int(i64::from(count))),
        ],
        ShardRole::Merge { count } => {
            vec![(properties::SHARD_COUNT, Value::Int(i64::from(count)))]
        }
    }
}

/// Shard `index` of `node` as a node of its own: the same component, inputs and options, under
/// the shard task's id.
pub(super) fn shard_node(node: &NodeSpec, index: u32) -> Result<(NodeSpec, ShardRole)> {
    let Some(count) = node.options.shards else {
        return Err(RunnerError::InvalidNode {
            node: node.id.clone(),
            reason: format!("it has no shards, so there is no shard {index}"),
        });
    };
    if index >= count {
        return Err(RunnerError::InvalidNode {
            node: node.id.clone(),
            reason: format!("it has {count} shard(s), numbered from 0: there is no shard {index}"),
        });
    }
    let mut shard = node.clone();
    shard.id = shard_task_id(&node.id, index);
    shard.options.shards = None;
    Ok((shard, ShardRole::Shard { index, count }))
}

impl NodeLauncher<'_> {
    /// Adds to a merge's inputs every shard's artifacts of each of the node's outputs, in shard
    /// order, or says which shard holds none in this run.
    pub(super) async fn add_shard_parts(
        &self,
        node: &NodeSpec,
        count: u32,
        inputs: &mut Inputs,
    ) -> Result<std::result::Result<(), NodeOutcome>> {
        let mut parts: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for output in node.outputs.keys() {
            for index in 0..count {
                let channel = ChannelRef {
                    node: shard_task_id(&node.id, index),
                    output: output.clone(),
                };
                let mut found = self.channel_in_run(&channel).await?;
                if found.len() != 1 {
                    let message = format!(
                        "shard {index} of {count} has no output `{output}` in this run: run \
                         `{}` before the merge",
                        channel.node
                    );
                    return self.record_failure(node, inputs, message).await.map(Err);
                }
                parts
                    .entry(shard_parts_input(output))
                    .or_default()
                    .append(&mut found);
            }
        }
        inputs.extend(parts);
        Ok(Ok(()))
    }
}
