//! The Evaluator component: a model's metrics on the eval split, overall and per slice of
//! feature values, judged against thresholds — absolute, and relative to a baseline model (the
//! last blessed one) — into a ModelEvaluation and a ModelBlessing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow_array::RecordBatch;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::manifest::Task;
use super::metrics::{
    ClassMetrics, Metric, binary_metrics, multiclass_metrics, regression_metrics,
};
use super::native::class_labels;
use super::trainer::LoadedModel;
use crate::data::examples_format::read_split;
use crate::data::report::html::{escape, format_float, format_int, page};
use crate::data::split::value_texts;
use crate::{DataError, Error, Result};

/// The file of the evaluation document inside a ModelEvaluation artifact.
pub const EVALUATION_FILE: &str = "evaluation.json";

/// The file of the HTML report inside a ModelEvaluation artifact.
pub const EVALUATION_REPORT_FILE: &str = "evaluation.html";

/// A condition the model's overall metric must meet to be blessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The metric.
    pub metric: Metric,
    /// The value must be below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<Param<f64>>,
    /// The value must be above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<Param<f64>>,
    /// The value must not be worse than the baseline model's by more than this (0: not worse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_worsening: Option<f64>,
}

impl Threshold {
    /// `metric` below `bound` (a value or a runtime parameter).
    pub fn below(metric: Metric, bound: impl Into<Param<f64>>) -> Self {
        Threshold {
            metric,
            below: Some(bound.into()),
            above: None,
            max_worsening: None,
        }
    }

    /// `metric` above `bound`.
    pub fn above(metric: Metric, bound: impl Into<Param<f64>>) -> Self {
        Threshold {
            metric,
            below: None,
            above: Some(bound.into()),
            max_worsening: None,
        }
    }

    /// `metric` not worse than the baseline's.
    pub fn not_worse_than_baseline(metric: Metric) -> Self {
        Threshold {
            metric,
            below: None,
            above: None,
            max_worsening: Some(0.0),
        }
    }
}

/// The evaluation document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The split evaluated.
    pub split: String,
    /// The metrics over every example with a prediction.
    pub overall: BTreeMap<String, f64>,
    /// The same metrics per slice: `feature=value` → metrics.
    pub slices: BTreeMap<String, BTreeMap<String, f64>>,
    /// The baseline model's overall metrics, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BTreeMap<String, f64>>,
    /// Each threshold's verdict.
    pub checks: Vec<Check>,
    /// Whether every threshold was met.
    pub blessed: bool,
    /// For a classifier: its classes, and the per-class metrics and confusion matrix overall
    /// and per slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationReport>,
}

/// A classifier's evaluation by class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// The model's classes, the order of `per_class` and of the confusion matrices' rows and
    /// columns.
    pub classes: Vec<String>,
    /// Over every example with a prediction.
    pub overall: ClassBreakdown,
    /// Per slice, the slices of [`Evaluation::slices`].
    pub slices: BTreeMap<String, ClassBreakdown>,
}

/// Per-class metrics and the confusion matrix of some examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassBreakdown {
    /// Precision, recall, F1 and support of every class.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion_matrix[label][predicted]`: how many examples of class `label` the model
    /// predicted as class `predicted` (rows true, columns predicted, as scikit-learn).
    pub confusion_matrix: Vec<Vec<u64>>,
}

/// One threshold's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was asked, in words.
    pub condition: String,
    /// The model's value.
    pub value: f64,
    /// Whether it was met.
    pub passed: bool,
}

/// The metrics a classifier's evaluation reports, in this order.
const CLASSIFIER_METRICS: [Metric; 8] = [
    Metric::Accuracy,
    Metric::MacroPrecision,
    Metric::MacroRecall,
    Metric::MacroF1,
    Metric::WeightedPrecision,
    Metric::WeightedRecall,
    Metric::WeightedF1,
    Metric::LogLoss,
];

