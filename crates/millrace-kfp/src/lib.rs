//! Kubeflow Pipelines v2 export: a pipeline compiled to the KFP v2 IR, a `PipelineSpec` YAML
//! (schema 2.1.0, as `kfp` 2.x writes it) that Kubeflow Pipelines 2.x and Vertex AI Pipelines
//! run, one task per node, each running the pipeline's own binary as
//! `run-node --run-id {{$.pipeline_job_uuid}} --node N --fingerprint F --param NAME=VALUE ...`
//! in the node's image.
//!
//! - **Parameters.** The pipeline's runtime parameters are the root's inputs (typed
//!   `NUMBER_INTEGER`, `NUMBER_DOUBLE`, `STRING`, `BOOLEAN`, `LIST`, `STRUCT`, with defaults and
//!   descriptions); every task takes them all (`componentInputParameter`) and hands them to
//!   `run-node` as `--param`, which types them from the pipeline.
//! - **Dependencies** are the IR's edges (`dependentTasks`); resolvers and importers are tasks
//!   too. **Retries** are `retryPolicy`; **resources** are CPU and memory limits and GPUs as
//!   an `accelerator` (`nvidia.com/gpu`, or a Vertex type from [`KfpOptions::accelerator_type`]).
//! - **The exit handler** is KFP's exit-handler structure: every other task inside the group
//!   `exit-handler-1`, the handler's task after it with trigger policy
//!   `ALL_UPSTREAM_TASKS_COMPLETED`.
//! - **Caching** by KFP or Vertex is off for every task (`cachingOptions: {}`): Millrace caches
//!   itself, by fingerprint, in its metadata store, and `run-node` decides.
//! - **Store and root** come from the environment: [`KfpOptions::store`] and
//!   [`KfpOptions::root`] are written as `MILLRACE_STORE` / `MILLRACE_ROOT` (the root is also
//!   the `defaultPipelineRoot`), or left to the job's environment. On Vertex AI, give them
//!   through the job's environment or a secret; never put credentials in the options, the YAML
//!   is not secret.
//! - **Schedules** are not part of the IR: [`vertex_schedule`] writes the body of Vertex AI's
//!   `schedules.create`, [`kfp_recurring_run`] a KFP `RecurringRun`.
//!
//! What KFP cannot express: the trigger rule `one_failed` (an error); `all_done` outside the
//! exit handler is written as `ALL_UPSTREAM_TASKS_COMPLETED`, which KFP backends may honour
//! only for exit handlers; node timeouts and pools are not written. A node's `when` condition
//! is evaluated by `run-node`: a skipped node's container (and that of every node downstream
//! of one, skipped too) exits 0 and the task shows as
//! succeeded, while its downstream nodes see the skip in the metadata store.
//!
//! Text of the user's (descriptions, defaults, node ids, paths) is written as YAML scalars and
//! never inside a placeholder: it comes out literally. Node ids become KFP task names
//! (lowercase, `-`), kept in [`KfpPipeline::task_names`].
//!
//! ```
//! use millrace_core::prelude::*;
//! use millrace_kfp::{KfpOptions, compile_pipeline_spec};
//!
//! let mut builder = Pipeline::builder("greetings");
//! builder.import("schema", Importer::<Schema>::new("data/schema.json"));
//! let pipeline = builder.build().unwrap();
//! let options = KfpOptions::new("/usr/local/bin/greetings").image("registry.example/greetings:1");
//! let compiled = compile_pipeline_spec(&pipeline, &options).unwrap();
//! assert_eq!(compiled.task_names["schema"], "schema");
//! let yaml = compiled.to_yaml().unwrap();
//! assert!(yaml.contains("schemaVersion: \"2.1.0\""));
//! assert!(yaml.contains("image: registry.example/greetings:1"));
//! ```

mod error;
mod options;
mod pipeline_spec;
mod resources;
mod schedule;
mod shards;
pub mod task_name;

pub use error::KfpError;
pub use options::KfpOptions;
pub use pipeline_spec::{
    KfpPipeline, RUN_ID_PLACEHOLDER, SCHEMA_VERSION, SKIP_EXIT_CODE, compile_pipeline_spec,
    parameter_type,
};
pub use resources::DEFAULT_ACCELERATOR;
pub use schedule::{kfp_cron, kfp_recurring_run, unix_cron, vertex_schedule};
