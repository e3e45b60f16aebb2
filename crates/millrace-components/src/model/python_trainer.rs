//! Python trainers: scikit-learn, XGBoost, PyTorch and TensorFlow models trained by a command component
//! that runs Millrace's model script, producing models of the command flavor.
//!
//! The script (`python/millrace_model.py` in this crate) travels inside the command
//! (`python3 -c <script> train ...`), so the node runs wherever Python 3.10+ with `pyarrow` and
//! the framework is installed — a virtual environment locally, a Python image on Kubernetes —
//! with nothing else to deploy. It copies itself into the model directory, which then serves
//! with `python3 millrace_model.py serve <model_dir>` (the predict contract of
//! [`super::command_server`]).
//!
//! ```
//! use millrace_components::CsvExampleGen;
//! use millrace_components::model::{PythonTrainer, Task};
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("forest");
//! let examples = builder.add("example_gen", CsvExampleGen::new("trips.csv")).examples;
//! let trainer = PythonTrainer::scikit_learn("random_forest_regressor", Task::Regression, "fare")
//!     .hyperparameter("n_estimators", 200)
//!     .on(examples);
//! let trained = builder.add("trainer", trainer);
//! # let _ = trained.model;
//! assert!(builder.build().is_ok());
//! ```

use std::collections::BTreeMap;

use millrace_core::artifact::standard::TransformGraph as TransformGraphArtifact;
use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use super::manifest::Task;
use super::trainer::TrainerOutputs;

/// Millrace's Python model script: trains on Examples and serves the trained model.
pub const MODEL_SCRIPT: &str = include_str!("../../python/millrace_model.py");

/// The Python library a [`PythonTrainer`] fits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// scikit-learn; estimators `linear_regression`, `ridge`, `random_forest_regressor`,
    /// `gradient_boosting_regressor`, `logistic_regression`, `random_forest_classifier`,
    /// `gradient_boosting_classifier`, with their constructor's keyword arguments as
    /// hyper-parameters. Saved with joblib.
    ScikitLearn,
    /// XGBoost (`xgboost-cpu`); estimator `gradient_boosting` (XGBRegressor or XGBClassifier,
    /// by task), with their keyword arguments. Saved in XGBoost's own format.
    XGBoost,
    /// PyTorch; estimator `mlp`, a multilayer perceptron on standardised inputs with
    /// hyper-parameters `hidden` (layer widths), `epochs`, `learning_rate`, `seed`.
    PyTorch,
    /// TensorFlow with Keras 3; estimator `mlp`, a multilayer perceptron whose first layer
    /// standardises the inputs, with hyper-parameters `hidden` (layer widths, default
    /// `[32, 16]`), `epochs` (40), `batch_size` (128), `learning_rate` (0.003, Adam) and `seed`
    /// (0; with deterministic kernels, the same seed trains the same model). Exported as a
    /// SavedModel (`saved_model/`) whose `serve` endpoint the predict contract calls.
    #[serde(rename = "tensorflow")]
    TensorFlow,
}

impl Framework {
    /// The script's name for it.
    pub fn script_name(self) -> &'static str {
        match self {
            Framework::ScikitLearn => "sklearn",
            Framework::XGBoost => "xgboost",
            Framework::PyTorch => "pytorch",
            Framework::TensorFlow => "tensorflow",
        }
    }

    /// The conventional image of this framework's trainer nodes, `<repository>-<name>:<tag>`
    /// with the script's name (`sklearn`, `xgboost`, `pytorch`, `tensorflow`): one image per
    /// framework, which the `image` command writes a Containerfile for with only that
    /// framework pinned.
    ///
    /// ```
    /// use millrace_components::model::Framework;
    ///
    /// assert_eq!(
    ///     Framework::TensorFlow.image("registry.example/lab", "1"),
    ///     "registry.example/lab-tensorflow:1"
    /// );
    /// ```
    pub fn image(self, repository: &str, tag: &str) -> String {
        format!("{repository}-{}:{tag}", self.script_name())
    }
}

/// Trains a Python model on Examples: see the [module](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonTrainer {
    /// The library.
    pub framework: Framework,
    /// The estimator within it.
    pub estimator: String,
    /// What the model predicts.
    pub task: Task,
    /// Keyword arguments of the estimator.
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, serde_json::Value>,
    /// The feature columns; empty: every numeric column except the label.
    #[serde(default)]
    pub features: Vec<String>,
    /// The label column.
    pub label: String,
    /// The split to train on.
    #[serde(default = "train_split")]
    pub train_split: String,
    /// The Python interpreter that trains and later serves the model (the manifest's predict
    /// command names it), found on `PATH` unless a path is given.
    #[serde(default = "python")]
    pub python: String,
    /// The container image for container runners (Python with pyarrow and the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Whether the examples come from a Transform whose graph is wired in.
    #[serde(default)]
    pub transformed: bool,
}

fn train_split() -> String {
    "train".to_owned()
}

fn python() -> String {
    "python3".to_owned()
}

/// The inputs of PythonTrainer.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct PythonTrainerInputs {
    /// The examples to train on.
    pub examples: Channel<Examples>,
    /// The preprocessing that produced them, carried into the model for serving.
    pub transform_graph: Option<Channel<TransformGraphArtifact>>,
}

impl PythonTrainer {
    /// A trainer of `framework`'s `estimator`.
    pub fn new(framework: Framework, estimator: &str, task: Task, label: &str) -> Self {
        PythonTrainer {
            framework,
            estimator: estimator.to_owned(),
            task,
            hyperparameters: BTreeMap::new(),
            features: Vec::new(),
            label: label.to_owned(),
            train_split: train_split(),
            python: python(),
            image: None,
            transformed: false,
        }
    }

