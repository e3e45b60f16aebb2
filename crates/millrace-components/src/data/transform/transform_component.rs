//! The Transform component: fits preprocessing ops on the train split, applies them to every
//! split, and keeps the fitted graph as an artifact for serving.
//!
//! Sharded (`.shards(n)`), each shard fits the graph on the whole fit split — the same graph,
//! since fitting is deterministic — and applies it to its part of every split's rows
//! ([`millrace_tabular::shard`]); the merge keeps the graph (checking that the shards agree)
//! and links the shards' Parquet files into one Examples artifact that reads row for row as a
//! single task's. Fitting is repeated by every shard: sharding speeds up the apply, not the fit.

use millrace_core::prelude::*;
use millrace_core::spec::ShardRole;
use millrace_tabular::shard::assemble_examples;
use millrace_tabular::transform::apply_graph_to_shard;
use serde::{Deserialize, Serialize};

use super::{TRANSFORM_GRAPH_FILE, TransformOp};
use crate::Error;
use crate::data::examples_format;
use crate::data::parallel::default_threads;
use crate::data::statistics::statistics_gen::examples_properties;

// The library functions this module held before they moved to millrace-tabular, so that
// their old paths still work.
#[doc(no_inline)]
pub use millrace_tabular::transform::{apply_graph, fit_graph};

/// Preprocesses examples: `Transform::new(ingest.examples, ops)`.
///
/// The ops are fitted on the `fit_split` (train) and applied to every split; the fitted
/// TransformGraph artifact (`transform_graph.json`) is what serving applies to raw inputs, so
/// training and serving transform alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    /// The preprocessing ops, applied in order.
    pub ops: Vec<TransformOp>,
    /// Columns copied unchanged (the label, ids).
    #[serde(default)]
    pub passthrough: Vec<String>,
    /// The split the ops are fitted on.
    #[serde(default = "train_split")]
    pub fit_split: String,
}

fn train_split() -> String {
    "train".to_owned()
}

/// The input of Transform.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct TransformInputs {
    /// The examples to preprocess.
    pub examples: Channel<Examples>,
}

/// The outputs of Transform.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct TransformOutputs {
    /// The fitted ops, `transform_graph.json`.
    pub transform_graph: Channel<millrace_core::artifact::standard::TransformGraph>,
    /// Every split, transformed.
    pub transformed_examples: Channel<Examples>,
}

impl Transform {
    /// Preprocesses `examples` with `ops`, copying the `passthrough` columns.
    pub fn new(
        examples: Channel<Examples>,
        ops: Vec<TransformOp>,
        passthrough: &[&str],
    ) -> Node<Transform> {
        Transform {
            ops,
            passthrough: passthrough.iter().map(|name| (*name).to_owned()).collect(),
            fit_split: train_split(),
        }
        .with_inputs(TransformInputs { examples })
    }
}

impl Component for Transform {
    const KIND: &'static str = "millrace.Transform";
    const SHARDABLE: bool = true;
    type Inputs = TransformInputs;
    type Outputs = TransformOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for Transform {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.input::<Examples>("examples")?;
        let graph_output = context
            .output::<millrace_core::artifact::standard::TransformGraph>("transform_graph")?;
        let transformed = context.output::<Examples>("transformed_examples")?;
        let (split_names, span) = examples_properties(&examples);
        let splits = examples_format::splits_of(examples.uri(), split_names.as_deref())?;
        if !splits.contains(&self.fit_split) {
            return Err(Error::Configuration {
                component: "Transform".to_owned(),
                option: "fit_split".to_owned(),
                reason: format!(
                    "the ops are to be fitted on split `{}`, and the examples have {}",
                    self.fit_split,
                    splits.join(", ")
                ),
            }
            .into());
        }
        let threads = default_threads();
        let counts = match context.shard_role() {
            ShardRole::Merge { count } => merge_shards(
                context,
                count,
                graph_output.uri(),
                &splits,
                transformed.uri(),
            )?,
            role => {
                let shard = match role {
                    ShardRole::Shard { index, count } => (index, count),
                    _ => (0, 1),
                };
                // Every shard fits the graph on the whole fit split (a deterministic pass, so
                // they all fit the same one) and applies it to its own rows.
                let graph = fit_graph(
                    &self.ops,
                    self.passthrough.clone(),
                    examples.uri(),
                    &self.fit_split,
                    threads,
                )?;
                graph.save(&graph_output.uri().join(TRANSFORM_GRAPH_FILE))?;
                apply_graph_to_shard(
                    &graph,
                    examples.uri(),
                    &splits,
                    transformed.uri(),
                    shard,
                    threads,
                )?
            }
        };
        transformed.set_property(
            "split_names",
            examples_format::split_names_property(&splits),
        )?;
        if let Some(span) = span {
            transformed.set_property("span", span)?;
        }
        if let Some(version) = examples
            .property("version")
            .and_then(serde_json::Value::as_i64)
        {
            transformed.set_property("version", version)?;
        }
        context.log(format!(
            "fitted {} op(s) on split {}; wrote {}",
            self.ops.len(),
            self.fit_split,
            counts
                .iter()
                .map(|(name, rows)| format!("{name} {rows} rows"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(())
    }
}

/// A sharded Transform's merge: the graph every shard fitted (they must agree) and the shards'
/// transformed examples put together in shard order.
fn merge_shards(
    context: &ExecutionContext,
    count: u32,
    graph_dir: &std::path::Path,
    splits: &[String],
    transformed: &std::path::Path,
) -> Result<Vec<(String, u64)>, ComponentError> {
    let graphs = context.shard_parts("transform_graph");
    let parts = context.shard_parts("transformed_examples");
    if graphs.len() != count as usize || parts.len() != count as usize {
        return Err(ComponentError::new(format!(
            "the merge needs the outputs of {count} shards, and has {} graph(s) and {} \
             examples",
            graphs.len(),
            parts.len()
        )));
    }
    let read = |dir: &std::path::Path| {
        let path = dir.join(TRANSFORM_GRAPH_FILE);
        std::fs::read(&path)
            .map_err(|error| ComponentError::new(format!("{}: {error}", path.display())))
    };
    let first = read(&graphs[0].uri)?;
    for (index, graph) in graphs.iter().enumerate().skip(1) {
        if read(&graph.uri)? != first {
            return Err(ComponentError::new(format!(
                "shard {index} fitted another transform graph than shard 0: the fit split \
                 changed while the shards ran"
            )));
        }
    }
    let path = graph_dir.join(TRANSFORM_GRAPH_FILE);
    std::fs::write(&path, &first)
        .map_err(|error| ComponentError::new(format!("{}: {error}", path.display())))?;
    let dirs: Vec<&std::path::Path> = parts.iter().map(|part| part.uri.as_path()).collect();
    Ok(assemble_examples(&dirs, splits, transformed)?)
}

millrace_core::register_component!(Transform);
