//! `NodeLauncher`: the one way a node executes, under every runner.
//!
//! 1. Resolve inputs: the outputs of the producers' executions in this run; resolver nodes
//!    query across runs; importer nodes register their URI.
//! 2. Evaluate the node's `when` condition; a false one records the node as skipped.
//! 3. Compute the cache key and look it up: a hit whose output files still exist is recorded as
//!    a CACHED execution with OUTPUT events to the reused artifacts.
//! 4. Execute: the execution is recorded RUNNING with its inputs, its outputs PENDING at
//!    `<root>/<pipeline>/<node>/<output>/<execution-id>/`; the executor writes into staging
//!    directories, which move into place only when it succeeded.
//! 5. Publish: outputs PENDING → LIVE with their properties and OUTPUT events, and the execution
//!    RUNNING → COMPLETE, in one transaction. A failure marks the execution FAILED and its
//!    outputs ABANDONED; retries are new executions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use millrace_core::spec::Operand;
use millrace_core::spec::{NodeSpec, TaskSpec};
use millrace_core::{Fingerprint, Pipeline};
use millrace_metadata::{
    Artifact, ArtifactAndEvent, ArtifactState, EventType, Execution, ExecutionState, MetadataStore,
    NodeQuery, PathStep, Properties, PutExecution, Value,
};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::error::{Result, RunnerError};
use crate::executor::{self, Prepared};
use crate::layout::{self, Layout, local_path};
use crate::record::RunRecord;
use crate::resolve::{self, NODE_ID_PROPERTY};

/// The execution property holding a component's one-line summary of what it did.
pub const SUMMARY_PROPERTY: &str = "summary";

/// How a node ended in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// It ran and succeeded.
    Complete,
    /// Its results were reused from an earlier execution.
    Cached,
    /// It failed, after its retries.
    Failed,
    /// Its condition was false (or an upstream node was skipped).
    Skipped,
    /// It did not run because an upstream node failed.
    UpstreamFailed,
    /// It did not run because the run stopped (fail-fast or Ctrl-C).
    Canceled,
}

impl NodeState {
    /// Whether downstream nodes may use its outputs.
    pub fn succeeded(self) -> bool {
        matches!(self, NodeState::Complete | NodeState::Cached)
    }
}

/// The outcome of one node in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeOutcome {
    /// The node.
    pub node: String,
    /// How it ended.
    pub state: NodeState,
    /// How many executions were attempted.
    pub attempts: u32,
    /// The last execution recorded for it.
    pub execution_id: Option<i64>,
    /// Why it failed or was skipped.
    pub message: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// Executes nodes of one run.
pub struct NodeLauncher<'a> {
    store: &'a dyn MetadataStore,
    pipeline: &'a Pipeline,
    record: &'a RunRecord,
    layout: Layout,
    retries_here: bool,
}

fn metadata_value(value: &Json) -> Option<Value> {
    Value::from_json(value)
}

impl<'a> NodeLauncher<'a> {
    /// A launcher for the run `record` of `pipeline`, writing under `root`.
    pub fn new(
        store: &'a dyn MetadataStore,
        pipeline: &'a Pipeline,
        record: &'a RunRecord,
        root: &std::path::Path,
    ) -> Self {
        NodeLauncher {
            store,
            pipeline,
            record,
            layout: Layout::new(root, pipeline.name()),
            retries_here: true,
        }
    }

    /// Makes one attempt only, leaving retries to the orchestrator that calls `run-node`
    /// (Airflow's, Argo's), which would otherwise multiply them.
    pub fn single_attempt(mut self) -> Self {
        self.retries_here = false;
        self
    }

    /// Runs node `node_id` to the end: condition, cache, attempts with retries, publish.
    pub async fn launch(&self, node_id: &str) -> Result<NodeOutcome> {
        let started = Instant::now();
        let node = self.pipeline.node(node_id)?;
        let mut outcome = match &node.task {
            TaskSpec::Resolver { strategy } => self.run_resolver(node, strategy).await?,
            TaskSpec::Importer {
                source_uri,
                reimport,
                properties,
                custom_properties,
            } => {
                self.run_importer(node, source_uri, *reimport, properties, custom_properties)
                    .await?
            }
            TaskSpec::Component { .. } => self.run_component(node).await?,
        };
        outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(outcome)
    }

