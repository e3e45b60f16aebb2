//! The pipeline IR: a whole pipeline as data — canonical, versioned JSON — and everything that
//! reads it without knowing the typed API: conditions and their evaluation, node options,
//! parameter types and references, schedules, command specs, artifact types and component
//! interfaces as data, and validation with its problems.
//!
//! This module is the leaf of `millrace-core`: it depends on nothing of the authoring side
//! (channels, typed conditions, runtime parameters, components, the builder). The authoring
//! side writes specs; runners and exporters read them. What validation needs to know about the
//! component kinds a binary can run comes through the [`Catalog`] trait, which the authoring
//! side's [`Registry`](crate::Registry) implements.
//!
//! ```
//! use millrace_core::spec::{PipelineSpec, validate};
//! use millrace_core::Registry;
//!
//! let json = r#"{"schema_version": "millrace.pipeline/v1", "name": "empty", "nodes": []}"#;
//! let spec = PipelineSpec::from_json(json)?;
//! assert_eq!(spec.name, "empty");
//! assert_eq!(PipelineSpec::from_json(&spec.to_json())?, spec);
//! assert!(validate(&spec, &Registry::empty()).is_ok());
//! # Ok::<(), millrace_core::Error>(())
//! ```

pub mod artifact_type;
pub mod catalog;
pub mod command;
pub mod condition;
pub mod cron;
pub mod error;
pub mod interface;
mod node;
pub mod options;
pub mod parameter;
mod pipeline_spec;
mod problem;
pub mod schedule;
pub mod shard;
pub mod trigger;
pub mod validate;

pub use catalog::{Catalog, KindDescription, TriedConfiguration};
pub use condition::{Comparison, ConditionExpr, ConditionSpec, Operand};
pub use node::{ChannelRef, InputSpec, NodeSpec, OutputSpec, ResolverStrategy, TaskSpec};
pub use options::{NodeOptions, Resources, RetryPolicy, TriggerRule};
pub use parameter::{ParameterSpec, ParameterType};
pub(crate) use pipeline_spec::CanonicalJsonWriter;
pub use pipeline_spec::{PipelineSpec, SCHEMA_VERSION};
pub use problem::{Problem, ValidationIssue};
pub use schedule::{Schedule, ScheduleSpec};
pub use shard::{ShardRole, ShardTask, shard_parts_input, shard_task_id};
pub use trigger::{DataTrigger, NEW_DATA_TRIGGER_PREFIX};
pub use validate::{ValidatedGraph, validate};
