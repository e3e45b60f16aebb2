//! # millrace-kubernetes
//!
//! Runs Millrace pipelines on Kubernetes. The scheduler of the local runner stays on the
//! machine (or pod) that runs the pipeline binary — trigger rules, conditions, retries with
//! backoff, parallelism, resume, Ctrl-C — and each component node's attempt becomes a
//! **Job** that runs the pipeline's own binary as `run-node --run-id R --node N --fingerprint F`
//! in the node's image, with the metadata store and artifact root from a Secret.
//!
//! - [`JobDispatcher`] is the [`NodeDispatcher`](millrace_runner::NodeDispatcher) that creates,
//!   follows and deletes the Jobs with `kube`: give it to
//!   [`LocalRunner::dispatcher`](millrace_runner::LocalRunner::dispatcher), or run
//!   `<binary> run --on kubernetes`.
//! - [`compile`] writes what the runner would create for a run — the run's parent ConfigMap,
//!   the RBAC a runner pod needs and every node's Job — as multi-document YAML
//!   (`<binary> compile --target kubernetes`).
//!
//! ```
//! use millrace_core::prelude::*;
//! use millrace_kubernetes::{KubernetesConfig, compile};
//!
//! let mut builder = Pipeline::builder("greetings");
//! builder.import("schema", Importer::<Schema>::new("data/schema.json"));
//! let pipeline = builder.build().unwrap();
//! let config = KubernetesConfig::new("ml").image("registry.example/greetings:1");
//! let yaml = compile(&pipeline, &config, "run-1").unwrap().to_yaml().unwrap();
//! assert!(yaml.contains("kind: RoleBinding"));
//! ```
//!
//! This crate leaves the Kubernetes version of `k8s-openapi` to the binary (a library must not
//! choose it): the `millrace` facade enables `k8s-openapi/latest`.

mod config;
pub mod dispatcher;
pub mod ending;
mod error;
pub mod job;
pub mod labels;
pub mod log;
pub mod manifests;
pub mod parent;
pub mod rbac;
pub mod retry;
pub mod watch;

pub use config::{KubernetesConfig, NodeOverrides, ROOT_KEY, STORE_KEY};
pub use dispatcher::JobDispatcher;
pub use error::{KubernetesError, Result};
pub use manifests::{KubernetesManifests, PLACEHOLDER_RUN_ID, compile, first_attempts};
