//! ExampleValidator: anomalies of examples' statistics against a schema, with drift from the
//! previous span and skew between splits, as JSON and as an HTML report.

use millrace_core::artifact::standard::Schema as SchemaArtifact;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::validate;
use crate::Error;
use crate::data::examples_format::split_names_property;
use crate::data::schema::read_schema;
use crate::data::statistics::read_statistics;

// The library functions this module held before they moved to millrace-tabular, so that
// their old paths still work.
#[doc(no_inline)]
pub use millrace_tabular::validation::{read_anomalies, write_anomalies};

/// Validates statistics against a schema: `ExampleValidator::new(stats.statistics, schema.schema)`.
///
/// With `fail_on_anomalies`, the node fails when anything is found (after writing its report),
/// so nothing downstream trains on bad data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExampleValidator {
    /// Fail the node when there are anomalies.
    #[serde(default)]
    pub fail_on_anomalies: bool,
}

/// The inputs of ExampleValidator.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct ExampleValidatorInputs {
    /// The statistics of the examples to validate.
    pub statistics: Channel<ExampleStatistics>,
    /// The schema they must follow.
    pub schema: Channel<SchemaArtifact>,
    /// The statistics of the previous span, for drift (usually from a resolver).
    pub previous_statistics: Option<Channel<ExampleStatistics>>,
}

/// The output of ExampleValidator.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct ExampleValidatorOutputs {
    /// `anomalies.json` and `anomalies.html`.
    pub anomalies: Channel<ExampleAnomalies>,
}

impl ExampleValidator {
    /// Validates `statistics` against `schema`.
    pub fn new(
        statistics: Channel<ExampleStatistics>,
        schema: Channel<SchemaArtifact>,
    ) -> Node<ExampleValidator> {
        ExampleValidator::default().with_inputs(ExampleValidatorInputs {
            statistics,
            schema,
            previous_statistics: None,
        })
    }

    /// Validates `statistics` against `schema`, and against `previous` for drift.
    pub fn with_previous(
        statistics: Channel<ExampleStatistics>,
        schema: Channel<SchemaArtifact>,
        previous: Channel<ExampleStatistics>,
    ) -> Node<ExampleValidator> {
        ExampleValidator::default().with_inputs(ExampleValidatorInputs {
            statistics,
            schema,
            previous_statistics: Some(previous),
        })
    }
}

impl Component for ExampleValidator {
    const KIND: &'static str = "millrace.ExampleValidator";
    type Inputs = ExampleValidatorInputs;
    type Outputs = ExampleValidatorOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for ExampleValidator {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let statistics_input = context.input::<ExampleStatistics>("statistics")?;
        let schema = read_schema(context.input::<SchemaArtifact>("schema")?.uri())?;
        let previous = match context.optional_input::<ExampleStatistics>("previous_statistics")? {
            Some(previous) => Some(read_statistics(previous.uri())?),
            None => None,
        };
        let output = context.output::<ExampleAnomalies>("anomalies")?;
        let statistics = read_statistics(statistics_input.uri())?;
        let anomalies = validate(&statistics, &schema, previous.as_ref());
        let title = format!("Anomalies — {} / {}", context.pipeline(), context.node_id());
        write_anomalies(output.uri(), &anomalies, &title)?;
        let names: Vec<String> = statistics.splits.iter().map(|s| s.name.clone()).collect();
        output.set_property("split_names", split_names_property(&names))?;
        if let Some(span) = statistics.span {
            output.set_property("span", span)?;
        }
        output.set_custom_property("anomalies", anomalies.anomalies.len() as i64);
        context.log_metric("anomalies", anomalies.anomalies.len() as f64);
        for anomaly in &anomalies.anomalies {
            context.log(format!(
                "{} / {}: {}: {}",
                anomaly.split,
                anomaly.feature,
                anomaly.kind.name(),
                anomaly.description
            ));
        }
        context.set_summary(match anomalies.anomalies.len() {
            0 => "no anomalies".to_owned(),
            count => format!(
                "{count} anomal{}: {}",
                if count == 1 { "y" } else { "ies" },
                anomalies
                    .anomalies
                    .iter()
                    .map(|a| format!("{}/{} {}", a.split, a.feature, a.kind.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
        if self.fail_on_anomalies && !anomalies.is_empty() {
            return Err(Error::Anomalies {
                count: anomalies.anomalies.len(),
                summary: anomalies
                    .anomalies
                    .iter()
                    .map(|a| format!("{}/{} {}", a.split, a.feature, a.kind.name()))
                    .collect::<Vec<_>>()
                    .join("; "),
            }
            .into());
        }
        Ok(())
    }
}

millrace_core::register_component!(ExampleValidator);
