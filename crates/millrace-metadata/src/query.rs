//! Queries: which nodes to read, in what order, how many.

use serde::{Deserialize, Serialize};

pub use millrace_core::Comparison;

use crate::model::Value;

/// The field results are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    /// The id (the default).
    #[default]
    Id,
    /// The creation time, then the id.
    CreateTime,
    /// The last update time, then the id.
    LastUpdateTime,
}

/// A condition on a property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyFilter {
    /// The property's name.
    pub name: String,
    /// Whether it is a custom property.
    pub custom: bool,
    /// The comparison.
    pub comparison: Comparison,
    /// The value compared with (integers, doubles, strings and booleans).
    pub value: Value,
}

/// Which artifacts, executions or contexts to read. Every condition set must hold.
///
/// ```
/// use millrace_metadata::{Comparison, NodeQuery, OrderBy};
///
/// let query = NodeQuery::all()
///     .of_type("Examples")
///     .where_property("span", Comparison::Ge, 3)
///     .order_by(OrderBy::CreateTime)
///     .descending()
///     .limit(10);
/// assert_eq!(query.limit, Some(10));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NodeQuery {
    /// Only these ids.
    pub ids: Option<Vec<i64>>,
    /// Only nodes of this type.
    pub type_name: Option<String>,
    /// Only nodes with this name.
    pub name: Option<String>,
    /// Only artifacts with this URI.
    pub uri: Option<String>,
    /// Only nodes with one of these external ids.
    pub external_ids: Option<Vec<String>>,
    /// Only artifacts attributed to, or executions associated with, this context.
    pub context_id: Option<i64>,
    /// Only contexts that this artifact is attributed to.
    pub with_artifact: Option<i64>,
    /// Only contexts that this execution is associated with.
    pub with_execution: Option<i64>,
    /// Only contexts that are parents of this context.
    pub parent_of: Option<i64>,
    /// Only contexts that are children of this context.
    pub child_of: Option<i64>,
    /// Only artifacts in these states (`ArtifactState` codes) or executions in these states
    /// (`ExecutionState` codes).
    pub states: Option<Vec<i64>>,
    /// Conditions on properties.
    pub property_filters: Vec<PropertyFilter>,
    /// Order of the results.
    pub order_by: OrderBy,
    /// Newest (or highest) first.
    pub descending: bool,
    /// At most this many results.
    pub limit: Option<u32>,
    /// Skip this many results first (paging).
    pub offset: u64,
    /// Only nodes whose id is below this one: keyset paging, newest first, whose cost does not
    /// grow with how far back the page is (unlike `offset`).
    #[serde(default)]
    pub before_id: Option<i64>,
    /// Only nodes whose id is above this one: keyset paging, oldest first (or a newest-first
    /// walk that stops at a known node).
    #[serde(default)]
    pub after_id: Option<i64>,
}

impl NodeQuery {
    /// Every node.
    pub fn all() -> Self {
        NodeQuery::default()
    }

    /// Only these ids.
    pub fn ids(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.ids = Some(ids.into_iter().collect());
        self
    }

    /// Only nodes of type `name`.
    pub fn of_type(mut self, name: impl Into<String>) -> Self {
        self.type_name = Some(name.into());
        self
    }

    /// Only nodes called `name`.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only artifacts at `uri`.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Only nodes with one of these external ids.
    pub fn external_ids(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.external_ids = Some(ids.into_iter().collect());
        self
    }

    /// Only artifacts or executions of context `context_id`.
    pub fn in_context(mut self, context_id: i64) -> Self {
        self.context_id = Some(context_id);
        self
    }

    /// Only nodes in one of these states (state codes).
    pub fn states(mut self, states: impl IntoIterator<Item = i64>) -> Self {
        self.states = Some(states.into_iter().collect());
        self
    }

    /// A condition on a declared property.
    pub fn where_property(
        self,
        name: impl Into<String>,
        comparison: Comparison,
        value: impl Into<Value>,
    ) -> Self {
        self.with_filter(name.into(), false, comparison, value.into())
    }

