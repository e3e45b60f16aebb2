//! In-process execution: the [`Execute`] trait and the [`ExecutionContext`] it receives.
//!
//! The runner resolves a node's input artifacts, allocates its output URIs and substitutes
//! runtime parameters; the context carries all of that to the component, and carries back the
//! properties and metrics the component sets.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::artifact::Artifact;
use crate::spec::shard::{ShardRole, shard_parts_input};
use crate::tracking::{MetricStep, ModelRegistration, Tracked};

/// Executes a component in the launcher's process.
#[async_trait::async_trait]
pub trait Execute: Send + Sync {
    /// Reads the inputs, writes the outputs under their URIs, and records properties.
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError>;

    /// A fingerprint of what the component reads from outside the pipeline — input files an
    /// example generator ingests — so that the cache notices when they change. The launcher adds
    /// it to the cache key. `None` (the default): the component reads only its input artifacts
    /// and configuration.
    fn external_fingerprint(&self) -> Result<Option<String>, ComponentError> {
        Ok(None)
    }

    /// The outside data the component ingests, as a data-arrival trigger watches it: the
    /// input pattern and the newest span present now. `None` (the default): the component
    /// does not ingest outside data, and no trigger watches it.
    fn watched_input(&self) -> Result<Option<WatchedInput>, ComponentError> {
        Ok(None)
    }
}

/// Outside data an ingesting component reads: what [`Execute::watched_input`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedInput {
    /// Where the data is looked for: the component's input pattern.
    pub pattern: String,
    /// The newest span present (`None`: no file matches yet).
    pub latest: Option<DataSpan>,
}

/// One span of outside data as it stands on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSpan {
    /// Which span (and version): `span-3`, `span-3/v2`; a new key is new data.
    pub key: String,
    /// How many files it has.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// The latest modification time of its files, in milliseconds since the epoch.
    pub modified_ms: i64,
}

