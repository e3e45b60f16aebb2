//! Reading a CSV file into typed Arrow batches: the header, type inference, and a parallel scan.
//!
//! Types are inferred from a sample of the first rows, then checked on every value during the
//! scan: a value that needs a wider type (int → float → string) is noted, and the scan is
//! repeated once with the widened types. The result is the same as inferring from the whole file,
//! in one pass whenever the sample was representative.
//!
//! The header is the first record after an optional UTF-8 byte-order mark and blank lines; its
//! column names must be distinct and not blank. It is read up to 16 MiB, so that a quote left
//! open in it is reported rather than making the whole file the header.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::chunks::{ChunkReader, DEFAULT_CHUNK_SIZE};
use super::columns::{ChunkConverter, ColumnType, ConvertedChunk};
use super::parser::{Record, RecordParser};
use crate::FeatureType;
use crate::parallel::map_ordered;
use crate::{DataError, Result};

/// How to read CSV files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvOptions {
    /// The field delimiter (`,`).
    pub delimiter: char,
    /// Column types that are not to be inferred: a value that does not fit is an error.
    pub column_types: BTreeMap<String, FeatureType>,
    /// How many rows the first guess of the types is made from (later rows may widen it).
    pub sample_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: ',',
            column_types: BTreeMap::new(),
            sample_rows: 10_000,
        }
    }
}

/// An open CSV file: its header, where its data start, and its columns' types.
#[derive(Debug, Clone)]
pub struct CsvFile {
    path: PathBuf,
    data_offset: u64,
    data_first_line: u64,
    converter: ChunkConverter,
}

/// What a scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Every value fitted: the batches consumed are the file.
    Complete,
    /// Some values needed wider types; the types are now widened and the batches consumed must
    /// be thrown away and the file scanned again.
    Widened,
}