    fn outcome(
        node: &NodeSpec,
        state: NodeState,
        attempts: u32,
        execution_id: Option<i64>,
        message: Option<String>,
    ) -> NodeOutcome {
        NodeOutcome {
            node: node.id.clone(),
            state,
            attempts,
            execution_id,
            message,
            duration_ms: 0,
        }
    }

    fn execution(
        &self,
        node: &NodeSpec,
        state: ExecutionState,
        extra: &[(&str, Value)],
    ) -> Result<Execution> {
        let mut custom_properties: Properties = [
            (NODE_ID_PROPERTY.to_owned(), Value::String(node.id.clone())),
            (
                "run_id".to_owned(),
                Value::String(self.record.run_id.clone()),
            ),
        ]
        .into();
        for (name, value) in extra {
            custom_properties.insert((*name).to_owned(), value.clone());
        }
        Ok(Execution {
            type_id: self.record.execution_type(&node.task)?,
            last_known_state: state,
            custom_properties,
            ..Execution::default()
        })
    }

    /// Records an execution that only reads and/or writes existing artifacts.
    async fn record_links(
        &self,
        node: &NodeSpec,
        execution: Execution,
        inputs: &BTreeMap<String, Vec<Artifact>>,
        outputs: &BTreeMap<String, Vec<Artifact>>,
        extra_contexts: Vec<millrace_metadata::Context>,
    ) -> Result<i64> {
        let mut artifacts = Vec::new();
        for (event_type, map) in [(EventType::Input, inputs), (EventType::Output, outputs)] {
            for (name, list) in map {
                for (index, artifact) in list.iter().enumerate() {
                    artifacts.push(ArtifactAndEvent {
                        artifact: artifact.clone(),
                        event: Some((
                            event_type,
                            vec![PathStep::Key(name.clone()), PathStep::Index(index as i64)],
                        )),
                    });
                }
            }
        }
        let mut contexts = self.record.contexts(&node.id);
        contexts.extend(extra_contexts);
        Ok(self
            .store
            .put_execution(&PutExecution {
                execution,
                artifacts,
                contexts,
            })
            .await?
            .execution_id)
    }

    /// Records an execution with no inputs or outputs (skipped, failed before it started).
    async fn record_alone(&self, node: &NodeSpec, execution: Execution) -> Result<i64> {
        self.record_links(
            node,
            execution,
            &BTreeMap::new(),
            &BTreeMap::new(),
            Vec::new(),
        )
        .await
    }

    async fn run_resolver(
        &self,
        node: &NodeSpec,
        strategy: &millrace_core::spec::ResolverStrategy,
    ) -> Result<NodeOutcome> {
        let source = node.inputs.values().next().ok_or_else(|| {
            RunnerError::Mismatch(format!("resolver `{}` has no source", node.id))
        })?;
        let found = resolve::resolve(self.store, self.record, strategy, &source.channel).await?;
        let output = node.outputs.keys().next().cloned().unwrap_or_default();
        let count = found.len();
        let execution = self.execution(
            node,
            ExecutionState::Complete,
            &[("resolved", Value::Int(count as i64))],
        )?;
        let outputs = BTreeMap::from([(output, found)]);
        let id = self
            .record_links(node, execution, &BTreeMap::new(), &outputs, Vec::new())
            .await?;
        Ok(Self::outcome(
            node,
            NodeState::Complete,
            1,
            Some(id),
            (count == 0).then(|| "nothing to resolve yet".to_owned()),
        ))
    }

