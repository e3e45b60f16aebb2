//! # millrace-tabular
//!
//! TODO guide
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

mod error;
mod feature_type;

pub mod csv;
pub mod examples_format;
pub mod hash;
pub mod ingest;
pub mod input_pattern;
pub mod parallel;
pub mod report;
pub mod schema;
pub mod split;
pub mod statistics;
pub mod transform;
pub mod validation;

pub use error::{DataError, Result};
pub use feature_type::{FeatureType, parse_float, parse_float_text, parse_int};
