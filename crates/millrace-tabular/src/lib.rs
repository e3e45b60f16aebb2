//! # millrace-tabular
//!
//! The tabular data library of Millrace: reading CSV and Parquet into the Examples format,
//! profiling it into statistics, inferring a schema, validating data against it, and fitting and
//! applying preprocessing — on Arrow and Parquet, streaming, on every core. It knows nothing of
//! pipelines: `millrace-components` wraps these functions into the CsvExampleGen,
//! ImportExampleGen, StatisticsGen, SchemaGen, ExampleValidator and Transform components, and
//! any other program (a data check in CI, a serving process that applies a transform graph) can
//! call them directly.
//!
//! | module | what it holds |
//! |---|---|
//! | [`csv`] | a strict RFC 4180 parser, record-aligned chunks for parallel parsing, type inference that widens int → float → string |
//! | [`examples_format`] | the Examples format: a directory of Parquet files per split, its writer and readers |
//! | [`ingest`] | CSV or Parquet files into Examples ([`ingest::ingest_csv`], [`ingest::ingest_parquet`]) |
//! | [`input_pattern`] | input patterns with `{SPAN}` and `{VERSION}`, and which files a span selects |
//! | [`split`] | how rows are divided into splits: stable hash buckets, or a column naming them |
//! | [`statistics`] | the statistics document, its mergeable sketches (KLL quantiles, Space-Saving, HyperLogLog) and the profiling pass |
//! | [`schema`] | the schema document and its inference from statistics |
//! | [`validation`] | anomalies of statistics against a schema, with drift and skew distances |
//! | [`transform`] | preprocessing ops, fitted on statistics into a [`transform::TransformGraph`] that training and serving apply alike |
//! | [`report`] | self-contained HTML reports of statistics and anomalies |
//! | [`parallel`] | the ordered parallel map everything above streams through |
//! | [`hash`] | the stable hashes and seeded generators, in one place |
//!
//! Each document (`statistics.json`, `schema.json`, `anomalies.json`, `transform_graph.json`)
//! is JSON, with its `read_…`/`write_…` (or `load`/`save`) functions beside its type.
//!
//! Three properties hold throughout:
//!
//! * **Bounded memory.** Files are read in chunks or row groups and profiled into sketches whose
//!   size depends on the features, not the rows: a 1 GiB CSV is profiled in well under 500 MiB
//!   of resident memory (test `bounded_memory`).
//! * **The same result on any number of threads.** Work is mapped in parallel and consumed in
//!   input order ([`parallel::map_ordered`]); partial statistics merge exactly or within the
//!   sketches' stated bounds.
//! * **The same result on any machine, in any version.** Split assignment, hash buckets and
//!   sketches use the hashes of [`hash`], defined by their constants rather than by the standard
//!   library, so data split or bucketed today land in the same place tomorrow.
//!
//! The functions work on files, without a pipeline. Ingest a CSV file, profile it, infer a
//! schema, and validate new data against it:
//!
//! ```
//! use millrace_tabular::csv::CsvOptions;
//! use millrace_tabular::ingest::ingest_csv;
//! use millrace_tabular::schema::{InferenceOptions, infer_schema};
//! use millrace_tabular::split::SplitConfig;
//! use millrace_tabular::statistics::{StatisticsOptions, examples_statistics};
//! use millrace_tabular::validation::{AnomalyKind, validate};
//!
//! let dir = tempfile::tempdir()?;
//! let clean = dir.path().join("clean.csv");
//! std::fs::write(&clean, "size,colour\n1.5,red\n2.5,blue\n2.0,red\n")?;
//! let report = ingest_csv(&[clean], &CsvOptions::default(), &SplitConfig::buckets(&[("train", 1)]),
//!                         &dir.path().join("clean"), 2)?;
//! assert_eq!(report.splits, vec![("train".to_owned(), 3)]);
//!
//! let options = StatisticsOptions::default();
//! let statistics = examples_statistics(&dir.path().join("clean"), None, None, &options, 2)?;
//! let schema = infer_schema(&statistics, &InferenceOptions::default());
//! assert!(validate(&statistics, &schema, None).is_empty());
//!
//! // New data with a colour the schema has not seen.
//! let new = dir.path().join("new.csv");
//! std::fs::write(&new, "size,colour\n1.0,green\n")?;
//! ingest_csv(&[new], &CsvOptions::default(), &SplitConfig::buckets(&[("train", 1)]),
//!            &dir.path().join("new"), 2)?;
//! let fresh = examples_statistics(&dir.path().join("new"), None, None, &options, 2)?;
//! let anomalies = validate(&fresh, &schema, None);
//! assert_eq!(anomalies.features(), vec!["colour", "size"]);
//! assert!(anomalies.anomalies.iter().any(|a| a.kind == AnomalyKind::OutOfDomain
//!                                            && a.examples == ["green"]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors are one enum, [`DataError`], whose variants say what went wrong and where: malformed
//! CSV names the file, line and column; a missing column names what needed it and lists the
//! columns there are.

mod error;
mod feature_type;
mod json_float;

pub mod csv;
pub mod examples_format;
pub mod hash;
pub mod ingest;
pub mod input_pattern;
pub mod parallel;
pub mod report;
pub mod schema;
pub mod shard;
pub mod split;
pub mod statistics;
pub mod transform;
pub mod validation;

pub use error::{DataError, Result};
pub use feature_type::{FeatureType, parse_float, parse_float_text, parse_int};
