//! # millrace-metadata
//!
//! The metadata store of Millrace: ML-Metadata's data model — types with typed properties,
//! artifacts, executions, contexts, and the events, attributions, associations and parent
//! links between them — with lineage queries, a cache lookup and garbage collection.
//!
//! One [`connect`] opens any backend by URL:
//!
//! | URL | backend |
//! |---|---|
//! | `sqlite://PATH` | a SQLite file in ML-Metadata's schema version 10: Google's `ml-metadata` package (and the tools built on it) reads it, and Millrace reads theirs. WAL, a busy timeout, one transaction per logical write. `?journal=delete&synchronous=full` selects ML-Metadata's own durability settings. |
//! | `memory://` | a private in-memory SQLite database, for tests |
//! | `postgres://USER@HOST:PORT/DATABASE` | PostgreSQL, for runs whose nodes execute on several machines |
//!
//! ```
//! use millrace_metadata::{connect, Artifact, ArtifactState, NodeQuery, NodeType, PropertyType};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = connect("memory://").await?;
//! let examples = store
//!     .put_type(&NodeType::artifact("Examples").property("span", PropertyType::Int))
//!     .await?;
//! let id = store
//!     .put_artifacts(&[Artifact {
//!         type_id: examples,
//!         uri: Some("/data/examples/1".into()),
//!         state: ArtifactState::Live,
//!         properties: [("span".to_owned(), 1.into())].into(),
//!         ..Artifact::default()
//!     }])
//!     .await?[0];
//! let found = store.get_artifacts(&NodeQuery::all().of_type("Examples")).await?;
//! assert_eq!(found[0].id, Some(id));
//! # Ok::<(), millrace_metadata::MetadataError>(())
//! # }).unwrap();
//! ```

mod error;
pub mod model;
mod postgres;
mod proto;
pub mod query;
pub mod registry;
mod sql;
mod sqlite;
pub mod store;
pub mod tracking;
pub mod triggers;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{MetadataError, Result};
pub use model::{
    Artifact, ArtifactState, Association, Attribution, BaseType, Context, Event, EventType,
    Execution, ExecutionState, NodeType, ParentContext, PathStep, Properties, PropertyType,
    TypeKind, Value,
};
pub use query::{
    Comparison, Direction, LineageQuery, NodeQuery, OrderBy, OutputQuery, PropertyFilter,
};
pub use sqlite::SqliteSettings;
pub use store::{
    ArtifactAndEvent, CachedExecution, EXECUTION_ID_PLACEHOLDER, EventQuery, GarbageReport,
    LineageGraph, MetadataStore, PruneReport, PutExecution, PutExecutionResult, remove_local_files,
};

/// The embedded default store of a pipeline binary.
pub const DEFAULT_STORE_URL: &str = "sqlite://.millrace/metadata.sqlite";

/// Opens the store at `url` (see the table above), creating its tables if it is new.
pub async fn connect(url: &str) -> Result<Arc<dyn MetadataStore>> {
    let url = url.trim().to_owned();
    tokio::task::spawn_blocking(move || open(&url))
        .await
        .map_err(|error| MetadataError::Database(format!("opening the store failed: {error}")))?
}

fn open(url: &str) -> Result<Arc<dyn MetadataStore>> {
    let invalid = |reason: &str| MetadataError::InvalidUrl {
        url: millrace_core::spec::validate::redact_secrets(url).into_owned(),
        reason: reason.to_owned(),
    };
    if url == "memory://" || url == "memory:" {
        return Ok(Arc::new(sql::SqlStore::new(
            sqlite::SqliteBackend::in_memory()?,
        )));
    }
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(invalid("no file path after sqlite://"));
        }
        let mut settings = SqliteSettings::default();
        for option in options.split('&').filter(|option| !option.is_empty()) {
            match option.split_once('=') {
                Some(("journal", "wal")) => settings.write_ahead_log = true,
                Some(("journal", "delete")) => settings.write_ahead_log = false,
                Some(("synchronous", "normal")) => settings.sync_every_commit = false,
                Some(("synchronous", "full")) => settings.sync_every_commit = true,
                _ => {
                    return Err(invalid(&format!(
                        "unknown option `{option}` (journal=wal|delete, synchronous=normal|full)"
                    )));
                }
            }
        }
        let backend = sqlite::SqliteBackend::open(&PathBuf::from(path), settings)?;
        return Ok(Arc::new(sql::SqlStore::new(backend)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(sql::SqlStore::new(
            postgres::PostgresBackend::connect(url)?,
        )));
    }
    Err(invalid("unknown scheme"))
}
