//! The registry's statements on one transaction.

use std::collections::BTreeMap;

use crate::error::{MetadataError, Result};
use crate::model::{
    Association, Attribution, Context, Event, EventType, Execution, ExecutionState, NodeType, Value,
};
use crate::registry::model::{
    Approval, Decision, ModelVersion, NewModelVersion, RegisteredModel, RegistryPage,
    RegistrySearch, Stage,
};
use crate::registry::{DECISION_EXECUTION, REGISTERED_MODEL_CONTEXT};
use crate::sql::ops::{
    now_ms, put_association, put_attribution, put_context, put_event, put_execution_node, put_type,
};
use crate::sql::{Row, SqlTx, SqlValue};
use crate::tracking::check_tag;
use crate::tracking::search::{
    ModelVersionEntity, ModelVersionFilter, OrderKey, RegisteredModelEntity, RegisteredModelFilter,
    SearchKey, SqlCondition, model_version_order_by_sql, registered_model_order_by_sql,
};

fn text(row: &Row, index: usize) -> String {
    row.get(index).and_then(SqlValue::text).unwrap_or_default()
}

fn int(row: &Row, index: usize) -> i64 {
    row.get(index).and_then(SqlValue::int).unwrap_or_default()
}

fn model_not_found(name: &str) -> MetadataError {
    MetadataError::NotFound {
        kind: "registered model",
        id: None,
        name: Some(name.to_owned()),
        location: String::new(),
    }
}

fn version_not_found(name: &str, version: i64) -> MetadataError {
    MetadataError::NotFound {
        kind: "model version",
        id: None,
        name: Some(format!("{name} version {version}")),
        location: String::new(),
    }
}

fn check_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(MetadataError::InvalidArgument(
            "a registered model needs a name".to_owned(),
        ));
    }
    if name.contains('/') || name.contains(':') || name.chars().count() > 256 {
        return Err(MetadataError::InvalidArgument(format!(
            "registered model name `{name}` may not contain `/` or `:` or be longer than 256 characters"
        )));
    }
    Ok(name)
}

// ---- Registered models ---------------------------------------------------------------------

fn model_row(tx: &mut dyn SqlTx, name: &str) -> Result<Option<Row>> {
    Ok(tx
        .query(
            r#"SELECT "name", "description", "creation_time", "last_updated_time", "context_id" FROM "millrace_registered_model" WHERE "name" = $1"#,
            &[name.into()],
        )?
        .into_iter()
        .next())
}

fn read_model(tx: &mut dyn SqlTx, row: &Row) -> Result<RegisteredModel> {
    let name = text(row, 0);
    let tags = tx
        .query(
            r#"SELECT "key", "value" FROM "millrace_registered_model_tag" WHERE "name" = $1"#,
            &[name.as_str().into()],
        )?
        .iter()
        .map(|tag| (text(tag, 0), text(tag, 1)))
        .collect();
    let aliases = tx
        .query(
            r#"SELECT "alias", "version" FROM "millrace_model_alias" WHERE "name" = $1"#,
            &[name.as_str().into()],
        )?
        .iter()
        .map(|alias| (text(alias, 0), int(alias, 1)))
        .collect();
    let mut latest_versions = Vec::new();
    for stage in Stage::ALL {
        let rows = tx.query(
            &format!(
                r#"SELECT {VERSION_COLUMNS} FROM "millrace_model_version" WHERE "name" = $1 AND "current_stage" = $2 ORDER BY "version" DESC LIMIT 1"#
            ),
            &[name.as_str().into(), stage.as_str().into()],
        )?;
        if let Some(row) = rows.first() {
            latest_versions.push(read_version(tx, row)?);
        }
    }
    Ok(RegisteredModel {
        description: text(row, 1),
        creation_time: int(row, 2),
        last_updated_time: int(row, 3),
        context_id: int(row, 4),
        name,
        tags,
        aliases,
        latest_versions,
    })
}

/// A registered model, or a not-found error naming it.
pub(crate) fn get_registered_model(tx: &mut dyn SqlTx, name: &str) -> Result<RegisteredModel> {
    let row = model_row(tx, name)?.ok_or_else(|| model_not_found(name))?;
    read_model(tx, &row)
}

