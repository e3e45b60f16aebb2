//! The transform graph: the fitted ops in order, and the columns passed through unchanged.
//!
//! Transform fits the graph on the train split, applies it to every split, and writes it as
//! [`TRANSFORM_GRAPH_FILE`]; serving loads that file and applies the very same graph, so
//! training and serving cannot drift.
//!
//! # Applying
//!
//! Ops run in order, and each reads its inputs from the columns written by the ops before it
//! (the latest writer of a name wins) and then from the input batch: `fill_missing` into
//! `age_filled` then `z_score` of `age_filled` works, and so does an op writing over an input
//! column's name (`fill_missing` of `age` into `age`). Passthrough columns (a label, an id) are
//! always copied from the input batch. The result holds the passthrough columns, then every op's
//! outputs, in op order; names must be unique among them.
//!
//! # File format
//!
//! Pretty JSON, versioned; a reader refuses versions it does not know rather than misreading
//! them:
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "passthrough": ["tips"],
//!   "ops": [
//!     {"fill_missing": {"input": "age", "output": "age", "value": {"int": 38}}},
//!     {"z_score": {"input": "age", "output": "age_z", "mean": 38.2, "std_dev": 11.5}}
//!   ]
//! }
//! ```
//!
//! Op by op, see [`FittedOp`].

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field, FieldRef, Schema, SchemaRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ops::{Columns, feature_type_of};
use super::{FittedOp, TransformOp};
use crate::FeatureType;
use crate::csv::arrow_type;
use crate::examples_format::column_names;
use crate::statistics::SplitStatistics;
use crate::{DataError, Result};

/// The file name of the transform graph inside a `TransformGraph` artifact.
pub const TRANSFORM_GRAPH_FILE: &str = "transform_graph.json";

/// The version of the transform graph format this build writes and reads.
pub const TRANSFORM_GRAPH_FORMAT_VERSION: u64 = 1;

/// Fitted preprocessing: ops applied in order to a record batch, and input columns copied
/// unchanged. See the [module documentation](self).
///
/// Serialises as the versioned document of [`TRANSFORM_GRAPH_FILE`]; deserialising checks the
/// version and [validates](Self::validate) the graph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransformGraph {
    passthrough: Vec<String>,
    ops: Vec<FittedOp>,
}

/// What is written: borrowed, with the version.
#[derive(Serialize)]
struct DocumentRef<'a> {
    format_version: u64,
    passthrough: &'a [String],
    ops: &'a [FittedOp],
}

/// What is read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format_version: u64,
    #[serde(default)]
    passthrough: Vec<String>,
    ops: Vec<FittedOp>,
}

/// The version alone, read before the rest so that a newer document gets a clear refusal
/// rather than an error about some field it has changed.
#[derive(Deserialize)]
struct Header {
    format_version: Option<serde_json::Value>,
}

/// Why a document could not be read.
enum Unreadable {
    Json(serde_json::Error),
    Version(String),
}

/// The columns an op can read while a graph applies: earlier outputs, then the batch.
struct Env<'a> {
    batch: &'a RecordBatch,
    written: &'a [(String, ArrayRef)],
}

impl Columns for Env<'_> {
    fn column_names(&self) -> Vec<String> {
        let mut names = column_names(&self.batch.schema());
        names.extend(self.written.iter().map(|(name, _)| name.clone()));
        names
    }

    fn find_column(&self, name: &str) -> Option<&ArrayRef> {
        self.written
            .iter()
            .rev()
            .find(|(written, _)| written == name)
            .map(|(_, array)| array)
            .or_else(|| self.batch.column_by_name(name))
    }
}

impl TransformGraph {
    /// A graph applying `ops` in order and copying the `passthrough` columns.
    pub fn new(ops: Vec<FittedOp>, passthrough: Vec<String>) -> Self {
        TransformGraph { passthrough, ops }
    }

