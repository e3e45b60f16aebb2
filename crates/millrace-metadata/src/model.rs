//! The ML-Metadata data model: types, artifacts, executions, contexts and the edges between
//! them, with ML-Metadata's enum numbering.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use millrace_core::PropertyType;

/// Which of the three kinds of type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeKind {
    /// Types of executions (`type_kind = 0`).
    Execution,
    /// Types of artifacts (`type_kind = 1`).
    Artifact,
    /// Types of contexts (`type_kind = 2`).
    Context,
}

impl TypeKind {
    /// The `type_kind` column value.
    pub const fn code(self) -> i64 {
        match self {
            TypeKind::Execution => 0,
            TypeKind::Artifact => 1,
            TypeKind::Context => 2,
        }
    }
}

/// The ML-Metadata "simple types" a type can derive from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BaseType {
    /// `mlmd.Dataset` (artifacts).
    Dataset,
    /// `mlmd.Model` (artifacts).
    Model,
    /// `mlmd.Metrics` (artifacts).
    Metrics,
    /// `mlmd.Statistics` (artifacts).
    Statistics,
    /// `mlmd.Train` (executions).
    Train,
    /// `mlmd.Transform` (executions).
    Transform,
    /// `mlmd.Process` (executions).
    Process,
    /// `mlmd.Evaluate` (executions).
    Evaluate,
    /// `mlmd.Deploy` (executions).
    Deploy,
}

impl BaseType {
    /// Every simple type, in the order ML-Metadata registers them (ids 1 to 9).
    pub const ALL: [BaseType; 9] = [
        BaseType::Dataset,
        BaseType::Model,
        BaseType::Metrics,
        BaseType::Statistics,
        BaseType::Train,
        BaseType::Transform,
        BaseType::Process,
        BaseType::Evaluate,
        BaseType::Deploy,
    ];

    /// The simple type's name in the `Type` table.
    pub const fn type_name(self) -> &'static str {
        match self {
            BaseType::Dataset => "mlmd.Dataset",
            BaseType::Model => "mlmd.Model",
            BaseType::Metrics => "mlmd.Metrics",
            BaseType::Statistics => "mlmd.Statistics",
            BaseType::Train => "mlmd.Train",
            BaseType::Transform => "mlmd.Transform",
            BaseType::Process => "mlmd.Process",
            BaseType::Evaluate => "mlmd.Evaluate",
            BaseType::Deploy => "mlmd.Deploy",
        }
    }

    /// Which kind of type may derive from it.
    pub const fn kind(self) -> TypeKind {
        match self {
            BaseType::Dataset | BaseType::Model | BaseType::Metrics | BaseType::Statistics => {
                TypeKind::Artifact
            }
            _ => TypeKind::Execution,
        }
    }

    /// The simple type called `name`.
    pub fn from_type_name(name: &str) -> Option<BaseType> {
        BaseType::ALL
            .into_iter()
            .find(|base| base.type_name() == name)
    }
}

impl From<millrace_core::BaseType> for BaseType {
    fn from(base: millrace_core::BaseType) -> Self {
        match base {
            millrace_core::BaseType::Dataset => BaseType::Dataset,
            millrace_core::BaseType::Model => BaseType::Model,
            millrace_core::BaseType::Metrics => BaseType::Metrics,
            millrace_core::BaseType::Statistics => BaseType::Statistics,
        }
    }
}

/// An artifact, execution or context type with its property schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeType {
    /// The store's id; `None` before it is stored.
    pub id: Option<i64>,
    /// Which kind of type.
    pub kind: TypeKind,
    /// The name, unique per kind.
    pub name: String,
    /// An optional version.
    pub version: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// An id from another system, globally unique.
    pub external_id: Option<String>,
    /// The declared properties.
    pub properties: BTreeMap<String, PropertyType>,
    /// The simple type it derives from.
    pub base_type: Option<BaseType>,
}

impl NodeType {
    /// A type of `kind` called `name`, with no properties.
    pub fn new(kind: TypeKind, name: impl Into<String>) -> Self {
        NodeType {
            id: None,
            kind,
            name: name.into(),
            version: None,
            description: None,
            external_id: None,
            properties: BTreeMap::new(),
            base_type: None,
        }
    }

    /// An artifact type.
    pub fn artifact(name: impl Into<String>) -> Self {
        NodeType::new(TypeKind::Artifact, name)
    }

    /// An execution type.
    pub fn execution(name: impl Into<String>) -> Self {
        NodeType::new(TypeKind::Execution, name)
    }

    /// A context type.
    pub fn context(name: impl Into<String>) -> Self {
        NodeType::new(TypeKind::Context, name)
    }

    /// The artifact type of a Millrace artifact type.
    pub fn of_artifact(info: &millrace_core::ArtifactTypeInfo) -> Self {
        let mut node_type = NodeType::artifact(info.name);
        node_type.base_type = info.base_type.map(BaseType::from);
        node_type.properties = info
            .properties
            .iter()
            .map(|property| (property.name.to_owned(), property.property_type))
            .collect();
        node_type
    }