fn metrics_of(task: &Task, labels: &[f64], predictions: &[f64]) -> Result<BTreeMap<String, f64>> {
    let mut metrics = BTreeMap::new();
    metrics.insert("example_count".to_owned(), labels.len() as f64);
    match task {
        Task::Regression => {
            let m = regression_metrics(labels, predictions)?;
            for metric in [Metric::Rmse, Metric::Mse, Metric::Mae, Metric::R2] {
                if let Some(value) = m.get(metric) {
                    metrics.insert(metric.name().to_owned(), value);
                }
            }
        }
        Task::BinaryClassification => {
            let truth: Vec<bool> = labels.iter().map(|&y| y >= 0.5).collect();
            let m = binary_metrics(&truth, predictions, 0.5)?;
            for metric in [
                Metric::Accuracy,
                Metric::Precision,
                Metric::Recall,
                Metric::F1,
                Metric::RocAuc,
                Metric::LogLoss,
            ] {
                if let Some(value) = m.get(metric) {
                    metrics.insert(metric.name().to_owned(), value);
                }
            }
        }
        Task::Classification => {
            return Err(Error::Metrics {
                reason: "a classifier's predictions are classes, not numbers".to_owned(),
            });
        }
    }
    Ok(metrics)
}

/// A classifier's metrics (`labels` are class indices, `probabilities` one row of `classes`
/// per example) and its breakdown by class.
fn class_metrics_of(
    labels: &[usize],
    probabilities: &[f64],
    classes: usize,
) -> Result<(BTreeMap<String, f64>, ClassBreakdown)> {
    let m = multiclass_metrics(labels, probabilities, classes)?;
    let mut metrics = BTreeMap::new();
    metrics.insert("example_count".to_owned(), labels.len() as f64);
    for metric in CLASSIFIER_METRICS {
        if let Some(value) = m.get(metric) {
            metrics.insert(metric.name().to_owned(), value);
        }
    }
    Ok((
        metrics,
        ClassBreakdown {
            per_class: m.per_class,
            confusion_matrix: m.confusion_matrix,
        },
    ))
}

/// The error of a column the evaluation reads that the examples lack.
fn missing_column(batch: &RecordBatch, column: &str, needed_by: &str) -> DataError {
    DataError::missing_column(column, needed_by, "the eval examples", &batch.schema())
}

/// An error in the Evaluator's thresholds.
fn invalid_thresholds(reason: String) -> Error {
    Error::Configuration {
        component: "Evaluator".to_owned(),
        option: "thresholds".to_owned(),
        reason,
    }
}

/// A model's predictions on examples that have a label and every feature.
struct Scored {
    outcomes: Outcomes,
    /// Each kept example's batch and row.
    rows: Vec<(usize, usize)>,
}

/// Labels and predictions, of a model of numbers or of a classifier.
enum Outcomes {
    /// A regression's values, or a binary classifier's probabilities of class 1.
    Numbers {
        labels: Vec<f64>,
        predictions: Vec<f64>,
    },
    /// A classifier's class indices and probabilities (one row of `classes.len()` per example).
    Classes {
        classes: Vec<String>,
        labels: Vec<usize>,
        probabilities: Vec<f64>,
    },
}

impl Scored {
    /// The metrics of the examples at `kept` (indices into the scored examples; all when
    /// `None`), with a classifier's breakdown by class.
    fn metrics(
        &self,
        task: &Task,
        kept: Option<&[usize]>,
    ) -> Result<(BTreeMap<String, f64>, Option<ClassBreakdown>)> {
        let all: Vec<usize>;
        let kept = match kept {
            Some(kept) => kept,
            None => {
                all = (0..self.rows.len()).collect();
                &all
            }
        };
        match &self.outcomes {
            Outcomes::Numbers {
                labels,
                predictions,
            } => {
                let labels: Vec<f64> = kept.iter().map(|&i| labels[i]).collect();
                let predictions: Vec<f64> = kept.iter().map(|&i| predictions[i]).collect();
                Ok((metrics_of(task, &labels, &predictions)?, None))
            }
            Outcomes::Classes {
                classes,
                labels,
                probabilities,
            } => {
                let width = classes.len();
                let labels: Vec<usize> = kept.iter().map(|&i| labels[i]).collect();
                let probabilities: Vec<f64> = kept
                    .iter()
                    .flat_map(|&i| probabilities[i * width..(i + 1) * width].iter().copied())
                    .collect();
                let (metrics, breakdown) = class_metrics_of(&labels, &probabilities, width)?;
                Ok((metrics, Some(breakdown)))
            }
        }
    }
}

