//! Step 3: the cache key, and reusing an earlier execution with the same key.
//!
//! A hit is the newest COMPLETE execution recorded under the key (its cache context) whose
//! outputs are all still LIVE and whose files still exist; the node is then recorded as a
//! CACHED execution with INPUT events to this run's inputs and OUTPUT events to the reused
//! artifacts, and shows the reused execution's summary. The lookup is one cache-context query,
//! whatever the node's history.

use std::collections::BTreeMap;

use millrace_core::spec::parameter::substitute_parameters;
use millrace_core::spec::{NodeSpec, ShardRole, TaskSpec};
use millrace_core::{CommandSpec, ErasedComponent, Executor, Fingerprint, Placeholder};
use millrace_metadata::{Artifact, ExecutionState, PathStep, Value};
use serde_json::{Value as Json, json};

use super::NodeLauncher;
use super::inputs::Inputs;
use crate::cache_key::CacheKey;
use crate::error::{Result, RunnerError};
use crate::launcher::NodeOutcome;
use crate::properties;
use crate::state::NodeState;

/// A component node's cache key in this run, and whether it may be looked up.
pub(super) struct NodeKey {
    /// The key.
    pub(super) key: CacheKey,
    /// Its fingerprint: the cache entry's name.
    pub(super) name: String,
    /// Whether an earlier result may be reused: caching is on for the node, and what it reads
    /// from outside the pipeline could be fingerprinted.
    pub(super) may_reuse: bool,
}

impl NodeKey {
    /// The properties every execution under this key records.
    pub(super) fn recorded(&self) -> [(&'static str, Value); 2] {
        [
            (properties::CACHE_KEY, Value::String(self.name.clone())),
            (properties::CACHE_COMPONENTS, self.key.to_property()),
        ]
    }
}

impl NodeLauncher<'_> {
    /// The key of `node` with these inputs: its kind, version and configuration with this
    /// run's parameters, the input artifact ids, its outputs, and the fingerprint of what the
    /// component reads from outside the pipeline. When that cannot be fingerprinted, the
    /// execution runs (and reports the problem itself).
    pub(super) fn cache_key(
        &self,
        node: &NodeSpec,
        component: &dyn ErasedComponent,
        inputs: &Inputs,
        role: ShardRole,
    ) -> Result<NodeKey> {
        let external = match component.execution() {
            Executor::InProcess(executor) => executor.external_fingerprint(),
            Executor::Command(command) => Ok(Some(self.command_fingerprint(&command))),
        };
        let TaskSpec::Component {
            kind,
            version,
            config,
        } = &node.task
        else {
            return Err(RunnerError::InvalidNode {
                node: node.id.clone(),
                reason: "it is not a component".to_owned(),
            });
        };
        let config = substitute_parameters(config, &self.record.parameters).map_err(|missing| {
            RunnerError::InvalidNode {
                node: node.id.clone(),
                reason: format!(
                    "runtime parameters without a value: {}",
                    missing.into_iter().collect::<Vec<_>>().join(", ")
                ),
            }
        })?;
        // A shard's or a merge's key says which: shard 0 of 4 reads other rows than the whole
        // node or shard 0 of 2. An unsharded node's key is as it always was.
        let config = match role {
            ShardRole::Whole => config,
            role => json!({ "config": config, "shard": role }),
        };
        let key = CacheKey {
            kind: kind.clone(),
            version: *version,
            config,
            inputs: inputs
                .iter()
                .map(|(name, artifacts)| {
                    (
                        name.clone(),
                        artifacts
                            .iter()
                            .filter_map(|artifact| artifact.id)
                            .collect(),
                    )
                })
                .collect(),
            outputs: node
                .outputs
                .iter()
                .map(|(name, output)| (name.clone(), output.artifact_type.clone()))
                .collect(),
            external: external.as_ref().ok().cloned().flatten(),
        };
        Ok(NodeKey {
            name: key.fingerprint(),
            key,
            may_reuse: node.options.cache && external.is_ok(),
        })
    }

    /// What a command adds to its cache key: the command itself (a Python trainer's script is
    /// in it, so a changed command is not served from the old one's cache) and the values of the
    /// runtime parameters its placeholders name.
    fn command_fingerprint(&self, command: &CommandSpec) -> String {
        let placeholders = command.placeholders().unwrap_or_default();
        let parameters: BTreeMap<&str, Option<&Json>> = placeholders
            .iter()
            .filter_map(|placeholder| match placeholder {
                Placeholder::Parameter(name) => {
                    Some((name.as_str(), self.record.parameters.get(name)))
                }
                _ => None,
            })
            .collect();
        let components = json!({ "command": command, "parameters": parameters });
        format!("command {}", Fingerprint::of_value(&components).to_hex())
    }

    /// Reuses an earlier execution with the same key, if there is one whose outputs are whole:
    /// the node ends CACHED.
    pub(super) async fn reuse_cached(
        &self,
        node: &NodeSpec,
        key: &NodeKey,
        inputs: &Inputs,
    ) -> Result<Option<NodeOutcome>> {
        if !key.may_reuse {
            return Ok(None);
        }
        let Some(hit) = self.store.find_cached_execution(&key.name).await? else {
            return Ok(None);
        };
        for (_, artifact) in &hit.outputs {
            let complete = match artifact.uri.as_deref() {
                Some(uri) => self.layout.storage().is_complete(uri).await?,
                None => false,
            };
            if !complete {
                return Ok(None);
            }
        }
        let mut outputs: BTreeMap<String, Vec<Artifact>> = BTreeMap::new();
        for (event, artifact) in hit.outputs {
            if let Some(PathStep::Key(name)) = event.path.first() {
                outputs.entry(name.clone()).or_default().push(artifact);
            }
        }
        let reused = hit.execution.id.unwrap_or_default();
        // The cached execution's summary says what the reused outputs are; it is recorded on
        // the cached execution too, so the run's history shows it.
        let summary = match hit.execution.custom_properties.get(properties::SUMMARY) {
            Some(Value::String(summary)) => Some(summary.clone()),
            _ => None,
        };
        let [cache_key, cache_components] = key.recorded();
        let mut recorded = vec![
            cache_key,
            cache_components,
            (properties::CACHED_EXECUTION_ID, Value::Int(reused)),
        ];
        if let Some(summary) = &summary {
            recorded.push((properties::SUMMARY, Value::String(summary.clone())));
        }
        let execution = self.execution(node, ExecutionState::Cached, &recorded)?;
        self.announce(&node.id, NodeState::Cached, outputs.clone());
        let id = self.record_links(node, execution, inputs, &outputs).await;
        if id.is_err() {
            self.retract(&node.id);
        }
        let id = id?;
        // The reused execution's metrics are this run's too: a cached node compares like one
        // that ran.
        let metrics: BTreeMap<String, f64> = hit
            .execution
            .custom_properties
            .iter()
            .filter_map(|(name, value)| {
                let metric = name.strip_prefix(properties::METRIC_PREFIX)?;
                match value {
                    Value::Double(number) => Some((metric.to_owned(), *number)),
                    Value::Int(number) => Some((metric.to_owned(), *number as f64)),
                    _ => None,
                }
            })
            .collect();
        crate::tracking::carry_metrics_to_pipeline_run(self.store, self.record, &node.id, &metrics)
            .await;
        Ok(Some(Self::outcome(
            node,
            NodeState::Cached,
            0,
            Some(id),
            summary,
        )))
    }
}
