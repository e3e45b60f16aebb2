//! `PipelineBuilder`: the typed authoring API.
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
    ChannelRef, ConditionSpec, InputSpec, NodeOptions, NodeSpec, OutputSpec, ParameterSpec,
    PipelineSpec, Problem, Schedule, TaskSpec, ValidationIssue,
};

static NEXT_BUILDER_ID: AtomicU64 = AtomicU64::new(1);

struct DraftNode {
    id: String,
    task: TaskSpec,
    inputs: Vec<(&'static str, Option<ErasedChannel>)>,
    outputs: Vec<OutputDeclaration>,
    options: NodeOptions,
    when: Option<Condition>,
}

/// Builds a [`Pipeline`] from typed components; made by [`Pipeline::builder`].
pub struct PipelineBuilder {
    id: BuilderId,
    spec: PipelineSpec,
    drafts: Vec<DraftNode>,
    registry: Registry,
    issues: Vec<ValidationIssue>,
}

impl PipelineBuilder {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        PipelineBuilder {
            id: BuilderId(NEXT_BUILDER_ID.fetch_add(1, Ordering::Relaxed)),
            spec: PipelineSpec::new(name),
            drafts: Vec::new(),
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
        self.drafts.push(DraftNode {
            id: id.to_owned(),
            task: TaskSpec::Component {
                kind: <N::Component as Component>::KIND.to_owned(),
                version: <N::Component as Component>::VERSION,
                config,
            },
            inputs: node.inputs.bindings(),
            outputs: <<N::Component as Component>::Outputs as OutputSet>::declarations(),
            options: node.options,
            when: node.when,
        });
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
        self.drafts.push(DraftNode {
            id: id.to_owned(),
            task: TaskSpec::Resolver { strategy },
            inputs: sources
                .into_iter()
                .map(|(name, channel)| (name, Some(channel)))
                .collect(),
            outputs: R::Outputs::declarations(),
            options: NodeOptions::default(),
            when: None,
        });
        R::Outputs::bind(handle)
    }

    /// Adds an importer node; returns the channel of the imported artifact.
    pub fn import<T: Artifact>(&mut self, id: &str, importer: Importer<T>) -> ImporterOutputs<T> {
        let handle = self.handle();
        self.registry.register_artifact::<T>();
        self.drafts.push(DraftNode {
            id: id.to_owned(),
            task: importer.into_task(),
            inputs: Vec::new(),
            outputs: ImporterOutputs::<T>::declarations(),
            options: NodeOptions::default(),
            when: None,
        });
        ImporterOutputs::bind(handle)
    }

    fn channel_ref(
        &mut self,
        ids: &[String],
        node: &str,
        input: &str,
        source: &ChannelSource,
    ) -> ChannelRef {
        match ids.get(source.node) {
            Some(producer) if source.builder == self.id => ChannelRef {
                node: producer.clone(),
                output: source.output.to_owned(),
            },
            _ => {
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
        let ids: Vec<String> = self.drafts.iter().map(|draft| draft.id.clone()).collect();
        let drafts = std::mem::take(&mut self.drafts);
        let mut nodes = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let mut inputs = std::collections::BTreeMap::new();
            for (name, channel) in draft.inputs {
                let Some(channel) = channel else { continue };
                let reference = self.channel_ref(&ids, &draft.id, name, &channel.source);
                inputs.insert(
                    name.to_owned(),
                    InputSpec {
                        artifact_type: channel.artifact_type.name.to_owned(),
                        channel: reference,
                    },
                );
            }
            let mut options = draft.options;
            options.when = draft.when.map(|condition| -> ConditionSpec {
                condition
                    .0
                    .map_channels(&mut |source| self.channel_ref(&ids, &draft.id, "when", source))
            });
            nodes.push(NodeSpec {
                id: draft.id,
                task: draft.task,
                inputs,
                outputs: draft
                    .outputs
                    .iter()
                    .map(|output| {
                        (
                            output.name.to_owned(),
                            OutputSpec {
                                artifact_type: output.artifact_type.name.to_owned(),
                            },
                        )
                    })
                    .collect(),
                options,
            });
        }
        self.spec.nodes = nodes;
        let mut registry = Registry::global().clone();
        registry.merge(&self.registry);
        Pipeline::assemble(self.spec, registry, self.issues)
    }
}
