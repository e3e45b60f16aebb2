//! Compiling parsed filters and orderings to SQL both SQLite and PostgreSQL read.
//!
//! A filter becomes a condition on the searched table's alias (`r` runs, `mv` model versions,
//! `rm` registered models): a comparison on its own column, or an `EXISTS` subquery on the
//! param, tag or latest-metric table keyed by `(id, key)`. Keys and values are always bound
//! as `$N` parameters, numbered from the caller's first index, so no text of the filter ever
//! reaches the SQL.
//!
//! - `LIKE` is case-sensitive on both engines: PostgreSQL's `LIKE`; on SQLite the pattern is
//!   translated to `GLOB` (`%`→`*`, `_`→`?`, and `*`, `?`, `[` made literal as `[*]`, `[?]`,
//!   `[[]`). `ILIKE` is PostgreSQL's `ILIKE` and SQLite's `LIKE` (which folds ASCII only).
//!   No escape character on either (PostgreSQL's is switched off with `ESCAPE ''`).
//! - A NaN metric (stored as value 0 with `is_nan`) satisfies only `!=`, as IEEE comparison and
//!   MLflow's in-memory matching have it (MLflow's SQL store compares the stored 0 instead).
//! - Registry searches leave prompts out unless the filter asks for them, as MLflow's
//!   registry store does (see `registry_filter`).
//! - Ordering follows MLflow's SQL store: runs without the key last in both directions (NaN
//!   metrics after numbers, before missing ones), then `start_time DESC, run_id ASC`.

use super::{
    Clause, Comparator, Entity, ModelVersionEntity, ModelVersionFilter, Operand, OrderKey,
    RegisteredModelEntity, RegisteredModelFilter, RunAttribute, RunFilter,
};
use crate::sql::{Dialect, SqlValue};

/// A piece of SQL with the values its `$N` placeholders bind, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlCondition {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

/// Where an entity's values live, relative to the searched row.
enum Source {
    /// A column of the searched row (`r."status"`).
    Column(String),
    /// The `value` of a key in a key-value table, correlated to the searched row.
    KeyValue {
        table: &'static str,
        correlation: &'static str,
        key: String,
    },
    /// A run's latest metric.
    Metric { key: String },
}

trait Located {
    fn source(&self) -> Source;
}

fn column(alias: &str, name: &str) -> Source {
    Source::Column(format!("{alias}.\"{name}\""))
}

impl Located for Entity {
    fn source(&self) -> Source {
        match self {
            Entity::Metric(key) => Source::Metric { key: key.clone() },
            Entity::Param(key) => Source::KeyValue {
                table: "millrace_run_param",
                correlation: "t.\"run_id\" = r.\"run_id\"",
                key: key.clone(),
            },
            Entity::Tag(key) => Source::KeyValue {
                table: "millrace_run_tag",
                correlation: "t.\"run_id\" = r.\"run_id\"",
                key: key.clone(),
            },
            Entity::Attribute(attribute) => {
                let name = match attribute {
                    RunAttribute::RunId => "run_id",
                    RunAttribute::RunName => "name",
                    RunAttribute::Status => "status",
                    RunAttribute::StartTime => "start_time",
                    RunAttribute::EndTime => "end_time",
                    RunAttribute::UserId => "user_id",
                    RunAttribute::ArtifactUri => "artifact_uri",
                };
                column("r", name)
            }
        }
    }
}

impl Located for ModelVersionEntity {
    fn source(&self) -> Source {
        match self {
            ModelVersionEntity::Name => column("mv", "name"),
            ModelVersionEntity::VersionNumber => column("mv", "version"),
            ModelVersionEntity::RunId => column("mv", "run_id"),
            ModelVersionEntity::SourcePath => column("mv", "source"),
            ModelVersionEntity::CreationTimestamp => column("mv", "creation_time"),
            ModelVersionEntity::LastUpdatedTimestamp => column("mv", "last_updated_time"),
            ModelVersionEntity::Tag(key) => Source::KeyValue {
                table: "millrace_model_version_tag",
                correlation: "t.\"name\" = mv.\"name\" AND t.\"version\" = mv.\"version\"",
                key: key.clone(),
            },
        }
    }
}

