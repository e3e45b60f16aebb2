//! The Registrar component: registers an evaluated model in the model registry, and moves an
//! alias (`champion`) to it when the evaluator blessed it.
//!
//! Components never touch the store: the Registrar asks the runner
//! ([`ExecutionContext::register_model`]), which records the new version — pointing at the
//! trainer's Model artifact, with lineage back to the data — and the alias move as decisions of
//! `<pipeline>.<node>`, with the evaluation's verdict as the reason. With the evaluator's
//! baseline read by `ModelAlias::of(name, "champion")`, "blessed" means "better than the
//! champion", so the alias moves only to better models.
//!
//! ```
//! use millrace_components::model::Registrar;
//! use millrace_core::prelude::*;
//!
//! # fn wire(p: &mut PipelineBuilder, model: Channel<Model>, blessing: Channel<ModelBlessing>) {
//! p.add("registrar", Registrar::new(model, blessing, "taxi"));
//! # }
//! ```

use std::collections::BTreeMap;

use millrace_core::ModelRegistration;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::evaluator::{EVALUATION_FILE, Evaluation};
use super::pusher::is_blessed;

/// Which evaluated models become versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Every evaluated model: the registry keeps the candidates too; only blessed ones get
    /// the alias.
    #[default]
    EveryModel,
    /// Only blessed models.
    BlessedOnly,
}

/// Registers a model as a new version of a registered model, moving an alias to it when it
/// is blessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registrar {
    /// The registered model's name.
    pub name: String,
    /// The alias moved to blessed versions (`champion`); `None`: no alias.
    pub alias: Option<String>,
    /// Which models are registered.
    pub registration: Registration,
}

/// The inputs of Registrar.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct RegistrarInputs {
    /// The model.
    pub model: Channel<Model>,
    /// The evaluator's verdict.
    pub blessing: Channel<ModelBlessing>,
    /// The evaluation, whose overall metrics become the version's tags.
    pub evaluation: Option<Channel<ModelEvaluation>>,
}

impl Registrar {
    /// Registers `model` under `name`, moving `champion` to it when `blessing` says so.
    pub fn new(
        model: Channel<Model>,
        blessing: Channel<ModelBlessing>,
        name: &str,
    ) -> Node<Registrar> {
        Registrar::named(name).with_inputs(RegistrarInputs {
            model,
            blessing,
            evaluation: None,
        })
    }

    /// Registers under `name`, moving `champion`, every evaluated model.
    fn named(name: &str) -> Registrar {
        Registrar {
            name: name.to_owned(),
            alias: Some("champion".to_owned()),
            registration: Registration::EveryModel,
        }
    }

    /// Like [`new`](Self::new), with the evaluation's metrics as the version's tags
    /// (`rmse=4.198`).
    pub fn with_evaluation(
        model: Channel<Model>,
        blessing: Channel<ModelBlessing>,
        evaluation: Channel<ModelEvaluation>,
        name: &str,
    ) -> Node<Registrar> {
        Registrar::named(name).with_inputs(RegistrarInputs {
            model,
            blessing,
            evaluation: Some(evaluation),
        })
    }
}

impl Component for Registrar {
    const KIND: &'static str = "millrace.Registrar";
    type Inputs = RegistrarInputs;
    type Outputs = ();

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

/// A metric's value as a tag.
fn tag_value(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[async_trait::async_trait]
impl Execute for Registrar {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let _ = context.input::<Model>("model")?;
        let blessing = context.input::<ModelBlessing>("blessing")?;
        let blessed = is_blessed(blessing.property("blessed"));
        let mut tags = BTreeMap::from([("blessed".to_owned(), blessed.to_string())]);
        let mut verdict = String::new();
        if let Some(evaluation) = context.optional_input::<ModelEvaluation>("evaluation")? {
            let text = std::fs::read_to_string(evaluation.uri().join(EVALUATION_FILE))?;
            let evaluation: Evaluation = serde_json::from_str(&text)?;
            for (name, value) in &evaluation.overall {
                tags.insert(name.clone(), tag_value(*value));
            }
            verdict = evaluation
                .checks
                .iter()
                .map(|check| {
                    format!(
                        "{} ({}: {})",
                        check.condition,
                        check.value,
                        if check.passed { "met" } else { "not met" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
        }
        if !blessed && self.registration == Registration::BlessedOnly {
            context.set_summary("not registered: the model is not blessed");
            return Ok(());
        }
        let alias = self.alias.clone().filter(|_| blessed);
        let reason = match (blessed, verdict.is_empty()) {
            (true, true) => "blessed by the evaluator".to_owned(),
            (true, false) => format!("blessed: {verdict}"),
            (false, true) => "not blessed: kept as a candidate".to_owned(),
            (false, false) => format!("not blessed ({verdict}): kept as a candidate"),
        };
        context.register_model(ModelRegistration {
            input: "model".to_owned(),
            name: self.name.clone(),
            alias: alias.clone(),
            reason,
            description: format!(
                "trained by {} in run {}",
                context.pipeline(),
                context.run_id()
            ),
            tags,
        });
        context.set_summary(match alias {
            Some(alias) => format!("registered as {} and made `{alias}`", self.name),
            None => format!("registered as {} (not blessed: no alias)", self.name),
        });
        Ok(())
    }
}

millrace_core::register_component!(Registrar);
