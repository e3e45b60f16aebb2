//! Example ingestion: CsvExampleGen and ImportExampleGen turn input files into an Examples
//! artifact (Parquet per split), streaming, so memory stays bounded whatever the input size.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::FeatureType;
use crate::data::csv::{ColumnType, CsvFile, CsvOptions, ScanOutcome};
use crate::data::examples_format::{self, ExamplesWriter, feature_type_of, split_names_property};
use crate::data::input_pattern::{SelectedFiles, SpanSelection, select_files};
use crate::data::parallel::{default_threads, map_ordered};
use crate::data::split::{SplitConfig, row_hashes};
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
        return Err(DataError::Config("no input file to ingest".to_owned()));
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
        return Err(DataError::Config("no input file to ingest".to_owned()));
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

/// The fingerprint of the files a pattern selects now: their paths, sizes and modification
/// times, with the span and version — what a re-run must see unchanged to be served from cache.
fn input_fingerprint(input: &str, span: SpanSelection) -> Result<Option<String>, ComponentError> {
    let selected = select_files(Path::new(input), span)?;
    let mut files = Vec::with_capacity(selected.files.len());
    for file in &selected.files {
        let metadata = std::fs::metadata(file).map_err(|error| DataError::io(file, error))?;
        let modified = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos());
        files.push(serde_json::json!([
            file.display().to_string(),
            metadata.len(),
            modified.to_string()
        ]));
    }
    let described = serde_json::json!({
        "span": selected.span,
        "version": selected.version,
        "files": files,
    });
    Ok(Some(
        millrace_core::Fingerprint::of_value(&described).to_hex(),
    ))
}

/// Records what an ingestion produced on the Examples output.
fn record_examples(
    examples: &Output<Examples>,
    selected: &SelectedFiles,
    report: &IngestReport,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let split_names: Vec<String> = report.splits.iter().map(|(name, _)| name.clone()).collect();
    examples.set_property("split_names", split_names_property(&split_names))?;
    examples.set_property("span", selected.span)?;
    examples.set_property("version", selected.version.unwrap_or(0))?;
    for (name, rows) in &report.splits {
        examples.set_custom_property(&format!("{name}_rows"), *rows as i64);
        context.log_metric(format!("{name}_rows"), *rows as f64);
    }
    let summary = format!(
        "span {} ({} file(s)): {}",
        selected.span,
        selected.files.len(),
        report
            .splits
            .iter()
            .map(|(name, rows)| format!("{name} {rows} rows"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    context.log(format!("ingested in {} pass(es): {summary}", report.passes));
    context.set_summary(summary);
    Ok(())
}

/// Ingests CSV files into Examples: `CsvExampleGen::new("data/taxi/span-{SPAN}/*.csv")`.
///
/// Column types are inferred (int, float or string; empty fields are nulls) unless declared in
/// `csv.column_types`; rows are split by hash buckets (train 2 : eval 1) unless `split` says
/// otherwise. The latest span is ingested unless `span` says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvExampleGen {
    /// The input files: a path with `*`, `?`, `{SPAN}` and `{VERSION}` in its components.
    pub input: String,
    /// Which spans to ingest.
    #[serde(default)]
    pub span: SpanSelection,
    /// How to read the files.
    #[serde(default)]
    pub csv: CsvOptions,
    /// How to split the rows.
    #[serde(default)]
    pub split: SplitConfig,
}

/// The output of CsvExampleGen and ImportExampleGen.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct ExampleGenOutputs {
    /// The examples, one Parquet directory per split.
    pub examples: Channel<Examples>,
}

impl CsvExampleGen {
    /// Ingests the files matching `input` with the defaults.
    pub fn new(input: impl Into<String>) -> Self {
        CsvExampleGen {
            input: input.into(),
            span: SpanSelection::Latest,
            csv: CsvOptions::default(),
            split: SplitConfig::default(),
        }
    }

    /// Declares a column's type instead of inferring it.
    pub fn column_type(mut self, column: &str, feature_type: FeatureType) -> Self {
        self.csv
            .column_types
            .insert(column.to_owned(), feature_type);
        self
    }

    /// Splits the rows as `split` says.
    pub fn split(mut self, split: SplitConfig) -> Self {
        self.split = split;
        self
    }

    /// Ingests the spans `span` selects.
    pub fn span(mut self, span: SpanSelection) -> Self {
        self.span = span;
        self
    }
}

impl Component for CsvExampleGen {
    const KIND: &'static str = "millrace.CsvExampleGen";
    type Inputs = ();
    type Outputs = ExampleGenOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for CsvExampleGen {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.output::<Examples>("examples")?;
        let selected = select_files(Path::new(&self.input), self.span)?;
        let report = ingest_csv(
            &selected.files,
            &self.csv,
            &self.split,
            examples.uri(),
            default_threads(),
        )?;
        record_examples(&examples, &selected, &report, context)
    }

    fn external_fingerprint(&self) -> Result<Option<String>, ComponentError> {
        input_fingerprint(&self.input, self.span)
    }
}

millrace_core::register_component!(CsvExampleGen);

/// Ingests Parquet files into Examples: `ImportExampleGen::new("data/span-{SPAN}/*.parquet")`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportExampleGen {
    /// The input files: a path with `*`, `?`, `{SPAN}` and `{VERSION}` in its components.
    pub input: String,
    /// Which spans to ingest.
    #[serde(default)]
    pub span: SpanSelection,
    /// How to split the rows.
    #[serde(default)]
    pub split: SplitConfig,
}

impl ImportExampleGen {
    /// Ingests the files matching `input` with the defaults.
    pub fn new(input: impl Into<String>) -> Self {
        ImportExampleGen {
            input: input.into(),
            span: SpanSelection::Latest,
            split: SplitConfig::default(),
        }
    }

    /// Splits the rows as `split` says.
    pub fn split(mut self, split: SplitConfig) -> Self {
        self.split = split;
        self
    }
}

impl Component for ImportExampleGen {
    const KIND: &'static str = "millrace.ImportExampleGen";
    type Inputs = ();
    type Outputs = ExampleGenOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for ImportExampleGen {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.output::<Examples>("examples")?;
        let selected = select_files(Path::new(&self.input), self.span)?;
        let report = ingest_parquet(
            &selected.files,
            &self.split,
            examples.uri(),
            default_threads(),
        )?;
        record_examples(&examples, &selected, &report, context)
    }

    fn external_fingerprint(&self) -> Result<Option<String>, ComponentError> {
        input_fingerprint(&self.input, self.span)
    }
}

millrace_core::register_component!(ImportExampleGen);
