//! MLflow's search filters and `order_by` entries, parsed into typed clauses and compiled to
//! SQL for the tracking store.
//!
//! # Grammar
//!
//! ```text
//! filter     := ε | clause (AND clause)*             AND in any case; there is no OR
//! clause     := key comparator operand | key IS [NOT] NULL
//! key        := [prefix "."] name                     prefix: metric(s), param(s), parameter(s),
//!                                                     tag(s), attribute(s), attr, run; none = attribute
//! name       := [A-Za-z0-9_.]+ | `text` | "text"
//! comparator := = | != | > | >= | < | <= | LIKE | ILIKE | IN | NOT IN   (keywords in any case)
//! operand    := number | 'text' | "text" | "(" text ("," text)* ")"
//! order_by   := key [ASC | DESC]                      ASC when omitted
//! ```
//!
//! What each entity allows, as MLflow's `SearchUtils` (3.17) does:
//!
//! | entity | comparators | operand |
//! |---|---|---|
//! | `metrics.k` | `= != > >= < <=` | number |
//! | `params.k`, `tags.k` | `= != LIKE ILIKE`, `IS [NOT] NULL` | string |
//! | `run_id` | `= != LIKE ILIKE IN NOT IN` | string or list |
//! | `run_name` (`Run name`), `status`, `user_id`, `artifact_uri` | `= != LIKE ILIKE` | string |
//! | `start_time` (`created`), `end_time` | `= != > >= < <=` | number |
//!
//! Model-version filters ([`ModelVersionFilter`]) take `name`, `run_id` (both also with
//! `IN`), `source_path`, `version_number` (numeric) and `tags.k` (`= != LIKE ILIKE`);
//! registered-model filters ([`RegisteredModelFilter`]) take `name` (also `IN`) and `tags.k`.
//! Both order by `name`, `creation_timestamp`, `last_updated_timestamp`, and model versions
//! also by `version_number`.
//!
//! Strings are taken as written between their quotes: there are no escapes, so a value holding
//! `'` is written in double quotes. `LIKE` patterns use `%` and `_` with no escape character.
//!
//! # Cost
//!
//! Parsing is one pass over the text. Each compiled clause is one `EXISTS` subquery on a
//! primary-key prefix (`run_id, key`) or one comparison on the run's own column.
//!
//! ```
//! use millrace_metadata::tracking::search::{Comparator, Entity, Operand, RunFilter};
//!
//! let filter = RunFilter::parse("metrics.`Evaluator.rmse` < 0.5 and params.model = 'gbt'")?;
//! assert_eq!(filter.clauses[0].entity, Entity::Metric("Evaluator.rmse".into()));
//! assert_eq!(filter.clauses[0].comparator, Comparator::Lt);
//! assert_eq!(filter.clauses[1].operand, Operand::Text("gbt".into()));
//! # Ok::<(), millrace_metadata::MetadataError>(())
//! ```

mod cursor;
mod sql;

pub(crate) use sql::{
    SqlCondition, model_version_order_by_sql, order_by_sql, registered_model_order_by_sql,
};

use crate::error::{MetadataError, Result};
use cursor::{Cursor, Problem, RawKey, RawOperand, found};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `LIKE`, case-sensitive on every backend.
    Like,
    /// `ILIKE`, case-insensitive.
    ILike,
    /// `IN (...)`
    In,
    /// `NOT IN (...)`
    NotIn,
    /// `IS NULL`: the key is not logged.
    IsNull,
    /// `IS NOT NULL`: the key is logged.
    IsNotNull,
}

impl Comparator {
    fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
}

/// The right-hand side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A number (metrics, times, version numbers).
    Number(f64),
    /// A string.
    Text(String),
    /// A list of strings, for `IN` and `NOT IN`.
    List(Vec<String>),
    /// No operand: `IS NULL`, `IS NOT NULL`.
    Null,
}

