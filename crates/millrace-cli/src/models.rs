//! `models list|show|register|alias|approve|reject|archive`: the model registry from the
//! command line. Every change is a decision with who and why, recorded in the store's lineage.

use std::io::Write;

use clap::Subcommand;
use millrace_metadata::registry::{
    Approval, Decision, NewModelVersion, RegistrySearch, RegistryStore, Stage,
};
use millrace_runner::RunnerError;

use crate::command::Location;
use crate::error::CliError;
use crate::render;

/// Who decides and why.
#[derive(Debug, Clone, clap::Args)]
pub struct DecisionArgs {
    /// Who decides (default: this user).
    #[arg(long)]
    pub by: Option<String>,
    /// Why, in words.
    #[arg(long, default_value = "")]
    pub reason: String,
}

impl DecisionArgs {
    fn decision(&self) -> Decision {
        let who = self
            .by
            .clone()
            .unwrap_or_else(|| millrace_runner::Provenance::of_this_process().user.clone());
        Decision::by(who, self.reason.clone())
    }
}

/// A decision on one version: `models approve|reject|archive NAME VERSION`.
#[derive(Debug, Clone, clap::Args)]
pub struct VersionDecisionArgs {
    /// The registered model.
    pub name: String,
    /// The version.
    pub version: i64,
    /// Who and why.
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// Where the metadata is.
    #[command(flatten)]
    pub location: Location,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `models ...`
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The registered models, by name.
    List {
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A registered model and every version.
    Show {
        /// The registered model.
        name: String,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Registers a Model artifact as a new version (the registered model is made if new).
    Register {
        /// The registered model.
        name: String,
        /// The Model artifact (its id, from `artifacts list --type Model`).
        #[arg(long)]
        artifact: i64,
        /// Also point this alias at the new version.
        #[arg(long)]
        alias: Option<String>,
        /// Who and why.
        #[command(flatten)]
        decision: DecisionArgs,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Points an alias (`champion`) at a version, moving it from another.
    Alias {
        /// The registered model.
        name: String,
        /// The alias.
        alias: String,
        /// The version.
        version: i64,
        /// Who and why.
        #[command(flatten)]
        decision: DecisionArgs,
        /// Where the metadata is.
        #[command(flatten)]
        location: Location,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approves a pending version.
    Approve(VersionDecisionArgs),
    /// Rejects a pending version (it loses its aliases).
    Reject(VersionDecisionArgs),
    /// Archives a version: kept for lineage, it holds no alias.
    Archive(VersionDecisionArgs),
}

pub(crate) async fn execute(
    command: &ModelsCommand,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let location = match command {
        ModelsCommand::List { location, .. }
        | ModelsCommand::Show { location, .. }
        | ModelsCommand::Register { location, .. }
        | ModelsCommand::Alias { location, .. } => location,
        ModelsCommand::Approve(args)
        | ModelsCommand::Reject(args)
        | ModelsCommand::Archive(args) => &args.location,
    };
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?;
    let registry: &dyn RegistryStore = &*store;
    let failed = |error| CliError::from(RunnerError::from(error));
    match command {
        ModelsCommand::List { json, .. } => {
            let mut models = Vec::new();
            let mut offset = 0;
            loop {
                let page = registry
                    .search_registered_models(&RegistrySearch {
                        offset,
                        ..RegistrySearch::default()
                    })
                    .await
                    .map_err(failed)?;
                models.extend(page.items);
                match page.next_offset {
                    Some(next) => offset = next,
                    None => break,
                }
            }
            render::tracking::registered_models(&models).write(stdout, *json)
        }
        ModelsCommand::Show { name, json, .. } => {
            let model = registry.get_registered_model(name).await.map_err(failed)?;
            let escaped = name.replace('\'', "''");
            let versions = registry
                .search_model_versions(&RegistrySearch {
                    filter: format!("name = '{escaped}'"),
                    order_by: vec!["version_number DESC".to_owned()],
                    ..RegistrySearch::default()
                })
                .await
                .map_err(failed)?
                .items;
            render::tracking::registered_model(&model, &versions).write(stdout, *json)
        }
        ModelsCommand::Register {
            name,
            artifact,
            alias,
            decision,
            json,
            ..
        } => {
            let found = store
                .get_artifacts(&millrace_metadata::NodeQuery::all().ids([*artifact]))
                .await
                .map_err(failed)?;
            let model = found.first().ok_or_else(|| {
                CliError::from(RunnerError::UnknownArtifact {
                    artifact_id: *artifact,
                    store: store.location(),
                })
            })?;
            let uri = model.uri.clone().unwrap_or_default();
            let storage_location = location
                .storage()?
                .relative_path(&uri)
                .map_or_else(|| uri.clone(), |path| format!("mlflow-artifacts:/{path}"));
            let mut version = registry
                .create_model_version(&NewModelVersion {
                    name: name.clone(),
                    source: uri,
                    artifact_id: Some(*artifact),
                    storage_location: Some(storage_location),
                    decision: decision.decision(),
                    ..NewModelVersion::default()
                })
                .await
                .map_err(failed)?;
            if let Some(alias) = alias {
                version = registry
                    .set_alias(name, alias, version.version, &decision.decision())
                    .await
                    .map_err(failed)?;
            }
            render::tracking::model_version("registered", &version).write(stdout, *json)
        }
        ModelsCommand::Alias {
            name,
            alias,
            version,
            decision,
            json,
            ..
        } => {
            let version = registry
                .set_alias(name, alias, *version, &decision.decision())
                .await
                .map_err(failed)?;
            render::tracking::model_version(&format!("`{alias}` now points at"), &version)
                .write(stdout, *json)
        }
        ModelsCommand::Approve(args) | ModelsCommand::Reject(args) => {
            let approval = if matches!(command, ModelsCommand::Approve(_)) {
                Approval::Approved
            } else {
                Approval::Rejected
            };
            let version = registry
                .decide(
                    &args.name,
                    args.version,
                    approval,
                    &args.decision.decision(),
                )
                .await
                .map_err(failed)?;
            render::tracking::model_version(approval.as_str(), &version).write(stdout, args.json)
        }
        ModelsCommand::Archive(args) => {
            let version = registry
                .transition_stage(
                    &args.name,
                    args.version,
                    Stage::Archived,
                    false,
                    &args.decision.decision(),
                )
                .await
                .map_err(failed)?;
            render::tracking::model_version("archived", &version).write(stdout, args.json)
        }
    }
}
