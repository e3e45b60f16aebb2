//! What can be wrong with a pipeline: one [`ValidationIssue`] per problem, naming the node it
//! concerns, each a [`Problem`] whose message says what to do.

use std::fmt;

use crate::spec::node::ChannelRef;
use crate::spec::parameter::ParameterType;

/// One problem found in a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// The node concerned, if the problem is about one node.
    pub node: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

impl ValidationIssue {
    pub(crate) fn pipeline(problem: Problem) -> Self {
        ValidationIssue {
            node: None,
            problem,
        }
    }

    pub(crate) fn node(node: &str, problem: Problem) -> Self {
        ValidationIssue {
            node: Some(node.to_owned()),
            problem,
        }
    }
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "node `{node}`: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// What can be wrong with a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The spec was written for another schema version.
    #[error("schema version `{found}` is not supported; this build reads `{expected}`")]
    UnsupportedSchemaVersion {
        /// What the spec says.
        found: String,
        /// What this build reads.
        expected: &'static str,
    },
    /// The pipeline's name is not usable on every target.
    #[error(
        "pipeline name `{0}` is invalid: use 1 to 63 ASCII letters, digits, `_` or `-`, starting with a letter"
    )]
    InvalidPipelineName(String),
    /// A node id is not usable on every target.
    #[error(
        "node id `{0}` is invalid: use 1 to 63 ASCII letters, digits, `_` or `-`, starting with a letter"
    )]
    InvalidNodeId(String),
    /// An output name is not usable as one segment of an artifact's path on every target.
    #[error(
        "output name `{0}` is invalid: use 1 to 63 ASCII letters, digits, `_` or `-`, starting with a letter or `_` (it names a directory of every artifact)"
    )]
    InvalidOutputName(String),
    /// A URL or value in the spec holds a credential: the IR, and every file compiled from it,
    /// is not secret.
    #[error(
        "{place} holds a credential (`{redacted}`): the pipeline's IR and every file compiled from it are not secret; give credentials through the environment (MILLRACE_STORE, a Kubernetes Secret, the cloud's own variables)"
    )]
    SecretInSpec {
        /// Where (`the pipeline root`, `the importer's source URI`).
        place: String,
        /// The value, with its credential replaced by `***`.
        redacted: String,
    },
    /// Two nodes share an id.
    #[error("node id `{0}` is used by more than one node")]
    DuplicateNodeId(String),
    /// No component of this kind is registered in this binary.
    #[error(
        "unknown component kind `{0}`: it is not registered in this binary (register it with `register_component!`, or name the crate that provides it)"
    )]
    UnknownComponentKind(String),
    /// The spec was written by another version of the component.
    #[error(
        "component `{kind}` is version {spec} in the spec but version {registered} in this binary"
    )]
    ComponentVersionMismatch {
        /// The kind.
        kind: String,
        /// The version in the spec.
        spec: u32,
        /// The version registered here.
        registered: u32,
    },
    /// A name registered twice with different meanings.
    #[error("{0}")]
    RegistryConflict(String),
    /// No artifact type of this name is registered.
    #[error("unknown artifact type `{0}`")]
    UnknownArtifactType(String),
    /// The component declares no such input.
    #[error("component `{kind}` has no input `{input}` (it declares: {declared})")]
    UnknownInput {
        /// The input.
        input: String,
        /// The component kind.
        kind: String,
        /// The declared inputs.
        declared: String,
    },
    /// A required input is not connected.
    #[error("required input `{input}` ({artifact_type}) is not connected")]
    MissingRequiredInput {
        /// The input.
        input: String,
        /// The type it expects.
        artifact_type: String,
    },
    /// An input reads a node or output that does not exist.
    #[error("input `{input}` reads `{channel}`, but {reason}")]
    DanglingReference {
        /// The input (or condition operand).
        input: String,
        /// What it refers to.
        channel: ChannelRef,
        /// What is missing.
        reason: String,
    },
    /// An edge connects different artifact types.
    #[error("input `{input}` expects {expected}, but `{channel}` is {found}")]
    TypeMismatch {
        /// The input.
        input: String,
        /// The type the input expects.
        expected: String,
        /// The type the upstream output produces.
        found: String,
        /// The upstream output.
        channel: ChannelRef,
    },
    /// A node's outputs differ from what its component declares.
    #[error("output `{output}`: {reason}")]
    OutputMismatch {
        /// The output.
        output: String,
        /// How it differs.
        reason: String,
    },
    /// Nodes that depend on each other in a loop.
    #[error("cycle through nodes {}", .0.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(" → "))]
    Cycle(Vec<String>),
    /// A parameter name is not an identifier.
    #[error("parameter name `{0}` is invalid: use an identifier (letters, digits, `_`)")]
    InvalidParameterName(String),
    /// Two parameters share a name.
    #[error("parameter `{0}` is declared more than once")]
    DuplicateParameter(String),
    /// A parameter's default is not of its type.
    #[error("parameter `{name}` is {parameter_type}, but its default is {value}")]
    BadParameterDefault {
        /// The parameter.
        name: String,
        /// Its type.
        parameter_type: ParameterType,
        /// The default given.
        value: String,
    },
    /// A reference to an undeclared runtime parameter.
    #[error("{place} refers to runtime parameter `{name}`, which the pipeline does not declare")]
    UnknownParameter {
        /// The parameter.
        name: String,
        /// Where it is referenced.
        place: String,
    },
    /// The component's configuration does not deserialise (a bad value or parameter type).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A node option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A `when` condition refers to something wrong.
    #[error("invalid condition: {0}")]
    InvalidCondition(String),
    /// A command placeholder refers to something wrong.
    #[error("invalid command placeholder: {0}")]
    InvalidPlaceholder(String),
    /// A resolver node is malformed.
    #[error("invalid resolver: {0}")]
    InvalidResolver(String),
    /// An importer node is malformed.
    #[error("invalid importer: {0}")]
    InvalidImporter(String),
    /// The exit handler is malformed.
    #[error("invalid exit handler: {0}")]
    InvalidExitHandler(String),
    /// The schedule is malformed.
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    /// A data trigger is malformed or watches a node it cannot.
    #[error("invalid trigger: {0}")]
    InvalidTrigger(String),
    /// A channel from another pipeline builder was used.
    #[error("input `{input}` uses a channel of another pipeline builder")]
    ForeignChannel {
        /// The input.
        input: String,
    },
}
