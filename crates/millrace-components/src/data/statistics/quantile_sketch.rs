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
//! Take any value `x` and compare the weighted count of retained items `≤ x` with the true count
//! of inserted values `≤ x`. Compacting a sorted level of weight-`w` items changes that count by
//! `0` (when an even number of the level's items are `≤ x`) or by `+w` or `-w` with equal
//! probability (odd), so the total error is a sum of independent, zero-mean terms bounded by
//! their `w`. Hoeffding's (Azuma's) inequality gives, for `V = Σ w²` over every compaction so far
//! (of this sketch and of every sketch merged into it):
//!
//! `P(|error| ≥ t) ≤ 2·exp(−t² / (2V))`.
//!
//! [`QuantileSketch::rank_error`] reports `ε = √(2V·ln(2/δ)) / n` with `δ = 10⁻⁴`, as a
//! fraction of the count `n`: each rank query, each bucket boundary of
//! [`QuantileSketch::cdf_counts`] and each quantile is off by more than `ε·n` with probability
//! at most `10⁻⁴`, so all 101 quantiles of a statistics report are within `ε` together with
//! probability at least 99%. The sketch tracks `V` exactly, so `ε` is the bound for this very
//! sketch: small while few compactions have happened, `0` while the sketch is exact.
//!
//! For a single stream, `V ≤ 0.63·(n/k)²` whatever `n` (checked numerically for every `n` up to
//! `10⁸` and every `k` offered), so `ε ≤ 2.5/k`. The default `k = 500` keeps `ε ≤ 0.005`
//! (0.5%) for any number of values, with about 1,600 retained items (13 KB); merged sketches
//! stay within the same bound in practice (see the tests).
//!
//! # Randomness
//!
//! The offsets come from a SplitMix64 generator with a constant seed that also absorbs the bits
//! of the values compacted at level 0. The same input therefore always gives the same sketch, yet
//! sketches of different data (parts of one file read by different threads) draw different
//! offsets, which keeps their errors independent when they are merged. Sketches of *identical*
//! data draw identical offsets; give them different seeds with [`QuantileSketch::with_seed`] when
//! that matters.

/// The default accuracy parameter: the capacity of the top level.
const DEFAULT_K: usize = 500;

/// No level is ever smaller than this, so compactions are never too small to be worth it.
const MIN_WIDTH: usize = 8;

/// Each level below the top has this fraction of the capacity of the level above it.
const CAPACITY_RATIO: f64 = 2.0 / 3.0;

/// `ln(2/δ)` for the per-query failure probability `δ = 10⁻⁴` of [`QuantileSketch::rank_error`].
const LN_2_OVER_DELTA: f64 = 9.903_487_552_536_127;

/// The generator's starting state (any constant will do; this is the SplitMix64 increment).
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// A mergeable quantile sketch of `f64` values (KLL); see the [module documentation](self) for
/// the algorithm and its error bound.
#[derive(Debug, Clone)]
pub struct QuantileSketch {
    /// The capacity of the top level.
    k: usize,
    /// `levels[h]` holds items of weight `2^h`. Level 0 is unsorted; the others are kept sorted
    /// so that compacting them needs no sort.
    levels: Vec<Vec<f64>>,
    /// `capacities[h]`: the capacity of level `h` for the current number of levels.
    capacities: Vec<usize>,
    /// The sum of `capacities`.
    capacity: usize,
    /// How many items the levels hold.
    retained: usize,
    /// How many values were inserted (exact).
    count: u64,
    /// The smallest value inserted (`+∞` while empty).
    min: f64,
    /// The largest value inserted (`−∞` while empty).
    max: f64,
    /// `Σ w²` over every compaction, the variance proxy of the rank error.
    variance: f64,
    /// `Σ w` over every compaction, a bound on the rank error that always holds.
    spread: f64,
    /// The SplitMix64 state that draws the compaction offsets.
    rng: u64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// An empty sketch with the default accuracy (`k = 500`, rank error at most 0.5%).
    pub fn new() -> Self {
        Self::with_k(DEFAULT_K)
    }

    /// An empty sketch whose top level holds `k` items (at least 8). The rank error of a single
    /// stream is at most `2.5/k`; memory is about `3k` items.
    pub fn with_k(k: usize) -> Self {
        let k = k.max(MIN_WIDTH);
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
        self.rng = mix64(SEED ^ mix64(seed));
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
            level.push(value);
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
        self.rng = mix64(self.rng ^ other.rng.rotate_left(29));
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

    /// How many items the sketch holds (its memory use, in `f64`s).
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
        ranks.iter().map(|&rank| view.quantile(rank, self)).collect()
    }

    /// The bound on the normalized rank error of the answers, as a fraction of
    /// [`count`](Self::count): `√(2V·ln(2/δ)) / count` with `δ = 10⁻⁴` and `V` the sum of the
    /// squared weights of every compaction so far (see the [module documentation](self)). Each
    /// quantile's true rank is within this of the asked rank, and each rank estimated by
    /// [`cdf_counts`](Self::cdf_counts) is within this times `count` of the true count, each
    /// with probability at least `1 − 10⁻⁴`. At most `2.5/k` (0.005 for the default `k`) for a
    /// single stream; `0.0` while the sketch is exact.
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
            let bits = level.iter().fold(0u64, |sum, v| sum.wrapping_add(v.to_bits()));
            self.rng ^= mix64(bits);
            level.sort_unstable_by(f64::total_cmp);
        }
        self.rng = self.rng.wrapping_add(SEED);
        let offset = (mix64(self.rng) >> 63) as usize;

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
        let mut items: Vec<(f64, u64)> = Vec::with_capacity(self.retained);
        for (h, level) in self.levels.iter().enumerate() {
            let weight = 1u64 << h;
            items.extend(level.iter().map(|&value| (value, weight)));
        }
        items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut total = 0;
        let (values, cumulative) = items
            .into_iter()
            .map(|(value, weight)| {
                total += weight;
                (value, total)
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
fn merge_sorted_into(into: &mut Vec<f64>, from: &[f64]) {
    let mut i = into.len();
    let mut j = from.len();
    into.resize(i + j, 0.0);
    let mut write = i + j;
    while j > 0 {
        write -= 1;
        if i > 0 && into[i - 1] > from[j - 1] {
            into[write] = into[i - 1];
            i -= 1;
        } else {
            into[write] = from[j - 1];
            j -= 1;
        }
    }
}

/// The SplitMix64 output function: a bijective, well-mixed hash of a 64-bit word.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
