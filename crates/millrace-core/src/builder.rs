//! `PipelineBuilder`: the typed authoring API.
//!
//! Adding a node records a small draft: the component's configuration as a JSON value, its
//! channels as they are, and its options only when it has some. `build` then makes the IR in
//! one pass over the drafts — each node's references copied from a table of the ids added so
//! far (contiguous, where the nodes themselves are spread over the heap), and each node's
//! canonical JSON written and hashed as soon as the node is made, while it is in the cache —
//! and validates it. Cost: O(nodes + edges); for 10,000 nodes about 20 allocations a node,
//! most of them the IR's own strings and maps.
//!
//! ```
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("nightly");
//! builder.description("Retrains every night").schedule(Schedule::cron("0 3 * * *"));
//! let epochs = builder.param("epochs", 3_i64);
//! # let _ = epochs;
//! let pipeline = builder.build().unwrap();
//! assert_eq!(pipeline.spec().parameters[0].name, "epochs");
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::artifact::Artifact;
use crate::channel::{BuilderId, ChannelSource, ErasedChannel, NodeHandle};
use crate::component::{
    Component, InputSet, IntoNode, OutputDeclaration, OutputSet, component_config,
};
use crate::condition::Condition;
use crate::parameter::{ParameterValue, RuntimeParameter};
use crate::pipeline::Pipeline;
use crate::registry::Registry;
use crate::resolver::{Importer, ImporterOutputs, Resolver};
use crate::spec::error::BuildError;
use crate::spec::{
    CanonicalJsonWriter, ChannelRef, ConditionSpec, InputSpec, NodeOptions, NodeSpec, OutputSpec,
    ParameterSpec, PipelineSpec, Problem, Schedule, TaskSpec, ValidationIssue,
};

static NEXT_BUILDER_ID: AtomicU64 = AtomicU64::new(1);

/// A node as added, its channels not yet turned into references: what `build` writes into
/// the IR. Small, because a pipeline may have 10,000 of them side by side.
struct DraftNode {
    id: String,
    task: TaskSpec,
    inputs: Vec<(&'static str, Option<ErasedChannel>)>,
    outputs: Vec<OutputDeclaration>,
    /// Options and condition, when the node has any: most nodes have neither.
    settings: Option<Box<DraftSettings>>,
}

/// The options and `when` condition of a [`DraftNode`].
struct DraftSettings {
    options: NodeOptions,
    when: Option<Condition>,
}

impl DraftNode {
    fn new(
        id: &str,
        task: TaskSpec,
        inputs: Vec<(&'static str, Option<ErasedChannel>)>,
        outputs: Vec<OutputDeclaration>,
    ) -> Self {
        DraftNode {
            id: id.to_owned(),
            task,
            inputs,
            outputs,
            settings: None,
        }
    }

    fn with_settings(mut self, options: NodeOptions, when: Option<Condition>) -> Self {
        if when.is_some() || !options.is_default() {
            self.settings = Some(Box::new(DraftSettings { options, when }));
        }
        self
    }
}

/// The ids of the nodes added, side by side in one string: an input's reference copies its
/// producer's id from here — 10,000 ids take some 60 KB — rather than from the producer's own
/// allocation, wherever on the heap that is.
#[derive(Default)]
struct NodeIds {
    text: String,
    ends: Vec<usize>,
}

impl NodeIds {
    fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len());
    }

    /// The id of the `index`-th node added.
    fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = match index.checked_sub(1) {
            Some(previous) => *self.ends.get(previous)?,
            None => 0,
        };
        self.text.get(start..end)
    }
}

/// Builds a [`Pipeline`] from typed components; made by [`Pipeline::builder`].
pub struct PipelineBuilder {
    id: BuilderId,
    spec: PipelineSpec,
    drafts: Vec<DraftNode>,
    ids: NodeIds,
    registry: Registry,
    issues: Vec<ValidationIssue>,
}

