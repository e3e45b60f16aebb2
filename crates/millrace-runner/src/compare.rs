//! Runs side by side: their parameters and metrics in rows, each row saying whether the runs
//! differ — what `runs compare A B [C…]` shows and what the web UI's comparison reads.

use std::collections::{BTreeMap, BTreeSet};

use millrace_metadata::MetadataError;
use millrace_metadata::MetadataStore;
use millrace_metadata::tracking::{RunStatus, TrackedRun};
use serde::Serialize;

use crate::error::{Result, RunnerError};

/// One compared run's identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedRun {
    /// Its id.
    pub run_id: String,
    /// Its display name.
    pub name: String,
    /// How it is or ended.
    pub status: RunStatus,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Milliseconds since the epoch, once ended.
    pub end_time: Option<i64>,
}

/// One parameter or metric across the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedRow<T> {
    /// The parameter's or metric's name.
    pub key: String,
    /// Its value in each run, in the order of the runs (`None`: the run has none).
    pub values: Vec<Option<T>>,
    /// Whether the runs do not all have the same value.
    pub differs: bool,
}

/// Runs side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunComparison {
    /// The runs, in the order asked.
    pub runs: Vec<ComparedRun>,
    /// Their parameters, by name.
    pub params: Vec<ComparedRow<String>>,
    /// Their metrics' latest values, by name (a pipeline run's are `<node>.<metric>`).
    pub metrics: Vec<ComparedRow<f64>>,
}

fn row<T: Clone>(
    key: &str,
    runs: &[TrackedRun],
    value: impl Fn(&TrackedRun) -> Option<T>,
    same: impl Fn(&T, &T) -> bool,
) -> ComparedRow<T> {
    let values: Vec<Option<T>> = runs.iter().map(value).collect();
    let differs = values.windows(2).any(|pair| match (&pair[0], &pair[1]) {
        (Some(a), Some(b)) => !same(a, b),
        (None, None) => false,
        _ => true,
    });
    ComparedRow {
        key: key.to_owned(),
        values,
        differs,
    }
}

/// Compares runs by id (pipeline runs, node runs or runs of scripts alike).
pub async fn compare_runs(store: &dyn MetadataStore, run_ids: &[String]) -> Result<RunComparison> {
    let mut runs = Vec::with_capacity(run_ids.len());
    for run_id in run_ids {
        match store
            .get_run(&crate::tracking::tracked_run_id(run_id))
            .await
        {
            Ok(run) => runs.push(run),
            Err(MetadataError::NotFound { .. }) => {
                return Err(RunnerError::UnknownRun {
                    run_id: run_id.clone(),
                    store: store.location(),
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
    let param_keys: BTreeSet<&String> = runs.iter().flat_map(|run| run.params.keys()).collect();
    let metric_keys: BTreeSet<&String> = runs.iter().flat_map(|run| run.metrics.keys()).collect();
    let params = param_keys
        .into_iter()
        .map(|key| {
            row(
                key,
                &runs,
                |run| run.params.get(key).cloned(),
                |a, b| a == b,
            )
        })
        .collect();
    let metrics = metric_keys
        .into_iter()
        .map(|key| {
            row(
                key,
                &runs,
                |run| run.metrics.get(key).map(|point| point.value),
                |a: &f64, b: &f64| a.to_bits() == b.to_bits() || a == b,
            )
        })
        .collect();
    Ok(RunComparison {
        runs: runs
            .iter()
            .map(|run| ComparedRun {
                run_id: run.info.run_id.clone(),
                name: run.info.name.clone(),
                status: run.info.status,
                start_time: run.info.start_time,
                end_time: run.info.end_time,
            })
            .collect(),
        params,
        metrics,
    })
}

/// A metric value as people read it: whole numbers without a fraction, others to six places
/// without trailing zeros, `NaN` as such (what `runs compare` and the web UI print).
///
/// ```
/// use millrace_runner::compare::metric_text;
/// assert_eq!(metric_text(12.0), "12");
/// assert_eq!(metric_text(0.125), "0.125");
/// assert_eq!(metric_text(1.0 / 3.0), "0.333333");
/// ```
pub fn metric_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == value.trunc() && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// The latest value of each metric of each run, by run id (for charts across runs).
pub fn metric_table(comparison: &RunComparison) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut table: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for row in &comparison.metrics {
        for (run, value) in comparison.runs.iter().zip(&row.values) {
            if let Some(value) = value {
                table
                    .entry(run.run_id.clone())
                    .or_default()
                    .insert(row.key.clone(), *value);
            }
        }
    }
    table
}
