//! SchemaGen: infers a schema from statistics, unless a curated one is given.

use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::{InferenceOptions, infer_schema};
use crate::data::statistics::read_statistics;

// The library functions this module held before they moved to millrace-tabular, so that
// their old paths still work.
#[doc(no_inline)]
pub use millrace_tabular::schema::{read_schema, write_schema};

/// Infers the schema of the data from their statistics: `SchemaGen::new(stats.statistics)`.
///
/// A curated schema (`SchemaGen::curated(stats.statistics, imported.result)`, typically brought
/// in by an importer) takes precedence: it is passed on as it is, and the log says where the
/// inferred schema would differ.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SchemaGen {
    /// How the schema is inferred.
    #[serde(default)]
    pub inference: InferenceOptions,
}

/// The inputs of SchemaGen.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct SchemaGenInputs {
    /// The statistics to infer from.
    pub statistics: Channel<ExampleStatistics>,
    /// A curated schema, which takes precedence over the inferred one.
    pub curated: Option<Channel<millrace_core::artifact::standard::Schema>>,
}

/// The output of SchemaGen.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct SchemaGenOutputs {
    /// `schema.json`.
    pub schema: Channel<millrace_core::artifact::standard::Schema>,
}

impl SchemaGen {
    /// Infers the schema from `statistics`.
    pub fn new(statistics: Channel<ExampleStatistics>) -> Node<SchemaGen> {
        SchemaGen::default().with_inputs(SchemaGenInputs {
            statistics,
            curated: None,
        })
    }

    /// Passes on `curated`, reporting where the schema inferred from `statistics` would differ.
    pub fn curated(
        statistics: Channel<ExampleStatistics>,
        curated: Channel<millrace_core::artifact::standard::Schema>,
    ) -> Node<SchemaGen> {
        SchemaGen::default().with_inputs(SchemaGenInputs {
            statistics,
            curated: Some(curated),
        })
    }
}

impl Component for SchemaGen {
    const KIND: &'static str = "millrace.SchemaGen";
    type Inputs = SchemaGenInputs;
    type Outputs = SchemaGenOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for SchemaGen {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let statistics = context.input::<ExampleStatistics>("statistics")?;
        let curated =
            context.optional_input::<millrace_core::artifact::standard::Schema>("curated")?;
        let output = context.output::<millrace_core::artifact::standard::Schema>("schema")?;
        let inferred = infer_schema(&read_statistics(statistics.uri())?, &self.inference);
        let schema = match curated {
            Some(curated) => {
                let curated = read_schema(curated.uri())?;
                for feature in &inferred.features {
                    match curated.feature(&feature.name) {
                        None => context.log(format!(
                            "the curated schema has no feature `{}`, which the data have",
                            feature.name
                        )),
                        Some(kept) if kept != feature => context.log(format!(
                            "feature `{}`: the curated schema differs from the inferred one",
                            feature.name
                        )),
                        Some(_) => {}
                    }
                }
                context.log("the curated schema takes precedence over the inferred one");
                curated
            }
            None => inferred,
        };
        write_schema(output.uri(), &schema)?;
        output.set_custom_property("features", schema.features.len() as i64);
        Ok(())
    }
}

millrace_core::register_component!(SchemaGen);
