//! The Chicago taxi continuous-training pipeline of the course, with the components that exist
//! so far: fare regression on the real trip data (`examples/data/chicago_taxi/data.csv`).
//!
//! ingest → statistics → train (least-squares linear regression of the fare) → evaluate on the
//! held-out split (blessed when the RMSE is below the `rmse_max` runtime parameter, default 10,
//! and not worse than the last blessed model) → push (only when blessed) to a versioned serving
//! directory.
//!
//! ```text
//! cargo run --release --example taxi                      # runs the pipeline (the README's main job)
//! cargo run --release --example taxi -- run --param rmse_max=5
//! cargo run --release --example taxi -- runs list
//! ```
//!
//! The data and model components of the project's later work (Parquet examples, statistics with
//! sketches, schemas, validation, transforms, Rust and Python trainers) replace the simple
//! in-example components here.

use std::path::Path;

use millrace::prelude::*;
use serde::{Deserialize, Serialize};

/// The features the regression uses, and the label.
const FEATURES: [&str; 2] = ["trip_miles", "trip_seconds"];
const LABEL: &str = "fare";

/// One usable row: the features and the label, all present and finite.
fn read_rows(path: &Path) -> Result<Vec<([f64; 2], f64)>, ComponentError> {
    let mut reader = csv::Reader::from_path(path)?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or_else(|| ComponentError::new(format!("{}: no column `{name}`", path.display())))
    };
    let (miles, seconds, fare) = (column(FEATURES[0])?, column(FEATURES[1])?, column(LABEL)?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let number = |index: usize| {
            record
                .get(index)
                .and_then(|text| text.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite())
        };
        if let (Some(miles), Some(seconds), Some(fare)) =
            (number(miles), number(seconds), number(fare))
        {
            rows.push(([miles, seconds], fare));
        }
    }
    Ok(rows)
}

