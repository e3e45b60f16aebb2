//! CsvExampleGen and ImportExampleGen: the components that turn input files into an Examples
//! artifact (Parquet per split). The ingestion itself is [`millrace_tabular::ingest`]; these
//! components select the files of a span, ingest them, and record what they wrote. An input in
//! an object store (`s3://bucket/trips/span-{SPAN}/*.csv`) is listed and its selected objects
//! fetched first.

use std::path::Path;

use millrace_core::prelude::*;
use millrace_core::{DataSpan, WatchedInput};
use serde::{Deserialize, Serialize};

use crate::data::FeatureType;
use crate::data::csv::CsvOptions;
use crate::data::examples_format::split_names_property;
use crate::data::input_pattern::{SelectedFiles, SpanSelection, select_files};
use crate::data::object_input::{
    self, FetchedInputs, blocking, described, fetch_selected, object_input, select_objects,
};
use crate::data::parallel::default_threads;
use crate::data::split::SplitConfig;
use crate::{DataError, Result};

// The library functions this module held before they moved to millrace-tabular, so that
// their old paths still work.
#[doc(no_inline)]
pub use millrace_tabular::ingest::{IngestReport, ingest_csv, ingest_parquet};

/// The files of `input` that `span` selects, as local files: the selection (paths, or keys for
/// an object store) and the local copies, which live as long as the returned guard.
async fn select_input(
    input: &str,
    span: SpanSelection,
) -> Result<
    (
        SelectedFiles,
        Vec<std::path::PathBuf>,
        Option<FetchedInputs>,
    ),
    ComponentError,
> {
    match object_input(input) {
        Some((bucket, pattern)) => {
            let (selected, _) = select_objects(&bucket, &pattern, span).await?;
            let fetched = fetch_selected(&bucket, &selected).await?;
            let files = fetched.files.clone();
            Ok((selected, files, Some(fetched)))
        }
        None => {
            let selected = select_files(Path::new(input), span)?;
            let files = selected.files.clone();
            Ok((selected, files, None))
        }
    }
}

/// The fingerprint of the files a pattern selects now: their paths, sizes and modification
/// times, with the span and version — what a re-run must see unchanged to be served from cache.
fn input_fingerprint(input: &str, span: SpanSelection) -> Result<Option<String>, ComponentError> {
    if let Some((bucket, pattern)) = object_input(input) {
        let (selected, listing) = blocking(select_objects(&bucket, &pattern, span))??;
        let described = serde_json::json!({
            "span": selected.span,
            "version": selected.version,
            "objects": described(&selected, &listing),
        });
        return Ok(Some(
            millrace_core::Fingerprint::of_value(&described).to_hex(),
        ));
    }
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

/// The newest span under `input` as a data-arrival trigger sees it: its key (`span-3`,
/// `span-3/v2`; for a pattern without `{SPAN}`, `files-` and the fingerprint of the files, so
/// that changed files are new data), file count, size and latest modification.
fn watched_input(input: &str) -> Result<Option<WatchedInput>, ComponentError> {
    if let Some((bucket, pattern)) = object_input(input) {
        return object_input::watched(input, &bucket, &pattern).map(Some);
    }
    let selected = match select_files(Path::new(input), SpanSelection::Latest) {
        Ok(selected) => selected,
        Err(DataError::NoInputFiles { .. }) => {
            return Ok(Some(WatchedInput {
                pattern: input.to_owned(),
                latest: None,
            }));
        }
        Err(error) => return Err(error.into()),
    };
    let (mut bytes, mut modified_ms) = (0u64, 0i64);
    for file in &selected.files {
        let metadata = std::fs::metadata(file).map_err(|error| DataError::io(file, error))?;
        bytes += metadata.len();
        let modified = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
        modified_ms = modified_ms.max(modified);
    }
    let key = span_key(input, &selected, || {
        Ok(input_fingerprint(input, SpanSelection::Latest)?.unwrap_or_default())
    })?;
    Ok(Some(WatchedInput {
        pattern: input.to_owned(),
        latest: Some(DataSpan {
            key,
            files: selected.files.len(),
            bytes,
            modified_ms,
        }),
    }))
}

/// The key a data trigger knows the newest span of `pattern` by: `span-3`, `span-3/v2`; for a
/// pattern without `{SPAN}`, `files-` and the start of `fingerprint()` of the files, so that
/// changed files are new data.
pub(crate) fn span_key(
    pattern: &str,
    selected: &SelectedFiles,
    fingerprint: impl FnOnce() -> Result<String, ComponentError>,
) -> Result<String, ComponentError> {
    if !pattern.contains("{SPAN}") {
        let fingerprint = fingerprint()?;
        return Ok(format!(
            "files-{}",
            &fingerprint[..fingerprint.len().min(16)]
        ));
    }
    Ok(match selected.version {
        Some(version) => format!("span-{}/v{version}", selected.span),
        None => format!("span-{}", selected.span),
    })
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
        let (selected, files, _fetched) = select_input(&self.input, self.span).await?;
        let report = ingest_csv(
            &files,
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

    fn watched_input(&self) -> Result<Option<WatchedInput>, ComponentError> {
        watched_input(&self.input)
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
        let (selected, files, _fetched) = select_input(&self.input, self.span).await?;
        let report = ingest_parquet(&files, &self.split, examples.uri(), default_threads())?;
        record_examples(&examples, &selected, &report, context)
    }

    fn external_fingerprint(&self) -> Result<Option<String>, ComponentError> {
        input_fingerprint(&self.input, self.span)
    }

    fn watched_input(&self) -> Result<Option<WatchedInput>, ComponentError> {
        watched_input(&self.input)
    }
}

millrace_core::register_component!(ImportExampleGen);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watched_input_is_the_newest_span_in_its_newest_version() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("span-{SPAN}/v{VERSION}/*.csv");
        let generator = CsvExampleGen::new(pattern.display().to_string());
        let nothing = Execute::watched_input(&generator).unwrap().unwrap();
        assert_eq!(nothing.latest, None);
        assert_eq!(nothing.pattern, pattern.display().to_string());
        for (path, text) in [
            ("span-1/v1/a.csv", "x\n1\n"),
            ("span-2/v1/a.csv", "x\n2\n"),
            ("span-2/v2/a.csv", "x\n22\n"),
            ("span-2/v2/b.csv", "x\n23\n"),
            ("span-2/v2/.c.csv.part", "still copying"),
        ] {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let latest = Execute::watched_input(&generator)
            .unwrap()
            .unwrap()
            .latest
            .unwrap();
        assert_eq!(latest.key, "span-2/v2");
        assert_eq!(
            (latest.files, latest.bytes),
            (2, 10),
            "hidden files are not data yet"
        );
        assert!(latest.modified_ms > 0);
    }

    #[test]
    fn without_spans_changed_files_are_new_data() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.csv");
        std::fs::write(&file, "x\n1\n").unwrap();
        let generator = CsvExampleGen::new(file.display().to_string());
        let before = Execute::watched_input(&generator)
            .unwrap()
            .unwrap()
            .latest
            .unwrap();
        assert!(before.key.starts_with("files-"), "{}", before.key);
        std::fs::write(&file, "x\n1\n2\n").unwrap();
        let after = Execute::watched_input(&generator)
            .unwrap()
            .unwrap()
            .latest
            .unwrap();
        assert_ne!(before.key, after.key);
    }
}
