//! Metric histories in chunks: a million points of one metric read in milliseconds.
//!
//! **Layout.** A metric's points (`step`, `timestamp`, `value`) are appended to chunks of at
//! most [`CHUNK_POINTS`] points, one row of `millrace_metric_chunk` each, keyed by
//! `(run_id, key, seq)`. A point is 24 bytes, little-endian: `step` (i64), `timestamp` (i64),
//! `value` (f64 bits, so NaN and infinities survive).
//!
//! **Appending** `k` points reads the metric's last chunk; if it has room, the points fill it
//! (one UPDATE), and the rest go to new chunks (one INSERT per [`CHUNK_POINTS`]). One point
//! rewrites at most one chunk (12 KiB); a batch of `k` points costs `O(k)` plus one chunk.
//!
//! **Reading** a history of `n` points reads `⌈n / CHUNK_POINTS⌉` rows and decodes them:
//! `n = 1,000,000` is under 2,000 rows instead of a million, which is what keeps it fast on
//! SQLite and over PostgreSQL's wire alike. Points come back ordered by step, then timestamp,
//! then value, and identical points logged twice come back once (MLflow's primary key on the
//! point does the same) — the order of appends does not matter.

use crate::error::{MetadataError, Result};
use crate::tracking::model::MetricPoint;

/// The most points one chunk holds (12 KiB).
pub(crate) const CHUNK_POINTS: usize = 512;

/// Bytes per encoded point.
const POINT_BYTES: usize = 24;

/// Appends `points` to an encoded chunk.
pub(crate) fn encode_into(buffer: &mut Vec<u8>, points: &[MetricPoint]) {
    buffer.reserve(points.len() * POINT_BYTES);
    for point in points {
        buffer.extend_from_slice(&point.step.to_le_bytes());
        buffer.extend_from_slice(&point.timestamp.to_le_bytes());
        buffer.extend_from_slice(&point.value.to_bits().to_le_bytes());
    }
}

/// Decodes a chunk's points onto `out`.
pub(crate) fn decode_into(bytes: &[u8], out: &mut Vec<MetricPoint>) -> Result<()> {
    if !bytes.len().is_multiple_of(POINT_BYTES) {
        return Err(MetadataError::Database(format!(
            "a metric chunk of {} bytes is not a whole number of {POINT_BYTES}-byte points (the store is damaged)",
            bytes.len()
        )));
    }
    out.reserve(bytes.len() / POINT_BYTES);
    for point in bytes.chunks_exact(POINT_BYTES) {
        let word = |at: usize| {
            let mut eight = [0_u8; 8];
            eight.copy_from_slice(&point[at..at + 8]);
            eight
        };
        out.push(MetricPoint {
            step: i64::from_le_bytes(word(0)),
            timestamp: i64::from_le_bytes(word(8)),
            value: f64::from_bits(u64::from_le_bytes(word(16))),
        });
    }
    Ok(())
}

/// Orders points by step, timestamp and value, and drops exact repeats.
pub(crate) fn normalise(points: &mut Vec<MetricPoint>) {
    points.sort_by(|a, b| {
        a.step
            .cmp(&b.step)
            .then(a.timestamp.cmp(&b.timestamp))
            .then(a.value.total_cmp(&b.value))
    });
    points.dedup_by(|a, b| {
        a.step == b.step && a.timestamp == b.timestamp && a.value.to_bits() == b.value.to_bits()
    });
}

/// Whether `candidate` replaces `current` as a metric's latest point: a greater step, or the
/// same step and a later timestamp, or both the same and a greater value (MLflow's rule; NaN
/// counts as less than any number).
pub(crate) fn is_later(candidate: &MetricPoint, current: &MetricPoint) -> bool {
    let value_order = match (candidate.value.is_nan(), current.value.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => candidate.value.total_cmp(&current.value),
    };
    candidate
        .step
        .cmp(&current.step)
        .then(candidate.timestamp.cmp(&current.timestamp))
        .then(value_order)
        .is_gt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: i64, timestamp: i64, value: f64) -> MetricPoint {
        MetricPoint {
            value,
            timestamp,
            step,
        }
    }

    #[test]
    fn points_survive_encoding_including_nan_and_infinities() {
        let points = vec![
            point(0, 10, 0.5),
            point(1, 11, f64::NAN),
            point(2, 12, f64::INFINITY),
            point(-3, i64::MAX, f64::NEG_INFINITY),
        ];
        let mut bytes = Vec::new();
        encode_into(&mut bytes, &points);
        let mut decoded = Vec::new();
        decode_into(&bytes, &mut decoded).unwrap();
        assert_eq!(decoded.len(), 4);
        assert_eq!(decoded[0], points[0]);
        assert!(decoded[1].value.is_nan());
        assert_eq!(decoded[2].value, f64::INFINITY);
        assert_eq!(decoded[3], points[3]);
    }

    #[test]
    fn a_chunk_of_a_broken_length_is_an_error_not_a_panic() {
        let mut decoded = Vec::new();
        assert!(decode_into(&[1, 2, 3], &mut decoded).is_err());
    }

    #[test]
    fn normalising_orders_by_step_and_drops_exact_repeats_only() {
        let mut points = vec![
            point(2, 5, 1.0),
            point(1, 9, 2.0),
            point(1, 9, 2.0),
            point(1, 9, 3.0),
        ];
        normalise(&mut points);
        assert_eq!(
            points,
            vec![point(1, 9, 2.0), point(1, 9, 3.0), point(2, 5, 1.0)]
        );
    }

    #[test]
    fn the_latest_point_is_the_greatest_step_then_time_then_value() {
        assert!(is_later(&point(2, 0, 0.0), &point(1, 9, 9.0)));
        assert!(is_later(&point(1, 10, 0.0), &point(1, 9, 9.0)));
        assert!(is_later(&point(1, 9, 9.5), &point(1, 9, 9.0)));
        assert!(!is_later(&point(1, 9, f64::NAN), &point(1, 9, 9.0)));
        assert!(!is_later(&point(1, 9, 9.0), &point(1, 9, 9.0)));
    }
}