fn write_rows(path: &Path, rows: &[([f64; 2], f64)]) -> Result<(), ComponentError> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record([FEATURES[0], FEATURES[1], LABEL])?;
    for (features, label) in rows {
        writer.write_record([
            features[0].to_string(),
            features[1].to_string(),
            label.to_string(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Reads the trips, keeps the usable rows, and splits them 2 : 1 into train and eval by a hash
/// of the row number.
#[millrace::component(kind = "taxi.Ingest")]
async fn ingest(examples: Output<Examples>, source: String) -> Result<(), ComponentError> {
    let rows = read_rows(Path::new(&source))?;
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for (index, row) in rows.into_iter().enumerate() {
        let bucket = (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61;
        if bucket % 3 == 2 {
            eval.push(row);
        } else {
            train.push(row);
        }
    }
    write_rows(&examples.uri().join("train.csv"), &train)?;
    write_rows(&examples.uri().join("eval.csv"), &eval)?;
    examples.set_property("span", 1)?;
    examples.set_property("split_names", r#"["train","eval"]"#)?;
    examples.set_custom_property("train_rows", train.len() as i64);
    examples.set_custom_property("eval_rows", eval.len() as i64);
    Ok(())
}

/// Per-column count, mean, standard deviation, minimum and maximum of the train split.
#[millrace::component(kind = "taxi.Statistics")]
async fn statistics(
    examples: Input<Examples>,
    statistics: Output<ExampleStatistics>,
) -> Result<(), ComponentError> {
    let rows = read_rows(&examples.uri().join("train.csv"))?;
    let mut report = serde_json::Map::new();
    for (index, name) in FEATURES.iter().chain([&LABEL]).enumerate() {
        let values: Vec<f64> = rows
            .iter()
            .map(|(features, label)| if index < 2 { features[index] } else { *label })
            .collect();
        let count = values.len() as f64;
        let mean = values.iter().sum::<f64>() / count.max(1.0);
        let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / count.max(1.0);
        report.insert(
            (*name).to_owned(),
            serde_json::json!({
                "count": values.len(),
                "mean": mean,
                "std_dev": variance.sqrt(),
                "min": values.iter().copied().fold(f64::INFINITY, f64::min),
                "max": values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }),
        );
    }
    std::fs::write(
        statistics.uri().join("statistics.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    statistics.set_property("span", 1)?;
    statistics.set_property("split_names", r#"["train"]"#)?;
    Ok(())
}

/// A linear model `fare = w0 + w1 * trip_miles + w2 * trip_seconds`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LinearModel {
    weights: [f64; 3],
}

impl LinearModel {
    fn predict(&self, features: &[f64; 2]) -> f64 {
        self.weights[0] + self.weights[1] * features[0] + self.weights[2] * features[1]
    }

    fn load(dir: &Path) -> Result<Self, ComponentError> {
        Ok(serde_json::from_slice(&std::fs::read(
            dir.join("model.json"),
        )?)?)
    }
}

/// Solves the 3×3 normal equations by Gaussian elimination with partial pivoting.
fn least_squares(rows: &[([f64; 2], f64)], ridge: f64) -> Result<[f64; 3], ComponentError> {
    let mut a = [[0.0f64; 4]; 3];
    for (features, label) in rows {
        let x = [1.0, features[0], features[1]];
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += x[i] * x[j];
            }
            a[i][3] += x[i] * label;
        }
    }
    for (i, row) in a.iter_mut().enumerate().skip(1) {
        row[i] += ridge;
    }
    for column in 0..3 {
        let pivot = (column..3)
            .max_by(|&p, &q| a[p][column].abs().total_cmp(&a[q][column].abs()))
            .unwrap_or(column);
        a.swap(column, pivot);
        if a[column][column].abs() < 1e-12 {
            return Err(ComponentError::new(
                "the features are degenerate: no unique fit",
            ));
        }
        let pivot_row = a[column];
        for (index, row) in a.iter_mut().enumerate() {
            if index != column {
                let factor = row[column] / pivot_row[column];
                for (value, pivot_value) in row.iter_mut().zip(pivot_row).skip(column) {
                    *value -= factor * pivot_value;
                }
            }
        }
    }
    Ok([a[0][3] / a[0][0], a[1][3] / a[1][1], a[2][3] / a[2][2]])
}

/// Fits the fare on the train split.
#[millrace::component(kind = "taxi.Trainer")]
async fn trainer(
    examples: Input<Examples>,
    model: Output<Model>,
    ridge: f64,
) -> Result<(), ComponentError> {
    let rows = read_rows(&examples.uri().join("train.csv"))?;
    let fitted = LinearModel {
        weights: least_squares(&rows, ridge)?,
    };
    std::fs::write(
        model.uri().join("model.json"),
        serde_json::to_vec_pretty(&fitted)?,
    )?;
    model.set_custom_property("framework", "rust-least-squares");
    model.set_custom_property("train_rows", rows.len() as i64);
    Ok(())
}

fn rmse(model: &LinearModel, rows: &[([f64; 2], f64)]) -> f64 {
    let squared: f64 = rows
        .iter()
        .map(|(features, label)| (model.predict(features) - label).powi(2))
        .sum();
    (squared / rows.len().max(1) as f64).sqrt()
}

/// RMSE on the eval split; blessed when below `rmse_max` and not worse than the baseline.
#[millrace::component(kind = "taxi.Evaluator")]
async fn evaluator(
    examples: Input<Examples>,
    model: Input<Model>,
    baseline: Option<Input<Model>>,
    evaluation: Output<ModelEvaluation>,
    blessing: Output<ModelBlessing>,
    rmse_max: f64,
) -> Result<(), ComponentError> {
    let rows = read_rows(&examples.uri().join("eval.csv"))?;
    let candidate = rmse(&LinearModel::load(model.uri())?, &rows);
    let baseline_rmse = match &baseline {
        Some(baseline) => Some(rmse(&LinearModel::load(baseline.uri())?, &rows)),
        None => None,
    };
    let below_threshold = candidate < rmse_max;
    let not_worse = baseline_rmse.is_none_or(|baseline| candidate <= baseline + 1e-9);
    let report = serde_json::json!({"rmse": candidate, "baseline_rmse": baseline_rmse, "rmse_max": rmse_max, "eval_rows": rows.len()});
    std::fs::write(
        evaluation.uri().join("evaluation.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    evaluation.set_custom_property("rmse", candidate);
    blessing.set_property("blessed", below_threshold && not_worse)?;
    blessing.set_custom_property("rmse", candidate);
    blessing.set_custom_property("current_model_id", model.artifact().id.unwrap_or_default());
    Ok(())
}

/// Copies a blessed model to `<serving_dir>/<version>/` (atomically: a rename).
#[millrace::component(kind = "taxi.Pusher")]
async fn pusher(
    model: Input<Model>,
    blessing: Input<ModelBlessing>,
    pushed: Output<PushedModel>,
    serving_dir: String,
) -> Result<(), ComponentError> {
    let _ = blessing;
    let version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or(0)
        .to_string();
    let target = Path::new(&serving_dir).join(&version);
    let staging = Path::new(&serving_dir).join(format!(".{version}.partial"));
    std::fs::create_dir_all(&staging)?;
    std::fs::copy(model.uri().join("model.json"), staging.join("model.json"))?;
    std::fs::rename(&staging, &target)?;
    std::fs::write(
        pushed.uri().join("destination.txt"),
        target.display().to_string(),
    )?;
    pushed.set_property("pushed", true)?;
    pushed.set_property("destination", target.display().to_string())?;
    pushed.set_property("pushed_version", version)?;
    Ok(())
}

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("chicago-taxi");
    p.description("Fare regression on the Chicago taxi trips, pushed when good enough.");
    let rmse_max = p.param("rmse_max", 10.0_f64);
    p.describe_param(
        &rmse_max,
        "The evaluation RMSE a model must stay below to be pushed.",
    );
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/chicago_taxi/data.csv"
    );

    let examples = p.add("example_gen", Ingest::new(data.to_owned()));
    p.add("statistics_gen", Statistics::new(examples.examples));
    let trained = p.add("trainer", Trainer::new(examples.examples, 1e-6).retries(2));
    let baseline = p.resolve(
        "latest_blessed_model",
        LatestBlessedModel::of(trained.model),
    );
    let evaluated = p.add(
        "evaluator",
        Evaluator::new(
            examples.examples,
            trained.model,
            Some(baseline.model),
            &rmse_max,
        ),
    );
    p.add(
        "pusher",
        Pusher::new(trained.model, evaluated.blessing, "serving/taxi".to_owned())
            .when(evaluated.blessing.is_blessed()),
    );
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // With no arguments, run the pipeline: `cargo run --release --example taxi`.
    let mut arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if arguments.len() == 1 {
        arguments.push("run".into());
    }
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    millrace::cli::run(arguments, pipeline, &mut stdout, &mut stderr).await
}
