//! Rust-native models: smartcore estimators trained in process and serialised with serde.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array as _;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::LinearRegression;
use smartcore::linear::logistic_regression::LogisticRegression;
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use millrace_core::Param;

use super::classifier::{ClassifierAlgorithm, NativeClassifier};
use super::manifest::Task;
use crate::data::split::value_texts;
use crate::{DataError, Error, Result};

/// The algorithms of the Rust-native trainer. Their numeric hyper-parameters may be runtime
/// parameters: `max_depth: Some((&max_depth).into())`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Least-squares linear regression.
    LinearRegression,
    /// Logistic regression of a 0/1 label; predicts the probability of 1. For more classes,
    /// or labels that are names, use [`Algorithm::LogisticRegressionClassifier`].
    LogisticRegression,
    /// Multinomial (softmax) logistic regression of a label with any number of classes,
    /// integers or text: predicts a class and the probability of every class.
    LogisticRegressionClassifier,
    /// A CART classification tree (Gini impurity); a class's probability is its share of the
    /// training examples in the leaf a row reaches.
    DecisionTreeClassifier {
        /// The deepest a leaf may be (a value or a runtime parameter).
        #[serde(default)]
        max_depth: Option<Param<i64>>,
    },
    /// A random forest of classification trees; a class's probability is its share of the
    /// trees' votes.
    RandomForestClassifier {
        /// How many trees (a value or a runtime parameter).
        trees: Param<i64>,
        /// The deepest a leaf may be (a value or a runtime parameter).
        #[serde(default)]
        max_depth: Option<Param<i64>>,
        /// The seed of the bootstrap samples and feature choices, for reproducible forests.
        #[serde(default)]
        seed: u64,
    },
    /// A CART regression tree.
    DecisionTreeRegressor {
        /// The deepest a leaf may be (a value or a runtime parameter).
        #[serde(default)]
        max_depth: Option<Param<i64>>,
    },
    /// A random forest of regression trees.
    RandomForestRegressor {
        /// How many trees (a value or a runtime parameter).
        trees: Param<i64>,
        /// The deepest a leaf may be (a value or a runtime parameter).
        #[serde(default)]
        max_depth: Option<Param<i64>>,
    },
    /// Your own training code, a registered [`TrainFn`](super::TrainFn), with its configuration.
    Custom {
        /// The registered name.
        name: String,
        /// The TrainFn's configuration.
        config: serde_json::Value,
    },
}

impl Algorithm {
    /// Your own training code: a registered [`TrainFn`](super::TrainFn) with this configuration.
    pub fn custom<T: super::TrainFn>(config: &T) -> Result<Algorithm> {
        Ok(Algorithm::Custom {
            name: T::NAME.to_owned(),
            config: serde_json::to_value(config).map_err(|error| Error::Configuration {
                component: T::NAME.to_owned(),
                option: "config".to_owned(),
                reason: format!("the configuration cannot be serialised: {error}"),
            })?,
        })
    }

    /// What the algorithm predicts (a regression for a custom name nothing registered, whose
    /// training then fails saying so).
    pub fn task(&self) -> Task {
        match self {
            Algorithm::LogisticRegression => Task::BinaryClassification,
            Algorithm::LogisticRegressionClassifier
            | Algorithm::DecisionTreeClassifier { .. }
            | Algorithm::RandomForestClassifier { .. } => Task::Classification,
            Algorithm::Custom { name, .. } => super::TrainFnRegistration::find(name)
                .map_or(Task::Regression, super::TrainFnRegistration::task),
            _ => Task::Regression,
        }
    }

    /// The name in manifests.
    pub fn name(&self) -> &str {
        match self {
            Algorithm::LinearRegression => "linear_regression",
            Algorithm::LogisticRegression => "logistic_regression",
            Algorithm::DecisionTreeRegressor { .. } => "decision_tree_regressor",
            Algorithm::RandomForestRegressor { .. } => "random_forest_regressor",
            Algorithm::Custom { name, .. } => name,
            classifier => classifier.classifier().map_or("", |c| c.name()),
        }
    }

