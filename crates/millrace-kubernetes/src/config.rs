//! [`KubernetesConfig`]: where and how the runner creates its Jobs.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Toleration;
use serde::{Deserialize, Serialize};

/// The Secret key holding the metadata store's URL (`MILLRACE_STORE` in the task's container).
pub const STORE_KEY: &str = "MILLRACE_STORE";
/// The Secret key holding the artifact root (`MILLRACE_ROOT` in the task's container).
pub const ROOT_KEY: &str = "MILLRACE_ROOT";

/// Where and how the runner creates its Jobs: namespace, image, the Secret with the store and
/// root, scheduling, and per-node overrides.
///
/// ```
/// use millrace_kubernetes::{KubernetesConfig, NodeOverrides};
///
/// let config = KubernetesConfig::new("ml")
///     .image("registry.example/taxi:1.4")
///     .secret("taxi-store")
///     .node_selector("pool", "cpu")
///     .node_override("trainer", NodeOverrides::default().node_selector("pool", "gpu"));
/// assert_eq!(config.namespace, "ml");
/// assert_eq!(config.node_selector_of("trainer")["pool"], "gpu");
/// assert_eq!(config.node_selector_of("example_gen")["pool"], "cpu");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesConfig {
    /// The namespace of every object.
    pub namespace: String,
    /// The pipeline's image (holding its binary), for nodes without an image of their own.
    pub image: Option<String>,
    /// The pipeline binary in the image: the container's `command`. `None`: the image's
    /// entrypoint is the binary (what `image build` makes).
    pub binary: Option<String>,
    /// The Secret whose keys [`STORE_KEY`] and [`ROOT_KEY`] become the task's `MILLRACE_STORE`
    /// and `MILLRACE_ROOT`.
    pub secret: String,
    /// The service account the task pods run as (`None`: the namespace's default). Tasks need
    /// no access to the Kubernetes API.
    pub service_account: Option<String>,
    /// The service account of a runner pod (`compile` writes it with its Role and binding).
    pub runner_service_account: String,
    /// `Always`, `IfNotPresent` or `Never` (`None`: Kubernetes' default for the tag).
    pub image_pull_policy: Option<String>,
    /// Node labels the task pods must be scheduled on.
    pub node_selector: BTreeMap<String, String>,
    /// Taints the task pods tolerate.
    pub tolerations: Vec<Toleration>,
    /// How long a finished Job stays (for `kubectl logs`) before Kubernetes deletes it.
    pub ttl_seconds_after_finished: Option<i32>,
    /// Create a ConfigMap per run that owns the run's Jobs (deleting it deletes them).
    pub run_parent: bool,
    /// Per node id: what differs from the above.
    pub nodes: BTreeMap<String, NodeOverrides>,
    /// How often a failed API request that may succeed later (429, 500, 502, 503, 504, a lost
    /// connection) is tried again before the task fails.
    pub api_retries: u32,
    /// The wait before the first retry of an API request, in milliseconds; it doubles up to 10 s.
    pub api_backoff_ms: u64,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            namespace: "default".to_owned(),
            image: None,
            binary: None,
            secret: "millrace".to_owned(),
            service_account: None,
            runner_service_account: "millrace-runner".to_owned(),
            image_pull_policy: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            ttl_seconds_after_finished: Some(3600),
            run_parent: true,
            nodes: BTreeMap::new(),
            api_retries: 8,
            api_backoff_ms: 200,
        }
    }
}

/// What one node's Job does differently from the [`KubernetesConfig`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeOverrides {
    /// Node labels, replacing the pipeline's.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Tolerations, replacing the pipeline's.
    pub tolerations: Option<Vec<Toleration>>,
    /// The service account.
    pub service_account: Option<String>,
    /// The image pull policy.
    pub image_pull_policy: Option<String>,
}

impl NodeOverrides {
    /// Adds a node label the node's pods must be scheduled on.
    pub fn node_selector(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.node_selector
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Adds a toleration.
    pub fn toleration(mut self, toleration: Toleration) -> Self {
        self.tolerations
            .get_or_insert_with(Vec::new)
            .push(toleration);
        self
    }

    /// Sets the service account.
    pub fn service_account(mut self, account: impl Into<String>) -> Self {
        self.service_account = Some(account.into());
        self
    }
}

impl KubernetesConfig {
    /// The defaults in `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        KubernetesConfig {
            namespace: namespace.into(),
            ..KubernetesConfig::default()
        }
    }

    /// Sets the pipeline's image.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Sets the binary in the image (the container's `command`).
    pub fn binary(mut self, binary: impl Into<String>) -> Self {
        self.binary = Some(binary.into());
        self
    }

    /// Sets the Secret with the store and root.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = secret.into();
        self
    }

    /// Sets the task pods' service account.
    pub fn service_account(mut self, account: impl Into<String>) -> Self {
        self.service_account = Some(account.into());
        self
    }

    /// Sets the image pull policy.
    pub fn image_pull_policy(mut self, policy: impl Into<String>) -> Self {
        self.image_pull_policy = Some(policy.into());
        self
    }

    /// Adds a node label every task pod must be scheduled on.
    pub fn node_selector(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.node_selector.insert(key.into(), value.into());
        self
    }

    /// Adds a toleration of every task pod.
    pub fn toleration(mut self, toleration: Toleration) -> Self {
        self.tolerations.push(toleration);
        self
    }

    /// Sets what node `node`'s Job does differently.
    pub fn node_override(mut self, node: impl Into<String>, overrides: NodeOverrides) -> Self {
        self.nodes.insert(node.into(), overrides);
        self
    }

    /// Whether to create a parent ConfigMap per run.
    pub fn run_parent(mut self, create: bool) -> Self {
        self.run_parent = create;
        self
    }

    /// Sets how often and after which first wait failed API requests are retried.
    pub fn api_retries(mut self, retries: u32, first_wait: Duration) -> Self {
        self.api_retries = retries;
        self.api_backoff_ms = u64::try_from(first_wait.as_millis()).unwrap_or(u64::MAX);
        self
    }

    fn overrides(&self, node: &str) -> Option<&NodeOverrides> {
        self.nodes.get(node)
    }

    /// The node selector of `node`'s pods.
    pub fn node_selector_of(&self, node: &str) -> &BTreeMap<String, String> {
        self.overrides(node)
            .and_then(|o| o.node_selector.as_ref())
            .unwrap_or(&self.node_selector)
    }

    /// The tolerations of `node`'s pods.
    pub fn tolerations_of(&self, node: &str) -> &[Toleration] {
        self.overrides(node)
            .and_then(|o| o.tolerations.as_deref())
            .unwrap_or(&self.tolerations)
    }

    /// The service account of `node`'s pods.
    pub fn service_account_of(&self, node: &str) -> Option<&str> {
        self.overrides(node)
            .and_then(|o| o.service_account.as_deref())
            .or(self.service_account.as_deref())
    }

    /// The image pull policy of `node`'s pods.
    pub fn image_pull_policy_of(&self, node: &str) -> Option<&str> {
        self.overrides(node)
            .and_then(|o| o.image_pull_policy.as_deref())
            .or(self.image_pull_policy.as_deref())
    }
}
