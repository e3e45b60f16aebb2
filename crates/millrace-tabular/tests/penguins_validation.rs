//! The schema inferred from the clean penguins file flags the skewed file, naming the feature
//! and the offending value; the clean file yields no anomaly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::path::{Path, PathBuf};

use millrace_tabular::csv::CsvOptions;
use millrace_tabular::schema::{Comparator, Domain, InferenceOptions, infer_schema};
use millrace_tabular::statistics::{DatasetStatistics, StatisticsOptions, csv_statistics};
use millrace_tabular::validation::{AnomalyKind, validate};

fn penguins(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data/penguins")
        .join(name)
}

fn statistics_of(name: &str, split: &str) -> DatasetStatistics {
    let split = csv_statistics(
        &penguins(name),
        &CsvOptions::default(),
        split,
        &StatisticsOptions::default(),
        2,
    )
    .expect("profiles");
    DatasetStatistics {
        span: None,
        splits: vec![split],
    }
}

#[test]
fn the_skewed_file_is_flagged_against_the_clean_schema() {
    let clean = statistics_of("penguins_processed.csv", "train");
    let schema = infer_schema(&clean, &InferenceOptions::default());
    let culmen = schema.feature("culmen_length_mm").expect("feature");
    assert_eq!(
        culmen.domain,
        Some(Domain::Range {
            min: Some(0.0),
            max: Some(1.0)
        })
    );
    assert!(culmen.presence.is_required());

    assert!(
        validate(&clean, &schema, None).is_empty(),
        "the clean file has no anomaly"
    );

    let skewed = statistics_of("penguins_skewed.csv", "train");
    let anomalies = validate(&skewed, &schema, None);
    assert_eq!(
        anomalies.features(),
        vec!["culmen_length_mm"],
        "{anomalies:#?}"
    );
    let anomaly = &anomalies.anomalies[0];
    assert_eq!(anomaly.kind, AnomalyKind::OutOfRange);
    assert_eq!(anomaly.examples, vec!["-1".to_owned()]);
    assert!(
        anomaly.description.contains("below the minimum 0"),
        "{}",
        anomaly.description
    );
}

#[test]
fn drift_and_skew_comparators_measure_distributions() {
    let clean = statistics_of("penguins_processed.csv", "train");
    let options = InferenceOptions {
        drift_threshold: Some(0.01),
        skew_threshold: Some(0.01),
        ..InferenceOptions::default()
    };
    let schema = infer_schema(&clean, &options);
    assert!(matches!(
        schema.feature("body_mass_g").and_then(|f| f.drift_comparator),
        Some(Comparator::JensenShannonDivergence { threshold }) if threshold == 0.01
    ));
    // The same data as the previous span: no drift.
    assert!(validate(&clean, &schema, Some(&clean)).is_empty());
    // A shifted span drifts on every feature that moved.
    let mut shifted = clean.clone();
    for feature in &mut shifted.splits[0].features {
        if feature.name == "body_mass_g" {
            let numeric = feature.numeric.as_mut().expect("numeric");
            for q in &mut numeric.quantiles {
                *q += 0.3;
            }
        }
    }
    let mut lenient = schema;
    for feature in &mut lenient.features {
        feature.domain = None;
    }
    let anomalies = validate(&shifted, &lenient, Some(&clean));
    assert_eq!(anomalies.features(), vec!["body_mass_g"], "{anomalies:#?}");
    assert_eq!(anomalies.anomalies[0].kind, AnomalyKind::Drift);
    assert!(anomalies.anomalies[0].distance.expect("distance") > 0.1);
    // Skew: an eval split unlike train.
    let mut two_splits = clean;
    let mut eval = shifted.splits[0].clone();
    eval.name = "eval".to_owned();
    two_splits.splits.push(eval);
    let anomalies = validate(&two_splits, &lenient, None);
    assert_eq!(anomalies.features(), vec!["body_mass_g"]);
    assert_eq!(
        (
            anomalies.anomalies[0].kind,
            anomalies.anomalies[0].split.as_str()
        ),
        (AnomalyKind::Skew, "eval")
    );
}
