//! Shards: a node that reads examples split into `n` parts, one task each, then merged.
//!
//! A node with `options.shards = Some(n)` runs as `n + 1` tasks under every runner: shard tasks
//! `0..n`, which need only the node's upstream nodes and may run in parallel, then the node's
//! merge task, which needs every shard. What a shard processes is the component's part: the data
//! components give shard `i` of `n` the rows `[⌊i·N/n⌋, ⌊(i+1)·N/n⌋)` of each split of `N`
//! rows (`millrace_tabular::shard`), so the shards together read every row exactly once, in
//! order. The merge task is the node itself: its outputs are what downstream nodes read, as if the node were not sharded.
//!
//! A shard task is addressed as `<node>.shard-<i>` ([`shard_task_id`]): that is its node id in
//! the metadata store (its context, its executions, its logs and output paths) and what
//! `run-node --node <node> --shard <i>` executes. Node ids in the IR contain no `.`, so a task id
//! never names a node of the pipeline.
//!
//! Cost: `n` tasks instead of one; each reads `1/n` of the row groups. What the merge costs
//! depends on the component (a statistics merge reads `n` sketches; Transform and BulkInferrer
//! copy the shards' files).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The separator between a node id and its shard index in a shard task's id.
const SEPARATOR: &str = ".shard-";

/// The id of shard `index` of node `node`: `<node>.shard-<index>`.
pub fn shard_task_id(node: &str, index: u32) -> String {
    format!("{node}{SEPARATOR}{index}")
}

/// One task of a node: the whole node (or its merge), or one shard of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardTask<'a> {
    /// The node.
    pub node: &'a str,
    /// The shard, or `None` for the node itself (its merge, when it is sharded).
    pub shard: Option<u32>,
}

impl<'a> ShardTask<'a> {
    /// Reads a task id: `<node>` or `<node>.shard-<i>`.
    pub fn parse(task_id: &'a str) -> Self {
        if let Some((node, text)) = task_id.rsplit_once(SEPARATOR)
            && let Ok(index) = text.parse::<u32>()
            && index.to_string() == text
        {
            return ShardTask {
                node,
                shard: Some(index),
            };
        }
        ShardTask {
            node: task_id,
            shard: None,
        }
    }
}

impl fmt::Display for ShardTask<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shard {
            Some(index) => write!(f, "{}{SEPARATOR}{index}", self.node),
            None => f.write_str(self.node),
        }
    }
}

/// What one execution of a component does: the whole node, one shard, or the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ShardRole {
    /// The whole node, as when it is not sharded.
    #[default]
    Whole,
    /// Shard `index` of `count`.
    Shard {
        /// Which shard, from 0.
        index: u32,
        /// How many shards.
        count: u32,
    },
    /// Combines the outputs of `count` shards, read through
    /// [`shard_parts_input`]`(output)`, into the node's outputs.
    Merge {
        /// How many shards.
        count: u32,
    },
}

/// The input under which a merge receives the shards' artifacts of output `output`, in shard
/// order: `<output>.shards` (input names in the IR contain no `.`).
pub fn shard_parts_input(output: &str) -> String {
    format!("{output}.shards")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_task_id_reads_back_as_its_node_and_index() {
        let id = shard_task_id("statistics_gen", 3);
        assert_eq!(id, "statistics_gen.shard-3");
        let task = ShardTask::parse(&id);
        assert_eq!(task.node, "statistics_gen");
        assert_eq!(task.shard, Some(3));
        assert_eq!(task.to_string(), id);
    }

    #[test]
    fn a_plain_node_id_is_the_node_itself() {
        for id in [
            "statistics_gen",
            "a-shard-1",
            "x.shard-",
            "x.shard-01",
            "x.shard-+1",
        ] {
            let task = ShardTask::parse(id);
            assert_eq!((task.node, task.shard), (id, None), "{id}");
        }
    }
}
