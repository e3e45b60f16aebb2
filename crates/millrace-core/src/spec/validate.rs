//! Validation of a pipeline spec: every problem at once, each with the node it concerns.
//!
//! A spec built with the typed API is correct by construction in its wiring, but a spec read
//! from JSON may be anything. [`validate`] checks names and ids, component kinds and artifact
//! types against a [`Catalog`], every edge's types, required inputs, dangling references,
//! cycles, parameter values, configurations, command placeholders, conditions, resolvers,
//! importers, the exit handler and the schedule — and never panics, whatever the input.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use crate::spec::catalog::{Catalog, KindDescription, TriedConfiguration};
use crate::spec::command::Placeholder;
use crate::spec::condition::Operand;
use crate::spec::interface::ComponentInterface;
use crate::spec::node::{ChannelRef, NodeSpec, OutputSpec, ResolverStrategy, TaskSpec};
use crate::spec::parameter::{ParameterType, referenced_parameters, substitute_parameters};
use crate::spec::pipeline_spec::{PipelineSpec, SCHEMA_VERSION};
pub use crate::spec::problem::{Problem, ValidationIssue};

fn unknown_config_parameter(name: String) -> Problem {
    Problem::UnknownParameter {
        name,
        place: "the configuration".to_owned(),
    }
}

/// A topological order that keeps the nodes' declaration order wherever the edges allow (Kahn's
/// algorithm, always taking the earliest-declared ready node), so that listings and summaries
/// read in the order the pipeline was written. `None` if the graph has a cycle.
fn insertion_ordered_toposort(graph: &DiGraph<usize, ()>) -> Option<Vec<usize>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|index| {
            graph
                .neighbors_directed(index, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = graph
        .node_indices()
        .filter(|index| indegree[index.index()] == 0)
        .map(|index| Reverse(index.index()))
        .collect();
    let mut order = Vec::with_capacity(indegree.len());
    while let Some(Reverse(next)) = ready.pop() {
        order.push(graph[NodeIndex::new(next)]);
        for downstream in
            graph.neighbors_directed(NodeIndex::new(next), petgraph::Direction::Outgoing)
        {
            let count = &mut indegree[downstream.index()];
            *count = count.saturating_sub(1);
            if *count == 0 {
                ready.push(Reverse(downstream.index()));
            }
        }
    }
    (order.len() == indegree.len()).then_some(order)
}

/// Whether `id` is a valid node id or pipeline name.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic())
        && id.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether `name` is a valid runtime parameter name.
pub fn is_valid_parameter_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The result of a successful validation: an execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedGraph {
    /// Node indices in a topological order (upstream first).
    pub order: Vec<usize>,
}

/// Checks a spec against the kinds and types of a catalog, reporting every problem found.
pub fn validate(
    spec: &PipelineSpec,
    catalog: &dyn Catalog,
) -> Result<ValidatedGraph, Vec<ValidationIssue>> {
    let mut check = Checker {
        spec,
        catalog,
        issues: Vec::new(),
        index_of: HashMap::new(),
        trial_values: BTreeMap::new(),
        descriptions: HashMap::new(),
        last_trial: HashMap::new(),
    };
    check.trial_values = check.trial_parameter_values();
    check.pipeline_fields();
    check.parameters();
    check.node_ids();
    for node in &spec.nodes {
        check.node(node);
    }
    check.exit_handler();
    let order = check.order();
    if check.issues.is_empty() {
        Ok(ValidatedGraph { order })
    } else {
        Err(check.issues)
    }
}

/// What trying a configuration found.
#[derive(Debug, Clone, Default)]
struct Trial {
    /// Problems with the configuration itself.
    problems: Vec<Problem>,
    /// The inputs a command's placeholders read, with the placeholder's text.
    placeholder_inputs: Vec<(String, String)>,
}

struct Checker<'a> {
    spec: &'a PipelineSpec,
    catalog: &'a dyn Catalog,
    issues: Vec<ValidationIssue>,
    index_of: HashMap<&'a str, usize>,
    /// A value for every parameter, used to try each configuration.
    trial_values: BTreeMap<String, Value>,
    /// What the catalog says of each component kind met so far.
    descriptions: HashMap<&'a str, Option<std::rc::Rc<KindDescription>>>,
    /// Per kind, the last configuration tried and the problems it had: pipelines often repeat
    /// a component with the same configuration, and trying it is a pure function of it.
    last_trial: HashMap<&'a str, (&'a Value, Trial)>,
}

