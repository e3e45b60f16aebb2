//! A store that writes through to another and keeps every write it was asked for, with what
//! the store answered: the record stream of a real run, for [`super::replay`] to write again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use millrace::metadata::registry::{
    Approval, Decision, ModelVersion, NewModelVersion, RegisteredModel, RegistryPage,
    RegistrySearch, RegistryStore, Stage,
};
use millrace::metadata::tracking::{
    Experiment, LifecycleStage, LogBatch, MetricPoint, NewExperiment, NewRun, RunInfo, RunSearch,
    RunSearchPage, RunUpdate, TrackedRun, TrackingStore, ViewType,
};
use millrace::metadata::triggers::{Claim, TriggerFire, TriggerState, TriggerStore};
use millrace::metadata::{
    Artifact, ArtifactState, Association, Attribution, Context, Event, EventQuery, Execution,
    LineageGraph, LineageQuery, MetadataStore, NodeQuery, NodeType, OutputQuery, ParentContext,
    PutExecution, PutExecutionResult, Result, TypeKind,
};

/// One write a store was asked for, with the ids it answered.
#[derive(Debug, Clone)]
pub enum Write {
    PutType {
        node_type: NodeType,
        id: i64,
    },
    PutArtifacts {
        artifacts: Vec<Artifact>,
        ids: Vec<i64>,
    },
    PutExecutions {
        executions: Vec<Execution>,
        ids: Vec<i64>,
    },
    PutContexts {
        contexts: Vec<Context>,
        ids: Vec<i64>,
    },
    PutEvents {
        events: Vec<Event>,
    },
    PutAttributionsAndAssociations {
        attributions: Vec<Attribution>,
        associations: Vec<Association>,
    },
    PutParentContexts {
        links: Vec<ParentContext>,
    },
    PutExecution {
        request: PutExecution,
        result: PutExecutionResult,
    },
    PutExecutionsWithEvents {
        requests: Vec<PutExecution>,
        results: Vec<PutExecutionResult>,
    },
    SetArtifactStates {
        ids: Vec<i64>,
        state: ArtifactState,
    },
    PipelineExperiment {
        context_id: i64,
        name: String,
        experiment_id: i64,
    },
    CreateRun {
        request: NewRun,
        run_id: String,
    },
    UpdateRun {
        run_id: String,
        update: RunUpdate,
    },
    LogBatch {
        run_id: String,
        batch: LogBatch,
    },
    CreateRegisteredModel {
        name: String,
        description: String,
        tags: BTreeMap<String, String>,
    },
    CreateModelVersion {
        request: NewModelVersion,
        version: i64,
    },
    SetModelVersionTag {
        name: String,
        version: i64,
        key: String,
        value: Option<String>,
    },
    SetAlias {
        name: String,
        alias: String,
        version: i64,
        decision: Decision,
    },
    Decide {
        name: String,
        version: i64,
        approval: Approval,
        decision: Decision,
    },
    /// A write the replay does not know how to repeat (named), which a run of the recorded
    /// pipeline should not make.
    Other(&'static str),
}

/// Writes through to `inner`, keeping each write in the order the store finished it — so a
/// write that used an id another write returned always comes after that one.
#[derive(Debug)]
pub struct RecordingStore {
    inner: Arc<dyn MetadataStore>,
    writes: Mutex<Vec<Write>>,
}

impl RecordingStore {
    pub fn new(inner: Arc<dyn MetadataStore>) -> Self {
        RecordingStore {
            inner,
            writes: Mutex::new(Vec::new()),
        }
    }

    /// The writes kept since the last call, oldest first.
    pub fn take(&self) -> Vec<Write> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn keep(&self, write: Write) {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(write);
    }
}

#[async_trait::async_trait]
impl MetadataStore for RecordingStore {
    async fn put_type(&self, node_type: &NodeType) -> Result<i64> {
        let id = self.inner.put_type(node_type).await?;
        self.keep(Write::PutType {
            node_type: node_type.clone(),
            id,
        });
        Ok(id)
    }

    async fn get_type(&self, kind: TypeKind, name: &str) -> Result<Option<NodeType>> {
        self.inner.get_type(kind, name).await
    }

    async fn get_types(&self, kind: TypeKind) -> Result<Vec<NodeType>> {
        self.inner.get_types(kind).await
    }

