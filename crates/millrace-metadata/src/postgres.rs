//! The PostgreSQL backend, for runs whose nodes execute on several machines. Write
//! transactions take one advisory lock, so concurrent writers queue as they do on SQLite and
//! type and context upserts never race.
//!
//! Each statement is prepared once per connection and kept: running a statement from its text
//! costs two round trips to the server (prepare, then bind and execute), running a prepared one
//! costs one — and a store write is a few dozen statements, so round trips, not the server's
//! work, bound how fast a remote store writes.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::error::{MetadataError, Result};
use crate::sql::schema;
use crate::sql::{Backend, Dialect, Row, SqlTx, SqlValue, TypeCache};

/// The advisory lock every write transaction holds ("mlmd" in ASCII).
const WRITE_LOCK: i64 = 0x6d6c_6d64;

/// How many prepared statements a connection keeps. The store's statements are a few hundred
/// texts at most, but lists of ids make texts of their own (`IN ($1, …, $n)`); past this many
/// the cache starts afresh rather than grow without bound.
const MAX_PREPARED: usize = 1024;

/// A PostgreSQL database.
pub(crate) struct PostgresBackend {
    /// Always `Some` until dropped.
    client: Mutex<Option<Client>>,
    types: Mutex<TypeCache>,
    /// The connection's prepared statements by their text.
    prepared: Mutex<HashMap<String, Statement>>,
    location: String,
}

impl Drop for PostgresBackend {
    /// The synchronous client owns a runtime, which must not be dropped on an async thread:
    /// close it on a thread of its own.
    fn drop(&mut self) {
        let client = self
            .client
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(client) = client {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

/// Host, port and database of a URL, without user or password.
fn describe(url: &str) -> String {
    match postgres::Config::from_str(url) {
        Ok(config) => {
            let host = config
                .get_hosts()
                .first()
                .map(|host| match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .unwrap_or_else(|| "localhost".to_owned());
            let port = config.get_ports().first().copied().unwrap_or(5432);
            let database = config.get_dbname().unwrap_or("postgres");
            format!("postgres://{host}:{port}/{database}")
        }
        Err(_) => "postgres://(unparseable URL)".to_owned(),
    }
}

fn postgres_error(error: &postgres::Error, location: &str) -> MetadataError {
    if let Some(database_error) = error.as_db_error() {
        if *database_error.code() == postgres::error::SqlState::UNIQUE_VIOLATION {
            return MetadataError::AlreadyExists(database_error.message().to_owned());
        }
        return MetadataError::Database(format!("{location}: {}", database_error.message()));
    }
    if error.is_closed() {
        return MetadataError::Unreachable {
            location: location.to_owned(),
            message: error.to_string(),
        };
    }
    MetadataError::Database(format!("{location}: {error}"))
}

impl PostgresBackend {
    /// Connects and creates the tables if the database has none.
    pub(crate) fn connect(url: &str) -> Result<Self> {
        let location = describe(url);
        let config =
            postgres::Config::from_str(url).map_err(|error| MetadataError::InvalidUrl {
                url: location.clone(),
                reason: error.to_string(),
            })?;
        let mut config = config;
        config.connect_timeout(std::time::Duration::from_secs(10));
        let client = config
            .connect(NoTls)
            .map_err(|error| MetadataError::Unreachable {
                location: location.clone(),
                message: error
                    .source()
                    .map_or_else(|| error.to_string(), ToString::to_string),
            })?;
        let backend = PostgresBackend {
            client: Mutex::new(Some(client)),
            types: Mutex::new(TypeCache::new()),
            prepared: Mutex::new(HashMap::new()),
            location,
        };
        schema::ensure(&backend)?;
        Ok(backend)
    }
}

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(value) => match *ty {
                Type::INT4 => i32::try_from(*value)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*value)?.to_sql(ty, out),
                Type::FLOAT8 => (*value as f64).to_sql(ty, out),
                Type::BOOL => (*value != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => value.to_string().to_sql(ty, out),
                _ => value.to_sql(ty, out),
            },
            SqlValue::Double(value) => value.to_sql(ty, out),
            SqlValue::Text(text) => text.as_str().to_sql(ty, out),
            SqlValue::Bool(flag) => match *ty {
                Type::INT8 => i64::from(*flag).to_sql(ty, out),
                _ => flag.to_sql(ty, out),
            },
            SqlValue::Blob(bytes) => bytes.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

struct PostgresTx<'a, 'b> {
    transaction: &'a mut postgres::Transaction<'b>,
    types: &'a mut TypeCache,
    prepared: &'a mut HashMap<String, Statement>,
    location: &'a str,
}

impl PostgresTx<'_, '_> {
    /// `sql` prepared on this connection, once.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .transaction
            .prepare(sql)
            .map_err(|error| postgres_error(&error, self.location))?;
        if self.prepared.len() >= MAX_PREPARED {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn bind(params: &[SqlValue]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param as &(dyn ToSql + Sync))
        .collect()
}

fn read_column(
    row: &postgres::Row,
    index: usize,
) -> std::result::Result<SqlValue, postgres::Error> {
    let ty = row.columns()[index].type_().clone();
    Ok(match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)?
            .map_or(SqlValue::Null, SqlValue::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)?
            .map_or(SqlValue::Null, |value| SqlValue::Int(i64::from(value))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)?
            .map_or(SqlValue::Null, |value| SqlValue::Int(i64::from(value))),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(index)?
            .map_or(SqlValue::Null, SqlValue::Double),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)?
            .map_or(SqlValue::Null, |value| SqlValue::Double(f64::from(value))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)?
            .map_or(SqlValue::Null, SqlValue::Bool),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(index)?
            .map_or(SqlValue::Null, SqlValue::Blob),
        _ => row
            .try_get::<_, Option<String>>(index)?
            .map_or(SqlValue::Null, SqlValue::Text),
    })
}

impl SqlTx for PostgresTx<'_, '_> {
    fn type_cache(&mut self) -> &mut TypeCache {
        self.types
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64> {
        let statement = self.statement(sql)?;
        self.transaction
            .execute(&statement, &bind(params))
            .map_err(|error| postgres_error(&error, self.location))
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let rows = self
            .transaction
            .query(&statement, &bind(params))
            .map_err(|error| postgres_error(&error, self.location))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|index| read_column(row, index))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|error| postgres_error(&error, self.location))
            })
            .collect()
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

impl Backend for PostgresBackend {
    fn transaction(
        &self,
        write: bool,
        work: &mut dyn FnMut(&mut dyn SqlTx) -> Result<()>,
    ) -> Result<()> {
        let mut guard = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        let client = guard.as_mut().ok_or_else(|| MetadataError::Unreachable {
            location: self.location.clone(),
            message: "the connection is closed".to_owned(),
        })?;
        let mut transaction = client
            .transaction()
            .map_err(|error| postgres_error(&error, &self.location))?;
        let mut types = self.types.lock().unwrap_or_else(PoisonError::into_inner);
        let mut prepared = self.prepared.lock().unwrap_or_else(PoisonError::into_inner);
        let mut tx = PostgresTx {
            transaction: &mut transaction,
            types: &mut types,
            prepared: &mut prepared,
            location: &self.location,
        };
        if write {
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[SqlValue::Int(WRITE_LOCK)],
            )?;
        }
        if let Err(error) = work(&mut tx) {
            // Rolled back when the transaction drops: types it touched may not exist.
            types.clear();
            return Err(error);
        }
        transaction
            .commit()
            .map_err(|error| postgres_error(&error, &self.location))
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
