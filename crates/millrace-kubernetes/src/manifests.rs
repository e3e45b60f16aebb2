//! `compile --target kubernetes`: the manifests the runner would create for a run, as
//! multi-document YAML.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use millrace_core::Pipeline;
use millrace_core::spec::TaskSpec;
use millrace_runner::NodeTask;
use serde::Serialize;

use crate::config::KubernetesConfig;
use crate::error::{KubernetesError, Result};
use crate::{job, parent, rbac};

/// The run id `compile --target kubernetes` writes the Jobs for when none is given.
pub const PLACEHOLDER_RUN_ID: &str = "example-run";

/// Everything the runner creates for one run, and what its own pod needs.
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesManifests {
    /// The run's parent (owner of its Jobs once created: an owner reference needs the uid
    /// the API server gives the parent, so the written Jobs carry none).
    pub parent: ConfigMap,
    /// The runner's service account.
    pub service_account: ServiceAccount,
    /// What the runner may do.
    pub role: Role,
    /// The grant.
    pub role_binding: RoleBinding,
    /// The first attempt of every component node, in execution order (resolvers and
    /// importers run in the runner itself).
    pub jobs: Vec<Job>,
}

/// The tasks of a run's first attempts: one per component node, in execution order, with the
/// parameters' defaults.
pub fn first_attempts(pipeline: &Pipeline, run_id: &str) -> Result<Vec<NodeTask>> {
    let parameters = pipeline.parameter_values(&BTreeMap::new())?;
    Ok(pipeline
        .nodes_in_order()
        .filter(|node| matches!(node.task, TaskSpec::Component { .. }))
        .map(|node| NodeTask {
            pipeline: pipeline.name().to_owned(),
            fingerprint: pipeline.fingerprint().to_hex(),
            run_id: run_id.to_owned(),
            node: node.id.clone(),
            attempt: 0,
            parameters: parameters.clone(),
            options: node.options.clone(),
            log_dir: PathBuf::new(),
        })
        .collect())
}

/// The manifests of run `run_id` of `pipeline`.
pub fn compile(
    pipeline: &Pipeline,
    config: &KubernetesConfig,
    run_id: &str,
) -> Result<KubernetesManifests> {
    let jobs = first_attempts(pipeline, run_id)?
        .iter()
        .map(|task| job::task_job(task, config, None))
        .collect::<Result<Vec<_>>>()?;
    Ok(KubernetesManifests {
        parent: parent::run_parent(
            pipeline.name(),
            &pipeline.fingerprint().to_hex(),
            run_id,
            config,
        ),
        service_account: rbac::runner_service_account(config),
        role: rbac::runner_role(config),
        role_binding: rbac::runner_role_binding(config),
        jobs,
    })
}

impl KubernetesManifests {
    /// Every manifest as one YAML document each, in the order they can be applied: the RBAC,
    /// the parent, the Jobs.
    pub fn to_yaml(&self) -> Result<String> {
        let mut text = String::new();
        document(&mut text, "ServiceAccount", &self.service_account)?;
        document(&mut text, "Role", &self.role)?;
        document(&mut text, "RoleBinding", &self.role_binding)?;
        document(&mut text, "ConfigMap", &self.parent)?;
        for job in &self.jobs {
            document(&mut text, "Job", job)?;
        }
        Ok(text)
    }

    /// Every manifest as a JSON value, in the order of [`to_yaml`](Self::to_yaml).
    pub fn to_json_values(&self) -> Vec<serde_json::Value> {
        let mut values = vec![
            json(&self.service_account),
            json(&self.role),
            json(&self.role_binding),
            json(&self.parent),
        ];
        values.extend(self.jobs.iter().map(json));
        values
    }
}

fn json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn document(text: &mut String, kind: &str, value: &impl Serialize) -> Result<()> {
    let value = json(value);
    let yaml = serde_saphyr::to_string(&value).map_err(|error| KubernetesError::Yaml {
        kind: kind.to_owned(),
        name: value["metadata"]["name"].as_str().unwrap_or("").to_owned(),
        message: error.to_string(),
    })?;
    text.push_str("---\n");
    text.push_str(&yaml);
    if !yaml.ends_with('\n') {
        text.push('\n');
    }
    Ok(())
}
