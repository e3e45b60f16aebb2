//! Components: reusable steps with typed inputs and outputs, placed in pipelines as nodes.
//!
//! A component is a serialisable configuration (its fields) plus a declaration of inputs and
//! outputs as typed channel sets. It executes either in process ([`Execute`]) or as a command
//! ([`CommandSpec`]): see [`Executor`]. There are three ways to write one:
//!
//! - an `async fn` under `#[millrace::component]`, whose arguments are its inputs, outputs and
//!   parameters;
//! - a struct implementing [`Component`] and [`Execute`];
//! - a struct implementing [`Component`] whose [`Component::execution`] returns a command.
//!
//! ```
//! use millrace_core::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! /// Writes a greeting into a data set.
//! #[derive(Serialize, Deserialize)]
//! struct Greet {
//!     name: String,
//! }
//!
//! /// Greet's outputs.
//! struct GreetOutputs {
//!     greeting: Channel<Dataset>,
//! }
//!
//! impl OutputSet for GreetOutputs {
//!     fn declarations() -> Vec<OutputDeclaration> {
//!         vec![OutputDeclaration::of::<Dataset>("greeting")]
//!     }
//!     fn bind(node: NodeHandle) -> Self {
//!         GreetOutputs { greeting: node.channel("greeting") }
//!     }
//! }
//!
//! impl Component for Greet {
//!     const KIND: &'static str = "doc.Greet";
//!     type Inputs = ();
//!     type Outputs = GreetOutputs;
//!     fn execution(&self) -> Executor<'_> {
//!         Executor::Command(CommandSpec::new(["echo", "hello"]))
//!     }
//! }
//!
//! let mut builder = Pipeline::builder("greetings");
//! let greet = builder.add("greet", Greet { name: "world".into() });
//! # let _ = greet.greeting;
//! let pipeline = builder.build().unwrap();
//! assert_eq!(pipeline.spec().nodes[0].id, "greet");
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::artifact::Artifact;
use crate::channel::{Channel, ErasedChannel, NodeHandle};
use crate::condition::Condition;
use crate::execute::Execute;
use crate::spec::command::CommandSpec;
pub use crate::spec::interface::{ComponentInterface, InputDeclaration, OutputDeclaration};
use crate::spec::options::{NodeOptions, Resources, RetryPolicy, TriggerRule};

/// A reusable pipeline step.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Millrace component",
    note = "implement `millrace::Component` for it, or write an `async fn` under `#[millrace::component]`"
)]
pub trait Component: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name under which the component is registered and written into the IR.
    const KIND: &'static str;
    /// Bump when the component's behaviour changes, so that cached results are not reused.
    const VERSION: u32 = 1;
    /// Whether its nodes may take [`Node::shards`]: the component then reads
    /// [`ExecutionContext::shard_role`](crate::ExecutionContext::shard_role) and processes one
    /// shard of its examples, or merges the shards' outputs.
    const SHARDABLE: bool = false;
    /// The typed channels the component consumes.
    type Inputs: InputSet;
    /// The typed channels the component produces.
    type Outputs: OutputSet;

    /// How the component executes: in process, or as a command.
    fn execution(&self) -> Executor<'_>;

    /// Pairs the component with its input channels, ready for `PipelineBuilder::add`.
    fn with_inputs(self, inputs: Self::Inputs) -> Node<Self> {
        Node::new(self, inputs)
    }
}

/// How a component executes: what [`Component::execution`] returns.
///
/// (Called `Execution` before 0.2, which collided with the metadata store's execution record;
/// that name is kept as a deprecated alias.)
pub enum Executor<'a> {
    /// In the launcher's process, through [`Execute`].
    InProcess(&'a dyn Execute),
    /// As a subprocess or container running this command.
    Command(CommandSpec),
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Executor::InProcess(_) => f.write_str("InProcess"),
            Executor::Command(command) => f.debug_tuple("Command").field(command).finish(),
        }
    }
}