    /// The classifier this algorithm fits, for the classification algorithms.
    pub fn classifier(&self) -> Option<ClassifierAlgorithm> {
        match self {
            Algorithm::LogisticRegressionClassifier => {
                Some(ClassifierAlgorithm::LogisticRegression)
            }
            Algorithm::DecisionTreeClassifier { max_depth } => {
                Some(ClassifierAlgorithm::DecisionTree {
                    max_depth: max_depth.clone(),
                })
            }
            Algorithm::RandomForestClassifier {
                trees,
                max_depth,
                seed,
            } => Some(ClassifierAlgorithm::RandomForest {
                trees: trees.clone(),
                max_depth: max_depth.clone(),
                seed: *seed,
            }),
            _ => None,
        }
    }
}

pub(crate) type Matrix = DenseMatrix<f64>;

/// Hyper-parameter `name` of `algorithm` as the library's integer type: at least 1 and within
/// its range.
pub(crate) fn bounded<T: TryFrom<i64>>(
    parameter: &Param<i64>,
    algorithm: &str,
    name: &str,
) -> Result<T> {
    let invalid = |reason: String| Error::Configuration {
        component: algorithm.to_owned(),
        option: name.to_owned(),
        reason,
    };
    let value = *parameter
        .value()
        .map_err(|error| invalid(error.to_string()))?;
    T::try_from(value)
        .ok()
        .filter(|_| value >= 1)
        .ok_or_else(|| invalid(format!("{name} = {value} is out of range")))
}

/// A fitted Rust-native model.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NativeModel {
    /// Linear regression.
    LinearRegression(LinearRegression<f64, f64, Matrix, Vec<f64>>),
    /// Logistic regression.
    LogisticRegression(LogisticRegression<f64, i64, Matrix, Vec<i64>>),
    /// A regression tree.
    DecisionTreeRegressor(DecisionTreeRegressor<f64, f64, Matrix, Vec<f64>>),
    /// A random forest.
    RandomForestRegressor(RandomForestRegressor<f64, f64, Matrix, Vec<f64>>),
    /// A classifier of any number of classes, with its class names.
    Classifier(NativeClassifier),
    /// A model of your own training code.
    Custom(super::train_fn::CustomModel),
}

/// A feature matrix, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// How many rows.
    pub rows: usize,
    /// How many features per row.
    pub columns: usize,
    /// The values, row after row.
    pub values: Vec<f64>,
}

impl Features {
    pub(crate) fn matrix(&self) -> std::result::Result<Matrix, String> {
        DenseMatrix::new(self.rows, self.columns, self.values.clone(), false)
            .map_err(|error| format!("feature matrix: {error}"))
    }
}

/// The rows of `batches` where every input (and the label, when given) has a value: the
/// features in `inputs` order, the labels, and how many rows were left out.
pub fn features_of(
    batches: &[RecordBatch],
    inputs: &[String],
    label: Option<&str>,
) -> Result<(Features, Vec<f64>, u64)> {
    let mut values = Vec::new();
    let mut labels = Vec::new();
    let mut skipped = 0;
    let mut rows = 0;
    for batch in batches {
        let mut columns = Vec::with_capacity(inputs.len() + 1);
        for name in inputs.iter().map(String::as_str).chain(label) {
            let column = batch.column_by_name(name).ok_or_else(|| {
                DataError::missing_column(name, "the model", "the examples", &batch.schema())
            })?;
            columns.push(numbers(column.as_ref(), name)?);
        }
        for row in 0..batch.num_rows() {
            if columns.iter().any(|column| column[row].is_none()) {
                skipped += 1;
                continue;
            }
            let mut cells = columns.iter().map(|column| column[row].unwrap_or_default());
            values.extend(cells.by_ref().take(inputs.len()));
            if label.is_some() {
                labels.extend(cells);
            }
            rows += 1;
        }
    }
    Ok((
        Features {
            rows,
            columns: inputs.len(),
            values,
        },
        labels,
        skipped,
    ))
}