    async fn put_artifacts(&self, artifacts: &[Artifact]) -> Result<Vec<i64>> {
        let ids = self.inner.put_artifacts(artifacts).await?;
        self.keep(Write::PutArtifacts {
            artifacts: artifacts.to_vec(),
            ids: ids.clone(),
        });
        Ok(ids)
    }

    async fn put_executions(&self, executions: &[Execution]) -> Result<Vec<i64>> {
        let ids = self.inner.put_executions(executions).await?;
        self.keep(Write::PutExecutions {
            executions: executions.to_vec(),
            ids: ids.clone(),
        });
        Ok(ids)
    }

    async fn put_contexts(&self, contexts: &[Context]) -> Result<Vec<i64>> {
        let ids = self.inner.put_contexts(contexts).await?;
        self.keep(Write::PutContexts {
            contexts: contexts.to_vec(),
            ids: ids.clone(),
        });
        Ok(ids)
    }

    async fn put_events(&self, events: &[Event]) -> Result<()> {
        self.inner.put_events(events).await?;
        self.keep(Write::PutEvents {
            events: events.to_vec(),
        });
        Ok(())
    }

    async fn put_attributions_and_associations(
        &self,
        attributions: &[Attribution],
        associations: &[Association],
    ) -> Result<()> {
        self.inner
            .put_attributions_and_associations(attributions, associations)
            .await?;
        self.keep(Write::PutAttributionsAndAssociations {
            attributions: attributions.to_vec(),
            associations: associations.to_vec(),
        });
        Ok(())
    }

    async fn put_parent_contexts(&self, links: &[ParentContext]) -> Result<()> {
        self.inner.put_parent_contexts(links).await?;
        self.keep(Write::PutParentContexts {
            links: links.to_vec(),
        });
        Ok(())
    }

    async fn put_execution(&self, request: &PutExecution) -> Result<PutExecutionResult> {
        let result = self.inner.put_execution(request).await?;
        self.keep(Write::PutExecution {
            request: request.clone(),
            result: result.clone(),
        });
        Ok(result)
    }

    async fn put_executions_with_events(
        &self,
        requests: &[PutExecution],
    ) -> Result<Vec<PutExecutionResult>> {
        let results = self.inner.put_executions_with_events(requests).await?;
        self.keep(Write::PutExecutionsWithEvents {
            requests: requests.to_vec(),
            results: results.clone(),
        });
        Ok(results)
    }

    async fn get_artifacts(&self, query: &NodeQuery) -> Result<Vec<Artifact>> {
        self.inner.get_artifacts(query).await
    }

    async fn get_executions(&self, query: &NodeQuery) -> Result<Vec<Execution>> {
        self.inner.get_executions(query).await
    }

    async fn get_contexts(&self, query: &NodeQuery) -> Result<Vec<Context>> {
        self.inner.get_contexts(query).await
    }

    async fn get_events(&self, query: &EventQuery) -> Result<Vec<Event>> {
        self.inner.get_events(query).await
    }

    async fn get_attributions(&self, context_ids: Option<&[i64]>) -> Result<Vec<Attribution>> {
        self.inner.get_attributions(context_ids).await
    }

    async fn get_associations(&self, context_ids: Option<&[i64]>) -> Result<Vec<Association>> {
        self.inner.get_associations(context_ids).await
    }

    async fn get_parent_contexts(&self, child_ids: Option<&[i64]>) -> Result<Vec<ParentContext>> {
        self.inner.get_parent_contexts(child_ids).await
    }

    async fn get_output_artifacts(&self, query: &OutputQuery) -> Result<Vec<Artifact>> {
        self.inner.get_output_artifacts(query).await
    }

    async fn get_lineage(&self, query: &LineageQuery) -> Result<LineageGraph> {
        self.inner.get_lineage(query).await
    }

    async fn set_artifact_states(&self, ids: &[i64], state: ArtifactState) -> Result<()> {
        self.inner.set_artifact_states(ids, state).await?;
        self.keep(Write::SetArtifactStates {
            ids: ids.to_vec(),
            state,
        });
        Ok(())
    }

    fn location(&self) -> String {
        self.inner.location()
    }
}

#[async_trait::async_trait]
impl TrackingStore for RecordingStore {
    async fn create_experiment(&self, request: &NewExperiment) -> Result<Experiment> {
        self.keep(Write::Other("create_experiment"));
        self.inner.create_experiment(request).await
    }

