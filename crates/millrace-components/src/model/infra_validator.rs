//! The InfraValidator component: loads a model in the serving harness of its flavor, sends it
//! canary examples, and blesses it when predictions come back for them within a latency bound.

use std::time::Instant;

use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::manifest::Task;
use super::trainer::LoadedModel;
use crate::DataError;
use crate::data::examples_format::read_split;

/// The file of the validation report inside an InfraBlessing artifact.
pub const INFRA_REPORT_FILE: &str = "infra_validation.json";

/// What the infra validation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfraReport {
    /// Whether the model loaded.
    pub loaded: bool,
    /// How long loading took, in milliseconds (for a command model: starting its server until
    /// it said it was ready).
    #[serde(default)]
    pub load_ms: f64,
    /// How many canary rows were sent.
    pub canaries: usize,
    /// How many came back with a finite prediction.
    pub answered: usize,
    /// How long the predictions took, in milliseconds.
    pub latency_ms: f64,
    /// Whether the model passed.
    pub blessed: bool,
    /// Why not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Checks that a model serves: `InfraValidator::new(trained.model, ingest.examples)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfraValidator {
    /// The split the canary rows come from.
    #[serde(default = "canary_split")]
    pub split: String,
    /// How many canary rows.
    #[serde(default = "canary_count")]
    pub canaries: usize,
    /// The longest the canaries' predictions may take, in milliseconds.
    #[serde(default = "latency_bound")]
    pub max_latency_ms: f64,
}

fn canary_split() -> String {
    "eval".to_owned()
}

fn canary_count() -> usize {
    10
}

fn latency_bound() -> f64 {
    1_000.0
}

/// The inputs of InfraValidator.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct InfraValidatorInputs {
    /// The model.
    pub model: Channel<Model>,
    /// Examples to take canary rows from.
    pub examples: Channel<Examples>,
}

/// The output of InfraValidator.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct InfraValidatorOutputs {
    /// The verdict, with `infra_validation.json`.
    pub blessing: Channel<InfraBlessing>,
}

impl InfraValidator {
    /// Validates `model` with canaries from `examples`.
    pub fn new(model: Channel<Model>, examples: Channel<Examples>) -> Node<InfraValidator> {
        InfraValidator {
            split: canary_split(),
            canaries: canary_count(),
            max_latency_ms: latency_bound(),
        }
        .with_inputs(InfraValidatorInputs { model, examples })
    }
}

impl Component for InfraValidator {
    const KIND: &'static str = "millrace.InfraValidator";
    type Inputs = InfraValidatorInputs;
    type Outputs = InfraValidatorOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

impl InfraValidator {
    fn validate(&self, model_dir: &std::path::Path, examples: &std::path::Path) -> InfraReport {
        let mut report = InfraReport {
            loaded: false,
            load_ms: 0.0,
            canaries: 0,
            answered: 0,
            latency_ms: 0.0,
            blessed: false,
            reason: None,
        };
        let loading = Instant::now();
        let model = match LoadedModel::load(model_dir) {
            Ok(model) => model,
            Err(error) => {
                report.reason = Some(format!("the model does not load: {error}"));
                return report;
            }
        };
        report.loaded = true;
        report.load_ms = loading.elapsed().as_secs_f64() * 1_000.0;
        let canaries = match read_split(examples, &self.split) {
            Ok(batches) => batches
                .into_iter()
                .next()
                .map(|batch| batch.slice(0, self.canaries.min(batch.num_rows()))),
            Err(error) => {
                report.reason = Some(format!("no canary rows: {error}"));
                return report;
            }
        };
        let Some(canaries) = canaries.filter(|batch| batch.num_rows() > 0) else {
            report.reason = Some(format!("split `{}` has no rows to send", self.split));
            return report;
        };
        report.canaries = canaries.num_rows();
        let started = Instant::now();
        // A classifier answers with probabilities per class, any other model with numbers.
        let answered = if model.manifest.task == Task::Classification {
            model
                .predict_classes(&canaries)
                .map(|predictions| predictions.answered())
        } else {
            model.predict(&canaries).map(|predictions| {
                predictions
                    .iter()
                    .flatten()
                    .filter(|p| p.is_finite())
                    .count()
            })
        };
        report.latency_ms = started.elapsed().as_secs_f64() * 1_000.0;
        match answered {
            Ok(answered) => report.answered = answered,
            Err(error) => {
                report.reason = Some(format!("prediction failed: {error}"));
                return report;
            }
        }
        report.reason = if report.answered == 0 {
            Some("no canary got a prediction".to_owned())
        } else if report.latency_ms > self.max_latency_ms {
            Some(format!(
                "{:.1} ms is above the bound of {} ms",
                report.latency_ms, self.max_latency_ms
            ))
        } else {
            None
        };
        report.blessed = report.reason.is_none();
        report
    }
}

#[async_trait::async_trait]
impl Execute for InfraValidator {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let model = context.input::<Model>("model")?;
        let examples = context.input::<Examples>("examples")?;
        let blessing = context.output::<InfraBlessing>("blessing")?;
        let report = self.validate(model.uri(), examples.uri());
        let path = blessing.uri().join(INFRA_REPORT_FILE);
        let json =
            serde_json::to_vec_pretty(&report).map_err(|error| DataError::json(&path, error))?;
        std::fs::write(&path, json)?;
        blessing.set_property("blessed", report.blessed)?;
        context.log_metric("canary_latency_ms", report.latency_ms);
        let summary = match &report.reason {
            None => format!(
                "blessed: loaded in {:.0} ms, {} of {} canaries answered in {:.2} ms",
                report.load_ms, report.answered, report.canaries, report.latency_ms
            ),
            Some(reason) => format!("NOT blessed: {reason}"),
        };
        context.log(summary.clone());
        context.set_summary(summary);
        Ok(())
    }
}

millrace_core::register_component!(InfraValidator);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_a_model_is_not_blessed_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let validator = InfraValidator {
            split: canary_split(),
            canaries: 3,
            max_latency_ms: 100.0,
        };
        let report = validator.validate(dir.path(), dir.path());
        assert!(!report.loaded && !report.blessed);
        assert!(report.reason.unwrap().contains("does not load"));
    }
}
