//! The Tuner component: grid or random search over a declared space of an algorithm's
//! hyper-parameters, trials fitted in parallel (bounded), the best kept as a HyperParameters
//! artifact the Trainer consumes.

use std::collections::BTreeMap;
use std::path::Path;

use millrace_core::prelude::*;
use millrace_tabular::hash::Lcg64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::manifest::Task;
use super::metrics::{Metric, binary_metrics, multiclass_metrics, regression_metrics};
use super::native::{Algorithm, NativeModel, features_of};
use crate::data::examples_format::read_split;
use crate::{DataError, Error, Result};

/// The file of the chosen hyper-parameters inside a HyperParameters artifact.
pub const HYPERPARAMETERS_FILE: &str = "hyperparameters.json";

/// How the space is searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Every combination.
    Grid,
    /// `trials` combinations drawn without repetition (reproducibly, from `seed`).
    Random {
        /// How many.
        trials: usize,
        /// The draw's seed.
        seed: u64,
    },
}

/// One trial's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The algorithm with this trial's hyper-parameters.
    pub algorithm: Algorithm,
    /// The objective's value on the evaluation split.
    pub value: f64,
}

/// The tuner's result: the best algorithm and every trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningResult {
    /// The objective.
    pub objective: Metric,
    /// The best trial's algorithm.
    pub best: Algorithm,
    /// Its objective value.
    pub best_value: f64,
    /// Every trial, in the order of the space.
    pub trials: Vec<Trial>,
}

impl TuningResult {
    /// Reads the `hyperparameters.json` of a HyperParameters artifact.
    pub fn read(dir: &Path) -> Result<TuningResult> {
        let path = dir.join(HYPERPARAMETERS_FILE);
        let bytes = std::fs::read(&path).map_err(|error| DataError::io(&path, error))?;
        serde_json::from_slice(&bytes).map_err(|error| DataError::json(&path, error).into())
    }
}

