//! A classifier's answer for a batch of rows: the probability of every class per row, and the
//! predicted class that follows from it.
//!
//! ```
//! use millrace_components::model::ClassPredictions;
//!
//! let answer = ClassPredictions {
//!     classes: vec!["Adelie".into(), "Gentoo".into()],
//!     probabilities: vec![Some(vec![0.2, 0.8]), None],
//! };
//! assert_eq!(answer.predicted_class(0), Some("Gentoo"));
//! assert_eq!(answer.predicted_class(1), None); // a row with a missing feature
//! ```

use serde::{Deserialize, Serialize};

/// A classifier's predictions for a batch of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassPredictions {
    /// The model's classes, in the order of every row's probabilities.
    pub classes: Vec<String>,
    /// Per row, the probability of every class; `None` where a feature has no value.
    pub probabilities: Vec<Option<Vec<f64>>>,
}

impl ClassPredictions {
    /// The index of the most probable class of `row` (the first on ties), `None` for a row
    /// without a prediction.
    pub fn predicted_index(&self, row: usize) -> Option<usize> {
        self.probabilities
            .get(row)?
            .as_ref()
            .map(|p| most_probable(p))
    }

    /// The most probable class of `row` (the first on ties), `None` for a row without a
    /// prediction.
    pub fn predicted_class(&self, row: usize) -> Option<&str> {
        self.predicted_index(row)
            .and_then(|class| self.classes.get(class))
            .map(String::as_str)
    }

    /// How many rows got a prediction.
    pub fn answered(&self) -> usize {
        self.probabilities.iter().flatten().count()
    }
}

/// The index of the largest of `probabilities`, the first on ties (as the metrics count it).
pub fn most_probable(probabilities: &[f64]) -> usize {
    probabilities.iter().enumerate().fold(
        0,
        |best, (class, &p)| {
            if p > probabilities[best] { class } else { best }
        },
    )
}
