//! The Rust-native classifiers on the Palmer penguins: three species as text labels, fitted on
//! four fifths of the birds and scored on the rest; probabilities per class, the labels back as
//! text, and the model surviving a round trip through its file format.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use millrace_components::model::metrics::multiclass_metrics;
use millrace_components::model::{ClassifierAlgorithm, Features, NativeClassifier};

/// The species codes of the processed penguins (as the TFX penguin example names them).
const SPECIES: [&str; 3] = ["Adelie", "Chinstrap", "Gentoo"];

/// Features and species of the processed penguins: (train, eval), every fifth bird to eval.
fn penguins() -> ((Features, Vec<String>), (Features, Vec<String>)) {
    let text =
        std::fs::read_to_string(common::example_data("penguins/penguins_processed.csv")).unwrap();
    let mut splits = [(Vec::new(), Vec::new(), 0), (Vec::new(), Vec::new(), 0)];
    for (i, line) in text.lines().skip(1).enumerate() {
        let mut cells = line.split(',');
        let species: usize = cells.next().unwrap().parse().unwrap();
        let split = &mut splits[usize::from(i % 5 == 0)];
        split
            .0
            .extend(cells.map(|cell| cell.parse::<f64>().unwrap()));
        split.1.push(SPECIES[species].to_owned());
        split.2 += 1;
    }
    let [train, eval] = splits.map(|(values, labels, rows)| {
        (
            Features {
                rows,
                columns: 4,
                values,
            },
            labels,
        )
    });
    (train, eval)
}

#[test]
fn penguin_species_are_told_apart_with_probabilities() {
    let ((train, train_labels), (eval, eval_labels)) = penguins();
    assert_eq!(train.rows + eval.rows, 334);
    for algorithm in [
        ClassifierAlgorithm::LogisticRegression,
        ClassifierAlgorithm::DecisionTree {
            max_depth: Some(5.into()),
        },
        ClassifierAlgorithm::RandomForest {
            trees: 50.into(),
            max_depth: None,
            seed: 7,
        },
    ] {
        let model = NativeClassifier::fit(&algorithm, &train, &train_labels).unwrap();
        assert_eq!(model.classes(), SPECIES);
        let probabilities = model.predict_probabilities(&eval).unwrap();
        assert_eq!(probabilities.len(), eval.rows * 3);
        for row in probabilities.chunks(3) {
            let total: f64 = row.iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{algorithm:?}: {row:?}");
            assert!(row.iter().all(|p| (0.0..=1.0).contains(p)));
        }
        let predicted = model.predict(&eval).unwrap();
        let truth: Vec<usize> = model
            .class_indices(&eval_labels)
            .into_iter()
            .map(Option::unwrap)
            .collect();
        let metrics = multiclass_metrics(&truth, &probabilities, 3).unwrap();
        let correct = predicted
            .iter()
            .zip(&eval_labels)
            .filter(|(p, y)| p == y)
            .count();
        // The labels come back as text and agree with the probabilities' argmax.
        assert_eq!(correct as f64 / eval.rows as f64, metrics.accuracy);
        eprintln!(
            "{}: eval accuracy {:.4}, macro f1 {:.4}, log loss {:.4}, confusion {:?}",
            algorithm.name(),
            metrics.accuracy,
            metrics.f1,
            metrics.log_loss,
            metrics.confusion_matrix
        );
        assert!(metrics.accuracy > 0.9, "{algorithm:?}: {metrics:?}");

        let saved = serde_json::to_string(&model).unwrap();
        let loaded: NativeClassifier = serde_json::from_str(&saved).unwrap();
        // serde_json's shortest float text may differ from the fitted weights in the last bit.
        for (again, first) in loaded
            .predict_probabilities(&eval)
            .unwrap()
            .iter()
            .zip(&probabilities)
        {
            assert!((again - first).abs() <= 1e-12, "{again} vs {first}");
        }
        assert_eq!(loaded.classes(), SPECIES);

        // Other feature counts than the model's: errors, not panics.
        let narrow = Features {
            rows: 1,
            columns: 3,
            values: vec![0.5; 3],
        };
        assert!(model.predict_probabilities(&narrow).is_err());
    }
}

#[test]
fn a_tree_reports_its_leaves_class_frequencies() {
    // One feature that cannot separate the first three rows: their leaf holds two "a" and one "b".
    let features = Features {
        rows: 6,
        columns: 1,
        values: vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    };
    let labels: Vec<String> = ["a", "a", "b", "c", "c", "c"].map(String::from).to_vec();
    let tree = ClassifierAlgorithm::DecisionTree { max_depth: None };
    let model = NativeClassifier::fit(&tree, &features, &labels).unwrap();
    let probabilities = model.predict_probabilities(&features).unwrap();
    let mixed = &probabilities[..3];
    assert!((mixed[0] - 2.0 / 3.0).abs() < 1e-12, "{mixed:?}");
    assert!((mixed[1] - 1.0 / 3.0).abs() < 1e-12, "{mixed:?}");
    assert_eq!(&probabilities[3 * 3..4 * 3], [0.0, 0.0, 1.0]);
    assert_eq!(
        model.predict(&features).unwrap(),
        ["a", "a", "a", "c", "c", "c"]
    );
    // One class is no classification.
    let same = vec!["a".to_owned(); 6];
    assert!(NativeClassifier::fit(&tree, &features, &same).is_err());
}
