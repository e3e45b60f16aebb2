//! The Examples format: one directory per split under the artifact's URI, holding Parquet files.
//!
//! ```text
//! <examples uri>/Split-train/part-00000.parquet
//!                Split-train/part-00001.parquet
//!                Split-eval/part-00000.parquet
//! ```
//!
//! The artifact's properties say which splits there are (`split_names`, a JSON list as TFX writes
//! it), and which `span` and `version` of the input they came from. pandas and pyarrow read a
//! split as it is: `pandas.read_parquet("<uri>/Split-train")`.
//!
//! Reading a damaged file is an error naming it, never a panic: the footer's column chunks must
//! lie inside the file, and a panic of the `parquet` crate's decoders (which some damaged pages
//! still cause) is turned into an error (see `contained`).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::FeatureType;
use crate::{DataError, Result};

/// How many rows a Parquet row group holds: the unit of parallel reading.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// How many rows a Parquet file holds before the writer starts the next part.
pub const FILE_ROWS: usize = 8 * ROW_GROUP_ROWS;

/// The directory of split `split` under an Examples URI.
pub fn split_dir(uri: &Path, split: &str) -> PathBuf {
    uri.join(format!("Split-{split}"))
}

/// The `split_names` property value for these splits: `["train","eval"]`.
pub fn split_names_property(splits: &[String]) -> String {
    serde_json::Value::from(splits.to_vec()).to_string()
}

/// Reads a `split_names` property value.
pub fn parse_split_names(property: &str) -> Result<Vec<String>> {
    serde_json::from_str(property).map_err(|error| DataError::InvalidDocument {
        document: format!("the examples' split_names property `{property}`"),
        reason: format!("not a JSON list of names: {error}"),
    })
}

/// The splits of the examples at `uri`: from `split_names` when given, else from the directories.
pub fn splits_of(uri: &Path, split_names: Option<&str>) -> Result<Vec<String>> {
    if let Some(property) = split_names {
        return parse_split_names(property);
    }
    let mut splits = Vec::new();
    for entry in std::fs::read_dir(uri).map_err(|error| DataError::io(uri, error))? {
        let entry = entry.map_err(|error| DataError::io(uri, error))?;
        if let Some(split) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("Split-"))
        {
            splits.push(split.to_owned());
        }
    }
    splits.sort();
    Ok(splits)
}

/// The Parquet files of a split, in order.
pub fn split_files(uri: &Path, split: &str) -> Result<Vec<PathBuf>> {
    let dir = split_dir(uri, split);
    if !dir.is_dir() && uri.is_dir() {
        return Err(DataError::UnknownSplit {
            split: split.to_owned(),
            examples: uri.display().to_string(),
            available: splits_of(uri, None).unwrap_or_default(),
        });
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|error| DataError::io(&dir, error))? {
        let path = entry.map_err(|error| DataError::io(&dir, error))?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "parquet")
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A unit of parallel reading: one row group of one file, or some of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowGroup {
    /// The file.
    pub file: PathBuf,
    /// The row group's index in the file.
    pub index: usize,
    /// How many rows the row group holds.
    pub row_count: usize,
    /// The rows to read, counted from the group's first (a shard's part of the group); all of
    /// them when `None`.
    pub rows: Option<std::ops::Range<usize>>,
}

/// The row groups of a split's files, in order.
pub fn split_row_groups(uri: &Path, split: &str) -> Result<Vec<RowGroup>> {
    let mut groups = Vec::new();
    for file in split_files(uri, split)? {
        groups.extend(file_row_groups(&file)?);
    }
    Ok(groups)
}

/// The row groups of one Parquet file.
pub fn file_row_groups(file: &Path) -> Result<Vec<RowGroup>> {
    let builder = open_parquet(file)?;
    let metadata = builder.metadata();
    Ok((0..metadata.num_row_groups())
        .map(|index| RowGroup {
            file: file.to_owned(),
            index,
            row_count: usize::try_from(metadata.row_group(index).num_rows()).unwrap_or(0),
            rows: None,
        })
        .collect())
}

/// The Arrow schema of one Parquet file.
pub fn file_schema(file: &Path) -> Result<SchemaRef> {
    Ok(open_parquet(file)?.schema().clone())
}

/// The schema with every column as Millrace stores it: Int64, Float64 or Utf8.
pub fn normalized_schema(schema: &SchemaRef, file: &Path) -> Result<SchemaRef> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let values = match field.data_type() {
            arrow_schema::DataType::Dictionary(_, values) => values.as_ref(),
            other => other,
        };
        let Some(feature_type) = feature_type_of(values) else {
            return Err(not_holdable(file, field.name(), field.data_type()));
        };
        fields.push(arrow_schema::Field::new(
            field.name(),
            crate::csv::arrow_type(feature_type),
            true,
        ));
    }
    Ok(std::sync::Arc::new(arrow_schema::Schema::new(fields)))
}

