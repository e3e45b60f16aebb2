//! Step 1: the node's `when` condition, evaluated with this run's values.
//!
//! Operands are read once each — a runtime parameter from the run record, an artifact
//! property from what the producer holds in this run — and the condition is evaluated by the
//! IR's one evaluation ([`ConditionSpec::evaluate`](millrace_core::spec::ConditionSpec)), so
//! every runner decides the same way. A false condition records the node as skipped; one that
//! cannot be evaluated (a missing property, values of different kinds) fails the node, so that a
//! typo never silently skips it.

use millrace_core::spec::{ChannelRef, NodeSpec, Operand};
use millrace_metadata::Value;
use serde_json::Value as Json;

use super::NodeLauncher;
use crate::error::Result;
use crate::launcher::NodeOutcome;
use crate::state::NodeState;

impl NodeLauncher<'_> {
    /// `None` when the node should run; otherwise how it ended (skipped, or failed).
    pub(super) async fn check_condition(&self, node: &NodeSpec) -> Result<Option<NodeOutcome>> {
        let Some(condition) = &node.options.when else {
            return Ok(None);
        };
        let mut values = Vec::new();
        for operand in condition.operands() {
            values.push((operand.clone(), self.operand_value(operand).await?));
        }
        let verdict = condition.evaluate(&mut |operand| {
            values
                .iter()
                .find(|(known, _)| known == operand)
                .and_then(|(_, value)| value.clone())
        });
        match verdict {
            Ok(true) => Ok(None),
            Ok(false) => self
                .record_not_run(
                    &node.id,
                    NodeState::Skipped,
                    "its `when` condition is false",
                )
                .await
                .map(Some),
            Err(why) => {
                let failed = self
                    .record_failure(node, &Default::default(), format!("condition: {why}"))
                    .await?;
                Ok(Some(NodeOutcome {
                    message: Some(format!("its condition cannot be evaluated: {why}")),
                    ..failed
                }))
            }
        }
    }

    /// The value an operand of a condition stands for in this run.
    async fn operand_value(&self, operand: &Operand<ChannelRef>) -> Result<Option<Json>> {
        Ok(match operand {
            Operand::Literal { value } => Some(value.clone()),
            Operand::Parameter { name } => self.record.parameters.get(name).cloned(),
            Operand::ArtifactProperty {
                channel,
                property,
                custom,
            } => {
                let artifacts = self.channel_in_run(channel).await?;
                artifacts.first().and_then(|artifact| {
                    let map = if *custom {
                        &artifact.custom_properties
                    } else {
                        &artifact.properties
                    };
                    map.get(property).map(Value::to_json)
                })
            }
        })
    }
}
