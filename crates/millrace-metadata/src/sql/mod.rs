//! The store logic, written once over a small SQL interface that SQLite and PostgreSQL both
//! implement. Statements use `$1`-style parameters, double-quoted identifiers, `RETURNING`,
//! `ON CONFLICT DO NOTHING` and recursive common table expressions: SQL both engines read alike.

pub(crate) mod ops;
mod registry_store;
pub(crate) mod schema;
mod store;
mod tracking_store;
mod trigger_store;

pub(crate) use store::SqlStore;

use crate::error::Result;

/// The engine behind a connection, where their SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Null,
    Int(i64),
    Double(f64),
    Text(String),
    Bool(bool),
    Blob(Vec<u8>),
}

impl SqlValue {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            SqlValue::Int(value) => Some(*value),
            SqlValue::Bool(flag) => Some(i64::from(*flag)),
            _ => None,
        }
    }

    pub(crate) fn double(&self) -> Option<f64> {
        match self {
            SqlValue::Double(value) => Some(*value),
            SqlValue::Int(value) => Some(*value as f64),
            _ => None,
        }
    }

    pub(crate) fn text(&self) -> Option<String> {
        match self {
            SqlValue::Text(text) => Some(text.clone()),
            SqlValue::Blob(bytes) => String::from_utf8(bytes.clone()).ok(),
            _ => None,
        }
    }

    pub(crate) fn bool(&self) -> Option<bool> {
        match self {
            SqlValue::Bool(flag) => Some(*flag),
            SqlValue::Int(value) => Some(*value != 0),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Int(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<Option<&str>> for SqlValue {
    fn from(value: Option<&str>) -> Self {
        value.map_or(SqlValue::Null, SqlValue::from)
    }
}

/// One result row.
pub(crate) type Row = Vec<SqlValue>;

/// Types by id, as last read. Types only ever gain properties, so a cached type that lacks a
/// property is refreshed from the database before a request is refused.
pub(crate) type TypeCache = std::collections::HashMap<i64, crate::model::NodeType>;

/// A transaction on one connection.
pub(crate) trait SqlTx {
    /// The connection's cache of types.
    fn type_cache(&mut self) -> &mut TypeCache;
    /// Runs a statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64>;
    /// Runs a query; returns its rows.
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>>;
    /// The engine.
    fn dialect(&self) -> Dialect;
}

/// A database engine that runs transactions.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Runs `work` in one transaction (a write transaction when `write`), committing when it
    /// returns `Ok` and rolling back otherwise. `work` may be run again if the engine asks for
    /// a retry.
    fn transaction(
        &self,
        write: bool,
        work: &mut dyn FnMut(&mut dyn SqlTx) -> Result<()>,
    ) -> Result<()>;

    /// Where the database is, for messages.
    fn location(&self) -> String;
}

/// `$first, $first+1, ...` for `count` parameters.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}