    /// A condition on a custom property.
    pub fn where_custom_property(
        self,
        name: impl Into<String>,
        comparison: Comparison,
        value: impl Into<Value>,
    ) -> Self {
        self.with_filter(name.into(), true, comparison, value.into())
    }

    fn with_filter(
        mut self,
        name: String,
        custom: bool,
        comparison: Comparison,
        value: Value,
    ) -> Self {
        self.property_filters.push(PropertyFilter {
            name,
            custom,
            comparison,
            value,
        });
        self
    }

    /// Orders the results.
    pub fn order_by(mut self, order_by: OrderBy) -> Self {
        self.order_by = order_by;
        self
    }

    /// Largest first.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// At most `limit` results.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` results.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Only nodes whose id is below `id`: the next page of a newest-first listing whose last
    /// item had id `id`.
    pub fn before(mut self, id: i64) -> Self {
        self.before_id = Some(id);
        self
    }

    /// Only nodes whose id is above `id`: the next page of an oldest-first listing whose last
    /// item had id `id`.
    pub fn after(mut self, id: i64) -> Self {
        self.after_id = Some(id);
        self
    }
}

/// Which artifacts a node produced under one of its outputs, across every run: the LIVE models
/// a trainer produced, the statistics a statistics node produced. An artifact counts once,
/// for the execution that created it (its first event), however many cached executions wrote
/// it again. Results come newest artifact first; the store walks the node context's
/// attributions from the newest and checks each candidate with one index probe, so the cost of
/// a page does not grow with how many runs the node, or the readers of its outputs, have had.
///
/// ```
/// use millrace_metadata::{ArtifactState, OutputQuery};
///
/// let query = OutputQuery::new(7, "model").states([ArtifactState::Live.code()]).limit(1);
/// assert_eq!(query.output, "model");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutputQuery {
    /// The context the producing executions are associated with: a pipeline node's.
    pub context_id: i64,
    /// The output: the key that starts the OUTPUT events' paths (`["model", 0]`).
    pub output: String,
    /// Only artifacts in these states (`ArtifactState` codes).
    pub states: Option<Vec<i64>>,
    /// Conditions on the artifacts' properties.
    pub property_filters: Vec<PropertyFilter>,
    /// Only artifacts whose id is below this one (the next page).
    pub before_id: Option<i64>,
    /// At most this many results.
    pub limit: Option<u32>,
}

impl OutputQuery {
    /// What the executions of context `context_id` wrote to output `output`.
    pub fn new(context_id: i64, output: impl Into<String>) -> Self {
        OutputQuery {
            context_id,
            output: output.into(),
            ..OutputQuery::default()
        }
    }

    /// Only artifacts in one of these states (state codes).
    pub fn states(mut self, states: impl IntoIterator<Item = i64>) -> Self {
        self.states = Some(states.into_iter().collect());
        self
    }

    /// A condition on a declared property.
    pub fn where_property(
        mut self,
        name: impl Into<String>,
        comparison: Comparison,
        value: impl Into<Value>,
    ) -> Self {
        self.property_filters.push(PropertyFilter {
            name: name.into(),
            custom: false,
            comparison,
            value: value.into(),
        });
        self
    }

    /// Only artifacts whose id is below `id`.
    pub fn before(mut self, id: i64) -> Self {
        self.before_id = Some(id);
        self
    }

    /// At most `limit` results.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Which way lineage is followed from the starting nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Towards what produced the starting nodes.
    Upstream,
    /// Towards what was made from them.
    Downstream,
    /// Along every event, either way.
    #[default]
    Both,
}

/// A lineage query: the subgraph reached from some artifacts and executions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineageQuery {
    /// Starting artifacts.
    pub artifact_ids: Vec<i64>,
    /// Starting executions.
    pub execution_ids: Vec<i64>,
    /// Which way to go.
    pub direction: Direction,
    /// How many events (hops) to follow at most.
    pub max_hops: u32,
}
