//! Your own Rust training code in the Trainer: implement [`TrainFn`] for a configuration type,
//! register it, and train with `Algorithm::custom::<YourTrainer>(config)`.
//!
//! The Trainer reads the split, builds the feature matrix, calls [`TrainFn::train`], and writes
//! the model (serialised with serde) with its manifest and transform graph; the Evaluator,
//! InfraValidator, BulkInferrer, Tuner and [`LoadedModel`](super::LoadedModel) then use it like
//! a built-in Rust-native model, in any process of the pipeline's binary.
//!
//! ```
//! use millrace_components::model::{Algorithm, Features, Predict, Task, TrainFn};
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
//!     fn predict(&self, features: &Features) -> Result<Vec<f64>, String> {
//!         Ok(vec![self.0; features.rows])
//!     }
//! }
//!
//! impl TrainFn for ShrunkMean {
//!     const NAME: &'static str = "doc.shrunk_mean";
//!     const TASK: Task = Task::Regression;
//!     type Model = Constant;
//!     fn train(&self, _features: &Features, labels: &[f64]) -> Result<Constant, String> {
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
use crate::{DataError, Result};

/// A trained model of your own: predictions for a feature matrix (one per row, in order;
/// regression values or the probability of class 1).
pub trait Predict: Send + Sync {
    /// Predicts every row of `features`.
    fn predict(&self, features: &Features) -> std::result::Result<Vec<f64>, String>;
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
    ) -> std::result::Result<Self::Model, String>;
}

/// A registered [`TrainFn`], found by name when a trainer runs or a model loads.
pub struct TrainFnRegistration {
    name: &'static str,
    task: Task,
    train:
        fn(&serde_json::Value, &Features, &[f64]) -> std::result::Result<serde_json::Value, String>,
    load: fn(&serde_json::Value) -> std::result::Result<Box<dyn Predict>, String>,
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
) -> std::result::Result<serde_json::Value, String> {
    let config: T = serde_json::from_value(config.clone())
        .map_err(|error| format!("the configuration of {} does not fit: {error}", T::NAME))?;
    let model = config.train(features, labels)?;
    serde_json::to_value(&model).map_err(|error| format!("cannot serialise the model: {error}"))
}

fn load_erased<T: TrainFn>(
    model: &serde_json::Value,
) -> std::result::Result<Box<dyn Predict>, String> {
    let model: T::Model = serde_json::from_value(model.clone())
        .map_err(|error| format!("cannot read a {} model: {error}", T::NAME))?;
    Ok(Box::new(model))
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
    TrainFnRegistration::find(name).ok_or_else(|| {
        DataError::Config(format!(
            "no TrainFn is registered as `{name}` in this binary (register it with \
             `millrace_components::register_train_fn!`)"
        ))
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
        let serialised = (registration.train)(config, features, labels)
            .map_err(|error| DataError::Data(format!("training {name} failed: {error}")))?;
        // Loading what was just serialised proves the model survives the round trip.
        let model = (registration.load)(&serialised).map_err(DataError::Data)?;
        Ok(CustomModel {
            name: name.to_owned(),
            serialised,
            model,
        })
    }

    /// Predictions for `features`.
    pub(crate) fn predict(&self, features: &Features) -> Result<Vec<f64>> {
        let predictions = self
            .model
            .predict(features)
            .map_err(|error| DataError::Data(format!("{} predicts: {error}", self.name)))?;
        if predictions.len() != features.rows {
            return Err(DataError::Data(format!(
                "{} returned {} predictions for {} rows",
                self.name,
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
        let model = (registration.load)(&file.model).map_err(serde::de::Error::custom)?;
        Ok(CustomModel {
            name: file.name,
            serialised: file.model,
            model,
        })
    }
}
