//! StatisticsGen: statistics of every split of some examples, as JSON and as an HTML report.
//!
//! Sharded (`.shards(n)`), each shard task profiles its part of every split's row groups into
//! mergeable accumulators and writes them ([`millrace_tabular::statistics::shard`] states which
//! rows, the error bounds and the cost); the node's merge reads the `n` shards' accumulators and
//! writes the same `statistics.json` and `statistics.html` a single task writes.

use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::StatisticsOptions;
use crate::data::examples_format;
use crate::data::parallel::default_threads;
use millrace_core::spec::ShardRole;
use millrace_tabular::statistics::{merge_shards, read_shard, shard_statistics, write_shard};

// The library functions this module held before they moved to millrace-tabular, so that
// their old paths still work.
#[doc(no_inline)]
pub use millrace_tabular::statistics::{
    csv_statistics, examples_statistics, split_statistics, write_statistics,
};

/// Computes statistics of every split of some examples: `StatisticsGen::new(ingest.examples)`.
///
/// Count, missing, zeros, mean, standard deviation, min and max are exact; quantiles and
/// histograms come from a mergeable sketch whose rank error is reported beside them. String
/// features get their unique count, most frequent values and mean length.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatisticsGen {
    /// What to report beyond the fixed figures.
    #[serde(default)]
    pub options: StatisticsOptions,
}

/// The input of StatisticsGen.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct StatisticsGenInputs {
    /// The examples to describe.
    pub examples: Channel<Examples>,
}

/// The output of StatisticsGen.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct StatisticsGenOutputs {
    /// `statistics.json` and `statistics.html`.
    pub statistics: Channel<ExampleStatistics>,
}

impl StatisticsGen {
    /// Statistics of `examples` with the default options.
    pub fn new(examples: Channel<Examples>) -> Node<StatisticsGen> {
        StatisticsGen::default().with_inputs(StatisticsGenInputs { examples })
    }
}

impl Component for StatisticsGen {
    const KIND: &'static str = "millrace.StatisticsGen";
    const SHARDABLE: bool = true;
    type Inputs = StatisticsGenInputs;
    type Outputs = StatisticsGenOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

/// The `split_names` and `span` properties of an Examples input.
pub(crate) fn examples_properties(examples: &Input<Examples>) -> (Option<String>, Option<i64>) {
    let split_names = examples
        .property("split_names")
        .and_then(|value| value.as_str().map(str::to_owned));
    let span = examples
        .property("span")
        .and_then(serde_json::Value::as_i64);
    (split_names, span)
}

#[async_trait::async_trait]
impl Execute for StatisticsGen {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.input::<Examples>("examples")?;
        let output = context.output::<ExampleStatistics>("statistics")?;
        let (split_names, span) = examples_properties(&examples);
        let statistics = match context.shard_role() {
            ShardRole::Whole => examples_statistics(
                examples.uri(),
                split_names.as_deref(),
                span,
                &self.options,
                default_threads(),
            )?,
            ShardRole::Shard { index, count } => {
                let shard = shard_statistics(
                    examples.uri(),
                    split_names.as_deref(),
                    span,
                    (index, count),
                    default_threads(),
                )?;
                write_shard(output.uri(), &shard)?;
                let names: Vec<String> = shard.splits.iter().map(|s| s.name.clone()).collect();
                output
                    .set_property("split_names", examples_format::split_names_property(&names))?;
                output.set_custom_property("shard_index", i64::from(index));
                output.set_custom_property("shard_count", i64::from(count));
                context.log(format!("profiled shard {index} of {count}"));
                return Ok(());
            }
            ShardRole::Merge { count } => {
                let parts = context.shard_parts("statistics");
                if parts.len() != count as usize {
                    return Err(ComponentError::new(format!(
                        "the merge needs the statistics of {count} shards, and has {}",
                        parts.len()
                    )));
                }
                let shards = parts
                    .iter()
                    .map(|part| read_shard(&part.uri))
                    .collect::<Result<Vec<_>, _>>()?;
                merge_shards(shards, &self.options)?
            }
        };
        let title = format!(
            "Statistics — {} / {}",
            context.pipeline(),
            context.node_id()
        );
        write_statistics(output.uri(), &statistics, &title)?;
        let names: Vec<String> = statistics.splits.iter().map(|s| s.name.clone()).collect();
        output.set_property("split_names", examples_format::split_names_property(&names))?;
        if let Some(span) = span {
            output.set_property("span", span)?;
        }
        for split in &statistics.splits {
            context.log(format!(
                "split {}: {} examples, {} features",
                split.name,
                split.num_examples,
                split.features.len()
            ));
        }
        Ok(())
    }
}

millrace_core::register_component!(StatisticsGen);
