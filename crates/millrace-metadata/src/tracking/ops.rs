//! Tracking's statements on one transaction: experiments, runs, their data and histories.

use std::collections::BTreeMap;

use crate::error::{MetadataError, Result};
use crate::model::{Association, Context, Execution, ExecutionState, NodeType};
use crate::sql::ops::{now_ms, put_association, put_context, put_execution_node, put_type};
use crate::sql::{Row, SqlTx, SqlValue, placeholders};
use crate::tracking::history::{self, CHUNK_POINTS};
use crate::tracking::model::{
    Experiment, LifecycleStage, LogBatch, MetricPoint, NewExperiment, NewRun, RunInfo, RunSearch,
    RunSearchPage, RunStatus, RunSubject, RunUpdate, TrackedRun, ViewType,
};
use crate::tracking::search::Entity;
use crate::tracking::validate;
use crate::tracking::{
    DEFAULT_EXPERIMENT, EXPERIMENT_CONTEXT, MAX_SEARCH_RESULTS, TRACKED_RUN_EXECUTION,
};

fn text(row: &Row, index: usize) -> String {
    row.get(index).and_then(SqlValue::text).unwrap_or_default()
}

fn int(row: &Row, index: usize) -> i64 {
    row.get(index).and_then(SqlValue::int).unwrap_or_default()
}

fn optional_int(row: &Row, index: usize) -> Option<i64> {
    row.get(index).and_then(SqlValue::int)
}

fn not_found(kind: &'static str, name: &str) -> MetadataError {
    MetadataError::NotFound {
        kind,
        id: None,
        name: Some(name.to_owned()),
        location: String::new(),
    }
}

// ---- Experiments ---------------------------------------------------------------------------

const EXPERIMENT_COLUMNS: &str = r#""experiment_id", "name", "context_id", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time""#;

fn read_experiment(tx: &mut dyn SqlTx, row: &Row) -> Result<Experiment> {
    let experiment_id = int(row, 0);
    let tags = tx
        .query(
            r#"SELECT "key", "value" FROM "millrace_experiment_tag" WHERE "experiment_id" = $1"#,
            &[SqlValue::Int(experiment_id)],
        )?
        .iter()
        .map(|tag| (text(tag, 0), text(tag, 1)))
        .collect();
    Ok(Experiment {
        experiment_id,
        name: text(row, 1),
        context_id: int(row, 2),
        artifact_location: text(row, 3),
        lifecycle_stage: LifecycleStage::parse(&text(row, 4)),
        creation_time: int(row, 5),
        last_update_time: int(row, 6),
        tags,
    })
}

fn experiment_where(
    tx: &mut dyn SqlTx,
    condition: &str,
    value: SqlValue,
) -> Result<Option<Experiment>> {
    let rows = tx.query(
        &format!(
            r#"SELECT {EXPERIMENT_COLUMNS} FROM "millrace_experiment" WHERE {condition} = $1"#
        ),
        &[value],
    )?;
    match rows.first() {
        Some(row) => Ok(Some(read_experiment(tx, row)?)),
        None => Ok(None),
    }
}