impl Located for RegisteredModelEntity {
    fn source(&self) -> Source {
        match self {
            RegisteredModelEntity::Name => column("rm", "name"),
            RegisteredModelEntity::CreationTimestamp => column("rm", "creation_time"),
            RegisteredModelEntity::LastUpdatedTimestamp => column("rm", "last_updated_time"),
            RegisteredModelEntity::Tag(key) => Source::KeyValue {
                table: "millrace_registered_model_tag",
                correlation: "t.\"name\" = rm.\"name\"",
                key: key.clone(),
            },
        }
    }
}

/// Builds SQL while numbering its parameters.
struct Builder {
    dialect: Dialect,
    next: usize,
    params: Vec<SqlValue>,
}

impl Builder {
    fn bind(&mut self, value: SqlValue) -> String {
        let placeholder = format!("${}", self.next);
        self.next += 1;
        self.params.push(value);
        placeholder
    }

    /// A number bound as an integer when it is one, so PostgreSQL can compare it with BIGINT.
    fn bind_number(&mut self, number: f64) -> String {
        if number.fract() == 0.0 && number.abs() < 9.0e15 {
            self.bind(SqlValue::Int(number as i64))
        } else {
            let placeholder = self.bind(SqlValue::Double(number));
            format!("CAST({placeholder} AS DOUBLE PRECISION)")
        }
    }

    /// `target <comparator> operand` for a string or numeric value expression.
    fn comparison(&mut self, target: &str, comparator: Comparator, operand: &Operand) -> String {
        let value = match operand {
            Operand::Number(number) => self.bind_number(*number),
            Operand::Text(text) if comparator == Comparator::Like => {
                return match self.dialect {
                    Dialect::Postgres => {
                        let pattern = self.bind(SqlValue::Text(text.clone()));
                        format!("{target} LIKE {pattern} ESCAPE ''")
                    }
                    Dialect::Sqlite => {
                        let pattern = self.bind(SqlValue::Text(like_to_glob(text)));
                        format!("{target} GLOB {pattern}")
                    }
                };
            }
            Operand::Text(text) if comparator == Comparator::ILike => {
                let pattern = self.bind(SqlValue::Text(text.clone()));
                return match self.dialect {
                    Dialect::Postgres => format!("{target} ILIKE {pattern} ESCAPE ''"),
                    Dialect::Sqlite => format!("{target} LIKE {pattern}"),
                };
            }
            Operand::Text(text) => self.bind(SqlValue::Text(text.clone())),
            Operand::List(items) => {
                let placeholders: Vec<String> = items
                    .iter()
                    .map(|item| self.bind(SqlValue::Text(item.clone())))
                    .collect();
                format!("({})", placeholders.join(", "))
            }
            Operand::Null => String::new(),
        };
        let symbol = match comparator {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::Like | Comparator::ILike => "LIKE",
            Comparator::IsNull => return format!("{target} IS NULL"),
            Comparator::IsNotNull => return format!("{target} IS NOT NULL"),
        };
        format!("{target} {symbol} {value}")
    }

    fn clause<E: Located>(&mut self, clause: &Clause<E>) -> String {
        match clause.entity.source() {
            Source::Column(column) => self.comparison(&column, clause.comparator, &clause.operand),
            Source::KeyValue {
                table,
                correlation,
                key,
            } => {
                let key = self.bind(SqlValue::Text(key));
                let lookup = format!(
                    "SELECT 1 FROM \"{table}\" t WHERE {correlation} AND t.\"key\" = {key}"
                );
                match clause.comparator {
                    Comparator::IsNull => format!("NOT EXISTS ({lookup})"),
                    Comparator::IsNotNull => format!("EXISTS ({lookup})"),
                    comparator => {
                        let test = self.comparison("t.\"value\"", comparator, &clause.operand);
                        format!("EXISTS ({lookup} AND {test})")
                    }
                }
            }
            Source::Metric { key } => {
                let key = self.bind(SqlValue::Text(key));
                let test = self.comparison("m.\"value\"", clause.comparator, &clause.operand);
                let value_test = if clause.comparator == Comparator::Ne {
                    format!("(m.\"is_nan\" OR {test})")
                } else {
                    format!("NOT m.\"is_nan\" AND {test}")
                };
                format!(
                    "EXISTS (SELECT 1 FROM \"millrace_latest_metric\" m WHERE m.\"run_id\" = r.\"run_id\" AND m.\"key\" = {key} AND {value_test})"
                )
            }
        }
    }

