//! Profiling: the statistics of every split of an Examples directory, or of a CSV file read
//! directly, in one streaming pass.
//!
//! Row groups (or CSV chunks) are profiled on several threads, each into its own
//! [`SplitAccumulator`], and the partial statistics are merged in input order, so the result is
//! the same whatever the number of threads and memory stays bounded by the features, not the rows.
//! Columns of other integer, float or string types than Millrace writes (Parquet files written by
//! another program) are converted to int64, float64 and utf8 as they are read.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::Schema;

use super::accumulator::{SplitAccumulator, StatisticsOptions};
use super::model::{DatasetStatistics, SplitStatistics};
use crate::csv::{CsvFile, CsvOptions, ScanOutcome};
use crate::examples_format::{
    self, RowGroup, normalize_batch, normalized_schema, read_row_group, split_row_groups,
    split_schema,
};
use crate::parallel::map_ordered;
use crate::{DataError, Result};

/// The statistics of split `split` of the examples at `uri`, read on `threads` threads.
pub fn split_statistics(
    uri: &Path,
    split: &str,
    options: &StatisticsOptions,
    threads: usize,
) -> Result<SplitStatistics> {
    let groups = split_row_groups(uri, split)?;
    // Columns as the batches will be once normalised (a dictionary of strings is strings).
    let first_file = groups.first().map_or_else(
        || examples_format::split_dir(uri, split),
        |group| group.file.clone(),
    );
    let schema = normalized_schema(&split_schema(uri, split)?, &first_file)?;
    let total = profile_row_groups(groups, &schema, threads, Ok)?;
    Ok(total.finish(split, options))
}

/// The statistics gathered over split `split` of the examples at `uri`, each batch read passed
/// through `prepare` first (the identity, or a transform graph), whose batches have `schema`.
pub(crate) fn profile_split(
    uri: &Path,
    split: &str,
    schema: &Schema,
    threads: usize,
    prepare: impl Fn(RecordBatch) -> Result<RecordBatch> + Sync,
) -> Result<SplitAccumulator> {
    profile_row_groups(split_row_groups(uri, split)?, schema, threads, prepare)
}

/// The statistics gathered over `groups` (row groups of one split, whose batches have `schema`
/// once passed through `prepare`), read on `threads` threads and merged in order.
pub(crate) fn profile_row_groups(
    groups: Vec<RowGroup>,
    schema: &Schema,
    threads: usize,
    prepare: impl Fn(RecordBatch) -> Result<RecordBatch> + Sync,
) -> Result<SplitAccumulator> {
    let mut total =
        SplitAccumulator::new(schema).map_err(|error| match (error, groups.first()) {
            // A column statistics cannot read: say in which file it is.
            (
                DataError::WrongType {
                    column,
                    expected,
                    found,
                    ..
                },
                Some(group),
            ) => DataError::WrongType {
                column,
                needed_by: format!("statistics of {}", group.file.display()),
                expected,
                found,
            },
            (error, _) => error,
        })?;
    map_ordered(
        groups.into_iter().map(Ok),
        threads,
        |group| {
            let mut partial = SplitAccumulator::new(schema)?;
            for batch in read_row_group(&group)? {
                let batch = prepare(batch)?;
                let normalized = normalized_schema(&batch.schema(), &group.file)?;
                partial.update(&normalize_batch(&batch, &normalized, &group.file)?)?;
            }
            Ok(partial)
        },
        |partial| {
            total.merge(&partial);
            Ok(())
        },
    )?;
    Ok(total)
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
