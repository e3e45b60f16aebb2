//! Turning parsed records into typed Arrow columns, and noticing values that need a wider type.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;

use super::chunks::{Chunk, MAX_RECORD_SIZE};
use super::parser::{Record, RecordParser, UNCLOSED_QUOTE};
use crate::{DataError, Result};
use crate::{FeatureType, parse_float_text, parse_int};

/// The type a CSV column is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Inferred from values seen so far; a value that does not fit widens it.
    Inferred(FeatureType),
    /// Given by the user; a value that does not fit is an error.
    Declared(FeatureType),
    /// No value seen yet.
    Undetermined,
}

impl ColumnType {
    /// The type the column is read as now (an undetermined column reads as float, all nulls).
    pub fn feature_type(self) -> FeatureType {
        match self {
            ColumnType::Inferred(feature_type) | ColumnType::Declared(feature_type) => feature_type,
            ColumnType::Undetermined => FeatureType::Float,
        }
    }
}

/// One chunk's records as a batch, plus what the chunk taught about the columns' types.
#[derive(Debug)]
pub struct ConvertedChunk {
    /// The chunk's position in the file.
    pub index: usize,
    /// The records, typed.
    pub batch: RecordBatch,
    /// Per record, its [`Record::fingerprint`], when asked for.
    pub fingerprints: Vec<u64>,
    /// Per column, the type a value of this chunk needs when it is wider than the column's.
    pub widenings: Vec<Option<FeatureType>>,
}

impl ConvertedChunk {
    /// Whether every value fitted its column's type.
    pub fn fits(&self) -> bool {
        self.widenings.iter().all(Option::is_none)
    }
}

enum ColumnBuilder {
    Int(Int64Builder),
    Float(Float64Builder),
    String(StringBuilder),
}

/// Converts chunks of one file with fixed column types.
#[derive(Debug, Clone)]
pub struct ChunkConverter {
    /// The file, for errors.
    pub file: String,
    /// The header's column names.
    pub names: Vec<String>,
    /// The column types.
    pub types: Vec<ColumnType>,
    /// The Arrow schema of the batches.
    pub schema: SchemaRef,
    /// The field delimiter.
    pub delimiter: u8,
    /// Whether to compute record fingerprints (hash splits need them).
    pub fingerprints: bool,
}

impl ChunkConverter {
    /// Parses and converts one chunk.
    pub fn convert(&self, chunk: &Chunk) -> Result<ConvertedChunk> {
        let estimated_rows = chunk.bytes.len() / (self.names.len() * 4 + 1) + 1;
        let mut builders: Vec<ColumnBuilder> = self
            .types
            .iter()
            .map(|column_type| match column_type.feature_type() {
                FeatureType::Int => ColumnBuilder::Int(Int64Builder::with_capacity(estimated_rows)),
                FeatureType::Float => {
                    ColumnBuilder::Float(Float64Builder::with_capacity(estimated_rows))
                }
                FeatureType::String => ColumnBuilder::String(StringBuilder::with_capacity(
                    estimated_rows,
                    chunk.bytes.len() / self.names.len().max(1),
                )),
            })
            .collect();
        let mut widenings: Vec<Option<FeatureType>> = vec![None; self.names.len()];
        let mut fingerprints = Vec::new();
        let mut parser = RecordParser::new(&chunk.bytes, chunk.first_line, self.delimiter);
        let mut record = Record::default();
        while parser.next_record(&mut record).map_err(|error| {
            let message = if chunk.cut_short && error.message == UNCLOSED_QUOTE {
                format!(
                    "a quoted field is not closed within {} MiB: its closing quote is missing",
                    MAX_RECORD_SIZE >> 20
                )
            } else {
                error.message
            };
            self.error(error.line, error.field, message)
        })? {
            if record.len() != self.names.len() {
                return Err(self.error(
                    record.line(),
                    record.len().min(self.names.len()),
                    format!(
                        "expected {} fields, as in the header, found {}",
                        self.names.len(),
                        record.len()
                    ),
                ));
            }
            if self.fingerprints {
                fingerprints.push(record.fingerprint());
            }
            for (column, builder) in builders.iter_mut().enumerate() {
                let field = record.field(column);
                if field.is_empty() {
                    match builder {
                        ColumnBuilder::Int(builder) => builder.append_null(),
                        ColumnBuilder::Float(builder) => builder.append_null(),
                        ColumnBuilder::String(builder) => builder.append_null(),
                    }
                    continue;
                }
                let fitted = match builder {
                    ColumnBuilder::Int(builder) => {
                        parse_int(field.trim_ascii()).map(|value| builder.append_value(value))
                    }
                    ColumnBuilder::Float(builder) => record
                        .field_text(column)
                        .and_then(|text| parse_float_text(text.trim_ascii()))
                        .map(|value| builder.append_value(value)),
                    ColumnBuilder::String(builder) => {
                        let Some(text) = record.field_text(column) else {
                            let valid = std::str::from_utf8(field)
                                .err()
                                .map_or(0, |error| error.valid_up_to());
                            return Err(self.error(
                                record.line(),
                                column,
                                format!("invalid UTF-8 (byte {} of the field)", valid + 1),
                            ));
                        };
                        builder.append_value(text);
                        Some(())
                    }
                };
                if fitted.is_some() && self.types[column] != ColumnType::Undetermined {
                    continue;
                }
                let needed = FeatureType::of_text(field.trim_ascii());
                match self.types[column] {
                    ColumnType::Declared(declared) => {
                        return Err(self.error(
                            record.line(),
                            column,
                            format!(
                                "`{}` is not a valid {declared} (the column is declared {declared})",
                                String::from_utf8_lossy(field)
                            ),
                        ));
                    }
                    ColumnType::Inferred(_) | ColumnType::Undetermined => {
                        let widest = widenings[column].map_or(needed, |w| w.widen(needed));
                        widenings[column] = Some(widest);
                        if fitted.is_none() {
                            match builder {
                                ColumnBuilder::Int(builder) => builder.append_null(),
                                ColumnBuilder::Float(builder) => builder.append_null(),
                                ColumnBuilder::String(builder) => builder.append_null(),
                            }
                        }
                    }
                }
            }
        }
        let columns: Vec<ArrayRef> = builders
            .into_iter()
            .map(|builder| -> ArrayRef {
                match builder {
                    ColumnBuilder::Int(mut builder) => Arc::new(builder.finish()),
                    ColumnBuilder::Float(mut builder) => Arc::new(builder.finish()),
                    ColumnBuilder::String(mut builder) => Arc::new(builder.finish()),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|error| DataError::arrow(&self.file, error))?;
        Ok(ConvertedChunk {
            index: chunk.index,
            batch,
            fingerprints,
            widenings,
        })
    }

    /// An error at `line`, in the column of 0-based index `column`.
    pub fn error(&self, line: u64, column: usize, message: String) -> DataError {
        let column = match self.names.get(column) {
            Some(name) => format!("{} (`{name}`)", column + 1),
            None => (column + 1).to_string(),
        };
        DataError::Csv {
            file: self.file.clone(),
            line,
            column,
            message,
        }
    }
}