    async fn run_importer(
        &self,
        node: &NodeSpec,
        source_uri: &str,
        reimport: bool,
        properties: &BTreeMap<String, Json>,
        custom_properties: &BTreeMap<String, Json>,
    ) -> Result<NodeOutcome> {
        let (output, spec) = node.outputs.iter().next().ok_or_else(|| {
            RunnerError::Mismatch(format!("importer `{}` has no output", node.id))
        })?;
        let type_id = self.record.artifact_type(&spec.artifact_type)?;
        let existing = if reimport {
            None
        } else {
            self.store
                .get_artifacts(
                    &NodeQuery::all()
                        .of_type(&spec.artifact_type)
                        .with_uri(source_uri)
                        .order_by(millrace_metadata::OrderBy::Id)
                        .descending()
                        .limit(1),
                )
                .await?
                .into_iter()
                .next()
        };
        let artifact = match existing {
            Some(artifact) => artifact,
            None => {
                let convert = |map: &BTreeMap<String, Json>| -> Properties {
                    map.iter()
                        .filter_map(|(name, value)| Some((name.clone(), metadata_value(value)?)))
                        .collect()
                };
                let mut custom = convert(custom_properties);
                custom.insert("is_external".to_owned(), Value::Bool(true));
                let new = Artifact {
                    type_id,
                    uri: Some(source_uri.to_owned()),
                    state: ArtifactState::Live,
                    properties: convert(properties),
                    custom_properties: custom,
                    ..Artifact::default()
                };
                let id = self.store.put_artifacts(std::slice::from_ref(&new)).await?[0];
                Artifact {
                    id: Some(id),
                    ..new
                }
            }
        };
        let execution = self.execution(node, ExecutionState::Complete, &[])?;
        let outputs = BTreeMap::from([(output.clone(), vec![artifact])]);
        let id = self
            .record_links(node, execution, &BTreeMap::new(), &outputs, Vec::new())
            .await?;
        Ok(Self::outcome(node, NodeState::Complete, 1, Some(id), None))
    }

