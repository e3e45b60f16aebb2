//! Argo Workflows v4.1 export: a `Workflow`, `WorkflowTemplate` or `CronWorkflow` whose DAG
//! has one task per node, each a container running the pipeline's own binary as
//! `run-node --run-id {{workflow.name}} --node N --fingerprint F`.
//!
//! - **Images**: the node's `options.image`, else [`ArgoOptions::image`]; a pipeline with
//!   nodes lacking both is refused, naming every such node ([`ArgoError::NoImage`]).
//! - **Store**: `MILLRACE_STORE` and `MILLRACE_ROOT` come from the keys of the same names in
//!   the Secret [`ArgoOptions::secret`] (`secretKeyRef`), never from the manifest.
//! - **Parameters**: the pipeline's runtime parameters are `spec.arguments.parameters` (the
//!   default as a string: strings as they are, other values as JSON; the description), passed
//!   to every task as `--param NAME={{workflow.parameters.NAME}}`.
//! - **Dependencies** are the IR's edges (resolvers and importers run as tasks too); trigger
//!   rules are written as `depends` expressions ([`depends`]); the exit handler is
//!   `spec.onExit`, so its success never decides the run's state.
//! - **Retries**: `retryStrategy` with `limit`, `retryPolicy: Always` and the backoff's
//!   `duration`, `factor` and `cap` (the longest wait); the timeout is the template's `activeDeadlineSeconds`; CPU and
//!   memory are requests (memory a limit too), GPUs `nvidia.com/gpu` limits.
//! - **Skips**: Argo cannot turn `run-node`'s exit code [`SKIP_EXIT_CODE`] into `Skipped`: a
//!   node skipped by its `when` condition ends `Failed` in Argo (not retried; its
//!   `all_success` dependants do not run).
//! - **Names**: node ids become DNS-1123 task and template names ([`names`]); the real id is
//!   in the `--node` argument and the template's `millrace.dev/node` annotation.
//! - **Text of the user's**: written by a YAML serialiser, so quotes, newlines and unicode
//!   come out as they are. Argo substitutes `{{…}}` in templates, so no text of the user's is
//!   put in a template's fields except images and node ids (validated ids, which cannot hold
//!   `{{`): parameter defaults and descriptions are in `spec.arguments` and reach the tasks
//!   only through Argo's single substitution of `{{workflow.parameters.NAME}}`, whose result
//!   is not substituted again; the pipeline's description is an annotation.
//! - **Schedules**: see [`schedule`].
//!
//! ```
//! use millrace_argo::{ArgoOptions, compile};
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("greetings");
//! let schema = builder.import("curated_schema", Importer::<Schema>::new("data/schema.json"));
//! # let _ = schema.result;
//! let pipeline = builder.build().unwrap();
//! let mut options = ArgoOptions::new("/usr/local/bin/greetings");
//! options.image = Some("registry.example/greetings:1".into());
//! let manifest = compile(&pipeline, &options).unwrap();
//! assert_eq!(manifest.value["kind"], "Workflow");
//! assert_eq!(manifest.names.of("curated_schema"), Some("curated-schema"));
//! assert!(manifest.to_yaml().unwrap().contains("apiVersion: argoproj.io/v1alpha1"));
//! ```
//!
//! # For the CLI
//!
//! `compile --target argo [--kind workflow|workflow-template|cron-workflow]` calls
//!
//! ```text
//! pub fn millrace_argo::compile(pipeline: &Pipeline, options: &ArgoOptions) -> Result<ArgoManifest, ArgoError>
//! ```
//!
//! with `ArgoOptions::new(binary)` and its `image`, `secret`, `namespace`,
//! `service_account`, `timezone` and `kind` (`"workflow-template".parse::<ManifestKind>()`)
//! set, and writes [`ArgoManifest::to_yaml`].

pub mod depends;
mod error;
pub mod names;
mod options;
pub mod schedule;
mod shards;
mod template;
mod workflow;

pub use error::ArgoError;
pub use options::{ArgoOptions, ManifestKind};
pub use template::{CONTAINER, GPU_RESOURCE, SKIP_EXIT_CODE};
pub use workflow::{
    API_VERSION, ArgoManifest, DAG_TEMPLATE, FINGERPRINT_ANNOTATION, PIPELINE_LABEL, compile,
};
