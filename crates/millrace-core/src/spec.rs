//! The pipeline IR: `PipelineSpec`, canonical and versioned JSON.
//!
//! Everything a runner or an exporter needs is here: nodes with their component kind and
//! serialised configuration, inputs as references to upstream outputs, outputs with artifact
//! types, node options, runtime parameters, the exit handler and the schedule. A spec read from
//! JSON is checked by [`validate`](crate::validate) before it becomes a
//! [`Pipeline`](crate::Pipeline).
//!
//! ```
//! use millrace_core::spec::PipelineSpec;
//!
//! let json = r#"{"schema_version": "millrace.pipeline/v1", "name": "empty", "nodes": []}"#;
//! let spec = PipelineSpec::from_json(json).unwrap();
//! assert_eq!(spec.name, "empty");
//! assert_eq!(PipelineSpec::from_json(&spec.to_json()).unwrap(), spec);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::options::NodeOptions;
use crate::parameter::ParameterType;

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

/// A runtime parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// The parameter's name: an identifier.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub parameter_type: ParameterType,
    /// The value used when a run does not set one; a parameter without one must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The node's id, unique in the pipeline.
    pub id: String,
    /// What the node does.
    pub task: TaskSpec,
    /// Inputs by name: channels for components, query sources for resolvers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputSpec>,
    /// Outputs by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, OutputSpec>,
    /// How it runs.
    #[serde(default, skip_serializing_if = "NodeOptions::is_default")]
    pub options: NodeOptions,
}

impl NodeSpec {
    /// The nodes this one must wait for: producers of its channel inputs and of the artifacts
    /// its condition reads. A resolver waits for the producer it names too, so that it can leave
    /// out what that producer holds in this run.
    pub fn upstream_node_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .inputs
            .values()
            .map(|input| input.channel.node.as_str())
            .collect();
        if let Some(condition) = &self.options.when {
            for operand in condition.operands() {
                if let crate::condition::Operand::ArtifactProperty { channel, .. } = operand {
                    ids.push(channel.node.as_str());
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// What a node does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskSpec {
    /// Runs a registered component.
    Component {
        /// The registered kind.
        kind: String,
        /// The component version the spec was written with.
        version: u32,
        /// The component's serialised configuration; may hold `{"$param": NAME}` references.
        #[serde(default)]
        config: Value,
    },
    /// Selects artifacts from earlier runs.
    Resolver {
        /// How.
        strategy: ResolverStrategy,
    },
    /// Registers an external URI as an artifact.
    Importer {
        /// The URI to register.
        source_uri: String,
        /// Register a new artifact even if one with this URI exists.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reimport: bool,
        /// Properties to give the artifact.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        properties: BTreeMap<String, Value>,
        /// Custom properties to give the artifact.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        custom_properties: BTreeMap<String, Value>,
    },
}

impl TaskSpec {
    /// A short label for graphs and messages.
    pub fn label(&self) -> String {
        match self {
            TaskSpec::Component { kind, .. } => kind.clone(),
            TaskSpec::Resolver { strategy } => format!("resolver: {}", strategy.name()),
            TaskSpec::Importer { .. } => "importer".to_owned(),
        }
    }
}

/// How a resolver node selects artifacts across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResolverStrategy {
    /// The newest LIVE artifact of the source channel's producer and output.
    LatestArtifact,
    /// The newest model with a blessed `ModelBlessing`.
    LatestBlessedModel,
    /// Examples whose span lies in a range; optionally only the latest N spans.
    SpanRange {
        /// The smallest span, inclusive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_span: Option<i64>,
        /// The largest span, inclusive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_span: Option<i64>,
        /// Keep only the newest N spans of the range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latest_spans: Option<u32>,
    },
}

impl ResolverStrategy {
    /// The strategy's name as written in the IR.
    pub fn name(&self) -> &'static str {
        match self {
            ResolverStrategy::LatestArtifact => "latest_artifact",
            ResolverStrategy::LatestBlessedModel => "latest_blessed_model",
            ResolverStrategy::SpanRange { .. } => "span_range",
        }
    }
}

/// A reference to an output of a node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRef {
    /// The producing node's id.
    pub node: String,
    /// The output's name.
    pub output: String,
}

impl std::fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.node, self.output)
    }
}

/// A connected input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The artifact type the input expects.
    pub artifact_type: String,
    /// The output it reads.
    pub channel: ChannelRef,
}

/// An output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The artifact type it produces.
    pub artifact_type: String,
}

/// When the pipeline runs on a scheduler (Airflow, Argo CronWorkflow, Vertex schedules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// A five-field cron expression or a preset such as `@daily`.
    pub cron: String,
    /// The first date a run is scheduled for, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Whether missed intervals are run after a pause.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catchup: bool,
    /// At most this many runs at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active_runs: Option<u32>,
}
