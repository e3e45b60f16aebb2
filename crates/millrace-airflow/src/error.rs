//! The error type of `millrace-airflow`.

/// What can go wrong exporting a pipeline to Airflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AirflowError {
    /// The pipeline cannot be expressed as a DAG.
    #[error("{0}")]
    Pipeline(String),
    /// An option that the DAG file would hold has a credential in it (the file is not secret).
    #[error(
        "the {option} `{redacted}` holds a credential, and the DAG file is not secret: give it to \
         the workers through their environment (MILLRACE_ROOT) or the cloud's own variables"
    )]
    SecretInOption {
        /// Which option (`artifact root`).
        option: &'static str,
        /// Its value, the credential replaced by `***`.
        redacted: String,
    },
}
