//! The SQLite backend: ML-Metadata's own format, WAL, a busy timeout, one transaction per
//! logical write (`BEGIN IMMEDIATE`, so concurrent writers queue instead of failing).

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql};

use crate::error::{MetadataError, Result};
use crate::sql::schema;
use crate::sql::{Backend, Dialect, Row, SqlTx, SqlValue, TypeCache};

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// The durability settings of a SQLite store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteSettings {
    /// Write-ahead logging (the default) or ML-Metadata's rollback journal.
    pub write_ahead_log: bool,
    /// Sync at every commit (`synchronous=FULL`) rather than at checkpoints. With the WAL,
    /// `NORMAL` (the default) loses no committed transaction when a process is killed; `FULL`
    /// also survives a power cut.
    pub sync_every_commit: bool,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        SqliteSettings {
            write_ahead_log: true,
            sync_every_commit: false,
        }
    }
}

impl SqliteSettings {
    /// ML-Metadata's own settings: rollback journal, fsync at every commit.
    pub fn ml_metadata() -> Self {
        SqliteSettings {
            write_ahead_log: false,
            sync_every_commit: true,
        }
    }
}

/// A SQLite database file (or an in-memory database).
pub(crate) struct SqliteBackend {
    connection: Mutex<(Connection, TypeCache)>,
    location: String,
}

fn sqlite_error(error: &rusqlite::Error, location: &str) -> MetadataError {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => match failure.code {
            ErrorCode::ConstraintViolation => {
                MetadataError::AlreadyExists(message.clone().unwrap_or_else(|| error.to_string()))
            }
            ErrorCode::NotADatabase => MetadataError::Corrupt {
                path: location.to_owned(),
                message: error.to_string(),
            },
            ErrorCode::DatabaseCorrupt => MetadataError::Corrupt {
                path: location.to_owned(),
                message: error.to_string(),
            },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                MetadataError::Busy(format!("{location}: {error}"))
            }
            _ => MetadataError::Database(format!("{location}: {error}")),
        },
        _ => MetadataError::Database(format!("{location}: {error}")),
    }
}

/// Runs `attempt` again while SQLite answers "busy" — which the busy timeout does not cover in
/// every case (a journal-mode change, a WAL recovery, a new file being set up by another
/// process) — with a growing pause, for about a minute at most.
fn retry_busy<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let mut pause = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        match attempt() {
            Err(MetadataError::Busy(message)) if waited < Duration::from_secs(60) => {
                tracing::debug!(%message, "database busy; retrying");
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

impl SqliteBackend {
    /// Opens (creating if needed) the store in the file at `path`.
    pub(crate) fn open(path: &Path, settings: SqliteSettings) -> Result<Self> {
        let location = path.display().to_string();
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                MetadataError::Database(format!(
                    "cannot create the directory of {location}: {error}"
                ))
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags)
            .map_err(|error| sqlite_error(&error, &location))?;
        SqliteBackend::configure(&connection, settings, &location)?;
        SqliteBackend::initialise(connection, location)
    }

    /// A private in-memory store (`memory://`).
    pub(crate) fn in_memory() -> Result<Self> {
        let location = "memory://".to_owned();
        let connection =
            Connection::open_in_memory().map_err(|error| sqlite_error(&error, &location))?;
        SqliteBackend::initialise(connection, location)
    }

    fn configure(connection: &Connection, settings: SqliteSettings, location: &str) -> Result<()> {
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|error| sqlite_error(&error, location))?;
        let journal = if settings.write_ahead_log {
            "WAL"
        } else {
            "DELETE"
        };
        // The first statement reads the file: a file that is not a database fails here.
        retry_busy(|| {
            connection
                .query_row(&format!("PRAGMA journal_mode = {journal}"), [], |_| Ok(()))
                .map_err(|error| sqlite_error(&error, location))
        })?;
        let synchronous = if settings.sync_every_commit {
            "FULL"
        } else {
            "NORMAL"
        };
        connection
            .execute_batch(&format!("PRAGMA synchronous = {synchronous};"))
            .map_err(|error| sqlite_error(&error, location))
    }

    fn initialise(connection: Connection, location: String) -> Result<Self> {
        // Enough for every distinct statement the store uses, so none is parsed twice.
        connection.set_prepared_statement_cache_capacity(512);
        let backend = SqliteBackend {
            connection: Mutex::new((connection, TypeCache::new())),
            location,
        };
        schema::ensure(&backend)?;
        Ok(backend)
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            SqlValue::Double(value) => ToSqlOutput::Borrowed(ValueRef::Real(*value)),
            SqlValue::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            SqlValue::Bool(flag) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*flag))),
            SqlValue::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        })
    }
}

/// The shared SQL writes parameters as `$N`; SQLite numbers `$NAME` parameters by first
/// appearance, not by N, so they become `?N`, which SQLite binds to index N exactly. (Binding
/// by name instead costs a scan of the names per parameter: quadratic in long `IN` lists.)
fn numbered_parameters(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut converted = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            converted.push('?');
        } else {
            converted.push(c);
        }
    }
    std::borrow::Cow::Owned(converted)
}

struct SqliteTx<'a> {
    connection: &'a Connection,
    types: &'a mut TypeCache,
    location: &'a str,
}

impl SqlTx for SqliteTx<'_> {
    fn type_cache(&mut self) -> &mut TypeCache {
        self.types
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64> {
        let mut statement = self
            .connection
            .prepare_cached(&numbered_parameters(sql))
            .map_err(|error| sqlite_error(&error, self.location))?;
        let changed = statement
            .execute(rusqlite::params_from_iter(params))
            .map_err(|error| sqlite_error(&error, self.location))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        let mut statement = self
            .connection
            .prepare_cached(&numbered_parameters(sql))
            .map_err(|error| sqlite_error(&error, self.location))?;
        let columns = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(|error| sqlite_error(&error, self.location))?;
        let mut result = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(|error| sqlite_error(&error, self.location))?
        {
            let mut values = Vec::with_capacity(columns);
            for index in 0..columns {
                let value = row
                    .get_ref(index)
                    .map_err(|error| sqlite_error(&error, self.location))?;
                values.push(match value {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(number) => SqlValue::Int(number),
                    ValueRef::Real(number) => SqlValue::Double(number),
                    ValueRef::Text(text) => {
                        SqlValue::Text(String::from_utf8_lossy(text).into_owned())
                    }
                    ValueRef::Blob(bytes) => SqlValue::Blob(bytes.to_vec()),
                });
            }
            result.push(values);
        }
        Ok(result)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

impl Backend for SqliteBackend {
    fn transaction(
        &self,
        write: bool,
        work: &mut dyn FnMut(&mut dyn SqlTx) -> Result<()>,
    ) -> Result<()> {
        let mut guard = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (connection, types) = &mut *guard;
        let begin = if write {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN DEFERRED"
        };
        retry_busy(|| {
            connection
                .execute_batch(begin)
                .map_err(|error| sqlite_error(&error, &self.location))?;
            let mut tx = SqliteTx {
                connection,
                types,
                location: &self.location,
            };
            let outcome = work(&mut tx).and_then(|()| {
                connection
                    .execute_batch("COMMIT")
                    .map_err(|error| sqlite_error(&error, &self.location))
            });
            if outcome.is_err() {
                let _ = connection.execute_batch("ROLLBACK");
                // Types read or written in a rolled-back transaction may not exist.
                types.clear();
            }
            outcome
        })
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
