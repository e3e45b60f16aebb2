//! The tables: ML-Metadata's schema version 10, verbatim for SQLite, and its PostgreSQL twin.

use crate::error::{MetadataError, Result};
use crate::model::BaseType;
use crate::sql::{Backend, Dialect, SqlTx, SqlValue};

/// The ML-Metadata schema version this build reads and writes.
pub(crate) const SCHEMA_VERSION: i64 = 10;

/// ML-Metadata 1.17's SQLite DDL for schema version 10, statement for statement
/// (`ml_metadata/util/metadata_source_query_config.cc`).
const SQLITE_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS `Type` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `name` VARCHAR(255) NOT NULL, `version` VARCHAR(255), `type_kind` TINYINT(1) NOT NULL, `description` TEXT, `input_type` TEXT, `output_type` TEXT, `external_id` VARCHAR(255) UNIQUE );",
    "CREATE TABLE IF NOT EXISTS `ParentType` ( `type_id` INT NOT NULL, `parent_type_id` INT NOT NULL, PRIMARY KEY (`type_id`, `parent_type_id`));",
    "CREATE TABLE IF NOT EXISTS `TypeProperty` ( `type_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `data_type` INT NULL, PRIMARY KEY (`type_id`, `name`));",
    "CREATE TABLE IF NOT EXISTS `Artifact` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL, `uri` TEXT, `state` INT, `name` VARCHAR(255), `external_id` VARCHAR(255) UNIQUE, `create_time_since_epoch` INT NOT NULL DEFAULT 0, `last_update_time_since_epoch` INT NOT NULL DEFAULT 0, UNIQUE(`type_id`, `name`) );",
    "CREATE TABLE IF NOT EXISTS `ArtifactProperty` ( `artifact_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `is_custom_property` TINYINT(1) NOT NULL, `int_value` INT, `double_value` DOUBLE, `string_value` TEXT, `byte_value` BLOB, `proto_value` BLOB, `bool_value` BOOLEAN, PRIMARY KEY (`artifact_id`, `name`, `is_custom_property`));",
    "CREATE TABLE IF NOT EXISTS `Execution` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL, `last_known_state` INT, `name` VARCHAR(255), `external_id` VARCHAR(255) UNIQUE, `create_time_since_epoch` INT NOT NULL DEFAULT 0, `last_update_time_since_epoch` INT NOT NULL DEFAULT 0, UNIQUE(`type_id`, `name`) );",
    "CREATE TABLE IF NOT EXISTS `ExecutionProperty` ( `execution_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `is_custom_property` TINYINT(1) NOT NULL, `int_value` INT, `double_value` DOUBLE, `string_value` TEXT, `byte_value` BLOB, `proto_value` BLOB, `bool_value` BOOLEAN, PRIMARY KEY (`execution_id`, `name`, `is_custom_property`));",
    "CREATE TABLE IF NOT EXISTS `Context` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `external_id` VARCHAR(255) UNIQUE, `create_time_since_epoch` INT NOT NULL DEFAULT 0, `last_update_time_since_epoch` INT NOT NULL DEFAULT 0, UNIQUE(`type_id`, `name`) );",
    "CREATE TABLE IF NOT EXISTS `ContextProperty` ( `context_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `is_custom_property` TINYINT(1) NOT NULL, `int_value` INT, `double_value` DOUBLE, `string_value` TEXT, `byte_value` BLOB, `proto_value` BLOB, `bool_value` BOOLEAN, PRIMARY KEY (`context_id`, `name`, `is_custom_property`));",
    "CREATE TABLE IF NOT EXISTS `ParentContext` ( `context_id` INT NOT NULL, `parent_context_id` INT NOT NULL, PRIMARY KEY (`context_id`, `parent_context_id`));",
    "CREATE TABLE IF NOT EXISTS `Event` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `artifact_id` INT NOT NULL, `execution_id` INT NOT NULL, `type` INT NOT NULL, `milliseconds_since_epoch` INT, UNIQUE(`artifact_id`, `execution_id`, `type`) );",
    "CREATE TABLE IF NOT EXISTS `EventPath` ( `event_id` INT NOT NULL, `is_index_step` TINYINT(1) NOT NULL, `step_index` INT, `step_key` TEXT );",
    "CREATE TABLE IF NOT EXISTS `Association` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `context_id` INT NOT NULL, `execution_id` INT NOT NULL, UNIQUE(`context_id`, `execution_id`) );",
    "CREATE TABLE IF NOT EXISTS `Attribution` ( `id` INTEGER PRIMARY KEY AUTOINCREMENT, `context_id` INT NOT NULL, `artifact_id` INT NOT NULL, UNIQUE(`context_id`, `artifact_id`) );",
    "CREATE TABLE IF NOT EXISTS `MLMDEnv` ( `schema_version` INTEGER PRIMARY KEY );",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_uri` ON `Artifact`(`uri`);",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_create_time_since_epoch` ON `Artifact`(`create_time_since_epoch`);",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_last_update_time_since_epoch` ON `Artifact`(`last_update_time_since_epoch`);",
    "CREATE INDEX IF NOT EXISTS `idx_event_execution_id` ON `Event`(`execution_id`);",
    "CREATE INDEX IF NOT EXISTS `idx_parentcontext_parent_context_id` ON `ParentContext`(`parent_context_id`);",
    "CREATE INDEX IF NOT EXISTS `idx_type_name` ON `Type`(`name`);",
    "CREATE INDEX IF NOT EXISTS `idx_execution_create_time_since_epoch` ON `Execution`(`create_time_since_epoch`);",
    "CREATE INDEX IF NOT EXISTS `idx_execution_last_update_time_since_epoch` ON `Execution`(`last_update_time_since_epoch`);",
    "CREATE INDEX IF NOT EXISTS `idx_context_create_time_since_epoch` ON `Context`(`create_time_since_epoch`);",
    "CREATE INDEX IF NOT EXISTS `idx_context_last_update_time_since_epoch` ON `Context`(`last_update_time_since_epoch`);",
    "CREATE INDEX IF NOT EXISTS `idx_eventpath_event_id` ON `EventPath`(`event_id`);",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_property_int` ON `ArtifactProperty`(`name`, `is_custom_property`, `int_value`) WHERE `int_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_property_double` ON `ArtifactProperty`(`name`, `is_custom_property`, `double_value`) WHERE `double_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_property_string` ON `ArtifactProperty`(`name`, `is_custom_property`, `string_value`) WHERE `string_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_execution_property_int` ON `ExecutionProperty`(`name`, `is_custom_property`, `int_value`) WHERE `int_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_execution_property_double` ON `ExecutionProperty`(`name`, `is_custom_property`, `double_value`) WHERE `double_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_execution_property_string` ON `ExecutionProperty`(`name`, `is_custom_property`, `string_value`) WHERE `string_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_context_property_int` ON `ContextProperty`(`name`, `is_custom_property`, `int_value`) WHERE `int_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_context_property_double` ON `ContextProperty`(`name`, `is_custom_property`, `double_value`) WHERE `double_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_context_property_string` ON `ContextProperty`(`name`, `is_custom_property`, `string_value`) WHERE `string_value` IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS `idx_type_external_id` ON `Type`(`external_id`);",
    "CREATE INDEX IF NOT EXISTS `idx_artifact_external_id` ON `Artifact`(`external_id`);",
    "CREATE INDEX IF NOT EXISTS `idx_execution_external_id` ON `Execution`(`external_id`);",
    "CREATE INDEX IF NOT EXISTS `idx_context_external_id` ON `Context`(`external_id`);",
];

/// The same tables for PostgreSQL: 64-bit integers throughout (ML-Metadata's ids and
/// `int_value` are int64), a real BOOLEAN for `bool_value`, and an ordering column on
/// `EventPath` (PostgreSQL has no rowid to keep the steps in insertion order).
const POSTGRES_SCHEMA: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS "Type" ("id" BIGSERIAL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "version" VARCHAR(255), "type_kind" BIGINT NOT NULL, "description" TEXT, "input_type" TEXT, "output_type" TEXT, "external_id" VARCHAR(255) UNIQUE)"#,
    r#"CREATE TABLE IF NOT EXISTS "ParentType" ("type_id" BIGINT NOT NULL, "parent_type_id" BIGINT NOT NULL, PRIMARY KEY ("type_id", "parent_type_id"))"#,
    r#"CREATE TABLE IF NOT EXISTS "TypeProperty" ("type_id" BIGINT NOT NULL, "name" VARCHAR(255) NOT NULL, "data_type" BIGINT NULL, PRIMARY KEY ("type_id", "name"))"#,
    r#"CREATE TABLE IF NOT EXISTS "Artifact" ("id" BIGSERIAL PRIMARY KEY, "type_id" BIGINT NOT NULL, "uri" TEXT, "state" BIGINT, "name" VARCHAR(255), "external_id" VARCHAR(255) UNIQUE, "create_time_since_epoch" BIGINT NOT NULL DEFAULT 0, "last_update_time_since_epoch" BIGINT NOT NULL DEFAULT 0, UNIQUE ("type_id", "name"))"#,
    r#"CREATE TABLE IF NOT EXISTS "ArtifactProperty" ("artifact_id" BIGINT NOT NULL, "name" VARCHAR(255) NOT NULL, "is_custom_property" BIGINT NOT NULL, "int_value" BIGINT, "double_value" DOUBLE PRECISION, "string_value" TEXT, "byte_value" BYTEA, "proto_value" TEXT, "bool_value" BOOLEAN, PRIMARY KEY ("artifact_id", "name", "is_custom_property"))"#,
    r#"CREATE TABLE IF NOT EXISTS "Execution" ("id" BIGSERIAL PRIMARY KEY, "type_id" BIGINT NOT NULL, "last_known_state" BIGINT, "name" VARCHAR(255), "external_id" VARCHAR(255) UNIQUE, "create_time_since_epoch" BIGINT NOT NULL DEFAULT 0, "last_update_time_since_epoch" BIGINT NOT NULL DEFAULT 0, UNIQUE ("type_id", "name"))"#,
    r#"CREATE TABLE IF NOT EXISTS "ExecutionProperty" ("execution_id" BIGINT NOT NULL, "name" VARCHAR(255) NOT NULL, "is_custom_property" BIGINT NOT NULL, "int_value" BIGINT, "double_value" DOUBLE PRECISION, "string_value" TEXT, "byte_value" BYTEA, "proto_value" TEXT, "bool_value" BOOLEAN, PRIMARY KEY ("execution_id", "name", "is_custom_property"))"#,
    r#"CREATE TABLE IF NOT EXISTS "Context" ("id" BIGSERIAL PRIMARY KEY, "type_id" BIGINT NOT NULL, "name" VARCHAR(255) NOT NULL, "external_id" VARCHAR(255) UNIQUE, "create_time_since_epoch" BIGINT NOT NULL DEFAULT 0, "last_update_time_since_epoch" BIGINT NOT NULL DEFAULT 0, UNIQUE ("type_id", "name"))"#,
    r#"CREATE TABLE IF NOT EXISTS "ContextProperty" ("context_id" BIGINT NOT NULL, "name" VARCHAR(255) NOT NULL, "is_custom_property" BIGINT NOT NULL, "int_value" BIGINT, "double_value" DOUBLE PRECISION, "string_value" TEXT, "byte_value" BYTEA, "proto_value" TEXT, "bool_value" BOOLEAN, PRIMARY KEY ("context_id", "name", "is_custom_property"))"#,
    r#"CREATE TABLE IF NOT EXISTS "ParentContext" ("context_id" BIGINT NOT NULL, "parent_context_id" BIGINT NOT NULL, PRIMARY KEY ("context_id", "parent_context_id"))"#,
    r#"CREATE TABLE IF NOT EXISTS "Event" ("id" BIGSERIAL PRIMARY KEY, "artifact_id" BIGINT NOT NULL, "execution_id" BIGINT NOT NULL, "type" BIGINT NOT NULL, "milliseconds_since_epoch" BIGINT, UNIQUE ("artifact_id", "execution_id", "type"))"#,
    r#"CREATE TABLE IF NOT EXISTS "EventPath" ("event_id" BIGINT NOT NULL, "is_index_step" BIGINT NOT NULL, "step_index" BIGINT, "step_key" TEXT, "position" BIGSERIAL)"#,
    r#"CREATE TABLE IF NOT EXISTS "Association" ("id" BIGSERIAL PRIMARY KEY, "context_id" BIGINT NOT NULL, "execution_id" BIGINT NOT NULL, UNIQUE ("context_id", "execution_id"))"#,
    r#"CREATE TABLE IF NOT EXISTS "Attribution" ("id" BIGSERIAL PRIMARY KEY, "context_id" BIGINT NOT NULL, "artifact_id" BIGINT NOT NULL, UNIQUE ("context_id", "artifact_id"))"#,
    r#"CREATE TABLE IF NOT EXISTS "MLMDEnv" ("schema_version" BIGINT PRIMARY KEY)"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_artifact_uri" ON "Artifact" ("uri")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_artifact_create_time_since_epoch" ON "Artifact" ("create_time_since_epoch")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_event_execution_id" ON "Event" ("execution_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_event_artifact_id" ON "Event" ("artifact_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_parentcontext_parent_context_id" ON "ParentContext" ("parent_context_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_type_name" ON "Type" ("name")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_execution_create_time_since_epoch" ON "Execution" ("create_time_since_epoch")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_context_create_time_since_epoch" ON "Context" ("create_time_since_epoch")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_eventpath_event_id" ON "EventPath" ("event_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_attribution_artifact_id" ON "Attribution" ("artifact_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_association_execution_id" ON "Association" ("execution_id")"#,
];

/// Indexes Millrace adds, for queries whose cost must not grow with a store's history (see
/// `docs/benchmarks.md`, "Stores at 100,000 runs"). ML-Metadata neither needs nor minds them;
/// they are made when a store is opened, so stores written by ML-Metadata or by older versions
/// get them too. Each names the query it serves:
///
/// - a pipeline's runs, newest or oldest first: the children of its context in id order;
/// - the contexts of artifacts and executions (lineage, whether a kept run still uses an
///   artifact when pruning): the link tables by their other column, as ML-Metadata's
///   PostgreSQL schema has them and its SQLite schema does not;
/// - garbage collection: artifacts by state (the few marked for deletion or abandoned among
///   every artifact ever made);
/// - runs that ended in a state (`runs list`, the web UI's filter): contexts by a string
///   property's value, in id order. Only the value's first 64 characters are indexed (the
///   statements in `ops.rs` compare the same prefix), so that a long value — a run's
///   parameters, a thousand nodes' fingerprints — never exceeds PostgreSQL's limit on an
///   index entry.
const MILLRACE_INDEXES: &[&str] = &[
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_parentcontext_parent_child" ON "ParentContext" ("parent_context_id", "context_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_attribution_artifact" ON "Attribution" ("artifact_id", "context_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_association_execution" ON "Association" ("execution_id", "context_id")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_artifact_state" ON "Artifact" ("state")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_context_property_text" ON "ContextProperty" ("name", "is_custom_property", substr("string_value", 1, 64), "context_id")"#,
];

/// Indexes on Millrace's own tables (`tracking/schema.rs`) for the same reason, made once those
/// tables exist: a registered model's newest version in each stage (every `get_version_by_alias`
/// reads them, so a resolver of a champion would otherwise walk every version).
const MILLRACE_TABLE_INDEXES: &[&str] = &[
    r#"CREATE INDEX IF NOT EXISTS "idx_millrace_model_version_stage" ON "millrace_model_version" ("name", "current_stage", "version")"#,
];

/// Creates the tables of a new store, or checks that an existing one is a store of this
/// version; in one write transaction, so that processes opening a new store at once create it
/// once.
pub(crate) fn ensure(backend: &dyn Backend) -> Result<()> {
    let location = backend.location();
    backend.transaction(true, &mut |tx| {
        if let Existing::Empty = inspect(tx, &location)? {
            create(tx)?;
        }
        for statement in MILLRACE_INDEXES {
            tx.execute(statement, &[])?;
        }
        crate::tracking::schema::ensure(tx)?;
        for statement in MILLRACE_TABLE_INDEXES {
            tx.execute(statement, &[])?;
        }
        Ok(())
    })
}

/// The state of a database before it is opened as a store.
pub(crate) enum Existing {
    /// No tables at all: create the schema.
    Empty,
    /// An ML-Metadata store of this schema version.
    Current,
}

/// Checks what the database holds: refuses one that is not a store or of another version.
pub(crate) fn inspect(tx: &mut dyn SqlTx, location: &str) -> Result<Existing> {
    let table_count_sql = match tx.dialect() {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let tables = tx
        .query(table_count_sql, &[])?
        .first()
        .and_then(|row| row.first().and_then(SqlValue::int))
        .unwrap_or(0);
    if tables == 0 {
        return Ok(Existing::Empty);
    }
    let has_env_sql = match tx.dialect() {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'MLMDEnv'"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'MLMDEnv'"
        }
    };
    let has_env = tx
        .query(has_env_sql, &[])?
        .first()
        .and_then(|row| row.first().and_then(SqlValue::int))
        .unwrap_or(0);
    if has_env == 0 {
        return Err(MetadataError::NotAStore {
            location: location.to_owned(),
        });
    }
    let found = tx
        .query(r#"SELECT MAX("schema_version") FROM "MLMDEnv""#, &[])?
        .first()
        .and_then(|row| row.first().and_then(SqlValue::int))
        .unwrap_or(0);
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(Existing::Current),
        std::cmp::Ordering::Greater => Err(MetadataError::NewerSchema {
            location: location.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        }),
        std::cmp::Ordering::Less => Err(MetadataError::OlderSchema {
            location: location.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        }),
    }
}

/// Creates the tables, records the schema version and registers ML-Metadata's simple types
/// (ids 1 to 9), as ML-Metadata does when it initialises a store.
pub(crate) fn create(tx: &mut dyn SqlTx) -> Result<()> {
    let statements = match tx.dialect() {
        Dialect::Sqlite => SQLITE_SCHEMA,
        Dialect::Postgres => POSTGRES_SCHEMA,
    };
    for statement in statements {
        tx.execute(statement, &[])?;
    }
    tx.execute(
        r#"INSERT INTO "MLMDEnv" ("schema_version") VALUES ($1)"#,
        &[SqlValue::Int(SCHEMA_VERSION)],
    )?;
    for base in BaseType::ALL {
        tx.execute(
            r#"INSERT INTO "Type" ("name", "type_kind") VALUES ($1, $2)"#,
            &[base.type_name().into(), SqlValue::Int(base.kind().code())],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MILLRACE_INDEXES, MILLRACE_TABLE_INDEXES};

    /// The name of the index a `CREATE INDEX` statement makes.
    fn index_name(statement: &str) -> &str {
        statement.split('"').nth(1).unwrap_or_default()
    }

    fn millrace_indexes(path: &std::path::Path) -> Vec<String> {
        let connection = rusqlite::Connection::open(path).unwrap();
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_millrace_%' ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[tokio::test]
    async fn a_store_made_before_an_index_gets_it_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.sqlite");
        let url = format!("sqlite://{}", path.display());
        drop(crate::connect(&url).await.unwrap());
        let wanted: Vec<&str> = MILLRACE_INDEXES
            .iter()
            .chain(MILLRACE_TABLE_INDEXES)
            .map(|statement| index_name(statement))
            .collect();
        let made = millrace_indexes(&path);
        for name in &wanted {
            assert!(made.iter().any(|made| made == name), "{name} in {made:?}");
        }
        // As a store written by ML-Metadata, or by a Millrace before these indexes, is.
        let connection = rusqlite::Connection::open(&path).unwrap();
        for name in &wanted {
            connection
                .execute_batch(&format!(r#"DROP INDEX "{name}""#))
                .unwrap();
        }
        drop(connection);
        drop(crate::connect(&url).await.unwrap());
        let remade = millrace_indexes(&path);
        for name in &wanted {
            assert!(
                remade.iter().any(|made| made == name),
                "{name} in {remade:?}"
            );
        }
    }
}
