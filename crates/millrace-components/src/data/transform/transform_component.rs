//! The Transform component: fits preprocessing ops on the train split, applies them to every
//! split, and keeps the fitted graph as an artifact for serving.

use std::path::Path;

use arrow_schema::Schema;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::graph::{TRANSFORM_GRAPH_FILE, TransformGraph};
use super::ops::{FittedOp, TransformOp};
use crate::data::examples_format::{
    self, ExamplesWriter, read_row_group, split_row_groups, split_schema,
};
use crate::data::parallel::{default_threads, map_ordered};
use crate::data::statistics::statistics_gen::examples_properties;
use crate::data::statistics::{SplitAccumulator, SplitStatistics, StatisticsOptions};
use crate::{DataError, Result};

/// Fits `ops` on split `split` of the examples at `uri`.
///
/// Ops are fitted in order. An op that needs statistics of a column an earlier op writes (a
/// z-score of a filled column) gets them from a pass over the split with the ops fitted so far
/// applied, so chains fit exactly as they will be applied.
pub fn fit_graph(
    ops: &[TransformOp],
    passthrough: Vec<String>,
    uri: &Path,
    split: &str,
    threads: usize,
) -> Result<TransformGraph> {
    let raw_schema = split_schema(uri, split)?;
    let mut fitted: Vec<FittedOp> = Vec::with_capacity(ops.len());
    let mut statistics: Option<SplitStatistics> = None;
    for op in ops {
        op.validate()?;
        let inputs = op.inputs();
        let known =
            |stats: &SplitStatistics| inputs.iter().all(|input| stats.feature(input).is_some());
        let stale = statistics.as_ref().is_none_or(|stats| !known(stats))
            // An input an earlier op rewrote in place has new statistics.
            || fitted.iter().any(|done| done.outputs().iter().any(|out| inputs.contains(&out.as_str())));
        let given: Vec<_> = if op.needs_statistics() {
            if stale {
                statistics = Some(intermediate_statistics(
                    &fitted,
                    &raw_schema,
                    uri,
                    split,
                    threads,
                )?);
            }
            let stats = statistics
                .as_ref()
                .ok_or_else(|| DataError::Data("no statistics".into()))?;
            inputs
                .iter()
                .map(|input| {
                    stats.feature(input).cloned().ok_or_else(|| {
                        DataError::Config(format!(
                            "transform op {} reads `{input}`, which neither the examples nor an \
                             earlier op provide",
                            op.kind()
                        ))
                    })
                })
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let references: Vec<_> = given.iter().collect();
        fitted.push(op.fit(&references)?);
    }
    let graph = TransformGraph::new(fitted, passthrough);
    graph.validate()?;
    graph.output_schema(&raw_schema)?;
    Ok(graph)
}

/// The statistics of the split with `fitted` applied: the raw columns no op rewrote, then every
/// op's outputs.
fn intermediate_statistics(
    fitted: &[FittedOp],
    raw_schema: &Schema,
    uri: &Path,
    split: &str,
    threads: usize,
) -> Result<SplitStatistics> {
    let written: Vec<String> = fitted.iter().flat_map(FittedOp::outputs).collect();
    let kept: Vec<String> = raw_schema
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .filter(|name| !written.contains(name))
        .collect();
    let graph = TransformGraph::new(fitted.to_vec(), kept);
    let schema = graph.output_schema(raw_schema)?;
    let mut total = SplitAccumulator::new(&schema)?;
    map_ordered(
        split_row_groups(uri, split)?.into_iter().map(Ok),
        threads,
        |group| {
            let mut partial = SplitAccumulator::new(&schema)?;
            for batch in read_row_group(&group)? {
                partial.update(&graph.apply(&batch)?)?;
            }
            Ok(partial)
        },
        |partial| {
            total.merge(&partial);
            Ok(())
        },
    )?;
    Ok(total.finish(split, &StatisticsOptions::default()))
}

/// Applies `graph` to every split of the examples at `uri`, writing them at `out`.
pub fn apply_graph(
    graph: &TransformGraph,
    uri: &Path,
    splits: &[String],
    out: &Path,
    threads: usize,
) -> Result<Vec<(String, u64)>> {
    let mut counts = Vec::with_capacity(splits.len());
    for split in splits {
        let schema = graph.output_schema(split_schema(uri, split)?.as_ref())?;
        let mut writer = ExamplesWriter::new(out, schema, std::slice::from_ref(split))?;
        map_ordered(
            split_row_groups(uri, split)?.into_iter().map(Ok),
            threads,
            |group| {
                read_row_group(&group)?
                    .iter()
                    .map(|batch| graph.apply(batch))
                    .collect::<Result<Vec<_>>>()
            },
            |batches| {
                for batch in batches {
                    writer.write(0, &batch)?;
                }
                Ok(())
            },
        )?;
        counts.extend(writer.finish()?);
    }
    Ok(counts)
}

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
            return Err(DataError::Config(format!(
                "the ops are to be fitted on split `{}`, and the examples have {}",
                self.fit_split,
                splits.join(", ")
            ))
            .into());
        }
        let threads = default_threads();
        let graph = fit_graph(
            &self.ops,
            self.passthrough.clone(),
            examples.uri(),
            &self.fit_split,
            threads,
        )?;
        graph.save(&graph_output.uri().join(TRANSFORM_GRAPH_FILE))?;
        let counts = apply_graph(&graph, examples.uri(), &splits, transformed.uri(), threads)?;
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

millrace_core::register_component!(Transform);