/// Creates a registered model (and its context); a name in use is an error.
pub(crate) fn create_registered_model(
    tx: &mut dyn SqlTx,
    name: &str,
    description: &str,
    tags: &BTreeMap<String, String>,
) -> Result<RegisteredModel> {
    let name = check_name(name)?;
    for (key, value) in tags {
        check_tag(key, value)?;
    }
    if model_row(tx, name)?.is_some() {
        return Err(MetadataError::AlreadyExists(format!(
            "Registered Model (name={name}) already exists."
        )));
    }
    let now = now_ms();
    let type_id = put_type(tx, &NodeType::context(REGISTERED_MODEL_CONTEXT))?;
    let existing = tx.query(
        r#"SELECT "id" FROM "Context" WHERE "type_id" = $1 AND "name" = $2"#,
        &[SqlValue::Int(type_id), name.into()],
    )?;
    let context_id = match existing.first() {
        Some(row) => int(row, 0),
        None => put_context(
            tx,
            &Context {
                type_id,
                name: name.to_owned(),
                ..Context::default()
            },
            now,
        )?,
    };
    tx.execute(
        r#"INSERT INTO "millrace_registered_model" ("name", "context_id", "creation_time", "last_updated_time", "description") VALUES ($1, $2, $3, $3, $4)"#,
        &[
            name.into(),
            SqlValue::Int(context_id),
            SqlValue::Int(now),
            description.into(),
        ],
    )?;
    for (key, value) in tags {
        tx.execute(
            r#"INSERT INTO "millrace_registered_model_tag" ("name", "key", "value") VALUES ($1, $2, $3)"#,
            &[name.into(), key.as_str().into(), value.as_str().into()],
        )?;
    }
    get_registered_model(tx, name)
}

/// Changes a registered model's description.
pub(crate) fn update_registered_model(
    tx: &mut dyn SqlTx,
    name: &str,
    description: &str,
) -> Result<RegisteredModel> {
    get_registered_model(tx, name)?;
    tx.execute(
        r#"UPDATE "millrace_registered_model" SET "description" = $2, "last_updated_time" = $3 WHERE "name" = $1"#,
        &[name.into(), description.into(), SqlValue::Int(now_ms())],
    )?;
    get_registered_model(tx, name)
}

