//! `Pipeline`: a validated pipeline, ready to run, compile or draw.
//!
//! A pipeline keeps its spec's canonical JSON, which its fingerprint is the hash of: the
//! builder writes it node by node as it makes them, and writing the IR out
//! ([`Pipeline::to_json`], [`Pipeline::canonical_json`]) indents or copies it rather than walk
//! the spec's nodes again — for 10,000 nodes, spread over the heap, a walk is some 200,000
//! cache misses; the text is 3 MB read in order.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::builder::PipelineBuilder;
use crate::component::ErasedComponent;
use crate::fingerprint::{Fingerprint, indented_json};
use crate::registry::Registry;
use crate::spec::error::Error;
use crate::spec::parameter::substitute_parameters;
use crate::spec::{NodeSpec, PipelineSpec, TaskSpec, ValidationIssue, validate};

/// A validated pipeline: its spec, an execution order, its fingerprint and the registry that
/// can rebuild its components.
#[derive(Clone)]
pub struct Pipeline {
    spec: PipelineSpec,
    order: Vec<usize>,
    /// The spec's canonical JSON, which `fingerprint` is the hash of.
    canonical_json: Box<str>,
    fingerprint: Fingerprint,
    registry: Arc<Registry>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The canonical JSON says again what the spec says.
        f.debug_struct("Pipeline")
            .field("spec", &self.spec)
            .field("order", &self.order)
            .field("fingerprint", &self.fingerprint)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts a pipeline called `name`.
    pub fn builder(name: impl Into<String>) -> PipelineBuilder {
        PipelineBuilder::new(name)
    }

    /// Validates a spec against every component registered in this binary.
    pub fn from_spec(spec: PipelineSpec) -> Result<Self, Error> {
        Pipeline::assemble(spec, Registry::global().clone(), Vec::new(), None)
    }

    /// Validates a spec against an explicit registry.
    pub fn from_spec_with_registry(spec: PipelineSpec, registry: &Registry) -> Result<Self, Error> {
        Pipeline::assemble(spec, registry.clone(), Vec::new(), None)
    }

    /// Reads and validates a JSON spec.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        Pipeline::from_spec(PipelineSpec::from_json(json)?)
    }

    /// Validates `spec`, adding what validation finds to `issues`. `canonical_json` is the
    /// spec's canonical JSON and fingerprint if they were written already.
    pub(crate) fn assemble(
        spec: PipelineSpec,
        registry: Registry,
        mut issues: Vec<ValidationIssue>,
        canonical_json: Option<(String, Fingerprint)>,
    ) -> Result<Self, Error> {
        let order = match validate(&spec, &registry) {
            Ok(graph) if issues.is_empty() => graph.order,
            Ok(_) => Vec::new(),
            Err(found) => {
                issues.extend(found);
                Vec::new()
            }
        };
        if !issues.is_empty() {
            return Err(Error::InvalidPipeline {
                pipeline: spec.name,
                issues,
            });
        }
        let (canonical_json, fingerprint) =
            canonical_json.unwrap_or_else(|| spec.canonical_json_and_fingerprint());
        Ok(Pipeline {
            fingerprint,
            canonical_json: canonical_json.into_boxed_str(),
            spec,
            order,
            registry: Arc::new(registry),
        })
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The IR.
    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }

    /// The IR, by value.
    pub fn into_spec(self) -> PipelineSpec {
        self.spec
    }

    /// The IR as indented JSON: [`PipelineSpec::to_json`], from the canonical JSON kept.
    pub fn to_json(&self) -> String {
        indented_json(&self.canonical_json).unwrap_or_else(|| self.spec.to_json())
    }

    /// The IR's canonical form, which the fingerprint hashes: [`PipelineSpec::canonical_json`],
    /// kept since the pipeline was assembled.
    pub fn canonical_json(&self) -> &str {
        &self.canonical_json
    }

    /// The fingerprint of the IR's canonical form.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The registry the pipeline was validated against.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The pipeline as a Graphviz DOT digraph.
    pub fn to_dot(&self) -> String {
        crate::graph::to_dot(&self.spec)
    }

    /// The pipeline as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        crate::graph::to_mermaid(&self.spec)
    }

    /// The nodes, upstream first.
    pub fn nodes_in_order(&self) -> impl Iterator<Item = &NodeSpec> {
        self.order
            .iter()
            .filter_map(|&index| self.spec.nodes.get(index))
    }

    /// The node called `id`, or an error listing the ids there are.
    pub fn node(&self, id: &str) -> Result<&NodeSpec, Error> {
        self.spec.node(id).ok_or_else(|| Error::UnknownNode {
            pipeline: self.spec.name.clone(),
            node: id.to_owned(),
            known: self
                .spec
                .nodes
                .iter()
                .map(|node| node.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The value of every runtime parameter: the defaults, overridden by `overrides`
    /// (command-line text such as `--param epochs=5`), each checked against its type.
    pub fn parameter_values(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Value>, Error> {
        for name in overrides.keys() {
            if self.spec.parameter(name).is_none() {
                let known: Vec<&str> = self
                    .spec
                    .parameters
                    .iter()
                    .map(|parameter| parameter.name.as_str())
                    .collect();
                return Err(Error::Parameter {
                    name: name.clone(),
                    message: format!(
                        "the pipeline declares no such parameter (it declares: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
        }
        let mut values = BTreeMap::new();
        for parameter in &self.spec.parameters {
            let value =
                match overrides.get(&parameter.name) {
                    Some(text) => parameter.parameter_type.parse(text).map_err(|message| {
                        Error::Parameter {
                            name: parameter.name.clone(),
                            message,
                        }
                    })?,
                    None => parameter.default.clone().ok_or_else(|| Error::Parameter {
                        name: parameter.name.clone(),
                        message: "has no default; set it with --param".to_owned(),
                    })?,
                };
            values.insert(parameter.name.clone(), value);
        }
        Ok(values)
    }

    /// Rebuilds node `id`'s component with runtime parameters substituted into its
    /// configuration, ready to execute.
    pub fn instantiate(
        &self,
        id: &str,
        parameters: &BTreeMap<String, Value>,
    ) -> Result<Box<dyn ErasedComponent>, Error> {
        let node = self.node(id)?;
        let TaskSpec::Component { kind, config, .. } = &node.task else {
            return Err(Error::Instantiate {
                node: id.to_owned(),
                message: "is a resolver or importer, not a component".to_owned(),
            });
        };
        let instantiate_error = |message: String| Error::Instantiate {
            node: id.to_owned(),
            message,
        };
        let registration = self.registry.component(kind).ok_or_else(|| {
            instantiate_error(format!("component kind `{kind}` is not registered"))
        })?;
        let config = substitute_parameters(config, parameters).map_err(|missing| {
            instantiate_error(format!(
                "runtime parameters without a value: {}",
                missing.into_iter().collect::<Vec<_>>().join(", ")
            ))
        })?;
        registration.instantiate(config).map_err(instantiate_error)
    }
}