/// Converts `batch`'s columns to the types of `schema` (a [`normalized_schema`]).
pub fn normalize_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    file: &Path,
) -> Result<RecordBatch> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Float16Type, Float32Type, Int8Type, Int16Type, Int32Type, UInt8Type, UInt16Type,
        UInt32Type, UInt64Type,
    };
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow_schema::DataType;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let Some(column) = batch.column_by_name(field.name()) else {
            return Err(DataError::missing_column(
                field.name(),
                "ingestion (every file must have the columns of the first)",
                file.display().to_string(),
                &batch.schema(),
            ));
        };
        macro_rules! ints {
            ($type:ty) => {
                std::sync::Arc::new(
                    column
                        .as_primitive::<$type>()
                        .iter()
                        .map(|v| v.map(i64::from))
                        .collect::<Int64Array>(),
                ) as ArrayRef
            };
        }
        macro_rules! floats {
            ($type:ty, $convert:expr) => {
                std::sync::Arc::new(
                    column
                        .as_primitive::<$type>()
                        .iter()
                        .map(|v| v.map($convert))
                        .collect::<Float64Array>(),
                ) as ArrayRef
            };
        }
        // A dictionary-encoded column (pandas' categoricals) is its values, looked up.
        let looked_up;
        let column = if let DataType::Dictionary(_, _) = column.data_type() {
            let dictionary = column.as_any_dictionary();
            looked_up = arrow_select::take::take(
                dictionary.values().as_ref(),
                dictionary.keys(),
                Some(arrow_select::take::TakeOptions { check_bounds: true }),
            )
            .map_err(|error| DataError::parquet(file, error))?;
            &looked_up
        } else {
            column
        };
        let converted: ArrayRef = match column.data_type() {
            DataType::Int64 | DataType::Float64 | DataType::Utf8 => column.clone(),
            DataType::Int8 => ints!(Int8Type),
            DataType::Int16 => ints!(Int16Type),
            DataType::Int32 => ints!(Int32Type),
            DataType::UInt8 => ints!(UInt8Type),
            DataType::UInt16 => ints!(UInt16Type),
            DataType::UInt32 => ints!(UInt32Type),
            DataType::UInt64 => floats!(UInt64Type, |v: u64| v as f64),
            DataType::Float32 => floats!(Float32Type, f64::from),
            DataType::Float16 => floats!(Float16Type, f64::from),
            DataType::LargeUtf8 => {
                std::sync::Arc::new(column.as_string::<i64>().iter().collect::<StringArray>())
            }
            DataType::Utf8View => {
                std::sync::Arc::new(column.as_string_view().iter().collect::<StringArray>())
            }
            other => return Err(not_holdable(file, field.name(), other)),
        };
        columns.push(converted);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|error| DataError::parquet(file, error))
}

/// The error of a column whose type examples cannot hold.
fn not_holdable(file: &Path, column: &str, data_type: &arrow_schema::DataType) -> DataError {
    DataError::WrongType {
        column: column.to_owned(),
        needed_by: format!("examples from {}", file.display()),
        expected: "an int, float or string column (examples hold no other)".to_owned(),
        found: format!("of Arrow type {data_type}"),
    }
}

fn open_parquet(file: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let handle = File::open(file).map_err(|error| DataError::io(file, error))?;
    let size = handle
        .metadata()
        .map_err(|error| DataError::io(file, error))?
        .len();
    let builder = contained(file, || {
        ParquetRecordBatchReaderBuilder::try_new(handle)
            .map_err(|error| DataError::parquet(file, error))
    })?;
    check_column_chunks(builder.metadata(), size)
        .map_err(|error| DataError::parquet(file, error))?;
    Ok(builder)
}

