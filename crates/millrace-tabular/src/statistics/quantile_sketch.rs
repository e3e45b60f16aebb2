//! A mergeable streaming quantile sketch for `f64` values (KLL, Karnin–Lang–Liberty 2016).
//!
//! # Algorithm
//!
//! The sketch keeps a stack of *compactors*. Level `h` holds items that each stand for `2^h`
//! inserted values. New values are appended to level 0. When the sketch holds as many items as
//! its capacity, the lowest level that is at or over its own capacity is *compacted*: its items
//! are sorted, every other one is kept (starting at the first or the second, chosen at random)
//! and the kept half moves up one level, where each item now weighs twice as much. An odd item
//! out stays where it is. The top level has capacity `k`; the level `d` steps below it has
//! capacity `max(8, ⌈k·(2/3)^d⌉)`, so the sketch keeps at most about `3k + 8·log₂(n/k)` items
//! however many values it has seen, and inserting is amortised `O(log k)`.
//!
//! Merging two sketches appends each level of one to the same level of the other and compacts
//! until the result is within capacity again, so a merged sketch is a sketch of the concatenated
//! streams with the same kind of error.
//!
//! # Error bound
//!
//! Take any value `x` and compare the weighted count of retained items `≤ x` (or `< x`) with the
//! true count of inserted values `≤ x`. Compacting a sorted level of weight-`w` items changes that
//! count by `0` (when an even number of the level's items are `≤ x`) or by `+w` or `−w` with equal
//! probability (odd), whatever happened before: the total error is a sum of zero-mean martingale
//! differences bounded by their `w`. With `V = Σ w²` and `S = Σ w` over every compaction so far
//! (of this sketch and of every sketch merged into it), the error never exceeds `S` and, by
//! Azuma–Hoeffding,
//!
//! `P(|error| ≥ t) ≤ 2·exp(−t² / (2V))`.
//!
//! [`QuantileSketch::rank_error`] reports, as a fraction of the count `n`,
//!
//! `ε = min(√(2V·ln(2/δ)), S) / n` with `δ = 10⁻⁴`:
//!
//! each rank behind a quantile and each bucket boundary of [`QuantileSketch::cdf_counts`] is off
//! by more than `ε·n` with probability at most `10⁻⁴` (a quantile's answer can only be wrong if
//! one of the two ranks bracketing the asked rank is), so all 101 quantiles of a statistics
//! report are within `ε` together with probability at least 99%. The sketch tracks `V` and `S`
//! exactly, so `ε` is the bound for this very sketch: small while few compactions have happened,
//! `0` while the sketch is exact. (Typical errors are far smaller: the standard deviation of a
//! rank's error is at most `ε/4.4`, and about `ε/6` in practice since only about half the
//! compactions move a given rank.)
//!
//! How large can `ε` get? `V` depends only on how many values went through which level, not on
//! the values, so it can be computed for every `n`: for a single stream `ε·k` stays below 4 (its
//! largest value is 3.98, over every `n` up to `4000·k` for each `k` from 8 to 2000 tried, and up
//! to `n = 2·10⁸` for `k = 800`). Hence **`ε ≤ 4/k`**, and the default `k = 800` gives
//! **`ε ≤ 0.005`** (0.5%) for any number of values while keeping about `3k` = 2,400 items
//! (19 KB). Merged sketches report their own `ε`, which the tests check against the truth; it is
//! usually smaller than a single stream's, since the parts compacted at lower weights.
//!
//! Inserting costs about 30–35 ns per value (optimised build): values are stored as integers that
//! sort like them, level 0 is sorted only when compacted and higher levels stay sorted, so a
//! compaction merges rather than sorts.
//!
//! # Randomness
//!
//! The offsets come from a SplitMix64 generator with a constant seed that also absorbs the bits
//! of the values compacted at level 0. The same input therefore always gives the same sketch, yet
//! sketches of different data (parts of one file read by different threads) draw different
//! offsets, which keeps their errors independent when they are merged. Sketches of *identical*
//! data draw identical offsets; give them different seeds with [`QuantileSketch::with_seed`] when
//! that matters.

use serde::{Deserialize, Serialize};

use crate::hash::{GOLDEN_GAMMA, splitmix64_mix};

/// The default accuracy parameter: the capacity of the top level.
const DEFAULT_K: usize = 800;

/// The largest `k` (beyond it the capacities' sum could overflow, and no one needs it).
const MAX_K: usize = 1 << 30;

/// No level is ever smaller than this, so compactions are never too small to be worth it.
const MIN_WIDTH: usize = 8;

