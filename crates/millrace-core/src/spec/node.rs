//! Nodes in the IR: what a node does, the outputs it reads, the outputs it writes, its options.
//!
//! A node's JSON is written by hand (`NodeSpec::write_json`) rather than
//! through its `Serialize` implementation: a pipeline has thousands of nodes, and serde's
//! generic path escapes every key and string one byte at a time. The hand-written form is the
//! derived one byte for byte — the field lists are destructured exhaustively, so a new field
//! fails to compile until it is written, and tests compare both forms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fingerprint::JsonWriter;
use crate::spec::condition::Operand;
use crate::spec::options::NodeOptions;

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
    /// Writes the node's JSON, starting on a line at `depth`: what its `Serialize`
    /// implementation writes through `serde_json`, field for field and byte for byte.
    pub(crate) fn write_json(&self, out: &mut JsonWriter, depth: usize) {
        let NodeSpec {
            id,
            task,
            inputs,
            outputs,
            options,
        } = self;
        let member = depth + 1;
        out.raw("{");
        out.key(true, member, "id");
        out.string(id);
        out.key(false, member, "task");
        match task {
            TaskSpec::Component {
                kind,
                version,
                config,
            } => {
                out.raw("{");
                out.key(true, member + 1, "type");
                out.raw("\"component\"");
                out.key(false, member + 1, "kind");
                out.string(kind);
                out.key(false, member + 1, "version");
                out.unsigned(u64::from(*version));
                out.key(false, member + 1, "config");
                out.value(config, member + 1);
                out.close(false, member, "}");
            }
            TaskSpec::Resolver { .. } | TaskSpec::Importer { .. } => out.serialize(task, member),
        }
        if !inputs.is_empty() {
            out.key(false, member, "inputs");
            out.raw("{");
            for (index, (name, input)) in inputs.iter().enumerate() {
                let InputSpec {
                    artifact_type,
                    channel: ChannelRef { node, output },
                } = input;
                out.item(index == 0, member + 1);
                out.string(name);
                out.colon();
                out.raw("{");
                out.key(true, member + 2, "artifact_type");
                out.string(artifact_type);
                out.key(false, member + 2, "channel");
                out.raw("{");
                out.key(true, member + 3, "node");
                out.string(node);
                out.key(false, member + 3, "output");
                out.string(output);
                out.close(false, member + 2, "}");
                out.close(false, member + 1, "}");
            }
            out.close(false, member, "}");
        }
        if !outputs.is_empty() {
            out.key(false, member, "outputs");
            out.raw("{");
            for (index, (name, output)) in outputs.iter().enumerate() {
                let OutputSpec { artifact_type } = output;
                out.item(index == 0, member + 1);
                out.string(name);
                out.colon();
                out.raw("{");
                out.key(true, member + 2, "artifact_type");
                out.string(artifact_type);
                out.close(false, member + 1, "}");
            }
            out.close(false, member, "}");
        }
        if !options.is_default() {
            out.key(false, member, "options");
            out.serialize(options, member);
        }
        out.close(false, depth, "}");
    }

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
                if let Operand::ArtifactProperty { channel, .. } = operand {
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
    /// The Model artifact a registered model's alias points at (`taxi@champion`), from the
    /// model registry; nothing when the alias points nowhere yet.
    ModelAlias {
        /// The registered model.
        model: String,
        /// The alias.
        alias: String,
    },
}

impl ResolverStrategy {
    /// The strategy's name as written in the IR.
    pub fn name(&self) -> &'static str {
        match self {
            ResolverStrategy::LatestArtifact => "latest_artifact",
            ResolverStrategy::LatestBlessedModel => "latest_blessed_model",
            ResolverStrategy::SpanRange { .. } => "span_range",
            ResolverStrategy::ModelAlias { .. } => "model_alias",
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
