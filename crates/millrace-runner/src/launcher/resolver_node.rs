//! Resolver nodes: artifacts selected from earlier runs, recorded as the node's outputs.

use std::collections::BTreeMap;

use millrace_core::spec::{NodeSpec, ResolverStrategy};
use millrace_metadata::{ExecutionState, Value};

use super::NodeLauncher;
use crate::error::{Result, RunnerError};
use crate::launcher::NodeOutcome;
use crate::properties;
use crate::resolve;
use crate::state::NodeState;

impl NodeLauncher<'_> {
    /// Queries what the strategy selects and records it as the node's one output: a resolver
    /// always completes, with nothing selected when there is nothing yet.
    pub(super) async fn run_resolver(
        &self,
        node: &NodeSpec,
        strategy: &ResolverStrategy,
    ) -> Result<NodeOutcome> {
        // What the source holds in this run is never selected (a model's baseline is never the
        // model itself); it is read as the node's inputs are, so a source still finishing counts.
        let source = node.inputs.values().next().map(|input| &input.channel);
        let this_run = match source {
            Some(channel) => self.channel_in_run(channel).await?,
            None => Vec::new(),
        };
        let found = match strategy {
            ResolverStrategy::ModelAlias { model, alias } => {
                resolve::model_alias(self.store, (model, alias), &this_run).await?
            }
            _ => {
                let source = source.ok_or_else(|| RunnerError::InvalidNode {
                    node: node.id.clone(),
                    reason: "a resolver needs a source input".to_owned(),
                })?;
                resolve::resolve(self.store, self.record, strategy, (source, &this_run)).await?
            }
        };
        let output = node.outputs.keys().next().cloned().unwrap_or_default();
        let count = found.len();
        let execution = self.execution(
            node,
            ExecutionState::Complete,
            &[(properties::RESOLVED, Value::Int(count as i64))],
        )?;
        let outputs = BTreeMap::from([(output, found)]);
        let id = self
            .record_links(node, execution, &BTreeMap::new(), &outputs)
            .await?;
        Ok(Self::outcome(
            node,
            NodeState::Complete,
            1,
            Some(id),
            (count == 0).then(|| "nothing to resolve yet".to_owned()),
        ))
    }
}