impl PipelineBuilder {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        PipelineBuilder {
            id: BuilderId(NEXT_BUILDER_ID.fetch_add(1, Ordering::Relaxed)),
            spec: PipelineSpec::new(name),
            drafts: Vec::new(),
            ids: NodeIds::default(),
            registry: Registry::empty(),
            issues: Vec::new(),
        }
    }

    /// Describes the pipeline (Airflow shows it as the DAG's documentation).
    pub fn description(&mut self, text: impl Into<String>) -> &mut Self {
        self.spec.description = Some(text.into());
        self
    }

    /// Fixes the pipeline root (otherwise the runner's `--root` decides).
    pub fn root(&mut self, root: impl Into<String>) -> &mut Self {
        self.spec.root = Some(root.into());
        self
    }

    /// Adds a tag.
    pub fn tag(&mut self, tag: impl Into<String>) -> &mut Self {
        self.spec.tags.push(tag.into());
        self
    }

    /// Runs the pipeline on a schedule when deployed to a scheduler.
    pub fn schedule(&mut self, schedule: Schedule) -> &mut Self {
        self.spec.schedule = Some(schedule);
        self
    }

    /// Runs the pipeline when new data lands under node `node`'s input — a new span under an
    /// example generator's pattern — once the data has stayed unchanged for `debounce_seconds`
    /// (`serve` watches; each span fires once).
    pub fn trigger_on_new_data(&mut self, node: &str, debounce_seconds: u32) -> &mut Self {
        self.spec
            .data_triggers
            .retain(|trigger| trigger.node != node);
        self.spec
            .data_triggers
            .push(crate::spec::DataTrigger::on(node).debounce_seconds(debounce_seconds));
        self
    }

    /// Declares a runtime parameter with a default value.
    pub fn param<T: ParameterValue>(&mut self, name: &str, default: T) -> RuntimeParameter<T> {
        let default = serde_json::to_value(default).unwrap_or(Value::Null);
        self.declare_parameter::<T>(name, Some(default))
    }

    /// Declares a runtime parameter that every run must set.
    pub fn required_param<T: ParameterValue>(&mut self, name: &str) -> RuntimeParameter<T> {
        self.declare_parameter::<T>(name, None)
    }

    fn declare_parameter<T: ParameterValue>(
        &mut self,
        name: &str,
        default: Option<Value>,
    ) -> RuntimeParameter<T> {
        self.spec.parameters.push(ParameterSpec {
            name: name.to_owned(),
            parameter_type: T::TYPE,
            default,
            description: None,
        });
        RuntimeParameter::new(name, self.id)
    }

    /// Documents a declared runtime parameter.
    pub fn describe_param<T>(
        &mut self,
        parameter: &RuntimeParameter<T>,
        text: impl Into<String>,
    ) -> &mut Self {
        if let Some(spec) = self
            .spec
            .parameters
            .iter_mut()
            .find(|spec| spec.name == parameter.name())
        {
            spec.description = Some(text.into());
        }
        self
    }

    fn handle(&self) -> NodeHandle {
        NodeHandle {
            builder: self.id,
            node: self.drafts.len(),
        }
    }

    /// Adds a component as node `id`; returns its typed output channels.
    pub fn add<N: IntoNode>(&mut self, id: &str, node: N) -> <N::Component as Component>::Outputs {
        let node = node.into_node();
        let handle = self.handle();
        let config = component_config(&node.component).unwrap_or_else(|why| {
            self.issues.push(ValidationIssue::node(
                id,
                Problem::InvalidConfig(format!("cannot be serialised: {why}")),
            ));
            Value::Null
        });
        self.registry.register::<N::Component>();
        let task = TaskSpec::Component {
            kind: <N::Component as Component>::KIND.to_owned(),
            version: <N::Component as Component>::VERSION,
            config,
        };
        let outputs = <<N::Component as Component>::Outputs as OutputSet>::declarations();
        let draft = DraftNode::new(id, task, node.inputs.bindings(), outputs);
        self.push(draft.with_settings(node.options, node.when));
        <N::Component as Component>::Outputs::bind(handle)
    }

    /// Adds node `id` as the exit handler: it runs after every other node, whatever happened.
    pub fn exit_handler<N: IntoNode>(
        &mut self,
        id: &str,
        node: N,
    ) -> <N::Component as Component>::Outputs {
        let outputs = self.add(id, node);
        self.spec.exit_handler = Some(id.to_owned());
        outputs
    }

    /// Adds a resolver node; returns the channels of the artifacts it selects.
    pub fn resolve<R: Resolver>(&mut self, id: &str, resolver: R) -> R::Outputs {
        let handle = self.handle();
        let (strategy, sources) = resolver.into_query();
        let inputs = sources
            .into_iter()
            .map(|(name, channel)| (name, Some(channel)))
            .collect();
        let task = TaskSpec::Resolver { strategy };
        self.push(DraftNode::new(id, task, inputs, R::Outputs::declarations()));
        R::Outputs::bind(handle)
    }

    /// Adds an importer node; returns the channel of the imported artifact.
    pub fn import<T: Artifact>(&mut self, id: &str, importer: Importer<T>) -> ImporterOutputs<T> {
        let handle = self.handle();
        self.registry.register_artifact::<T>();
        let outputs = ImporterOutputs::<T>::declarations();
        self.push(DraftNode::new(
            id,
            importer.into_task(),
            Vec::new(),
            outputs,
        ));
        ImporterOutputs::bind(handle)
    }

    fn push(&mut self, draft: DraftNode) {
        self.ids.push(&draft.id);
        self.drafts.push(draft);
    }

    /// The reference to the output a channel carries: the id of the node it comes from. A
    /// channel of another builder is reported, and refers to no node.
    fn channel_ref(&mut self, node: &str, input: &str, source: &ChannelSource) -> ChannelRef {
        let producer = self
            .ids
            .get(source.node)
            .filter(|_| source.builder == self.id);
        match producer {
            Some(producer) => ChannelRef {
                node: producer.to_owned(),
                output: source.output.to_owned(),
            },
            None => {
                self.issues.push(ValidationIssue::node(
                    node,
                    Problem::ForeignChannel {
                        input: input.to_owned(),
                    },
                ));
                ChannelRef {
                    node: String::new(),
                    output: source.output.to_owned(),
                }
            }
        }
    }

    /// Turns the typed pipeline into its IR and validates it, reporting every problem.
    pub fn build(mut self) -> Result<Pipeline, BuildError> {
        let drafts = std::mem::take(&mut self.drafts);
        let mut nodes = Vec::with_capacity(drafts.len());
        // Each node's JSON is written as soon as it is made, while it is in the cache.
        let mut canonical_json = CanonicalJsonWriter::start(&self.spec, drafts.len());
        for draft in drafts {
            let node = self.node_spec(draft);
            canonical_json.node(&node);
            nodes.push(node);
        }
        self.spec.nodes = nodes;
        let canonical_json = canonical_json.finish(&self.spec);
        let mut registry = Registry::global().clone();
        registry.merge(&self.registry);
        Pipeline::assemble(self.spec, registry, self.issues, Some(canonical_json))
    }

    /// A node of the IR, its channels turned into references to the nodes they come from.
    fn node_spec(&mut self, draft: DraftNode) -> NodeSpec {
        let DraftNode {
            id,
            task,
            inputs: bindings,
            outputs,
            settings,
        } = draft;
        let mut inputs = BTreeMap::new();
        for (name, channel) in bindings {
            let Some(channel) = channel else { continue };
            let reference = self.channel_ref(&id, name, &channel.source);
            let input = InputSpec {
                artifact_type: channel.artifact_type.name.to_owned(),
                channel: reference,
            };
            inputs.insert(name.to_owned(), input);
        }
        // Inserted one by one: collecting into a map gathers and sorts the entries in a vector
        // first, an allocation more for the one or two outputs a node has.
        let mut output_specs = BTreeMap::new();
        for output in outputs {
            let spec = OutputSpec {
                artifact_type: output.artifact_type.name.to_owned(),
            };
            output_specs.insert(output.name.to_owned(), spec);
        }
        let options = match settings {
            None => NodeOptions::default(),
            Some(settings) => {
                let DraftSettings { mut options, when } = *settings;
                options.when = when.map(|condition| -> ConditionSpec {
                    condition
                        .0
                        .map_channels(&mut |source| self.channel_ref(&id, "when", source))
                });
                options
            }
        };
        NodeSpec {
            id,
            task,
            inputs,
            outputs: output_specs,
            options,
        }
    }
}
