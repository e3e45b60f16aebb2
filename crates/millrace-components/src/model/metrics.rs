//! Evaluation metrics of predictions: regression (RMSE, MSE, MAE, R²) and classification
//! (accuracy, precision, recall, F1, ROC AUC, log loss), defined as scikit-learn defines them, so
//! that figures agree with what a Python user would compute on the same predictions.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The metrics the evaluator reports and thresholds can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Root mean squared error.
    Rmse,
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Coefficient of determination.
    R2,
    /// Share of correct predictions.
    Accuracy,
    /// Of the predicted positives, the share that are positive (macro average for several classes).
    Precision,
    /// Of the positives, the share predicted positive (macro average for several classes).
    Recall,
    /// Harmonic mean of precision and recall (macro average for several classes).
    F1,
    /// Area under the ROC curve (binary classification).
    RocAuc,
    /// Cross-entropy of the predicted probabilities.
    LogLoss,
    /// Precision per class, averaged over the classes (a classifier of several classes).
    MacroPrecision,
    /// Recall per class, averaged over the classes.
    MacroRecall,
    /// F1 per class, averaged over the classes.
    MacroF1,
    /// Precision per class, averaged with the classes' supports as weights.
    WeightedPrecision,
    /// Recall per class, averaged with the classes' supports as weights.
    WeightedRecall,
    /// F1 per class, averaged with the classes' supports as weights.
    WeightedF1,
}

impl Metric {
    /// Whether a larger value is a better model.
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::Rmse | Metric::Mse | Metric::Mae | Metric::LogLoss
        )
    }

    /// The name used in documents and reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rmse => "rmse",
            Metric::Mse => "mse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
            Metric::MacroPrecision => "macro_precision",
            Metric::MacroRecall => "macro_recall",
            Metric::MacroF1 => "macro_f1",
            Metric::WeightedPrecision => "weighted_precision",
            Metric::WeightedRecall => "weighted_recall",
            Metric::WeightedF1 => "weighted_f1",
        }
    }
}

/// An [`Error::Metrics`] of labels and predictions that do not go together.
fn invalid_input(reason: String) -> Error {
    Error::Metrics { reason }
}

/// The smallest probability log loss takes a logarithm of (scikit-learn clips to float64's
/// machine epsilon).
const PROBABILITY_FLOOR: f64 = f64::EPSILON;

fn check_lengths(labels: usize, predictions: usize) -> Result<()> {
    if labels != predictions {
        return Err(invalid_input(format!(
            "{labels} labels but {predictions} predictions"
        )));
    }
    if labels == 0 {
        return Err(invalid_input("no example to evaluate".to_owned()));
    }
    Ok(())
}

/// Regression metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// How many examples.
    pub count: u64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, 1 − SS_res / SS_tot (for constant labels: 1 when the
    /// predictions are exact, else 0, as scikit-learn reports it).
    pub r2: f64,
}

impl RegressionMetrics {
    /// The value of `metric`, if it is a regression metric.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Rmse => Some(self.rmse),
            Metric::Mse => Some(self.mse),
            Metric::Mae => Some(self.mae),
            Metric::R2 => Some(self.r2),
            _ => None,
        }
    }
}

/// Regression metrics of `predictions` against `labels`.
pub fn regression_metrics(labels: &[f64], predictions: &[f64]) -> Result<RegressionMetrics> {
    check_lengths(labels.len(), predictions.len())?;
    let count = labels.len() as f64;
    let (mut squared, mut absolute) = (0.0, 0.0);
    for (label, prediction) in labels.iter().zip(predictions) {
        let error = label - prediction;
        squared += error * error;
        absolute += error.abs();
    }
    let mean = labels.iter().sum::<f64>() / count;
    let total: f64 = labels
        .iter()
        .map(|label| (label - mean) * (label - mean))
        .sum();
    let r2 = if total == 0.0 {
        if squared == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - squared / total
    };
    let mse = squared / count;
    Ok(RegressionMetrics {
        count: labels.len() as u64,
        rmse: mse.sqrt(),
        mse,
        mae: absolute / count,
        r2,
    })
}

/// Binary classification metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    /// How many examples.
    pub count: u64,
    /// Share of correct predictions at the threshold.
    pub accuracy: f64,
    /// TP / (TP + FP), 0 when nothing is predicted positive.
    pub precision: f64,
    /// TP / (TP + FN), 0 when there is no positive.
    pub recall: f64,
    /// 2 TP / (2 TP + FP + FN), 0 when there are neither.
    pub f1: f64,
    /// The area under the ROC curve of the probabilities (ties count half), when both classes occur.
    pub roc_auc: Option<f64>,
    /// Mean cross-entropy of the probabilities.
    pub log_loss: f64,
}