/// Which rows of `batch` have a value in every column of `inputs`.
pub fn complete_rows(batch: &RecordBatch, inputs: &[String]) -> Result<Vec<bool>> {
    let mut complete = vec![true; batch.num_rows()];
    for name in inputs {
        let column = batch.column_by_name(name).ok_or_else(|| {
            DataError::missing_column(name, "the model", "the rows", &batch.schema())
        })?;
        for (flag, value) in complete.iter_mut().zip(numbers(column.as_ref(), name)?) {
            *flag &= value.is_some();
        }
    }
    Ok(complete)
}

/// The rows of `batches` where every input and the label have a value, for a classifier: the
/// features in `inputs` order, the labels as text (integers as `"2"`, strings as they are), and
/// how many rows were left out.
pub fn features_and_classes_of(
    batches: &[RecordBatch],
    inputs: &[String],
    label: &str,
) -> Result<(Features, Vec<String>, u64)> {
    let mut features = Features {
        rows: 0,
        columns: inputs.len(),
        values: Vec::new(),
    };
    let mut labels = Vec::new();
    let mut skipped = 0;
    for batch in batches {
        let texts = class_labels(batch, label)?;
        let (complete, _, _) = features_of(std::slice::from_ref(batch), inputs, None)?;
        let mut rows = complete.values.chunks_exact(inputs.len().max(1));
        for (has_features, text) in complete_rows(batch, inputs)?.into_iter().zip(texts) {
            let row = if has_features { rows.next() } else { None };
            match (row, text) {
                (Some(row), Some(text)) => {
                    features.values.extend_from_slice(row);
                    features.rows += 1;
                    labels.push(text);
                }
                _ => skipped += 1,
            }
        }
    }
    Ok((features, labels, skipped))
}

/// The classes of a label column as text (`None` for a missing label): strings as they are,
/// numbers as they print (`2`, `2.5`).
pub fn class_labels(batch: &RecordBatch, label: &str) -> Result<Vec<Option<String>>> {
    let column = batch.column_by_name(label).ok_or_else(|| {
        DataError::missing_column(
            label,
            "the classifier's label",
            "the examples",
            &batch.schema(),
        )
    })?;
    match column.data_type() {
        DataType::Utf8 | DataType::Int64 | DataType::Float64 => {}
        other => {
            return Err(DataError::WrongType {
                column: label.to_owned(),
                needed_by: "the classifier's label".to_owned(),
                expected: "a string, integer or float column".to_owned(),
                found: format!("of Arrow type {other}"),
            }
            .into());
        }
    }
    let mut texts = value_texts(column.as_ref());
    if column.data_type() == &DataType::Float64 {
        // NaN is no class.
        for text in &mut texts {
            if text.as_deref() == Some("NaN") {
                *text = None;
            }
        }
    }
    Ok(texts)
}

/// A numeric column's values as f64 (nulls and NaN as `None`).
pub(crate) fn numbers(column: &dyn Array, name: &str) -> Result<Vec<Option<f64>>> {
    match column.data_type() {
        DataType::Float64 => Ok(column
            .as_primitive::<Float64Type>()
            .iter()
            .map(|value| value.filter(|v| !v.is_nan()))
            .collect()),
        DataType::Int64 => Ok(column
            .as_primitive::<Int64Type>()
            .iter()
            .map(|value| value.map(|v| v as f64))
            .collect()),
        other => Err(DataError::WrongType {
            column: name.to_owned(),
            needed_by: "the model".to_owned(),
            expected: "a numeric column (encode strings with a Transform vocabulary or one-hot op)"
                .to_owned(),
            found: format!("of Arrow type {other}"),
        }
        .into()),
    }
}