impl CsvFile {
    /// Opens `path`, reads its header and infers the column types from a sample.
    pub fn open(path: &Path, options: &CsvOptions) -> Result<CsvFile> {
        let file_name = path.display().to_string();
        let delimiter = u8::try_from(options.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| DataError::InvalidOption {
                owner: "the CSV options".to_owned(),
                option: "delimiter".to_owned(),
                reason: format!(
                    "the delimiter must be one ASCII character, not `{}`",
                    options.delimiter
                ),
            })?;
        let mut reader =
            BufReader::new(File::open(path).map_err(|error| DataError::io(path, error))?);
        let error_at = |line: u64, field: usize, message: String| DataError::Csv {
            file: file_name.clone(),
            line,
            column: (field + 1).to_string(),
            message,
        };
        let header = match read_header(&mut reader).map_err(|error| DataError::io(path, error))? {
            Header::Missing => {
                return Err(DataError::File {
                    file: file_name,
                    message: "the file is empty: a CSV file needs a header line naming its \
                              columns"
                        .to_owned(),
                });
            }
            Header::TooLong { first_line } => {
                return Err(error_at(
                    first_line,
                    0,
                    format!(
                        "the header record is longer than {} MiB: is a quoted field in it \
                         missing its closing quote?",
                        MAX_HEADER_BYTES >> 20
                    ),
                ));
            }
            Header::Found(header) => header,
        };
        let data_offset = header.offset + header.record.len() as u64;
        let data_first_line = header.first_line + lines_in(&header.record);
        let mut record = Record::default();
        let mut parser = RecordParser::new(&header.record, header.first_line, delimiter);
        parser
            .next_record(&mut record)
            .map_err(|error| error_at(error.line, error.field, error.message))?;
        let mut names: Vec<String> = Vec::with_capacity(record.len());
        for (index, field) in record.fields().enumerate() {
            let name = std::str::from_utf8(field).map_err(|_| {
                error_at(
                    record.line(),
                    index,
                    "invalid UTF-8 in the header".to_owned(),
                )
            })?;
            if name.trim().is_empty() {
                return Err(error_at(
                    record.line(),
                    index,
                    "the header has an empty column name".to_owned(),
                ));
            }
            if names.iter().any(|known| known == name) {
                return Err(error_at(
                    record.line(),
                    index,
                    format!("the header names column `{name}` twice"),
                ));
            }
            names.push(name.to_owned());
        }
        for declared in options.column_types.keys() {
            if !names.contains(declared) {
                return Err(DataError::MissingColumn {
                    column: declared.clone(),
                    needed_by: "the declared column types".to_owned(),
                    place: format!("the header of {file_name}"),
                    available: names,
                });
            }
        }
        let mut types: Vec<ColumnType> = names
            .iter()
            .map(|name| match options.column_types.get(name) {
                Some(&declared) => ColumnType::Declared(declared),
                None => ColumnType::Undetermined,
            })
            .collect();
        reader
            .seek(SeekFrom::Start(data_offset))
            .map_err(|error| DataError::io(path, error))?;
        infer_from_sample(
            reader,
            data_first_line,
            delimiter,
            options.sample_rows,
            &mut types,
        )
        .map_err(|error| DataError::io(path, error))?;
        let schema = schema_of(&names, &types);
        Ok(CsvFile {
            path: path.to_owned(),
            data_offset,
            data_first_line,
            converter: ChunkConverter {
                file: file_name,
                names,
                types,
                schema,
                delimiter,
                fingerprints: false,
            },
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.converter.names
    }

    /// The column types the next scan reads with.
    pub fn types(&self) -> Vec<FeatureType> {
        self.converter
            .types
            .iter()
            .map(|column_type| column_type.feature_type())
            .collect()
    }

    /// The Arrow schema of the batches the next scan produces.
    pub fn schema(&self) -> SchemaRef {
        self.converter.schema.clone()
    }

    /// Makes each batch carry its records' fingerprints (for hash-bucket splits).
    pub fn with_fingerprints(mut self) -> Self {
        self.converter.fingerprints = true;
        self
    }

    /// The column types, with how each is known.
    pub fn column_types(&self) -> &[ColumnType] {
        &self.converter.types
    }

    /// Widens the column types to hold those of `other` too (another file of the same data), so
    /// that every file is read alike. Declared types stay as declared.
    pub fn widen_to(&mut self, other: &[ColumnType]) {
        for (mine, theirs) in self.converter.types.iter_mut().zip(other) {
            *mine = match (*mine, *theirs) {
                (declared @ ColumnType::Declared(_), _) => declared,
                (ColumnType::Inferred(a), ColumnType::Inferred(b) | ColumnType::Declared(b)) => {
                    ColumnType::Inferred(a.widen(b))
                }
                (ColumnType::Undetermined, ColumnType::Inferred(b) | ColumnType::Declared(b)) => {
                    ColumnType::Inferred(b)
                }
                (known, ColumnType::Undetermined) => known,
            };
        }
        self.converter.schema = schema_of(&self.converter.names, &self.converter.types);
    }

    /// Reads the whole file on `threads` threads: each chunk is converted and passed to `map` on a
    /// worker, and the results reach `consume` in file order. When values needed wider types,
    /// returns [`ScanOutcome::Widened`] (the types are widened; scan again).
    pub fn scan<T, M, C>(&mut self, threads: usize, map: M, mut consume: C) -> Result<ScanOutcome>
    where
        T: Send,
        M: Fn(ConvertedChunk) -> Result<T> + Sync,
        C: FnMut(T) -> Result<()>,
    {
        let mut file = File::open(&self.path).map_err(|error| DataError::io(&self.path, error))?;
        file.seek(SeekFrom::Start(self.data_offset))
            .map_err(|error| DataError::io(&self.path, error))?;
        let path = self.path.clone();
        let chunks = ChunkReader::new(file, DEFAULT_CHUNK_SIZE, self.data_first_line)
            .map(|chunk| chunk.map_err(|error| DataError::io(&path, error)));
        let converter = &self.converter;
        let mut widenings: Vec<Option<FeatureType>> = vec![None; converter.names.len()];
        map_ordered(
            chunks,
            threads,
            |chunk| {
                let converted = converter.convert(&chunk)?;
                let chunk_widenings = converted.widenings.clone();
                Ok((chunk_widenings, map(converted)?))
            },
            |(chunk_widenings, result)| {
                for (widest, found) in widenings.iter_mut().zip(chunk_widenings) {
                    if let Some(found) = found {
                        *widest = Some(widest.map_or(found, |w| w.widen(found)));
                    }
                }
                consume(result)
            },
        )?;
        if widenings.iter().all(Option::is_none) {
            return Ok(ScanOutcome::Complete);
        }
        for (column_type, widening) in self.converter.types.iter_mut().zip(widenings) {
            if let Some(needed) = widening {
                *column_type = match *column_type {
                    ColumnType::Inferred(current) => ColumnType::Inferred(current.widen(needed)),
                    ColumnType::Undetermined => ColumnType::Inferred(needed),
                    declared @ ColumnType::Declared(_) => declared,
                };
            }
        }
        self.converter.schema = schema_of(&self.converter.names, &self.converter.types);
        Ok(ScanOutcome::Widened)
    }
}

/// The Arrow schema for columns of these types (every column nullable).
pub fn schema_of(names: &[String], types: &[ColumnType]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .zip(types)
            .map(|(name, column_type)| {
                Field::new(name, arrow_type(column_type.feature_type()), true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// The Arrow type of a feature type.
pub fn arrow_type(feature_type: FeatureType) -> DataType {
    match feature_type {
        FeatureType::Int => DataType::Int64,
        FeatureType::Float => DataType::Float64,
        FeatureType::String => DataType::Utf8,
    }
}

/// The longest header record the reader looks for. Without a bound, a quote left open in the
/// header would make the whole file the header, read into memory.
const MAX_HEADER_BYTES: usize = 16 << 20;

/// What the start of a file holds.
enum Header {
    /// No record: the file is empty, or holds only a byte-order mark and blank lines.
    Missing,
    /// The header record starting on line `first_line` is longer than [`MAX_HEADER_BYTES`].
    TooLong { first_line: u64 },
    /// The header record.
    Found(HeaderRecord),
}

/// The header record of a file and where it is.
struct HeaderRecord {
    /// Its offset in the file (after a byte-order mark and blank lines).
    offset: u64,
    /// The physical line it starts on (1-based).
    first_line: u64,
    /// Its bytes, up to and including its line end (line ends inside quotes included).
    record: Vec<u8>,
}

/// Reads the header record: past a UTF-8 byte-order mark and blank lines (empty lines, which
/// the record parser skips too), then line by line until the record's quotes are balanced at
/// a line end. Blank lines are counted, not kept; the record is read up to
/// [`MAX_HEADER_BYTES`].
fn read_header(reader: &mut impl BufRead) -> std::io::Result<Header> {
    let mut offset = 0_u64;
    let mut first_line = 1_u64;
    let mut record = Vec::new();
    let mut quotes = 0_usize;
    let mut at_start_of_file = true;
    loop {
        let start = record.len();
        let room = MAX_HEADER_BYTES + 1 - start;
        let read = (&mut *reader)
            .take(room as u64)
            .read_until(b'\n', &mut record)?;
        if read == 0 {
            return Ok(if record.is_empty() {
                Header::Missing
            } else {
                // The file ends in the header; the parser says what is wrong, if anything.
                Header::Found(HeaderRecord {
                    offset,
                    first_line,
                    record,
                })
            });
        }
        if std::mem::take(&mut at_start_of_file) && record.starts_with(BYTE_ORDER_MARK) {
            record.drain(..BYTE_ORDER_MARK.len());
            offset += BYTE_ORDER_MARK.len() as u64;
        }
        let line = &record[start..];
        let ends_line = line.ends_with(b"\n");
        // A lone `\r` can only be the last line of the file (it ends no line otherwise).
        if start == 0 && matches!(line, b"" | b"\n" | b"\r\n" | b"\r") {
            offset += line.len() as u64;
            first_line += u64::from(ends_line);
            record.clear();
            continue;
        }
        quotes += memchr::memchr_iter(b'"', line).count();
        if record.len() > MAX_HEADER_BYTES {
            return Ok(Header::TooLong { first_line });
        }
        if !ends_line || quotes.is_multiple_of(2) {
            return Ok(Header::Found(HeaderRecord {
                offset,
                first_line,
                record,
            }));
        }
    }
}

/// The UTF-8 byte-order mark some programs write at the start of a text file.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// How many line ends `bytes` hold.
fn lines_in(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Guesses the types of undetermined columns from the first `rows` records.
fn infer_from_sample(
    reader: impl std::io::Read,
    first_line: u64,
    delimiter: u8,
    rows: usize,
    types: &mut [ColumnType],
) -> std::io::Result<()> {
    let mut seen: Vec<Option<FeatureType>> = vec![None; types.len()];
    let mut chunks = ChunkReader::new(reader, 1 << 20, first_line);
    let mut record = Record::default();
    let mut remaining = rows;
    'chunks: while remaining > 0 {
        let Some(chunk) = chunks.next_chunk()? else {
            break;
        };
        let mut parser = RecordParser::new(&chunk.bytes, chunk.first_line, delimiter);
        loop {
            match parser.next_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                // A malformed record is reported with its place by the scan; the sample ends here.
                Err(_) => break 'chunks,
            }
            for (column, field) in record.fields().enumerate().take(types.len()) {
                if !field.is_empty() {
                    let found = FeatureType::of_text(field.trim_ascii());
                    seen[column] = Some(seen[column].map_or(found, |s| s.widen(found)));
                }
            }
            remaining -= 1;
            if remaining == 0 {
                break 'chunks;
            }
        }
    }
    for (column_type, seen) in types.iter_mut().zip(seen) {
        if let (ColumnType::Undetermined, Some(found)) = (*column_type, seen) {
            *column_type = ColumnType::Inferred(found);
        }
    }
    Ok(())
}
