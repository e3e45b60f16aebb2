//! The registry's vocabulary: registered models, their numbered versions, aliases, stages and
//! approvals — MLflow's model registry, with each version pointing at a Model artifact.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{MetadataError, Result};

/// MLflow's deprecated deployment stages (aliases replace them; kept for the clients that
/// still call `transition_model_version_stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Stage {
    /// No stage.
    #[default]
    None,
    /// Being tried.
    Staging,
    /// Serving.
    Production,
    /// Retired: kept for lineage, holds no alias.
    Archived,
}

impl Stage {
    /// The wire spelling: `None`, `Staging`, `Production`, `Archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }

    /// Every stage, in MLflow's order.
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = MetadataError;

    /// Case-insensitive, as MLflow's server reads it.
    fn from_str(text: &str) -> Result<Self> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                MetadataError::InvalidArgument(format!(
                    "`{text}` is not a stage (None, Staging, Production, Archived)"
                ))
            })
    }
}

/// Where a version is in the approval step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Registered, not yet decided.
    #[default]
    Pending,
    /// Approved: may serve.
    Approved,
    /// Rejected: holds no alias.
    Rejected,
}

impl Approval {
    /// `pending`, `approved`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Pending => "pending",
            Approval::Approved => "approved",
            Approval::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(text: &str) -> Approval {
        match text {
            "approved" => Approval::Approved,
            "rejected" => Approval::Rejected,
            _ => Approval::Pending,
        }
    }
}

impl fmt::Display for Approval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who decided something about a model, and why: recorded on the decision's execution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Decision {
    /// Who (a user name, or a pipeline node: `chicago-taxi.registrar`).
    pub who: String,
    /// Why, in words.
    pub why: String,
}

impl Decision {
    /// A decision by `who` for `why`.
    pub fn by(who: impl Into<String>, why: impl Into<String>) -> Self {
        Decision {
            who: who.into(),
            why: why.into(),
        }
    }
}

/// A named model: a sequence of versions, with aliases pointing at some of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Its unique name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    /// Milliseconds since the epoch.
    pub last_updated_time: i64,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Alias → version.
    pub aliases: BTreeMap<String, i64>,
    /// The newest version of each stage that has one.
    pub latest_versions: Vec<ModelVersion>,
    /// The `millrace.RegisteredModel` context its versions' artifacts and decisions belong to.
    pub context_id: i64,
}

/// One version of a registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// 1, 2, 3, … in registration order.
    pub version: i64,
    /// The Model artifact it is (lineage runs from here back to the data).
    pub artifact_id: Option<i64>,
    /// Where it came from, as given (`runs:/…`, `mlflow-artifacts:/…`, a path).
    pub source: String,
    /// Where its files are.
    pub storage_location: String,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// A link to that run.
    pub run_link: String,
    /// The deprecated stage.
    pub current_stage: Stage,
    /// The approval step.
    pub approval: Approval,
    /// What it is.
    pub description: String,
    /// Who registered it.
    pub user_id: String,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    /// Milliseconds since the epoch.
    pub last_updated_time: i64,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The aliases that point at it.
    pub aliases: Vec<String>,
}

/// A version to register.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewModelVersion {
    /// The registered model (created if new).
    pub name: String,
    /// Where it came from.
    pub source: String,
    /// The Model artifact it is, when known.
    pub artifact_id: Option<i64>,
    /// Where its files are (default: the source).
    pub storage_location: Option<String>,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// A link to that run.
    pub run_link: String,
    /// What it is.
    pub description: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Who registers it and why.
    pub decision: Decision,
}

/// A search of registered models or model versions: MLflow's filter grammar, order-by
/// clauses and a page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegistrySearch {
    /// The filter (`name = 'taxi'`, `tags.team = 'fares'`); empty for all.
    pub filter: String,
    /// Order-by clauses (`version_number DESC`).
    pub order_by: Vec<String>,
    /// At most this many (0: MLflow's default of 100 models or 10,000 versions).
    pub max_results: u32,
    /// Skip this many.
    pub offset: u64,
}

/// A page of a registry search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegistryPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The offset of the next page, when there may be one.
    pub next_offset: Option<u64>,
}