    async fn get_experiment(&self, experiment_id: i64) -> Result<Experiment> {
        self.inner.get_experiment(experiment_id).await
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.inner.get_experiment_by_name(name).await
    }

    async fn pipeline_experiment(&self, context_id: i64, name: &str) -> Result<Experiment> {
        let experiment = self.inner.pipeline_experiment(context_id, name).await?;
        self.keep(Write::PipelineExperiment {
            context_id,
            name: name.to_owned(),
            experiment_id: experiment.experiment_id,
        });
        Ok(experiment)
    }

    async fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        self.inner.list_experiments(view).await
    }

    async fn update_experiment(
        &self,
        experiment_id: i64,
        name: Option<&str>,
        stage: Option<LifecycleStage>,
    ) -> Result<Experiment> {
        self.keep(Write::Other("update_experiment"));
        self.inner
            .update_experiment(experiment_id, name, stage)
            .await
    }

    async fn set_experiment_tag(&self, experiment_id: i64, key: &str, value: &str) -> Result<()> {
        self.keep(Write::Other("set_experiment_tag"));
        self.inner
            .set_experiment_tag(experiment_id, key, value)
            .await
    }

    async fn create_run(&self, request: &NewRun) -> Result<TrackedRun> {
        let run = self.inner.create_run(request).await?;
        self.keep(Write::CreateRun {
            request: request.clone(),
            run_id: run.info.run_id.clone(),
        });
        Ok(run)
    }

    async fn get_run(&self, run_id: &str) -> Result<TrackedRun> {
        self.inner.get_run(run_id).await
    }

    async fn run_of_execution(&self, execution_id: i64) -> Result<Option<RunInfo>> {
        self.inner.run_of_execution(execution_id).await
    }

    async fn child_runs(&self, run_id: &str) -> Result<Vec<TrackedRun>> {
        self.inner.child_runs(run_id).await
    }

    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        let info = self.inner.update_run(run_id, update).await?;
        self.keep(Write::UpdateRun {
            run_id: run_id.to_owned(),
            update: update.clone(),
        });
        Ok(info)
    }

    async fn set_run_lifecycle(&self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        self.keep(Write::Other("set_run_lifecycle"));
        self.inner.set_run_lifecycle(run_id, stage).await
    }

    async fn log_batch(&self, run_id: &str, batch: &LogBatch) -> Result<()> {
        self.inner.log_batch(run_id, batch).await?;
        self.keep(Write::LogBatch {
            run_id: run_id.to_owned(),
            batch: batch.clone(),
        });
        Ok(())
    }

    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.keep(Write::Other("delete_run_tag"));
        self.inner.delete_run_tag(run_id, key).await
    }

    async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        self.inner.metric_history(run_id, key).await
    }

    async fn search_runs(&self, search: &RunSearch) -> Result<RunSearchPage> {
        self.inner.search_runs(search).await
    }
}

#[async_trait::async_trait]
impl RegistryStore for RecordingStore {
    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<RegisteredModel> {
        let model = self
            .inner
            .create_registered_model(name, description, tags)
            .await?;
        self.keep(Write::CreateRegisteredModel {
            name: name.to_owned(),
            description: description.to_owned(),
            tags: tags.clone(),
        });
        Ok(model)
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.inner.get_registered_model(name).await
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        self.keep(Write::Other("update_registered_model"));
        self.inner.update_registered_model(name, description).await
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        self.keep(Write::Other("rename_registered_model"));
        self.inner.rename_registered_model(name, new_name).await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.keep(Write::Other("delete_registered_model"));
        self.inner.delete_registered_model(name).await
    }