impl<'a> Checker<'a> {
    fn pipeline_issue(&mut self, problem: Problem) {
        self.issues.push(ValidationIssue::pipeline(problem));
    }

    fn node_issue(&mut self, node: &str, problem: Problem) {
        self.issues.push(ValidationIssue::node(node, problem));
    }

    fn pipeline_fields(&mut self) {
        if self.spec.schema_version != SCHEMA_VERSION {
            self.pipeline_issue(Problem::UnsupportedSchemaVersion {
                found: self.spec.schema_version.clone(),
                expected: SCHEMA_VERSION,
            });
        }
        if !is_valid_id(&self.spec.name) {
            self.pipeline_issue(Problem::InvalidPipelineName(self.spec.name.clone()));
        }
        if let Some(schedule) = &self.spec.schedule {
            for why in schedule.problems() {
                self.pipeline_issue(Problem::InvalidSchedule(why));
            }
        }
        let triggers = self.spec.data_triggers.clone();
        for trigger in &triggers {
            for why in trigger.problems() {
                self.pipeline_issue(Problem::InvalidTrigger(why));
            }
            match self.spec.nodes.iter().find(|node| node.id == trigger.node) {
                None => self.pipeline_issue(Problem::InvalidTrigger(format!(
                    "the data trigger watches node `{}`, which the pipeline does not have",
                    trigger.node
                ))),
                Some(node) if !node.inputs.is_empty() => {
                    self.pipeline_issue(Problem::InvalidTrigger(format!(
                        "the data trigger watches node `{}`, which reads other nodes' outputs; watch the node that ingests outside data (an example generator)",
                        trigger.node
                    )));
                }
                Some(_) => {}
            }
        }
    }

    fn parameters(&mut self) {
        let mut seen = BTreeSet::new();
        for parameter in &self.spec.parameters {
            if !is_valid_parameter_name(&parameter.name) {
                self.pipeline_issue(Problem::InvalidParameterName(parameter.name.clone()));
            }
            if !seen.insert(parameter.name.as_str()) {
                self.pipeline_issue(Problem::DuplicateParameter(parameter.name.clone()));
            }
            if let Some(default) = &parameter.default
                && !parameter.parameter_type.accepts(default)
            {
                self.pipeline_issue(Problem::BadParameterDefault {
                    name: parameter.name.clone(),
                    parameter_type: parameter.parameter_type,
                    value: default.to_string(),
                });
            }
        }
    }

    fn node_ids(&mut self) {
        for (index, node) in self.spec.nodes.iter().enumerate() {
            if !is_valid_id(&node.id) {
                self.node_issue(&node.id, Problem::InvalidNodeId(node.id.clone()));
            }
            if self.index_of.contains_key(node.id.as_str()) {
                self.node_issue(&node.id, Problem::DuplicateNodeId(node.id.clone()));
            } else {
                self.index_of.insert(&node.id, index);
            }
        }
    }