impl BinaryMetrics {
    /// The value of `metric`, if it is a classification metric available here.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Accuracy => Some(self.accuracy),
            Metric::Precision => Some(self.precision),
            Metric::Recall => Some(self.recall),
            Metric::F1 => Some(self.f1),
            Metric::RocAuc => self.roc_auc,
            Metric::LogLoss => Some(self.log_loss),
            _ => None,
        }
    }
}

/// Binary metrics of `probabilities` (of the positive class) against `labels`; a probability at
/// or above `threshold` predicts positive.
pub fn binary_metrics(
    labels: &[bool],
    probabilities: &[f64],
    threshold: f64,
) -> Result<BinaryMetrics> {
    check_lengths(labels.len(), probabilities.len())?;
    if let Some(bad) = probabilities.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(invalid_input(format!(
            "probability {bad} is outside [0, 1]"
        )));
    }
    let (mut true_positive, mut false_positive, mut false_negative, mut correct) =
        (0u64, 0u64, 0u64, 0u64);
    let mut cross_entropy = 0.0;
    for (&label, &probability) in labels.iter().zip(probabilities) {
        let predicted = probability >= threshold;
        correct += u64::from(predicted == label);
        true_positive += u64::from(predicted && label);
        false_positive += u64::from(predicted && !label);
        false_negative += u64::from(!predicted && label);
        let clipped = probability.clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR);
        cross_entropy -= if label {
            clipped.ln()
        } else {
            (1.0 - clipped).ln()
        };
    }
    let ratio = |numerator: u64, denominator: u64| {
        if denominator == 0 {
            0.0
        } else {
            numerator as f64 / denominator as f64
        }
    };
    let count = labels.len() as f64;
    Ok(BinaryMetrics {
        count: labels.len() as u64,
        accuracy: correct as f64 / count,
        precision: ratio(true_positive, true_positive + false_positive),
        recall: ratio(true_positive, true_positive + false_negative),
        f1: ratio(
            2 * true_positive,
            2 * true_positive + false_positive + false_negative,
        ),
        roc_auc: roc_auc(labels, probabilities),
        log_loss: cross_entropy / count,
    })
}

/// The area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting half (the Mann–Whitney statistic with mid-ranks).
fn roc_auc(labels: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|&&label| label).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..end (1-based start+1..=end) share their mean.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += mid_rank * tied_positives as f64;
        start = end;
    }
    let positives = positives as f64;
    Some((positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives as f64))
}

/// Classification metrics over several classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassMetrics {
    /// How many examples.
    pub count: u64,
    /// Share of examples whose most probable class is their label.
    pub accuracy: f64,
    /// Precision per class averaged over the classes (macro), 0 for a class never predicted.
    pub precision: f64,
    /// Recall per class averaged over the classes (macro).
    pub recall: f64,
    /// F1 per class averaged over the classes (macro).
    pub f1: f64,
    /// Precision per class averaged with the classes' supports as weights.
    #[serde(default)]
    pub weighted_precision: f64,
    /// Recall per class averaged with the classes' supports as weights.
    #[serde(default)]
    pub weighted_recall: f64,
    /// F1 per class averaged with the classes' supports as weights.
    #[serde(default)]
    pub weighted_f1: f64,
    /// Mean cross-entropy of the probabilities (rows normalised to sum to 1).
    pub log_loss: f64,
    /// Precision, recall, F1 and support of every class, in class-index order.
    #[serde(default)]
    pub per_class: Vec<ClassMetrics>,
    /// `confusion_matrix[label][predicted]`: how many examples of class `label` were predicted
    /// as class `predicted` (scikit-learn's orientation: rows true, columns predicted).
    #[serde(default)]
    pub confusion_matrix: Vec<Vec<u64>>,
}

/// The metrics of one class against all others.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// TP / (TP + FP), 0 when the class is never predicted.
    pub precision: f64,
    /// TP / (TP + FN), 0 when the class never occurs.
    pub recall: f64,
    /// 2 TP / (2 TP + FP + FN), 0 when there are neither.
    pub f1: f64,
    /// How many examples have this class as their label.
    pub support: u64,
}

impl MulticlassMetrics {
    /// The value of `metric`, if it is a classification metric available here.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Accuracy => Some(self.accuracy),
            Metric::Precision | Metric::MacroPrecision => Some(self.precision),
            Metric::Recall | Metric::MacroRecall => Some(self.recall),
            Metric::F1 | Metric::MacroF1 => Some(self.f1),
            Metric::WeightedPrecision => Some(self.weighted_precision),
            Metric::WeightedRecall => Some(self.weighted_recall),
            Metric::WeightedF1 => Some(self.weighted_f1),
            Metric::LogLoss => Some(self.log_loss),
            _ => None,
        }
    }
}

