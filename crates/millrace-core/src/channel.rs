//! `Channel<T>`: a typed handle on one output of a node.
//!
//! Channels only come out of [`PipelineBuilder::add`](crate::PipelineBuilder::add) (and its
//! resolver and importer siblings), so an input can only name an output that already exists:
//! the typed API cannot build a cycle. The type parameter makes wrong wiring a compile error.

use std::fmt;
use std::marker::PhantomData;

use crate::artifact::{Artifact, ArtifactTypeInfo};
use crate::condition::{Condition, Operand};

/// Identifies one `PipelineBuilder`, so that a channel used in another pipeline is caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuilderId(pub(crate) u64);

/// Where a channel comes from: a node of a builder and one of its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelSource {
    pub(crate) builder: BuilderId,
    pub(crate) node: usize,
    pub(crate) output: &'static str,
}

impl ChannelSource {
    /// The name of the output this channel carries.
    pub fn output(&self) -> &'static str {
        self.output
    }
}

/// A node being added to a builder, handed to [`OutputSet::bind`](crate::OutputSet::bind) to
/// make its typed output channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeHandle {
    pub(crate) builder: BuilderId,
    pub(crate) node: usize,
}

impl NodeHandle {
    /// The channel carrying output `output` of this node.
    pub fn channel<T: Artifact>(self, output: &'static str) -> Channel<T> {
        Channel {
            source: ChannelSource {
                builder: self.builder,
                node: self.node,
                output,
            },
            artifact: PhantomData,
        }
    }
}

/// A typed handle on an output of a node, consumed as an input by later nodes.
///
/// `Channel<T>` is `Copy`, `Send` and `Sync` whatever `T` is.
pub struct Channel<T: Artifact> {
    source: ChannelSource,
    artifact: PhantomData<fn() -> T>,
}

impl<T: Artifact> Clone for Channel<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Artifact> Copy for Channel<T> {}

impl<T: Artifact> PartialEq for Channel<T> {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl<T: Artifact> Eq for Channel<T> {}

impl<T: Artifact> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("artifact_type", &T::TYPE_NAME)
            .field("node", &self.source.node)
            .field("output", &self.source.output)
            .finish()
    }
}

impl<T: Artifact> Channel<T> {
    /// The channel without its static type, as the builder records it.
    pub fn erase(&self) -> ErasedChannel {
        ErasedChannel {
            source: self.source,
            artifact_type: T::info(),
        }
    }

    /// A declared property of the artifact on this channel, for use in `when` conditions.
    ///
    /// The name is checked against `T`'s property schema when the pipeline is built.
    pub fn property(&self, name: &str) -> Operand<ChannelSource> {
        Operand::ArtifactProperty {
            channel: self.source,
            property: name.to_owned(),
            custom: false,
        }
    }

    /// A custom (undeclared) property of the artifact on this channel, set by its producer.
    pub fn custom_property(&self, name: &str) -> Operand<ChannelSource> {
        Operand::ArtifactProperty {
            channel: self.source,
            property: name.to_owned(),
            custom: true,
        }
    }
}

impl Channel<crate::artifact::standard::ModelBlessing> {
    /// True when the evaluator blessed the model: `blessing.property("blessed") == true`.
    pub fn is_blessed(&self) -> Condition {
        self.property("blessed").eq(true)
    }
}

impl Channel<crate::artifact::standard::InfraBlessing> {
    /// True when the infra validator blessed the model.
    pub fn is_blessed(&self) -> Condition {
        self.property("blessed").eq(true)
    }
}

/// A channel with its artifact type as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErasedChannel {
    pub(crate) source: ChannelSource,
    pub(crate) artifact_type: ArtifactTypeInfo,
}

impl ErasedChannel {
    /// The artifact type this channel carries.
    pub fn artifact_type(&self) -> ArtifactTypeInfo {
        self.artifact_type
    }

    /// Where it comes from.
    pub fn source(&self) -> ChannelSource {
        self.source
    }
}
