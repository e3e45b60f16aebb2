//! `SqlStore`: the `MetadataStore` of any SQL backend, each call one transaction on a blocking
//! thread.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{MetadataError, Result};
use crate::model::{
    Artifact, ArtifactState, Association, Attribution, Context, Event, Execution, NodeType,
    ParentContext, TypeKind,
};
use crate::query::{LineageQuery, NodeQuery, OutputQuery};
use crate::sql::{Backend, SqlTx, ops};
use crate::store::{EventQuery, LineageGraph, MetadataStore, PutExecution, PutExecutionResult};

/// A metadata store on a SQL database.
pub(crate) struct SqlStore<B: Backend> {
    backend: Arc<B>,
}

impl<B: Backend> fmt::Debug for SqlStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("location", &self.backend.location())
            .finish()
    }
}

impl<B: Backend> SqlStore<B> {
    pub(crate) fn new(backend: B) -> Self {
        SqlStore {
            backend: Arc::new(backend),
        }
    }

    /// Runs `work` in one transaction on a blocking thread.
    pub(crate) async fn run<R, W>(&self, write: bool, work: W) -> Result<R>
    where
        R: Send + 'static,
        W: Fn(&mut dyn SqlTx) -> Result<R> + Send + 'static,
    {
        let backend = Arc::clone(&self.backend);
        let location = self.backend.location();
        tokio::task::spawn_blocking(move || {
            let mut result = None;
            backend.transaction(write, &mut |tx| {
                result = Some(work(tx)?);
                Ok(())
            })?;
            result.ok_or_else(|| {
                MetadataError::Database("the transaction produced no result".to_owned())
            })
        })
        .await
        .map_err(|error| {
            MetadataError::Database(format!("the store's worker thread failed: {error}"))
        })?
        .map_err(|error| error.in_store(&location))
    }
}

#[async_trait]
impl<B: Backend> MetadataStore for SqlStore<B> {
    async fn put_type(&self, node_type: &NodeType) -> Result<i64> {
        let node_type = node_type.clone();
        self.run(true, move |tx| ops::put_type(tx, &node_type))
            .await
    }

    async fn get_type(&self, kind: TypeKind, name: &str) -> Result<Option<NodeType>> {
        let name = name.to_owned();
        self.run(false, move |tx| ops::get_type(tx, kind, &name))
            .await
    }

    async fn get_types(&self, kind: TypeKind) -> Result<Vec<NodeType>> {
        self.run(false, move |tx| ops::get_types(tx, kind)).await
    }

    async fn put_artifacts(&self, artifacts: &[Artifact]) -> Result<Vec<i64>> {
        let artifacts = artifacts.to_vec();
        self.run(true, move |tx| {
            let now = ops::now_ms();
            artifacts
                .iter()
                .map(|artifact| ops::put_artifact(tx, artifact, now))
                .collect()
        })
        .await
    }

    async fn put_executions(&self, executions: &[Execution]) -> Result<Vec<i64>> {
        let executions = executions.to_vec();
        self.run(true, move |tx| {
            let now = ops::now_ms();
            executions
                .iter()
                .map(|execution| ops::put_execution_node(tx, execution, now))
                .collect()
        })
        .await
    }

    async fn put_contexts(&self, contexts: &[Context]) -> Result<Vec<i64>> {
        let contexts = contexts.to_vec();
        self.run(true, move |tx| {
            let now = ops::now_ms();
            contexts
                .iter()
                .map(|context| ops::put_context(tx, context, now))
                .collect()
        })
        .await
    }

    async fn put_events(&self, events: &[Event]) -> Result<()> {
        let events = events.to_vec();
        self.run(true, move |tx| {
            let now = ops::now_ms();
            events
                .iter()
                .try_for_each(|event| ops::put_event(tx, event, now))
        })
        .await
    }