    fn filter<E: Located>(mut self, clauses: &[Clause<E>]) -> SqlCondition {
        let sql = if clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            clauses
                .iter()
                .map(|clause| format!("({})", self.clause(clause)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        SqlCondition {
            sql,
            params: self.params,
        }
    }

    /// `missing-rank, value [DESC]` for one order key.
    fn order_key<E: Located>(&mut self, key: &OrderKey<E>) -> String {
        let direction = if key.ascending { "ASC" } else { "DESC" };
        match key.entity.source() {
            Source::Column(column) => {
                format!("CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {direction}")
            }
            Source::KeyValue {
                table,
                correlation,
                key,
            } => {
                let first = self.bind(SqlValue::Text(key.clone()));
                let second = self.bind(SqlValue::Text(key));
                let value = |placeholder: &str| {
                    format!(
                        "(SELECT t.\"value\" FROM \"{table}\" t WHERE {correlation} AND t.\"key\" = {placeholder})"
                    )
                };
                format!(
                    "CASE WHEN {} IS NULL THEN 1 ELSE 0 END, {} {direction}",
                    value(&first),
                    value(&second)
                )
            }
            Source::Metric { key } => {
                let first = self.bind(SqlValue::Text(key.clone()));
                let second = self.bind(SqlValue::Text(key));
                format!(
                    "COALESCE((SELECT CASE WHEN m.\"is_nan\" THEN 1 ELSE 0 END FROM \"millrace_latest_metric\" m WHERE m.\"run_id\" = r.\"run_id\" AND m.\"key\" = {first}), 2), \
                     (SELECT m.\"value\" FROM \"millrace_latest_metric\" m WHERE m.\"run_id\" = r.\"run_id\" AND m.\"key\" = {second}) {direction}"
                )
            }
        }
    }
}

/// MLflow's `LIKE` pattern as a SQLite `GLOB` pattern, which is case-sensitive.
fn like_to_glob(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 8);
    for c in pattern.chars() {
        match c {
            '%' => glob.push('*'),
            '_' => glob.push('?'),
            '*' => glob.push_str("[*]"),
            '?' => glob.push_str("[?]"),
            '[' => glob.push_str("[[]"),
            other => glob.push(other),
        }
    }
    glob
}

fn builder(dialect: Dialect, first_param: usize) -> Builder {
    Builder {
        dialect,
        next: first_param,
        params: Vec::new(),
    }
}

impl RunFilter {
    /// The filter as a condition on runs aliased `r`; `1 = 1` when it has no clauses.
    #[allow(dead_code)]
    pub(crate) fn to_sql(&self, dialect: Dialect, first_param: usize) -> SqlCondition {
        builder(dialect, first_param).filter(&self.clauses)
    }
}

impl ModelVersionFilter {
    /// The filter as a condition on model versions aliased `mv`; prompts are left out unless
    /// the filter asks for them (see [`registry_filter`]).
    #[allow(dead_code)]
    pub(crate) fn to_sql(&self, dialect: Dialect, first_param: usize) -> SqlCondition {
        registry_filter(
            &self.clauses,
            |entity| match entity {
                ModelVersionEntity::Tag(key) => Some(key),
                _ => None,
            },
            "SELECT 1 FROM \"millrace_model_version_tag\" p WHERE p.\"name\" = mv.\"name\"",
            builder(dialect, first_param),
        )
    }
}

impl RegisteredModelFilter {
    /// The filter as a condition on registered models aliased `rm`; prompts are left out
    /// unless the filter asks for them (see [`registry_filter`]).
    #[allow(dead_code)]
    pub(crate) fn to_sql(&self, dialect: Dialect, first_param: usize) -> SqlCondition {
        registry_filter(
            &self.clauses,
            |entity| match entity {
                RegisteredModelEntity::Tag(key) => Some(key),
                _ => None,
            },
            "SELECT 1 FROM \"millrace_registered_model_tag\" p WHERE p.\"name\" = rm.\"name\"",
            builder(dialect, first_param),
        )
    }
}

/// The tag that marks a registered model (and its versions) as a prompt.
const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// A registry filter as MLflow's registry store applies it: prompts and models share the
/// tables, and models carry no prompt tag, so ``tags.`mlflow.prompt.is_prompt` != 'true'``
/// could not select them with a plain tag test. Unless the first prompt-tag clause asks for
/// prompts (`= 'true'` or `!= 'false'`, either case), prompt-tag clauses are dropped and every
/// name with a version or model tagged `'true'` is excluded instead.
fn registry_filter<E: Located>(
    clauses: &[Clause<E>],
    tag_of: fn(&E) -> Option<&String>,
    prompt_lookup: &str,
    mut builder: Builder,
) -> SqlCondition {
    let is_prompt_clause =
        |clause: &&Clause<E>| tag_of(&clause.entity).is_some_and(|key| key == PROMPT_TAG);
    let querying_prompts = clauses.iter().find(is_prompt_clause).is_some_and(|clause| {
        match (&clause.comparator, &clause.operand) {
            (Comparator::Eq, Operand::Text(value)) => value.eq_ignore_ascii_case("true"),
            (Comparator::Ne, Operand::Text(value)) => value.eq_ignore_ascii_case("false"),
            _ => false,
        }
    });
    if querying_prompts {
        return builder.filter(clauses);
    }
    let mut parts: Vec<String> = clauses
        .iter()
        .filter(|clause| !is_prompt_clause(clause))
        .map(|clause| format!("({})", builder.clause(clause)))
        .collect();
    let key = builder.bind(SqlValue::Text(PROMPT_TAG.to_owned()));
    let value = builder.bind(SqlValue::Text("true".to_owned()));
    parts.push(format!(
        "NOT EXISTS ({prompt_lookup} AND p.\"key\" = {key} AND p.\"value\" = {value})"
    ));
    SqlCondition {
        sql: parts.join(" AND "),
        params: builder.params,
    }
}

/// The `ORDER BY` list (without the keywords) for runs aliased `r`: the keys in order, runs
/// missing a key last, then MLflow's `start_time DESC, run_id ASC`.
#[allow(dead_code)]
pub(crate) fn order_by_sql(
    keys: &[OrderKey],
    dialect: Dialect,
    first_param: usize,
) -> SqlCondition {
    ordered(
        keys,
        dialect,
        first_param,
        "r.\"start_time\" DESC, r.\"run_id\" ASC",
    )
}

/// The `ORDER BY` list for model versions aliased `mv`, then `name ASC, version DESC`.
#[allow(dead_code)]
pub(crate) fn model_version_order_by_sql(
    keys: &[OrderKey<ModelVersionEntity>],
    dialect: Dialect,
    first_param: usize,
) -> SqlCondition {
    ordered(
        keys,
        dialect,
        first_param,
        "mv.\"name\" ASC, mv.\"version\" DESC",
    )
}

/// The `ORDER BY` list for registered models aliased `rm`, then `name ASC`.
#[allow(dead_code)]
pub(crate) fn registered_model_order_by_sql(
    keys: &[OrderKey<RegisteredModelEntity>],
    dialect: Dialect,
    first_param: usize,
) -> SqlCondition {
    ordered(keys, dialect, first_param, "rm.\"name\" ASC")
}

fn ordered<E: Located>(
    keys: &[OrderKey<E>],
    dialect: Dialect,
    first_param: usize,
    tiebreakers: &str,
) -> SqlCondition {
    let mut builder = builder(dialect, first_param);
    let mut parts: Vec<String> = keys.iter().map(|key| builder.order_key(key)).collect();
    parts.push(tiebreakers.to_owned());
    SqlCondition {
        sql: parts.join(", "),
        params: builder.params,
    }
}

#[cfg(test)]
mod tests;
