//! The ledger's statements on one transaction.

use crate::error::Result;
use crate::sql::ops::now_ms;
use crate::sql::{Row, SqlTx, SqlValue};
use crate::triggers::{Claim, TriggerFire, TriggerState};

const FIRE_COLUMNS: &str = r#""pipeline", "trigger", "key", "run_id", "claimed_time""#;

fn fire(row: &Row) -> TriggerFire {
    let text = |index: usize| row.get(index).and_then(SqlValue::text);
    TriggerFire {
        pipeline: text(0).unwrap_or_default(),
        trigger: text(1).unwrap_or_default(),
        key: text(2).unwrap_or_default(),
        run_id: text(3),
        claimed_time: row.get(4).and_then(SqlValue::int).unwrap_or_default(),
    }
}

fn texts(values: &[&str]) -> Vec<SqlValue> {
    values
        .iter()
        .map(|value| SqlValue::Text((*value).to_owned()))
        .collect()
}

pub(crate) fn claim(tx: &mut dyn SqlTx, pipeline: &str, trigger: &str, key: &str) -> Result<Claim> {
    let mut params = texts(&[pipeline, trigger, key]);
    params.push(SqlValue::Int(now_ms()));
    let inserted = tx.execute(
        r#"INSERT INTO "millrace_trigger_fire" ("pipeline", "trigger", "key", "run_id", "claimed_time") VALUES ($1, $2, $3, NULL, $4) ON CONFLICT DO NOTHING"#,
        &params,
    )?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let rows = tx.query(
        &format!(
            r#"SELECT {FIRE_COLUMNS} FROM "millrace_trigger_fire" WHERE "pipeline" = $1 AND "trigger" = $2 AND "key" = $3"#
        ),
        &texts(&[pipeline, trigger, key]),
    )?;
    Ok(Claim::Already(rows.first().map(fire).unwrap_or(
        TriggerFire {
            pipeline: pipeline.to_owned(),
            trigger: trigger.to_owned(),
            key: key.to_owned(),
            run_id: None,
            claimed_time: 0,
        },
    )))
}

pub(crate) fn attach_run(
    tx: &mut dyn SqlTx,
    pipeline: &str,
    trigger: &str,
    key: &str,
    run_id: &str,
) -> Result<()> {
    tx.execute(
        r#"UPDATE "millrace_trigger_fire" SET "run_id" = $4 WHERE "pipeline" = $1 AND "trigger" = $2 AND "key" = $3"#,
        &texts(&[pipeline, trigger, key, run_id]),
    )?;
    Ok(())
}

pub(crate) fn unstarted(tx: &mut dyn SqlTx, pipeline: &str) -> Result<Vec<TriggerFire>> {
    let rows = tx.query(
        &format!(
            r#"SELECT {FIRE_COLUMNS} FROM "millrace_trigger_fire" WHERE "pipeline" = $1 AND "run_id" IS NULL ORDER BY "claimed_time", "key""#
        ),
        &texts(&[pipeline]),
    )?;
    Ok(rows.iter().map(fire).collect())
}

pub(crate) fn fires(
    tx: &mut dyn SqlTx,
    pipeline: &str,
    trigger: Option<&str>,
    limit: u32,
) -> Result<Vec<TriggerFire>> {
    let mut params = texts(&[pipeline]);
    let mut sql =
        format!(r#"SELECT {FIRE_COLUMNS} FROM "millrace_trigger_fire" WHERE "pipeline" = $1"#);
    if let Some(trigger) = trigger {
        sql.push_str(r#" AND "trigger" = $2"#);
        params.push(SqlValue::Text(trigger.to_owned()));
    }
    sql.push_str(&format!(
        r#" ORDER BY "claimed_time" DESC, "key" DESC LIMIT {limit}"#
    ));
    Ok(tx.query(&sql, &params)?.iter().map(fire).collect())
}

pub(crate) fn fires_of_runs(
    tx: &mut dyn SqlTx,
    pipeline: &str,
    run_ids: &[String],
) -> Result<Vec<TriggerFire>> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = texts(&[pipeline]);
    let placeholders: Vec<String> = (0..run_ids.len()).map(|i| format!("${}", i + 2)).collect();
    params.extend(run_ids.iter().map(|id| SqlValue::Text(id.clone())));
    let sql = format!(
        r#"SELECT {FIRE_COLUMNS} FROM "millrace_trigger_fire" WHERE "pipeline" = $1 AND "run_id" IN ({}) ORDER BY "claimed_time", "key""#,
        placeholders.join(", ")
    );
    Ok(tx.query(&sql, &params)?.iter().map(fire).collect())
}

pub(crate) fn set_paused(
    tx: &mut dyn SqlTx,
    pipeline: &str,
    trigger: &str,
    paused: bool,
) -> Result<()> {
    let mut params = texts(&[pipeline, trigger]);
    params.push(SqlValue::Bool(paused));
    params.push(SqlValue::Int(now_ms()));
    tx.execute(
        r#"INSERT INTO "millrace_trigger_state" ("pipeline", "trigger", "paused", "updated_time") VALUES ($1, $2, $3, $4) ON CONFLICT ("pipeline", "trigger") DO UPDATE SET "paused" = excluded."paused", "updated_time" = excluded."updated_time""#,
        &params,
    )?;
    Ok(())
}

pub(crate) fn states(tx: &mut dyn SqlTx, pipeline: &str) -> Result<Vec<TriggerState>> {
    let rows = tx.query(
        r#"SELECT "trigger", "paused", "updated_time" FROM "millrace_trigger_state" WHERE "pipeline" = $1 ORDER BY "trigger""#,
        &texts(&[pipeline]),
    )?;
    Ok(rows
        .iter()
        .map(|row| TriggerState {
            trigger: row.first().and_then(SqlValue::text).unwrap_or_default(),
            paused: row.get(1).and_then(SqlValue::bool).unwrap_or(false),
            updated_time: row.get(2).and_then(SqlValue::int).unwrap_or_default(),
        })
        .collect())
}

pub(crate) fn latest_key(
    tx: &mut dyn SqlTx,
    pipeline: &str,
    trigger: &str,
) -> Result<Option<String>> {
    let rows = tx.query(
        r#"SELECT MAX("key") FROM "millrace_trigger_fire" WHERE "pipeline" = $1 AND "trigger" = $2"#,
        &texts(&[pipeline, trigger]),
    )?;
    Ok(rows
        .first()
        .and_then(|row| row.first())
        .and_then(SqlValue::text))
}
