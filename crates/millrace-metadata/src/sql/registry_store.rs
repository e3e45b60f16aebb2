//! `SqlStore`'s model registry: each call one transaction on a blocking thread.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::error::Result;
use crate::registry::ops;
use crate::registry::{
    Approval, Decision, ModelVersion, NewModelVersion, RegisteredModel, RegistryPage,
    RegistrySearch, RegistryStore, Stage,
};
use crate::sql::{Backend, SqlStore};

#[async_trait]
impl<B: Backend> RegistryStore for SqlStore<B> {
    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<RegisteredModel> {
        let (name, description, tags) = (name.to_owned(), description.to_owned(), tags.clone());
        self.run(true, move |tx| {
            ops::create_registered_model(tx, &name, &description, &tags)
        })
        .await
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let name = name.to_owned();
        self.run(false, move |tx| ops::get_registered_model(tx, &name))
            .await
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let (name, description) = (name.to_owned(), description.to_owned());
        self.run(true, move |tx| {
            ops::update_registered_model(tx, &name, &description)
        })
        .await
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let (name, new_name) = (name.to_owned(), new_name.to_owned());
        self.run(true, move |tx| {
            ops::rename_registered_model(tx, &name, &new_name)
        })
        .await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.run(true, move |tx| ops::delete_registered_model(tx, &name))
            .await
    }

    async fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), value.map(str::to_owned));
        self.run(true, move |tx| {
            ops::set_registered_model_tag(tx, &name, &key, value.as_deref())
        })
        .await
    }

    async fn search_registered_models(
        &self,
        search: &RegistrySearch,
    ) -> Result<RegistryPage<RegisteredModel>> {
        let search = search.clone();
        self.run(false, move |tx| ops::search_registered_models(tx, &search))
            .await
    }

    async fn create_model_version(&self, request: &NewModelVersion) -> Result<ModelVersion> {
        let request = request.clone();
        self.run(true, move |tx| ops::create_model_version(tx, &request))
            .await
    }

    async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        let name = name.to_owned();
        self.run(false, move |tx| ops::get_model_version(tx, &name, version))
            .await
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion> {
        let (name, description) = (name.to_owned(), description.to_owned());
        self.run(true, move |tx| {
            ops::update_model_version(tx, &name, version, &description)
        })
        .await
    }

    async fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        let name = name.to_owned();
        self.run(true, move |tx| {
            ops::delete_model_version(tx, &name, version)
        })
        .await
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), value.map(str::to_owned));
        self.run(true, move |tx| {
            ops::set_model_version_tag(tx, &name, version, &key, value.as_deref())
        })
        .await
    }

    async fn search_model_versions(
        &self,
        search: &RegistrySearch,
    ) -> Result<RegistryPage<ModelVersion>> {
        let search = search.clone();
        self.run(false, move |tx| ops::search_model_versions(tx, &search))
            .await
    }

    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        decision: &Decision,
    ) -> Result<ModelVersion> {
        let (name, alias, decision) = (name.to_owned(), alias.to_owned(), decision.clone());
        self.run(true, move |tx| {
            ops::set_alias(tx, &name, &alias, version, &decision)
        })
        .await
    }

    async fn delete_alias(&self, name: &str, alias: &str, decision: &Decision) -> Result<()> {
        let (name, alias, decision) = (name.to_owned(), alias.to_owned(), decision.clone());
        self.run(true, move |tx| {
            ops::delete_alias(tx, &name, &alias, &decision)
        })
        .await
    }

    async fn get_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        self.run(false, move |tx| {
            ops::get_version_by_alias(tx, &name, &alias)
        })
        .await
    }

    async fn transition_stage(
        &self,
        name: &str,
        version: i64,
        stage: Stage,
        archive_existing: bool,
        decision: &Decision,
    ) -> Result<ModelVersion> {
        let (name, decision) = (name.to_owned(), decision.clone());
        self.run(true, move |tx| {
            ops::transition_stage(tx, &name, version, stage, archive_existing, &decision)
        })
        .await
    }

    async fn decide(
        &self,
        name: &str,
        version: i64,
        approval: Approval,
        decision: &Decision,
    ) -> Result<ModelVersion> {
        let (name, decision) = (name.to_owned(), decision.clone());
        self.run(true, move |tx| {
            ops::decide(tx, &name, version, approval, &decision)
        })
        .await
    }

    async fn latest_versions(&self, name: &str, stages: &[Stage]) -> Result<Vec<ModelVersion>> {
        let (name, stages) = (name.to_owned(), stages.to_vec());
        self.run(false, move |tx| ops::latest_versions(tx, &name, &stages))
            .await
    }

    async fn versions_of_artifact(&self, artifact_id: i64) -> Result<Vec<ModelVersion>> {
        self.run(false, move |tx| ops::versions_of_artifact(tx, artifact_id))
            .await
    }
}
