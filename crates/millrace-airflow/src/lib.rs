//! Apache Airflow 3 export: a static Python DAG file per pipeline, one task per node, each task
//! running the pipeline's own binary as `run-node --run-id <Airflow's run id> --node <id>`.
//!
//! The DAG file imports only `airflow.sdk` and the providers (the standard provider's
//! `BashOperator`; `KubernetesPodOperator` for nodes with an image) and does no work at parse
//! time. Dependencies, trigger rules, retries with exponential backoff, timeouts, the schedule
//! and runtime parameters (as DAG `params`, validated by Airflow and passed to `run-node` as
//! JSON) are the pipeline's; a node whose `when` condition is false exits with
//! [`SKIP_EXIT_CODE`] and shows as skipped; the exit handler is an `all_done` task. Text of the
//! user's (descriptions, parameter defaults, paths) is written as escaped Python literals and
//! never rendered by Jinja ([`python`]). The file holds no secret: a store URL with a password
//! is read at run time from the Airflow connection [`STORE_CONNECTION`], and a root with a
//! credential is refused.
//!
//! ```
//! use millrace_airflow::{AirflowOptions, export_dag};
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("greetings");
//! let schema = builder.import("schema", Importer::<Schema>::new("data/schema.json"));
//! # let _ = schema.result;
//! let pipeline = builder.build().unwrap();
//! let options = AirflowOptions { binary: "/opt/bin/greetings".into(), store: None, root: None };
//! let dag = export_dag(&pipeline, &options).unwrap();
//! assert!(dag.contains(r#"dag_id="greetings""#));
//! assert!(dag.contains(r#"("schema", {"retries": 0}),"#));
//! ```

mod dag;
mod error;
pub mod python;
mod shards;

pub use dag::{
    AirflowOptions, SKIP_EXIT_CODE, STORE_CONNECTION, WATCHER_TASK, dag_file_name, export_dag,
};
pub use error::AirflowError;