/// Scores `model` on `batches`.
fn score(model: &LoadedModel, batches: &[RecordBatch]) -> Result<Scored> {
    if model.manifest.task == Task::Classification {
        return score_classes(model, batches);
    }
    let label = &model.manifest.signature.label;
    let (mut labels, mut predictions, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    for (index, batch) in batches.iter().enumerate() {
        let column = batch
            .column_by_name(label)
            .ok_or_else(|| missing_column(batch, label, "the model's label"))?;
        let truth = super::native::numbers(column.as_ref(), label)?;
        for (row, (prediction, value)) in model.predict(batch)?.into_iter().zip(truth).enumerate() {
            if let (Some(prediction), Some(value)) = (prediction, value) {
                labels.push(value);
                predictions.push(prediction);
                rows.push((index, row));
            }
        }
    }
    Ok(Scored {
        outcomes: Outcomes::Numbers {
            labels,
            predictions,
        },
        rows,
    })
}

/// Scores a classifier on `batches`: a label that is none of the model's classes is an error.
fn score_classes(model: &LoadedModel, batches: &[RecordBatch]) -> Result<Scored> {
    let label = &model.manifest.signature.label;
    let classes = model.manifest.signature.classes.clone();
    let (mut labels, mut probabilities, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    for (index, batch) in batches.iter().enumerate() {
        let truth = class_labels(batch, label)?;
        let predicted = model.predict_classes(batch)?;
        for (row, (answer, value)) in predicted.probabilities.into_iter().zip(truth).enumerate() {
            let (Some(answer), Some(value)) = (answer, value) else {
                continue;
            };
            let class = classes.iter().position(|c| *c == value).ok_or_else(|| {
                Error::Prediction {
                    model: model.manifest.flavor_name(),
                    reason: format!(
                        "the examples' label `{label}` has class `{value}`, which the model was \
                         not trained on (its classes: {}); train on examples with every class",
                        classes.join(", ")
                    ),
                }
            })?;
            labels.push(class);
            probabilities.extend(answer);
            rows.push((index, row));
        }
    }
    Ok(Scored {
        outcomes: Outcomes::Classes {
            classes,
            labels,
            probabilities,
        },
        rows,
    })
}

/// The evaluation in one line: `blessed: rmse 6.12 < 10, rmse 6.12 ≤ baseline 6.30`.
fn verdict(evaluation: &Evaluation) -> String {
    let checks: Vec<String> = evaluation
        .checks
        .iter()
        .map(|check| {
            format!(
                "{} ({}: {})",
                check.condition,
                format_float(check.value),
                if check.passed { "met" } else { "NOT met" }
            )
        })
        .collect();
    format!(
        "{}{}{}",
        if evaluation.blessed {
            "blessed"
        } else {
            "NOT blessed"
        },
        if checks.is_empty() { "" } else { ": " },
        checks.join(", ")
    )
}

/// Evaluates `model` (and `baseline`) on `batches` against `thresholds`, with per-slice metrics
/// for the `slices` features. Runtime parameters in thresholds must be resolved already.
pub fn evaluate(
    model: &LoadedModel,
    baseline: Option<&LoadedModel>,
    batches: &[RecordBatch],
    split: &str,
    slices: &[String],
    thresholds: &[Threshold],
) -> Result<Evaluation> {
    let task = &model.manifest.task;
    let scored = score(model, batches)?;
    let (overall, overall_breakdown) = scored.metrics(task, None)?;
    let mut sliced = BTreeMap::new();
    let mut sliced_breakdowns = BTreeMap::new();
    for feature in slices {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let texts: Vec<Vec<Option<String>>> = batches
            .iter()
            .map(|batch| {
                batch
                    .column_by_name(feature)
                    .map(|column| value_texts(column.as_ref()))
                    .ok_or_else(|| missing_column(batch, feature, "the Evaluator's slices").into())
            })
            .collect::<Result<_>>()?;
        for (index, (batch, row)) in scored.rows.iter().enumerate() {
            let value = texts[*batch][*row]
                .clone()
                .unwrap_or_else(|| "(missing)".to_owned());
            groups
                .entry(format!("{feature}={value}"))
                .or_default()
                .push(index);
        }
        for (slice, kept) in groups {
            // A slice of one class has no ROC AUC; metrics_of leaves it out.
            let (metrics, breakdown) = scored.metrics(task, Some(&kept))?;
            sliced.insert(slice.clone(), metrics);
            if let Some(breakdown) = breakdown {
                sliced_breakdowns.insert(slice, breakdown);
            }
        }
    }
    let classification = match (&scored.outcomes, overall_breakdown) {
        (Outcomes::Classes { classes, .. }, Some(overall)) => Some(ClassificationReport {
            classes: classes.clone(),
            overall,
            slices: sliced_breakdowns,
        }),
        _ => None,
    };
    let baseline_metrics = match baseline {
        Some(baseline) => {
            let scored = score(baseline, batches)?;
            Some(scored.metrics(&baseline.manifest.task, None)?.0)
        }
        None => None,
    };
    let mut checks = Vec::new();
    for threshold in thresholds {
        let name = threshold.metric.name();
        let Some(&value) = overall.get(name) else {
            return Err(invalid_thresholds(format!(
                "a threshold names {name}, which a {task:?} model does not have (it has {})",
                overall
                    .keys()
                    .filter(|metric| *metric != "example_count")
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some(bound) = &threshold.below {
            let bound = *bound
                .value()
                .map_err(|error| invalid_thresholds(error.to_string()))?;
            checks.push(Check {
                condition: format!("{name} < {bound}"),
                value,
                passed: value < bound,
            });
        }
        if let Some(bound) = &threshold.above {
            let bound = *bound
                .value()
                .map_err(|error| invalid_thresholds(error.to_string()))?;
            checks.push(Check {
                condition: format!("{name} > {bound}"),
                value,
                passed: value > bound,
            });
        }
        if let (Some(tolerance), Some(base)) = (
            threshold.max_worsening,
            baseline_metrics.as_ref().and_then(|b| b.get(name)),
        ) {
            let passed = if threshold.metric.higher_is_better() {
                value >= base - tolerance
            } else {
                value <= base + tolerance
            };
            checks.push(Check {
                condition: format!(
                    "{name} not worse than the baseline's {}{}",
                    format_float(*base),
                    if tolerance > 0.0 {
                        format!(" (tolerance {})", format_float(tolerance))
                    } else {
                        String::new()
                    }
                ),
                value,
                passed,
            });
        }
    }
    let blessed = checks.iter().all(|check| check.passed);
    Ok(Evaluation {
        split: split.to_owned(),
        overall,
        slices: sliced,
        baseline: baseline_metrics,
        checks,
        blessed,
        classification,
    })
}

/// The evaluation as an HTML page.
pub fn evaluation_html(evaluation: &Evaluation, title: &str) -> String {
    let mut body = String::new();
    // Writing into a String cannot fail.
    let _ = write!(body, "<h1>{}</h1>", escape(title));
    let (class, verdict) = if evaluation.blessed {
        ("ok", "Blessed")
    } else {
        ("bad", "Not blessed")
    };
    let _ = write!(
        body,
        "<div class=\"banner {class}\"><strong>{verdict}</strong></div>"
    );
    body.push_str("<h2>Thresholds</h2><table><thead><tr><th>condition</th><th>value</th><th>verdict</th></tr></thead><tbody>");
    for check in &evaluation.checks {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&check.condition),
            format_float(check.value),
            if check.passed {
                "met"
            } else {
                "<strong class=\"bad\">not met</strong>"
            }
        );
    }
    body.push_str("</tbody></table>");
    let names: Vec<&String> = evaluation.overall.keys().collect();
    let _ = write!(
        body,
        "<h2>Metrics on split {}</h2><table><thead><tr><th></th>",
        escape(&evaluation.split)
    );
    for name in &names {
        let _ = write!(body, "<th>{}</th>", escape(name));
    }
    body.push_str("</tr></thead><tbody>");
    let mut row = |label: &str, metrics: &BTreeMap<String, f64>| {
        let _ = write!(body, "<tr><td>{}</td>", escape(label));
        for name in &names {
            let cell = match metrics.get(*name) {
                Some(value) if name.as_str() == "example_count" => format_int(*value as i64),
                Some(value) => format_float(*value),
                None => "–".to_owned(),
            };
            let _ = write!(body, "<td>{cell}</td>");
        }
        body.push_str("</tr>");
    };
    row("overall", &evaluation.overall);
    if let Some(baseline) = &evaluation.baseline {
        row("baseline model", baseline);
    }
    for (slice, metrics) in &evaluation.slices {
        row(slice, metrics);
    }
    body.push_str("</tbody></table>");
    if let Some(report) = &evaluation.classification {
        classification_html(&mut body, report);
    }
    page(
        title,
        ".banner.ok{background:#e6f4ea}.banner.bad{background:#fde2e1}.bad{color:#b3261e}\
         .confusion td.hit{background:#e6f4ea;font-weight:bold}",
        &body,
    )
}

/// A classifier's per-class table and confusion matrix, overall and per slice, into `body`.
fn classification_html(body: &mut String, report: &ClassificationReport) {
    let breakdown_html = |body: &mut String, heading: &str, breakdown: &ClassBreakdown| {
        let _ = write!(
            body,
            "<h3>{}</h3><table><thead><tr><th>class</th><th>precision</th><th>recall</th>\
             <th>F1</th><th>support</th></tr></thead><tbody>",
            escape(heading)
        );
        for (class, metrics) in report.classes.iter().zip(&breakdown.per_class) {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(class),
                format_float(metrics.precision),
                format_float(metrics.recall),
                format_float(metrics.f1),
                format_int(metrics.support as i64)
            );
        }
        body.push_str("</tbody></table>");
        body.push_str("<table class=\"confusion\"><thead><tr><th>true \\ predicted</th>");
        for class in &report.classes {
            let _ = write!(body, "<th>{}</th>", escape(class));
        }
        body.push_str("</tr></thead><tbody>");
        for (class, row) in report.classes.iter().zip(&breakdown.confusion_matrix) {
            let _ = write!(body, "<tr><th>{}</th>", escape(class));
            for (predicted, count) in row.iter().enumerate() {
                let correct = report.classes.get(predicted) == Some(class);
                let _ = write!(
                    body,
                    "<td{}>{}</td>",
                    if correct { " class=\"hit\"" } else { "" },
                    format_int(*count as i64)
                );
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table>");
    };
    body.push_str("<h2>Classes and confusion matrix</h2>");
    breakdown_html(body, "overall", &report.overall);
    for (slice, breakdown) in &report.slices {
        breakdown_html(body, slice, breakdown);
    }
}

/// Evaluates a model on the eval split: `Evaluator::new(examples, model)` with thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluator {
    /// The split to evaluate on.
    #[serde(default = "eval_split")]
    pub split: String,
    /// Features whose values slice the metrics.
    #[serde(default)]
    pub slices: Vec<String>,
    /// What the model must meet to be blessed.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
}

fn eval_split() -> String {
    "eval".to_owned()
}

/// The inputs of Evaluator.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct EvaluatorInputs {
    /// The (raw) examples; the model applies its own transform.
    pub examples: Channel<Examples>,
    /// The model to evaluate.
    pub model: Channel<Model>,
    /// The model to compare with (usually the latest blessed one).
    pub baseline: Option<Channel<Model>>,
}

/// The outputs of Evaluator.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct EvaluatorOutputs {
    /// `evaluation.json` and `evaluation.html`.
    pub evaluation: Channel<ModelEvaluation>,
    /// Whether the model met every threshold.
    pub blessing: Channel<ModelBlessing>,
}

impl Evaluator {
    /// Evaluates `model` on `examples` against `thresholds`.
    pub fn new(
        examples: Channel<Examples>,
        model: Channel<Model>,
        thresholds: Vec<Threshold>,
    ) -> Node<Evaluator> {
        Evaluator::judging(thresholds).with_inputs(EvaluatorInputs {
            examples,
            model,
            baseline: None,
        })
    }

    /// Also compares with `baseline`.
    pub fn with_baseline(
        examples: Channel<Examples>,
        model: Channel<Model>,
        baseline: Channel<Model>,
        thresholds: Vec<Threshold>,
    ) -> Node<Evaluator> {
        Evaluator::judging(thresholds).with_inputs(EvaluatorInputs {
            examples,
            model,
            baseline: Some(baseline),
        })
    }

    /// The eval split, no slices, these thresholds.
    fn judging(thresholds: Vec<Threshold>) -> Evaluator {
        Evaluator {
            split: eval_split(),
            slices: Vec::new(),
            thresholds,
        }
    }
}

impl Component for Evaluator {
    const KIND: &'static str = "millrace.Evaluator";
    // 2: the blessing records the ids of the model and the baseline it judged.
    const VERSION: u32 = 2;
    type Inputs = EvaluatorInputs;
    type Outputs = EvaluatorOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for Evaluator {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.input::<Examples>("examples")?;
        let model_input = context.input::<Model>("model")?;
        let model = LoadedModel::load(model_input.uri())?;
        let baseline_input = context.optional_input::<Model>("baseline")?;
        let baseline = match &baseline_input {
            Some(baseline) => Some(LoadedModel::load(baseline.uri())?),
            None => None,
        };
        let evaluation_output = context.output::<ModelEvaluation>("evaluation")?;
        let blessing = context.output::<ModelBlessing>("blessing")?;
        let batches = read_split(examples.uri(), &self.split)?;
        let evaluation = evaluate(
            &model,
            baseline.as_ref(),
            &batches,
            &self.split,
            &self.slices,
            &self.thresholds,
        )?;
        let path = evaluation_output.uri().join(EVALUATION_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&evaluation)?)?;
        let title = format!(
            "Evaluation — {} / {}",
            context.pipeline(),
            context.node_id()
        );
        std::fs::write(
            evaluation_output.uri().join(EVALUATION_REPORT_FILE),
            evaluation_html(&evaluation, &title),
        )?;
        blessing.set_property("blessed", evaluation.blessed)?;
        // Which model the verdict is about, by id, in TFX's words: resolvers find a model's
        // blessing by this property (an index lookup) instead of walking its lineage.
        if let Some(id) = model_input.artifact().id {
            blessing.set_custom_property(ModelBlessing::CURRENT_MODEL_ID, id);
        }
        if let Some(id) = baseline_input.and_then(|baseline| baseline.artifact().id) {
            blessing.set_custom_property(ModelBlessing::BASELINE_MODEL_ID, id);
        }
        for (name, value) in &evaluation.overall {
            context.log_metric(name.clone(), *value);
        }
        for check in &evaluation.checks {
            context.log(format!(
                "{}: {} ({})",
                check.condition,
                check.value,
                if check.passed { "met" } else { "not met" }
            ));
        }
        context.set_summary(verdict(&evaluation));
        Ok(())
    }
}

millrace_core::register_component!(Evaluator);
