//! Placeholder: MLflow's search grammar (replaced by the full parser).

use crate::error::{MetadataError, Result};
use crate::sql::{Dialect, SqlValue};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunFilter;

/// A parsed order-by clause.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey;

pub(crate) struct SqlCondition {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

impl RunFilter {
    /// Parses a filter.
    pub fn parse(text: &str) -> Result<RunFilter> {
        if text.trim().is_empty() {
            Ok(RunFilter)
        } else {
            Err(MetadataError::InvalidArgument(
                "filters are not supported yet".into(),
            ))
        }
    }

    pub(crate) fn to_sql(&self, _dialect: Dialect, _first: usize) -> SqlCondition {
        SqlCondition {
            sql: "1 = 1".into(),
            params: Vec::new(),
        }
    }
}

impl OrderKey {
    /// Parses an order-by clause.
    pub fn parse(_text: &str) -> Result<OrderKey> {
        Err(MetadataError::InvalidArgument(
            "ordering is not supported yet".into(),
        ))
    }
}

pub(crate) fn order_by_sql(_keys: &[OrderKey], _dialect: Dialect, _first: usize) -> SqlCondition {
    SqlCondition {
        sql: r#"r."start_time" DESC, r."run_id""#.into(),
        params: Vec::new(),
    }
}

/// A registry filter (placeholder: `name = '...'` only).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelVersionFilter(Option<String>);
/// A registry filter (placeholder).
pub type RegisteredModelFilter = ModelVersionFilter;

impl ModelVersionFilter {
    /// Parses a filter.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text.starts_with("tag.") {
            return Ok(ModelVersionFilter(None));
        }
        let rest = text
            .strip_prefix("name")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::trim);
        match rest
            .and_then(|value| value.strip_prefix('\''))
            .and_then(|value| value.strip_suffix('\''))
        {
            Some(name) => Ok(ModelVersionFilter(Some(name.to_owned()))),
            None => Err(MetadataError::InvalidArgument(format!(
                "unsupported filter `{text}`"
            ))),
        }
    }

    pub(crate) fn to_sql(&self, _dialect: Dialect, first: usize) -> SqlCondition {
        match &self.0 {
            Some(name) => SqlCondition {
                sql: format!(r#""name" = ${first}"#),
                params: vec![name.as_str().into()],
            },
            None => SqlCondition {
                sql: "1 = 1".into(),
                params: Vec::new(),
            },
        }
    }
}

pub(crate) fn registry_order_sql(
    _order_by: &[String],
    versions: bool,
    _dialect: Dialect,
    _first: usize,
) -> Result<SqlCondition> {
    Ok(SqlCondition {
        sql: if versions {
            r#""name", "version" DESC"#.into()
        } else {
            r#""name""#.into()
        },
        params: Vec::new(),
    })
}
