//! Steps 4 and 5: execute the component, with retries, and publish what it wrote.
//!
//! Each attempt is its own execution. Its start is one transaction — the execution RUNNING
//! with its INPUT events, its outputs PENDING at their final URIs (named after the execution
//! id the store assigns), attributed to the pipeline, the run and the node. The executor writes
//! into staging directories. On success the directories move into place and one transaction
//! makes the outputs LIVE with their properties and OUTPUT events and the execution COMPLETE
//! with its metrics and summary; on failure one transaction marks the execution FAILED (with
//! its error) and its outputs ABANDONED, and the error goes to the execution's log directory.
//! A crash between the two leaves PENDING outputs that no reader uses and that
//! [`recover_interrupted`](crate::recover_interrupted) abandons.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use millrace_core::spec::{NodeSpec, ShardRole};
use millrace_core::{ErasedComponent, ModelRegistration, Tracked};
use millrace_metadata::registry::{Decision, NewModelVersion};
use millrace_metadata::{
    Artifact, ArtifactAndEvent, ArtifactState, EventType, Execution, ExecutionState, PathStep,
    PutExecution, Value,
};

use super::cache::NodeKey;
use super::inputs::Inputs;
use super::{NodeLauncher, events, shard_properties};
use crate::error::Result;
use crate::executor::{self, Prepared, Produced};
use crate::launcher::NodeOutcome;
use crate::layout;
use crate::properties;
use crate::state::NodeState;
use crate::tracking;

/// One attempt's record while it runs: its execution, its pending outputs and where they are
/// staged.
struct Running {
    execution: Execution,
    /// Output name → the PENDING artifact at its final URI.
    pending: BTreeMap<String, Artifact>,
    /// Output name → (artifact type, staging directory).
    staging: BTreeMap<String, (String, PathBuf)>,
    log_dir: PathBuf,
}

impl Running {
    fn id(&self) -> i64 {
        self.execution.id.unwrap_or_default()
    }
}

