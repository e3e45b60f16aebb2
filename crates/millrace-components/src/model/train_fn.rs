//! Your own Rust training code in the Trainer: implement [`TrainFn`] for a configuration type,
//! register it, and train with `Algorithm::custom::<YourTrainer>(config)`.
//!
//! The Trainer reads the split, builds the feature matrix, calls [`TrainFn::train`], and writes
//! the model (serialised with serde) with its manifest and transform graph; the Evaluator,
//! InfraValidator, BulkInferrer, Tuner and [`LoadedModel`](super::LoadedModel) then use it like
//! a built-in Rust-native model, in any process of the pipeline's binary.
//!
//! Both your training code and your model's predictions return a [`TrainFnError`]: a message
//! (`Err(format!("...").into())`), or a message with the error behind it
//! ([`TrainFnError::caused_by`]). It becomes the node's error, after the name of your `TrainFn`.
//!
//! ```
//! use millrace_components::model::{Algorithm, Features, Predict, Task, TrainFn, TrainFnError};
//! use serde::{Deserialize, Serialize};
//!
//! /// Predicts the mean label, shrunk towards zero.
//! #[derive(Serialize, Deserialize)]
//! struct ShrunkMean {
//!     shrink: f64,
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Constant(f64);
//!
//! impl Predict for Constant {
//!     fn predict(&self, features: &Features) -> Result<Vec<f64>, TrainFnError> {
//!         Ok(vec![self.0; features.rows])
//!     }
//! }
//!
//! impl TrainFn for ShrunkMean {
//!     const NAME: &'static str = "doc.shrunk_mean";
//!     const TASK: Task = Task::Regression;
//!     type Model = Constant;
//!     fn train(&self, _features: &Features, labels: &[f64]) -> Result<Constant, TrainFnError> {
//!         if !(0.0..=1.0).contains(&self.shrink) {
//!             return Err(format!("shrink {} is not between 0 and 1", self.shrink).into());
//!         }
//!         let mean = labels.iter().sum::<f64>() / labels.len() as f64;
//!         Ok(Constant(mean * (1.0 - self.shrink)))
//!     }
//! }
//!
//! millrace_components::register_train_fn!(ShrunkMean);
//!
//! let algorithm = Algorithm::custom(&ShrunkMean { shrink: 0.5 }).unwrap();
//! let features = Features { rows: 2, columns: 1, values: vec![1.0, 2.0] };
//! let model = millrace_components::model::NativeModel::fit(&algorithm, &features, &[4.0, 8.0]).unwrap();
//! assert_eq!(model.predict(&features).unwrap(), [3.0, 3.0]);
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::manifest::Task;
use super::native::Features;
use crate::{Error, Result};

/// Why your own training code ([`TrainFn::train`]) or its model ([`Predict::predict`]) failed: a
/// message, and the error behind it when there is one.
///
/// ```
/// # use millrace_components::model::TrainFnError;
/// let plain: TrainFnError = "every label is missing".into();
/// let parsed = "x".parse::<f64>().map_err(|error| TrainFnError::caused_by("the prior", error));
/// assert_eq!(parsed.unwrap_err().to_string(), "the prior");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TrainFnError {
    message: String,
    #[source]
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TrainFnError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        TrainFnError {
            message: message.into(),
            cause: None,
        }
    }

    /// A failure described by `message`, caused by `cause` (kept as the error's source and
    /// shown after the message in the node's error).
    pub fn caused_by(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        TrainFnError {
            message: message.into(),
            cause: Some(Box::new(cause)),
        }
    }

    /// The message, without the cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<String> for TrainFnError {
    fn from(message: String) -> Self {
        TrainFnError::new(message)
    }
}

impl From<&str> for TrainFnError {
    fn from(message: &str) -> Self {
        TrainFnError::new(message)
    }
}

/// A trained model of your own: predictions for a feature matrix (one per row, in order;
/// regression values or the probability of class 1).
pub trait Predict: Send + Sync {
    /// Predicts every row of `features`.
    fn predict(&self, features: &Features) -> std::result::Result<Vec<f64>, TrainFnError>;
}

/// Your own training code: the configuration is `Self`, the trained model `Self::Model`.
pub trait TrainFn: Serialize + DeserializeOwned + 'static {
    /// The registered name, written into manifests (`"my_crate.ridge"`).
    const NAME: &'static str;
    /// What the models predict.
    const TASK: Task;
    /// The trained model, serialised into the model directory.
    type Model: Predict + Serialize + DeserializeOwned + 'static;

    /// Fits a model to `features` (complete rows only) and `labels`.
    fn train(
        &self,
        features: &Features,
        labels: &[f64],
    ) -> std::result::Result<Self::Model, TrainFnError>;
}

/// A registered [`TrainFn`], found by name when a trainer runs or a model loads.
pub struct TrainFnRegistration {
    name: &'static str,
    task: Task,
    train: fn(&serde_json::Value, &Features, &[f64]) -> Result<serde_json::Value>,
    load: fn(&serde_json::Value) -> std::result::Result<Box<dyn Predict>, serde_json::Error>,
}

inventory::collect!(TrainFnRegistration);

impl TrainFnRegistration {
    /// The registration of `T`; used by [`register_train_fn!`](crate::register_train_fn).
    pub const fn of<T: TrainFn>() -> Self {
        TrainFnRegistration {
            name: T::NAME,
            task: T::TASK,
            train: train_erased::<T>,
            load: load_erased::<T>,
        }
    }

