//! Checking statistics against a schema: the anomalies of one set of examples, and the drift
//! and skew between distributions.

use super::distance::{infinity_norm, jensen_shannon};
use super::model::{Anomalies, Anomaly, AnomalyKind};
use crate::FeatureType;
use crate::schema::{Comparator, Domain, FeatureSchema, Schema};
use crate::statistics::{DatasetStatistics, FeatureStatistics, SplitStatistics};

/// How many offending values an anomaly shows.
const EXAMPLES_SHOWN: usize = 5;

/// The anomalies of `statistics` against `schema`: columns, types, presence, domains and ranges
/// per split; skew between the train split and each other split; drift of each split against the
/// same split of `previous` (the statistics of the previous span), when given.
pub fn validate(
    statistics: &DatasetStatistics,
    schema: &Schema,
    previous: Option<&DatasetStatistics>,
) -> Anomalies {
    let mut anomalies = Vec::new();
    for split in &statistics.splits {
        check_split(split, schema, &mut anomalies);
    }
    let train = statistics.split("train");
    for split in &statistics.splits {
        if let Some(train) = train.filter(|train| train.name != split.name) {
            compare(split, train, schema, AnomalyKind::Skew, &mut anomalies);
        }
        if let Some(before) = previous.and_then(|previous| previous.split(&split.name)) {
            compare(split, before, schema, AnomalyKind::Drift, &mut anomalies);
        }
    }
    Anomalies { anomalies }
}

fn check_split(split: &SplitStatistics, schema: &Schema, anomalies: &mut Vec<Anomaly>) {
    let mut found =
        |feature: &str, kind: AnomalyKind, description: String, examples: Vec<String>| {
            anomalies.push(Anomaly {
                split: split.name.clone(),
                feature: feature.to_owned(),
                kind,
                description,
                examples,
                distance: None,
                threshold: None,
            });
        };
    for expected in &schema.features {
        if split.feature(&expected.name).is_none() {
            found(
                &expected.name,
                AnomalyKind::MissingColumn,
                format!(
                    "the schema expects column `{}`; the data have none",
                    expected.name
                ),
                Vec::new(),
            );
        }
    }
    for feature in &split.features {
        let Some(expected) = schema.feature(&feature.name) else {
            found(
                &feature.name,
                AnomalyKind::UnexpectedColumn,
                format!("column `{}` is not in the schema", feature.name),
                Vec::new(),
            );
            continue;
        };
        // Integers are valid floats; any other difference is a mismatch.
        let compatible = feature.feature_type == expected.feature_type
            || feature.feature_type == FeatureType::Int
                && expected.feature_type == FeatureType::Float;
        if !compatible {
            let examples = feature
                .string
                .as_ref()
                .map(|s| {
                    s.top_values
                        .iter()
                        .take(EXAMPLES_SHOWN)
                        .map(|v| v.value.clone())
                        .collect()
                })
                .unwrap_or_default();
            found(
                &feature.name,
                AnomalyKind::TypeMismatch,
                format!(
                    "expected {} values, found {} values",
                    expected.feature_type, feature.feature_type
                ),
                examples,
            );
            continue;
        }
        check_presence(feature, expected, &mut found);
        match &expected.domain {
            Some(Domain::Values(values)) => check_values(feature, values, &mut found),
            Some(Domain::Range { min, max }) => check_range(feature, *min, *max, &mut found),
            None => {}
        }
    }
}

type Report<'a> = dyn FnMut(&str, AnomalyKind, String, Vec<String>) + 'a;

fn check_presence(feature: &FeatureStatistics, expected: &FeatureSchema, found: &mut Report<'_>) {
    let presence = feature.presence();
    let total = feature.count.saturating_add(feature.missing);
    if total > 0 && presence < expected.presence.min_fraction {
        found(
            &feature.name,
            AnomalyKind::PresenceViolation,
            format!(
                "present in {:.2}% of examples ({} of {}); the schema asks for at least {:.2}%",
                presence * 100.0,
                feature.count,
                total,
                expected.presence.min_fraction * 100.0
            ),
            Vec::new(),
        );
    } else if feature.count < expected.presence.min_count {
        found(
            &feature.name,
            AnomalyKind::PresenceViolation,
            format!(
                "present in {} examples; the schema asks for at least {}",
                feature.count, expected.presence.min_count
            ),
            Vec::new(),
        );
    }
}