/// The candidates of `space` for algorithm `kind`: `{"trees": [10, 50], "max_depth": [4, null]}`
/// over `random_forest_regressor` gives four algorithms, in grid order.
pub fn candidates(
    kind: &str,
    space: &BTreeMap<String, Vec<Value>>,
    search: &Search,
) -> Result<Vec<Algorithm>> {
    let mut combinations: Vec<serde_json::Map<String, Value>> = vec![serde_json::Map::new()];
    for (name, values) in space {
        if values.is_empty() {
            return Err(invalid_tuner(
                "space",
                format!("hyper-parameter `{name}` has no value to try"),
            ));
        }
        combinations = combinations
            .into_iter()
            .flat_map(|partial| {
                values.iter().map(move |value| {
                    let mut next = partial.clone();
                    next.insert(name.clone(), value.clone());
                    next
                })
            })
            .collect();
    }
    let algorithms = combinations
        .into_iter()
        .map(|parameters| {
            let json = if parameters.is_empty() {
                Value::String(kind.to_owned())
            } else {
                serde_json::json!({ kind: parameters })
            };
            serde_json::from_value::<Algorithm>(json.clone()).map_err(|error| {
                invalid_tuner("space", format!("{json} is not an algorithm: {error}"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(match search {
        Search::Grid => algorithms,
        Search::Random { trials, seed } => {
            // A seeded Fisher–Yates shuffle, then the first `trials`.
            let mut draws = Lcg64::from_seed(*seed);
            let mut shuffled = algorithms;
            for index in (1..shuffled.len()).rev() {
                shuffled.swap(index, draws.below(index + 1));
            }
            shuffled.truncate(*trials);
            shuffled
        }
    })
}

/// An error in the Tuner's configuration.
fn invalid_tuner(option: &str, reason: String) -> Error {
    Error::Configuration {
        component: "Tuner".to_owned(),
        option: option.to_owned(),
        reason,
    }
}

/// Tunes hyper-parameters: fits each candidate on the train split and scores it on the eval
/// split by `objective`, `parallel_trials` at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuner {
    /// The algorithm (`random_forest_regressor`, ...).
    pub algorithm: String,
    /// Each hyper-parameter's values to try.
    pub space: BTreeMap<String, Vec<Value>>,
    /// Grid or random search.
    pub search: Search,
    /// What to optimise (minimised or maximised as the metric says).
    pub objective: Metric,
    /// The feature columns.
    pub features: Vec<String>,
    /// The label column.
    pub label: String,
    /// How many trials run at once.
    #[serde(default = "parallel_trials")]
    pub parallel_trials: usize,
}

fn parallel_trials() -> usize {
    2
}

/// The input of Tuner.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct TunerInputs {
    /// The examples (train and eval splits).
    pub examples: Channel<Examples>,
}

/// The output of Tuner.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct TunerOutputs {
    /// `hyperparameters.json`: the best algorithm and every trial.
    pub best_hyperparameters: Channel<HyperParameters>,
}

impl Tuner {
    /// Wires a configured tuner to `examples`.
    pub fn tune(self, examples: Channel<Examples>) -> Node<Tuner> {
        self.with_inputs(TunerInputs { examples })
    }
}

impl Component for Tuner {
    const KIND: &'static str = "millrace.Tuner";
    type Inputs = TunerInputs;
    type Outputs = TunerOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

/// Fits `candidates` and scores them, `parallel` at a time.
pub fn run_trials(
    candidates: &[Algorithm],
    objective: Metric,
    features: &[String],
    label: &str,
    examples: &Path,
    parallel: usize,
) -> Result<TuningResult> {
    let (train_x, train_y, _) =
        features_of(&read_split(examples, "train")?, features, Some(label))?;
    let (eval_x, eval_y, _) = features_of(&read_split(examples, "eval")?, features, Some(label))?;
    let score = |algorithm: &Algorithm| -> Result<f64> {
        let model = NativeModel::fit(algorithm, &train_x, &train_y)?;
        let value = match algorithm.task() {
            Task::Regression => {
                regression_metrics(&eval_y, &model.predict(&eval_x)?)?.get(objective)
            }
            Task::BinaryClassification => {
                let truth: Vec<bool> = eval_y.iter().map(|&y| y >= 0.5).collect();
                binary_metrics(&truth, &model.predict(&eval_x)?, 0.5)?.get(objective)
            }
            Task::Classification => match model.classifier() {
                Some(classifier) => {
                    let labels: Vec<String> = eval_y.iter().map(f64::to_string).collect();
                    let truth = classifier
                        .class_indices(&labels)
                        .into_iter()
                        .zip(&labels)
                        .map(|(class, label)| {
                            class.ok_or_else(|| {
                                invalid_tuner(
                                    "examples",
                                    format!(
                                        "the eval split has class {label}, which the train split \
                                         lacks"
                                    ),
                                )
                            })
                        })
                        .collect::<Result<Vec<usize>>>()?;
                    let probabilities = classifier.predict_probabilities(&eval_x)?;
                    multiclass_metrics(&truth, &probabilities, classifier.classes().len())?
                        .get(objective)
                }
                None => None,
            },
        };
        value.ok_or_else(|| {
            invalid_tuner(
                "objective",
                format!(
                    "the objective {} does not apply to {}",
                    objective.name(),
                    algorithm.name()
                ),
            )
        })
    };
    let mut trials = Vec::with_capacity(candidates.len());
    for batch in candidates.chunks(parallel.max(1)) {
        let values: Vec<Result<f64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|algorithm| scope.spawn(|| score(algorithm)))
                .collect();
            handles
                .into_iter()
                .zip(batch)
                .map(|(handle, algorithm)| {
                    handle.join().unwrap_or_else(|_| {
                        Err(Error::Training {
                            algorithm: algorithm.name().to_owned(),
                            reason: "its trial panicked".to_owned(),
                        })
                    })
                })
                .collect()
        });
        for (algorithm, value) in batch.iter().zip(values) {
            trials.push(Trial {
                algorithm: algorithm.clone(),
                value: value?,
            });
        }
    }
    let better = |a: f64, b: f64| {
        if objective.higher_is_better() {
            a > b
        } else {
            a < b
        }
    };
    let best = trials
        .iter()
        .fold(None::<&Trial>, |best, trial| match best {
            Some(best) if !better(trial.value, best.value) => Some(best),
            _ => Some(trial),
        })
        .ok_or_else(|| invalid_tuner("space", "the search space has no candidate".to_owned()))?;
    Ok(TuningResult {
        objective,
        best: best.algorithm.clone(),
        best_value: best.value,
        trials,
    })
}

#[async_trait::async_trait]
impl Execute for Tuner {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let examples = context.input::<Examples>("examples")?;
        let output = context.output::<HyperParameters>("best_hyperparameters")?;
        let candidates = candidates(&self.algorithm, &self.space, &self.search)?;
        let result = run_trials(
            &candidates,
            self.objective,
            &self.features,
            &self.label,
            examples.uri(),
            self.parallel_trials,
        )?;
        let path = output.uri().join(HYPERPARAMETERS_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&result)?)?;
        context.log_metric(format!("best_{}", self.objective.name()), result.best_value);
        context.log(format!(
            "{} trials; best {:?} with {} {}",
            result.trials.len(),
            result.best,
            self.objective.name(),
            result.best_value
        ));
        Ok(())
    }
}

millrace_core::register_component!(Tuner);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn grids_cover_every_combination_and_random_draws_are_reproducible() {
        let space = BTreeMap::from([
            ("trees".to_owned(), vec![Value::from(5), Value::from(10)]),
            (
                "max_depth".to_owned(),
                vec![Value::from(2), Value::Null, Value::from(6)],
            ),
        ]);
        let grid = candidates("random_forest_regressor", &space, &Search::Grid).unwrap();
        assert_eq!(grid.len(), 6);
        assert!(grid.contains(&Algorithm::RandomForestRegressor {
            trees: 10.into(),
            max_depth: None
        }));
        let random = candidates(
            "random_forest_regressor",
            &space,
            &Search::Random { trials: 3, seed: 7 },
        )
        .unwrap();
        assert_eq!(random.len(), 3);
        // The draws of seed 7 are pinned: a search is reproducible across versions too.
        let grid_at = |depth: Option<i64>, trees: i64| Algorithm::RandomForestRegressor {
            trees: trees.into(),
            max_depth: depth.map(Into::into),
        };
        assert_eq!(
            random,
            [grid_at(Some(2), 5), grid_at(None, 10), grid_at(Some(2), 10)]
        );
        assert_eq!(
            random,
            candidates(
                "random_forest_regressor",
                &space,
                &Search::Random { trials: 3, seed: 7 }
            )
            .unwrap()
        );
        assert!(random.iter().all(|a| grid.contains(a)));
        let plain = candidates("linear_regression", &BTreeMap::new(), &Search::Grid).unwrap();
        assert_eq!(plain, vec![Algorithm::LinearRegression]);
        assert!(
            candidates(
                "random_forest_regressor",
                &BTreeMap::from([("depth".to_owned(), vec![Value::from(1)])]),
                &Search::Grid
            )
            .is_err()
        );
    }
}