/// Renames a registered model, with its versions, tags and aliases.
pub(crate) fn rename_registered_model(
    tx: &mut dyn SqlTx,
    name: &str,
    new_name: &str,
) -> Result<RegisteredModel> {
    let new_name = check_name(new_name)?;
    get_registered_model(tx, name)?;
    if model_row(tx, new_name)?.is_some() {
        return Err(MetadataError::AlreadyExists(format!(
            "Registered Model (name={new_name}) already exists."
        )));
    }
    for table in [
        "millrace_registered_model",
        "millrace_registered_model_tag",
        "millrace_model_version",
        "millrace_model_version_tag",
        "millrace_model_alias",
    ] {
        tx.execute(
            &format!(r#"UPDATE "{table}" SET "name" = $2 WHERE "name" = $1"#),
            &[name.into(), new_name.into()],
        )?;
    }
    get_registered_model(tx, new_name)
}

/// Deletes a registered model with its versions, tags and aliases (the Model artifacts and
/// the decisions' executions stay: lineage keeps what happened).
pub(crate) fn delete_registered_model(tx: &mut dyn SqlTx, name: &str) -> Result<()> {
    get_registered_model(tx, name)?;
    for table in [
        "millrace_registered_model",
        "millrace_registered_model_tag",
        "millrace_model_version",
        "millrace_model_version_tag",
        "millrace_model_alias",
    ] {
        tx.execute(
            &format!(r#"DELETE FROM "{table}" WHERE "name" = $1"#),
            &[name.into()],
        )?;
    }
    Ok(())
}

/// Sets or removes (`value: None`) a registered model's tag.
pub(crate) fn set_registered_model_tag(
    tx: &mut dyn SqlTx,
    name: &str,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    get_registered_model(tx, name)?;
    tx.execute(
        r#"DELETE FROM "millrace_registered_model_tag" WHERE "name" = $1 AND "key" = $2"#,
        &[name.into(), key.into()],
    )?;
    if let Some(value) = value {
        check_tag(key, value)?;
        tx.execute(
            r#"INSERT INTO "millrace_registered_model_tag" ("name", "key", "value") VALUES ($1, $2, $3)"#,
            &[name.into(), key.into(), value.into()],
        )?;
    }
    Ok(())
}

/// A page of registered models matching a search.
pub(crate) fn search_registered_models(
    tx: &mut dyn SqlTx,
    search: &RegistrySearch,
) -> Result<RegistryPage<RegisteredModel>> {
    let filter = RegisteredModelFilter::parse(&search.filter)?;
    let condition = filter.to_sql(tx.dialect(), 1);
    let order_keys = order_keys::<RegisteredModelEntity>(search)?;
    let order =
        registered_model_order_by_sql(&order_keys, tx.dialect(), condition.params.len() + 1);
    let rows = page_rows(
        tx,
        r#"SELECT rm."name", rm."description", rm."creation_time", rm."last_updated_time", rm."context_id" FROM "millrace_registered_model" rm"#,
        (condition, order),
        search,
        100,
    )?;
    rows.map(|row| read_model(tx, row))
}

/// The search's order-by clauses, parsed.
fn order_keys<E: SearchKey>(search: &RegistrySearch) -> Result<Vec<OrderKey<E>>> {
    search
        .order_by
        .iter()
        .map(|clause| OrderKey::parse(clause))
        .collect()
}

/// Rows of one page of `select` under a condition and an order; the page says whether more
/// may follow (it asks for one row more than it returns).
fn page_rows(
    tx: &mut dyn SqlTx,
    select: &str,
    (condition, order): (SqlCondition, SqlCondition),
    search: &RegistrySearch,
    default_limit: u32,
) -> Result<RegistryPage<Row>> {
    let limit = if search.max_results == 0 {
        default_limit
    } else {
        search.max_results
    };
    let mut params = condition.params;
    params.extend(order.params);
    params.push(SqlValue::Int(i64::from(limit) + 1));
    params.push(SqlValue::Int(
        i64::try_from(search.offset).unwrap_or(i64::MAX),
    ));
    let mut rows = tx.query(
        &format!(
            "{select} WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}",
            condition.sql,
            order.sql,
            params.len() - 1,
            params.len()
        ),
        &params,
    )?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(RegistryPage {
        items: rows,
        next_offset: more.then(|| search.offset + u64::from(limit)),
    })
}

impl RegistryPage<Row> {
    /// The page with each row read into an item.
    fn map<T>(self, mut read: impl FnMut(&Row) -> Result<T>) -> Result<RegistryPage<T>> {
        Ok(RegistryPage {
            items: self
                .items
                .iter()
                .map(&mut read)
                .collect::<Result<Vec<_>>>()?,
            next_offset: self.next_offset,
        })
    }
}

// ---- Versions ------------------------------------------------------------------------------

const VERSION_COLUMNS: &str = r#""name", "version", "artifact_id", "source", "storage_location", "run_id", "run_link", "current_stage", "approval", "description", "user_id", "creation_time", "last_updated_time""#;

fn read_version(tx: &mut dyn SqlTx, row: &Row) -> Result<ModelVersion> {
    let (name, version) = (text(row, 0), int(row, 1));
    let tags = tx
        .query(
            r#"SELECT "key", "value" FROM "millrace_model_version_tag" WHERE "name" = $1 AND "version" = $2"#,
            &[name.as_str().into(), SqlValue::Int(version)],
        )?
        .iter()
        .map(|tag| (text(tag, 0), text(tag, 1)))
        .collect();
    let aliases = tx
        .query(
            r#"SELECT "alias" FROM "millrace_model_alias" WHERE "name" = $1 AND "version" = $2 ORDER BY "alias""#,
            &[name.as_str().into(), SqlValue::Int(version)],
        )?
        .iter()
        .map(|alias| text(alias, 0))
        .collect();
    Ok(ModelVersion {
        artifact_id: row.get(2).and_then(SqlValue::int),
        source: text(row, 3),
        storage_location: text(row, 4),
        run_id: row.get(5).and_then(SqlValue::text),
        run_link: text(row, 6),
        current_stage: text(row, 7).parse().unwrap_or_default(),
        approval: Approval::parse(&text(row, 8)),
        description: text(row, 9),
        user_id: text(row, 10),
        creation_time: int(row, 11),
        last_updated_time: int(row, 12),
        name,
        version,
        tags,
        aliases,
    })
}

/// A version, or a not-found error naming it.
pub(crate) fn get_model_version(
    tx: &mut dyn SqlTx,
    name: &str,
    version: i64,
) -> Result<ModelVersion> {
    let rows = tx.query(
        &format!(r#"SELECT {VERSION_COLUMNS} FROM "millrace_model_version" WHERE "name" = $1 AND "version" = $2"#),
        &[name.into(), SqlValue::Int(version)],
    )?;
    match rows.first() {
        Some(row) => read_version(tx, row),
        None => {
            get_registered_model(tx, name)?;
            Err(version_not_found(name, version))
        }
    }
}

/// Records a decision about a version as an execution of the registered model's context,
/// reading the version's Model artifact: lineage shows who decided what, when and why.
fn record_decision(
    tx: &mut dyn SqlTx,
    version: &ModelVersion,
    action: &str,
    detail: Option<(&str, &str)>,
    decision: &Decision,
) -> Result<()> {
    let now = now_ms();
    let model = get_registered_model(tx, &version.name)?;
    let type_id = put_type(tx, &NodeType::execution(DECISION_EXECUTION))?;
    let mut properties: BTreeMap<String, Value> = [
        ("action".to_owned(), Value::from(action)),
        ("model".to_owned(), Value::from(version.name.as_str())),
        ("version".to_owned(), Value::Int(version.version)),
        ("who".to_owned(), Value::from(decision.who.as_str())),
        ("why".to_owned(), Value::from(decision.why.as_str())),
    ]
    .into();
    if let Some((key, value)) = detail {
        properties.insert(key.to_owned(), Value::from(value));
    }
    let execution_id = put_execution_node(
        tx,
        &Execution {
            type_id,
            last_known_state: ExecutionState::Complete,
            custom_properties: properties,
            ..Execution::default()
        },
        now,
    )?;
    put_association(
        tx,
        Association {
            context_id: model.context_id,
            execution_id,
        },
    )?;
    if let Some(artifact_id) = version.artifact_id {
        put_event(
            tx,
            &Event {
                artifact_id,
                execution_id,
                event_type: EventType::Input,
                path: Vec::new(),
                milliseconds_since_epoch: now,
            },
            now,
        )?;
    }
    Ok(())
}

/// Registers a new version (creating the registered model if new): number `max + 1`,
/// approval pending, its artifact attributed to the registered model's context.
pub(crate) fn create_model_version(
    tx: &mut dyn SqlTx,
    request: &NewModelVersion,
) -> Result<ModelVersion> {
    let name = check_name(&request.name)?.to_owned();
    for (key, value) in &request.tags {
        check_tag(key, value)?;
    }
    if request.source.trim().is_empty() {
        return Err(MetadataError::InvalidArgument(
            "a model version needs a source (where its files are)".to_owned(),
        ));
    }
    let model = match model_row(tx, &name)? {
        Some(row) => read_model(tx, &row)?,
        None => create_registered_model(tx, &name, "", &BTreeMap::new())?,
    };
    if let Some(artifact_id) = request.artifact_id {
        let exists = tx.query(
            r#"SELECT 1 FROM "Artifact" WHERE "id" = $1"#,
            &[SqlValue::Int(artifact_id)],
        )?;
        if exists.is_empty() {
            return Err(MetadataError::NotFound {
                kind: "artifact",
                id: Some(artifact_id),
                name: None,
                location: String::new(),
            });
        }
        put_attribution(
            tx,
            Attribution {
                context_id: model.context_id,
                artifact_id,
            },
        )?;
    }
    let next = tx
        .query(
            r#"SELECT COALESCE(MAX("version"), 0) FROM "millrace_model_version" WHERE "name" = $1"#,
            &[name.as_str().into()],
        )?
        .first()
        .map_or(0, |row| int(row, 0))
        + 1;
    let now = now_ms();
    let storage = request
        .storage_location
        .clone()
        .unwrap_or_else(|| request.source.clone());
    tx.execute(
        r#"INSERT INTO "millrace_model_version" ("name", "version", "artifact_id", "source", "storage_location", "run_id", "run_link", "status", "current_stage", "approval", "description", "user_id", "creation_time", "last_updated_time") VALUES ($1, $2, $3, $4, $5, $6, $7, 'READY', 'None', 'pending', $8, $9, $10, $10)"#,
        &[
            name.as_str().into(),
            SqlValue::Int(next),
            request.artifact_id.map_or(SqlValue::Null, SqlValue::Int),
            request.source.as_str().into(),
            storage.as_str().into(),
            request.run_id.as_deref().into(),
            request.run_link.as_str().into(),
            request.description.as_str().into(),
            request.decision.who.as_str().into(),
            SqlValue::Int(now),
        ],
    )?;
    for (key, value) in &request.tags {
        tx.execute(
            r#"INSERT INTO "millrace_model_version_tag" ("name", "version", "key", "value") VALUES ($1, $2, $3, $4)"#,
            &[name.as_str().into(), SqlValue::Int(next), key.as_str().into(), value.as_str().into()],
        )?;
    }
    touch_model(tx, &name, now)?;
    let version = get_model_version(tx, &name, next)?;
    record_decision(tx, &version, "register", None, &request.decision)?;
    Ok(version)
}

fn touch_model(tx: &mut dyn SqlTx, name: &str, now: i64) -> Result<()> {
    tx.execute(
        r#"UPDATE "millrace_registered_model" SET "last_updated_time" = $2 WHERE "name" = $1"#,
        &[name.into(), SqlValue::Int(now)],
    )?;
    Ok(())
}

fn touch_version(tx: &mut dyn SqlTx, name: &str, version: i64) -> Result<()> {
    let now = now_ms();
    tx.execute(
        r#"UPDATE "millrace_model_version" SET "last_updated_time" = $3 WHERE "name" = $1 AND "version" = $2"#,
        &[name.into(), SqlValue::Int(version), SqlValue::Int(now)],
    )?;
    touch_model(tx, name, now)
}

/// Changes a version's description.
pub(crate) fn update_model_version(
    tx: &mut dyn SqlTx,
    name: &str,
    version: i64,
    description: &str,
) -> Result<ModelVersion> {
    get_model_version(tx, name, version)?;
    tx.execute(
        r#"UPDATE "millrace_model_version" SET "description" = $3 WHERE "name" = $1 AND "version" = $2"#,
        &[name.into(), SqlValue::Int(version), description.into()],
    )?;
    touch_version(tx, name, version)?;
    get_model_version(tx, name, version)
}

/// Deletes a version, its tags and the aliases pointing at it.
pub(crate) fn delete_model_version(tx: &mut dyn SqlTx, name: &str, version: i64) -> Result<()> {
    get_model_version(tx, name, version)?;
    for table in [
        "millrace_model_version",
        "millrace_model_version_tag",
        "millrace_model_alias",
    ] {
        tx.execute(
            &format!(r#"DELETE FROM "{table}" WHERE "name" = $1 AND "version" = $2"#),
            &[name.into(), SqlValue::Int(version)],
        )?;
    }
    Ok(())
}

/// Sets or removes (`value: None`) a version's tag.
pub(crate) fn set_model_version_tag(
    tx: &mut dyn SqlTx,
    name: &str,
    version: i64,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    get_model_version(tx, name, version)?;
    tx.execute(
        r#"DELETE FROM "millrace_model_version_tag" WHERE "name" = $1 AND "version" = $2 AND "key" = $3"#,
        &[name.into(), SqlValue::Int(version), key.into()],
    )?;
    if let Some(value) = value {
        check_tag(key, value)?;
        tx.execute(
            r#"INSERT INTO "millrace_model_version_tag" ("name", "version", "key", "value") VALUES ($1, $2, $3, $4)"#,
            &[name.into(), SqlValue::Int(version), key.into(), value.into()],
        )?;
    }
    Ok(())
}

/// Points `alias` at `version` (moving it from another version), recorded as a decision.
pub(crate) fn set_alias(
    tx: &mut dyn SqlTx,
    name: &str,
    alias: &str,
    version: i64,
    decision: &Decision,
) -> Result<ModelVersion> {
    check_alias(alias)?;
    let target = get_model_version(tx, name, version)?;
    if target.approval == Approval::Rejected {
        return Err(MetadataError::InvalidArgument(format!(
            "{name} version {version} was rejected: approve it before giving it alias `{alias}`"
        )));
    }
    if target.current_stage == Stage::Archived {
        return Err(MetadataError::InvalidArgument(format!(
            "{name} version {version} is archived: move it out of Archived before giving it alias `{alias}`"
        )));
    }
    tx.execute(
        r#"DELETE FROM "millrace_model_alias" WHERE "name" = $1 AND "alias" = $2"#,
        &[name.into(), alias.into()],
    )?;
    tx.execute(
        r#"INSERT INTO "millrace_model_alias" ("name", "alias", "version") VALUES ($1, $2, $3)"#,
        &[name.into(), alias.into(), SqlValue::Int(version)],
    )?;
    touch_model(tx, name, now_ms())?;
    record_decision(tx, &target, "alias", Some(("alias", alias)), decision)?;
    get_model_version(tx, name, version)
}

fn check_alias(alias: &str) -> Result<()> {
    let valid = !alias.is_empty()
        && alias.len() <= 255
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !(alias.len() > 1
            && alias.starts_with(['v', 'V'])
            && alias[1..].chars().all(|c| c.is_ascii_digit()))
        && !alias.eq_ignore_ascii_case("latest");
    if valid {
        Ok(())
    } else {
        Err(MetadataError::InvalidArgument(format!(
            "`{alias}` is not an alias: letters, digits, `_` and `-`, and not `latest` or `v<number>` (those name versions)"
        )))
    }
}

/// Removes an alias.
pub(crate) fn delete_alias(
    tx: &mut dyn SqlTx,
    name: &str,
    alias: &str,
    decision: &Decision,
) -> Result<()> {
    let target = get_version_by_alias(tx, name, alias)?;
    tx.execute(
        r#"DELETE FROM "millrace_model_alias" WHERE "name" = $1 AND "alias" = $2"#,
        &[name.into(), alias.into()],
    )?;
    record_decision(tx, &target, "unalias", Some(("alias", alias)), decision)
}

/// The version `alias` points at.
pub(crate) fn get_version_by_alias(
    tx: &mut dyn SqlTx,
    name: &str,
    alias: &str,
) -> Result<ModelVersion> {
    get_registered_model(tx, name)?;
    let rows = tx.query(
        r#"SELECT "version" FROM "millrace_model_alias" WHERE "name" = $1 AND "alias" = $2"#,
        &[name.into(), alias.into()],
    )?;
    let version = rows
        .first()
        .map(|row| int(row, 0))
        .ok_or_else(|| MetadataError::NotFound {
            kind: "alias",
            id: None,
            name: Some(format!("{name}@{alias}")),
            location: String::new(),
        })?;
    get_model_version(tx, name, version)
}

/// Moves a version to a stage; with `archive_existing`, the versions in that stage move to
/// Archived. Archiving removes the version's aliases.
pub(crate) fn transition_stage(
    tx: &mut dyn SqlTx,
    name: &str,
    version: i64,
    stage: Stage,
    archive_existing: bool,
    decision: &Decision,
) -> Result<ModelVersion> {
    let target = get_model_version(tx, name, version)?;
    if archive_existing && matches!(stage, Stage::Staging | Stage::Production) {
        let others = tx.query(
            r#"SELECT "version" FROM "millrace_model_version" WHERE "name" = $1 AND "current_stage" = $2 AND "version" <> $3"#,
            &[name.into(), stage.as_str().into(), SqlValue::Int(version)],
        )?;
        for row in others {
            let other = int(&row, 0);
            set_stage(tx, name, other, Stage::Archived)?;
            let archived = get_model_version(tx, name, other)?;
            record_decision(
                tx,
                &archived,
                "stage",
                Some(("stage", "Archived")),
                decision,
            )?;
        }
    }
    set_stage(tx, name, version, stage)?;
    record_decision(
        tx,
        &target,
        "stage",
        Some(("stage", stage.as_str())),
        decision,
    )?;
    get_model_version(tx, name, version)
}

fn set_stage(tx: &mut dyn SqlTx, name: &str, version: i64, stage: Stage) -> Result<()> {
    tx.execute(
        r#"UPDATE "millrace_model_version" SET "current_stage" = $3 WHERE "name" = $1 AND "version" = $2"#,
        &[name.into(), SqlValue::Int(version), stage.as_str().into()],
    )?;
    if stage == Stage::Archived {
        tx.execute(
            r#"DELETE FROM "millrace_model_alias" WHERE "name" = $1 AND "version" = $2"#,
            &[name.into(), SqlValue::Int(version)],
        )?;
    }
    touch_version(tx, name, version)
}

/// Decides a pending version: approved or rejected (rejecting removes its aliases). A version
/// already decided is refused: decisions are history, registered again to change.
pub(crate) fn decide(
    tx: &mut dyn SqlTx,
    name: &str,
    version: i64,
    approval: Approval,
    decision: &Decision,
) -> Result<ModelVersion> {
    let target = get_model_version(tx, name, version)?;
    if approval == Approval::Pending {
        return Err(MetadataError::InvalidArgument(
            "a decision approves or rejects; pending is where versions start".to_owned(),
        ));
    }
    if target.approval != Approval::Pending {
        return Err(MetadataError::InvalidArgument(format!(
            "{name} version {version} was already {}; register a new version to decide again",
            target.approval
        )));
    }
    if decision.who.trim().is_empty() {
        return Err(MetadataError::InvalidArgument(
            "a decision says who made it".to_owned(),
        ));
    }
    tx.execute(
        r#"UPDATE "millrace_model_version" SET "approval" = $3 WHERE "name" = $1 AND "version" = $2"#,
        &[name.into(), SqlValue::Int(version), approval.as_str().into()],
    )?;
    if approval == Approval::Rejected {
        tx.execute(
            r#"DELETE FROM "millrace_model_alias" WHERE "name" = $1 AND "version" = $2"#,
            &[name.into(), SqlValue::Int(version)],
        )?;
    }
    touch_version(tx, name, version)?;
    let action = match approval {
        Approval::Approved => "approve",
        _ => "reject",
    };
    record_decision(tx, &target, action, None, decision)?;
    get_model_version(tx, name, version)
}

/// A page of versions matching a search.
pub(crate) fn search_model_versions(
    tx: &mut dyn SqlTx,
    search: &RegistrySearch,
) -> Result<RegistryPage<ModelVersion>> {
    let filter = ModelVersionFilter::parse(&search.filter)?;
    let condition = filter.to_sql(tx.dialect(), 1);
    let order_keys = order_keys::<ModelVersionEntity>(search)?;
    let order = model_version_order_by_sql(&order_keys, tx.dialect(), condition.params.len() + 1);
    let columns = VERSION_COLUMNS
        .split(", ")
        .map(|column| format!("mv.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!(r#"SELECT {columns} FROM "millrace_model_version" mv"#);
    let rows = page_rows(tx, &select, (condition, order), search, 10_000)?;
    rows.map(|row| read_version(tx, row))
}

/// The versions of a Model artifact (what registered it, under which names).
pub(crate) fn versions_of_artifact(
    tx: &mut dyn SqlTx,
    artifact_id: i64,
) -> Result<Vec<ModelVersion>> {
    let rows = tx.query(
        &format!(r#"SELECT {VERSION_COLUMNS} FROM "millrace_model_version" WHERE "artifact_id" = $1 ORDER BY "name", "version""#),
        &[SqlValue::Int(artifact_id)],
    )?;
    rows.iter().map(|row| read_version(tx, row)).collect()
}

/// The newest version of each of `stages` (every stage if empty).
pub(crate) fn latest_versions(
    tx: &mut dyn SqlTx,
    name: &str,
    stages: &[Stage],
) -> Result<Vec<ModelVersion>> {
    let model = get_registered_model(tx, name)?;
    Ok(model
        .latest_versions
        .into_iter()
        .filter(|version| stages.is_empty() || stages.contains(&version.current_stage))
        .collect())
}