fn check_values(feature: &FeatureStatistics, values: &[String], found: &mut Report<'_>) {
    let Some(strings) = &feature.string else {
        return;
    };
    let outside: Vec<(&str, u64)> = strings
        .top_values
        .iter()
        .filter(|entry| !values.contains(&entry.value))
        .map(|entry| (entry.value.as_str(), entry.count))
        .collect();
    // Values beyond the reported ones are unknown; more distinct values than the domain holds
    // means some are outside it.
    let unseen_outside =
        strings.unique > strings.top_values.len() as u64 && strings.unique > values.len() as u64;
    if outside.is_empty() && !unseen_outside {
        return;
    }
    let offending: u64 = outside.iter().map(|(_, count)| count).sum();
    let description = if outside.is_empty() {
        format!(
            "{} distinct values, more than the {} of the schema's domain",
            strings.unique,
            values.len()
        )
    } else {
        format!(
            "{} value(s) outside the schema's domain in {} examples ({:.2}%){}",
            outside.len(),
            offending,
            offending as f64 * 100.0 / feature.count.max(1) as f64,
            if unseen_outside {
                ", and maybe more"
            } else {
                ""
            }
        )
    };
    found(
        &feature.name,
        AnomalyKind::OutOfDomain,
        description,
        outside
            .iter()
            .take(EXAMPLES_SHOWN)
            .map(|(value, _)| (*value).to_owned())
            .collect(),
    );
}

fn check_range(
    feature: &FeatureStatistics,
    min: Option<f64>,
    max: Option<f64>,
    found: &mut Report<'_>,
) {
    let Some(numeric) = &feature.numeric else {
        return;
    };
    let steps = (numeric.quantiles.len().max(2) - 1) as f64;
    let mut problems = Vec::new();
    let mut examples = Vec::new();
    if let Some(min) = min.filter(|&min| numeric.min < min) {
        let below = numeric.quantiles.iter().filter(|&&q| q < min).count() as f64 / steps;
        problems.push(format!(
            "values as low as {} (about {:.1}% of examples) below the minimum {min}",
            numeric.min,
            below.min(1.0) * 100.0
        ));
        examples.push(numeric.min.to_string());
    }
    if let Some(max) = max.filter(|&max| numeric.max > max) {
        let above = numeric.quantiles.iter().filter(|&&q| q > max).count() as f64 / steps;
        problems.push(format!(
            "values as high as {} (about {:.1}% of examples) above the maximum {max}",
            numeric.max,
            above.min(1.0) * 100.0
        ));
        examples.push(numeric.max.to_string());
    }
    if !problems.is_empty() {
        found(
            &feature.name,
            AnomalyKind::OutOfRange,
            problems.join("; "),
            examples,
        );
    }
}

