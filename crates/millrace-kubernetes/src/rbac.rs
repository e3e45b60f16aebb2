//! What a pod that runs pipelines on Kubernetes needs: a ServiceAccount, a Role allowing what
//! the runner does (Jobs: create, get, list, watch, delete; pods: get, list, watch; their
//! logs: get; the run's parent ConfigMap: create, get, delete), and the binding between them.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::KubernetesConfig;
use crate::labels::{MANAGED_BY, MANAGER};

fn metadata(name: &str, config: &KubernetesConfig) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(config.namespace.clone()),
        labels: Some([(MANAGED_BY.to_owned(), MANAGER.to_owned())].into()),
        ..ObjectMeta::default()
    }
}

/// The runner's service account.
pub fn runner_service_account(config: &KubernetesConfig) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(&config.runner_service_account, config),
        ..ServiceAccount::default()
    }
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// What the runner may do in its namespace.
pub fn runner_role(config: &KubernetesConfig) -> Role {
    Role {
        metadata: metadata(&config.runner_service_account, config),
        rules: Some(vec![
            rule(
                "batch",
                &["jobs"],
                &["create", "get", "list", "watch", "delete"],
            ),
            rule("", &["pods"], &["get", "list", "watch"]),
            rule("", &["pods/log"], &["get"]),
            rule("", &["configmaps"], &["create", "get", "delete"]),
        ]),
    }
}

/// Grants the runner's role to its service account.
pub fn runner_role_binding(config: &KubernetesConfig) -> RoleBinding {
    RoleBinding {
        metadata: metadata(&config.runner_service_account, config),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "Role".to_owned(),
            name: config.runner_service_account.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: config.runner_service_account.clone(),
            namespace: Some(config.namespace.clone()),
            ..Subject::default()
        }]),
    }
}