    /// Fits `ops` on the statistics of a split (the train split's) and makes the graph.
    ///
    /// An op that needs statistics must read columns of the examples: there are no statistics
    /// for the outputs of earlier ops, so fitting one on them is an error
    /// ([`DataError::UnusableStatistics`]), as is a feature the statistics lack.
    pub fn fit(
        ops: &[TransformOp],
        passthrough: Vec<String>,
        statistics: &SplitStatistics,
    ) -> Result<Self> {
        let mut written: HashSet<String> = HashSet::new();
        let mut fitted = Vec::with_capacity(ops.len());
        for op in ops {
            let inputs = op.inputs();
            let raw: Vec<_> = inputs
                .iter()
                .filter(|input| !written.contains(**input))
                .filter_map(|input| statistics.feature(input))
                .collect();
            if op.needs_statistics() {
                for input in &inputs {
                    if written.contains(*input) {
                        return Err(DataError::UnusableStatistics {
                            feature: (*input).to_owned(),
                            needed_by: op.label(),
                            reason: format!(
                                "reads `{input}`, written by an earlier op, and needs statistics \
                                 to fit, which exist only for the examples' columns"
                            ),
                        });
                    }
                    if statistics.feature(input).is_none() {
                        return Err(DataError::UnusableStatistics {
                            feature: (*input).to_owned(),
                            needed_by: op.label(),
                            reason: format!(
                                "needs the statistics of `{input}`, and those of split `{}` have \
                                 no such feature",
                                statistics.name
                            ),
                        });
                    }
                }
            }
            // Ops that need none still use the statistics when all are at hand (fill_missing
            // checks that its constant fits the feature).
            let given = if raw.len() == inputs.len() {
                raw.as_slice()
            } else {
                &[]
            };
            let op = op.fit(given)?;
            written.extend(op.outputs());
            fitted.push(op);
        }
        let graph = TransformGraph::new(fitted, passthrough);
        graph.validate()?;
        Ok(graph)
    }

    /// The ops, in application order.
    pub fn ops(&self) -> &[FittedOp] {
        &self.ops
    }

    /// The columns copied unchanged from the input.
    pub fn passthrough(&self) -> &[String] {
        &self.passthrough
    }