impl InputDeclaration {
    /// A required input of type `T`.
    pub fn required<T: Artifact>(name: &'static str) -> Self {
        InputDeclaration {
            name,
            artifact_type: T::info(),
            optional: false,
        }
    }

    /// An optional input of type `T`.
    pub fn optional<T: Artifact>(name: &'static str) -> Self {
        InputDeclaration {
            name,
            artifact_type: T::info(),
            optional: true,
        }
    }
}

impl OutputDeclaration {
    /// An output of type `T`.
    pub fn of<T: Artifact>(name: &'static str) -> Self {
        OutputDeclaration {
            name,
            artifact_type: T::info(),
        }
    }
}

/// The typed input channels of a component; derive it with `#[derive(millrace::Inputs)]`.
///
/// Fields of type `Channel<T>` are required inputs, `Option<Channel<T>>` optional ones.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a set of input channels",
    note = "derive it with `#[derive(millrace::Inputs)]` on a struct of `Channel<T>` fields"
)]
pub trait InputSet: Send + 'static {
    /// The declared inputs.
    fn declarations() -> Vec<InputDeclaration>;
    /// The channels bound to each input; `None` for an unconnected optional input.
    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)>;
}

impl InputSet for () {
    fn declarations() -> Vec<InputDeclaration> {
        Vec::new()
    }

    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)> {
        Vec::new()
    }
}

/// Helps `#[derive(Inputs)]`: a required or optional channel field, seen uniformly.
pub trait InputField {
    /// The artifact type of the field.
    type Artifact: Artifact;
    /// Whether the field may be left unconnected.
    const OPTIONAL: bool;
    /// The bound channel, if any.
    fn erased(&self) -> Option<ErasedChannel>;
}

impl<T: Artifact> InputField for Channel<T> {
    type Artifact = T;
    const OPTIONAL: bool = false;
    fn erased(&self) -> Option<ErasedChannel> {
        Some(self.erase())
    }
}

impl<T: Artifact> InputField for Option<Channel<T>> {
    type Artifact = T;
    const OPTIONAL: bool = true;
    fn erased(&self) -> Option<ErasedChannel> {
        self.as_ref().map(Channel::erase)
    }
}

/// Helps `#[derive(Outputs)]`: the artifact type of a `Channel<T>` field.
pub trait OutputField {
    /// The artifact type.
    type Artifact: Artifact;
}

impl<T: Artifact> OutputField for Channel<T> {
    type Artifact = T;
}

/// The typed output channels of a component; derive it with `#[derive(millrace::Outputs)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a set of output channels",
    note = "derive it with `#[derive(millrace::Outputs)]` on a struct of `Channel<T>` fields"
)]
pub trait OutputSet: 'static {
    /// The declared outputs.
    fn declarations() -> Vec<OutputDeclaration>;
    /// The channels of a node's outputs.
    fn bind(node: NodeHandle) -> Self;
}

impl OutputSet for () {
    fn declarations() -> Vec<OutputDeclaration> {
        Vec::new()
    }

    fn bind(_node: NodeHandle) -> Self {}
}

impl ComponentInterface {
    /// The interface of `C`.
    pub fn of<C: Component>() -> Self {
        ComponentInterface {
            inputs: C::Inputs::declarations(),
            outputs: C::Outputs::declarations(),
        }
    }
}

/// The old name of [`Executor`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `Executor` (the metadata store has an `Execution`)"
)]
pub type Execution<'a> = Executor<'a>;

/// A component instantiated from its configuration, without its static type.
pub trait ErasedComponent: Send + Sync {
    /// The registered kind.
    fn kind(&self) -> &'static str;
    /// How it executes.
    fn execution(&self) -> Executor<'_>;
}

impl<C: Component> ErasedComponent for C {
    fn kind(&self) -> &'static str {
        C::KIND
    }

    fn execution(&self) -> Executor<'_> {
        Component::execution(self)
    }
}