    /// Declares a property.
    pub fn property(mut self, name: impl Into<String>, property_type: PropertyType) -> Self {
        self.properties.insert(name.into(), property_type);
        self
    }

    /// Sets the base type.
    pub fn base(mut self, base_type: BaseType) -> Self {
        self.base_type = Some(base_type);
        self
    }
}

/// A property value, in ML-Metadata's six kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// `int_value`.
    Int(i64),
    /// `double_value`.
    Double(f64),
    /// `string_value`.
    String(String),
    /// `struct_value`: a JSON object (a `google.protobuf.Struct`).
    Struct(serde_json::Map<String, serde_json::Value>),
    /// `proto_value`: a `google.protobuf.Any`.
    Proto {
        /// The type URL.
        type_url: String,
        /// The serialised message.
        value: Vec<u8>,
    },
    /// `bool_value`.
    Bool(bool),
}

impl Value {
    /// The property type this value has.
    pub fn property_type(&self) -> PropertyType {
        match self {
            Value::Int(_) => PropertyType::Int,
            Value::Double(_) => PropertyType::Double,
            Value::String(_) => PropertyType::String,
            Value::Struct(_) => PropertyType::Struct,
            Value::Proto { .. } => PropertyType::Proto,
            Value::Bool(_) => PropertyType::Boolean,
        }
    }

    /// The value as plain JSON (a proto value becomes `{"type_url", "value_base64"}`).
    pub fn to_json(&self) -> serde_json::Value {
        use base64::Engine as _;
        match self {
            Value::Int(value) => (*value).into(),
            Value::Double(value) => (*value).into(),
            Value::String(value) => value.clone().into(),
            Value::Struct(map) => serde_json::Value::Object(map.clone()),
            Value::Proto { type_url, value } => serde_json::json!({
                "type_url": type_url,
                "value_base64": base64::engine::general_purpose::STANDARD.encode(value),
            }),
            Value::Bool(value) => (*value).into(),
        }
    }

    /// A value from plain JSON: integers, numbers, strings, booleans and objects.
    pub fn from_json(value: &serde_json::Value) -> Option<Value> {
        match value {
            serde_json::Value::Bool(flag) => Some(Value::Bool(*flag)),
            serde_json::Value::Number(number) => number
                .as_i64()
                .map(Value::Int)
                .or_else(|| number.as_f64().map(Value::Double)),
            serde_json::Value::String(text) => Some(Value::String(text.clone())),
            serde_json::Value::Object(map) => Some(Value::Struct(map.clone())),
            serde_json::Value::Null | serde_json::Value::Array(_) => None,
        }
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}
impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Double(value)
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

/// Properties by name.
pub type Properties = BTreeMap<String, Value>;

/// The state of an artifact (ML-Metadata's `Artifact.State`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArtifactState {
    /// `UNKNOWN = 0`.
    #[default]
    Unknown,
    /// `PENDING = 1`: being written.
    Pending,
    /// `LIVE = 2`: complete and usable.
    Live,
    /// `MARKED_FOR_DELETION = 3`: its files may be removed.
    MarkedForDeletion,
    /// `DELETED = 4`: its files are gone.
    Deleted,
    /// `ABANDONED = 5`: never completed.
    Abandoned,
    /// `REFERENCE = 6`: an external reference.
    Reference,
}

/// The state of an execution (ML-Metadata's `Execution.State`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionState {
    /// `UNKNOWN = 0`.
    #[default]
    Unknown,
    /// `NEW = 1`.
    New,
    /// `RUNNING = 2`.
    Running,
    /// `COMPLETE = 3`.
    Complete,
    /// `FAILED = 4`.
    Failed,
    /// `CACHED = 5`: results reused from an earlier execution.
    Cached,
    /// `CANCELED = 6`.
    Canceled,
}

/// The kind of an event (ML-Metadata's `Event.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// `UNKNOWN = 0`.
    Unknown,
    /// `DECLARED_OUTPUT = 1`.
    DeclaredOutput,
    /// `DECLARED_INPUT = 2`.
    DeclaredInput,
    /// `INPUT = 3`.
    Input,
    /// `OUTPUT = 4`.
    Output,
    /// `INTERNAL_INPUT = 5`.
    InternalInput,
    /// `INTERNAL_OUTPUT = 6`.
    InternalOutput,
    /// `PENDING_OUTPUT = 7`.
    PendingOutput,
}

macro_rules! numbered_enum {
    ($name:ident { $($variant:ident = $code:literal),* $(,)? }) => {
        impl $name {
            /// The integer ML-Metadata stores.
            pub const fn code(self) -> i64 {
                match self { $($name::$variant => $code),* }
            }

            /// The value of a stored integer.
            pub fn from_code(code: i64) -> Option<Self> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }
        }
    };
}