/// The experiment with id `id` (`0`, `Default`, is created when first asked for).
pub(crate) fn get_experiment(tx: &mut dyn SqlTx, id: i64) -> Result<Experiment> {
    if id == 0 {
        return default_experiment(tx);
    }
    experiment_where(tx, r#""experiment_id""#, SqlValue::Int(id))?
        .ok_or_else(|| not_found("experiment", &id.to_string()))
}

/// The experiment called `name`, if there is one.
pub(crate) fn get_experiment_by_name(tx: &mut dyn SqlTx, name: &str) -> Result<Option<Experiment>> {
    if name == DEFAULT_EXPERIMENT {
        return default_experiment(tx).map(Some);
    }
    experiment_where(tx, r#""name""#, name.into())
}

fn insert_experiment(
    tx: &mut dyn SqlTx,
    id: i64,
    name: &str,
    context_id: i64,
    artifact_location: Option<&str>,
    now: i64,
) -> Result<()> {
    let location = artifact_location
        .map(str::to_owned)
        .unwrap_or_else(|| format!("mlflow-artifacts:/mlflow/{id}"));
    tx.execute(
        r#"INSERT INTO "millrace_experiment" ("experiment_id", "name", "context_id", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time") VALUES ($1, $2, $3, $4, 'active', $5, $5)"#,
        &[
            SqlValue::Int(id),
            name.into(),
            SqlValue::Int(context_id),
            location.as_str().into(),
            SqlValue::Int(now),
        ],
    )?;
    Ok(())
}

fn next_experiment_id(tx: &mut dyn SqlTx) -> Result<i64> {
    let rows = tx.query(
        r#"SELECT COALESCE(MAX("experiment_id"), 0) FROM "millrace_experiment""#,
        &[],
    )?;
    Ok(rows.first().map_or(0, |row| int(row, 0)) + 1)
}

fn experiment_context(tx: &mut dyn SqlTx, name: &str, now: i64) -> Result<i64> {
    let type_id = put_type(tx, &NodeType::context(EXPERIMENT_CONTEXT))?;
    let existing = tx.query(
        r#"SELECT "id" FROM "Context" WHERE "type_id" = $1 AND "name" = $2"#,
        &[SqlValue::Int(type_id), name.into()],
    )?;
    if let Some(row) = existing.first() {
        return Ok(int(row, 0));
    }
    put_context(
        tx,
        &Context {
            type_id,
            name: name.to_owned(),
            ..Context::default()
        },
        now,
    )
}

fn default_experiment(tx: &mut dyn SqlTx) -> Result<Experiment> {
    if let Some(found) = experiment_where(tx, r#""experiment_id""#, SqlValue::Int(0))? {
        return Ok(found);
    }
    let now = now_ms();
    let context_id = experiment_context(tx, DEFAULT_EXPERIMENT, now)?;
    insert_experiment(tx, 0, DEFAULT_EXPERIMENT, context_id, None, now)?;
    get_experiment(tx, 0)
}

/// Creates a named experiment (a `millrace.Experiment` context).
pub(crate) fn create_experiment(tx: &mut dyn SqlTx, request: &NewExperiment) -> Result<Experiment> {
    let name = request.name.trim();
    if name.is_empty() {
        return Err(MetadataError::InvalidArgument(
            "an experiment needs a name".to_owned(),
        ));
    }
    if get_experiment_by_name(tx, name)?.is_some() {
        return Err(MetadataError::AlreadyExists(format!(
            "experiment `{name}` (choose another name, or use the existing one)"
        )));
    }
    for (key, value) in &request.tags {
        validate::check_tag(key, value)?;
    }
    let now = now_ms();
    let context_id = experiment_context(tx, name, now)?;
    let id = next_experiment_id(tx)?;
    insert_experiment(
        tx,
        id,
        name,
        context_id,
        request.artifact_location.as_deref(),
        now,
    )?;
    for (key, value) in &request.tags {
        set_experiment_tag(tx, id, key, value)?;
    }
    get_experiment(tx, id)
}

/// The experiment of a pipeline (its `pipeline` context), made the first time a run of it is
/// tracked. If a named experiment already holds the pipeline's name, the pipeline's runs go
/// there.
pub(crate) fn pipeline_experiment(
    tx: &mut dyn SqlTx,
    context_id: i64,
    name: &str,
) -> Result<Experiment> {
    if let Some(found) = experiment_where(tx, r#""context_id""#, SqlValue::Int(context_id))? {
        return Ok(found);
    }
    if let Some(found) = get_experiment_by_name(tx, name)? {
        return Ok(found);
    }
    let id = next_experiment_id(tx)?;
    insert_experiment(tx, id, name, context_id, None, now_ms())?;
    get_experiment(tx, id)
}

/// Every experiment in `view`, by id.
pub(crate) fn list_experiments(tx: &mut dyn SqlTx, view: ViewType) -> Result<Vec<Experiment>> {
    let stages = view.stages();
    let params: Vec<SqlValue> = stages.iter().map(|stage| (*stage).into()).collect();
    let rows = tx.query(
        &format!(
            r#"SELECT {EXPERIMENT_COLUMNS} FROM "millrace_experiment" WHERE "lifecycle_stage" IN ({}) ORDER BY "experiment_id""#,
            placeholders(1, params.len())
        ),
        &params,
    )?;
    rows.iter().map(|row| read_experiment(tx, row)).collect()
}

/// Sets (or replaces) an experiment's tag.
pub(crate) fn set_experiment_tag(
    tx: &mut dyn SqlTx,
    id: i64,
    key: &str,
    value: &str,
) -> Result<()> {
    validate::check_key("tag", key)?;
    get_experiment(tx, id)?;
    tx.execute(
        r#"DELETE FROM "millrace_experiment_tag" WHERE "experiment_id" = $1 AND "key" = $2"#,
        &[SqlValue::Int(id), key.into()],
    )?;
    tx.execute(
        r#"INSERT INTO "millrace_experiment_tag" ("experiment_id", "key", "value") VALUES ($1, $2, $3)"#,
        &[SqlValue::Int(id), key.into(), value.into()],
    )?;
    Ok(())
}

/// Renames an experiment or changes its lifecycle stage.
pub(crate) fn update_experiment(
    tx: &mut dyn SqlTx,
    id: i64,
    new_name: Option<&str>,
    stage: Option<LifecycleStage>,
) -> Result<Experiment> {
    let current = get_experiment(tx, id)?;
    if let Some(name) = new_name {
        let name = name.trim();
        if name.is_empty() {
            return Err(MetadataError::InvalidArgument(
                "an experiment needs a name".to_owned(),
            ));
        }
        if let Some(other) = get_experiment_by_name(tx, name)?
            && other.experiment_id != id
        {
            return Err(MetadataError::AlreadyExists(format!("experiment `{name}`")));
        }
        tx.execute(
            r#"UPDATE "millrace_experiment" SET "name" = $2, "last_update_time" = $3 WHERE "experiment_id" = $1"#,
            &[SqlValue::Int(id), name.into(), SqlValue::Int(now_ms())],
        )?;
    }
    if let Some(stage) = stage {
        if id == 0 && stage == LifecycleStage::Deleted {
            return Err(MetadataError::InvalidArgument(
                "the Default experiment cannot be deleted".to_owned(),
            ));
        }
        tx.execute(
            r#"UPDATE "millrace_experiment" SET "lifecycle_stage" = $2, "last_update_time" = $3 WHERE "experiment_id" = $1"#,
            &[SqlValue::Int(id), stage.as_str().into(), SqlValue::Int(now_ms())],
        )?;
    }
    let _ = current;
    get_experiment(tx, id)
}

// ---- Runs ----------------------------------------------------------------------------------

const RUN_COLUMNS: &str = r#"r."run_id", r."experiment_id", r."name", r."user_id", r."status", r."start_time", r."end_time", r."lifecycle_stage", r."artifact_uri", r."parent_run_id", r."execution_id", r."run_context_id""#;

fn read_run_info(row: &Row) -> Result<RunInfo> {
    let subject = match (optional_int(row, 10), optional_int(row, 11)) {
        (Some(execution), _) => RunSubject::Execution(execution),
        (None, Some(context)) => RunSubject::PipelineRun(context),
        (None, None) => RunSubject::NewExecution,
    };
    Ok(RunInfo {
        run_id: text(row, 0),
        experiment_id: int(row, 1),
        name: text(row, 2),
        user_id: text(row, 3),
        status: text(row, 4).parse()?,
        start_time: int(row, 5),
        end_time: optional_int(row, 6),
        lifecycle_stage: LifecycleStage::parse(&text(row, 7)),
        artifact_uri: text(row, 8),
        parent_run_id: row.get(9).and_then(SqlValue::text),
        subject,
    })
}

/// A run's info, or a not-found error naming it.
pub(crate) fn get_run_info(tx: &mut dyn SqlTx, run_id: &str) -> Result<RunInfo> {
    let rows = tx.query(
        &format!(r#"SELECT {RUN_COLUMNS} FROM "millrace_run" r WHERE r."run_id" = $1"#),
        &[run_id.into()],
    )?;
    rows.first()
        .map(read_run_info)
        .transpose()?
        .ok_or_else(|| not_found("run", run_id))
}

/// The run that records execution `execution_id`, if one does.
pub(crate) fn run_of_execution(tx: &mut dyn SqlTx, execution_id: i64) -> Result<Option<RunInfo>> {
    let rows = tx.query(
        &format!(r#"SELECT {RUN_COLUMNS} FROM "millrace_run" r WHERE r."execution_id" = $1"#),
        &[SqlValue::Int(execution_id)],
    )?;
    rows.first().map(read_run_info).transpose()
}

/// Reads the data of `infos` (in two queries per kind, whatever their number).
fn with_data(tx: &mut dyn SqlTx, infos: Vec<RunInfo>) -> Result<Vec<TrackedRun>> {
    if infos.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<SqlValue> = infos
        .iter()
        .map(|info| info.run_id.as_str().into())
        .collect();
    let list = placeholders(1, ids.len());
    let mut params: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for row in tx.query(
        &format!(r#"SELECT "run_id", "key", "value" FROM "millrace_run_param" WHERE "run_id" IN ({list})"#),
        &ids,
    )? {
        params.entry(text(&row, 0)).or_default().insert(text(&row, 1), text(&row, 2));
    }
    let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for row in tx.query(
        &format!(
            r#"SELECT "run_id", "key", "value" FROM "millrace_run_tag" WHERE "run_id" IN ({list})"#
        ),
        &ids,
    )? {
        tags.entry(text(&row, 0))
            .or_default()
            .insert(text(&row, 1), text(&row, 2));
    }
    let mut metrics: BTreeMap<String, BTreeMap<String, MetricPoint>> = BTreeMap::new();
    for row in tx.query(
        &format!(r#"SELECT "run_id", "key", "value", "timestamp", "step", "is_nan" FROM "millrace_latest_metric" WHERE "run_id" IN ({list})"#),
        &ids,
    )? {
        let is_nan = row.get(5).and_then(SqlValue::bool).unwrap_or(false);
        let value = if is_nan {
            f64::NAN
        } else {
            row.get(2).and_then(SqlValue::double).unwrap_or_default()
        };
        metrics.entry(text(&row, 0)).or_default().insert(
            text(&row, 1),
            MetricPoint {
                value,
                timestamp: int(&row, 3),
                step: int(&row, 4),
            },
        );
    }
    Ok(infos
        .into_iter()
        .map(|info| TrackedRun {
            params: params.remove(&info.run_id).unwrap_or_default(),
            tags: tags.remove(&info.run_id).unwrap_or_default(),
            metrics: metrics.remove(&info.run_id).unwrap_or_default(),
            info,
        })
        .collect())
}

/// A run with its data.
pub(crate) fn get_run(tx: &mut dyn SqlTx, run_id: &str) -> Result<TrackedRun> {
    let info = get_run_info(tx, run_id)?;
    with_data(tx, vec![info])?
        .pop()
        .ok_or_else(|| not_found("run", run_id))
}

/// 32 hex digits no other run has: MLflow's shape of a run id.
fn new_run_id(tx: &mut dyn SqlTx) -> Result<String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let seed = format!(
            "{nanos}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let candidate: String = crate::tracking::hex_digest(seed.as_bytes())[..32].to_owned();
        let taken = tx.query(
            r#"SELECT 1 FROM "millrace_run" WHERE "run_id" = $1"#,
            &[candidate.as_str().into()],
        )?;
        if taken.is_empty() {
            return Ok(candidate);
        }
    }
}

/// Creates a run (and, for a run started through the API, its execution).
pub(crate) fn create_run(tx: &mut dyn SqlTx, request: &NewRun) -> Result<TrackedRun> {
    let experiment = get_experiment(tx, request.experiment_id)?;
    if experiment.lifecycle_stage == LifecycleStage::Deleted {
        return Err(MetadataError::InvalidArgument(format!(
            "experiment {} (`{}`) is deleted: restore it before starting runs in it",
            experiment.experiment_id, experiment.name
        )));
    }
    for (key, value) in &request.tags {
        validate::check_tag(key, value)?;
    }
    let run_id = match &request.run_id {
        Some(id) => {
            validate::check_run_id(id)?;
            if !tx
                .query(
                    r#"SELECT 1 FROM "millrace_run" WHERE "run_id" = $1"#,
                    &[id.as_str().into()],
                )?
                .is_empty()
            {
                return Err(MetadataError::AlreadyExists(format!("run `{id}`")));
            }
            id.clone()
        }
        None => new_run_id(tx)?,
    };
    if let Some(parent) = &request.parent_run_id {
        get_run_info(tx, parent)?;
    }
    let name = request
        .name
        .clone()
        .filter(|name| !name.is_empty())
        .or_else(|| request.tags.get(RUN_NAME_TAG).cloned())
        .unwrap_or_else(|| run_id.clone());
    let now = now_ms();
    let (execution_id, run_context_id) = match request.subject {
        RunSubject::NewExecution => {
            let type_id = put_type(tx, &NodeType::execution(TRACKED_RUN_EXECUTION))?;
            let execution_id = put_execution_node(
                tx,
                &Execution {
                    type_id,
                    name: Some(run_id.clone()),
                    last_known_state: ExecutionState::Running,
                    ..Execution::default()
                },
                now,
            )?;
            put_association(
                tx,
                Association {
                    context_id: experiment.context_id,
                    execution_id,
                },
            )?;
            (Some(execution_id), None)
        }
        RunSubject::Execution(id) => (Some(id), None),
        RunSubject::PipelineRun(context) => (None, Some(context)),
    };
    let artifact_uri = format!(
        "{}/{run_id}/artifacts",
        experiment.artifact_location.trim_end_matches('/')
    );
    tx.execute(
        r#"INSERT INTO "millrace_run" ("run_id", "experiment_id", "execution_id", "run_context_id", "parent_run_id", "name", "user_id", "status", "start_time", "end_time", "lifecycle_stage", "artifact_uri") VALUES ($1, $2, $3, $4, $5, $6, $7, 'RUNNING', $8, NULL, 'active', $9)"#,
        &[
            run_id.as_str().into(),
            SqlValue::Int(experiment.experiment_id),
            execution_id.map_or(SqlValue::Null, SqlValue::Int),
            run_context_id.map_or(SqlValue::Null, SqlValue::Int),
            request.parent_run_id.as_deref().into(),
            name.as_str().into(),
            request.user_id.as_str().into(),
            SqlValue::Int(request.start_time),
            artifact_uri.as_str().into(),
        ],
    )
    .map_err(|error| match error {
        MetadataError::AlreadyExists(_) => MetadataError::AlreadyExists(format!(
            "a run recording that {} (`{run_id}`)",
            if execution_id.is_some() { "execution" } else { "pipeline run" }
        )),
        other => other,
    })?;
    let mut tags: Vec<(String, String)> = request
        .tags
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if !request.tags.contains_key(RUN_NAME_TAG) {
        tags.push((RUN_NAME_TAG.to_owned(), name));
    }
    if let Some(parent) = &request.parent_run_id
        && !request.tags.contains_key(PARENT_RUN_TAG)
    {
        tags.push((PARENT_RUN_TAG.to_owned(), parent.clone()));
    }
    for (key, value) in &tags {
        upsert_tag(tx, &run_id, key, value)?;
    }
    touch_experiment(tx, experiment.experiment_id, now)?;
    get_run(tx, &run_id)
}

/// The tag MLflow mirrors the run's name into.
pub(crate) const RUN_NAME_TAG: &str = "mlflow.runName";
/// The tag that names a nested run's parent.
pub(crate) const PARENT_RUN_TAG: &str = "mlflow.parentRunId";

fn touch_experiment(tx: &mut dyn SqlTx, experiment_id: i64, now: i64) -> Result<()> {
    tx.execute(
        r#"UPDATE "millrace_experiment" SET "last_update_time" = $2 WHERE "experiment_id" = $1"#,
        &[SqlValue::Int(experiment_id), SqlValue::Int(now)],
    )?;
    Ok(())
}

fn upsert_tag(tx: &mut dyn SqlTx, run_id: &str, key: &str, value: &str) -> Result<()> {
    tx.execute(
        r#"INSERT INTO "millrace_run_tag" ("run_id", "key", "value") VALUES ($1, $2, $3) ON CONFLICT ("run_id", "key") DO UPDATE SET "value" = excluded."value""#,
        &[run_id.into(), key.into(), value.into()],
    )?;
    if key == RUN_NAME_TAG {
        tx.execute(
            r#"UPDATE "millrace_run" SET "name" = $2 WHERE "run_id" = $1"#,
            &[run_id.into(), value.into()],
        )?;
    }
    Ok(())
}

fn require_active(info: &RunInfo) -> Result<()> {
    if info.lifecycle_stage == LifecycleStage::Deleted {
        return Err(MetadataError::InvalidArgument(format!(
            "run `{}` is deleted: restore it before writing to it",
            info.run_id
        )));
    }
    Ok(())
}

/// Changes a run's status, end time or name. A run started through the API moves its
/// execution's state with its status; a node's or a pipeline run's state is the runner's.
pub(crate) fn update_run(tx: &mut dyn SqlTx, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
    let info = get_run_info(tx, run_id)?;
    require_active(&info)?;
    if let Some(status) = update.status {
        let end_time = update
            .end_time
            .or_else(|| status.is_terminal().then(now_ms));
        tx.execute(
            r#"UPDATE "millrace_run" SET "status" = $2, "end_time" = $3 WHERE "run_id" = $1"#,
            &[
                run_id.into(),
                status.as_str().into(),
                if status.is_terminal() {
                    end_time.map_or(SqlValue::Null, SqlValue::Int)
                } else {
                    SqlValue::Null
                },
            ],
        )?;
        if let Some(execution_id) = info.execution_id()
            && is_api_run(tx, execution_id)?
        {
            let state = match status {
                RunStatus::Running | RunStatus::Scheduled => ExecutionState::Running,
                RunStatus::Finished => ExecutionState::Complete,
                RunStatus::Failed => ExecutionState::Failed,
                RunStatus::Killed => ExecutionState::Canceled,
            };
            tx.execute(
                r#"UPDATE "Execution" SET "last_known_state" = $2, "last_update_time_since_epoch" = $3 WHERE "id" = $1"#,
                &[SqlValue::Int(execution_id), SqlValue::Int(state.code()), SqlValue::Int(now_ms())],
            )?;
        }
    } else if let Some(end_time) = update.end_time {
        tx.execute(
            r#"UPDATE "millrace_run" SET "end_time" = $2 WHERE "run_id" = $1"#,
            &[run_id.into(), SqlValue::Int(end_time)],
        )?;
    }
    if let Some(name) = &update.name {
        upsert_tag(tx, run_id, RUN_NAME_TAG, name)?;
    }
    get_run_info(tx, run_id)
}

/// Whether execution `execution_id` is a run started through the API (not a node's attempt).
fn is_api_run(tx: &mut dyn SqlTx, execution_id: i64) -> Result<bool> {
    let rows = tx.query(
        r#"SELECT t."name" FROM "Execution" e JOIN "Type" t ON t."id" = e."type_id" WHERE e."id" = $1"#,
        &[SqlValue::Int(execution_id)],
    )?;
    Ok(rows
        .first()
        .is_some_and(|row| text(row, 0) == TRACKED_RUN_EXECUTION))
}

/// Deletes or restores a run.
pub(crate) fn set_run_lifecycle(
    tx: &mut dyn SqlTx,
    run_id: &str,
    stage: LifecycleStage,
) -> Result<()> {
    get_run_info(tx, run_id)?;
    tx.execute(
        r#"UPDATE "millrace_run" SET "lifecycle_stage" = $2 WHERE "run_id" = $1"#,
        &[run_id.into(), stage.as_str().into()],
    )?;
    Ok(())
}

/// Removes a run's tag; a tag it does not have is an error, as in MLflow.
pub(crate) fn delete_run_tag(tx: &mut dyn SqlTx, run_id: &str, key: &str) -> Result<()> {
    let info = get_run_info(tx, run_id)?;
    require_active(&info)?;
    let removed = tx.execute(
        r#"DELETE FROM "millrace_run_tag" WHERE "run_id" = $1 AND "key" = $2"#,
        &[run_id.into(), key.into()],
    )?;
    if removed == 0 {
        return Err(not_found("tag", key));
    }
    Ok(())
}

/// Writes a batch: everything or, on any error, nothing (the caller's transaction rolls back).
pub(crate) fn log_batch(tx: &mut dyn SqlTx, run_id: &str, batch: &LogBatch) -> Result<()> {
    validate::check_batch(batch)?;
    let info = get_run_info(tx, run_id)?;
    require_active(&info)?;
    for (key, value) in &batch.params {
        let existing = tx.query(
            r#"SELECT "value" FROM "millrace_run_param" WHERE "run_id" = $1 AND "key" = $2"#,
            &[run_id.into(), key.as_str().into()],
        )?;
        match existing.first().map(|row| text(row, 0)) {
            Some(logged) if logged == *value => {}
            Some(logged) => {
                return Err(MetadataError::InvalidArgument(format!(
                    "Changing param values is not allowed. Param with key='{key}' was already logged with value='{logged}' for run ID='{run_id}'. Attempted logging new value '{value}'."
                )));
            }
            None => {
                tx.execute(
                    r#"INSERT INTO "millrace_run_param" ("run_id", "key", "value") VALUES ($1, $2, $3)"#,
                    &[run_id.into(), key.as_str().into(), value.as_str().into()],
                )?;
            }
        }
    }
    for (key, value) in &batch.tags {
        upsert_tag(tx, run_id, key, value)?;
    }
    let mut by_key: BTreeMap<&str, Vec<MetricPoint>> = BTreeMap::new();
    for metric in &batch.metrics {
        by_key
            .entry(metric.key.as_str())
            .or_default()
            .push(metric.point);
    }
    for (key, points) in by_key {
        append_points(tx, run_id, key, &points)?;
        update_latest(tx, run_id, key, &points)?;
    }
    Ok(())
}

fn append_points(
    tx: &mut dyn SqlTx,
    run_id: &str,
    key: &str,
    points: &[MetricPoint],
) -> Result<()> {
    let last = tx.query(
        r#"SELECT "seq", "count", "points" FROM "millrace_metric_chunk" WHERE "run_id" = $1 AND "key" = $2 ORDER BY "seq" DESC LIMIT 1"#,
        &[run_id.into(), key.into()],
    )?;
    let mut rest = points;
    let mut next_seq = 0;
    if let Some(row) = last.first() {
        let (seq, count) = (
            int(row, 0),
            usize::try_from(int(row, 1)).unwrap_or(CHUNK_POINTS),
        );
        next_seq = seq + 1;
        if count < CHUNK_POINTS {
            let room = (CHUNK_POINTS - count).min(rest.len());
            let mut bytes = match row.get(2) {
                Some(SqlValue::Blob(bytes)) => bytes.clone(),
                _ => Vec::new(),
            };
            history::encode_into(&mut bytes, &rest[..room]);
            tx.execute(
                r#"UPDATE "millrace_metric_chunk" SET "count" = $4, "points" = $5 WHERE "run_id" = $1 AND "key" = $2 AND "seq" = $3"#,
                &[
                    run_id.into(),
                    key.into(),
                    SqlValue::Int(seq),
                    SqlValue::Int(i64::try_from(count + room).unwrap_or(i64::MAX)),
                    SqlValue::Blob(bytes),
                ],
            )?;
            rest = &rest[room..];
        }
    }
    for chunk in rest.chunks(CHUNK_POINTS) {
        let mut bytes = Vec::new();
        history::encode_into(&mut bytes, chunk);
        tx.execute(
            r#"INSERT INTO "millrace_metric_chunk" ("run_id", "key", "seq", "count", "points") VALUES ($1, $2, $3, $4, $5)"#,
            &[
                run_id.into(),
                key.into(),
                SqlValue::Int(next_seq),
                SqlValue::Int(i64::try_from(chunk.len()).unwrap_or(i64::MAX)),
                SqlValue::Blob(bytes),
            ],
        )?;
        next_seq += 1;
    }
    Ok(())
}

fn update_latest(
    tx: &mut dyn SqlTx,
    run_id: &str,
    key: &str,
    points: &[MetricPoint],
) -> Result<()> {
    let Some(mut latest) = points.first().copied() else {
        return Ok(());
    };
    for point in &points[1..] {
        if history::is_later(point, &latest) {
            latest = *point;
        }
    }
    let current = tx.query(
        r#"SELECT "value", "timestamp", "step", "is_nan" FROM "millrace_latest_metric" WHERE "run_id" = $1 AND "key" = $2"#,
        &[run_id.into(), key.into()],
    )?;
    if let Some(row) = current.first() {
        let stored = MetricPoint {
            value: if row.get(3).and_then(SqlValue::bool).unwrap_or(false) {
                f64::NAN
            } else {
                row.first().and_then(SqlValue::double).unwrap_or_default()
            },
            timestamp: int(row, 1),
            step: int(row, 2),
        };
        if !history::is_later(&latest, &stored) {
            return Ok(());
        }
        tx.execute(
            r#"DELETE FROM "millrace_latest_metric" WHERE "run_id" = $1 AND "key" = $2"#,
            &[run_id.into(), key.into()],
        )?;
    }
    // MLflow's encoding: NaN is 0 with `is_nan`, infinities the largest finite doubles.
    let (value, is_nan) = if latest.value.is_nan() {
        (0.0, true)
    } else if latest.value.is_infinite() {
        (f64::MAX.copysign(latest.value), false)
    } else {
        (latest.value, false)
    };
    tx.execute(
        r#"INSERT INTO "millrace_latest_metric" ("run_id", "key", "value", "timestamp", "step", "is_nan") VALUES ($1, $2, $3, $4, $5, $6)"#,
        &[
            run_id.into(),
            key.into(),
            SqlValue::Double(value),
            SqlValue::Int(latest.timestamp),
            SqlValue::Int(latest.step),
            SqlValue::Bool(is_nan),
        ],
    )?;
    Ok(())
}

/// Every point of metric `key` of a run, by step (see [`history`]).
pub(crate) fn metric_history(
    tx: &mut dyn SqlTx,
    run_id: &str,
    key: &str,
) -> Result<Vec<MetricPoint>> {
    get_run_info(tx, run_id)?;
    let rows = tx.query(
        r#"SELECT "points" FROM "millrace_metric_chunk" WHERE "run_id" = $1 AND "key" = $2 ORDER BY "seq""#,
        &[run_id.into(), key.into()],
    )?;
    let mut points = Vec::new();
    for row in &rows {
        if let Some(SqlValue::Blob(bytes)) = row.first() {
            history::decode_into(bytes, &mut points)?;
        }
    }
    history::normalise(&mut points);
    Ok(points)
}

/// One page of runs matching a search.
pub(crate) fn search_runs(tx: &mut dyn SqlTx, search: &RunSearch) -> Result<RunSearchPage> {
    let limit = match search.max_results {
        0 => 1000,
        n if n as usize > MAX_SEARCH_RESULTS => {
            return Err(MetadataError::InvalidArgument(format!(
                "max_results {n} is over the limit of {MAX_SEARCH_RESULTS}"
            )));
        }
        n => n,
    };
    let mut params: Vec<SqlValue> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    if !search.experiment_ids.is_empty() {
        let first = params.len() + 1;
        params.extend(search.experiment_ids.iter().map(|id| SqlValue::Int(*id)));
        conditions.push(format!(
            r#"r."experiment_id" IN ({})"#,
            placeholders(first, search.experiment_ids.len())
        ));
    }
    let stages = search.view.stages();
    let first = params.len() + 1;
    params.extend(stages.iter().map(|stage| SqlValue::from(*stage)));
    conditions.push(format!(
        r#"r."lifecycle_stage" IN ({})"#,
        placeholders(first, stages.len())
    ));
    if search.top_level_only {
        conditions.push(r#"r."parent_run_id" IS NULL"#.to_owned());
    }
    let filter = crate::tracking::search::RunFilter::parse(&search.filter)?;
    let compiled = filter.to_sql(tx.dialect(), params.len() + 1);
    params.extend(compiled.params);
    conditions.push(compiled.sql);
    let order_keys = search
        .order_by
        .iter()
        .map(|clause| crate::tracking::search::OrderKey::<Entity>::parse(clause))
        .collect::<Result<Vec<_>>>()?;
    let order = crate::tracking::search::order_by_sql(&order_keys, tx.dialect(), params.len() + 1);
    params.extend(order.params);
    let offset = i64::try_from(search.offset).unwrap_or(i64::MAX);
    params.push(SqlValue::Int(i64::from(limit) + 1));
    params.push(SqlValue::Int(offset));
    let sql = format!(
        r#"SELECT {RUN_COLUMNS} FROM "millrace_run" r WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}"#,
        conditions.join(" AND "),
        order.sql,
        params.len() - 1,
        params.len()
    );
    let rows = tx.query(&sql, &params)?;
    let more = rows.len() > limit as usize;
    let infos = rows
        .iter()
        .take(limit as usize)
        .map(read_run_info)
        .collect::<Result<Vec<_>>>()?;
    let runs = with_data(tx, infos)?;
    Ok(RunSearchPage {
        next_offset: more.then(|| search.offset + u64::from(limit)),
        runs,
    })
}

/// The runs whose parent is `run_id` (a pipeline run's node attempts), oldest first.
pub(crate) fn child_runs(tx: &mut dyn SqlTx, run_id: &str) -> Result<Vec<TrackedRun>> {
    let rows = tx.query(
        &format!(r#"SELECT {RUN_COLUMNS} FROM "millrace_run" r WHERE r."parent_run_id" = $1 ORDER BY r."start_time", r."run_id""#),
        &[run_id.into()],
    )?;
    let infos = rows.iter().map(read_run_info).collect::<Result<Vec<_>>>()?;
    with_data(tx, infos)
}