/// Each level below the top has this fraction of the capacity of the level above it.
const CAPACITY_RATIO: f64 = 2.0 / 3.0;

/// `ln(2/δ)` for the per-query failure probability `δ = 10⁻⁴` of [`QuantileSketch::rank_error`].
const LN_2_OVER_DELTA: f64 = 9.903_487_552_536_127;

/// The generator's starting state (any constant will do; this is the SplitMix64 increment).
const SEED: u64 = GOLDEN_GAMMA;

/// A mergeable quantile sketch of `f64` values (KLL); see the [module documentation](self) for
/// the algorithm and its error bound.
///
/// A sketch read back (from a statistics shard) is checked first: its capacities follow from
/// its `k`, it holds fewer items than its capacity, its upper levels are sorted and its items
/// weigh as many values as it counts — so a damaged file is refused rather than indexed out
/// of bounds or sized from a number in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SketchFields")]
pub struct QuantileSketch {
    /// The capacity of the top level.
    k: usize,
    /// `levels[h]` holds items of weight `2^h`, as [`key`]s (integers that sort like the values,
    /// which sorts and merges faster than comparing floats). Level 0 is unsorted; the others
    /// are kept sorted so that compacting them needs no sort.
    levels: Vec<Vec<u64>>,
    /// `capacities[h]`: the capacity of level `h` for the current number of levels.
    capacities: Vec<usize>,
    /// The sum of `capacities`.
    capacity: usize,
    /// How many items the levels hold.
    retained: usize,
    /// How many values were inserted (exact).
    count: u64,
    /// The smallest value inserted (`+∞` while empty).
    #[serde(with = "super::float_bits")]
    min: f64,
    /// The largest value inserted (`−∞` while empty).
    #[serde(with = "super::float_bits")]
    max: f64,
    /// `Σ w²` over every compaction, the variance proxy of the rank error.
    #[serde(with = "super::float_bits")]
    variance: f64,
    /// `Σ w` over every compaction, a bound on the rank error that always holds.
    #[serde(with = "super::float_bits")]
    spread: f64,
    /// The SplitMix64 state that draws the compaction offsets.
    rng: u64,
}

/// The most levels a sketch read back may have: items of level `h` weigh `2^h` values, and a
/// count is a `u64`.
const MAX_LEVELS: usize = 60;

/// A [`QuantileSketch`]'s fields as written, checked before they become a sketch.
#[derive(Deserialize)]
struct SketchFields {
    k: usize,
    levels: Vec<Vec<u64>>,
    capacities: Vec<usize>,
    capacity: usize,
    retained: usize,
    count: u64,
    #[serde(with = "super::float_bits")]
    min: f64,
    #[serde(with = "super::float_bits")]
    max: f64,
    #[serde(with = "super::float_bits")]
    variance: f64,
    #[serde(with = "super::float_bits")]
    spread: f64,
    rng: u64,
}

impl TryFrom<SketchFields> for QuantileSketch {
    type Error = String;

    fn try_from(fields: SketchFields) -> Result<Self, String> {
        if !(MIN_WIDTH..=MAX_K).contains(&fields.k) {
            return Err(format!(
                "a quantile sketch's k is {}, not between {MIN_WIDTH} and {MAX_K}",
                fields.k
            ));
        }
        if fields.levels.is_empty() || fields.levels.len() > MAX_LEVELS {
            return Err(format!(
                "a quantile sketch has {} levels, not between 1 and {MAX_LEVELS}",
                fields.levels.len()
            ));
        }
        let mut sketch = QuantileSketch {
            k: fields.k,
            levels: fields.levels,
            capacities: Vec::new(),
            capacity: 0,
            retained: 0,
            count: fields.count,
            min: fields.min,
            max: fields.max,
            variance: fields.variance,
            spread: fields.spread,
            rng: fields.rng,
        };
        sketch.update_capacities();
        sketch.retained = sketch.levels.iter().map(Vec::len).sum();
        if sketch.capacities != fields.capacities || sketch.capacity != fields.capacity {
            return Err("a quantile sketch's capacities do not follow from its k".to_owned());
        }
        if sketch.retained != fields.retained || sketch.retained >= sketch.capacity {
            return Err(format!(
                "a quantile sketch says it retains {} items, holds {} and has room for fewer \
                 than {}",
                fields.retained, sketch.retained, sketch.capacity
            ));
        }
        if !sketch.levels[1..].iter().all(|level| level.is_sorted()) {
            return Err("a quantile sketch's upper levels are not sorted".to_owned());
        }
        let weight = sketch
            .levels
            .iter()
            .enumerate()
            .try_fold(0_u64, |total, (h, level)| {
                (level.len() as u64)
                    .checked_mul(1 << h)
                    .and_then(|weight| total.checked_add(weight))
            });
        if weight != Some(sketch.count) {
            return Err(format!(
                "a quantile sketch counts {} values and its items weigh {weight:?}",
                sketch.count
            ));
        }
        let ordered = sketch
            .min
            .partial_cmp(&sketch.max)
            .is_some_and(|order| order.is_le());
        if sketch.count > 0 && !ordered {
            return Err("a quantile sketch's minimum is not at most its maximum".to_owned());
        }
        let sums = [sketch.variance, sketch.spread];
        if sums.iter().any(|sum| sum.is_nan() || *sum < 0.0) {
            return Err("a quantile sketch's error sums are negative or NaN".to_owned());
        }
        Ok(sketch)
    }
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// An empty sketch with the default accuracy (`k = 800`, rank error at most 0.5%).
    pub fn new() -> Self {
        Self::with_k(DEFAULT_K)
    }

