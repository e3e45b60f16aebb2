//! Distances between two distributions of a feature, for drift and skew.
//!
//! Categorical features: the L-infinity distance between value frequencies (the largest
//! difference in any value's share). Numeric features: the Jensen–Shannon divergence (base 2, so
//! in [0, 1]) between the distributions the two quantile lists describe — each list read as a
//! piecewise-linear CDF, both evaluated on the union of their points.

use crate::statistics::{FeatureStatistics, StringStatistics};

/// The L-infinity distance between the value frequencies of two string features (values beyond
/// the reported most frequent ones count as unknown mass and are left out).
pub fn infinity_norm(
    a: &StringStatistics,
    a_count: u64,
    b: &StringStatistics,
    b_count: u64,
) -> f64 {
    let share = |strings: &StringStatistics, count: u64, value: &str| {
        if count == 0 {
            return 0.0;
        }
        strings
            .top_values
            .iter()
            .find(|entry| entry.value == value)
            .map_or(0.0, |entry| entry.count as f64 / count as f64)
    };
    a.top_values
        .iter()
        .chain(&b.top_values)
        .map(|entry| (share(a, a_count, &entry.value) - share(b, b_count, &entry.value)).abs())
        .fold(0.0, f64::max)
}

/// The share of values at or below `x` by a quantile list (equally spaced ranks from 0 to 1).
fn cdf(quantiles: &[f64], x: f64) -> f64 {
    let steps = (quantiles.len() - 1) as f64;
    // The last point at or below x.
    let below = quantiles.partition_point(|&q| q <= x);
    if below == 0 {
        return 0.0;
    }
    if below == quantiles.len() {
        return 1.0;
    }
    let (low, high) = (quantiles[below - 1], quantiles[below]);
    let rank = (below - 1) as f64 / steps;
    rank + (x - low) / (high - low) / steps
}

/// The Jensen–Shannon divergence (base 2) between two numeric features' distributions.
pub fn jensen_shannon(a: &FeatureStatistics, b: &FeatureStatistics) -> Option<f64> {
    let (a, b) = (a.numeric.as_ref()?, b.numeric.as_ref()?);
    if a.quantiles.len() < 2 || b.quantiles.len() < 2 {
        return None;
    }
    let mut points: Vec<f64> = a.quantiles.iter().chain(&b.quantiles).copied().collect();
    points.sort_by(f64::total_cmp);
    points.dedup();
    let mut divergence = 0.0;
    let mut previous = (0.0, 0.0);
    for &point in &points {
        let current = (cdf(&a.quantiles, point), cdf(&b.quantiles, point));
        let (p, q) = (current.0 - previous.0, current.1 - previous.1);
        let m = (p + q) / 2.0;
        if p > 0.0 {
            divergence += 0.5 * p * (p / m).log2();
        }
        if q > 0.0 {
            divergence += 0.5 * q * (q / m).log2();
        }
        previous = current;
    }
    Some(divergence.clamp(0.0, 1.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::FeatureType;
    use crate::statistics::{NumericStatistics, ValueCount};

    fn numeric(quantiles: Vec<f64>) -> FeatureStatistics {
        FeatureStatistics {
            name: "x".into(),
            feature_type: FeatureType::Float,
            count: 100,
            missing: 0,
            numeric: Some(NumericStatistics {
                mean: 0.0,
                std_dev: 0.0,
                min: quantiles[0],
                max: *quantiles.last().unwrap(),
                median: 0.0,
                zeros: 0,
                nan: 0,
                quantiles,
                rank_error: 0.0,
                histogram: vec![],
                quantile_histogram: vec![],
            }),
            string: None,
        }
    }

    #[test]
    fn identical_distributions_are_at_distance_zero_and_disjoint_ones_at_one() {
        let uniform: Vec<f64> = (0..=100).map(|i| f64::from(i) / 100.0).collect();
        let shifted: Vec<f64> = uniform.iter().map(|x| x + 5.0).collect();
        let same = jensen_shannon(&numeric(uniform.clone()), &numeric(uniform.clone())).unwrap();
        assert!(same.abs() < 1e-12, "{same}");
        let apart = jensen_shannon(&numeric(uniform.clone()), &numeric(shifted)).unwrap();
        assert!((apart - 1.0).abs() < 1e-9, "{apart}");
        // Half the mass moved far away: JSD of (1/2, 1/2, 0) against (1/2, 0, 1/2)... = 0.5.
        let half: Vec<f64> = uniform
            .iter()
            .map(|&x| if x <= 0.5 { x } else { x + 10.0 })
            .collect();
        let partly = jensen_shannon(&numeric(uniform), &numeric(half)).unwrap();
        assert!(partly > 0.3 && partly < 0.7, "{partly}");
    }

    #[test]
    fn infinity_norm_is_the_largest_share_difference() {
        let strings = |pairs: &[(&str, u64)]| StringStatistics {
            unique: pairs.len() as u64,
            exact: true,
            top_values: pairs
                .iter()
                .map(|(value, count)| ValueCount {
                    value: (*value).into(),
                    count: *count,
                })
                .collect(),
            avg_length: 1.0,
        };
        let a = strings(&[("cash", 60), ("card", 40)]);
        let b = strings(&[("cash", 30), ("card", 50), ("app", 20)]);
        assert!((infinity_norm(&a, 100, &b, 100) - 0.3).abs() < 1e-12);
        assert_eq!(infinity_norm(&a, 100, &a, 100), 0.0);
    }
}