impl NodeLauncher<'_> {
    /// Attempts the execution until it succeeds or the node's retries are spent (when this
    /// launcher retries at all), waiting the retry policy's backoff in between.
    pub(super) async fn execute_with_retries(
        &self,
        node: &NodeSpec,
        component: &dyn ErasedComponent,
        inputs: &Inputs,
        key: &NodeKey,
        role: ShardRole,
    ) -> Result<NodeOutcome> {
        let retries = if self.retries_here {
            node.options.retry.max_retries
        } else {
            0
        };
        // Inputs on an object store are fetched once, for every attempt; the download may take
        // long, so the run's other records do not wait for this node's start meanwhile.
        if self.layout.storage().local_root().is_none() {
            self.release_hold();
        }
        let local_inputs = match self.materialise_inputs(inputs).await {
            Ok(local) => local,
            Err(message) => return self.record_failure(node, inputs, message).await,
        };
        let mut last = (0, String::new());
        for attempt in 0..=retries {
            if attempt > 0 {
                tokio::time::sleep(node.options.retry.delay_before(attempt)).await;
            }
            let (execution_id, result) = self
                .attempt(
                    node,
                    component,
                    (inputs, &local_inputs),
                    (key, role),
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
                    last = (execution_id, message);
                }
            }
        }
        let (execution_id, message) = last;
        Ok(Self::outcome(
            node,
            NodeState::Failed,
            retries + 1,
            Some(execution_id),
            Some(message),
        ))
    }

    /// One execution of a component: record it RUNNING, run it, publish or fail. The inner
    /// result is the component's summary, or why it failed. `inputs` are the recorded input
    /// artifacts and the same with their local copies' paths as URIs, for the executor.
    async fn attempt(
        &self,
        node: &NodeSpec,
        component: &dyn ErasedComponent,
        (inputs, local_inputs): (&Inputs, &Inputs),
        (key, role): (&NodeKey, ShardRole),
        attempt: u32,
    ) -> Result<(i64, std::result::Result<Option<String>, String>)> {
        let running = self.start(node, inputs, (key, role), attempt).await?;
        // A command's `mlflow` client logs into the attempt's own run, started now.
        let mut env = BTreeMap::new();
        let mut node_run = None;
        if let (Some(uri), millrace_core::Executor::Command(_)) =
            (&self.tracking_uri, component.execution())
        {
            match tracking::start_node_run(self.store, self.record, &node.id, running.id(), attempt)
                .await
            {
                Ok(run_id) => {
                    env.insert("MLFLOW_TRACKING_URI".to_owned(), uri.clone());
                    env.insert("MLFLOW_RUN_ID".to_owned(), run_id.clone());
                    env.insert(
                        "MLFLOW_EXPERIMENT_ID".to_owned(),
                        self.record.experiment_id.to_string(),
                    );
                    node_run = Some(run_id);
                }
                Err(error) => {
                    tracing::warn!(node = %node.id, %error, "could not start the node's tracked run");
                }
            }
        }
        let prepared = Prepared {
            pipeline: self.pipeline.name().to_owned(),
            run_id: self.record.run_id.clone(),
            node_id: node.id.clone(),
            inputs: local_inputs.clone(),
            outputs: running.staging.clone(),
            parameters: self.record.parameters.clone(),
            log_dir: running.log_dir.clone(),
            timeout: node.options.timeout_ms.map(Duration::from_millis),
            shard_role: role,
            env,
        };
        let (result, tracked) = match executor::execute(component, &prepared).await {
            Ok(produced) => {
                let tracked = (produced.metrics.clone(), produced.tracked.clone());
                (
                    self.publish(node, &running, produced, &key.name).await,
                    tracked,
                )
            }
            Err(failure) => (Err(failure.message), (failure.metrics, failure.tracked)),
        };
        let (metrics, tracked): (BTreeMap<String, f64>, Tracked) = tracked;
        if result.is_err() {
            // What a failed attempt wrote goes before anything is recorded: on a full disk, the
            // store's next write needs the space its partial outputs hold.
            for (_, stage) in running.staging.values() {
                layout::remove_dir(stage);
            }
        }
        let node_run = tracking::finish_node_run(
            self.store,
            self.record,
            self.layout.storage(),
            tracking::AttemptTracking {
                node: &node.id,
                execution_id: running.id(),
                attempt,
                run_id: node_run,
                metrics: &metrics,
                tracked: &tracked,
                succeeded: result.is_ok(),
            },
        )
        .await;
        match result {
            Ok(summary) => {
                self.register_models(node, inputs, &tracked.registrations, node_run)
                    .await;
                Ok((running.id(), Ok(summary)))
            }
            Err(message) => {
                if layout::create_dir(&running.log_dir).is_ok() {
                    let _ = std::fs::write(running.log_dir.join("error.log"), &message);
                }
                self.fail(&running, &message).await?;
                Ok((running.id(), Err(message)))
            }
        }
    }

    /// Registers the input models a component asked to register, moving aliases it asked to
    /// move; each is a decision by `<pipeline>.<node>` recorded in the registry. A failure is
    /// logged on the node's run: the node has completed.
    async fn register_models(
        &self,
        node: &NodeSpec,
        inputs: &Inputs,
        registrations: &[ModelRegistration],
        node_run: Option<String>,
    ) {
        let who = format!("{}.{}", self.pipeline.name(), node.id);
        for registration in registrations {
            let result = self
                .register_model(&who, inputs, registration, node_run.clone())
                .await;
            if let Err(error) = result {
                tracing::warn!(node = %node.id, model = %registration.name, %error, "registering the model failed");
            }
        }
    }

    async fn register_model(
        &self,
        who: &str,
        inputs: &Inputs,
        registration: &ModelRegistration,
        node_run: Option<String>,
    ) -> std::result::Result<(), String> {
        let artifact = inputs
            .get(&registration.input)
            .and_then(|artifacts| artifacts.first())
            .ok_or_else(|| format!("input `{}` has no artifact to register", registration.input))?;
        let uri = artifact.uri.clone().unwrap_or_default();
        let storage_location = self
            .layout
            .storage()
            .relative_path(&uri)
            .map_or_else(|| uri.clone(), |path| format!("mlflow-artifacts:/{path}"));
        let why = if registration.reason.is_empty() {
            "registered by the pipeline".to_owned()
        } else {
            registration.reason.clone()
        };
        // The same artifact under the same name is one version: registering again (a
        // rerun that evaluated the same model) only moves the alias.
        let existing = match artifact.id {
            Some(id) => self
                .store
                .versions_of_artifact(id)
                .await
                .map_err(|error| error.to_string())?
                .into_iter()
                .find(|version| version.name == registration.name),
            None => None,
        };
        let version = match existing {
            Some(version) => version,
            None => self
                .store
                .create_model_version(&NewModelVersion {
                    name: registration.name.clone(),
                    source: uri,
                    artifact_id: artifact.id,
                    storage_location: Some(storage_location),
                    run_id: node_run,
                    run_link: String::new(),
                    description: registration.description.clone(),
                    tags: registration.tags.clone(),
                    decision: Decision::by(who, why.clone()),
                })
                .await
                .map_err(|error| error.to_string())?,
        };
        tracing::info!(model = %version.name, version = version.version, "registered");
        if let Some(alias) = &registration.alias
            && !version.aliases.contains(alias)
        {
            self.store
                .set_alias(
                    &version.name,
                    alias,
                    version.version,
                    &Decision::by(who, why),
                )
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }

    /// Records the attempt RUNNING with its inputs and PENDING outputs in one transaction, and
    /// makes its staging directories.
    async fn start(
        &self,
        node: &NodeSpec,
        inputs: &Inputs,
        (key, role): (&NodeKey, ShardRole),
        attempt: u32,
    ) -> Result<Running> {
        let [cache_key, cache_components] = key.recorded();
        let mut recorded = vec![
            cache_key,
            cache_components,
            (properties::ATTEMPT, Value::Int(i64::from(attempt))),
        ];
        recorded.extend(shard_properties(role));
        let execution = self.execution(node, ExecutionState::Running, &recorded)?;
        let mut artifacts = events(EventType::Input, inputs);
        let first_output = artifacts.len();
        for (name, spec) in &node.outputs {
            // Validated pipelines always pass; a task id or output name that is not one path
            // segment fails its node here, saying what is wrong, before its outputs are recorded.
            self.layout.check(&node.id, name)?;
            let template = self.layout.output_template(&node.id, name);
            artifacts.push(ArtifactAndEvent {
                artifact: Artifact {
                    type_id: self.record.artifact_type(&spec.artifact_type)?,
                    // Not written (the store knows it from the type id), but readers of the
                    // run's outputs in memory need it, as readers of the store get it.
                    type_name: Some(spec.artifact_type.clone()),
                    uri: Some(template),
                    state: ArtifactState::Pending,
                    ..Artifact::default()
                },
                event: None,
            });
        }
        let written = self
            .put(PutExecution {
                execution: execution.clone(),
                artifacts: artifacts.clone(),
                contexts: self.record.contexts(&node.id),
            })
            .await?;
        let execution_id = written.execution_id;
        let mut pending = BTreeMap::new();
        let mut staging = BTreeMap::new();
        let outputs = artifacts
            .into_iter()
            .zip(written.artifact_ids)
            .skip(first_output);
        for ((name, spec), (item, id)) in node.outputs.iter().zip(outputs) {
            let stage = self.layout.staging(&node.id, name, execution_id);
            layout::remove_dir(&stage);
            layout::create_dir(&stage)?;
            staging.insert(name.clone(), (spec.artifact_type.clone(), stage));
            let uri = self.layout.output(&node.id, name, execution_id);
            pending.insert(
                name.clone(),
                Artifact {
                    id: Some(id),
                    uri: Some(uri),
                    ..item.artifact
                },
            );
        }
        Ok(Running {
            execution: Execution {
                id: Some(execution_id),
                ..execution
            },
            pending,
            staging,
            // Created only when something is written there (a command's output, a log, an
            // error): directories are among the costliest things a no-op node does.
            log_dir: self.layout.logs(&node.id, execution_id),
        })
    }

    /// Moves the staged outputs into place, then marks them LIVE with their properties and
    /// OUTPUT events and the execution COMPLETE, in one transaction.
    async fn publish(
        &self,
        node: &NodeSpec,
        running: &Running,
        produced: Produced,
        cache_key: &str,
    ) -> std::result::Result<Option<String>, String> {
        for (name, (_, stage)) in &running.staging {
            let uri = self.layout.output(&node.id, name, running.id());
            self.layout
                .storage()
                .publish(stage, &uri)
                .await
                .map_err(|error| format!("publishing output `{name}` failed: {error}"))?;
        }
        let mut artifacts = Vec::new();
        for (name, artifact) in &running.pending {
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
            ..running.execution.clone()
        };
        for (name, value) in &produced.metrics {
            complete.custom_properties.insert(
                format!("{}{name}", properties::METRIC_PREFIX),
                Value::Double(*value),
            );
        }
        if let Some(summary) = &produced.summary {
            complete.custom_properties.insert(
                properties::SUMMARY.to_owned(),
                Value::String(summary.clone()),
            );
        }
        if running.log_dir.exists() {
            complete.custom_properties.insert(
                properties::LOG_DIR.to_owned(),
                Value::String(running.log_dir.display().to_string()),
            );
        }
        // The start associated the execution, and attributed its outputs, with the pipeline,
        // the run and the node; what is new is the cache entry.
        let contexts = if node.options.cache {
            vec![self.record.cache_context(cache_key)]
        } else {
            Vec::new()
        };
        // The outputs are in place and LIVE in the record about to be queued: the nodes that
        // read them may start, their starts joining this transaction.
        let outputs = artifacts
            .iter()
            .filter_map(|item| match &item.event {
                Some((_, path)) => match path.first() {
                    Some(PathStep::Key(name)) => Some((name.clone(), vec![item.artifact.clone()])),
                    _ => None,
                },
                None => None,
            })
            .collect();
        self.announce(&node.id, NodeState::Complete, outputs);
        let published = self
            .put(PutExecution {
                execution: complete,
                artifacts,
                contexts,
            })
            .await;
        if published.is_err() {
            self.retract(&node.id);
        }
        published
            .map(|_| produced.summary)
            .map_err(|error| format!("publishing the outputs failed: {error}"))
    }

    /// Marks the attempt FAILED and its pending outputs ABANDONED, in one transaction.
    async fn fail(&self, running: &Running, message: &str) -> Result<()> {
        let mut failed = Execution {
            last_known_state: ExecutionState::Failed,
            ..running.execution.clone()
        };
        failed.custom_properties.insert(
            properties::ERROR.to_owned(),
            Value::String(message.to_owned()),
        );
        if running.log_dir.exists() {
            failed.custom_properties.insert(
                properties::LOG_DIR.to_owned(),
                Value::String(running.log_dir.display().to_string()),
            );
        }
        let abandoned = running
            .pending
            .values()
            .map(|artifact| ArtifactAndEvent {
                artifact: Artifact {
                    state: ArtifactState::Abandoned,
                    ..artifact.clone()
                },
                event: None,
            })
            .collect();
        self.put(PutExecution {
            execution: failed,
            artifacts: abandoned,
            contexts: Vec::new(),
        })
        .await?;
        Ok(())
    }
}
