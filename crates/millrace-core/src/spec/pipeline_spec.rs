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

use crate::fingerprint::{Fingerprint, JsonWriter, Layout, canonical_json, maps_iterate_sorted};
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

    /// The spec as indented JSON, keys of maps in sorted order (`serde_json`'s pretty form).
    pub fn to_json(&self) -> String {
        if !maps_iterate_sorted() {
            // A spec is made of strings, numbers, maps with string keys and JSON values: it
            // always serialises.
            return serde_json::to_string_pretty(self).unwrap_or_default();
        }
        // A node takes some 700 bytes: room for 1,024, given back after, spares the text its
        // copies into ever larger buffers.
        let mut out = JsonWriter::text(Layout::Indented, 1024 + 1024 * self.nodes.len());
        self.write_json(&mut out);
        out.finish().0
    }

    /// The spec as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The hash of the canonical form: equal specs have equal fingerprints on every machine.
    pub fn fingerprint(&self) -> Fingerprint {
        if !maps_iterate_sorted() {
            return Fingerprint::of_serialize(self);
        }
        let mut out = JsonWriter::hashing();
        self.write_json(&mut out);
        out.finish().1
    }

    /// The canonical form that the fingerprint hashes: compact JSON, fields in declaration
    /// order, map keys sorted.
    pub fn canonical_json(&self) -> String {
        if !maps_iterate_sorted() {
            return canonical_json(&self.to_value());
        }
        let mut out = JsonWriter::text(Layout::Compact, 1024 + 512 * self.nodes.len());
        self.write_json(&mut out);
        out.finish().0
    }

    /// The canonical form and its fingerprint, written and hashed in one pass.
    pub(crate) fn canonical_json_and_fingerprint(&self) -> (String, Fingerprint) {
        let mut out = CanonicalJsonWriter::start(self, self.nodes.len());
        for node in &self.nodes {
            out.node(node);
        }
        out.finish(self)
    }

    /// Writes the spec's JSON: what its `Serialize` implementation writes through
    /// `serde_json`, byte for byte. The nodes are written by hand (`NodeSpec::write_json`),
    /// the fields a spec has one of through serde.
    fn write_json(&self, out: &mut JsonWriter) {
        self.write_json_head(out);
        for (index, node) in self.nodes.iter().enumerate() {
            write_json_node(out, index, node);
        }
        self.write_json_tail(self.nodes.len(), out);
    }

    /// Writes the spec's JSON up to its first node: `{"schema_version":...,"nodes":[`.
    fn write_json_head(&self, out: &mut JsonWriter) {
        let PipelineSpec {
            schema_version,
            name,
            description,
            root,
            tags,
            parameters,
            nodes: _,
            exit_handler: _,
            schedule: _,
            data_triggers: _,
        } = self;
        out.raw("{");
        out.key(true, 1, "schema_version");
        out.string(schema_version);
        out.key(false, 1, "name");
        out.string(name);
        if let Some(description) = description {
            out.key(false, 1, "description");
            out.string(description);
        }
        if let Some(root) = root {
            out.key(false, 1, "root");
            out.string(root);
        }
        if !tags.is_empty() {
            out.key(false, 1, "tags");
            out.serialize(tags, 1);
        }
        if !parameters.is_empty() {
            out.key(false, 1, "parameters");
            out.serialize(parameters, 1);
        }
        out.key(false, 1, "nodes");
        out.raw("[");
    }

    /// Writes the spec's JSON after its last node, the `count`-th: `],...}`.
    fn write_json_tail(&self, count: usize, out: &mut JsonWriter) {
        let PipelineSpec {
            schema_version: _,
            name: _,
            description: _,
            root: _,
            tags: _,
            parameters: _,
            nodes: _,
            exit_handler,
            schedule,
            data_triggers,
        } = self;
        out.close(count == 0, 1, "]");
        if let Some(exit_handler) = exit_handler {
            out.key(false, 1, "exit_handler");
            out.string(exit_handler);
        }
        if let Some(schedule) = schedule {
            out.key(false, 1, "schedule");
            out.serialize(schedule, 1);
        }
        if !data_triggers.is_empty() {
            out.key(false, 1, "data_triggers");
            out.serialize(data_triggers, 1);
        }
        out.close(false, 0, "}");
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

/// Writes the `index`-th node of a spec's JSON.
fn write_json_node(out: &mut JsonWriter, index: usize, node: &NodeSpec) {
    out.item(index == 0, 2);
    node.write_json(out, 2);
    out.flush_if_full();
}

/// A spec's canonical JSON and its fingerprint, written node by node as the nodes are made:
/// the builder writes each node while it is still in the cache, instead of walking 10,000
/// nodes again afterwards (a walk is some 200,000 cache misses — the nodes are spread over the
/// heap), and the text is hashed a chunk at a time as it is written, rather than read back.
pub(crate) struct CanonicalJsonWriter {
    /// `None` when `serde_json`'s maps do not iterate sorted: `PipelineSpec::canonical_json`
    /// and `PipelineSpec::fingerprint` know what to do then.
    out: Option<JsonWriter>,
    nodes: usize,
}

impl CanonicalJsonWriter {
    /// Starts the canonical JSON of `spec`, whose nodes, about `expected` of them, come next;
    /// the fields before its nodes must be final.
    pub(crate) fn start(spec: &PipelineSpec, expected: usize) -> Self {
        let out = maps_iterate_sorted().then(|| {
            // A node takes some 300 bytes: room for 512, given back after.
            let mut out = JsonWriter::hashed_text(1024 + 512 * expected);
            spec.write_json_head(&mut out);
            out
        });
        CanonicalJsonWriter { out, nodes: 0 }
    }

    /// Writes the next node.
    pub(crate) fn node(&mut self, node: &NodeSpec) {
        if let Some(out) = &mut self.out {
            write_json_node(out, self.nodes, node);
        }
        self.nodes += 1;
    }

    /// The canonical JSON of `spec`, whose nodes were all written, and its fingerprint: what
    /// `spec.canonical_json()` and `spec.fingerprint()` return.
    pub(crate) fn finish(self, spec: &PipelineSpec) -> (String, Fingerprint) {
        match self.out {
            Some(mut out) => {
                spec.write_json_tail(self.nodes, &mut out);
                out.finish()
            }
            None => (spec.canonical_json(), spec.fingerprint()),
        }
    }
}
