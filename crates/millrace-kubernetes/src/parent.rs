//! The parent of a run's Jobs: a ConfigMap per run that owns them, so that deleting it
//! deletes every Job (and pod) of the run.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::config::KubernetesConfig;
use crate::labels;

/// The name of run `run_id`'s parent.
pub fn parent_name(run_id: &str) -> String {
    labels::dns_name(&format!("millrace-run-{run_id}"))
}

/// Run `run_id`'s parent: a ConfigMap naming the pipeline, the run and the fingerprint.
pub fn run_parent(
    pipeline: &str,
    fingerprint: &str,
    run_id: &str,
    config: &KubernetesConfig,
) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(parent_name(run_id)),
            namespace: Some(config.namespace.clone()),
            labels: Some(labels::run_labels(pipeline, run_id)),
            annotations: Some(labels::run_annotations(pipeline, run_id)),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([
            ("pipeline".to_owned(), pipeline.to_owned()),
            ("runId".to_owned(), run_id.to_owned()),
            ("fingerprint".to_owned(), fingerprint.to_owned()),
        ])),
        ..ConfigMap::default()
    }
}

/// The owner reference to a created parent (it needs the uid the API server gave it), or
/// `None` for one not created yet.
pub fn owner_reference(parent: &ConfigMap) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: "v1".to_owned(),
        kind: "ConfigMap".to_owned(),
        name: parent.metadata.name.clone()?,
        uid: parent.metadata.uid.clone()?,
        controller: Some(false),
        block_owner_deletion: None,
    })
}
