//! StatisticsGen: statistics of every split of some examples, as JSON and as an HTML report.

use std::path::Path;

use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::accumulator::{SplitAccumulator, StatisticsOptions};
use super::model::{DatasetStatistics, STATISTICS_FILE, STATISTICS_REPORT_FILE, SplitStatistics};
use crate::data::csv::{CsvFile, CsvOptions, ScanOutcome};
use crate::data::examples_format::{self, read_row_group, split_row_groups, split_schema};
use crate::data::parallel::{default_threads, map_ordered};
use crate::data::report::statistics_html;
use crate::{DataError, Result};

/// The statistics of split `split` of the examples at `uri`, read on `threads` threads.
pub fn split_statistics(
    uri: &Path,
    split: &str,
    options: &StatisticsOptions,
    threads: usize,
) -> Result<SplitStatistics> {
    let schema = split_schema(uri, split)?;
    let mut total = SplitAccumulator::new(&schema)?;
    map_ordered(
        split_row_groups(uri, split)?.into_iter().map(Ok),
        threads,
        |group| {
            let mut partial = SplitAccumulator::new(&schema)?;
            for batch in read_row_group(&group)? {
                partial.update(&batch)?;
            }
            Ok(partial)
        },
        |partial| {
            total.merge(&partial);
            Ok(())
        },
    )?;
    Ok(total.finish(split, options))
}

/// The statistics of every split of the examples at `uri`.
pub fn examples_statistics(
    uri: &Path,
    split_names: Option<&str>,
    span: Option<i64>,
    options: &StatisticsOptions,
    threads: usize,
) -> Result<DatasetStatistics> {
    let mut splits = Vec::new();
    for split in examples_format::splits_of(uri, split_names)? {
        splits.push(split_statistics(uri, &split, options, threads)?);
    }
    Ok(DatasetStatistics { span, splits })
}

/// The statistics of a CSV file read directly, as one split called `name` — for looking at data
/// before a pipeline exists, and for comparing with other profilers on the same file.
pub fn csv_statistics(
    path: &Path,
    csv: &CsvOptions,
    name: &str,
    options: &StatisticsOptions,
    threads: usize,
) -> Result<SplitStatistics> {
    let mut file = CsvFile::open(path, csv)?;
    loop {
        let schema = file.schema();
        let mut total = SplitAccumulator::new(&schema)?;
        let outcome = file.scan(
            threads,
            |chunk| {
                let mut partial = SplitAccumulator::new(&schema)?;
                partial.update(&chunk.batch)?;
                Ok(partial)
            },
            |partial| {
                total.merge(&partial);
                Ok(())
            },
        )?;
        if outcome == ScanOutcome::Complete {
            return Ok(total.finish(name, options));
        }
    }
}

/// Writes `statistics.json` and `statistics.html` into `dir`.
pub fn write_statistics(dir: &Path, statistics: &DatasetStatistics, title: &str) -> Result<()> {
    let json_path = dir.join(STATISTICS_FILE);
    let json = serde_json::to_vec_pretty(statistics)
        .map_err(|error| DataError::json(&json_path, error))?;
    std::fs::write(&json_path, json).map_err(|error| DataError::io(&json_path, error))?;
    let html_path = dir.join(STATISTICS_REPORT_FILE);
    std::fs::write(&html_path, statistics_html(statistics, title))
        .map_err(|error| DataError::io(&html_path, error))
}

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
        let statistics = examples_statistics(
            examples.uri(),
            split_names.as_deref(),
            span,
            &self.options,
            default_threads(),
        )?;
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