    async fn put_attributions_and_associations(
        &self,
        attributions: &[Attribution],
        associations: &[Association],
    ) -> Result<()> {
        let (attributions, associations) = (attributions.to_vec(), associations.to_vec());
        self.run(true, move |tx| {
            attributions
                .iter()
                .try_for_each(|link| ops::put_attribution(tx, *link))?;
            associations
                .iter()
                .try_for_each(|link| ops::put_association(tx, *link))
        })
        .await
    }

    async fn put_parent_contexts(&self, links: &[ParentContext]) -> Result<()> {
        let links = links.to_vec();
        self.run(true, move |tx| {
            links
                .iter()
                .try_for_each(|link| ops::put_parent_context(tx, *link))
        })
        .await
    }

    async fn put_execution(&self, request: &PutExecution) -> Result<PutExecutionResult> {
        let request = request.clone();
        self.run(true, move |tx| {
            ops::put_execution(tx, &request, ops::now_ms(), &mut Default::default())
        })
        .await
    }

    async fn put_executions_with_events(
        &self,
        requests: &[PutExecution],
    ) -> Result<Vec<PutExecutionResult>> {
        let requests = requests.to_vec();
        self.run(true, move |tx| {
            let now = ops::now_ms();
            let mut seen = ops::ContextsSeen::default();
            requests
                .iter()
                .map(|request| ops::put_execution(tx, request, now, &mut seen))
                .collect()
        })
        .await
    }

    async fn get_artifacts(&self, query: &NodeQuery) -> Result<Vec<Artifact>> {
        let query = query.clone();
        self.run(false, move |tx| ops::get_artifacts(tx, &query))
            .await
    }

    async fn get_executions(&self, query: &NodeQuery) -> Result<Vec<Execution>> {
        let query = query.clone();
        self.run(false, move |tx| ops::get_executions(tx, &query))
            .await
    }

    async fn get_contexts(&self, query: &NodeQuery) -> Result<Vec<Context>> {
        let query = query.clone();
        self.run(false, move |tx| ops::get_contexts(tx, &query))
            .await
    }

    async fn get_events(&self, query: &EventQuery) -> Result<Vec<Event>> {
        let query = query.clone();
        self.run(false, move |tx| ops::get_events(tx, &query)).await
    }

    async fn get_attributions(&self, context_ids: Option<&[i64]>) -> Result<Vec<Attribution>> {
        let context_ids = context_ids.map(<[i64]>::to_vec);
        self.run(false, move |tx| {
            ops::get_attributions(tx, context_ids.as_deref())
        })
        .await
    }

    async fn get_associations(&self, context_ids: Option<&[i64]>) -> Result<Vec<Association>> {
        let context_ids = context_ids.map(<[i64]>::to_vec);
        self.run(false, move |tx| {
            ops::get_associations(tx, context_ids.as_deref())
        })
        .await
    }

    async fn get_parent_contexts(&self, child_ids: Option<&[i64]>) -> Result<Vec<ParentContext>> {
        let child_ids = child_ids.map(<[i64]>::to_vec);
        self.run(false, move |tx| {
            ops::get_parent_contexts(tx, child_ids.as_deref())
        })
        .await
    }

    async fn get_output_artifacts(&self, query: &OutputQuery) -> Result<Vec<Artifact>> {
        let query = query.clone();
        self.run(false, move |tx| ops::get_output_artifacts(tx, &query))
            .await
    }

    async fn get_lineage(&self, query: &LineageQuery) -> Result<LineageGraph> {
        let query = query.clone();
        self.run(false, move |tx| ops::get_lineage(tx, &query))
            .await
    }

    async fn set_artifact_states(&self, ids: &[i64], state: ArtifactState) -> Result<()> {
        let ids = ids.to_vec();
        self.run(true, move |tx| {
            ops::set_artifact_states(tx, &ids, state, ops::now_ms())
        })
        .await
    }

    fn location(&self) -> String {
        self.backend.location()
    }
}
