//! Rust-native classifiers of any number of classes: multinomial logistic regression, a CART
//! decision tree and a random forest, each predicting a label and a probability per class.
//!
//! Labels are text (`"Adelie"`, `"Gentoo"`; numbers written as text): the classes are the
//! distinct labels sorted as text, a class's index is its place in that order, and the mapping
//! is stored in the model, so predictions come back as the original labels.
//!
//! Probabilities, one per class in class-index order:
//! - logistic regression: the softmax of the per-class linear scores (smartcore fits the
//!   multinomial objective for three classes or more; for two it fits one sigmoid, whose
//!   probability of the second class is `p` and of the first `1 − p`);
//! - decision tree: the class frequencies of the training examples in the leaf a row reaches;
//! - random forest: the trees' vote shares (each tree votes its leaf's majority class).
//!
//! ```
//! use millrace_components::model::{ClassifierAlgorithm, Features, NativeClassifier};
//!
//! let features = Features { rows: 4, columns: 1, values: vec![0.0, 1.0, 10.0, 11.0] };
//! let labels: Vec<String> = ["small", "small", "large", "large"].map(String::from).to_vec();
//! let tree = ClassifierAlgorithm::DecisionTree { max_depth: None };
//! let model = NativeClassifier::fit(&tree, &features, &labels).unwrap();
//! assert_eq!(model.classes(), ["large", "small"]);
//! assert_eq!(model.predict(&features).unwrap(), labels);
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array as _;
use smartcore::linear::logistic_regression::LogisticRegression;
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};

use millrace_core::Param;

use super::native::{Features, Matrix, bounded};
use crate::{Error, Result};

/// The algorithms of the Rust-native classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierAlgorithm {
    /// Multinomial (softmax) logistic regression.
    LogisticRegression,
    /// A CART classification tree (Gini impurity).
    DecisionTree {
        /// The deepest a leaf may be (a value or a runtime parameter).
        #[serde(default)]
        max_depth: Option<Param<i64>>,
    },
    /// A random forest of classification trees.
    RandomForest {
        /// How many trees (a value or a runtime parameter).
        trees: Param<i64>,
        /// The deepest a leaf may be (a value or a runtime parameter).
        #[serde(default)]
        max_depth: Option<Param<i64>>,
        /// The seed of the bootstrap samples and feature choices, for reproducible forests.
        #[serde(default)]
        seed: u64,
    },
}

impl ClassifierAlgorithm {
    /// The name in manifests.
    pub fn name(&self) -> &'static str {
        match self {
            ClassifierAlgorithm::LogisticRegression => "logistic_regression_classifier",
            ClassifierAlgorithm::DecisionTree { .. } => "decision_tree_classifier",
            ClassifierAlgorithm::RandomForest { .. } => "random_forest_classifier",
        }
    }
}