/// Checks that every column chunk the footer describes lies inside the file, as Parquet's C++
/// reader does: the `parquet` crate accepts a footer with a negative offset or size and then
/// panics reading it (apache/arrow-rs#6255), and an offset past the end would only fail later,
/// less clearly.
fn check_column_chunks(
    metadata: &parquet::file::metadata::ParquetMetaData,
    file_size: u64,
) -> std::result::Result<(), String> {
    for (group_index, group) in metadata.row_groups().iter().enumerate() {
        for column in group.columns() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(column.compressed_size()).ok())
                .and_then(|(start, size)| start.checked_add(size))
                .is_some_and(|end| end <= file_size);
            if !inside {
                return Err(format!(
                    "invalid metadata (corrupt file?): column `{}` of row group {group_index} \
                     starts at byte {start} and is {} bytes long, in a file of {file_size} bytes",
                    column.column_path(),
                    column.compressed_size()
                ));
            }
        }
    }
    Ok(())
}

/// Runs `read`, a use of the `parquet` crate on `file`, with a panic turned into an error
/// naming the file. The crate still panics on some damaged files instead of returning an error
/// (apache/arrow-rs#11121: the BYTE_STREAM_SPLIT decoder indexes past a page whose header
/// declares more values than the page holds); until it does not, a damaged split is contained
/// here, so that it fails its node with the file's name rather than taking the process down.
/// Whatever `read` was building is dropped with the panic, so no broken state is seen after it.
fn contained<T>(file: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|reason| (*reason).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no reason given".to_owned());
        Err(DataError::parquet(
            file,
            format!("the Parquet reader failed on this file (is it damaged?): {reason}"),
        ))
    })
}

/// The batches of one row group.
pub fn read_row_group(group: &RowGroup) -> Result<Vec<RecordBatch>> {
    let mut builder = open_parquet(&group.file)?
        .with_row_groups(vec![group.index])
        .with_batch_size(16 * 1024);
    if let Some(rows) = &group.rows {
        builder = builder.with_row_selection(RowSelection::from(vec![
            RowSelector::skip(rows.start),
            RowSelector::select(rows.len()),
        ]));
    }
    contained(&group.file, || {
        let reader = builder
            .build()
            .map_err(|error| DataError::parquet(&group.file, error))?;
        collect_batches(reader, &group.file)
    })
}

/// Every batch of a split, in order (for splits small enough to hold; larger ones are read by
/// row group).
pub fn read_split(uri: &Path, split: &str) -> Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    for file in split_files(uri, split)? {
        let builder = open_parquet(&file)?;
        batches.extend(contained(&file, || {
            let reader = builder
                .build()
                .map_err(|error| DataError::parquet(&file, error))?;
            collect_batches(reader, &file)
        })?);
    }
    Ok(batches)
}

/// The Arrow schema of a split (of its first file).
pub fn split_schema(uri: &Path, split: &str) -> Result<SchemaRef> {
    let files = split_files(uri, split)?;
    let Some(first) = files.first() else {
        return Err(DataError::File {
            file: split_dir(uri, split).display().to_string(),
            message: format!("split `{split}` has no Parquet file"),
        });
    };
    Ok(open_parquet(first)?.schema().clone())
}

fn collect_batches(reader: ParquetRecordBatchReader, file: &Path) -> Result<Vec<RecordBatch>> {
    reader
        .map(|batch| batch.map_err(|error| DataError::parquet(file, error)))
        .collect()
}

/// The names of a schema's columns, in order.
pub fn column_names(schema: &arrow_schema::Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect()
}

/// The feature type of an Arrow column type, if it is one Millrace profiles.
pub fn feature_type_of(data_type: &arrow_schema::DataType) -> Option<FeatureType> {
    use arrow_schema::DataType;
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => Some(FeatureType::Int),
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::UInt64 => {
            Some(FeatureType::Float)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(FeatureType::String),
        _ => None,
    }
}