    /// A scikit-learn estimator: `PythonTrainer::scikit_learn("ridge", Task::Regression, "y")`.
    pub fn scikit_learn(estimator: &str, task: Task, label: &str) -> Self {
        PythonTrainer::new(Framework::ScikitLearn, estimator, task, label)
    }

    /// XGBoost's gradient boosting.
    pub fn xgboost(task: Task, label: &str) -> Self {
        PythonTrainer::new(Framework::XGBoost, "gradient_boosting", task, label)
    }

    /// A PyTorch multilayer perceptron.
    pub fn pytorch(task: Task, label: &str) -> Self {
        PythonTrainer::new(Framework::PyTorch, "mlp", task, label)
    }

    /// A TensorFlow (Keras) multilayer perceptron, exported as a SavedModel.
    ///
    /// ```
    /// use millrace_components::model::{Framework, PythonTrainer, Task};
    ///
    /// let trainer = PythonTrainer::tensorflow(Task::Regression, "fare")
    ///     .hyperparameter("hidden", vec![64, 32])
    ///     .hyperparameter("epochs", 60)
    ///     .hyperparameter("seed", 7);
    /// assert_eq!(trainer.framework, Framework::TensorFlow);
    /// assert_eq!(trainer.estimator, "mlp");
    /// ```
    pub fn tensorflow(task: Task, label: &str) -> Self {
        PythonTrainer::new(Framework::TensorFlow, "mlp", task, label)
    }

    /// Sets one hyper-parameter (a keyword argument of the estimator).
    pub fn hyperparameter(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.hyperparameters.insert(name.to_owned(), value.into());
        self
    }

    /// Trains on these features only.
    pub fn features<I: IntoIterator<Item = S>, S: Into<String>>(mut self, features: I) -> Self {
        self.features = features.into_iter().map(Into::into).collect();
        self
    }

    /// Runs this interpreter instead of `python3` from `PATH`.
    pub fn python(mut self, interpreter: &str) -> Self {
        self.python = interpreter.to_owned();
        self
    }

    /// The image container runners start the trainer in.
    pub fn image(mut self, image: &str) -> Self {
        self.image = Some(image.to_owned());
        self
    }

    /// Trains on `examples`.
    pub fn on(self, examples: Channel<Examples>) -> Node<PythonTrainer> {
        PythonTrainer {
            transformed: false,
            ..self
        }
        .with_inputs(PythonTrainerInputs {
            examples,
            transform_graph: None,
        })
    }

    /// Trains on a Transform's output, carrying its graph into the model.
    pub fn on_transformed(
        self,
        transformed: Channel<Examples>,
        graph: Channel<TransformGraphArtifact>,
    ) -> Node<PythonTrainer> {
        PythonTrainer {
            transformed: true,
            ..self
        }
        .with_inputs(PythonTrainerInputs {
            examples: transformed,
            transform_graph: Some(graph),
        })
    }

    /// The command the node runs.
    pub fn command(&self) -> CommandSpec {
        let task = match self.task {
            Task::Regression => "regression",
            Task::BinaryClassification => "binary_classification",
            Task::Classification => "classification",
        };
        let hyperparameters =
            serde_json::to_string(&self.hyperparameters).unwrap_or_else(|_| "{}".to_owned());
        let mut command = CommandSpec::new([self.python.as_str(), "-c", MODEL_SCRIPT]).args([
            "train",
            "--framework",
            self.framework.script_name(),
            "--estimator",
            &self.estimator,
            "--task",
            task,
            "--label",
            &self.label,
            "--features",
            &self.features.join(","),
            "--split",
            &self.train_split,
            "--hyperparameters",
            &hyperparameters,
            "--examples",
            "{{inputs.examples.uri}}",
            "--model-dir",
            "{{outputs.model.uri}}",
            "--executor-output",
            "{{executor_output}}",
            "--python",
            &self.python,
            "--pipeline",
            "{{pipeline}}",
            "--run-id",
            "{{run_id}}",
            "--node-id",
            "{{node_id}}",
        ]);
        if self.transformed {
            command = command.args(["--transform-graph", "{{inputs.transform_graph.uri}}"]);
        }
        if let Some(image) = &self.image {
            command = command.image(image.clone());
        }
        command
    }
}

impl Component for PythonTrainer {
    const KIND: &'static str = "millrace.PythonTrainer";
    type Inputs = PythonTrainerInputs;
    type Outputs = TrainerOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::Command(self.command())
    }
}

millrace_core::register_component!(PythonTrainer);

#[cfg(test)]
mod tests {
    use millrace_core::Placeholder;

    use super::*;

    #[test]
    fn the_script_travels_in_the_command_and_its_placeholders_parse() {
        let trainer = PythonTrainer::xgboost(Task::Regression, "fare")
            .hyperparameter("max_depth", 4)
            .hyperparameter("objective", serde_json::json!({"nested": {"a": 1}}));
        let command = trainer.command();
        assert_eq!(command.command, ["python3", "-c", MODEL_SCRIPT]);
        let placeholders = command.placeholders().expect("every placeholder parses");
        assert!(placeholders.contains(&Placeholder::InputUri("examples".into())));
        assert!(!placeholders.contains(&Placeholder::InputUri("transform_graph".into())));
        let transformed = PythonTrainer {
            transformed: true,
            ..trainer
        };
        assert!(
            transformed
                .command()
                .placeholders()
                .unwrap()
                .contains(&Placeholder::InputUri("transform_graph".into()))
        );
    }
}
