//! The model registry on the metadata store: registered models, numbered versions that point
//! at Model artifacts, aliases (`champion`, `challenger`), tags, MLflow's deprecated stages,
//! and an approval step — every decision (registering, approving, rejecting, moving an alias
//! or a stage) recorded as an execution of the registered model's context that reads the
//! version's Model artifact, so lineage shows who decided what, when and why.
//!
//! | MLflow | here | ML-Metadata record |
//! |---|---|---|
//! | registered model | [`RegisteredModel`] | a `millrace.RegisteredModel` context; its versions' artifacts are attributed to it |
//! | model version | [`ModelVersion`] | the Model artifact it points at (`artifact_id`) |
//! | alias, stage, approval | columns and `millrace_model_alias` | a `millrace.RegistryDecision` execution per change, with an INPUT event from the artifact |
//!
//! ```
//! use millrace_metadata::connect;
//! use millrace_metadata::registry::{Approval, Decision, NewModelVersion, RegistryStore};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = connect("memory://").await?;
//! let first = store
//!     .create_model_version(&NewModelVersion {
//!         name: "taxi".into(),
//!         source: "/models/1".into(),
//!         decision: Decision::by("ada", "first forest"),
//!         ..NewModelVersion::default()
//!     })
//!     .await?;
//! assert_eq!(first.version, 1);
//! store.decide("taxi", 1, Approval::Approved, &Decision::by("grace", "RMSE 3.9 on May")).await?;
//! store.set_alias("taxi", "champion", 1, &Decision::by("grace", "best so far")).await?;
//! let champion = store.get_version_by_alias("taxi", "champion").await?;
//! assert_eq!((champion.version, champion.approval), (1, Approval::Approved));
//! # Ok::<(), millrace_metadata::MetadataError>(())
//! # }).unwrap();
//! ```

mod model;
pub(crate) mod ops;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use model::{
    Approval, Decision, ModelVersion, NewModelVersion, RegisteredModel, RegistryPage,
    RegistrySearch, Stage,
};

use crate::error::Result;

/// The context type of a registered model.
pub const REGISTERED_MODEL_CONTEXT: &str = "millrace.RegisteredModel";
/// The execution type of a registry decision.
pub const DECISION_EXECUTION: &str = "millrace.RegistryDecision";

/// The model registry. Every store [`connect`](crate::connect) opens implements it.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Creates a registered model; a name in use is
    /// [`AlreadyExists`](crate::MetadataError::AlreadyExists).
    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<RegisteredModel>;

    /// A registered model with its tags, aliases and latest versions.
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;

    /// Changes a registered model's description.
    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel>;

    /// Renames a registered model.
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel>;

    /// Deletes a registered model and its versions (artifacts and decisions stay).
    async fn delete_registered_model(&self, name: &str) -> Result<()>;

    /// Sets (`Some`) or removes (`None`) a registered model's tag.
    async fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<()>;

    /// A page of registered models.
    async fn search_registered_models(
        &self,
        search: &RegistrySearch,
    ) -> Result<RegistryPage<RegisteredModel>>;

    /// Registers a new version (and the registered model if new).
    async fn create_model_version(&self, request: &NewModelVersion) -> Result<ModelVersion>;

    /// A version.
    async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion>;

    /// Changes a version's description.
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion>;

    /// Deletes a version (its artifact and decisions stay).
    async fn delete_model_version(&self, name: &str, version: i64) -> Result<()>;

    /// Sets (`Some`) or removes (`None`) a version's tag.
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<()>;

    /// A page of versions.
    async fn search_model_versions(
        &self,
        search: &RegistrySearch,
    ) -> Result<RegistryPage<ModelVersion>>;

    /// Points an alias at a version (moving it).
    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        decision: &Decision,
    ) -> Result<ModelVersion>;

    /// Removes an alias.
    async fn delete_alias(&self, name: &str, alias: &str, decision: &Decision) -> Result<()>;

    /// The version an alias points at.
    async fn get_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;

    /// Moves a version to a stage (archiving the stage's others with `archive_existing`).
    async fn transition_stage(
        &self,
        name: &str,
        version: i64,
        stage: Stage,
        archive_existing: bool,
        decision: &Decision,
    ) -> Result<ModelVersion>;

    /// Approves or rejects a pending version.
    async fn decide(
        &self,
        name: &str,
        version: i64,
        approval: Approval,
        decision: &Decision,
    ) -> Result<ModelVersion>;

    /// The newest version in each of `stages` (all stages if empty).
    async fn latest_versions(&self, name: &str, stages: &[Stage]) -> Result<Vec<ModelVersion>>;

    /// The versions a Model artifact was registered as.
    async fn versions_of_artifact(&self, artifact_id: i64) -> Result<Vec<ModelVersion>>;
}
