//! The BulkInferrer component: a model's predictions for every row of some examples, as an
//! InferenceResult of Parquet files (the examples' columns plus `prediction`).

use millrace_core::spec::ShardRole;
use millrace_tabular::shard::{assemble_examples, shard_row_groups};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::manifest::Task;
use super::trainer::LoadedModel;
use crate::data::examples_format::{
    self, ExamplesWriter, read_row_group, split_row_groups, split_schema,
};
use crate::data::statistics::statistics_gen::examples_properties;
use crate::{DataError, Result};

/// The column the predictions are written to: a number, or a classifier's predicted class.
pub const PREDICTION_COLUMN: &str = "prediction";

/// The prefix of a classifier's probability columns: `probability_<class>`, one per class.
pub const PROBABILITY_COLUMN_PREFIX: &str = "probability_";

/// The columns BulkInferrer adds for `model`: `prediction` (a float, or a classifier's class as
/// a string) and, for a classifier, `probability_<class>` for each class in its order.
pub fn prediction_fields(model: &LoadedModel) -> Vec<Arc<Field>> {
    if model.manifest.task != Task::Classification {
        return vec![Arc::new(Field::new(
            PREDICTION_COLUMN,
            DataType::Float64,
            true,
        ))];
    }
    std::iter::once(Field::new(PREDICTION_COLUMN, DataType::Utf8, true))
        .chain(model.manifest.signature.classes.iter().map(|class| {
            Field::new(
                format!("{PROBABILITY_COLUMN_PREFIX}{class}"),
                DataType::Float64,
                true,
            )
        }))
        .map(Arc::new)
        .collect()
}

/// `batch` with the [`prediction_fields`] (null where a feature has no value).
pub fn with_predictions(model: &LoadedModel, batch: &RecordBatch) -> Result<RecordBatch> {
    let added = prediction_fields(model);
    if let Some(taken) = added
        .iter()
        .find(|field| batch.schema().column_with_name(field.name()).is_some())
    {
        return Err(DataError::File {
            file: "the examples".to_owned(),
            message: format!(
                "they already have a column `{}`, which BulkInferrer writes its predictions to",
                taken.name()
            ),
        }
        .into());
    }
    let predicted: Vec<ArrayRef> = if model.manifest.task == Task::Classification {
        let predictions = model.predict_classes(batch)?;
        let rows = predictions.probabilities.len();
        let mut columns: Vec<ArrayRef> = vec![Arc::new(
            (0..rows)
                .map(|row| predictions.predicted_class(row))
                .collect::<StringArray>(),
        )];
        for class in 0..predictions.classes.len() {
            columns.push(Arc::new(
                predictions
                    .probabilities
                    .iter()
                    .map(|row| row.as_ref().map(|p| p[class]))
                    .collect::<Float64Array>(),
            ));
        }
        columns
    } else {
        vec![Arc::new(
            model.predict(batch)?.into_iter().collect::<Float64Array>(),
        )]
    };
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    fields.extend(added);
    let mut columns = batch.columns().to_vec();
    columns.extend(predicted);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|error| DataError::arrow("adding the predictions to the examples", error).into())
}

/// Predicts every row of the examples: `BulkInferrer::new(unlabelled.examples, trained.model)`.
///
/// Writes one Parquet directory per split (`Split-<name>`, as the Examples format) holding the
/// input columns and `prediction`; for a classifier, `prediction` is the most probable class
/// and `probability_<class>` columns follow, one per class. With a blessing input, infers only
/// for a blessed model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BulkInferrer {
    /// The splits to predict; empty: every split.
    #[serde(default)]
    pub splits: Vec<String>,
}

/// The inputs of BulkInferrer.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct BulkInferrerInputs {
    /// The rows to predict.
    pub examples: Channel<Examples>,
    /// The model.
    pub model: Channel<Model>,
    /// The evaluator's verdict: without a blessing, nothing is inferred.
    pub blessing: Option<Channel<ModelBlessing>>,
}

/// The output of BulkInferrer.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct BulkInferrerOutputs {
    /// The predictions.
    pub inference_result: Channel<InferenceResult>,
}

impl BulkInferrer {
    /// Predicts every split of `examples` with `model`.
    pub fn new(examples: Channel<Examples>, model: Channel<Model>) -> Node<BulkInferrer> {
        BulkInferrer::default().with_inputs(BulkInferrerInputs {
            examples,
            model,
            blessing: None,
        })
    }
}

impl Component for BulkInferrer {
    const KIND: &'static str = "millrace.BulkInferrer";
    // Sharded, each shard predicts its part of every split's rows and the merge links the
    // shards' files into one result (`millrace_tabular::shard`).
    const SHARDABLE: bool = true;
    type Inputs = BulkInferrerInputs;
    type Outputs = BulkInferrerOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for BulkInferrer {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.input::<Examples>("examples")?;
        let model_input = context.input::<Model>("model")?;
        let output = context.output::<InferenceResult>("inference_result")?;
        if let Some(blessing) = context.optional_input::<ModelBlessing>("blessing")?
            && blessing.property("blessed") != Some(&serde_json::Value::Bool(true))
        {
            output.set_custom_property("inferred", false);
            context.log("nothing inferred: the model is not blessed");
            return Ok(());
        }
        let (split_names, _) = examples_properties(&examples);
        let splits = if self.splits.is_empty() {
            examples_format::splits_of(examples.uri(), split_names.as_deref())?
        } else {
            self.splits.clone()
        };
        let shard = match context.shard_role() {
            ShardRole::Merge { .. } => {
                let parts = context.shard_parts("inference_result");
                let dirs: Vec<&std::path::Path> = parts.iter().map(|p| p.uri.as_path()).collect();
                for (name, rows) in assemble_examples(&dirs, &splits, output.uri())? {
                    output.set_custom_property(&format!("{name}_rows"), rows as i64);
                }
                output.set_custom_property("inferred", true);
                return Ok(());
            }
            ShardRole::Shard { index, count } => (index, count),
            _ => (0, 1),
        };
        let model = LoadedModel::load(model_input.uri())?;
        for split in &splits {
            let input_schema = split_schema(examples.uri(), split)?;
            let mut fields: Vec<Arc<Field>> = input_schema.fields().iter().cloned().collect();
            fields.extend(prediction_fields(&model));
            let mut writer = ExamplesWriter::new(
                output.uri(),
                Arc::new(Schema::new(fields)),
                std::slice::from_ref(split),
            )?;
            let groups = split_row_groups(examples.uri(), split)?;
            for group in shard_row_groups(groups, shard.0, shard.1) {
                for batch in read_row_group(&group)? {
                    writer.write(0, &with_predictions(&model, &batch)?)?;
                }
            }
            for (name, rows) in writer.finish()? {
                output.set_custom_property(&format!("{name}_rows"), rows as i64);
                context.log(format!("split {name}: {rows} rows predicted"));
            }
        }
        output.set_custom_property("inferred", true);
        Ok(())
    }
}

millrace_core::register_component!(BulkInferrer);
