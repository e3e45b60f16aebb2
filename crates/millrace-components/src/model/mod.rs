//! The model components and what they share: the model format, Rust-native models, and
//! evaluation metrics.

pub mod bulk_inferrer;
pub mod classifier;
pub mod command_server;
pub mod evaluator;
pub mod infra_validator;
pub mod manifest;
pub mod metrics;
pub mod native;
pub mod prediction;
pub mod pusher;
pub mod python_trainer;
pub mod registrar;
pub mod train_fn;
pub mod trainer;
pub mod tuner;

pub use bulk_inferrer::{BulkInferrer, PREDICTION_COLUMN, PROBABILITY_COLUMN_PREFIX};
pub use classifier::{ClassifierAlgorithm, NativeClassifier};
pub use command_server::CommandServer;
pub use evaluator::{
    ClassBreakdown, ClassificationReport, Evaluation, Evaluator, Threshold, evaluate,
    evaluation_html,
};
pub use infra_validator::{InfraReport, InfraValidator};
pub use manifest::{Flavor, MANIFEST_FILE, ModelManifest, Signature, SignatureField, Task};
pub use metrics::{BinaryMetrics, ClassMetrics, Metric, MulticlassMetrics, RegressionMetrics};
pub use native::{
    Algorithm, Features, NativeModel, class_labels, complete_rows, features_and_classes_of,
    features_of,
};
pub use prediction::ClassPredictions;
pub use pusher::{Push, Pusher, copy_model, push_model};
pub use python_trainer::{Framework, MODEL_SCRIPT, PythonTrainer};
pub use registrar::{Registrar, Registration};
pub use train_fn::{CustomModel, Predict, TrainFn, TrainFnError, TrainFnRegistration};
pub use trainer::{LoadedModel, NATIVE_MODEL_FILE, Trainer};
pub use tuner::{HYPERPARAMETERS_FILE, Search, Tuner, TuningResult};
