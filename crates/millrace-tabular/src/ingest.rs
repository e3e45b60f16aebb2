//! Ingestion: CSV or Parquet files into an Examples directory (Parquet per split), streaming,
//! so memory stays bounded whatever the input size.
//!
//! CSV files are read in parallel chunks ([`crate::csv`]) with their column types inferred, and
//! read again when a late value widens a type; Parquet files are read by row group and their
//! columns normalised to int, float or string ([`crate::examples_format::normalize_batch`]).
//! Either way each batch is divided into its splits ([`SplitConfig`]) and written by one
//! [`ExamplesWriter`], in input order.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::FeatureType;
use crate::csv::{ColumnType, CsvFile, CsvOptions, ScanOutcome};
use crate::examples_format::{self, ExamplesWriter, feature_type_of};
use crate::parallel::map_ordered;
use crate::split::{SplitConfig, row_hashes};
use crate::{DataError, Result};

/// What an ingestion wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestReport {
    /// Rows per split, in split order.
    pub splits: Vec<(String, u64)>,
    /// The columns and their types.
    pub columns: Vec<(String, FeatureType)>,
    /// How many times the input was read (2 when a late value widened a column's type).
    pub passes: usize,
}

/// Ingests CSV `files` (one header, the same columns in each) into Examples at `out`.
pub fn ingest_csv(
    files: &[PathBuf],
    options: &CsvOptions,
    split: &SplitConfig,
    out: &Path,
    threads: usize,
) -> Result<IngestReport> {
    let Some(first_path) = files.first() else {
        return Err(no_input_file());
    };
    let mut sources = Vec::with_capacity(files.len());
    for path in files {
        sources.push(CsvFile::open(path, options)?.with_fingerprints());
    }
    let names = sources[0].names().to_vec();
    for source in &sources[1..] {
        if source.names() != names.as_slice() {
            return Err(DataError::File {
                file: source.path().display().to_string(),
                message: format!(
                    "its columns ({}) differ from those of {} ({})",
                    source.names().join(", "),
                    first_path.display(),
                    names.join(", ")
                ),
            });
        }
    }
    split.check(&names)?;
    let mut passes = 0;
    loop {
        passes += 1;
        // Every file is read with the widest type any file needs.
        let all: Vec<Vec<ColumnType>> = sources.iter().map(|s| s.column_types().to_vec()).collect();
        for source in &mut sources {
            for types in &all {
                source.widen_to(types);
            }
        }
        remove_splits(out)?;
        let schema = without_column(&sources[0].schema(), split.dropped_column());
        let mut writer = ExamplesWriter::new(out, schema, &split.known_splits())?;
        let mut widened = false;
        for source in &mut sources {
            let outcome = source.scan(
                threads,
                |chunk| split.divide(&chunk.batch, &chunk.fingerprints),
                |parts| write_parts(&mut writer, parts),
            )?;
            if outcome == ScanOutcome::Widened {
                widened = true;
                break;
            }
        }
        if widened {
            drop(writer);
            continue;
        }
        let splits = writer.finish()?;
        let columns = names
            .iter()
            .cloned()
            .zip(sources[0].types())
            .filter(|(name, _)| Some(name.as_str()) != split.dropped_column())
            .collect();
        return Ok(IngestReport {
            splits,
            columns,
            passes,
        });
    }
}

/// Ingests Parquet `files` (the same columns in each) into Examples at `out`. Integer columns
/// become int, floating-point columns float and text columns string; other column types are
/// refused with their name.
pub fn ingest_parquet(
    files: &[PathBuf],
    split: &SplitConfig,
    out: &Path,
    threads: usize,
) -> Result<IngestReport> {
    let mut groups = Vec::new();
    for file in files {
        groups.extend(examples_format::file_row_groups(file)?);
    }
    let Some(first) = files.first() else {
        return Err(no_input_file());
    };
    let schema = examples_format::normalized_schema(&examples_format::file_schema(first)?, first)?;
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    split.check(&names)?;
    remove_splits(out)?;
    let mut writer = ExamplesWriter::new(
        out,
        without_column(&schema, split.dropped_column()),
        &split.known_splits(),
    )?;
    map_ordered(
        groups.into_iter().map(Ok),
        threads,
        |group| {
            let mut parts: Vec<(String, RecordBatch)> = Vec::new();
            for batch in examples_format::read_row_group(&group)? {
                let batch = examples_format::normalize_batch(&batch, &schema, &group.file)?;
                parts.extend(split.divide(&batch, &row_hashes(&batch))?);
            }
            Ok(parts)
        },
        |parts| write_parts(&mut writer, parts),
    )?;
    let columns = schema
        .fields()
        .iter()
        .filter(|f| Some(f.name().as_str()) != split.dropped_column())
        .filter_map(|f| feature_type_of(f.data_type()).map(|t| (f.name().clone(), t)))
        .collect();
    Ok(IngestReport {
        splits: writer.finish()?,
        columns,
        passes: 1,
    })
}

fn write_parts(writer: &mut ExamplesWriter, parts: Vec<(String, RecordBatch)>) -> Result<()> {
    for (name, batch) in parts {
        writer.write_named(&name, &batch)?;
    }
    Ok(())
}

fn without_column(schema: &SchemaRef, column: Option<&str>) -> SchemaRef {
    match column {
        None => schema.clone(),
        Some(column) => std::sync::Arc::new(arrow_schema::Schema::new(
            schema
                .fields()
                .iter()
                .filter(|field| field.name() != column)
                .cloned()
                .collect::<Vec<_>>(),
        )),
    }
}

/// Removes what an interrupted pass left under `out`.
fn remove_splits(out: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(|error| DataError::io(out, error))?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("Split-"))
        {
            std::fs::remove_dir_all(&path).map_err(|error| DataError::io(&path, error))?;
        }
    }
    Ok(())
}

/// The error of an ingestion given no file.
fn no_input_file() -> DataError {
    DataError::InvalidOption {
        owner: "ingestion".to_owned(),
        option: "files".to_owned(),
        reason: "no input file to ingest".to_owned(),
    }
}
