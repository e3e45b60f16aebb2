//! The error type of `millrace-airflow`.

/// What can go wrong exporting a pipeline to Airflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AirflowError {
    /// The pipeline cannot be expressed as a DAG.
    #[error("{0}")]
    Pipeline(String),
}