/// Compares each feature of `current` with the same feature of `reference` by the schema's
/// drift or skew comparator.
fn compare(
    current: &SplitStatistics,
    reference: &SplitStatistics,
    schema: &Schema,
    kind: AnomalyKind,
    anomalies: &mut Vec<Anomaly>,
) {
    for expected in &schema.features {
        let comparator = match kind {
            AnomalyKind::Drift => expected.drift_comparator,
            _ => expected.skew_comparator,
        };
        let Some(comparator) = comparator else {
            continue;
        };
        let (Some(now), Some(then)) = (
            current.feature(&expected.name),
            reference.feature(&expected.name),
        ) else {
            continue;
        };
        let (distance, threshold, measure) = match comparator {
            Comparator::InfinityNorm { threshold } => {
                let (Some(a), Some(b)) = (&now.string, &then.string) else {
                    continue;
                };
                (
                    infinity_norm(a, now.count, b, then.count),
                    threshold,
                    "L-infinity distance",
                )
            }
            Comparator::JensenShannonDivergence { threshold } => {
                let Some(divergence) = jensen_shannon(now, then) else {
                    continue;
                };
                (divergence, threshold, "Jensen–Shannon divergence")
            }
        };
        if distance > threshold {
            let against = match kind {
                AnomalyKind::Drift => format!("split `{}` of the previous span", reference.name),
                _ => format!("split `{}`", reference.name),
            };
            anomalies.push(Anomaly {
                split: current.name.clone(),
                feature: expected.name.clone(),
                kind,
                description: format!(
                    "{measure} {distance:.4} from {against} exceeds the threshold {threshold}"
                ),
                examples: Vec::new(),
                distance: Some(distance),
                threshold: Some(threshold),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::schema::{Presence, ValueCount as Counts};
    use crate::statistics::{StringStatistics, ValueCount};

    fn string_feature(
        name: &str,
        count: u64,
        missing: u64,
        values: &[(&str, u64)],
    ) -> FeatureStatistics {
        FeatureStatistics {
            name: name.to_owned(),
            feature_type: FeatureType::String,
            count,
            missing,
            numeric: None,
            string: Some(StringStatistics {
                unique: values.len() as u64,
                exact: true,
                top_values: values
                    .iter()
                    .map(|(value, count)| ValueCount {
                        value: (*value).to_owned(),
                        count: *count,
                    })
                    .collect(),
                avg_length: 4.0,
            }),
        }
    }

    fn expected(
        name: &str,
        feature_type: FeatureType,
        min_fraction: f64,
        domain: Option<Domain>,
    ) -> FeatureSchema {
        FeatureSchema {
            name: name.to_owned(),
            feature_type,
            presence: Presence {
                min_fraction,
                min_count: 1,
            },
            value_count: Counts { min: 1, max: 1 },
            domain,
            drift_comparator: None,
            skew_comparator: None,
        }
    }

    #[test]
    fn each_kind_of_schema_problem_is_reported_with_its_feature() {
        let schema = Schema {
            features: vec![
                expected(
                    "payment",
                    FeatureType::String,
                    1.0,
                    Some(Domain::Values(vec!["Cash".into(), "Card".into()])),
                ),
                expected("company", FeatureType::String, 0.9, None),
                expected("fare", FeatureType::Float, 1.0, None),
                expected("gone", FeatureType::Int, 1.0, None),
            ],
        };
        let split = SplitStatistics {
            name: "train".to_owned(),
            num_examples: 100,
            features: vec![
                string_feature(
                    "payment",
                    100,
                    0,
                    &[("Cash", 60), ("Card", 30), ("Bitcoin", 10)],
                ),
                string_feature("company", 50, 50, &[("A", 50)]),
                string_feature("fare", 100, 0, &[("12.50 USD", 100)]),
                string_feature("surprise", 100, 0, &[("x", 100)]),
            ],
        };
        let statistics = DatasetStatistics {
            span: None,
            splits: vec![split],
        };
        let found: Vec<(String, AnomalyKind)> = validate(&statistics, &schema, None)
            .anomalies
            .into_iter()
            .map(|anomaly| (anomaly.feature, anomaly.kind))
            .collect();
        assert_eq!(
            found,
            vec![
                ("gone".to_owned(), AnomalyKind::MissingColumn),
                ("payment".to_owned(), AnomalyKind::OutOfDomain),
                ("company".to_owned(), AnomalyKind::PresenceViolation),
                ("fare".to_owned(), AnomalyKind::TypeMismatch),
                ("surprise".to_owned(), AnomalyKind::UnexpectedColumn),
            ]
        );
        let anomalies = validate(&statistics, &schema, None);
        let domain = anomalies
            .anomalies
            .iter()
            .find(|a| a.kind == AnomalyKind::OutOfDomain)
            .unwrap();
        assert_eq!(domain.examples, vec!["Bitcoin".to_owned()]);
        assert!(
            domain.description.contains("in 10 examples (10.00%)"),
            "{}",
            domain.description
        );
        let presence = anomalies
            .anomalies
            .iter()
            .find(|a| a.kind == AnomalyKind::PresenceViolation)
            .unwrap();
        assert!(
            presence
                .description
                .contains("present in 50.00% of examples (50 of 100)"),
            "{}",
            presence.description
        );
    }
}