/// A column of a run that filters and orderings name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAttribute {
    /// `run_id`
    RunId,
    /// `run_name` (also `Run name`)
    RunName,
    /// `status`
    Status,
    /// `start_time` (also `created`)
    StartTime,
    /// `end_time`
    EndTime,
    /// `user_id`
    UserId,
    /// `artifact_uri`
    ArtifactUri,
}

/// What a run clause compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    /// The latest value of a metric.
    Metric(String),
    /// A parameter.
    Param(String),
    /// A tag.
    Tag(String),
    /// A column of the run.
    Attribute(RunAttribute),
}

/// What a model-version clause or ordering names.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelVersionEntity {
    /// `name`, the registered model's.
    Name,
    /// `version_number`
    VersionNumber,
    /// `run_id`
    RunId,
    /// `source_path`
    SourcePath,
    /// `creation_timestamp` (order_by only)
    CreationTimestamp,
    /// `last_updated_timestamp` (order_by only)
    LastUpdatedTimestamp,
    /// A model-version tag.
    Tag(String),
}

/// What a registered-model clause or ordering names.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisteredModelEntity {
    /// `name`
    Name,
    /// `creation_timestamp` (order_by only)
    CreationTimestamp,
    /// `last_updated_timestamp` (order_by only)
    LastUpdatedTimestamp,
    /// A registered-model tag.
    Tag(String),
}

/// One comparison: `metrics.loss < 0.5`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause<E = Entity> {
    /// What is compared.
    pub entity: E,
    /// How.
    pub comparator: Comparator,
    /// With what.
    pub operand: Operand,
}

/// A run search filter: the AND of its clauses; no clauses match every run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunFilter {
    /// The clauses, all of which must hold.
    pub clauses: Vec<Clause>,
}

/// A model-version search filter: the AND of its clauses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelVersionFilter {
    /// The clauses, all of which must hold.
    pub clauses: Vec<Clause<ModelVersionEntity>>,
}

/// A registered-model search filter: the AND of its clauses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisteredModelFilter {
    /// The clauses, all of which must hold.
    pub clauses: Vec<Clause<RegisteredModelEntity>>,
}

/// One `order_by` entry: `metrics.loss ASC`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey<E = Entity> {
    /// What to sort by.
    pub entity: E,
    /// Ascending (the default) or descending.
    pub ascending: bool,
}

/// How a key's values compare, which decides the comparators and operands it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A metric: numbers, never `LIKE`.
    Metric,
    /// A param or tag: strings; `IS [NOT] NULL` when `nullable`.
    KeyValue {
        /// Whether `IS NULL` and `IS NOT NULL` are allowed.
        nullable: bool,
    },
    /// A string column; `IN` lists when `lists`.
    TextColumn {
        /// Whether `IN` and `NOT IN` are allowed.
        lists: bool,
    },
    /// A numeric column.
    NumberColumn,
}

/// Whether a key is resolved for a filter or for an `order_by` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// In a filter clause.
    Filter,
    /// In an `order_by` entry.
    Order,
}

/// An entity a search names: runs' [`Entity`], [`ModelVersionEntity`],
/// [`RegisteredModelEntity`].
pub trait SearchKey: Sized {
    /// The entity a key names, or what to write instead.
    fn resolve(prefix: Option<&str>, name: &str, used: KeyUse)
    -> std::result::Result<Self, String>;
    /// How its values compare.
    fn kind(&self) -> ValueKind;
}