    /// An empty sketch whose top level holds `k` items (at least 8, at most 2³⁰). The rank error
    /// of a single stream is at most `4/k`; memory is about `3k` items.
    pub fn with_k(k: usize) -> Self {
        let k = k.clamp(MIN_WIDTH, MAX_K);
        Self {
            k,
            levels: vec![Vec::new()],
            capacities: vec![k],
            capacity: k,
            retained: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            variance: 0.0,
            spread: 0.0,
            rng: SEED,
        }
    }

    /// The same sketch drawing its random offsets from a stream chosen by `seed`: sketches of
    /// parts that may hold identical data (copies of one file) should get different seeds (the
    /// part's index, say) so that their errors stay independent when merged. Call it before
    /// inserting anything.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = splitmix64_mix(SEED ^ splitmix64_mix(seed));
        self
    }

    /// The accuracy parameter (the capacity of the top level).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Adds one value.
    ///
    /// NaN has no rank: callers count NaN apart and must not insert it (debug builds assert
    /// that; release builds ignore it). `-0.0` is stored as `0.0`.
    pub fn insert(&mut self, value: f64) {
        debug_assert!(!value.is_nan(), "NaN inserted into a quantile sketch");
        if value.is_nan() {
            return;
        }
        // Adding +0.0 turns -0.0 into +0.0, so that sorting by total order agrees with `<`.
        let value = value + 0.0;
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if let Some(level) = self.levels.first_mut() {
            level.push(key(value));
        }
        self.retained += 1;
        if self.retained >= self.capacity {
            self.compress();
        }
    }

    /// Adds every value of `other`, as if its values had been inserted into `self`. The result
    /// keeps `self`'s `k`; its rank error accounts for the compactions of both sketches.
    pub fn merge(&mut self, other: &QuantileSketch) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.variance += other.variance;
        self.spread += other.spread;
        // Deterministic, and different from both inputs' streams.
        self.rng = splitmix64_mix(self.rng ^ other.rng.rotate_left(29));
        if self.levels.len() < other.levels.len() {
            self.levels.resize_with(other.levels.len(), Vec::new);
            self.update_capacities();
        }
        for (h, (into, from)) in self.levels.iter_mut().zip(&other.levels).enumerate() {
            if h == 0 {
                into.extend_from_slice(from);
            } else {
                merge_sorted_into(into, from);
            }
            self.retained += from.len();
        }
        self.compress();
    }

    /// How many values were inserted (exact).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest value inserted (exact), `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value inserted (exact), `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Whether the sketch still holds every value inserted (no compaction has happened), in
    /// which case every answer is exact.
    pub fn is_exact(&self) -> bool {
        // Compactions are the only thing that drop items, and every one drops some.
        self.retained as u64 == self.count
    }

    /// How many items the sketch holds (its memory use, in 8-byte items).
    pub fn retained(&self) -> usize {
        self.retained
    }

    /// The value at normalized rank `rank` (in `[0, 1]`; values outside are clamped), `None`
    /// when the sketch is empty or `rank` is NaN.
    ///
    /// Rank 0 is the exact minimum and rank 1 the exact maximum. Otherwise the answer is the
    /// smallest retained value `v` such that the weighted count of retained items `≤ v` is at
    /// least `rank·count` (rounded up to a whole number; a product within a relative `10⁻¹²` of
    /// a whole number counts as that number, so that `0.07·100` is 7). While the sketch is exact
    /// this is the exact order statistic: the `⌈rank·count⌉`-th smallest value. Otherwise the
    /// true rank of the answer is within [`rank_error`](Self::rank_error) of `rank` with high
    /// probability.
    ///
    /// Each call sorts the retained items; ask for many ranks at once with
    /// [`quantiles`](Self::quantiles).
    pub fn quantile(&self, rank: f64) -> Option<f64> {
        if self.count == 0 || rank.is_nan() {
            return None;
        }
        Some(self.view().quantile(rank, self))
    }

    /// [`quantile`](Self::quantile) at each of `ranks`, sorting the retained items once. Empty
    /// when the sketch is empty; NaN at a NaN rank.
    pub fn quantiles(&self, ranks: &[f64]) -> Vec<f64> {
        if self.count == 0 {
            return Vec::new();
        }
        let view = self.view();
        ranks
            .iter()
            .map(|&rank| view.quantile(rank, self))
            .collect()
    }

    /// The bound on the normalized rank error of the answers, as a fraction of
    /// [`count`](Self::count): `min(√(2V·ln(2/δ)), S) / count` with `δ = 10⁻⁴`, `V` and `S` the
    /// sums of the squared weights and of the weights of every compaction so far (see the
    /// [module documentation](self)). Each quantile's true rank is within this of the asked
    /// rank, and each rank behind [`cdf_counts`](Self::cdf_counts) is within this times `count`
    /// of the true count, each with probability at least `1 − 10⁻⁴`. At most `4/k` (0.005 for
    /// the default `k`) for a single stream; `0.0` while the sketch is exact.
    pub fn rank_error(&self) -> f64 {
        if self.is_exact() {
            return 0.0;
        }
        let probable = (2.0 * self.variance * LN_2_OVER_DELTA).sqrt();
        (probable.min(self.spread) / self.count as f64).min(1.0)
    }

    /// The estimated number of values in each bucket delimited by `boundaries`, which must be
    /// ascending: bucket `i` is `[boundaries[i], boundaries[i + 1])`, the last bucket also
    /// includes its upper boundary. `boundaries.len() − 1` buckets (none for fewer than two
    /// boundaries). When the boundaries span `[min, max]` the counts add up to
    /// [`count`](Self::count); each boundary's rank is off by at most
    /// `rank_error()·count` (with high probability), so each bucket by at most twice that.
    pub fn cdf_counts(&self, boundaries: &[f64]) -> Vec<f64> {
        debug_assert!(
            boundaries.windows(2).all(|pair| pair[0] <= pair[1]),
            "bucket boundaries must be ascending"
        );
        if boundaries.len() < 2 {
            return Vec::new();
        }
        let view = self.view();
        let last = boundaries.len() - 2;
        boundaries
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let below_high = if i == last {
                    view.weight_at_most(pair[1])
                } else {
                    view.weight_below(pair[1])
                };
                below_high.saturating_sub(view.weight_below(pair[0])) as f64
            })
            .collect()
    }

    /// Compacts levels until the sketch is within its capacity.
    fn compress(&mut self) {
        while self.retained >= self.capacity {
            // Some level is at or over its capacity, since together they are: compact the
            // lowest one, whose items weigh least.
            let h = self
                .levels
                .iter()
                .zip(&self.capacities)
                .position(|(level, &capacity)| level.len() >= capacity)
                .unwrap_or(self.levels.len() - 1);
            if h + 1 == self.levels.len() {
                self.levels.push(Vec::new());
                self.update_capacities();
            }
            self.compact(h);
        }
    }

    /// Sets the levels' capacities for the current number of levels.
    fn update_capacities(&mut self) {
        let levels = self.levels.len();
        self.capacities = (0..levels)
            .map(|h| level_capacity(self.k, levels, h))
            .collect();
        self.capacity = self.capacities.iter().sum();
    }

    /// Moves every other item of level `h` (sorted) to level `h + 1`.
    fn compact(&mut self, h: usize) {
        let (lower, upper) = self.levels.split_at_mut(h + 1);
        let (Some(level), Some(next)) = (lower.last_mut(), upper.first_mut()) else {
            return;
        };
        if h == 0 {
            // Absorb the data into the generator: different data, different offsets. A wrapping
            // sum does not depend on the (unsorted) order.
            let bits = level.iter().fold(0u64, |sum, &key| sum.wrapping_add(key));
            self.rng ^= splitmix64_mix(bits);
            level.sort_unstable();
        }
        self.rng = self.rng.wrapping_add(SEED);
        let offset = (splitmix64_mix(self.rng) >> 63) as usize;

        let len = level.len();
        let pairs = len / 2;
        // With an odd count the largest item stays behind, unchanged (no error from it).
        let odd_one = (len % 2 == 1).then(|| level[len - 1]);
        for i in 0..pairs {
            level[i] = level[2 * i + offset];
        }
        merge_sorted_into(next, &level[..pairs]);
        level.clear();
        level.extend(odd_one);
        self.retained -= pairs;
        // Each compaction moves any rank by 0 or ±2^h.
        let weight = 2f64.powi(h as i32);
        self.variance += weight * weight;
        self.spread += weight;
    }

    /// The retained items sorted, with their cumulative weights.
    fn view(&self) -> SortedView {
        let mut items: Vec<(u64, u64)> = Vec::with_capacity(self.retained);
        for (h, level) in self.levels.iter().enumerate() {
            let weight = 1u64 << h;
            items.extend(level.iter().map(|&key| (key, weight)));
        }
        items.sort_unstable_by_key(|&(key, _)| key);
        let mut total = 0;
        let (values, cumulative) = items
            .into_iter()
            .map(|(key, weight)| {
                total += weight;
                (value(key), total)
            })
            .unzip();
        SortedView { values, cumulative }
    }
}