/// Metrics of `probabilities` (one row of `classes` probabilities per example) against `labels`
/// (class indices). The predicted class is the most probable (the first on ties). Macro averages
/// run over the classes that occur in the labels or the predictions, as scikit-learn's do.
pub fn multiclass_metrics(
    labels: &[usize],
    probabilities: &[f64],
    classes: usize,
) -> Result<MulticlassMetrics> {
    if classes < 2 || probabilities.len() != labels.len() * classes {
        return Err(invalid_input(format!(
            "{} probabilities for {} examples of {classes} classes",
            probabilities.len(),
            labels.len()
        )));
    }
    check_lengths(labels.len(), probabilities.len() / classes)?;
    if let Some(bad) = labels.iter().find(|&&label| label >= classes) {
        return Err(invalid_input(format!(
            "label {bad} is not one of {classes} classes"
        )));
    }
    let mut confusion_matrix = vec![vec![0u64; classes]; classes];
    let mut cross_entropy = 0.0;
    for (row, &label) in probabilities.chunks_exact(classes).zip(labels) {
        let predicted = row.iter().enumerate().fold(
            0,
            |best, (class, &p)| if p > row[best] { class } else { best },
        );
        confusion_matrix[label][predicted] += 1;
        let clipped: Vec<f64> = row
            .iter()
            .map(|p| p.clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR))
            .collect();
        let total: f64 = clipped.iter().sum();
        cross_entropy -= (clipped[label] / total).ln();
    }
    let ratio = |numerator: u64, denominator: u64| {
        if denominator == 0 {
            0.0
        } else {
            numerator as f64 / denominator as f64
        }
    };
    let per_class: Vec<ClassMetrics> = (0..classes)
        .map(|class| {
            let true_positive = confusion_matrix[class][class];
            let support: u64 = confusion_matrix[class].iter().sum();
            let predicted: u64 = confusion_matrix.iter().map(|row| row[class]).sum();
            ClassMetrics {
                precision: ratio(true_positive, predicted),
                recall: ratio(true_positive, support),
                f1: ratio(2 * true_positive, predicted + support),
                support,
            }
        })
        .collect();
    // scikit-learn's macro averages run over the classes in the labels or the predictions.
    let present: Vec<usize> = (0..classes)
        .filter(|&class| {
            per_class[class].support > 0 || confusion_matrix.iter().any(|row| row[class] > 0)
        })
        .collect();
    let macro_average = |of: fn(&ClassMetrics) -> f64| {
        present
            .iter()
            .map(|&class| of(&per_class[class]))
            .sum::<f64>()
            / present.len() as f64
    };
    let count = labels.len() as f64;
    let weighted_average = |of: fn(&ClassMetrics) -> f64| {
        per_class
            .iter()
            .map(|class| of(class) * class.support as f64)
            .sum::<f64>()
            / count
    };
    let correct: u64 = (0..classes)
        .map(|class| confusion_matrix[class][class])
        .sum();
    Ok(MulticlassMetrics {
        count: labels.len() as u64,
        accuracy: correct as f64 / count,
        precision: macro_average(|class| class.precision),
        recall: macro_average(|class| class.recall),
        f1: macro_average(|class| class.f1),
        weighted_precision: weighted_average(|class| class.precision),
        weighted_recall: weighted_average(|class| class.recall),
        weighted_f1: weighted_average(|class| class.f1),
        log_loss: cross_entropy / count,
        per_class,
        confusion_matrix,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn regression_by_hand() {
        let metrics = regression_metrics(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0]).unwrap();
        assert_eq!(metrics.mse, 4.0 / 3.0);
        assert_eq!(metrics.mae, 2.0 / 3.0);
        assert_eq!(metrics.r2, 1.0 - 4.0 / 2.0);
        assert!(regression_metrics(&[1.0], &[]).is_err());
        assert_eq!(
            regression_metrics(&[2.0, 2.0], &[2.0, 2.0]).unwrap().r2,
            1.0
        );
    }

    #[test]
    fn auc_counts_ties_half() {
        let labels = [false, true, false, true];
        assert_eq!(roc_auc(&labels, &[0.1, 0.9, 0.2, 0.8]), Some(1.0));
        assert_eq!(roc_auc(&labels, &[0.5, 0.5, 0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
        let metrics = binary_metrics(&labels, &[0.1, 0.9, 0.6, 0.4], 0.5).unwrap();
        assert_eq!(
            (metrics.precision, metrics.recall, metrics.accuracy),
            (0.5, 0.5, 0.5)
        );
        assert!(binary_metrics(&labels, &[0.1, 1.5, 0.6, 0.4], 0.5).is_err());
    }

    #[test]
    fn lower_is_better_for_errors_and_losses() {
        assert!(!Metric::Rmse.higher_is_better());
        assert!(!Metric::LogLoss.higher_is_better());
        assert!(Metric::RocAuc.higher_is_better());
    }
}