    async fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        self.keep(Write::Other("set_registered_model_tag"));
        self.inner.set_registered_model_tag(name, key, value).await
    }

    async fn search_registered_models(
        &self,
        search: &RegistrySearch,
    ) -> Result<RegistryPage<RegisteredModel>> {
        self.inner.search_registered_models(search).await
    }

    async fn create_model_version(&self, request: &NewModelVersion) -> Result<ModelVersion> {
        let version = self.inner.create_model_version(request).await?;
        self.keep(Write::CreateModelVersion {
            request: request.clone(),
            version: version.version,
        });
        Ok(version)
    }

    async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        self.inner.get_model_version(name, version).await
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion> {
        self.keep(Write::Other("update_model_version"));
        self.inner
            .update_model_version(name, version, description)
            .await
    }

    async fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        self.keep(Write::Other("delete_model_version"));
        self.inner.delete_model_version(name, version).await
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        self.inner
            .set_model_version_tag(name, version, key, value)
            .await?;
        self.keep(Write::SetModelVersionTag {
            name: name.to_owned(),
            version,
            key: key.to_owned(),
            value: value.map(str::to_owned),
        });
        Ok(())
    }

    async fn search_model_versions(
        &self,
        search: &RegistrySearch,
    ) -> Result<RegistryPage<ModelVersion>> {
        self.inner.search_model_versions(search).await
    }

    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        decision: &Decision,
    ) -> Result<ModelVersion> {
        let answer = self.inner.set_alias(name, alias, version, decision).await?;
        self.keep(Write::SetAlias {
            name: name.to_owned(),
            alias: alias.to_owned(),
            version,
            decision: decision.clone(),
        });
        Ok(answer)
    }

    async fn delete_alias(&self, name: &str, alias: &str, decision: &Decision) -> Result<()> {
        self.keep(Write::Other("delete_alias"));
        self.inner.delete_alias(name, alias, decision).await
    }

    async fn get_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        self.inner.get_version_by_alias(name, alias).await
    }

    async fn transition_stage(
        &self,
        name: &str,
        version: i64,
        stage: Stage,
        archive_existing: bool,
        decision: &Decision,
    ) -> Result<ModelVersion> {
        self.keep(Write::Other("transition_stage"));
        self.inner
            .transition_stage(name, version, stage, archive_existing, decision)
            .await
    }

    async fn decide(
        &self,
        name: &str,
        version: i64,
        approval: Approval,
        decision: &Decision,
    ) -> Result<ModelVersion> {
        let answer = self.inner.decide(name, version, approval, decision).await?;
        self.keep(Write::Decide {
            name: name.to_owned(),
            version,
            approval,
            decision: decision.clone(),
        });
        Ok(answer)
    }

    async fn latest_versions(&self, name: &str, stages: &[Stage]) -> Result<Vec<ModelVersion>> {
        self.inner.latest_versions(name, stages).await
    }

    async fn versions_of_artifact(&self, artifact_id: i64) -> Result<Vec<ModelVersion>> {
        self.inner.versions_of_artifact(artifact_id).await
    }
}

#[async_trait::async_trait]
impl TriggerStore for RecordingStore {
    async fn claim_trigger(&self, pipeline: &str, trigger: &str, key: &str) -> Result<Claim> {
        self.keep(Write::Other("claim_trigger"));
        self.inner.claim_trigger(pipeline, trigger, key).await
    }

    async fn attach_run(
        &self,
        pipeline: &str,
        trigger: &str,
        key: &str,
        run_id: &str,
    ) -> Result<()> {
        self.keep(Write::Other("attach_run"));
        self.inner.attach_run(pipeline, trigger, key, run_id).await
    }

    async fn unstarted_claims(&self, pipeline: &str) -> Result<Vec<TriggerFire>> {
        self.inner.unstarted_claims(pipeline).await
    }

    async fn trigger_fires(
        &self,
        pipeline: &str,
        trigger: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TriggerFire>> {
        self.inner.trigger_fires(pipeline, trigger, limit).await
    }

    async fn fires_of_runs(&self, pipeline: &str, run_ids: &[String]) -> Result<Vec<TriggerFire>> {
        self.inner.fires_of_runs(pipeline, run_ids).await
    }

    async fn latest_key(&self, pipeline: &str, trigger: &str) -> Result<Option<String>> {
        self.inner.latest_key(pipeline, trigger).await
    }

    async fn set_trigger_paused(&self, pipeline: &str, trigger: &str, paused: bool) -> Result<()> {
        self.keep(Write::Other("set_trigger_paused"));
        self.inner
            .set_trigger_paused(pipeline, trigger, paused)
            .await
    }

    async fn trigger_states(&self, pipeline: &str) -> Result<Vec<TriggerState>> {
        self.inner.trigger_states(pipeline).await
    }
}
