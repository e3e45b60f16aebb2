//! The error type of `millrace-metadata`.

/// What can go wrong with a metadata store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The store URL is not one this build understands.
    #[error(
        "unsupported metadata store URL `{url}`: {reason} (use sqlite://PATH, memory:// or postgres://USER@HOST:PORT/DATABASE)"
    )]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is not a SQLite database.
    #[error("`{path}` is not a readable SQLite database (is it corrupt?): {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// SQLite's message.
        message: String,
    },
    /// The database exists but is not an ML-Metadata store.
    #[error(
        "`{location}` is a database but not an ML-Metadata store (it has tables but no MLMDEnv table); refusing to add metadata tables to it"
    )]
    NotAStore {
        /// The database.
        location: String,
    },
    /// The store was written by a newer ML-Metadata schema.
    #[error(
        "`{location}` has ML-Metadata schema version {found}, newer than the version {supported} this build reads: upgrade Millrace to open it"
    )]
    NewerSchema {
        /// The database.
        location: String,
        /// Its schema version.
        found: i64,
        /// The version this build reads.
        supported: i64,
    },
    /// The store was written by an older ML-Metadata schema.
    #[error(
        "`{location}` has ML-Metadata schema version {found}, older than the version {supported} this build reads: migrate it with ML-Metadata's tools first"
    )]
    OlderSchema {
        /// The database.
        location: String,
        /// Its schema version.
        found: i64,
        /// The version this build reads.
        supported: i64,
    },
    /// The PostgreSQL server cannot be reached.
    #[error("cannot connect to PostgreSQL at {location}: {message}")]
    Unreachable {
        /// Host, port and database (no password).
        location: String,
        /// Why.
        message: String,
    },
    /// A property value whose type is not the one its type declares.
    #[error(
        "{node}: property `{property}` of type `{type_name}` is {declared:?}, but the value is {found:?}"
    )]
    PropertyTypeMismatch {
        /// The node being written (`artifact at /data/x`, `execution 12`).
        node: String,
        /// The node's type.
        type_name: String,
        /// The property.
        property: String,
        /// The type the node's type declares for it.
        declared: crate::model::PropertyType,
        /// The type of the value given.
        found: crate::model::PropertyType,
    },
    /// A declared property the node's type does not declare.
    #[error(
        "{node}: type `{type_name}` declares no property `{property}`; put it in custom_properties"
    )]
    UndeclaredProperty {
        /// The node being written.
        node: String,
        /// The node's type.
        type_name: String,
        /// The property.
        property: String,
    },
    /// A request that breaks the data model in another way (a type of the wrong kind, a
    /// query that mixes what it selects).
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// Something with that name or id exists already.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Something asked for does not exist.
    #[error("not found: no {kind} {} in {location}", described(*id, name.as_deref()))]
    NotFound {
        /// What was asked for: `type`, `artifact`, `execution`, `context`, `pipeline`.
        kind: &'static str,
        /// Its id, when it was asked for by id.
        id: Option<i64>,
        /// Its name, when it was asked for by name.
        name: Option<String>,
        /// The store (no password).
        location: String,
    },
    /// An MLflow search filter that does not follow MLflow's grammar.
    #[error("invalid search filter `{filter}` at byte {position}: {reason}")]
    InvalidFilter {
        /// The filter as given.
        filter: String,
        /// The byte offset in `filter` where the problem starts.
        position: usize,
        /// What is wrong and what is allowed there.
        reason: String,
    },
    /// An MLflow `order_by` entry that does not follow MLflow's grammar.
    #[error("invalid order_by `{order_by}` at byte {position}: {reason}")]
    InvalidOrderBy {
        /// The entry as given.
        order_by: String,
        /// The byte offset in `order_by` where the problem starts.
        position: usize,
        /// What is wrong and what is allowed there.
        reason: String,
    },
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// Other processes kept the database locked longer than the store waits and retries.
    #[error("the database stayed busy (other writers held it too long): {0}")]
    Busy(String),
    /// A file could not be removed during garbage collection.
    #[error("cannot remove `{uri}`: {source}")]
    Io {
        /// The artifact's URI.
        uri: String,
        /// Why.
        source: std::io::Error,
    },
}

impl MetadataError {
    /// The error, saying which store it is about where it does not yet.
    pub(crate) fn in_store(self, store: &str) -> Self {
        match self {
            MetadataError::NotFound {
                kind,
                id,
                name,
                location,
            } if location.is_empty() => MetadataError::NotFound {
                kind,
                id,
                name,
                location: store.to_owned(),
            },
            other => other,
        }
    }
}

/// How the missing thing was asked for: `42`, `` `taxi` ``.
fn described(id: Option<i64>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => format!("`{name}`"),
        (None, None) => String::new(),
    }
}

/// A `Result` with a [`MetadataError`].
pub type Result<T, E = MetadataError> = std::result::Result<T, E>;