/// A fitted classifier with its classes.
#[derive(Debug, Serialize, Deserialize)]
pub struct NativeClassifier {
    /// The labels, sorted as text; a class's index is its place here.
    classes: Vec<String>,
    /// The fitted model, predicting class indices.
    model: ClassifierModel,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ClassifierModel {
    LogisticRegression(LogisticRegression<f64, i64, Matrix, Vec<i64>>),
    DecisionTree(ClassTree),
    RandomForest(Vec<ClassTree>),
}

/// A classification tree read out of smartcore's: its splits, and the class frequencies of the
/// training examples in each leaf (smartcore keeps only the leaf's majority class).
#[derive(Debug, Serialize, Deserialize)]
struct ClassTree {
    /// How many features the tree was fitted on.
    feature_count: usize,
    nodes: Vec<TreeNode>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TreeNode {
    /// The majority class index of a leaf.
    class: usize,
    split_feature: usize,
    split_value: Option<f64>,
    /// The child of rows whose feature is at most the split value, and the other child.
    children: Option<(usize, usize)>,
    /// Class probabilities of a leaf (empty for inner nodes, and for forest trees).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    frequencies: Vec<f64>,
}

/// smartcore's serialised tree, the fields this module reads.
#[derive(Deserialize)]
struct SmartcoreTree {
    nodes: Vec<SmartcoreNode>,
    classes: Vec<i64>,
}

#[derive(Deserialize)]
struct SmartcoreNode {
    output: usize,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
}

impl ClassTree {
    /// Reads smartcore's serialised tree, its outputs mapped to class indices.
    fn from_smartcore(
        tree: serde_json::Value,
        feature_count: usize,
    ) -> std::result::Result<ClassTree, String> {
        let tree: SmartcoreTree = serde_json::from_value(tree)
            .map_err(|error| format!("reading the fitted tree: {error}"))?;
        let nodes = tree
            .nodes
            .into_iter()
            .map(|node| {
                // The slice's `get`, not smartcore's `Array::get` on Vec.
                let class = <[i64]>::get(&tree.classes, node.output)
                    .and_then(|&class| usize::try_from(class).ok())
                    .ok_or_else(|| format!("a leaf predicts unknown class {}", node.output))?;
                Ok(TreeNode {
                    class,
                    split_feature: node.split_feature,
                    split_value: node.split_value,
                    children: node.true_child.zip(node.false_child),
                    frequencies: Vec::new(),
                })
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(ClassTree {
            feature_count,
            nodes,
        })
    }

    /// The index of the leaf `row` reaches.
    fn leaf(&self, row: &[f64]) -> std::result::Result<usize, String> {
        let mut index = 0;
        loop {
            let node = self
                .nodes
                .get(index)
                .ok_or_else(|| format!("the tree has no node {index}"))?;
            let Some((at_most, above)) = node.children else {
                return Ok(index);
            };
            let value = row.get(node.split_feature).ok_or_else(|| {
                format!(
                    "the tree splits on feature {} of {}",
                    node.split_feature,
                    row.len()
                )
            })?;
            index = if *value <= node.split_value.unwrap_or(f64::NAN) {
                at_most
            } else {
                above
            };
        }
    }

    /// Stores in every leaf the class frequencies of the training rows reaching it.
    fn count_leaves(
        &mut self,
        features: &Features,
        labels: &[usize],
        classes: usize,
    ) -> std::result::Result<(), String> {
        let mut counts = vec![vec![0u64; classes]; self.nodes.len()];
        for (row, &label) in features.values.chunks_exact(features.columns).zip(labels) {
            counts[self.leaf(row)?][label] += 1;
        }
        for (node, counts) in self.nodes.iter_mut().zip(counts) {
            let total: u64 = counts.iter().sum();
            if node.children.is_none() && total > 0 {
                node.frequencies = counts.iter().map(|&c| c as f64 / total as f64).collect();
            }
        }
        Ok(())
    }
}

impl NativeClassifier {
    /// Fits `algorithm` to `features` and their `labels` (one a row).
    pub fn fit(
        algorithm: &ClassifierAlgorithm,
        features: &Features,
        labels: &[String],
    ) -> Result<NativeClassifier> {
        let failed = |reason: String| Error::Training {
            algorithm: algorithm.name().to_owned(),
            reason,
        };
        if features.rows == 0 {
            return Err(failed("no complete example to train on".to_owned()));
        }
        if features.columns == 0 {
            return Err(Error::Configuration {
                component: algorithm.name().to_owned(),
                option: "features".to_owned(),
                reason: "a model needs at least one feature".to_owned(),
            });
        }
        if labels.len() != features.rows {
            return Err(failed(format!(
                "{} labels for {} examples",
                labels.len(),
                features.rows
            )));
        }
        let classes: Vec<String> = labels
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if classes.len() < 2 {
            return Err(failed(format!(
                "a classifier needs at least two classes in its labels, found {classes:?}"
            )));
        }
        let indices: Vec<usize> = labels
            .iter()
            .map(|label| classes.binary_search(label).unwrap_or_default())
            .collect();
        // A degenerate input must not take the pipeline down with a panic inside the library.
        let model = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fit_model(algorithm, features, &indices, classes.len())
        }))
        .unwrap_or_else(|_| {
            Err(format!(
                "it panicked inside the model's library on these {} examples",
                features.rows
            ))
        })
        .map_err(failed)?;
        Ok(NativeClassifier { classes, model })
    }

    /// The classes, in class-index order (the order of [`predict_probabilities`]' columns).
    ///
    /// [`predict_probabilities`]: NativeClassifier::predict_probabilities
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The algorithm's name in manifests.
    pub fn name(&self) -> &'static str {
        match self.model {
            ClassifierModel::LogisticRegression(_) => "logistic_regression_classifier",
            ClassifierModel::DecisionTree(_) => "decision_tree_classifier",
            ClassifierModel::RandomForest(_) => "random_forest_classifier",
        }
    }

