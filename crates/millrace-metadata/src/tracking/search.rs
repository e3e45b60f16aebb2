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