    /// The value an operand of a condition stands for in this run.
    async fn operand_value(
        &self,
        operand: &Operand<millrace_core::spec::ChannelRef>,
    ) -> Result<Option<Json>> {
        Ok(match operand {
            Operand::Literal { value } => Some(value.clone()),
            Operand::Parameter { name } => self.record.parameters.get(name).cloned(),
            Operand::ArtifactProperty {
                channel,
                property,
                custom,
            } => {
                let artifacts = resolve::channel_in_run(self.store, self.record, channel).await?;
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

    async fn run_component(&self, node: &NodeSpec) -> Result<NodeOutcome> {
        if let Some(condition) = &node.options.when {
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
                Ok(true) => {}
                Ok(false) => {
                    return self
                        .record_not_run(
                            &node.id,
                            NodeState::Skipped,
                            "its `when` condition is false",
                        )
                        .await;
                }
                Err(why) => {
                    let execution = self.execution(
                        node,
                        ExecutionState::Failed,
                        &[("error", Value::String(format!("condition: {why}")))],
                    )?;
                    let id = self.record_alone(node, execution).await?;
                    return Ok(Self::outcome(
                        node,
                        NodeState::Failed,
                        0,
                        Some(id),
                        Some(format!("its condition cannot be evaluated: {why}")),
                    ));
                }
            }
        }

        let mut inputs = BTreeMap::new();
        for (name, input) in &node.inputs {
            let artifacts =
                resolve::channel_in_run(self.store, self.record, &input.channel).await?;
            inputs.insert(name.clone(), artifacts);
        }
        let registration = match &node.task {
            TaskSpec::Component { kind, .. } => self.pipeline.registry().component(kind),
            _ => None,
        };
        let interface = registration.map(|registration| registration.interface());
        if let Some(interface) = &interface {
            for declared in &interface.inputs {
                let empty = inputs.get(declared.name).is_none_or(Vec::is_empty);
                if empty && !declared.optional {
                    let producer = node
                        .inputs
                        .get(declared.name)
                        .map(|input| input.channel.to_string())
                        .unwrap_or_default();
                    let message = format!(
                        "required input `{}` has no artifact (from `{producer}`)",
                        declared.name
                    );
                    let execution = self.execution(
                        node,
                        ExecutionState::Failed,
                        &[("error", Value::String(message.clone()))],
                    )?;
                    let id = self
                        .record_links(node, execution, &inputs, &BTreeMap::new(), Vec::new())
                        .await?;
                    return Ok(Self::outcome(
                        node,
                        NodeState::Failed,
                        0,
                        Some(id),
                        Some(message),
                    ));
                }
            }
        }
        inputs.retain(|_, artifacts| !artifacts.is_empty());

        let component = self
            .pipeline
            .instantiate(&node.id, &self.record.parameters)?;
        // What the component reads from outside the pipeline is part of its cache key; when it
        // cannot be fingerprinted, the execution runs (and reports the problem itself).
        let external = match component.execution() {
            millrace_core::Executor::InProcess(executor) => executor.external_fingerprint(),
            millrace_core::Executor::Command(command) => {
                Ok(Some(self.command_fingerprint(&command)))
            }
        };
        let (cache_key, cache_components) =
            self.cache_key(node, &inputs, external.as_ref().ok().cloned().flatten())?;
        if node.options.cache
            && external.is_ok()
            && let Some(hit) = self.store.find_cached_execution(&cache_key).await?
        {
            let files_exist = hit.outputs.iter().all(|(_, artifact)| {
                artifact
                    .uri
                    .as_deref()
                    .is_some_and(|uri| local_path(uri).exists())
            });
            if files_exist {
                let mut outputs: BTreeMap<String, Vec<Artifact>> = BTreeMap::new();
                for (event, artifact) in hit.outputs {
                    if let Some(PathStep::Key(name)) = event.path.first() {
                        outputs.entry(name.clone()).or_default().push(artifact);
                    }
                }
                let execution = self.execution(
                    node,
                    ExecutionState::Cached,
                    &[
                        ("cache_key", Value::String(cache_key.clone())),
                        ("cache_components", cache_components.clone()),
                        (
                            "cached_execution_id",
                            Value::Int(hit.execution.id.unwrap_or_default()),
                        ),
                    ],
                )?;
                let id = self
                    .record_links(node, execution, &inputs, &outputs, Vec::new())
                    .await?;
                // The cached execution's summary says what the reused outputs are.
                let summary = match hit.execution.custom_properties.get(SUMMARY_PROPERTY) {
                    Some(Value::String(summary)) => Some(summary.clone()),
                    _ => None,
                };
                return Ok(Self::outcome(node, NodeState::Cached, 0, Some(id), summary));
            }
        }

        let retries = if self.retries_here {
            node.options.retry.max_retries
        } else {
            0
        };
        let mut last = None;
        for attempt in 0..=retries {
            if attempt > 0 {
                tokio::time::sleep(node.options.retry.delay_before(attempt)).await;
            }
            let (execution_id, result) = self
                .attempt(
                    node,
                    &*component,
                    &inputs,
                    (&cache_key, &cache_components),
                    attempt,
                )
                .await?;
            match result {
                Ok(summary) => {
                    return Ok(Self::outcome(
                        node,
                        NodeState::Complete,
                        attempt + 1,
                        Some(execution_id),
                        summary,
                    ));
                }
                Err(message) => {
                    tracing::warn!(node = %node.id, attempt, %message, "execution failed");
                    last = Some((execution_id, message));
                }
            }
        }
        let (execution_id, message) = last.unwrap_or((0, String::new()));
        Ok(Self::outcome(
            node,
            NodeState::Failed,
            retries + 1,
            Some(execution_id),
            Some(message),
        ))
    }

    /// Records a node that does not run because of its upstream nodes.
    pub async fn record_not_run(
        &self,
        node_id: &str,
        state: NodeState,
        reason: &str,
    ) -> Result<NodeOutcome> {
        let node = self.pipeline.node(node_id)?;
        let execution = self.execution(
            node,
            ExecutionState::Canceled,
            &[
                ("skipped", Value::Bool(state == NodeState::Skipped)),
                ("reason", Value::String(reason.to_owned())),
            ],
        )?;
        let id = self.record_alone(node, execution).await?;
        Ok(Self::outcome(
            node,
            state,
            0,
            Some(id),
            Some(reason.to_owned()),
        ))
    }

    /// The cache key: the component's kind, version and configuration (with this run's
    /// parameters), the ids of its input artifacts (immutable once LIVE), its outputs, and the
    /// fingerprint of what it reads from outside the pipeline, if any.
    fn cache_key(
        &self,
        node: &NodeSpec,
        inputs: &BTreeMap<String, Vec<Artifact>>,
        external: Option<String>,
    ) -> Result<(String, Value)> {
        let TaskSpec::Component {
            kind,
            version,
            config,
        } = &node.task
        else {
            return Ok((String::new(), Value::Struct(serde_json::Map::new())));
        };
        let config =
            millrace_core::spec::parameter::substitute_parameters(config, &self.record.parameters)
                .map_err(|missing| {
                    RunnerError::Mismatch(format!(
                        "node `{}`: parameters without a value: {missing:?}",
                        node.id
                    ))
                })?;
        let mut components = json!({
            "kind": kind,
            "version": version,
            "config": config,
            "inputs": inputs.iter().map(|(name, artifacts)| (name.clone(), artifacts.iter().map(|a| a.id).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
            "outputs": node.outputs.iter().map(|(name, output)| (name.clone(), output.artifact_type.clone())).collect::<BTreeMap<_, _>>(),
        });
        if let (Some(external), Json::Object(map)) = (external, &mut components) {
            map.insert("external".to_owned(), Json::String(external));
        }
        let key = Fingerprint::of_value(&components).to_hex();
        let Json::Object(map) = components else {
            return Ok((key, Value::Struct(serde_json::Map::new())));
        };
        Ok((key, Value::Struct(map)))
    }

    /// What a command adds to its cache key: the command itself (a Python trainer's script is
    /// in it, so a changed command is not served from the old one's cache) and the values of the
    /// runtime parameters its placeholders name.
    fn command_fingerprint(&self, command: &millrace_core::CommandSpec) -> String {
        let placeholders = command.placeholders().unwrap_or_default();
        let parameters: BTreeMap<&str, Option<&Json>> = placeholders
            .iter()
            .filter_map(|placeholder| match placeholder {
                millrace_core::Placeholder::Parameter(name) => {
                    Some((name.as_str(), self.record.parameters.get(name)))
                }
                _ => None,
            })
            .collect();
        let components = json!({ "command": command, "parameters": parameters });
        format!("command {}", Fingerprint::of_value(&components).to_hex())
    }

    /// One execution of a component: record RUNNING, run, publish or fail.
    async fn attempt(
        &self,
        node: &NodeSpec,
        component: &dyn millrace_core::ErasedComponent,
        inputs: &BTreeMap<String, Vec<Artifact>>,
        (cache_key, cache_components): (&str, &Value),
        attempt: u32,
    ) -> Result<(i64, std::result::Result<Option<String>, String>)> {
        let base = [
            ("cache_key", Value::String(cache_key.to_owned())),
            ("cache_components", cache_components.clone()),
            ("attempt", Value::Int(i64::from(attempt))),
        ];
        // One transaction: the execution RUNNING with its INPUT events, and its outputs PENDING
        // at their final URIs (named after the execution id the store assigns), attributed to
        // the pipeline, the run and the node.
        let running = self.execution(node, ExecutionState::Running, &base)?;
        let mut artifacts = Vec::new();
        for (name, list) in inputs {
            for (index, artifact) in list.iter().enumerate() {
                artifacts.push(ArtifactAndEvent {
                    artifact: artifact.clone(),
                    event: Some((
                        EventType::Input,
                        vec![PathStep::Key(name.clone()), PathStep::Index(index as i64)],
                    )),
                });
            }
        }
        let first_output = artifacts.len();
        for (name, spec) in &node.outputs {
            let template = self
                .layout
                .output_template(&node.id, name)
                .display()
                .to_string();
            artifacts.push(ArtifactAndEvent {
                artifact: Artifact {
                    type_id: self.record.artifact_type(&spec.artifact_type)?,
                    uri: Some(template),
                    state: ArtifactState::Pending,
                    ..Artifact::default()
                },
                event: None,
            });
        }
        let written = self
            .store
            .put_execution(&PutExecution {
                execution: running.clone(),
                artifacts: artifacts.clone(),
                contexts: self.record.contexts(&node.id),
            })
            .await?;
        let execution_id = written.execution_id;
        let running = Execution {
            id: Some(execution_id),
            ..running
        };
        let mut staging = BTreeMap::new();
        let mut pending = BTreeMap::new();
        for ((name, spec), (item, id)) in node.outputs.iter().zip(
            artifacts
                .into_iter()
                .skip(first_output)
                .zip(written.artifact_ids.into_iter().skip(first_output)),
        ) {
            let stage = self.layout.staging(&node.id, name, execution_id);
            layout::remove_dir(&stage);
            layout::create_dir(&stage)?;
            staging.insert(name.clone(), (spec.artifact_type.clone(), stage));
            let uri = self
                .layout
                .output(&node.id, name, execution_id)
                .display()
                .to_string();
            pending.insert(
                name.clone(),
                Artifact {
                    id: Some(id),
                    uri: Some(uri),
                    ..item.artifact
                },
            );
        }

        // Created only when something is written there (a command's output, a log, an error):
        // directories are among the costliest things a no-op node does.
        let log_dir = self.layout.logs(&node.id, execution_id);
        let prepared = Prepared {
            pipeline: self.pipeline.name().to_owned(),
            run_id: self.record.run_id.clone(),
            node_id: node.id.clone(),
            inputs: inputs.clone(),
            outputs: staging.clone(),
            parameters: self.record.parameters.clone(),
            log_dir: log_dir.clone(),
            timeout: node.options.timeout_ms.map(Duration::from_millis),
        };
        let result = match executor::execute(component, &prepared).await {
            Ok(produced) => {
                self.publish(
                    node, &running, &pending, &staging, produced, cache_key, &log_dir,
                )
                .await
            }
            Err(message) => Err(message),
        };
        match result {
            Ok(summary) => Ok((execution_id, Ok(summary))),
            Err(message) => {
                if layout::create_dir(&log_dir).is_ok() {
                    let _ = std::fs::write(log_dir.join("error.log"), &message);
                }
                for (_, stage) in staging.values() {
                    layout::remove_dir(stage);
                }
                self.fail(&running, &pending, &message).await?;
                Ok((execution_id, Err(message)))
            }
        }
    }

    /// Moves the staged outputs into place, then marks them LIVE with their properties and
    /// OUTPUT events and the execution COMPLETE, in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn publish(
        &self,
        node: &NodeSpec,
        running: &Execution,
        pending: &BTreeMap<String, Artifact>,
        staging: &BTreeMap<String, (String, std::path::PathBuf)>,
        produced: executor::Produced,
        cache_key: &str,
        log_dir: &std::path::Path,
    ) -> std::result::Result<Option<String>, String> {
        let execution_id = running.id.unwrap_or_default();
        for (name, (_, stage)) in staging {
            layout::publish(stage, &self.layout.output(&node.id, name, execution_id))
                .map_err(|error| error.to_string())?;
        }
        let mut artifacts = Vec::new();
        for (name, artifact) in pending {
            let (properties, custom_properties) =
                produced.properties.get(name).cloned().unwrap_or_default();
            artifacts.push(ArtifactAndEvent {
                artifact: Artifact {
                    state: ArtifactState::Live,
                    properties,
                    custom_properties,
                    ..artifact.clone()
                },
                event: Some((
                    EventType::Output,
                    vec![PathStep::Key(name.clone()), PathStep::Index(0)],
                )),
            });
        }
        let mut complete = Execution {
            last_known_state: ExecutionState::Complete,
            ..running.clone()
        };
        for (name, value) in &produced.metrics {
            complete
                .custom_properties
                .insert(format!("metric.{name}"), Value::Double(*value));
        }
        if let Some(summary) = &produced.summary {
            complete
                .custom_properties
                .insert(SUMMARY_PROPERTY.to_owned(), Value::String(summary.clone()));
        }
        if log_dir.exists() {
            complete.custom_properties.insert(
                "log_dir".to_owned(),
                Value::String(log_dir.display().to_string()),
            );
        }
        let mut contexts = self.record.contexts(&node.id);
        if node.options.cache {
            contexts.push(self.record.cache_context(cache_key));
        }
        self.store
            .put_execution(&PutExecution {
                execution: complete,
                artifacts,
                contexts,
            })
            .await
            .map(|_| produced.summary)
            .map_err(|error| format!("publishing the outputs failed: {error}"))
    }

    /// Marks an execution FAILED and its pending outputs ABANDONED, in one transaction.
    async fn fail(
        &self,
        running: &Execution,
        pending: &BTreeMap<String, Artifact>,
        message: &str,
    ) -> Result<()> {
        let mut failed = Execution {
            last_known_state: ExecutionState::Failed,
            ..running.clone()
        };
        failed
            .custom_properties
            .insert("error".to_owned(), Value::String(message.to_owned()));
        let abandoned = pending
            .values()
            .map(|artifact| ArtifactAndEvent {
                artifact: Artifact {
                    state: ArtifactState::Abandoned,
                    ..artifact.clone()
                },
                event: None,
            })
            .collect();
        self.store
            .put_execution(&PutExecution {
                execution: failed,
                artifacts: abandoned,
                contexts: Vec::new(),
            })
            .await?;
        Ok(())
    }
}