/// Why a component's execution failed: any error, with its chain of causes.
///
/// Every `std::error::Error` converts into it, so `?` works inside components.
pub struct ComponentError {
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl ComponentError {
    /// A failure described by a message.
    pub fn new(message: impl Into<String>) -> Self {
        ComponentError {
            error: message.into().into(),
        }
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ComponentError {
    fn from(error: E) -> Self {
        ComponentError {
            error: Box::new(error),
        }
    }
}

impl fmt::Display for ComponentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        let mut source = self.error.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ComponentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An artifact as an executor sees it: where it is and what is known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactInstance {
    /// The metadata store's id, once the artifact is recorded.
    pub id: Option<i64>,
    /// The artifact type's name.
    pub artifact_type: String,
    /// Where its files are.
    pub uri: PathBuf,
    /// Declared properties.
    pub properties: BTreeMap<String, Value>,
    /// Custom properties.
    pub custom_properties: BTreeMap<String, Value>,
}

impl ArtifactInstance {
    /// An artifact of type `artifact_type` at `uri`, with no properties yet.
    pub fn new(artifact_type: impl Into<String>, uri: impl Into<PathBuf>) -> Self {
        ArtifactInstance {
            id: None,
            artifact_type: artifact_type.into(),
            uri: uri.into(),
            properties: BTreeMap::new(),
            custom_properties: BTreeMap::new(),
        }
    }
}

/// A resolved input artifact of type `T`.
#[derive(Debug, Clone)]
pub struct Input<T: Artifact> {
    artifact: ArtifactInstance,
    artifact_type: PhantomData<fn() -> T>,
}

impl<T: Artifact> Input<T> {
    /// Where the artifact's files are.
    pub fn uri(&self) -> &Path {
        &self.artifact.uri
    }

    /// The artifact's metadata.
    pub fn artifact(&self) -> &ArtifactInstance {
        &self.artifact
    }

    /// A declared property, or else a custom one, by name.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.artifact
            .properties
            .get(name)
            .or_else(|| self.artifact.custom_properties.get(name))
    }
}

/// An output artifact of type `T` being produced: write files under [`Output::uri`].
#[derive(Debug, Clone)]
pub struct Output<T: Artifact> {
    uri: PathBuf,
    record: Arc<Mutex<ArtifactInstance>>,
    artifact_type: PhantomData<fn() -> T>,
}

impl<T: Artifact> Output<T> {
    /// The directory to write the artifact's files into (it exists).
    pub fn uri(&self) -> &Path {
        &self.uri
    }

    /// Sets a declared property; the type is checked against `T`'s property schema.
    pub fn set_property(&self, name: &str, value: impl Into<Value>) -> Result<(), ComponentError> {
        let value = value.into();
        let Some(spec) = T::PROPERTIES.iter().find(|property| property.name == name) else {
            return Err(ComponentError::new(format!(
                "{} has no declared property `{name}`; use set_custom_property",
                T::TYPE_NAME
            )));
        };
        if !spec.property_type.accepts(&value) {
            return Err(ComponentError::new(format!(
                "property `{name}` of {} is {:?}, not {value}",
                T::TYPE_NAME,
                spec.property_type
            )));
        }
        lock(&self.record).properties.insert(name.to_owned(), value);
        Ok(())
    }

    /// Sets a custom property (any JSON value).
    pub fn set_custom_property(&self, name: &str, value: impl Into<Value>) {
        lock(&self.record)
            .custom_properties
            .insert(name.to_owned(), value.into());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything an in-process executor receives, and what it hands back.
#[derive(Debug)]
pub struct ExecutionContext {
    pipeline: String,
    run_id: String,
    node_id: String,
    inputs: BTreeMap<String, Vec<ArtifactInstance>>,
    outputs: BTreeMap<String, Arc<Mutex<ArtifactInstance>>>,
    parameters: BTreeMap<String, Value>,
    metrics: BTreeMap<String, f64>,
    log: Vec<String>,
    summary: Option<String>,
    shard_role: ShardRole,
    tracked: Tracked,
}

impl ExecutionContext {
    /// A context for node `node_id` of run `run_id` of `pipeline`.
    pub fn new(
        pipeline: impl Into<String>,
        run_id: impl Into<String>,
        node_id: impl Into<String>,
    ) -> Self {
        ExecutionContext {
            pipeline: pipeline.into(),
            run_id: run_id.into(),
            node_id: node_id.into(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            parameters: BTreeMap::new(),
            metrics: BTreeMap::new(),
            log: Vec::new(),
            summary: None,
            shard_role: ShardRole::Whole,
            tracked: Tracked::default(),
        }
    }

    /// Sets what this execution does of a sharded node (the launcher's part).
    pub fn set_shard_role(&mut self, role: ShardRole) {
        self.shard_role = role;
    }

    /// What this execution does: the whole node, one shard of its examples, or the merge of
    /// the shards' outputs. Only components with
    /// [`Component::SHARDABLE`](crate::Component::SHARDABLE) see anything but
    /// [`ShardRole::Whole`].
    pub fn shard_role(&self) -> ShardRole {
        self.shard_role
    }

    /// In a merge, the shards' artifacts of output `output`, in shard order.
    pub fn shard_parts(&self, output: &str) -> &[ArtifactInstance] {
        self.input_artifacts(&shard_parts_input(output))
    }

    /// Adds a resolved artifact to input `name`.
    pub fn add_input(&mut self, name: impl Into<String>, artifact: ArtifactInstance) {
        self.inputs.entry(name.into()).or_default().push(artifact);
    }

    /// Declares output `name`, to be written at the artifact's URI.
    pub fn add_output(&mut self, name: impl Into<String>, artifact: ArtifactInstance) {
        self.outputs
            .insert(name.into(), Arc::new(Mutex::new(artifact)));
    }

    /// Sets the value of a runtime parameter.
    pub fn set_parameter(&mut self, name: impl Into<String>, value: Value) {
        self.parameters.insert(name.into(), value);
    }

    /// The pipeline's name.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The single artifact of required input `name`, typed.
    pub fn input<T: Artifact>(&self, name: &str) -> Result<Input<T>, ComponentError> {
        self.optional_input(name)?.ok_or_else(|| {
            ComponentError::new(format!(
                "node `{}`: input `{name}` has no artifact",
                self.node_id
            ))
        })
    }

    /// The artifact of optional input `name`, if one was resolved.
    pub fn optional_input<T: Artifact>(
        &self,
        name: &str,
    ) -> Result<Option<Input<T>>, ComponentError> {
        let Some(artifact) = self.inputs.get(name).and_then(|artifacts| artifacts.last()) else {
            return Ok(None);
        };
        if artifact.artifact_type != T::TYPE_NAME {
            return Err(ComponentError::new(format!(
                "node `{}`: input `{name}` holds a {}, not a {}",
                self.node_id,
                artifact.artifact_type,
                T::TYPE_NAME
            )));
        }
        Ok(Some(Input {
            artifact: artifact.clone(),
            artifact_type: PhantomData,
        }))
    }

    /// Every artifact of input `name` (a span range resolves to several).
    pub fn input_artifacts(&self, name: &str) -> &[ArtifactInstance] {
        self.inputs.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Output `name`, typed; its URI exists when the executor runs.
    pub fn output<T: Artifact>(&self, name: &str) -> Result<Output<T>, ComponentError> {
        let record = self.outputs.get(name).ok_or_else(|| {
            ComponentError::new(format!("node `{}` has no output `{name}`", self.node_id))
        })?;
        let guard = lock(record);
        if guard.artifact_type != T::TYPE_NAME {
            return Err(ComponentError::new(format!(
                "node `{}`: output `{name}` is a {}, not a {}",
                self.node_id,
                guard.artifact_type,
                T::TYPE_NAME
            )));
        }
        Ok(Output {
            uri: guard.uri.clone(),
            record: Arc::clone(record),
            artifact_type: PhantomData,
        })
    }

    /// The value of runtime parameter `name`.
    pub fn parameter<T: DeserializeOwned>(&self, name: &str) -> Result<T, ComponentError> {
        let value = self.parameters.get(name).ok_or_else(|| {
            ComponentError::new(format!("runtime parameter `{name}` has no value"))
        })?;
        T::deserialize(value)
            .map_err(|error| ComponentError::new(format!("runtime parameter `{name}`: {error}")))
    }

    /// Writes a line to this execution's log (kept beside its outputs by the runner, and
    /// emitted as a `tracing` event).
    pub fn log(&mut self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(node = %self.node_id, run = %self.run_id, "{message}");
        self.log.push(message);
    }

    /// The lines logged so far.
    pub fn log_lines(&self) -> &[String] {
        &self.log
    }

    /// Says in one line what this execution did (`pushed version 3 to serving/taxi/3`): the
    /// runner shows it beside the node in a run's summary and keeps it with the execution.
    pub fn set_summary(&mut self, summary: impl Into<String>) {
        self.summary = Some(summary.into());
    }

    /// The one-line summary, if the component gave one.
    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// Records a metric of this execution.
    pub fn log_metric(&mut self, name: impl Into<String>, value: f64) {
        self.metrics.insert(name.into(), value);
    }

    /// The metrics recorded so far (for a stepped metric, its value at the latest step).
    pub fn metrics(&self) -> &BTreeMap<String, f64> {
        &self.metrics
    }

    /// Records a metric's value at a training step: the runner keeps every step as the
    /// metric's curve in the execution's tracked run, and the latest step's value as the
    /// execution's metric.
    ///
    /// ```
    /// # use millrace_core::ExecutionContext;
    /// let mut context = ExecutionContext::new("forest", "r1", "trainer");
    /// for (step, loss) in [0.9, 0.5, 0.3].into_iter().enumerate() {
    ///     context.log_metric_at("loss", loss, step as i64);
    /// }
    /// assert_eq!(context.metrics()["loss"], 0.3);
    /// assert_eq!(context.tracked().curves["loss"].len(), 3);
    /// ```
    pub fn log_metric_at(&mut self, name: impl Into<String>, value: f64, step: i64) {
        let name = name.into();
        let curve = self.tracked.curves.entry(name.clone()).or_default();
        if curve.iter().all(|point| point.step <= step) {
            self.metrics.insert(name, value);
        }
        curve.push(MetricStep {
            value,
            step,
            timestamp: crate::tracking::now_ms(),
        });
    }

    /// Records a parameter of this execution (a hyper-parameter the component chose or
    /// searched): shown beside the node's run and compared across runs.
    pub fn log_param(&mut self, name: impl Into<String>, value: impl std::fmt::Display) {
        self.tracked.params.insert(name.into(), value.to_string());
    }

    /// Sets a tag of this execution's run.
    pub fn set_tag(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.tracked.tags.insert(name.into(), value.into());
    }

    /// Sets the run's note (MLflow's run description), in Markdown.
    pub fn set_note(&mut self, note: impl Into<String>) {
        self.tracked
            .tags
            .insert(crate::tracking::NOTE_TAG.to_owned(), note.into());
    }

    /// Keeps a small file with the execution's run (a plot, a report excerpt) under `name`, a
    /// relative path. Large outputs belong in output artifacts.
    pub fn log_file(&mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) {
        self.tracked.files.insert(name.into(), contents.into());
    }

    /// Asks the runner to register the Model artifact of input `registration.input` in the
    /// model registry (and to move an alias to the new version).
    pub fn register_model(&mut self, registration: ModelRegistration) {
        self.tracked.registrations.push(registration);
    }

    /// Everything tracked so far.
    pub fn tracked(&self) -> &Tracked {
        &self.tracked
    }

    /// The output artifacts with the properties the executor set, by output name.
    pub fn output_artifacts(&self) -> BTreeMap<String, ArtifactInstance> {
        self.outputs
            .iter()
            .map(|(name, record)| (name.clone(), lock(record).clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::standard::{Examples, Model};

    #[test]
    fn typed_access_checks_artifact_types_and_property_schemas() {
        let mut context = ExecutionContext::new("p", "run-1", "trainer");
        context.add_input("examples", ArtifactInstance::new("Examples", "/data/e"));
        context.add_output("model", ArtifactInstance::new("Model", "/data/m"));
        context.add_output("examples_out", ArtifactInstance::new("Examples", "/data/o"));

        assert_eq!(
            context.input::<Examples>("examples").unwrap().uri(),
            Path::new("/data/e")
        );
        assert!(context.input::<Model>("examples").is_err());
        assert!(context.input::<Examples>("missing").is_err());
        assert!(context.output::<Examples>("model").is_err());

        let out = context.output::<Examples>("examples_out").unwrap();
        out.set_property("span", 3).unwrap();
        assert!(out.set_property("span", "three").is_err());
        assert!(out.set_property("colour", 1).is_err());
        out.set_custom_property("colour", "blue");
        let written = &context.output_artifacts()["examples_out"];
        assert_eq!(written.properties["span"], 3);
        assert_eq!(written.custom_properties["colour"], "blue");
    }

    #[test]
    fn component_errors_keep_their_cause_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = ComponentError::from(io);
        assert_eq!(error.to_string(), "no such file");
    }
}
