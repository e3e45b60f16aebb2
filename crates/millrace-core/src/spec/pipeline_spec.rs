//! `PipelineSpec`: a whole pipeline as data, canonical and versioned JSON.
//!
//! ```
//! use millrace_core::spec::PipelineSpec;
//!
//! let json = r#"{"schema_version": "millrace.pipeline/v1", "name": "empty", "nodes": []}"#;
//! let spec = PipelineSpec::from_json(json).unwrap();
//! assert_eq!(spec.name, "empty");
//! assert_eq!(PipelineSpec::from_json(&spec.to_json()).unwrap(), spec);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fingerprint::Fingerprint;
use crate::spec::error::Error;
use crate::spec::node::NodeSpec;
use crate::spec::parameter::ParameterSpec;
use crate::spec::schedule::ScheduleSpec;
use crate::spec::trigger::DataTrigger;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: &str = "millrace.pipeline/v1";

/// A whole pipeline as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Always [`SCHEMA_VERSION`] for specs this build understands.
    pub schema_version: String,
    /// The pipeline's name: letters, digits, `_` and `-`.
    pub name: String,
    /// What the pipeline does; becomes the DAG documentation on Airflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The pipeline root (a directory or object-store URL), if fixed by the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Runtime parameters, in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterSpec>,
    /// The nodes, in the order they were added (a topological order for built pipelines).
    pub nodes: Vec<NodeSpec>,
    /// The id of the node that runs after all others, whatever their outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_handler: Option<String>,
    /// When the pipeline runs on a scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// Runs when new data lands under an ingesting node's input (`serve` watches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_triggers: Vec<DataTrigger>,
}

impl PipelineSpec {
    /// An empty spec of the current schema version.
    pub fn new(name: impl Into<String>) -> Self {
        PipelineSpec {
            schema_version: SCHEMA_VERSION.to_owned(),
            name: name.into(),
            description: None,
            root: None,
            tags: Vec::new(),
            parameters: Vec::new(),
            nodes: Vec::new(),
            exit_handler: None,
            data_triggers: Vec::new(),
            schedule: None,
        }
    }

    /// Parses a spec; a syntax or shape error names its line and column.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|error| Error::SpecJson {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        })
    }

    /// The spec as indented JSON, keys of maps in sorted order.
    pub fn to_json(&self) -> String {
        // A spec is made of strings, numbers, maps with string keys and JSON values: it
        // always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The spec as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The hash of the canonical form: equal specs have equal fingerprints on every machine.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_serialize(self)
    }

    /// The canonical form that the fingerprint hashes: compact JSON, fields in declaration
    /// order, map keys sorted.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The node called `id`.
    pub fn node(&self, id: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// The runtime parameter called `name`.
    pub fn parameter(&self, name: &str) -> Option<&ParameterSpec> {
        self.parameters
            .iter()
            .find(|parameter| parameter.name == name)
    }
}
