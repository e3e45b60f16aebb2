//! The evaluator's metrics equal scikit-learn's on the same predictions, to 1e-9 relative
//! (`tools/python/sklearn_metrics.py`, run in the venv `cargo xtask test` sets up).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.
#![allow(clippy::print_stderr)] // A skipped suite says why.

mod common;

use std::path::Path;
use std::process::Command;

use millrace_components::model::metrics::{binary_metrics, multiclass_metrics, regression_metrics};
use serde_json::{Value, json};

/// A reproducible stream of numbers in [0, 1).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn close(ours: f64, theirs: &Value, what: &str) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no reference"));
    let scale = theirs.abs().max(1e-300);
    assert!(
        ours == theirs || (ours - theirs).abs() / scale <= 1e-9,
        "{what}: ours {ours}, scikit-learn {theirs}"
    );
}

#[test]
fn metrics_equal_scikit_learn() {
    let Some(python) = common::python("scikit-learn metrics") else {
        return;
    };
    let mut numbers = Numbers(7);
    let n = 2_000;
    let labels: Vec<f64> = (0..n).map(|_| numbers.next() * 50.0).collect();
    let predictions: Vec<f64> = labels
        .iter()
        .map(|y| y + (numbers.next() - 0.5) * 8.0)
        .collect();
    let binary_labels: Vec<bool> = (0..n).map(|_| numbers.next() < 0.3).collect();
    // Scores informative but imperfect, with ties (rounded) and extremes (0 and 1) for log loss.
    let probabilities: Vec<f64> = binary_labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            if i % 97 == 0 {
                f64::from(u8::from(y))
            } else {
                let p: f64 = 0.35 * f64::from(u8::from(y)) + 0.65 * numbers.next();
                (p * 100.0).round() / 100.0
            }
        })
        .collect();
    let classes = 3;
    let class_labels: Vec<usize> = (0..n).map(|_| (numbers.next() * 3.0) as usize).collect();
    let class_probabilities: Vec<f64> = class_labels
        .iter()
        .flat_map(|&label| {
            let mut row: Vec<f64> = (0..classes).map(|_| numbers.next()).collect();
            row[label] += 0.4;
            let total: f64 = row.iter().sum();
            row.into_iter().map(move |p| p / total)
        })
        .collect();
    // Vote shares of a ten-tree forest over four classes: zeros (log loss clips them), ties,
    // and a class 3 that is predicted but never a label (macro averages cover it, weighted
    // averages give it no weight).
    let votes = 4;
    let vote_labels: Vec<usize> = (0..n).map(|_| (numbers.next() * 3.0) as usize).collect();
    let vote_shares: Vec<f64> = vote_labels
        .iter()
        .flat_map(|&label| {
            let mut row = vec![0.0; votes];
            for _ in 0..10 {
                let class = if numbers.next() < 0.6 {
                    label
                } else {
                    (numbers.next() * 4.0) as usize
                };
                row[class] += 0.1;
            }
            row
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.json");
    std::fs::write(
        &cases,
        serde_json::to_vec(&json!({
            "regression": {"labels": labels, "predictions": predictions},
            "binary": {"labels": binary_labels.iter().map(|&y| u8::from(y)).collect::<Vec<_>>(),
                       "probabilities": probabilities, "threshold": 0.5},
            "multiclass": {"labels": class_labels,
                           "probabilities": class_probabilities.chunks(classes).collect::<Vec<_>>()},
            "multiclass_votes": {"labels": vote_labels,
                                 "probabilities": vote_shares.chunks(votes).collect::<Vec<_>>()},
        }))
        .unwrap(),
    )
    .unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/python/sklearn_metrics.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&cases)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference: Value = serde_json::from_slice(&output.stdout).unwrap();

    let regression = regression_metrics(&labels, &predictions).unwrap();
    let expected = &reference["regression"];
    close(regression.mse, &expected["mse"], "mse");
    close(regression.rmse, &expected["rmse"], "rmse");
    close(regression.mae, &expected["mae"], "mae");
    close(regression.r2, &expected["r2"], "r2");

    let binary = binary_metrics(&binary_labels, &probabilities, 0.5).unwrap();
    let expected = &reference["binary"];
    close(binary.accuracy, &expected["accuracy"], "accuracy");
    close(binary.precision, &expected["precision"], "precision");
    close(binary.recall, &expected["recall"], "recall");
    close(binary.f1, &expected["f1"], "f1");
    close(binary.roc_auc.unwrap(), &expected["roc_auc"], "roc_auc");
    close(binary.log_loss, &expected["log_loss"], "log_loss");

    for (case, labels, probabilities, classes) in [
        ("multiclass", &class_labels, &class_probabilities, classes),
        ("multiclass_votes", &vote_labels, &vote_shares, votes),
    ] {
        let ours = multiclass_metrics(labels, probabilities, classes).unwrap();
        let expected = &reference[case];
        let figures = [
            ("accuracy", ours.accuracy),
            ("precision", ours.precision),
            ("recall", ours.recall),
            ("f1", ours.f1),
            ("weighted_precision", ours.weighted_precision),
            ("weighted_recall", ours.weighted_recall),
            ("weighted_f1", ours.weighted_f1),
            ("log_loss", ours.log_loss),
        ];
        for (name, value) in figures {
            close(value, &expected[name], &format!("{case} {name}"));
        }
        for (class, metrics) in ours.per_class.iter().enumerate() {
            let theirs = &expected["per_class"];
            close(
                metrics.precision,
                &theirs["precision"][class],
                &format!("{case} precision of class {class}"),
            );
            close(
                metrics.recall,
                &theirs["recall"][class],
                &format!("{case} recall of class {class}"),
            );
            close(
                metrics.f1,
                &theirs["f1"][class],
                &format!("{case} f1 of class {class}"),
            );
            assert_eq!(
                Some(metrics.support),
                theirs["support"][class].as_u64(),
                "{case} support of class {class}"
            );
        }
        let theirs: Vec<Vec<u64>> =
            serde_json::from_value(expected["confusion_matrix"].clone()).unwrap();
        assert_eq!(ours.confusion_matrix, theirs, "{case} confusion matrix");
    }
}
