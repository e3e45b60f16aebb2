//! The error type of `millrace-tabular`: one enum, [`DataError`], whose variants say what went
//! wrong and where — the file, line and column of a malformed CSV field, the column an
//! operation looked for and the columns there are, the feature and the types involved, the
//! option at fault — so that a message tells a person what to do.

use std::path::Path;

use crate::input_pattern::SpanSelection;

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
    /// A file or directory as a whole cannot be used (empty, no header, no Parquet file, a
    /// format version this build does not read).
    #[error("{file}: {message}")]
    File {
        /// The file or directory.
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
    /// No input file: the pattern matches no file, or none in the spans asked for.
    #[error("{}", no_input_files(.pattern, .selection, .spans_found))]
    NoInputFiles {
        /// The input pattern.
        pattern: String,
        /// The spans asked for.
        selection: SpanSelection,
        /// The spans the pattern's files are in (empty when no file matches at all).
        spans_found: Vec<i64>,
    },
    /// Examples have no split of that name.
    #[error("no split `{split}` in {examples}{}", listed("splits", .available))]
    UnknownSplit {
        /// The split asked for.
        split: String,
        /// The examples (their directory).
        examples: String,
        /// The splits there are, when known.
        available: Vec<String>,
    },
    /// A column (a feature) that an operation reads is not in the data.
    #[error("{needed_by}: no column `{column}` in {place}{}", listed("columns", .available))]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// What reads it: `the split configuration`, ``transform op z_score `fare` → `z` ``.
        needed_by: String,
        /// Where it was looked for: `the data`, `the examples`, a file.
        place: String,
        /// The columns there are, when known (so that a typo shows).
        available: Vec<String>,
    },
    /// A column or feature has a type that the operation reading it cannot use.
    #[error("{needed_by}: needs {expected}, and `{column}` is {found}")]
    WrongType {
        /// The column or feature.
        column: String,
        /// What reads it.
        needed_by: String,
        /// What would do: `a numeric feature`, `an int64, float64 or utf8 column`.
        expected: String,
        /// What it is: `a string feature`, `of Arrow type Date32`.
        found: String,
    },
    /// An option or a fitted parameter cannot be used: of the CSV reader, a split
    /// configuration, a transform op or graph.
    #[error("{owner}: {reason}")]
    InvalidOption {
        /// Whose option: `the CSV options`, ``transform op cross `a`, `b` → `c` ``.
        owner: String,
        /// Which option: `delimiter`, `buckets`, `with`.
        option: String,
        /// Why, and what would do.
        reason: String,
    },
    /// Statistics that an op cannot be fitted on: none given, of another feature, without
    /// values, or with figures the op cannot use.
    #[error("{needed_by}: {reason}")]
    UnusableStatistics {
        /// The feature whose statistics are needed.
        feature: String,
        /// What needs them.
        needed_by: String,
        /// What is wrong with them.
        reason: String,
    },
    /// A document that is not in memory as a file (an artifact property, a transform graph as
    /// text) cannot be read or written.
    #[error("{document}: {reason}")]
    InvalidDocument {
        /// Which document: `transform graph`, ``the examples' split_names property `…` ``.
        document: String,
        /// Why.
        reason: String,
    },
    /// Record batches could not be built, filtered or combined, or do not have the shape an
    /// operation expects.
    #[error("{context}: {message}")]
    Arrow {
        /// What was being done.
        context: String,
        /// What Arrow (or the check) said.
        message: String,
    },
}

/// The message of [`DataError::NoInputFiles`].
fn no_input_files(pattern: &str, selection: &SpanSelection, spans_found: &[i64]) -> String {
    if spans_found.is_empty() {
        format!("no file matches the input pattern `{pattern}`")
    } else {
        format!(
            "no file of the input pattern `{pattern}` is in span {selection:?} (spans found: \
             {spans_found:?})"
        )
    }
}

/// ` (columns: a, b)`, or nothing when there is nothing to list.
fn listed(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({what}: {})", names.join(", "))
    }
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

    /// A [`MissingColumn`](DataError::MissingColumn) error: `needed_by` looked for `column` in
    /// `place`, whose columns are those of `schema`.
    pub fn missing_column(
        column: &str,
        needed_by: impl Into<String>,
        place: impl Into<String>,
        schema: &arrow_schema::Schema,
    ) -> Self {
        DataError::MissingColumn {
            column: column.to_owned(),
            needed_by: needed_by.into(),
            place: place.into(),
            available: crate::examples_format::column_names(schema),
        }
    }

    /// An [`Arrow`](DataError::Arrow) error while doing `context`.
    pub fn arrow(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        DataError::Arrow {
            context: context.into(),
            message: error.to_string(),
        }
    }
}

/// A `Result` with a [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_missing_and_what_there_is() {
        let error = DataError::MissingColumn {
            column: "user".to_owned(),
            needed_by: "the split configuration".to_owned(),
            place: "the data".to_owned(),
            available: vec!["id".to_owned(), "users".to_owned()],
        };
        assert_eq!(
            error.to_string(),
            "the split configuration: no column `user` in the data (columns: id, users)"
        );
        let error = DataError::NoInputFiles {
            pattern: "data/*.csv".to_owned(),
            selection: SpanSelection::Latest,
            spans_found: Vec::new(),
        };
        assert_eq!(
            error.to_string(),
            "no file matches the input pattern `data/*.csv`"
        );
        let error = DataError::UnknownSplit {
            split: "test".to_owned(),
            examples: "out/examples".to_owned(),
            available: Vec::new(),
        };
        assert_eq!(error.to_string(), "no split `test` in out/examples");
    }
}