/// The retained items in order, for queries.
struct SortedView {
    /// The items, ascending.
    values: Vec<f64>,
    /// `cumulative[i]`: the weight of `values[..=i]`.
    cumulative: Vec<u64>,
}

impl SortedView {
    /// The quantile at `rank` (see [`QuantileSketch::quantile`]); the sketch is not empty.
    fn quantile(&self, rank: f64, sketch: &QuantileSketch) -> f64 {
        if rank.is_nan() {
            return f64::NAN;
        }
        if rank <= 0.0 {
            return sketch.min;
        }
        if rank >= 1.0 {
            return sketch.max;
        }
        let target = rank_target(rank, sketch.count);
        let i = self.cumulative.partition_point(|&weight| weight < target);
        self.values.get(i).copied().unwrap_or(sketch.max)
    }

    /// The weight of the items `< x`.
    fn weight_below(&self, x: f64) -> u64 {
        self.weight_of_first(self.values.partition_point(|&v| v < x))
    }

    /// The weight of the items `≤ x`.
    fn weight_at_most(&self, x: f64) -> u64 {
        self.weight_of_first(self.values.partition_point(|&v| v <= x))
    }

    /// The weight of the first `n` items.
    fn weight_of_first(&self, n: usize) -> u64 {
        n.checked_sub(1)
            .and_then(|i| self.cumulative.get(i))
            .copied()
            .unwrap_or(0)
    }
}