    /// The probability of every class for every row: `rows × classes` values, row after row.
    pub fn predict_probabilities(&self, features: &Features) -> Result<Vec<f64>> {
        let classes = self.classes.len();
        let failed = |reason: String| Error::Prediction {
            model: self.name().to_owned(),
            reason,
        };
        if features.rows == 0 {
            return Ok(Vec::new());
        }
        let fitted_on = self.feature_count();
        if features.columns != fitted_on {
            return Err(failed(format!(
                "the model was fitted on {fitted_on} features, not {}",
                features.columns
            )));
        }
        let rows = features.values.chunks_exact(features.columns);
        let mut probabilities = Vec::with_capacity(features.rows * classes);
        match &self.model {
            ClassifierModel::LogisticRegression(model) => {
                let (weights, intercept) = (model.coefficients(), model.intercept());
                for row in rows {
                    let score = |class: usize| {
                        row.iter()
                            .enumerate()
                            .fold(*intercept.get((class, 0)), |sum, (j, x)| {
                                sum + weights.get((class, j)) * x
                            })
                    };
                    if classes == 2 {
                        let p = 1.0 / (1.0 + (-score(0)).exp());
                        probabilities.extend([1.0 - p, p]);
                    } else {
                        let scores: Vec<f64> = (0..classes).map(score).collect();
                        let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let exps: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
                        let total: f64 = exps.iter().sum();
                        probabilities.extend(exps.iter().map(|e| e / total));
                    }
                }
            }
            ClassifierModel::DecisionTree(tree) => {
                for row in rows {
                    let leaf = &tree.nodes[tree.leaf(row).map_err(failed)?];
                    probabilities.extend_from_slice(&leaf.frequencies);
                }
            }
            ClassifierModel::RandomForest(trees) => {
                for row in rows {
                    let mut votes = vec![0u32; classes];
                    for tree in trees {
                        votes[tree.nodes[tree.leaf(row).map_err(failed)?].class] += 1;
                    }
                    // Counted, then divided: a sum of shares could exceed 1 by rounding.
                    let total = trees.len() as f64;
                    probabilities.extend(votes.iter().map(|&v| f64::from(v) / total));
                }
            }
        }
        Ok(probabilities)
    }

    /// The most probable class of every row (the first on ties), as its original label.
    pub fn predict(&self, features: &Features) -> Result<Vec<String>> {
        Ok(self
            .predict_indices(features)?
            .into_iter()
            .map(|class| self.classes[class].clone())
            .collect())
    }

    /// The most probable class index of every row (the first on ties).
    pub fn predict_indices(&self, features: &Features) -> Result<Vec<usize>> {
        let classes = self.classes.len();
        Ok(self
            .predict_probabilities(features)?
            .chunks_exact(classes)
            .map(|row| {
                row.iter().enumerate().fold(
                    0,
                    |best, (class, &p)| if p > row[best] { class } else { best },
                )
            })
            .collect())
    }

    /// The index of each label among the classes, `None` for a label the model never saw.
    pub fn class_indices(&self, labels: &[String]) -> Vec<Option<usize>> {
        labels
            .iter()
            .map(|label| self.classes.binary_search(label).ok())
            .collect()
    }

    fn feature_count(&self) -> usize {
        match &self.model {
            ClassifierModel::LogisticRegression(model) => model.coefficients().shape().1,
            ClassifierModel::DecisionTree(tree) => tree.feature_count,
            ClassifierModel::RandomForest(trees) => {
                trees.first().map_or(0, |tree| tree.feature_count)
            }
        }
    }
}

fn fit_model(
    algorithm: &ClassifierAlgorithm,
    features: &Features,
    labels: &[usize],
    classes: usize,
) -> std::result::Result<ClassifierModel, String> {
    let x = features.matrix()?;
    let y: Vec<i64> = labels.iter().map(|&label| label as i64).collect();
    let library = |error: smartcore::error::Failed| error.to_string();
    let configuration = |error: Error| error.to_string();
    Ok(match algorithm {
        ClassifierAlgorithm::LogisticRegression => ClassifierModel::LogisticRegression(
            LogisticRegression::fit(&x, &y, Default::default()).map_err(library)?,
        ),
        ClassifierAlgorithm::DecisionTree { max_depth } => {
            let mut parameters = DecisionTreeClassifierParameters::default();
            if let Some(depth) = max_depth {
                parameters = parameters.with_max_depth(
                    bounded(depth, algorithm.name(), "max_depth").map_err(configuration)?,
                );
            }
            let fitted = DecisionTreeClassifier::fit(&x, &y, parameters).map_err(library)?;
            let serialised = serde_json::to_value(&fitted).map_err(|error| error.to_string())?;
            let mut tree = ClassTree::from_smartcore(serialised, features.columns)?;
            tree.count_leaves(features, labels, classes)?;
            ClassifierModel::DecisionTree(tree)
        }
        ClassifierAlgorithm::RandomForest {
            trees,
            max_depth,
            seed,
        } => {
            let mut parameters = RandomForestClassifierParameters::default()
                .with_n_trees(bounded(trees, algorithm.name(), "trees").map_err(configuration)?)
                .with_seed(*seed);
            if let Some(depth) = max_depth {
                parameters = parameters.with_max_depth(
                    bounded(depth, algorithm.name(), "max_depth").map_err(configuration)?,
                );
            }
            let fitted = RandomForestClassifier::fit(&x, &y, parameters).map_err(library)?;
            let mut serialised =
                serde_json::to_value(&fitted).map_err(|error| error.to_string())?;
            let Some(serde_json::Value::Array(trees)) =
                serialised.get_mut("trees").map(serde_json::Value::take)
            else {
                return Err("the fitted forest has no trees".to_owned());
            };
            ClassifierModel::RandomForest(
                trees
                    .into_iter()
                    .map(|tree| ClassTree::from_smartcore(tree, features.columns))
                    .collect::<std::result::Result<_, String>>()?,
            )
        }
    })
}