/// A component with its inputs and node options, ready to be added to a pipeline.
pub struct Node<C: Component> {
    pub(crate) component: C,
    pub(crate) inputs: C::Inputs,
    pub(crate) options: NodeOptions,
    pub(crate) when: Option<Condition>,
}

impl<C: Component> Node<C> {
    /// Pairs a component with its inputs.
    pub fn new(component: C, inputs: C::Inputs) -> Self {
        Node {
            component,
            inputs,
            options: NodeOptions::default(),
            when: None,
        }
    }

    /// The component.
    pub fn component(&self) -> &C {
        &self.component
    }

    /// Changes the component's configuration: `StatisticsGen::new(examples).configure(|s| s.top_k = 5)`.
    pub fn configure(mut self, change: impl FnOnce(&mut C)) -> Self {
        change(&mut self.component);
        self
    }

    /// Retries a failed execution up to `retries` more times, with the default backoff.
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.retry.max_retries = retries;
        self
    }

    /// Sets the whole retry policy (count and exponential backoff).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = policy;
        self
    }

    /// Fails (and kills) an execution that runs longer than `timeout`.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Turns result caching on or off for this node (on by default).
    pub fn cache(mut self, enabled: bool) -> Self {
        self.options.cache = enabled;
        self
    }

    /// Requests CPU, as a Kubernetes quantity: `"2"`, `"500m"`.
    pub fn cpu(mut self, quantity: impl Into<String>) -> Self {
        self.options.resources.cpu = Some(quantity.into());
        self
    }

    /// Requests memory, as a Kubernetes quantity: `"4Gi"`, `"512Mi"`.
    pub fn memory(mut self, quantity: impl Into<String>) -> Self {
        self.options.resources.memory = Some(quantity.into());
        self
    }

    /// Requests GPUs.
    pub fn gpu(mut self, count: u32) -> Self {
        self.options.resources.gpu = Some(count);
        self
    }

    /// Sets all resource requests at once.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.options.resources = resources;
        self
    }

    /// Runs the node in this container image on container runners.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.options.image = Some(image.into());
        self
    }

    /// Splits the node's examples into `count` shards, each processed by a task of its own,
    /// then merged into the one output a single task writes. Only components with
    /// [`Component::SHARDABLE`] take it (validation says so otherwise); `count` must be at
    /// least 1.
    pub fn shards(mut self, count: u32) -> Self {
        self.options.shards = Some(count);
        self
    }

    /// Takes a slot of the orchestrator's pool `name` while it runs (Airflow pools).
    pub fn pool(mut self, name: impl Into<String>) -> Self {
        self.options.pool = Some(name.into());
        self
    }

    /// When the node runs relative to its upstream nodes' outcomes.
    pub fn trigger_rule(mut self, rule: TriggerRule) -> Self {
        self.options.trigger_rule = rule;
        self
    }

    /// Runs the node only when `condition` holds; otherwise it is recorded as skipped.
    pub fn when(mut self, condition: Condition) -> Self {
        self.when = Some(match self.when.take() {
            Some(existing) => existing.and(condition),
            None => condition,
        });
        self
    }
}

/// Anything `PipelineBuilder::add` accepts: a [`Node`], or a component without inputs.
pub trait IntoNode {
    /// The component type.
    type Component: Component;
    /// The node.
    fn into_node(self) -> Node<Self::Component>;
}

impl<C: Component> IntoNode for Node<C> {
    type Component = C;
    fn into_node(self) -> Node<C> {
        self
    }
}

impl<C: Component<Inputs = ()>> IntoNode for C {
    type Component = C;
    fn into_node(self) -> Node<C> {
        Node::new(self, ())
    }
}

/// The configuration of a component as JSON, or why it cannot be serialised.
pub(crate) fn component_config<C: Component>(component: &C) -> Result<Value, String> {
    serde_json::to_value(component).map_err(|error| error.to_string())
}
