//! The Job of one task: `run-node` for one attempt of one node, in the node's image.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec, ResourceRequirements,
    SecretKeySelector,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use millrace_runner::NodeTask;

use crate::config::{KubernetesConfig, ROOT_KEY, STORE_KEY};
use crate::error::{KubernetesError, Result};
use crate::labels;

/// The name of the task's container.
pub const CONTAINER: &str = "run-node";

/// The resource name Kubernetes' NVIDIA device plugin offers GPUs under.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// The image `task` runs in: its node's, else the pipeline's.
pub fn image_of<'a>(task: &'a NodeTask, config: &'a KubernetesConfig) -> Result<&'a str> {
    task.options
        .image
        .as_deref()
        .or(config.image.as_deref())
        .ok_or_else(|| KubernetesError::NoImage {
            node: task.node.clone(),
        })
}

/// The Job that runs `task`: one pod, never restarted, never retried by Kubernetes
/// (`backoffLimit: 0`: the runner retries, with the node's policy), killed at the node's
/// timeout (`activeDeadlineSeconds`), its store and root from the Secret, owned by `owner`
/// (the run's parent) when given.
pub fn task_job(
    task: &NodeTask,
    config: &KubernetesConfig,
    owner: Option<OwnerReference>,
) -> Result<Job> {
    let labels = labels::task_labels(task);
    let annotations = labels::task_annotations(task);
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(image_of(task, config)?.to_owned()),
        image_pull_policy: config.image_pull_policy_of(&task.node).map(str::to_owned),
        command: config.binary.clone().map(|binary| vec![binary]),
        args: Some(task.run_node_arguments()),
        env: Some(environment(task, config)),
        resources: resources(task),
        ..Container::default()
    };
    let node_selector = config.node_selector_of(&task.node);
    let tolerations = config.tolerations_of(&task.node);
    let pod = PodSpec {
        restart_policy: Some("Never".to_owned()),
        service_account_name: config.service_account_of(&task.node).map(str::to_owned),
        node_selector: (!node_selector.is_empty()).then(|| node_selector.clone()),
        tolerations: (!tolerations.is_empty()).then(|| tolerations.to_vec()),
        containers: vec![container],
        ..PodSpec::default()
    };
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(task.name()),
            namespace: Some(config.namespace.clone()),
            labels: Some(labels.clone()),
            annotations: Some(annotations.clone()),
            owner_references: owner.map(|owner| vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: task
                .options
                .timeout_ms
                .map(|ms| i64::try_from(ms.div_ceil(1000).max(1)).unwrap_or(i64::MAX)),
            ttl_seconds_after_finished: config.ttl_seconds_after_finished,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        status: None,
    })
}

/// `MILLRACE_STORE` and `MILLRACE_ROOT` from the Secret (never a value in the manifest), and
/// the run's parameters.
fn environment(task: &NodeTask, config: &KubernetesConfig) -> Vec<EnvVar> {
    let from_secret = |name: &str, key: &str| EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: config.secret.clone(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    };
    let mut env = vec![
        from_secret("MILLRACE_STORE", STORE_KEY),
        from_secret("MILLRACE_ROOT", ROOT_KEY),
    ];
    if !task.parameters.is_empty() {
        env.push(EnvVar {
            name: "MILLRACE_PARAMS_JSON".to_owned(),
            value: Some(
                serde_json::Value::Object(task.parameters.clone().into_iter().collect())
                    .to_string(),
            ),
            value_from: None,
        });
    }
    env
}

/// Requests of CPU and memory, limits of memory (the pod is killed beyond it, not slowed) and
/// GPUs (which Kubernetes only takes as limits).
fn resources(task: &NodeTask) -> Option<ResourceRequirements> {
    let wanted = &task.options.resources;
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    if let Some(cpu) = &wanted.cpu {
        requests.insert("cpu".to_owned(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &wanted.memory {
        requests.insert("memory".to_owned(), Quantity(memory.clone()));
        limits.insert("memory".to_owned(), Quantity(memory.clone()));
    }
    if let Some(gpu) = wanted.gpu.filter(|gpu| *gpu > 0) {
        limits.insert(GPU_RESOURCE.to_owned(), Quantity(gpu.to_string()));
    }
    (!requests.is_empty() || !limits.is_empty()).then(|| ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        ..ResourceRequirements::default()
    })
}
