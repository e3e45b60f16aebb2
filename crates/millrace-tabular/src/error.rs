//! The error type of `millrace-tabular`.

use std::path::Path;

/// What can go wrong reading, profiling, validating or transforming data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A CSV file is malformed at a known place.
    #[error("{file}:{line}: column {column}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// The 1-based physical line where the problem is.
        line: u64,
        /// The 1-based column number, with the column's name when the header gives one.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A file as a whole cannot be used (empty, no header, unreadable).
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A Parquet file could not be read or written.
    #[error("{path}: {message}")]
    Parquet {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A JSON document (statistics, schema, anomalies, transform graph) could not be read or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A component's configuration cannot be used.
    #[error("{0}")]
    Config(String),
    /// The data do not fit what an operation needs (a missing column, a wrong type).
    #[error("{0}")]
    Data(String),
    /// A model could not be loaded or served (its serving process failed, or answered wrongly).
    #[error("{0}")]
    Model(String),
    /// The pipeline was told to fail on anomalies, and there are some.
    #[error("{count} anomalies found: {summary}")]
    Anomalies {
        /// How many.
        count: usize,
        /// One line per anomaly.
        summary: String,
    },
}

impl DataError {
    /// An [`Io`](DataError::Io) error at `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A [`Json`](DataError::Json) error of the document at `path`.
    pub fn json(path: &Path, source: serde_json::Error) -> Self {
        DataError::Json {
            path: path.display().to_string(),
            source,
        }
    }

    /// A [`Parquet`](DataError::Parquet) error of the file at `path`.
    pub fn parquet(path: &Path, error: impl std::fmt::Display) -> Self {
        DataError::Parquet {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}

/// A `Result` with a [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
