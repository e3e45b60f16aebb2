//! Inferring a schema from statistics.

use serde::{Deserialize, Serialize};

use super::model::{Comparator, Domain, FeatureSchema, Presence, Schema, ValueCount};
use crate::FeatureType;
use crate::statistics::{DatasetStatistics, FeatureStatistics};

/// How a schema is inferred.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InferenceOptions {
    /// A string feature with at most this many distinct values (all of them known) gets a domain
    /// of values.
    pub max_categories: u64,
    /// Whether numeric features get the observed range as their domain.
    pub numeric_ranges: bool,
    /// When set, every feature gets a drift comparator with this threshold.
    pub drift_threshold: Option<f64>,
    /// When set, every feature gets a skew comparator with this threshold.
    pub skew_threshold: Option<f64>,
}

impl Default for InferenceOptions {
    fn default() -> Self {
        InferenceOptions {
            max_categories: 50,
            numeric_ranges: true,
            drift_threshold: None,
            skew_threshold: None,
        }
    }
}

/// The schema the statistics suggest: every feature seen in any split, with the widest type,
/// the lowest presence, the union of values and the overall range.
pub fn infer_schema(statistics: &DatasetStatistics, options: &InferenceOptions) -> Schema {
    let mut names: Vec<&str> = Vec::new();
    for split in &statistics.splits {
        for feature in &split.features {
            if !names.contains(&feature.name.as_str()) {
                names.push(&feature.name);
            }
        }
    }
    let features = names
        .into_iter()
        .map(|name| {
            let observed: Vec<&FeatureStatistics> = statistics
                .splits
                .iter()
                .filter_map(|split| split.feature(name))
                .collect();
            infer_feature(name, &observed, options)
        })
        .collect();
    Schema { features }
}

fn infer_feature(
    name: &str,
    observed: &[&FeatureStatistics],
    options: &InferenceOptions,
) -> FeatureSchema {
    let feature_type = observed
        .iter()
        .map(|feature| feature.feature_type)
        .reduce(FeatureType::widen)
        .unwrap_or(FeatureType::String);
    let presence = observed
        .iter()
        .map(|feature| feature.presence())
        .fold(1.0_f64, f64::min);
    let presence = if presence >= 1.0 {
        Presence {
            min_fraction: 1.0,
            min_count: 1,
        }
    } else {
        // Rounded down to a tenth, so that normal variation between spans is not an anomaly; a
        // rarely present feature (under a tenth) may be absent from a whole split.
        let min_fraction = (presence * 10.0).floor() / 10.0;
        Presence {
            min_fraction,
            min_count: u64::from(min_fraction > 0.0),
        }
    };
    let domain = if feature_type == FeatureType::String {
        categorical_domain(observed, options.max_categories)
    } else if options.numeric_ranges {
        let numeric = observed
            .iter()
            .filter_map(|feature| feature.numeric.as_ref());
        let (min, max) = numeric.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), n| {
            (lo.min(n.min), hi.max(n.max))
        });
        // An infinite bound bounds nothing (and JSON has no number for it).
        (min <= max).then_some(Domain::Range {
            min: Some(min).filter(|min| min.is_finite()),
            max: Some(max).filter(|max| max.is_finite()),
        })
    } else {
        None
    };
    let comparator = |threshold: Option<f64>| {
        threshold.map(|threshold| {
            if feature_type == FeatureType::String {
                Comparator::InfinityNorm { threshold }
            } else {
                Comparator::JensenShannonDivergence { threshold }
            }
        })
    };
    FeatureSchema {
        name: name.to_owned(),
        feature_type,
        presence,
        value_count: ValueCount { min: 1, max: 1 },
        domain,
        drift_comparator: comparator(options.drift_threshold),
        skew_comparator: comparator(options.skew_threshold),
    }
}

/// The values of a string feature, when every split knows all of them and there are few.
fn categorical_domain(observed: &[&FeatureStatistics], max_categories: u64) -> Option<Domain> {
    let mut values: Vec<String> = Vec::new();
    for feature in observed {
        let strings = feature.string.as_ref()?;
        let complete = strings.exact && strings.unique as usize <= strings.top_values.len();
        if !complete {
            return None;
        }
        for value in &strings.top_values {
            if !values.contains(&value.value) {
                values.push(value.value.clone());
            }
        }
    }
    if values.is_empty() || values.len() as u64 > max_categories {
        return None;
    }
    values.sort();
    Some(Domain::Values(values))
}
