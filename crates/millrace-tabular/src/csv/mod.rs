//! Reading CSV files: an RFC 4180 parser, record-aligned chunks for parallel parsing, and type
//! inference.

pub mod chunks;
pub mod columns;
pub mod parser;
pub mod reader;

pub use columns::{ColumnType, ConvertedChunk};
pub use reader::{CsvFile, CsvOptions, ScanOutcome, arrow_type};