    /// The columns the graph reads from its input (what serving must provide): the passthrough
    /// columns, then the op inputs no earlier op writes, each once, in order.
    pub fn input_columns(&self) -> Vec<&str> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut written: HashSet<String> = HashSet::new();
        let mut columns = Vec::new();
        for name in &self.passthrough {
            if seen.insert(name) {
                columns.push(name.as_str());
            }
        }
        for op in &self.ops {
            for input in op.inputs() {
                if !written.contains(input) && seen.insert(input) {
                    columns.push(input);
                }
            }
            written.extend(op.outputs());
        }
        columns
    }

    /// The names of the columns the graph writes, in order: the passthrough columns, then every
    /// op's outputs.
    pub fn output_names(&self) -> Vec<String> {
        self.passthrough
            .iter()
            .cloned()
            .chain(self.ops.iter().flat_map(FittedOp::outputs))
            .collect()
    }

    /// Checks every op ([`FittedOp::validate`]) and that the output names are unique.
    /// Errors are [`DataError::InvalidOption`].
    pub fn validate(&self) -> Result<()> {
        for op in &self.ops {
            op.validate()?;
        }
        let mut seen = HashSet::new();
        for name in self.output_names() {
            if name.is_empty() {
                return Err(DataError::InvalidOption {
                    owner: TRANSFORM_GRAPH.to_owned(),
                    option: "passthrough".to_owned(),
                    reason: "a column name is empty".to_owned(),
                });
            }
            if !seen.insert(name.clone()) {
                return Err(DataError::InvalidOption {
                    owner: TRANSFORM_GRAPH.to_owned(),
                    option: "ops".to_owned(),
                    reason: format!(
                        "column `{name}` is written twice (passthrough and op output names must \
                         be unique)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The schema of what [`apply`](Self::apply) makes of batches of schema `input`.
    ///
    /// Passthrough fields are the input's; op outputs are int64, float64 or utf8 after
    /// [`FittedOp::output_fields`], nullable unless the op never writes nulls
    /// ([`FittedOp::output_nullable`]). Errors name a missing column
    /// ([`DataError::MissingColumn`]) or one whose type does not suit the op that reads it
    /// ([`DataError::WrongType`]).
    pub fn output_schema(&self, input: &Schema) -> Result<SchemaRef> {
        self.validate()?;
        let mut fields: Vec<FieldRef> = Vec::with_capacity(self.passthrough.len() + self.ops.len());
        for name in &self.passthrough {
            let field = input
                .field_with_name(name)
                .map_err(|_| missing_passthrough(name, column_names(input)))?;
            fields.push(Arc::new(field.clone()));
        }
        let mut written: HashMap<String, FeatureType> = HashMap::new();
        for op in &self.ops {
            let input_types = op
                .inputs()
                .into_iter()
                .map(|name| column_type(op, name, &written, input))
                .collect::<Result<Vec<_>>>()?;
            for (name, feature_type) in op.output_fields(&input_types)? {
                fields.push(Arc::new(Field::new(
                    name.as_str(),
                    arrow_type(feature_type),
                    op.output_nullable(),
                )));
                written.insert(name, feature_type);
            }
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Applies the graph to `batch`: the passthrough columns, then every op's outputs, in order,
    /// with the schema of [`output_schema`](Self::output_schema) and as many rows as `batch`.
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        let mut written: Vec<(String, ArrayRef)> = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            let outputs = op.apply_to(&Env {
                batch,
                written: &written,
            })?;
            written.extend(outputs);
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for name in &self.passthrough {
            // `output_schema` found every passthrough column.
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| missing_passthrough(name, column_names(&batch.schema())))?;
            columns.push(Arc::clone(column));
        }
        columns.extend(written.into_iter().map(|(_, array)| array));
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(schema, columns, &options)
            .map_err(|error| DataError::arrow(TRANSFORM_GRAPH, error))
    }

    /// The graph as pretty JSON, after [validating](Self::validate) it (a fitted figure that is
    /// not finite could not be read back).
    pub fn to_json(&self) -> Result<String> {
        self.validate()?;
        serde_json::to_string_pretty(self).map_err(|error| invalid_document(error.to_string()))
    }

    /// Reads a graph from JSON, refusing format versions other than
    /// [`TRANSFORM_GRAPH_FORMAT_VERSION`] and invalid graphs ([`DataError::InvalidDocument`]).
    pub fn from_json(text: &str) -> Result<Self> {
        Self::parse(text).map_err(|unreadable| match unreadable {
            Unreadable::Json(error) => invalid_document(error.to_string()),
            Unreadable::Version(message) => invalid_document(message),
        })
    }

    /// Writes the graph to `path` as pretty JSON (conventionally [`TRANSFORM_GRAPH_FILE`] in
    /// the artifact's directory).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = self.to_json()?;
        text.push('\n');
        std::fs::write(path, text).map_err(|error| DataError::io(path, error))
    }

    /// Reads a graph written by [`save`](Self::save). Refuses format versions other than
    /// [`TRANSFORM_GRAPH_FORMAT_VERSION`] ([`DataError::File`]) and malformed or invalid graphs
    /// ([`DataError::Json`]).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| DataError::io(path, error))?;
        Self::parse(&text).map_err(|unreadable| match unreadable {
            Unreadable::Json(error) => DataError::json(path, error),
            Unreadable::Version(message) => DataError::File {
                file: path.display().to_string(),
                message,
            },
        })
    }

    fn parse(text: &str) -> std::result::Result<Self, Unreadable> {
        let header: Header = serde_json::from_str(text).map_err(Unreadable::Json)?;
        match header.format_version {
            None => {
                return Err(Unreadable::Version(
                    "not a transform graph: `format_version` is missing".to_owned(),
                ));
            }
            Some(version) if version.as_u64() != Some(TRANSFORM_GRAPH_FORMAT_VERSION) => {
                return Err(Unreadable::Version(format!(
                    "transform graph format_version {version} is not supported: this build reads \
                     version {TRANSFORM_GRAPH_FORMAT_VERSION} (was the graph written by a newer \
                     millrace?)"
                )));
            }
            Some(_) => {}
        }
        serde_json::from_str(text).map_err(Unreadable::Json)
    }
}

/// The feature type of column `name` as `op` reads it: an earlier output's, else the input's.
fn column_type(
    op: &FittedOp,
    name: &str,
    written: &HashMap<String, FeatureType>,
    input: &Schema,
) -> Result<FeatureType> {
    if let Some(feature_type) = written.get(name) {
        return Ok(*feature_type);
    }
    let field = input
        .field_with_name(name)
        .map_err(|_| DataError::MissingColumn {
            column: name.to_owned(),
            needed_by: op.label(),
            place: "the examples or the outputs of earlier ops".to_owned(),
            available: column_names(input)
                .into_iter()
                .chain(written.keys().cloned())
                .collect(),
        })?;
    feature_type_of(field.data_type()).ok_or_else(|| DataError::WrongType {
        column: name.to_owned(),
        needed_by: op.label(),
        expected: "an int64, float64 or utf8 column".to_owned(),
        found: format!("of Arrow type {}", field.data_type()),
    })
}

/// What the errors of this module name as the owner of the columns and options.
const TRANSFORM_GRAPH: &str = "transform graph";

/// The error of a passthrough column that the input does not have.
fn missing_passthrough(name: &str, available: Vec<String>) -> DataError {
    DataError::MissingColumn {
        column: name.to_owned(),
        needed_by: "transform graph (a passthrough column)".to_owned(),
        place: "the examples".to_owned(),
        available,
    }
}

/// An [`InvalidDocument`](DataError::InvalidDocument) error of a graph as text.
fn invalid_document(reason: String) -> DataError {
    DataError::InvalidDocument {
        document: TRANSFORM_GRAPH.to_owned(),
        reason,
    }
}

impl Serialize for TransformGraph {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        DocumentRef {
            format_version: TRANSFORM_GRAPH_FORMAT_VERSION,
            passthrough: &self.passthrough,
            ops: &self.ops,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TransformGraph {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let document = Document::deserialize(deserializer)?;
        if document.format_version != TRANSFORM_GRAPH_FORMAT_VERSION {
            return Err(serde::de::Error::custom(format!(
                "transform graph format_version {} is not supported: this build reads version \
                 {TRANSFORM_GRAPH_FORMAT_VERSION}",
                document.format_version
            )));
        }
        let graph = TransformGraph::new(document.ops, document.passthrough);
        graph.validate().map_err(serde::de::Error::custom)?;
        Ok(graph)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::statistics::FeatureStatistics;
    use crate::transform::ops::test_support::{numeric_stats, string_stats};
    use crate::transform::ops::{FillValue, Vocabulary};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::{Float64Array, Int64Array, StringArray};
    use arrow_schema::DataType;

    fn examples() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("age", DataType::Int64, true),
            Field::new("fare", DataType::Float64, true),
            Field::new("pay", DataType::Utf8, true),
            Field::new("tips", DataType::Float64, false),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(20), None, Some(40), Some(60)])),
                Arc::new(Float64Array::from(vec![
                    Some(0.0),
                    Some(9.0),
                    None,
                    Some(99.0),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("cash"),
                    Some("card"),
                    None,
                    Some("mobile"),
                ])),
                Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0])),
            ],
        )
        .unwrap()
    }

    fn percentiles() -> Vec<f64> {
        (0..=100).map(f64::from).collect()
    }

    fn split(features: Vec<FeatureStatistics>) -> SplitStatistics {
        SplitStatistics {
            name: "train".to_owned(),
            num_examples: 4,
            features,
        }
    }

    /// One op of each kind, fitted by hand.
    fn every_kind() -> TransformGraph {
        TransformGraph::new(
            vec![
                FittedOp::FillMissing {
                    input: "age".into(),
                    output: "age_filled".into(),
                    value: FillValue::Int(40),
                },
                FittedOp::ZScore {
                    input: "age_filled".into(),
                    output: "age_z".into(),
                    mean: 40.0,
                    std_dev: 20.0,
                },
                FittedOp::MinMax {
                    input: "fare".into(),
                    output: "fare_scaled".into(),
                    min: 0.0,
                    max: 90.0,
                    clip: true,
                },
                FittedOp::Bucketize {
                    input: "fare".into(),
                    output: "fare_bucket".into(),
                    boundaries: vec![5.0, 50.0],
                },
                FittedOp::Vocabulary {
                    input: "pay".into(),
                    output: "pay_id".into(),
                    vocabulary: Vocabulary::new(vec!["cash".into(), "card".into()]),
                    num_oov_buckets: 1,
                },
                FittedOp::OneHot {
                    input: "pay".into(),
                    output: "pay_hot".into(),
                    vocabulary: Vocabulary::new(vec!["cash".into()]),
                },
                FittedOp::HashBuckets {
                    input: "pay".into(),
                    output: "pay_hash".into(),
                    buckets: 1000,
                },
                FittedOp::Log {
                    input: "fare".into(),
                    output: "fare_log".into(),
                    offset: 1.0,
                },
                FittedOp::Cross {
                    inputs: vec!["pay".into(), "age".into()],
                    output: "pay_x_age".into(),
                    buckets: 1000,
                },
            ],
            vec!["tips".into()],
        )
    }

    #[test]
    fn every_kind_applies_in_order_with_the_schema_announced() {
        let graph = every_kind();
        let batch = examples();
        let output = graph.apply(&batch).unwrap();
        assert_eq!(
            output.schema(),
            graph.output_schema(&batch.schema()).unwrap()
        );
        assert_eq!(output.num_rows(), 4);
        let names: Vec<_> = output
            .schema()
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "tips",
                "age_filled",
                "age_z",
                "fare_scaled",
                "fare_bucket",
                "pay_id",
                "pay_hot_0",
                "pay_hot_oov",
                "pay_hash",
                "fare_log",
                "pay_x_age"
            ]
        );
        let schema = output.schema();
        let field = |name: &str| schema.field_with_name(name).unwrap().clone();
        assert_eq!(field("tips"), Field::new("tips", DataType::Float64, false));
        assert_eq!(
            field("age_filled"),
            Field::new("age_filled", DataType::Int64, false)
        );
        assert_eq!(field("age_z"), Field::new("age_z", DataType::Float64, true));
        assert_eq!(field("pay_id"), Field::new("pay_id", DataType::Int64, true));
        assert_eq!(
            field("pay_hot_oov"),
            Field::new("pay_hot_oov", DataType::Float64, false)
        );

        let floats = |name: &str| -> Vec<Option<f64>> {
            output
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>()
                .iter()
                .collect()
        };
        let ints = |name: &str| -> Vec<Option<i64>> {
            output
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Int64Type>()
                .iter()
                .collect()
        };
        assert_eq!(floats("tips"), [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
        assert_eq!(ints("age_filled"), [Some(20), Some(40), Some(40), Some(60)]);
        // Chained: the z-score reads the filled column, so the null became 0.
        assert_eq!(
            floats("age_z"),
            [Some(-1.0), Some(0.0), Some(0.0), Some(1.0)]
        );
        assert_eq!(
            floats("fare_scaled"),
            [Some(0.0), Some(0.1), None, Some(1.0)]
        );
        assert_eq!(ints("fare_bucket"), [Some(0), Some(1), None, Some(2)]);
        // "mobile" is out of the vocabulary: 2 + hash % 1.
        assert_eq!(ints("pay_id"), [Some(0), Some(1), None, Some(2)]);
        assert_eq!(
            floats("pay_hot_0"),
            [Some(1.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(
            floats("pay_hot_oov"),
            [Some(0.0), Some(1.0), Some(0.0), Some(1.0)]
        );
        // python3: FNV-1a 64 of "cash" % 1000 == 130.
        assert_eq!(ints("pay_hash")[0], Some(130));
        assert_eq!(ints("pay_hash")[2], None);
        assert_eq!(
            floats("fare_log")[..3],
            [Some(0.0), Some(10.0_f64.ln()), None]
        );
        // python3: FNV-1a 64 of "4:cash2:20" % 1000 == 534, of "6:mobile2:60" % 1000 == 205.
        assert_eq!(ints("pay_x_age"), [Some(534), None, None, Some(205)]);

        assert_eq!(graph.input_columns(), ["tips", "age", "fare", "pay"]);
    }

    #[test]
    fn graphs_round_trip_through_the_file() {
        let graph = every_kind();
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(TRANSFORM_GRAPH_FILE);
        graph.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"format_version\": 1,\n"), "{text}");
        assert_eq!(TransformGraph::load(&path).unwrap(), graph);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["passthrough"], serde_json::json!(["tips"]));
        assert_eq!(
            json["ops"][0],
            serde_json::json!({"fill_missing": {"input": "age", "output": "age_filled", "value": {"int": 40}}})
        );
        assert_eq!(
            json["ops"][5],
            serde_json::json!({"one_hot": {"input": "pay", "output": "pay_hot", "vocabulary": ["cash"]}})
        );
        assert_eq!(
            TransformGraph::from_json(&graph.to_json().unwrap()).unwrap(),
            graph
        );
    }

    #[test]
    fn unknown_versions_are_refused_clearly() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(TRANSFORM_GRAPH_FILE);
        std::fs::write(
            &path,
            r#"{"format_version": 2, "ops": [{"brand_new_op": {}}]}"#,
        )
        .unwrap();
        let error = TransformGraph::load(&path).unwrap_err();
        assert!(matches!(error, DataError::File { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("format_version 2 is not supported") && message.contains("version 1"),
            "{message}"
        );

        let error = TransformGraph::from_json(r#"{"ops": []}"#).unwrap_err();
        assert!(
            error.to_string().contains("`format_version` is missing"),
            "{error}"
        );
        let error = TransformGraph::from_json(r#"{"format_version": "1", "ops": []}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("format_version \"1\" is not supported"),
            "{error}"
        );
        let empty = TransformGraph::from_json(r#"{"format_version": 1, "ops": []}"#).unwrap();
        assert_eq!(empty, TransformGraph::default());
        // Invalid graphs do not load either.
        let error = TransformGraph::from_json(
            r#"{"format_version": 1, "ops": [{"hash_buckets": {"input": "a", "output": "h", "buckets": 0}}]}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("`buckets` must be between 1"),
            "{error}"
        );
    }

    #[test]
    fn fit_chains_fill_missing_into_z_score_over_the_statistics() {
        let statistics = split(vec![
            numeric_stats(
                "age",
                FeatureType::Int,
                [40.0, 20.0, 20.0, 60.0, 40.0],
                percentiles(),
            ),
            string_stats("pay", &[("cash", 3), ("card", 1)]),
        ]);
        let ops: Vec<TransformOp> = serde_json::from_str(
            r#"[
                {"fill_missing": {"input": "age", "output": "age", "with": "mean"}},
                {"vocabulary": {"input": "pay", "output": "pay_id"}},
                {"cross": {"inputs": ["pay", "age"], "output": "c", "buckets": 10}}
            ]"#,
        )
        .unwrap();
        let graph = TransformGraph::fit(&ops, vec!["tips".into()], &statistics).unwrap();
        assert_eq!(graph.ops().len(), 3);
        assert_eq!(
            graph.ops()[0],
            FittedOp::FillMissing {
                input: "age".into(),
                output: "age".into(),
                value: FillValue::Int(40)
            }
        );
        let output = graph.apply(&examples()).unwrap();
        let ages: Vec<_> = output
            .column_by_name("age")
            .unwrap()
            .as_primitive::<Int64Type>()
            .iter()
            .collect();
        assert_eq!(ages, [Some(20), Some(40), Some(40), Some(60)]);
        // The cross reads the filled age: row 1 is no longer null.
        assert_eq!(output.column_by_name("c").unwrap().null_count(), 1);

        // z_score of an op's output cannot be fitted from the examples' statistics.
        let chained: Vec<TransformOp> = serde_json::from_str(
            r#"[
                {"fill_missing": {"input": "age", "output": "age_filled", "with": "mean"}},
                {"z_score": {"input": "age_filled", "output": "age_z"}}
            ]"#,
        )
        .unwrap();
        let error = TransformGraph::fit(&chained, Vec::new(), &statistics).unwrap_err();
        assert!(
            matches!(&error, DataError::UnusableStatistics { feature, .. } if feature == "age_filled"),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("`age_filled`, written by an earlier op"),
            "{error}"
        );
        let missing: Vec<TransformOp> =
            serde_json::from_str(r#"[{"z_score": {"input": "fare", "output": "z"}}]"#).unwrap();
        let error = TransformGraph::fit(&missing, Vec::new(), &statistics).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("split `train` have no such feature"),
            "{error}"
        );
        // A constant that cannot fill the feature is caught at fit when the statistics have it.
        let constant: Vec<TransformOp> = serde_json::from_str(
            r#"[{"fill_missing": {"input": "pay", "output": "p", "with": {"constant": 1}}}]"#,
        )
        .unwrap();
        assert!(TransformGraph::fit(&constant, Vec::new(), &statistics).is_err());
    }

    #[test]
    fn missing_and_mistyped_columns_are_named() {
        let batch = examples();
        let graph = TransformGraph::new(
            vec![FittedOp::ZScore {
                input: "income".into(),
                output: "z".into(),
                mean: 0.0,
                std_dev: 1.0,
            }],
            Vec::new(),
        );
        let error = graph.apply(&batch).unwrap_err();
        assert!(
            matches!(&error, DataError::MissingColumn { column, .. } if column == "income"),
            "{error}"
        );
        assert!(error.to_string().contains("column `income`"), "{error}");

        let graph = TransformGraph::new(
            vec![FittedOp::Vocabulary {
                input: "age".into(),
                output: "v".into(),
                vocabulary: Vocabulary::new(vec!["1".into()]),
                num_oov_buckets: 1,
            }],
            Vec::new(),
        );
        let error = graph.apply(&batch).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs a string column, and `age` is a int column"),
            "{error}"
        );

        let graph = TransformGraph::new(Vec::new(), vec!["label".into()]);
        let error = graph.apply(&batch).unwrap_err();
        assert!(
            matches!(&error, DataError::MissingColumn { column, .. } if column == "label"),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("passthrough column") && message.contains("no column `label`"),
            "{message}"
        );
    }

    #[test]
    fn output_names_must_be_unique() {
        let graph = TransformGraph::new(
            vec![FittedOp::Log {
                input: "fare".into(),
                output: "tips".into(),
                offset: 1.0,
            }],
            vec!["tips".into()],
        );
        assert!(matches!(
            graph.validate(),
            Err(DataError::InvalidOption { reason, .. }) if reason.contains("`tips` is written twice")
        ));
        assert!(graph.apply(&examples()).is_err());
        assert!(graph.to_json().is_err());
    }

    #[test]
    fn a_graph_without_columns_keeps_the_row_count() {
        let output = TransformGraph::default().apply(&examples()).unwrap();
        assert_eq!((output.num_rows(), output.num_columns()), (4, 0));
    }
}