impl SearchKey for Entity {
    fn resolve(
        prefix: Option<&str>,
        name: &str,
        _used: KeyUse,
    ) -> std::result::Result<Self, String> {
        let attribute = || {
            Ok(Entity::Attribute(match name {
                "run_id" => RunAttribute::RunId,
                "run_name" | "run name" | "Run name" | "Run Name" => RunAttribute::RunName,
                "status" => RunAttribute::Status,
                "start_time" | "created" | "Created" => RunAttribute::StartTime,
                "end_time" => RunAttribute::EndTime,
                "user_id" => RunAttribute::UserId,
                "artifact_uri" => RunAttribute::ArtifactUri,
                _ => {
                    return Err(format!(
                        "`{name}` is not a run attribute: use run_id, run_name, status, start_time, end_time, user_id or artifact_uri, or metrics.{name}, params.{name}, tags.{name}"
                    ));
                }
            }))
        };
        match prefix {
            None | Some("attribute" | "attributes" | "attr" | "run") => attribute(),
            Some("metric" | "metrics") => Ok(Entity::Metric(name.to_owned())),
            Some("param" | "params" | "parameter" | "parameters") => {
                Ok(Entity::Param(name.to_owned()))
            }
            Some("tag" | "tags") => Ok(Entity::Tag(name.to_owned())),
            Some("dataset" | "datasets") => {
                Err("dataset filters are not supported by this store".to_owned())
            }
            Some(other) => Err(format!(
                "`{other}` is not an entity: use metrics., params., tags. or attributes. (or the singular forms)"
            )),
        }
    }

    fn kind(&self) -> ValueKind {
        match self {
            Entity::Metric(_) => ValueKind::Metric,
            Entity::Param(_) | Entity::Tag(_) => ValueKind::KeyValue { nullable: true },
            Entity::Attribute(RunAttribute::StartTime | RunAttribute::EndTime) => {
                ValueKind::NumberColumn
            }
            Entity::Attribute(RunAttribute::RunId) => ValueKind::TextColumn { lists: true },
            Entity::Attribute(_) => ValueKind::TextColumn { lists: false },
        }
    }
}

impl SearchKey for ModelVersionEntity {
    fn resolve(
        prefix: Option<&str>,
        name: &str,
        used: KeyUse,
    ) -> std::result::Result<Self, String> {
        match prefix {
            Some("tag" | "tags") => Ok(ModelVersionEntity::Tag(name.to_owned())),
            None | Some("attribute" | "attributes" | "attr") => match (name, used) {
                ("name", _) => Ok(ModelVersionEntity::Name),
                ("version_number", _) => Ok(ModelVersionEntity::VersionNumber),
                ("run_id", KeyUse::Filter) => Ok(ModelVersionEntity::RunId),
                ("source_path", KeyUse::Filter) => Ok(ModelVersionEntity::SourcePath),
                ("creation_timestamp", KeyUse::Order) => Ok(ModelVersionEntity::CreationTimestamp),
                ("last_updated_timestamp", KeyUse::Order) => {
                    Ok(ModelVersionEntity::LastUpdatedTimestamp)
                }
                _ => Err(match used {
                    KeyUse::Filter => format!(
                        "model versions cannot be filtered by `{name}`: use name, version_number, run_id, source_path or tags.<key>"
                    ),
                    KeyUse::Order => format!(
                        "model versions cannot be ordered by `{name}`: use name, version_number, creation_timestamp or last_updated_timestamp"
                    ),
                }),
            },
            Some(other) => Err(format!(
                "model versions have no `{other}.` keys: use name, version_number, run_id, source_path or tags.<key>"
            )),
        }
    }

    fn kind(&self) -> ValueKind {
        match self {
            ModelVersionEntity::Name | ModelVersionEntity::RunId => {
                ValueKind::TextColumn { lists: true }
            }
            ModelVersionEntity::SourcePath => ValueKind::TextColumn { lists: false },
            ModelVersionEntity::VersionNumber
            | ModelVersionEntity::CreationTimestamp
            | ModelVersionEntity::LastUpdatedTimestamp => ValueKind::NumberColumn,
            ModelVersionEntity::Tag(_) => ValueKind::KeyValue { nullable: false },
        }
    }
}