/// `rank·count` rounded up to a whole number in `[1, count]`, treating a product within a
/// relative `10⁻¹²` of a whole number as that number (floating-point rounding makes `0.07·100`
/// slightly more than 7).
fn rank_target(rank: f64, count: u64) -> u64 {
    let product = rank * count as f64;
    let nearest = product.round();
    let target = if (product - nearest).abs() <= 1e-12 * nearest.max(1.0) {
        nearest
    } else {
        product.ceil()
    };
    (target as u64).clamp(1, count.max(1))
}

/// The capacity of level `h` of a sketch with `levels` levels.
fn level_capacity(k: usize, levels: usize, h: usize) -> usize {
    let depth = levels.saturating_sub(h + 1);
    let capacity = (k as f64 * CAPACITY_RATIO.powi(depth as i32)).ceil() as usize;
    capacity.max(MIN_WIDTH)
}

/// Merges the sorted `from` into the sorted `into`, in place from the back.
fn merge_sorted_into(into: &mut Vec<u64>, from: &[u64]) {
    let mut i = into.len();
    let mut j = from.len();
    into.resize(i + j, 0);
    let mut write = i + j;
    while i > 0 && j > 0 {
        write -= 1;
        let (a, b) = (into[i - 1], from[j - 1]);
        // Branch-free: on random data a branch here is mispredicted half the time.
        let take_a = a > b;
        into[write] = if take_a { a } else { b };
        i -= usize::from(take_a);
        j -= usize::from(!take_a);
    }
    // Whatever is left of `from` is smaller than everything written, and `write == j`.
    into[..j].copy_from_slice(&from[..j]);
}

/// An integer that sorts like `value` (not NaN, not `-0.0`): the bits with the sign flipped for
/// positive values and all bits flipped for negative ones.
fn key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 0 {
        bits | (1 << 63)
    } else {
        !bits
    }
}