    /// The registration called `name`.
    pub fn find(name: &str) -> Option<&'static TrainFnRegistration> {
        inventory::iter::<TrainFnRegistration>
            .into_iter()
            .find(|registration| registration.name == name)
    }

    /// What its models predict.
    pub fn task(&self) -> Task {
        self.task.clone()
    }
}

fn train_erased<T: TrainFn>(
    config: &serde_json::Value,
    features: &Features,
    labels: &[f64],
) -> Result<serde_json::Value> {
    let config: T =
        serde_json::from_value(config.clone()).map_err(|error| Error::Configuration {
            component: T::NAME.to_owned(),
            option: "config".to_owned(),
            reason: format!("the configuration does not fit: {error}"),
        })?;
    let training_failed = |reason: String| Error::Training {
        algorithm: T::NAME.to_owned(),
        reason,
    };
    let model = config
        .train(features, labels)
        .map_err(|error| training_failed(with_causes(&error)))?;
    serde_json::to_value(&model)
        .map_err(|error| training_failed(format!("cannot serialise the model: {error}")))
}

fn load_erased<T: TrainFn>(
    model: &serde_json::Value,
) -> std::result::Result<Box<dyn Predict>, serde_json::Error> {
    let model: T::Model = serde_json::from_value(model.clone())?;
    Ok(Box::new(model))
}

/// `error` followed by its causes: `a: b: c`, for messages that carry another error in full.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// Registers a [`TrainFn`]: `millrace_components::register_train_fn!(MyTrainer);`.
#[macro_export]
macro_rules! register_train_fn {
    ($train_fn:ty) => {
        $crate::__private::inventory::submit! {
            $crate::model::TrainFnRegistration::of::<$train_fn>()
        }
    };
}

/// A model trained by a registered [`TrainFn`], inside a
/// [`NativeModel`](super::NativeModel): serialised as its name and the model's own JSON.
pub struct CustomModel {
    name: String,
    serialised: serde_json::Value,
    model: Box<dyn Predict>,
}

impl std::fmt::Debug for CustomModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomModel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn registration(name: &str) -> Result<&'static TrainFnRegistration> {
    TrainFnRegistration::find(name).ok_or_else(|| Error::UnregisteredTrainFn {
        name: name.to_owned(),
    })
}

impl CustomModel {
    /// Trains the registered `name` with `config`.
    pub(crate) fn fit(
        name: &str,
        config: &serde_json::Value,
        features: &Features,
        labels: &[f64],
    ) -> Result<CustomModel> {
        let registration = registration(name)?;
        let serialised = (registration.train)(config, features, labels)?;
        // Loading what was just serialised proves the model survives the round trip.
        let model = (registration.load)(&serialised).map_err(|error| Error::Training {
            algorithm: name.to_owned(),
            reason: format!("the trained model does not read back: {error}"),
        })?;
        Ok(CustomModel {
            name: name.to_owned(),
            serialised,
            model,
        })
    }

    /// The registered name of the TrainFn that trained the model.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Predictions for `features`.
    pub(crate) fn predict(&self, features: &Features) -> Result<Vec<f64>> {
        let prediction_failed = |reason: String| Error::Prediction {
            model: self.name.clone(),
            reason,
        };
        let predictions = self
            .model
            .predict(features)
            .map_err(|error| prediction_failed(with_causes(&error)))?;
        if predictions.len() != features.rows {
            return Err(prediction_failed(format!(
                "it returned {} predictions for {} rows",
                predictions.len(),
                features.rows
            )));
        }
        Ok(predictions)
    }
}

#[derive(Serialize, Deserialize)]
struct CustomModelFile {
    name: String,
    model: serde_json::Value,
}

impl Serialize for CustomModel {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        CustomModelFile {
            name: self.name.clone(),
            model: self.serialised.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CustomModel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let file = CustomModelFile::deserialize(deserializer)?;
        let registration = registration(&file.name).map_err(serde::de::Error::custom)?;
        let model = (registration.load)(&file.model).map_err(|error| {
            serde::de::Error::custom(format!("cannot read a {} model: {error}", file.name))
        })?;
        Ok(CustomModel {
            name: file.name,
            serialised: file.model,
            model,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Training code that always fails, with a cause.
    #[derive(Serialize, Deserialize)]
    struct Failing;

    #[derive(Serialize, Deserialize)]
    struct Never;

    impl Predict for Never {
        fn predict(&self, _features: &Features) -> std::result::Result<Vec<f64>, TrainFnError> {
            Err("never trained".into())
        }
    }

    impl TrainFn for Failing {
        const NAME: &'static str = "test.failing";
        const TASK: Task = Task::Regression;
        type Model = Never;
        fn train(
            &self,
            _features: &Features,
            _labels: &[f64],
        ) -> std::result::Result<Never, TrainFnError> {
            let cause = "x".parse::<f64>().unwrap_err();
            Err(TrainFnError::caused_by("the prior does not parse", cause))
        }
    }

    crate::register_train_fn!(Failing);

    #[test]
    fn a_failing_train_fn_names_itself_its_message_and_its_cause() {
        let features = Features {
            rows: 1,
            columns: 1,
            values: vec![1.0],
        };
        let config = serde_json::to_value(Failing).unwrap();
        let error = CustomModel::fit(Failing::NAME, &config, &features, &[1.0]).unwrap_err();
        assert!(
            matches!(&error, Error::Training { algorithm, .. } if algorithm == "test.failing"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "training test.failing failed: the prior does not parse: invalid float literal"
        );
        let unknown = CustomModel::fit("test.unknown", &config, &features, &[1.0]).unwrap_err();
        assert!(
            matches!(&unknown, Error::UnregisteredTrainFn { name } if name == "test.unknown"),
            "{unknown:?}"
        );
    }
}