impl SearchKey for RegisteredModelEntity {
    fn resolve(
        prefix: Option<&str>,
        name: &str,
        used: KeyUse,
    ) -> std::result::Result<Self, String> {
        match prefix {
            Some("tag" | "tags") => Ok(RegisteredModelEntity::Tag(name.to_owned())),
            None | Some("attribute" | "attributes" | "attr") => match (name, used) {
                ("name", _) => Ok(RegisteredModelEntity::Name),
                ("creation_timestamp", KeyUse::Order) => {
                    Ok(RegisteredModelEntity::CreationTimestamp)
                }
                ("last_updated_timestamp", KeyUse::Order) => {
                    Ok(RegisteredModelEntity::LastUpdatedTimestamp)
                }
                _ => Err(match used {
                    KeyUse::Filter => format!(
                        "registered models cannot be filtered by `{name}`: use name or tags.<key>"
                    ),
                    KeyUse::Order => format!(
                        "registered models cannot be ordered by `{name}`: use name, creation_timestamp or last_updated_timestamp"
                    ),
                }),
            },
            Some(other) => Err(format!(
                "registered models have no `{other}.` keys: use name or tags.<key>"
            )),
        }
    }

    fn kind(&self) -> ValueKind {
        match self {
            RegisteredModelEntity::Name => ValueKind::TextColumn { lists: true },
            RegisteredModelEntity::CreationTimestamp
            | RegisteredModelEntity::LastUpdatedTimestamp => ValueKind::NumberColumn,
            RegisteredModelEntity::Tag(_) => ValueKind::KeyValue { nullable: false },
        }
    }
}

impl RunFilter {
    /// Parses an MLflow run filter (`runs/search`'s `filter`); empty text matches every run.
    pub fn parse(text: &str) -> Result<RunFilter> {
        Ok(RunFilter {
            clauses: parse_clauses(text)?,
        })
    }
}

impl ModelVersionFilter {
    /// Parses an MLflow model-version filter (`model-versions/search`'s `filter`).
    pub fn parse(text: &str) -> Result<ModelVersionFilter> {
        Ok(ModelVersionFilter {
            clauses: parse_clauses(text)?,
        })
    }
}

impl RegisteredModelFilter {
    /// Parses an MLflow registered-model filter (`registered-models/search`'s `filter`).
    pub fn parse(text: &str) -> Result<RegisteredModelFilter> {
        Ok(RegisteredModelFilter {
            clauses: parse_clauses(text)?,
        })
    }
}

impl<E: SearchKey> OrderKey<E> {
    /// Parses one `order_by` entry: `metrics.loss`, `attributes.start_time DESC`.
    pub fn parse(text: &str) -> Result<OrderKey<E>> {
        parse_order_key(text).map_err(|(position, reason)| MetadataError::InvalidOrderBy {
            order_by: text.to_owned(),
            position,
            reason,
        })
    }
}

fn parse_order_key<E: SearchKey>(text: &str) -> std::result::Result<OrderKey<E>, Problem> {
    let mut cursor = Cursor::new(text);
    let key = cursor.key()?;
    let entity = resolve::<E>(&key, KeyUse::Order)?;
    let ascending = if cursor.eat_keyword("DESC") {
        false
    } else {
        cursor.eat_keyword("ASC");
        true
    };
    if !cursor.at_end() {
        return Err((
            cursor.position(),
            format!(
                "expected ASC, DESC or the end after the key, found {}",
                found(&text[cursor.position()..])
            ),
        ));
    }
    Ok(OrderKey { entity, ascending })
}

fn resolve<E: SearchKey>(key: &RawKey, used: KeyUse) -> std::result::Result<E, Problem> {
    E::resolve(key.prefix.as_deref(), &key.name, used).map_err(|reason| (key.position, reason))
}

fn parse_clauses<E: SearchKey>(text: &str) -> Result<Vec<Clause<E>>> {
    clauses(text).map_err(|(position, reason)| MetadataError::InvalidFilter {
        filter: text.to_owned(),
        position,
        reason,
    })
}