/// Writes the splits of one Examples artifact, starting a new file every [`FILE_ROWS`] rows.
pub struct ExamplesWriter {
    uri: PathBuf,
    schema: SchemaRef,
    splits: Vec<SplitWriter>,
}

struct SplitWriter {
    name: String,
    writer: Option<ArrowWriter<File>>,
    file_rows: usize,
    files: usize,
    rows: u64,
}

impl std::fmt::Debug for ExamplesWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExamplesWriter")
            .field("uri", &self.uri)
            .field("splits", &self.split_rows())
            .finish()
    }
}

impl ExamplesWriter {
    /// A writer of `splits` with columns `schema` under `uri`.
    pub fn new(uri: &Path, schema: SchemaRef, splits: &[String]) -> Result<Self> {
        for split in splits {
            let dir = split_dir(uri, split);
            std::fs::create_dir_all(&dir).map_err(|error| DataError::io(&dir, error))?;
        }
        Ok(ExamplesWriter {
            uri: uri.to_owned(),
            schema,
            splits: splits
                .iter()
                .map(|name| SplitWriter {
                    name: name.clone(),
                    writer: None,
                    file_rows: 0,
                    files: 0,
                    rows: 0,
                })
                .collect(),
        })
    }

    /// Appends `batch` to the split of index `split`.
    pub fn write(&mut self, split: usize, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if split >= self.splits.len() {
            return Err(DataError::UnknownSplit {
                split: format!("#{split}"),
                examples: self.uri.display().to_string(),
                available: self.splits.iter().map(|split| split.name.clone()).collect(),
            });
        }
        let uri = &self.uri;
        let schema = &self.schema;
        let target = &mut self.splits[split];
        if target.writer.is_none() || target.file_rows >= FILE_ROWS {
            if let Some(full) = target.writer.take() {
                full.close()
                    .map_err(|error| DataError::parquet(&split_dir(uri, &target.name), error))?;
            }
            let path =
                split_dir(uri, &target.name).join(format!("part-{:05}.parquet", target.files));
            let file = File::create(&path).map_err(|error| DataError::io(&path, error))?;
            let properties = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .build();
            target.writer = Some(
                ArrowWriter::try_new(file, schema.clone(), Some(properties))
                    .map_err(|error| DataError::parquet(&path, error))?,
            );
            target.files += 1;
            target.file_rows = 0;
        }
        if let Some(writer) = target.writer.as_mut() {
            writer
                .write(batch)
                .map_err(|error| DataError::parquet(&split_dir(uri, &target.name), error))?;
        }
        target.file_rows += batch.num_rows();
        target.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Appends `batch` to the split called `name`, adding the split if it is new.
    pub fn write_named(&mut self, name: &str, batch: &RecordBatch) -> Result<()> {
        let index = match self.splits.iter().position(|split| split.name == name) {
            Some(index) => index,
            None => {
                let dir = split_dir(&self.uri, name);
                std::fs::create_dir_all(&dir).map_err(|error| DataError::io(&dir, error))?;
                self.splits.push(SplitWriter {
                    name: name.to_owned(),
                    writer: None,
                    file_rows: 0,
                    files: 0,
                    rows: 0,
                });
                self.splits.len() - 1
            }
        };
        self.write(index, batch)
    }

    /// The rows written so far, per split.
    pub fn split_rows(&self) -> Vec<(String, u64)> {
        self.splits
            .iter()
            .map(|split| (split.name.clone(), split.rows))
            .collect()
    }

    /// Finishes every file (a split with no row gets one empty file, so its schema is known).
    pub fn finish(mut self) -> Result<Vec<(String, u64)>> {
        let counts = self.split_rows();
        for split in &mut self.splits {
            let dir = split_dir(&self.uri, &split.name);
            let writer = match split.writer.take() {
                Some(writer) => writer,
                None => {
                    let path = dir.join("part-00000.parquet");
                    let file = File::create(&path).map_err(|error| DataError::io(&path, error))?;
                    ArrowWriter::try_new(file, self.schema.clone(), None)
                        .map_err(|error| DataError::parquet(&path, error))?
                }
            };
            writer
                .close()
                .map_err(|error| DataError::parquet(&dir, error))?;
        }
        Ok(counts)
    }
}