impl NativeModel {
    /// Fits `algorithm` to `features` and `labels`.
    pub fn fit(algorithm: &Algorithm, features: &Features, labels: &[f64]) -> Result<NativeModel> {
        if features.rows == 0 {
            return Err(training_failed(
                algorithm,
                "no complete example to train on".to_owned(),
            ));
        }
        if features.columns == 0 {
            return Err(no_feature(algorithm.name()));
        }
        // A degenerate input must not take the pipeline down with a panic inside the library:
        // it becomes this node's error.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::fit_unguarded(algorithm, features, labels)
        }))
        .unwrap_or_else(|_| {
            Err(training_failed(
                algorithm,
                format!(
                    "it panicked inside the model's library on these {} examples",
                    features.rows
                ),
            ))
        })
    }

    /// Fits a classification `algorithm` to `features` and their class `labels` (text).
    pub fn fit_classes(
        algorithm: &Algorithm,
        features: &Features,
        labels: &[String],
    ) -> Result<NativeModel> {
        let Some(classifier) = algorithm.classifier() else {
            return Err(training_failed(
                algorithm,
                "it is not a classification algorithm: its labels are numbers".to_owned(),
            ));
        };
        NativeClassifier::fit(&classifier, features, labels).map(NativeModel::Classifier)
    }

    /// The classifier, for a model of several classes.
    pub fn classifier(&self) -> Option<&NativeClassifier> {
        match self {
            NativeModel::Classifier(model) => Some(model),
            _ => None,
        }
    }

    fn fit_unguarded(
        algorithm: &Algorithm,
        features: &Features,
        labels: &[f64],
    ) -> Result<NativeModel> {
        let x = features
            .matrix()
            .map_err(|reason| training_failed(algorithm, reason))?;
        let failed =
            |error: smartcore::error::Failed| training_failed(algorithm, error.to_string());
        let labels = labels.to_vec();
        Ok(match algorithm {
            Algorithm::LinearRegression => NativeModel::LinearRegression(
                LinearRegression::fit(&x, &labels, Default::default()).map_err(failed)?,
            ),
            Algorithm::LogisticRegression => {
                let classes: Vec<i64> = labels.iter().map(|&label| label.round() as i64).collect();
                if let Some(bad) = classes.iter().find(|class| !matches!(class, 0 | 1)) {
                    return Err(training_failed(
                        algorithm,
                        format!(
                            "logistic regression needs 0/1 labels, found {bad}: for more classes \
                             use Algorithm::LogisticRegressionClassifier"
                        ),
                    ));
                }
                if !(classes.contains(&0) && classes.contains(&1)) {
                    return Err(training_failed(
                        algorithm,
                        "logistic regression needs both classes in its labels".to_owned(),
                    ));
                }
                NativeModel::LogisticRegression(
                    LogisticRegression::fit(&x, &classes, Default::default()).map_err(failed)?,
                )
            }
            Algorithm::DecisionTreeRegressor { max_depth } => {
                let mut parameters = DecisionTreeRegressorParameters::default();
                if let Some(depth) = max_depth {
                    parameters =
                        parameters.with_max_depth(bounded(depth, algorithm.name(), "max_depth")?);
                }
                NativeModel::DecisionTreeRegressor(
                    DecisionTreeRegressor::fit(&x, &labels, parameters).map_err(failed)?,
                )
            }
            Algorithm::RandomForestRegressor { trees, max_depth } => {
                let mut parameters = RandomForestRegressorParameters::default()
                    .with_n_trees(bounded::<usize>(trees, algorithm.name(), "trees")?);
                if let Some(depth) = max_depth {
                    parameters =
                        parameters.with_max_depth(bounded(depth, algorithm.name(), "max_depth")?);
                }
                NativeModel::RandomForestRegressor(
                    RandomForestRegressor::fit(&x, &labels, parameters).map_err(failed)?,
                )
            }
            Algorithm::Custom { name, config } => NativeModel::Custom(
                super::train_fn::CustomModel::fit(name, config, features, &labels)?,
            ),
            Algorithm::LogisticRegressionClassifier
            | Algorithm::DecisionTreeClassifier { .. }
            | Algorithm::RandomForestClassifier { .. } => {
                let texts: Vec<String> = labels.iter().map(f64::to_string).collect();
                Self::fit_classes(algorithm, features, &texts)?
            }
        })
    }

    /// Predictions for `features`: values for regressions, the probability of class 1 for
    /// logistic regression.
    pub fn predict(&self, features: &Features) -> Result<Vec<f64>> {
        if features.rows == 0 {
            return Ok(Vec::new());
        }
        if features.columns == 0 {
            return Err(no_feature(self.name()));
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.predict_unguarded(features)
        }))
        .unwrap_or_else(|_| {
            Err(self.prediction_failed(format!(
                "it panicked inside the model's library: do the {} features match the model's?",
                features.columns
            )))
        })
    }

    fn predict_unguarded(&self, features: &Features) -> Result<Vec<f64>> {
        let x = match self {
            NativeModel::Custom(model) => return model.predict(features),
            _ => features
                .matrix()
                .map_err(|reason| self.prediction_failed(reason))?,
        };
        let failed = |error: smartcore::error::Failed| self.prediction_failed(error.to_string());
        match self {
            NativeModel::LinearRegression(model) => model.predict(&x).map_err(failed),
            NativeModel::DecisionTreeRegressor(model) => model.predict(&x).map_err(failed),
            NativeModel::RandomForestRegressor(model) => model.predict(&x).map_err(failed),
            NativeModel::Custom(model) => model.predict(features),
            NativeModel::Classifier(model) => Err(self.prediction_failed(format!(
                "a classifier of {} classes predicts a class and a probability per class, \
                 not one number: use its predict_probabilities",
                model.classes().len()
            ))),
            NativeModel::LogisticRegression(model) => {
                let (weights, intercept) = (model.coefficients(), model.intercept());
                let fitted_on = weights.shape().1;
                if fitted_on != features.columns {
                    return Err(self.prediction_failed(format!(
                        "the model was fitted on {fitted_on} features, not {}",
                        features.columns
                    )));
                }
                Ok(features
                    .values
                    .chunks_exact(features.columns)
                    .map(|row| {
                        let z = row
                            .iter()
                            .enumerate()
                            .fold(*intercept.get((0, 0)), |sum, (j, x)| {
                                sum + weights.get((0, j)) * x
                            });
                        1.0 / (1.0 + (-z).exp())
                    })
                    .collect())
            }
        }
    }

    /// The classes logistic regression predicts (for checking the probabilities).
    pub fn predict_classes(&self, features: &Features) -> Result<Option<Vec<i64>>> {
        match self {
            NativeModel::LogisticRegression(model) => {
                let x = features
                    .matrix()
                    .map_err(|reason| self.prediction_failed(reason))?;
                model
                    .predict(&x)
                    .map(Some)
                    .map_err(|error| self.prediction_failed(error.to_string()))
            }
            _ => Ok(None),
        }
    }

    /// The model's algorithm, as manifests name it.
    pub fn name(&self) -> &str {
        match self {
            NativeModel::LinearRegression(_) => "linear_regression",
            NativeModel::LogisticRegression(_) => "logistic_regression",
            NativeModel::DecisionTreeRegressor(_) => "decision_tree_regressor",
            NativeModel::RandomForestRegressor(_) => "random_forest_regressor",
            NativeModel::Classifier(model) => model.name(),
            NativeModel::Custom(model) => model.name(),
        }
    }

    fn prediction_failed(&self, reason: String) -> Error {
        Error::Prediction {
            model: self.name().to_owned(),
            reason,
        }
    }
}