    /// The artifact type of `channel`'s output, or why it cannot be read.
    fn output_type(&self, channel: &ChannelRef) -> Result<&'a str, String> {
        let Some(&producer) = self.index_of.get(channel.node.as_str()) else {
            return Err(format!("there is no node `{}`", channel.node));
        };
        let producer = &self.spec.nodes[producer];
        match producer.outputs.get(&channel.output) {
            Some(output) => Ok(output.artifact_type.as_str()),
            None => Err(format!(
                "node `{}` has no output `{}`",
                channel.node, channel.output
            )),
        }
    }

    fn node(&mut self, node: &'a NodeSpec) {
        for problem in node.options.problems() {
            self.node_issue(&node.id, Problem::InvalidOption(problem));
        }
        for (name, output) in &node.outputs {
            if self
                .catalog
                .find_artifact_type(&output.artifact_type)
                .is_none()
            {
                self.node_issue(
                    &node.id,
                    Problem::UnknownArtifactType(format!(
                        "{} (output `{name}`)",
                        output.artifact_type
                    )),
                );
            }
        }
        self.edges(node);
        self.condition(node);
        if node.options.shards.is_some() && !matches!(node.task, TaskSpec::Component { .. }) {
            self.node_issue(
                &node.id,
                Problem::InvalidOption(
                    "only component nodes can be sharded, not resolvers or importers".to_owned(),
                ),
            );
        }
        match &node.task {
            TaskSpec::Component {
                kind,
                version,
                config,
            } => self.component(node, kind, *version, config),
            TaskSpec::Resolver { strategy } => self.resolver(node, strategy),
            TaskSpec::Importer {
                source_uri,
                properties,
                ..
            } => self.importer(node, source_uri, properties),
        }
    }

    fn edges(&mut self, node: &NodeSpec) {
        for (input, spec) in &node.inputs {
            if self
                .catalog
                .find_artifact_type(&spec.artifact_type)
                .is_none()
            {
                self.node_issue(
                    &node.id,
                    Problem::UnknownArtifactType(format!(
                        "{} (input `{input}`)",
                        spec.artifact_type
                    )),
                );
            }
            match self.output_type(&spec.channel) {
                Err(reason) => self.node_issue(
                    &node.id,
                    Problem::DanglingReference {
                        input: input.clone(),
                        channel: spec.channel.clone(),
                        reason,
                    },
                ),
                Ok(found) if found != spec.artifact_type => self.node_issue(
                    &node.id,
                    Problem::TypeMismatch {
                        input: input.clone(),
                        expected: spec.artifact_type.clone(),
                        found: found.to_owned(),
                        channel: spec.channel.clone(),
                    },
                ),
                Ok(_) => {}
            }
        }
    }

    fn condition(&mut self, node: &NodeSpec) {
        let Some(condition) = &node.options.when else {
            return;
        };
        for operand in condition.operands() {
            match operand {
                Operand::Parameter { name } => {
                    if self.spec.parameter(name).is_none() {
                        self.node_issue(
                            &node.id,
                            Problem::UnknownParameter {
                                name: name.clone(),
                                place: "the `when` condition".to_owned(),
                            },
                        );
                    }
                }
                Operand::ArtifactProperty {
                    channel,
                    property,
                    custom,
                } => match self.output_type(channel) {
                    Err(reason) => self.node_issue(
                        &node.id,
                        Problem::DanglingReference {
                            input: "when".to_owned(),
                            channel: channel.clone(),
                            reason,
                        },
                    ),
                    Ok(artifact_type) => {
                        let declared = self
                            .catalog
                            .find_artifact_type(artifact_type)
                            .is_none_or(|info| info.property(property).is_some());
                        if !custom && !declared {
                            self.node_issue(
                                &node.id,
                                Problem::InvalidCondition(format!(
                                    "{artifact_type} (`{channel}`) declares no property `{property}`; use a custom property if its producer sets one"
                                )),
                            );
                        }
                    }
                },
                Operand::Literal { .. } => {}
            }
        }
    }

    fn component(&mut self, node: &'a NodeSpec, kind: &'a str, version: u32, config: &'a Value) {
        if let Some(conflict) = self.catalog.find_conflict(kind) {
            self.node_issue(&node.id, Problem::RegistryConflict(conflict));
        }
        if !self.descriptions.contains_key(kind) {
            let description = self.catalog.find_component(kind).map(std::rc::Rc::new);
            self.descriptions.insert(kind, description);
        }
        let Some(description) = self.descriptions.get(kind).cloned().flatten() else {
            for name in referenced_parameters(config) {
                if self.spec.parameter(&name).is_none() {
                    self.node_issue(&node.id, unknown_config_parameter(name));
                }
            }
            self.node_issue(&node.id, Problem::UnknownComponentKind(kind.to_owned()));
            return;
        };
        if description.version != version {
            self.node_issue(
                &node.id,
                Problem::ComponentVersionMismatch {
                    kind: kind.to_owned(),
                    spec: version,
                    registered: description.version,
                },
            );
        }
        if node.options.shards.is_some() && !description.shardable {
            self.node_issue(
                &node.id,
                Problem::InvalidOption(format!(
                    "component kind `{kind}` cannot be sharded: only components that merge \
                     their shards' outputs take `shards`"
                )),
            );
        }
        let interface = &description.interface;
        self.interface(node, kind, interface);

        let trial = match self.last_trial.get(kind) {
            Some((last_config, trial)) if *last_config == config => trial.clone(),
            _ => {
                let trial = self.try_configuration(kind, interface, config);
                self.last_trial.insert(kind, (config, trial.clone()));
                trial
            }
        };
        for problem in trial.problems {
            self.node_issue(&node.id, problem);
        }
        for (input, placeholder) in trial.placeholder_inputs {
            if interface.input(&input).is_some() && !node.inputs.contains_key(&input) {
                self.node_issue(
                    &node.id,
                    Problem::InvalidPlaceholder(format!(
                        "`{placeholder}`: input `{input}` is not connected"
                    )),
                );
            }
        }
    }

    /// Instantiates a configuration with trial parameter values; for a command component,
    /// checks its placeholders. Whether the inputs they read are connected depends on the node,
    /// so those are returned for a per-node check.
    fn try_configuration(
        &self,
        kind: &str,
        interface: &ComponentInterface,
        config: &Value,
    ) -> Trial {
        let trial_config = match substitute_parameters(config, &self.trial_values) {
            Ok(trial_config) => trial_config,
            Err(unknown) => {
                return Trial {
                    problems: unknown.into_iter().map(unknown_config_parameter).collect(),
                    placeholder_inputs: Vec::new(),
                };
            }
        };
        let command = match self.catalog.try_configuration(kind, trial_config) {
            Ok(TriedConfiguration::Command(command)) => command,
            Ok(TriedConfiguration::InProcess) => return Trial::default(),
            Err(why) => {
                return Trial {
                    problems: vec![Problem::InvalidConfig(why)],
                    placeholder_inputs: Vec::new(),
                };
            }
        };
        match command.placeholders() {
            Err(error) => Trial {
                problems: vec![Problem::InvalidPlaceholder(error.to_string())],
                placeholder_inputs: Vec::new(),
            },
            Ok(placeholders) => Trial {
                problems: self.placeholder_problems(interface, &placeholders),
                placeholder_inputs: placeholders
                    .iter()
                    .filter_map(|placeholder| match placeholder {
                        Placeholder::InputUri(name) | Placeholder::InputProperty(name, _) => {
                            Some((name.clone(), placeholder.to_string()))
                        }
                        _ => None,
                    })
                    .collect(),
            },
        }
    }

    /// A value of the right type for every parameter: its default, or a neutral value.
    fn trial_parameter_values(&self) -> BTreeMap<String, Value> {
        self.spec
            .parameters
            .iter()
            .map(|parameter| {
                let value = match &parameter.default {
                    Some(default) if parameter.parameter_type.accepts(default) => default.clone(),
                    _ => match parameter.parameter_type {
                        ParameterType::Int => Value::from(0),
                        ParameterType::Double => Value::from(0.0),
                        ParameterType::String => Value::from(""),
                        ParameterType::Bool => Value::from(false),
                        ParameterType::List => Value::Array(Vec::new()),
                        ParameterType::Struct => Value::Object(serde_json::Map::new()),
                    },
                };
                (parameter.name.clone(), value)
            })
            .collect()
    }

    fn interface(&mut self, node: &NodeSpec, kind: &str, interface: &ComponentInterface) {
        for declared in &interface.inputs {
            match node.inputs.get(declared.name) {
                None if !declared.optional => self.node_issue(
                    &node.id,
                    Problem::MissingRequiredInput {
                        input: declared.name.to_owned(),
                        artifact_type: declared.artifact_type.name.to_owned(),
                    },
                ),
                Some(spec) if spec.artifact_type != declared.artifact_type.name => self.node_issue(
                    &node.id,
                    Problem::TypeMismatch {
                        input: declared.name.to_owned(),
                        expected: declared.artifact_type.name.to_owned(),
                        found: spec.artifact_type.clone(),
                        channel: spec.channel.clone(),
                    },
                ),
                _ => {}
            }
        }
        for input in node.inputs.keys() {
            if interface.input(input).is_none() {
                let declared = interface
                    .inputs
                    .iter()
                    .map(|declared| declared.name)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.node_issue(
                    &node.id,
                    Problem::UnknownInput {
                        input: input.clone(),
                        kind: kind.to_owned(),
                        declared: if declared.is_empty() {
                            "none".to_owned()
                        } else {
                            declared
                        },
                    },
                );
            }
        }
        let declared_outputs: Vec<(&str, &str)> = interface
            .outputs
            .iter()
            .map(|output| (output.name, output.artifact_type.name))
            .collect();
        self.outputs(node, &declared_outputs);
    }

    fn outputs(&mut self, node: &NodeSpec, declared: &[(&str, &str)]) {
        for (name, artifact_type) in declared {
            match node.outputs.get(*name) {
                None => self.node_issue(
                    &node.id,
                    Problem::OutputMismatch {
                        output: (*name).to_owned(),
                        reason: format!("the component produces {artifact_type}, but the node does not declare it"),
                    },
                ),
                Some(spec) if spec.artifact_type != *artifact_type => self.node_issue(
                    &node.id,
                    Problem::OutputMismatch {
                        output: (*name).to_owned(),
                        reason: format!(
                            "declared as {}, but the component produces {artifact_type}",
                            spec.artifact_type
                        ),
                    },
                ),
                Some(_) => {}
            }
        }
        for name in node.outputs.keys() {
            if !declared.iter().any(|(declared, _)| declared == name) {
                self.node_issue(
                    &node.id,
                    Problem::OutputMismatch {
                        output: name.clone(),
                        reason: "the component produces no such output".to_owned(),
                    },
                );
            }
        }
    }

    fn placeholder_problems(
        &self,
        interface: &ComponentInterface,
        placeholders: &[Placeholder],
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for placeholder in placeholders {
            let problem = match &placeholder {
                Placeholder::InputUri(name) | Placeholder::InputProperty(name, _) => interface
                    .input(name)
                    .is_none()
                    .then(|| format!("`{placeholder}`: the component has no input `{name}`")),
                Placeholder::OutputUri(name) => interface
                    .output(name)
                    .is_none()
                    .then(|| format!("`{placeholder}`: the component has no output `{name}`")),
                Placeholder::Parameter(name) => self.spec.parameter(name).is_none().then(|| {
                    format!("`{placeholder}`: the pipeline declares no parameter `{name}`")
                }),
                Placeholder::RunId
                | Placeholder::NodeId
                | Placeholder::Pipeline
                | Placeholder::ExecutorOutput => None,
            };
            problems.extend(problem.map(Problem::InvalidPlaceholder));
        }
        problems
    }

    /// A model-alias resolver reads the registry: at most one input, `model` (the challenger,
    /// of type Model), one `model` output of type Model, a model and an alias named.
    fn model_alias_resolver(&mut self, node: &NodeSpec, model: &str, alias: &str) {
        let inputs_ok = node
            .inputs
            .iter()
            .all(|(name, input)| name == "model" && input.artifact_type == "Model");
        if !inputs_ok {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(
                    "the model_alias strategy takes at most one input, `model` (the challenger, a Model)"
                        .to_owned(),
                ),
            );
        }
        if model.trim().is_empty() || alias.trim().is_empty() {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(format!(
                    "the model_alias strategy needs a registered model and an alias (got `{model}@{alias}`)"
                )),
            );
        }
        let outputs: Vec<(&String, &str)> = node
            .outputs
            .iter()
            .map(|(name, output)| (name, output.artifact_type.as_str()))
            .collect();
        if outputs.len() != 1 || outputs[0].0 != "model" || outputs[0].1 != "Model" {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(
                    "the model_alias strategy has one output, `model`, of type Model".to_owned(),
                ),
            );
        }
    }

    fn resolver(&mut self, node: &NodeSpec, strategy: &ResolverStrategy) {
        if let ResolverStrategy::ModelAlias { model, alias } = strategy {
            return self.model_alias_resolver(node, model, alias);
        }
        let (source, output, fixed_type) = match strategy {
            ResolverStrategy::ModelAlias { .. } => return,
            ResolverStrategy::LatestArtifact => ("source", "artifact", None),
            ResolverStrategy::LatestBlessedModel => ("model", "model", Some("Model")),
            ResolverStrategy::SpanRange {
                min_span, max_span, ..
            } => {
                if let (Some(min), Some(max)) = (min_span, max_span)
                    && min > max
                {
                    self.node_issue(
                        &node.id,
                        Problem::InvalidResolver(format!("span range {min}..={max} is empty")),
                    );
                }
                ("examples", "examples", Some("Examples"))
            }
        };
        let names: Vec<&String> = node.inputs.keys().collect();
        if names != [source] {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(format!(
                    "the {} strategy takes exactly one source input, `{source}`",
                    strategy.name()
                )),
            );
        }
        let source_type = node
            .inputs
            .get(source)
            .map(|input| input.artifact_type.as_str());
        if let (Some(expected), Some(found)) = (fixed_type, source_type)
            && expected != found
        {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(format!(
                    "the {} strategy reads {expected}, not {found}",
                    strategy.name()
                )),
            );
        }
        if let Some(artifact_type) = fixed_type.or(source_type) {
            self.outputs(node, &[(output, artifact_type)]);
        }
    }

    fn importer(
        &mut self,
        node: &NodeSpec,
        source_uri: &str,
        properties: &BTreeMap<String, Value>,
    ) {
        if source_uri.trim().is_empty() {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter("the source URI is empty".to_owned()),
            );
        }
        if !node.inputs.is_empty() {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter("an importer takes no inputs".to_owned()),
            );
        }
        let outputs: Vec<(&String, &OutputSpec)> = node.outputs.iter().collect();
        let [(name, output)] = outputs.as_slice() else {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter("an importer has exactly one output, `result`".to_owned()),
            );
            return;
        };
        if name.as_str() != "result" {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter(format!(
                    "the importer's output is called `result`, not `{name}`"
                )),
            );
        }
        let Some(info) = self.catalog.find_artifact_type(&output.artifact_type) else {
            return; // reported with the outputs
        };
        for (property, value) in properties {
            match info.property(property) {
                None => self.node_issue(
                    &node.id,
                    Problem::InvalidImporter(format!(
                        "{} declares no property `{property}`; use a custom property",
                        info.name
                    )),
                ),
                Some(spec) if !spec.property_type.accepts(value) => self.node_issue(
                    &node.id,
                    Problem::InvalidImporter(format!(
                        "property `{property}` of {} is {:?}, not {value}",
                        info.name, spec.property_type
                    )),
                ),
                Some(_) => {}
            }
        }
    }

    fn exit_handler(&mut self) {
        let Some(handler) = &self.spec.exit_handler else {
            return;
        };
        if !self.index_of.contains_key(handler.as_str()) {
            self.pipeline_issue(Problem::InvalidExitHandler(format!(
                "there is no node `{handler}`"
            )));
            return;
        }
        for node in &self.spec.nodes {
            let depends_on_handler = node.upstream_node_ids().contains(&handler.as_str())
                || node
                    .inputs
                    .values()
                    .any(|input| input.channel.node == *handler);
            if node.id != *handler && depends_on_handler {
                self.node_issue(
                    &node.id,
                    Problem::InvalidExitHandler(format!(
                        "reads the exit handler `{handler}`, which runs after every other node"
                    )),
                );
            }
        }
    }

    /// A topological order, or a `Cycle` issue for every strongly connected component.
    fn order(&mut self) -> Vec<usize> {
        let mut graph = DiGraph::<usize, ()>::new();
        let indices: Vec<NodeIndex> = (0..self.spec.nodes.len())
            .map(|index| graph.add_node(index))
            .collect();
        for (index, node) in self.spec.nodes.iter().enumerate() {
            if self.index_of.get(node.id.as_str()) != Some(&index) {
                continue; // a duplicate id, already reported
            }
            for upstream in node.upstream_node_ids() {
                if let Some(&producer) = self.index_of.get(upstream) {
                    graph.add_edge(indices[producer], indices[index], ());
                }
            }
        }
        match insertion_ordered_toposort(&graph) {
            Some(order) => order,
            None => {
                for component in petgraph::algo::tarjan_scc(&graph) {
                    let is_cycle = component.len() > 1
                        || component
                            .first()
                            .is_some_and(|&index| graph.contains_edge(index, index));
                    if is_cycle {
                        let mut ids: Vec<String> = component
                            .iter()
                            .map(|&index| self.spec.nodes[graph[index]].id.clone())
                            .collect();
                        ids.sort();
                        self.issues.push(ValidationIssue {
                            node: ids.first().cloned(),
                            problem: Problem::Cycle(ids),
                        });
                    }
                }
                Vec::new()
            }
        }
    }
}
