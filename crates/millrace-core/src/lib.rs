//! # millrace-core
//!
//! The small, stable heart of Millrace: artifact types, typed channels, components, the
//! pipeline builder, the pipeline IR with its validation and fingerprint, and graph output.
//! Runners, metadata stores and the standard components live in other crates and depend on
//! this one; this one depends on none of them.
//!
//! ## The layers
//!
//! Two layers, and data flows one way between them:
//!
//! - [`spec`], the IR — [`PipelineSpec`] and everything that reads it without knowing Rust
//!   types: conditions and their evaluation, node options, parameter types, schedules, command
//!   specs, artifact types and component interfaces as data, validation and its problems. It
//!   depends on nothing else in this crate; runners and exporters read only it.
//! - the authoring API — artifacts, [`Channel`]s, typed [`Condition`]s and
//!   [`RuntimeParameter`]s, [`Component`]s, the [`Registry`] and the [`PipelineBuilder`] —
//!   which writes specs. [`Pipeline`] pairs a validated spec with the registry that can rebuild
//!   its components; [`graph`] draws a spec.
//!
//! ## The model
//!
//! - An **artifact type** ([`Artifact`]) is a kind of data — `Examples`, `Model` — with typed
//!   properties. The standard ones are in [`artifact::standard`].
//! - A **component** ([`Component`]) is a reusable step with typed inputs and outputs.
//! - A **node** is a component placed in a pipeline under an id; adding it returns its outputs
//!   as typed [`Channel`]s, which later nodes take as inputs. Wiring a `Channel<Model>` where a
//!   `Channel<Examples>` is expected does not compile.
//! - [`PipelineBuilder::build`] erases the types into a [`PipelineSpec`] — canonical, versioned
//!   JSON with a [`Fingerprint`] — and validates it. A spec read back with
//!   [`Pipeline::from_spec`] is validated the same way, reporting every problem at once.
//!
//! ## Example
//!
//! ```
//! use millrace_core::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! /// Downloads examples (a command component with no inputs).
//! #[derive(Serialize, Deserialize)]
//! struct Download {
//!     url: String,
//! }
//!
//! struct DownloadOutputs {
//!     examples: Channel<Examples>,
//! }
//!
//! impl OutputSet for DownloadOutputs {
//!     fn declarations() -> Vec<OutputDeclaration> {
//!         vec![OutputDeclaration::of::<Examples>("examples")]
//!     }
//!     fn bind(node: NodeHandle) -> Self {
//!         DownloadOutputs { examples: node.channel("examples") }
//!     }
//! }
//!
//! impl Component for Download {
//!     const KIND: &'static str = "doc.Download";
//!     type Inputs = ();
//!     type Outputs = DownloadOutputs;
//!     fn execution(&self) -> Executor<'_> {
//!         Executor::Command(CommandSpec::new(["curl", "-o", "{{outputs.examples.uri}}/data.csv"])
//!             .args([self.url.as_str()]))
//!     }
//! }
//!
//! let mut builder = Pipeline::builder("download");
//! let download = builder.add("download", Download { url: "https://example.com/a.csv".into() });
//! builder.resolve("previous", LatestArtifact::of(download.examples));
//! let pipeline = builder.build()?;
//!
//! // The IR round-trips, and its fingerprint identifies it.
//! let again = Pipeline::from_spec_with_registry(
//!     PipelineSpec::from_json(&pipeline.to_json())?,
//!     pipeline.registry(),
//! )?;
//! assert_eq!(again.fingerprint(), pipeline.fingerprint());
//! println!("{}", pipeline.to_mermaid());
//! # Ok::<(), millrace_core::Error>(())
//! ```

pub mod artifact;
mod builder;
pub mod channel;
pub mod component;
pub mod condition;
pub mod execute;
pub mod fingerprint;
pub mod graph;
pub mod parameter;
mod pipeline;
pub mod registry;
pub mod resolver;
pub mod spec;
pub mod tracking;

/// Moved to [`spec::command`]; the old path still works.
#[doc(hidden)]
pub mod command {
    pub use crate::spec::command::*;
}

/// Moved to [`spec::options`]; the old path still works.
#[doc(hidden)]
pub mod options {
    pub use crate::spec::options::*;
}

/// Moved to [`spec::schedule`]; the old path still works.
#[doc(hidden)]
pub mod schedule {
    pub use crate::spec::schedule::*;
}

/// Moved to [`spec::validate`](mod@spec::validate); the old path still works.
#[doc(hidden)]
pub mod validate {
    pub use crate::spec::validate::*;
}

pub use artifact::{
    Artifact, ArtifactTypeInfo, BaseType, PropertySpec, PropertyType, PropertyValue,
};
pub use builder::PipelineBuilder;
pub use channel::{Channel, ErasedChannel, NodeHandle};
#[allow(deprecated)]
pub use component::Execution;
pub use component::{
    Component, ComponentInterface, ErasedComponent, Executor, InputDeclaration, InputField,
    InputSet, IntoNode, Node, OutputDeclaration, OutputField, OutputSet,
};
pub use condition::Condition;
pub use execute::{
    ArtifactInstance, ComponentError, DataSpan, Execute, ExecutionContext, Input, Output,
    WatchedInput,
};
pub use fingerprint::Fingerprint;
pub use parameter::{Param, ParameterValue, RuntimeParameter};
pub use pipeline::Pipeline;
pub use registry::{ComponentRegistration, Registry};
pub use resolver::{Importer, LatestArtifact, LatestBlessedModel, ModelAlias, Resolver, SpanRange};
pub use spec::command::{CommandSpec, Placeholder};
pub use spec::error::{BuildError, Error};
pub use spec::{
    Comparison, ConditionSpec, NodeOptions, ParameterType, PipelineSpec, Problem, Resources,
    RetryPolicy, Schedule, TriggerRule, ValidationIssue,
};
pub use tracking::{MetricStep, ModelRegistration, NOTE_TAG, Tracked};

/// The names a pipeline author needs, in one `use`.
pub mod prelude {
    #[allow(deprecated)]
    pub use crate::Execution;
    pub use crate::artifact::standard::*;
    pub use crate::{
        Artifact, Channel, CommandSpec, Component, ComponentError, Condition, Execute,
        ExecutionContext, Executor, Importer, Input, InputDeclaration, InputSet, LatestArtifact,
        LatestBlessedModel, ModelAlias, Node, NodeHandle, Output, OutputDeclaration, OutputSet,
        Param, Pipeline, PipelineBuilder, PipelineSpec, Resources, RetryPolicy, Schedule,
        SpanRange, TriggerRule,
    };
}

/// Re-exports for the code that Millrace's macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use inventory;
    pub use serde;
    pub use serde_json;
}