fn training_failed(algorithm: &Algorithm, reason: String) -> Error {
    Error::Training {
        algorithm: algorithm.name().to_owned(),
        reason,
    }
}

/// The error of a model given no feature column.
fn no_feature(algorithm: &str) -> Error {
    Error::Configuration {
        component: algorithm.to_owned(),
        option: "features".to_owned(),
        reason: "a model needs at least one feature".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn grid(rows: usize) -> Features {
        let values = (0..rows)
            .flat_map(|i| [i as f64 / 10.0, ((i * 7) % 13) as f64])
            .collect();
        Features {
            rows,
            columns: 2,
            values,
        }
    }

    #[test]
    fn linear_regression_recovers_a_linear_law_and_round_trips() {
        let features = grid(200);
        let labels: Vec<f64> = features
            .values
            .chunks(2)
            .map(|r| 3.0 + 2.0 * r[0] - 0.5 * r[1])
            .collect();
        let model = NativeModel::fit(&Algorithm::LinearRegression, &features, &labels).unwrap();
        let predicted = model.predict(&features).unwrap();
        for (p, y) in predicted.iter().zip(&labels) {
            assert!((p - y).abs() < 1e-8, "{p} vs {y}");
        }
        let json = serde_json::to_string(&model).unwrap();
        let loaded: NativeModel = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded.predict(&features).unwrap(), predicted);
    }

    #[test]
    fn logistic_probabilities_agree_with_its_classes() {
        let features = grid(300);
        let labels: Vec<f64> = features
            .values
            .chunks(2)
            .map(|r| f64::from(u8::from(r[0] + 0.3 * r[1] > 15.0)))
            .collect();
        let model = NativeModel::fit(&Algorithm::LogisticRegression, &features, &labels).unwrap();
        let probabilities = model.predict(&features).unwrap();
        let classes = model.predict_classes(&features).unwrap().unwrap();
        for (p, class) in probabilities.iter().zip(classes) {
            assert!((0.0..=1.0).contains(p));
            assert_eq!(i64::from(*p >= 0.5), class, "probability {p}");
        }
        let accuracy = probabilities
            .iter()
            .zip(&labels)
            .filter(|(p, y)| f64::from(u8::from(**p >= 0.5)) == **y)
            .count();
        assert!(accuracy as f64 / 300.0 > 0.9, "accuracy {accuracy}/300");
        assert!(
            NativeModel::fit(&Algorithm::LogisticRegression, &features, &vec![2.0; 300]).is_err()
        );
        let none = Features {
            rows: 3,
            columns: 0,
            values: Vec::new(),
        };
        assert!(NativeModel::fit(&Algorithm::LinearRegression, &none, &[1.0, 2.0, 3.0]).is_err());
        // Other feature counts than the model's: errors, not panics.
        for columns in [1, 3] {
            let other = Features {
                rows: 2,
                columns,
                values: vec![1.0; 2 * columns],
            };
            assert!(model.predict(&other).is_err(), "{columns} features");
        }
    }

    #[test]
    fn trees_fit_a_step() {
        let features = grid(200);
        let labels: Vec<f64> = features
            .values
            .chunks(2)
            .map(|r| if r[0] > 10.0 { 5.0 } else { 1.0 })
            .collect();
        for algorithm in [
            Algorithm::DecisionTreeRegressor {
                max_depth: Some(3.into()),
            },
            Algorithm::RandomForestRegressor {
                trees: 10.into(),
                max_depth: Some(4.into()),
            },
        ] {
            let model = NativeModel::fit(&algorithm, &features, &labels).unwrap();
            let predicted = model.predict(&features).unwrap();
            let error: f64 = predicted
                .iter()
                .zip(&labels)
                .map(|(p, y)| (p - y).abs())
                .sum::<f64>()
                / 200.0;
            assert!(error < 0.5, "{algorithm:?}: mean absolute error {error}");
        }
    }
}
