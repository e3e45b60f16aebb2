//! How tracking answers print: run comparisons, metric histories, searches, experiments and
//! the model registry.

use millrace_metadata::registry::{ModelVersion, RegisteredModel};
use millrace_metadata::tracking::{Experiment, MetricPoint, TrackedRun};
use millrace_runner::RunComparison;
use serde_json::{Value as Json, json};

use super::{Rendered, time};

/// Pads cells into aligned columns.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(column, cell)| format!("{cell:<width$}", width = widths[column]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// A metric value as people read it.
fn number(value: f64) -> String {
    millrace_runner::compare::metric_text(value)
}

/// `runs compare`: a column per run, a row per parameter and metric, `*` where they differ,
/// and for two runs the metrics' change from the first to the second.
pub(crate) fn comparison(comparison: &RunComparison) -> Rendered {
    let two = comparison.runs.len() == 2;
    let mut header = vec![String::new(), String::new()];
    header.extend(comparison.runs.iter().map(|run| run.run_id.clone()));
    if two {
        header.push("change".to_owned());
    }
    let mut rows = vec![header];
    let mut status = vec![String::new(), "status".to_owned()];
    status.extend(comparison.runs.iter().map(|run| run.status.to_string()));
    rows.push(status);
    for row in &comparison.params {
        let mut cells = vec![
            if row.differs { "*" } else { "" }.to_owned(),
            format!("params.{}", row.key),
        ];
        cells.extend(
            row.values
                .iter()
                .map(|value| value.clone().unwrap_or_else(|| "-".into())),
        );
        rows.push(cells);
    }
    for row in &comparison.metrics {
        let mut cells = vec![
            if row.differs { "*" } else { "" }.to_owned(),
            format!("metrics.{}", row.key),
        ];
        cells.extend(
            row.values
                .iter()
                .map(|value| value.map_or_else(|| "-".to_owned(), number)),
        );
        if two
            && let (Some(Some(first)), Some(Some(second))) = (row.values.first(), row.values.get(1))
        {
            let change = second - first;
            cells.push(if change == 0.0 {
                String::new()
            } else if change > 0.0 {
                format!("+{}", number(change))
            } else {
                number(change)
            });
        }
        rows.push(cells);
    }
    let differing = comparison.params.iter().filter(|row| row.differs).count()
        + comparison.metrics.iter().filter(|row| row.differs).count();
    let mut lines = table(&rows);
    lines.push(format!(
        "{differing} of {} values differ (marked *)",
        comparison.params.len() + comparison.metrics.len()
    ));
    Rendered {
        json: serde_json::to_value(comparison).unwrap_or(Json::Null),
        lines,
    }
}

/// `runs metric`: a metric's points, by step.
pub(crate) fn metric_history(run_id: &str, key: &str, points: &[MetricPoint]) -> Rendered {
    let mut rows = vec![vec![
        "step".to_owned(),
        "value".to_owned(),
        "time".to_owned(),
    ]];
    rows.extend(points.iter().map(|point| {
        vec![
            point.step.to_string(),
            number(point.value),
            time(point.timestamp),
        ]
    }));
    let mut lines = vec![format!("{key} of run {run_id}: {} points", points.len())];
    lines.extend(table(&rows));
    Rendered {
        json: json!({"run_id": run_id, "key": key, "metrics": points}),
        lines,
    }
}

/// `runs search`: one line per run with its status and the values the filter named.
pub(crate) fn run_search(runs: &[TrackedRun], next_offset: Option<u64>) -> Rendered {
    let mut rows = vec![vec![
        "run".to_owned(),
        "status".to_owned(),
        "started".to_owned(),
        "params".to_owned(),
        "metrics".to_owned(),
    ]];
    for run in runs {
        let params: Vec<String> = run.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let metrics: Vec<String> = run
            .metrics
            .iter()
            .map(|(k, point)| format!("{k}={}", number(point.value)))
            .collect();
        rows.push(vec![
            run.info.run_id.clone(),
            run.info.status.to_string(),
            time(run.info.start_time),
            params.join(" "),
            metrics.join(" "),
        ]);
    }
    let mut lines = table(&rows);
    if let Some(next) = next_offset {
        lines.push(format!("more: --offset {next}"));
    }
    Rendered {
        json: json!({"runs": runs, "next_offset": next_offset}),
        lines,
    }
}

/// `experiments list`.
pub(crate) fn experiments(experiments: &[Experiment]) -> Rendered {
    let mut rows = vec![vec![
        "id".to_owned(),
        "name".to_owned(),
        "stage".to_owned(),
        "created".to_owned(),
    ]];
    rows.extend(experiments.iter().map(|experiment| {
        vec![
            experiment.experiment_id.to_string(),
            experiment.name.clone(),
            experiment.lifecycle_stage.as_str().to_owned(),
            time(experiment.creation_time),
        ]
    }));
    Rendered {
        json: json!({ "experiments": experiments }),
        lines: table(&rows),
    }
}

fn version_row(version: &ModelVersion) -> Vec<String> {
    vec![
        version.version.to_string(),
        version.approval.to_string(),
        version.current_stage.to_string(),
        version.aliases.join(","),
        version
            .artifact_id
            .map_or_else(|| "-".to_owned(), |id| format!("artifact {id}")),
        version.user_id.clone(),
        time(version.creation_time),
    ]
}

const VERSION_HEADER: [&str; 7] = [
    "version",
    "approval",
    "stage",
    "aliases",
    "model",
    "by",
    "registered",
];

/// `models list`.
pub(crate) fn registered_models(models: &[RegisteredModel]) -> Rendered {
    let mut rows = vec![vec![
        "name".to_owned(),
        "latest".to_owned(),
        "aliases".to_owned(),
        "updated".to_owned(),
    ]];
    rows.extend(models.iter().map(|model| {
        let latest = model.latest_versions.iter().map(|v| v.version).max();
        let aliases: Vec<String> = model
            .aliases
            .iter()
            .map(|(alias, version)| format!("{alias}=v{version}"))
            .collect();
        vec![
            model.name.clone(),
            latest.map_or_else(|| "-".to_owned(), |v| format!("v{v}")),
            aliases.join(","),
            time(model.last_updated_time),
        ]
    }));
    Rendered {
        json: json!({ "registered_models": models }),
        lines: table(&rows),
    }
}

/// `models show`: the model and every version.
pub(crate) fn registered_model(model: &RegisteredModel, versions: &[ModelVersion]) -> Rendered {
    let mut lines = vec![format!("{}: {}", model.name, model.description)];
    let mut rows = vec![
        VERSION_HEADER
            .iter()
            .map(|cell| (*cell).to_owned())
            .collect(),
    ];
    rows.extend(versions.iter().map(version_row));
    lines.extend(table(&rows));
    Rendered {
        json: json!({ "registered_model": model, "versions": versions }),
        lines,
    }
}

/// What a registry command changed.
pub(crate) fn model_version(action: &str, version: &ModelVersion) -> Rendered {
    let mut rows = vec![
        VERSION_HEADER
            .iter()
            .map(|cell| (*cell).to_owned())
            .collect(),
    ];
    rows.push(version_row(version));
    let mut lines = vec![format!(
        "{action} {} version {}",
        version.name, version.version
    )];
    lines.extend(table(&rows));
    Rendered {
        json: json!({ "action": action, "model_version": version }),
        lines,
    }
}
