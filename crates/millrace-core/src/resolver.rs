//! Resolver and importer nodes: inputs that come from earlier runs or from outside.
//!
//! A resolver queries the metadata store across runs: the latest artifact of some node's
//! output, the latest blessed model, the examples of a span range. Its source channel names
//! *which* producer and output to look for. It waits for that producer in the current run and
//! leaves out what the producer holds in it: the baseline of a model is never the model itself,
//! the previous statistics are never this run's own — even when this run reuses them from the
//! cache, so that an unchanged rerun resolves exactly what the first run did. An importer registers an external URI — a curated schema, a pretrained model — as an
//! artifact.
//!
//! ```
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("import");
//! let schema = builder.import("curated_schema", Importer::<Schema>::new("data/schema.json"));
//! # let _ = schema.result;
//! let pipeline = builder.build().unwrap();
//! assert_eq!(pipeline.spec().nodes[0].outputs["result"].artifact_type, "Schema");
//! ```

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde_json::Value;

use crate::artifact::Artifact;
use crate::artifact::standard::{Examples, Model};
use crate::channel::{Channel, ErasedChannel, NodeHandle};
use crate::component::{OutputDeclaration, OutputSet};
use crate::spec::{ResolverStrategy, TaskSpec};

/// A typed resolver, added with `PipelineBuilder::resolve`.
pub trait Resolver {
    /// The typed channels of the resolved artifacts.
    type Outputs: OutputSet;
    /// The strategy as written in the IR, and the channels whose producers and outputs the
    /// query is about.
    fn into_query(self) -> (ResolverStrategy, Vec<(&'static str, ErasedChannel)>);
}

/// The output of a [`LatestArtifact`] resolver.
#[derive(Debug, Clone, Copy)]
pub struct LatestArtifactOutputs<T: Artifact> {
    /// The newest artifact.
    pub artifact: Channel<T>,
}

impl<T: Artifact> OutputSet for LatestArtifactOutputs<T> {
    fn declarations() -> Vec<OutputDeclaration> {
        vec![OutputDeclaration::of::<T>("artifact")]
    }
    fn bind(node: NodeHandle) -> Self {
        LatestArtifactOutputs {
            artifact: node.channel("artifact"),
        }
    }
}

/// The newest LIVE artifact produced by a channel's node and output in any earlier run.
#[derive(Debug, Clone, Copy)]
pub struct LatestArtifact<T: Artifact> {
    source: Channel<T>,
}

impl<T: Artifact> LatestArtifact<T> {
    /// The newest artifact of `source`'s producer and output.
    pub fn of(source: Channel<T>) -> Self {
        LatestArtifact { source }
    }
}

impl<T: Artifact> Resolver for LatestArtifact<T> {
    type Outputs = LatestArtifactOutputs<T>;
    fn into_query(self) -> (ResolverStrategy, Vec<(&'static str, ErasedChannel)>) {
        (
            ResolverStrategy::LatestArtifact,
            vec![("source", self.source.erase())],
        )
    }
}

/// The output of a [`LatestBlessedModel`] resolver.
#[derive(Debug, Clone, Copy)]
pub struct BlessedModelOutputs {
    /// The newest blessed model.
    pub model: Channel<Model>,
}

impl OutputSet for BlessedModelOutputs {
    fn declarations() -> Vec<OutputDeclaration> {
        vec![OutputDeclaration::of::<Model>("model")]
    }
    fn bind(node: NodeHandle) -> Self {
        BlessedModelOutputs {
            model: node.channel("model"),
        }
    }
}

/// The newest model of a trainer's output that an evaluator blessed: the baseline to beat.
#[derive(Debug, Clone, Copy)]
pub struct LatestBlessedModel {
    model: Channel<Model>,
}

impl LatestBlessedModel {
    /// The newest blessed model produced by `model`'s node and output.
    pub fn of(model: Channel<Model>) -> Self {
        LatestBlessedModel { model }
    }
}

impl Resolver for LatestBlessedModel {
    type Outputs = BlessedModelOutputs;
    fn into_query(self) -> (ResolverStrategy, Vec<(&'static str, ErasedChannel)>) {
        (
            ResolverStrategy::LatestBlessedModel,
            vec![("model", self.model.erase())],
        )
    }
}

/// The output of a [`SpanRange`] resolver.
#[derive(Debug, Clone, Copy)]
pub struct SpanRangeOutputs {
    /// The examples of every span in the range.
    pub examples: Channel<Examples>,
}

impl OutputSet for SpanRangeOutputs {
    fn declarations() -> Vec<OutputDeclaration> {
        vec![OutputDeclaration::of::<Examples>("examples")]
    }
    fn bind(node: NodeHandle) -> Self {
        SpanRangeOutputs {
            examples: node.channel("examples"),
        }
    }
}

/// Examples whose `span` property lies in a range, for training on a window of data.
#[derive(Debug, Clone, Copy)]
pub struct SpanRange {
    examples: Channel<Examples>,
    min_span: Option<i64>,
    max_span: Option<i64>,
    latest_spans: Option<u32>,
}

impl SpanRange {
    /// Every span of `examples`' producer; narrow it with the methods below.
    pub fn of(examples: Channel<Examples>) -> Self {
        SpanRange {
            examples,
            min_span: None,
            max_span: None,
            latest_spans: None,
        }
    }

    /// Spans from `min` to `max`, inclusive.
    pub fn between(mut self, min: i64, max: i64) -> Self {
        self.min_span = Some(min);
        self.max_span = Some(max);
        self
    }

    /// Only the newest `count` spans.
    pub fn latest(mut self, count: u32) -> Self {
        self.latest_spans = Some(count);
        self
    }
}

impl Resolver for SpanRange {
    type Outputs = SpanRangeOutputs;
    fn into_query(self) -> (ResolverStrategy, Vec<(&'static str, ErasedChannel)>) {
        let strategy = ResolverStrategy::SpanRange {
            min_span: self.min_span,
            max_span: self.max_span,
            latest_spans: self.latest_spans,
        };
        (strategy, vec![("examples", self.examples.erase())])
    }
}

/// The Model artifact that a registered model's alias points at in the model registry —
/// `ModelAlias::of("taxi", "champion")` — so that a pipeline compares against the champion.
/// It resolves nothing while the alias points nowhere (the first run).
///
/// As the baseline of a trainer's model, say so with [`baseline_for`](Self::baseline_for):
/// the resolver then waits for the trainer and resolves nothing when the champion *is* this
/// run's model (a cached trainer), so that an unchanged rerun resolves what the first run did.
///
/// ```
/// use millrace_core::prelude::*;
///
/// let mut builder = Pipeline::builder("challenge");
/// let champion = builder.resolve("champion", ModelAlias::of("taxi", "champion"));
/// # let _ = champion.model;
/// let pipeline = builder.build().unwrap();
/// assert_eq!(pipeline.spec().nodes[0].outputs["model"].artifact_type, "Model");
/// ```
#[derive(Debug, Clone)]
pub struct ModelAlias {
    model: String,
    alias: String,
    challenger: Option<Channel<Model>>,
}

impl ModelAlias {
    /// The version of registered model `model` that `alias` points at.
    pub fn of(model: impl Into<String>, alias: impl Into<String>) -> Self {
        ModelAlias {
            model: model.into(),
            alias: alias.into(),
            challenger: None,
        }
    }

    /// As the baseline of `challenger`: never `challenger`'s own artifact of this run.
    pub fn baseline_for(mut self, challenger: Channel<Model>) -> Self {
        self.challenger = Some(challenger);
        self
    }
}

impl Resolver for ModelAlias {
    type Outputs = BlessedModelOutputs;
    fn into_query(self) -> (ResolverStrategy, Vec<(&'static str, ErasedChannel)>) {
        (
            ResolverStrategy::ModelAlias {
                model: self.model,
                alias: self.alias,
            },
            self.challenger
                .map(|challenger| ("model", challenger.erase()))
                .into_iter()
                .collect(),
        )
    }
}

/// The output of an [`Importer`].
#[derive(Debug, Clone, Copy)]
pub struct ImporterOutputs<T: Artifact> {
    /// The imported artifact.
    pub result: Channel<T>,
}

impl<T: Artifact> OutputSet for ImporterOutputs<T> {
    fn declarations() -> Vec<OutputDeclaration> {
        vec![OutputDeclaration::of::<T>("result")]
    }
    fn bind(node: NodeHandle) -> Self {
        ImporterOutputs {
            result: node.channel("result"),
        }
    }
}

/// Registers an external URI as an artifact of type `T`, added with `PipelineBuilder::import`.
#[derive(Debug, Clone)]
pub struct Importer<T: Artifact> {
    source_uri: String,
    reimport: bool,
    properties: BTreeMap<String, Value>,
    custom_properties: BTreeMap<String, Value>,
    artifact_type: PhantomData<fn() -> T>,
}

impl<T: Artifact> Importer<T> {
    /// Imports `source_uri`; a run reuses the artifact already registered for that URI.
    pub fn new(source_uri: impl Into<String>) -> Self {
        Importer {
            source_uri: source_uri.into(),
            reimport: false,
            properties: BTreeMap::new(),
            custom_properties: BTreeMap::new(),
            artifact_type: PhantomData,
        }
    }

    /// Registers a new artifact on every run, even if the URI is known.
    pub fn reimport(mut self, reimport: bool) -> Self {
        self.reimport = reimport;
        self
    }

    /// Sets a declared property of the imported artifact (checked when the pipeline is built).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Sets a custom property of the imported artifact.
    pub fn custom_property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom_properties.insert(name.into(), value.into());
        self
    }

    pub(crate) fn into_task(self) -> TaskSpec {
        TaskSpec::Importer {
            source_uri: self.source_uri,
            reimport: self.reimport,
            properties: self.properties,
            custom_properties: self.custom_properties,
        }
    }
}
