//! Fitting a transform graph on a split of an Examples directory, and applying it to every split.
//!
//! Fitting needs the statistics of each op's inputs. For the examples' own columns one pass
//! over the split gives them; an op that reads a column an earlier op writes (a z-score of a
//! filled column) gets them from another pass with the ops fitted so far applied, so a chain
//! is fitted on exactly what it will be applied to.

use std::path::Path;

use arrow_schema::Schema;

use super::graph::TransformGraph;
use super::ops::{FittedOp, TransformOp};
use crate::examples_format::{
    ExamplesWriter, column_names, read_row_group, split_row_groups, split_schema,
};
use crate::parallel::map_ordered;
use crate::statistics::profile::profile_split;
use crate::statistics::{SplitStatistics, StatisticsOptions};
use crate::{DataError, Result};

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
            let stats = match statistics.take() {
                Some(stats) if !stale => stats,
                _ => intermediate_statistics(&fitted, &raw_schema, uri, split, threads)?,
            };
            let given = inputs
                .iter()
                .map(|input| {
                    stats
                        .feature(input)
                        .cloned()
                        .ok_or_else(|| DataError::MissingColumn {
                            column: (*input).to_owned(),
                            needed_by: op.label(),
                            place: "the examples or the outputs of earlier ops".to_owned(),
                            available: stats
                                .features
                                .iter()
                                .map(|feature| feature.name.clone())
                                .collect(),
                        })
                })
                .collect::<Result<_>>()?;
            statistics = Some(stats);
            given
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
    let kept: Vec<String> = column_names(raw_schema)
        .into_iter()
        .filter(|name| !written.contains(name))
        .collect();
    let graph = TransformGraph::new(fitted.to_vec(), kept);
    let schema = graph.output_schema(raw_schema)?;
    let total = profile_split(uri, split, &schema, threads, |batch| graph.apply(&batch))?;
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
    apply_graph_to_shard(graph, uri, splits, out, (0, 1), threads)
}

/// [`apply_graph`] to shard `index` of `count` of each split only (the rows
/// [`crate::shard::shard_rows`] gives it); shard 0 of 1 is every row.
pub fn apply_graph_to_shard(
    graph: &TransformGraph,
    uri: &Path,
    splits: &[String],
    out: &Path,
    (index, count): (u32, u32),
    threads: usize,
) -> Result<Vec<(String, u64)>> {
    let mut counts = Vec::with_capacity(splits.len());
    for split in splits {
        let schema = graph.output_schema(split_schema(uri, split)?.as_ref())?;
        let mut writer = ExamplesWriter::new(out, schema, std::slice::from_ref(split))?;
        let groups = crate::shard::shard_row_groups(split_row_groups(uri, split)?, index, count);
        map_ordered(
            groups.into_iter().map(Ok),
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