/// The value whose [`key`] is `key`.
fn value(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Values per stream in the large tests. (The workspace optimises this crate even in test
    /// builds, where a million values per stream take well under a second.)
    const N: usize = 1_000_000;

    /// A deterministic xorshift64* generator for test data.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform in `[0, 1)`.
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn uniform(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        (0..n).map(|_| rng.unit() * 200.0 - 100.0).collect()
    }

    fn exponential(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        (0..n).map(|_| -(1.0 - rng.unit()).ln() * 3.0).collect()
    }

    /// Heavy-tailed: most values tiny, a few huge.
    fn pareto(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        (0..n).map(|_| (1.0 - rng.unit()).powf(-2.0)).collect()
    }

    /// Only 40 distinct values, skewed towards small ones.
    fn duplicates(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| (rng.unit() * rng.unit() * 40.0).floor())
            .collect()
    }

    fn ascending(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64 * 0.5).collect()
    }

    fn descending(n: usize) -> Vec<f64> {
        (0..n).rev().map(|i| i as f64 * 0.5).collect()
    }

    fn sketch_of(values: &[f64]) -> QuantileSketch {
        let mut sketch = QuantileSketch::new();
        for &value in values {
            sketch.insert(value);
        }
        sketch
    }

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        sorted
    }

    /// The ranks 0.01, 0.02, …, 0.99.
    fn percentiles() -> Vec<f64> {
        (1..100).map(|i| f64::from(i) / 100.0).collect()
    }

    /// Checks every percentile and an equal-width histogram of `sketch` against the sorted
    /// truth: the true rank of each reported quantile (an interval, with duplicates) must be
    /// within `rank_error()` of the asked rank, each bucket within twice that.
    fn check_accuracy(sketch: &QuantileSketch, truth: &[f64], what: &str) {
        let n = truth.len() as f64;
        let epsilon = sketch.rank_error();
        assert_eq!(sketch.count(), truth.len() as u64, "{what}");
        assert!(!sketch.is_exact(), "{what}: should have compacted");
        assert!(
            epsilon > 0.0 && epsilon <= 0.005,
            "{what}: rank error {epsilon}"
        );
        assert_eq!(sketch.min(), truth.first().copied(), "{what}");
        assert_eq!(sketch.max(), truth.last().copied(), "{what}");
        let ranks = percentiles();
        let quantiles = sketch.quantiles(&ranks);
        assert_eq!(quantiles.len(), ranks.len());
        for (&rank, &q) in ranks.iter().zip(&quantiles) {
            assert_eq!(
                sketch.quantile(rank),
                Some(q),
                "{what}: batch and single differ"
            );
            let below = truth.partition_point(|&v| v < q) as f64;
            let at_most = truth.partition_point(|&v| v <= q) as f64;
            assert!(at_most > below, "{what}: {q} was never inserted");
            let asked = rank * n;
            let off = (below - asked).max(asked - at_most).max(0.0) / n;
            assert!(
                off <= epsilon,
                "{what}: quantile {rank} = {q} has true rank [{}, {}], off by {off} > {epsilon}",
                below / n,
                at_most / n
            );
        }
        let (low, high) = (truth[0], truth[truth.len() - 1]);
        let buckets = 20;
        let boundaries: Vec<f64> = (0..=buckets)
            .map(|i| {
                if i == buckets {
                    high
                } else {
                    low + (high - low) * f64::from(i) / f64::from(buckets)
                }
            })
            .collect();
        let counts = sketch.cdf_counts(&boundaries);
        assert_eq!(counts.len(), buckets as usize);
        assert_eq!(
            counts.iter().sum::<f64>(),
            n,
            "{what}: bucket counts must add up"
        );
        for (i, &count) in counts.iter().enumerate() {
            let from = truth.partition_point(|&v| v < boundaries[i]);
            let to = if i + 1 == counts.len() {
                truth.len()
            } else {
                truth.partition_point(|&v| v < boundaries[i + 1])
            };
            let exact = (to - from) as f64;
            assert!(
                (count - exact).abs() <= 2.0 * epsilon * n,
                "{what}: bucket {i} has {count}, truly {exact}"
            );
        }
    }

    #[test]
    fn empty_sketch_has_no_answers() {
        let sketch = QuantileSketch::new();
        assert_eq!(sketch.count(), 0);
        assert_eq!(sketch.min(), None);
        assert_eq!(sketch.max(), None);
        assert_eq!(sketch.quantile(0.5), None);
        assert_eq!(sketch.quantile(0.0), None);
        assert!(sketch.quantiles(&[0.1, 0.5]).is_empty());
        assert!(sketch.is_exact());
        assert_eq!(sketch.rank_error(), 0.0);
        assert_eq!(sketch.cdf_counts(&[0.0, 1.0, 2.0]), vec![0.0, 0.0]);
        let mut merged = QuantileSketch::new();
        merged.merge(&sketch);
        assert_eq!(merged.count(), 0);
    }

    #[test]
    fn small_inputs_are_exact_order_statistics() {
        let mut rng = Rng(7);
        for n in [1usize, 2, 3, 10, 99, 100, 101, 500, 799] {
            // Duplicates, negatives and a -0.0 among them.
            let values: Vec<f64> = (0..n)
                .map(|i| {
                    if i == 1 {
                        -0.0
                    } else {
                        (rng.unit() * 50.0).floor() - 20.0
                    }
                })
                .collect();
            let sketch = sketch_of(&values);
            let truth: Vec<f64> = sorted(&values).into_iter().map(|v| v + 0.0).collect();
            assert!(sketch.is_exact(), "n = {n}");
            assert_eq!(sketch.rank_error(), 0.0);
            assert_eq!(sketch.retained(), n);
            assert_eq!(sketch.quantile(0.0), Some(truth[0]));
            assert_eq!(sketch.quantile(1.0), Some(truth[n - 1]));
            for j in 0..=100u64 {
                // The ⌈j·n/100⌉-th smallest value, in integers (the first one for rank 0).
                let nth = ((j * n as u64).div_ceil(100)).max(1) as usize;
                let rank = j as f64 / 100.0;
                assert_eq!(
                    sketch.quantile(rank),
                    Some(truth[nth - 1]),
                    "n = {n}, rank = {rank}"
                );
            }
            for _ in 0..50 {
                let rank = rng.unit();
                let nth = ((rank * n as f64).ceil() as usize).max(1);
                assert_eq!(
                    sketch.quantile(rank),
                    Some(truth[nth - 1]),
                    "n = {n}, {rank}"
                );
            }
            let boundaries = [-20.0, -10.0, 0.0, 0.5, 10.0, 30.0];
            let counts = sketch.cdf_counts(&boundaries);
            for (i, &count) in counts.iter().enumerate() {
                let exact = truth
                    .iter()
                    .filter(|&&v| {
                        v >= boundaries[i]
                            && (v < boundaries[i + 1]
                                || (i + 2 == boundaries.len() && v == boundaries[i + 1]))
                    })
                    .count();
                assert_eq!(count, exact as f64, "n = {n}, bucket {i}");
            }
        }
    }

    #[test]
    fn ranks_outside_the_unit_interval_are_clamped_and_nan_has_no_quantile() {
        let sketch = sketch_of(&[3.0, 1.0, 2.0]);
        assert_eq!(sketch.quantile(-0.5), Some(1.0));
        assert_eq!(sketch.quantile(7.0), Some(3.0));
        assert_eq!(sketch.quantile(f64::NAN), None);
        let quantiles = sketch.quantiles(&[0.5, f64::NAN]);
        assert_eq!(quantiles[0], 2.0);
        assert!(quantiles[1].is_nan());
        assert!(sketch.cdf_counts(&[1.0]).is_empty());
    }

    #[test]
    fn negative_zero_counts_as_zero() {
        let sketch = sketch_of(&[-0.0, 0.0, 1.0]);
        assert_eq!(sketch.cdf_counts(&[0.0, 0.5, 1.0]), vec![2.0, 1.0]);
        assert_eq!(sketch.cdf_counts(&[-1.0, -0.0, 1.0]), vec![0.0, 3.0]);
    }

    #[test]
    fn the_default_accuracy_is_half_a_percent() {
        let sketch = QuantileSketch::default();
        assert_eq!(sketch.k(), DEFAULT_K);
        // The single-stream bound stated in the documentation: ε ≤ 4/k.
        assert!(4.0 / sketch.k() as f64 <= 0.005);
    }

    #[test]
    fn uniform_values_are_within_the_rank_error() {
        let values = uniform(N, 1);
        let sketch = sketch_of(&values);
        check_accuracy(&sketch, &sorted(&values), "uniform");
        // Memory: about 3k items, far fewer than the values.
        assert!(
            sketch.retained() <= 3 * DEFAULT_K + 200,
            "{}",
            sketch.retained()
        );
    }

    #[test]
    fn skewed_values_are_within_the_rank_error() {
        let values = exponential(N, 2);
        check_accuracy(&sketch_of(&values), &sorted(&values), "exponential");
        let values = pareto(N, 3);
        check_accuracy(&sketch_of(&values), &sorted(&values), "pareto");
    }

    #[test]
    fn many_duplicates_are_within_the_rank_error() {
        let values = duplicates(N, 4);
        check_accuracy(&sketch_of(&values), &sorted(&values), "duplicates");
    }

    #[test]
    fn sorted_input_is_within_the_rank_error() {
        let values = ascending(N);
        check_accuracy(&sketch_of(&values), &values, "ascending");
        let values = descending(N);
        check_accuracy(&sketch_of(&values), &ascending(N), "descending");
    }

    #[test]
    fn a_million_values_are_within_the_rank_error() {
        // The full size even in debug builds, on data whose truth needs no sort.
        let n = 1_000_000;
        let mut rng = Rng(11);
        let mut sketch = QuantileSketch::new();
        // A shuffled permutation of 0..n, by a multiplicative bijection of the indices.
        let step = 1_000_003 % n;
        let offset = (rng.next() % n as u64) as usize;
        for i in 0..n {
            sketch.insert(((i * step + offset) % n) as f64);
        }
        check_accuracy(
            &sketch,
            &ascending(n).iter().map(|v| v * 2.0).collect::<Vec<_>>(),
            "permutation",
        );
    }

    #[test]
    fn merged_parts_are_within_the_rank_error() {
        for (what, values) in [
            ("uniform", uniform(N, 5)),
            ("ascending, contiguous parts", ascending(N)),
            ("duplicates", duplicates(N, 6)),
        ] {
            let parts: Vec<QuantileSketch> = values.chunks(N / 8).map(sketch_of).collect();
            assert_eq!(parts.len(), 8);
            let mut merged = QuantileSketch::new();
            for part in &parts {
                merged.merge(part);
            }
            let truth = sorted(&values);
            check_accuracy(&merged, &truth, what);
            assert!(merged.retained() <= 3 * DEFAULT_K + 200);
            // A merge tree instead of a chain.
            let mut pairs: Vec<QuantileSketch> = parts
                .chunks(2)
                .map(|pair| {
                    let mut left = pair[0].clone();
                    left.merge(&pair[1]);
                    left
                })
                .collect();
            while pairs.len() > 1 {
                let right = pairs.pop().unwrap();
                let left = pairs.pop().unwrap();
                let mut merged = left;
                merged.merge(&right);
                pairs.insert(0, merged);
            }
            check_accuracy(&pairs[0], &truth, what);
        }
    }

    #[test]
    fn merging_small_sketches_stays_exact() {
        let left = uniform(300, 8);
        let right = exponential(400, 9);
        let mut merged = sketch_of(&left);
        merged.merge(&sketch_of(&right));
        assert!(merged.is_exact());
        let all: Vec<f64> = left.iter().chain(&right).copied().collect();
        let truth = sorted(&all);
        assert_eq!(merged.count(), 700);
        for j in 0..=100usize {
            let nth = (j * 700).div_ceil(100).max(1);
            assert_eq!(merged.quantile(j as f64 / 100.0), Some(truth[nth - 1]));
        }
        // Merging into an empty sketch copies.
        let mut empty = QuantileSketch::new();
        empty.merge(&merged);
        assert_eq!(
            empty.quantiles(&percentiles()),
            merged.quantiles(&percentiles())
        );
    }

    #[test]
    fn results_are_reproducible() {
        let values = uniform(100_000, 10);
        let a = sketch_of(&values);
        let b = sketch_of(&values);
        assert_eq!(a.quantiles(&percentiles()), b.quantiles(&percentiles()));
        // A different seed draws other offsets (and still a valid sketch).
        let mut c = QuantileSketch::new().with_seed(1);
        for &value in &values {
            c.insert(value);
        }
        assert_ne!(a.quantiles(&percentiles()), c.quantiles(&percentiles()));
        check_accuracy(&c, &sorted(&values), "seeded");
    }

    #[test]
    fn a_small_k_is_less_accurate_but_still_within_its_bound() {
        let values = exponential(200_000, 12);
        let mut sketch = QuantileSketch::with_k(64);
        for &value in &values {
            sketch.insert(value);
        }
        let epsilon = sketch.rank_error();
        assert!(epsilon > 0.005 && epsilon <= 4.0 / 64.0, "{epsilon}");
        assert!(sketch.retained() < 400);
        let truth = sorted(&values);
        let n = truth.len() as f64;
        for (&rank, &q) in percentiles().iter().zip(&sketch.quantiles(&percentiles())) {
            let below = truth.partition_point(|&v| v < q) as f64;
            let at_most = truth.partition_point(|&v| v <= q) as f64;
            let off = (below - rank * n).max(rank * n - at_most).max(0.0) / n;
            assert!(off <= epsilon, "{rank}: {off} > {epsilon}");
        }
    }
}