numbered_enum!(ArtifactState { Unknown = 0, Pending = 1, Live = 2, MarkedForDeletion = 3, Deleted = 4, Abandoned = 5, Reference = 6 });
numbered_enum!(ExecutionState { Unknown = 0, New = 1, Running = 2, Complete = 3, Failed = 4, Cached = 5, Canceled = 6 });
numbered_enum!(EventType { Unknown = 0, DeclaredOutput = 1, DeclaredInput = 2, Input = 3, Output = 4, InternalInput = 5, InternalOutput = 6, PendingOutput = 7 });

impl EventType {
    /// Whether the artifact flows into the execution.
    pub fn is_input(self) -> bool {
        matches!(
            self,
            EventType::Input | EventType::DeclaredInput | EventType::InternalInput
        )
    }

    /// Whether the execution produces the artifact.
    pub fn is_output(self) -> bool {
        matches!(
            self,
            EventType::Output
                | EventType::DeclaredOutput
                | EventType::InternalOutput
                | EventType::PendingOutput
        )
    }
}

/// An artifact: a URI and what is known about it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Artifact {
    /// The store's id; `None` to create.
    pub id: Option<i64>,
    /// The id of its type.
    pub type_id: i64,
    /// The name of its type (filled in on reads).
    pub type_name: Option<String>,
    /// Where its files are.
    pub uri: Option<String>,
    /// A name, unique within its type.
    pub name: Option<String>,
    /// An id from another system, globally unique.
    pub external_id: Option<String>,
    /// Its state.
    pub state: ArtifactState,
    /// Declared properties.
    pub properties: Properties,
    /// Custom properties.
    pub custom_properties: Properties,
    /// When it was created, in milliseconds since the epoch (set by the store).
    pub create_time_since_epoch: i64,
    /// When it was last updated (set by the store).
    pub last_update_time_since_epoch: i64,
}

/// An execution: one attempt of one node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Execution {
    /// The store's id; `None` to create.
    pub id: Option<i64>,
    /// The id of its type.
    pub type_id: i64,
    /// The name of its type (filled in on reads).
    pub type_name: Option<String>,
    /// A name, unique within its type.
    pub name: Option<String>,
    /// An id from another system, globally unique.
    pub external_id: Option<String>,
    /// Its state.
    pub last_known_state: ExecutionState,
    /// Declared properties.
    pub properties: Properties,
    /// Custom properties.
    pub custom_properties: Properties,
    /// When it was created (set by the store).
    pub create_time_since_epoch: i64,
    /// When it was last updated (set by the store).
    pub last_update_time_since_epoch: i64,
}

/// A context: a group of artifacts and executions (a pipeline, a run, a node).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Context {
    /// The store's id; `None` to create.
    pub id: Option<i64>,
    /// The id of its type.
    pub type_id: i64,
    /// The name of its type (filled in on reads).
    pub type_name: Option<String>,
    /// Its name, unique within its type (required).
    pub name: String,
    /// An id from another system, globally unique.
    pub external_id: Option<String>,
    /// Declared properties.
    pub properties: Properties,
    /// Custom properties.
    pub custom_properties: Properties,
    /// When it was created (set by the store).
    pub create_time_since_epoch: i64,
    /// When it was last updated (set by the store).
    pub last_update_time_since_epoch: i64,
}

/// One step of an event path: an index into a list or a key into a map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStep {
    /// `step_index`.
    Index(i64),
    /// `step_key`.
    Key(String),
}

/// An edge between an artifact and an execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    /// The artifact.
    pub artifact_id: i64,
    /// The execution.
    pub execution_id: i64,
    /// How they are related.
    pub event_type: EventType,
    /// Where in the execution's inputs or outputs the artifact sits, e.g. `["examples", 0]`.
    pub path: Vec<PathStep>,
    /// When it happened (set by the store when 0).
    pub milliseconds_since_epoch: i64,
}

impl Event {
    /// An event with the path `[key, index]`, TFX's convention.
    pub fn new(
        artifact_id: i64,
        execution_id: i64,
        event_type: EventType,
        key: &str,
        index: i64,
    ) -> Self {
        Event {
            artifact_id,
            execution_id,
            event_type,
            path: vec![PathStep::Key(key.to_owned()), PathStep::Index(index)],
            milliseconds_since_epoch: 0,
        }
    }
}

/// An artifact belongs to a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attribution {
    /// The context.
    pub context_id: i64,
    /// The artifact.
    pub artifact_id: i64,
}

/// An execution belongs to a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Association {
    /// The context.
    pub context_id: i64,
    /// The execution.
    pub execution_id: i64,
}

/// A context is the child of another (a run of a pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ParentContext {
    /// The child.
    pub child_id: i64,
    /// The parent.
    pub parent_id: i64,
}
