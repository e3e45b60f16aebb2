//! The error type of `millrace-components`: [`Error`], what the components and the model code
//! add to the data library's [`DataError`] (which converts into it with `?`).

use millrace_tabular::DataError;

/// What can go wrong in a component or in the model code: the data library's errors, and
/// configurations, training, prediction, model servers, metrics and anomalies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, profiling, validating or transforming data failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A component's (or an algorithm's) configuration cannot be used.
    #[error("{component}: {reason}")]
    Configuration {
        /// The component or algorithm: `Tuner`, `Evaluator`, `random_forest_regressor`.
        component: String,
        /// The option at fault: `space`, `thresholds`, `max_depth`.
        option: String,
        /// Why, and what would do.
        reason: String,
    },
    /// A model or algorithm names a [`TrainFn`](crate::model::TrainFn) that this binary does
    /// not register.
    #[error(
        "no TrainFn is registered as `{name}` in this binary (register it with \
         `millrace_components::register_train_fn!`)"
    )]
    UnregisteredTrainFn {
        /// The name.
        name: String,
    },
    /// Fitting a model failed.
    #[error("training {algorithm} failed: {reason}")]
    Training {
        /// The algorithm (its name in manifests).
        algorithm: String,
        /// Why, with the causes the model's library or your training code gave.
        reason: String,
    },
    /// A model could not predict.
    #[error("predicting with {model} failed: {reason}")]
    Prediction {
        /// The model (its algorithm, or its server's program).
        model: String,
        /// Why.
        reason: String,
    },
    /// A model's serving process (the command flavor) could not start, failed, or answered
    /// outside the predict contract.
    #[error("the model's server `{program}` failed: {problem}{}", server_details(.status, .stderr))]
    ModelServer {
        /// The program (the predict command, for a failure to start it).
        program: String,
        /// What went wrong.
        problem: String,
        /// Its exit status, when it has ended.
        status: Option<String>,
        /// The last of its standard error.
        stderr: String,
    },
    /// Metrics cannot be computed from these labels and predictions.
    #[error("cannot compute metrics: {reason}")]
    Metrics {
        /// Why.
        reason: String,
    },
    /// ExampleValidator was told to fail on anomalies, and found some.
    #[error("{count} anomalies found: {summary}")]
    Anomalies {
        /// How many.
        count: usize,
        /// One `split/feature kind` per anomaly.
        summary: String,
    },
}

/// ` (exit status: 1); its standard error:\n...`, as far as known.
fn server_details(status: &Option<String>, stderr: &str) -> String {
    let mut details = String::new();
    if let Some(status) = status {
        details.push_str(&format!(" ({status})"));
    }
    if !stderr.is_empty() {
        details.push_str("; its standard error:\n");
        details.push_str(stderr);
    }
    details
}

/// A `Result` with an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
