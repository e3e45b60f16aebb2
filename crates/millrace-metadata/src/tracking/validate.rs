//! What MLflow accepts in a write, checked before anything is written: key names, value
//! lengths and batch sizes (`mlflow/utils/validation.py`'s limits, so that a script that works
//! against an MLflow server works here, and one that MLflow refuses is refused the same way).

use crate::error::{MetadataError, Result};
use crate::tracking::model::LogBatch;

/// The longest key of a parameter, tag or metric.
pub const MAX_KEY_LENGTH: usize = 250;
/// The longest parameter value.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// The longest tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// The most metric points in one batch.
pub const MAX_BATCH_METRICS: usize = 1000;
/// The most parameters and tags together in one batch.
pub const MAX_BATCH_PARAMS_AND_TAGS: usize = 100;
/// The most entries of any kind in one batch.
pub const MAX_BATCH_ENTRIES: usize = 1000;

fn invalid(message: String) -> MetadataError {
    MetadataError::InvalidArgument(message)
}

/// Checks a parameter, tag or metric key: 1 to 250 characters among letters, digits, `_`, `-`,
/// `.`, ` `, `:` and `/`, and no path that leaves its directory (`..` as a segment).
pub fn check_key(what: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(invalid(format!("a {what} needs a name")));
    }
    if key.chars().count() > MAX_KEY_LENGTH {
        return Err(invalid(format!(
            "{what} name `{}…` is longer than {MAX_KEY_LENGTH} characters",
            key.chars().take(40).collect::<String>()
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || "_-. :/".contains(c);
    if let Some(bad) = key.chars().find(|c| !allowed(*c)) {
        return Err(invalid(format!(
            "{what} name `{key}` has `{bad}`: names may contain letters, digits, underscores, dashes, periods, spaces, colons and slashes"
        )));
    }
    if key.split('/').any(|segment| segment == "..") || key.starts_with('/') {
        return Err(invalid(format!(
            "{what} name `{key}` is a path that leaves its directory"
        )));
    }
    Ok(())
}

/// Checks a tag: its key, and a value of at most [`MAX_TAG_VALUE_LENGTH`] characters.
pub fn check_tag(key: &str, value: &str) -> Result<()> {
    check_key("tag", key)?;
    if value.chars().count() > MAX_TAG_VALUE_LENGTH {
        return Err(invalid(format!(
            "tag `{key}`'s value is longer than {MAX_TAG_VALUE_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Checks a whole batch: sizes, keys, value lengths, and that no parameter is given two
/// different values.
pub fn check_batch(batch: &LogBatch) -> Result<()> {
    let entries = batch.metrics.len() + batch.params.len() + batch.tags.len();
    if batch.metrics.len() > MAX_BATCH_METRICS {
        return Err(invalid(format!(
            "a batch may hold at most {MAX_BATCH_METRICS} metrics; this one has {}",
            batch.metrics.len()
        )));
    }
    if batch.params.len() + batch.tags.len() > MAX_BATCH_PARAMS_AND_TAGS {
        return Err(invalid(format!(
            "a batch may hold at most {MAX_BATCH_PARAMS_AND_TAGS} parameters and tags together; this one has {}",
            batch.params.len() + batch.tags.len()
        )));
    }
    if entries > MAX_BATCH_ENTRIES {
        return Err(invalid(format!(
            "a batch may hold at most {MAX_BATCH_ENTRIES} entries; this one has {entries}"
        )));
    }
    for metric in &batch.metrics {
        check_key("metric", &metric.key)?;
    }
    let mut seen = std::collections::BTreeMap::new();
    for (key, value) in &batch.params {
        check_key("parameter", key)?;
        if value.chars().count() > MAX_PARAM_VALUE_LENGTH {
            return Err(invalid(format!(
                "parameter `{key}`'s value is longer than {MAX_PARAM_VALUE_LENGTH} characters"
            )));
        }
        if let Some(previous) = seen.insert(key.as_str(), value.as_str())
            && previous != value
        {
            return Err(invalid(format!(
                "parameter `{key}` is given two values in one batch (`{previous}` and `{value}`)"
            )));
        }
    }
    for (key, value) in &batch.tags {
        check_tag(key, value)?;
    }
    Ok(())
}

/// Checks a run id given by a caller: what MLflow's ids look like (a letter or digit, then up
/// to 255 letters, digits, `_` or `-`).
pub fn check_run_id(run_id: &str) -> Result<()> {
    let mut chars = run_id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = run_id.len() <= 256
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "`{run_id}` is not a run id (a letter or digit, then letters, digits, `_` or `-`)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_paths_out_of_their_directory_are_refused() {
        assert!(check_key("metric", "a/../b").is_err());
        assert!(check_key("metric", "/etc").is_err());
        assert!(check_key("metric", "evaluator.rmse").is_ok());
        assert!(check_key("metric", "train/loss 1:2").is_ok());
        assert!(check_key("metric", "").is_err());
        assert!(check_key("metric", "a;b").is_err());
    }

    #[test]
    fn a_batch_over_mlflow_limits_is_refused_whole() {
        let batch = LogBatch {
            metrics: (0..1001)
                .map(|i| crate::tracking::model::Metric {
                    key: "loss".into(),
                    point: crate::tracking::model::MetricPoint {
                        value: 1.0,
                        timestamp: 0,
                        step: i,
                    },
                })
                .collect(),
            ..LogBatch::default()
        };
        let message = check_batch(&batch).unwrap_err().to_string();
        assert!(message.contains("at most 1000 metrics"), "{message}");
    }

    #[test]
    fn run_ids_are_letters_digits_underscores_and_dashes() {
        assert!(check_run_id("20261127T152300-3fa9c1").is_ok());
        assert!(check_run_id("0123abcd").is_ok());
        assert!(check_run_id("../x").is_err());
        assert!(check_run_id("").is_err());
    }
}