fn clauses<E: SearchKey>(text: &str) -> std::result::Result<Vec<Clause<E>>, Problem> {
    let mut cursor = Cursor::new(text);
    let mut clauses = Vec::new();
    if cursor.at_end() {
        return Ok(clauses);
    }
    loop {
        clauses.push(clause(&mut cursor)?);
        if cursor.at_end() {
            return Ok(clauses);
        }
        let position = cursor.position();
        if cursor.eat_keyword("AND") {
            continue;
        }
        if cursor.peek_word().eq_ignore_ascii_case("OR") {
            return Err((
                position,
                "MLflow's search grammar has no OR: join clauses with AND, or run one search per alternative"
                    .to_owned(),
            ));
        }
        return Err((
            position,
            format!(
                "expected AND or the end after a clause, found {}",
                found(&text[position..])
            ),
        ));
    }
}

fn clause<E: SearchKey>(cursor: &mut Cursor<'_>) -> std::result::Result<Clause<E>, Problem> {
    let key = cursor.key()?;
    let entity = resolve::<E>(&key, KeyUse::Filter)?;
    let kind = entity.kind();
    let comparator_position = {
        cursor.skip_whitespace();
        cursor.position()
    };
    let comparator = cursor.comparator()?;
    let allowed: &[Comparator] = match kind {
        ValueKind::Metric | ValueKind::NumberColumn => &NUMERIC,
        ValueKind::KeyValue { nullable: true } => &NULLABLE_TEXT,
        ValueKind::KeyValue { nullable: false } | ValueKind::TextColumn { lists: false } => &TEXT,
        ValueKind::TextColumn { lists: true } => &LISTABLE_TEXT,
    };
    if !allowed.contains(&comparator) {
        let names: Vec<&str> = allowed.iter().map(|c| c.symbol()).collect();
        return Err((
            comparator_position,
            format!(
                "`{}` cannot be compared with {}: it allows {}",
                key_text(&key),
                comparator.symbol(),
                names.join(" ")
            ),
        ));
    }
    if matches!(comparator, Comparator::IsNull | Comparator::IsNotNull) {
        return Ok(Clause {
            entity,
            comparator,
            operand: Operand::Null,
        });
    }
    cursor.skip_whitespace();
    let operand_position = cursor.position();
    let operand = cursor.operand()?;
    let listing = matches!(comparator, Comparator::In | Comparator::NotIn);
    let operand = match (kind, operand) {
        (ValueKind::Metric | ValueKind::NumberColumn, RawOperand::Number(number)) => {
            Operand::Number(number)
        }
        (ValueKind::Metric | ValueKind::NumberColumn, _) => {
            return Err((
                operand_position,
                format!(
                    "`{}` is numeric: compare it with a number such as 0.5",
                    key_text(&key)
                ),
            ));
        }
        (_, RawOperand::List(items)) if listing => Operand::List(items),
        (_, RawOperand::Text(text)) if !listing => Operand::Text(text),
        (_, _) if listing => {
            return Err((
                operand_position,
                format!(
                    "{} takes a list of quoted strings, as in ('a', 'b')",
                    comparator.symbol()
                ),
            ));
        }
        (_, _) => {
            return Err((
                operand_position,
                format!(
                    "`{}` is a string: compare it with a value in single or double quotes, as in '{}'",
                    key_text(&key),
                    "value"
                ),
            ));
        }
    };
    Ok(Clause {
        entity,
        comparator,
        operand,
    })
}

const NUMERIC: [Comparator; 6] = [
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Gt,
    Comparator::Ge,
    Comparator::Lt,
    Comparator::Le,
];
const TEXT: [Comparator; 4] = [
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
];
const NULLABLE_TEXT: [Comparator; 6] = [
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::IsNull,
    Comparator::IsNotNull,
];
const LISTABLE_TEXT: [Comparator; 6] = [
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
];

fn key_text(key: &RawKey) -> String {
    match &key.prefix {
        Some(prefix) => format!("{prefix}.{}", key.name),
        None => key.name.clone(),
    }
}

#[cfg(test)]
mod tests;
