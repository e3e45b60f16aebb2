//! Frequencies of string values in bounded memory: exact while a feature has few distinct
//! values, Space-Saving and HyperLogLog once it has many.
//!
//! # Exact mode
//!
//! While at most `capacity` distinct values have been seen, a hash map holds every value with its
//! exact count, so the distinct count, the top values and the full list of values are exact.
//!
//! # Approximate mode
//!
//! The first value beyond `capacity` turns the map into two sketches:
//!
//! * **Space-Saving** (Metwally, Agrawal, El Abbadi 2005) keeps `capacity` counters. A value that
//!   has a counter increments it; a new value takes over the counter with the smallest count `c`,
//!   starting at `c + 1` and remembering `c` as its possible overcount. Hence every reported count
//!   is at least the true count and at most [`FrequentValues::error_bound`] more, and a value
//!   without a counter occurs at most `error_bound` times. The bound is at most
//!   `count / capacity` (`2·count / capacity` after merges), so every value more frequent than
//!   that is reported. Two summaries merge by
//!   adding counts (a value missing from one side counts as that side's bound, which is also added
//!   to its possible overcount) and keeping the `capacity` largest (Agarwal et al., "Mergeable
//!   summaries", 2012). The counters sit in a Stream-Summary (buckets of equal counts in a
//!   linked list ordered by count, as in the paper) under an open-addressing index, so an update
//!   costs one hash, one probe and O(1) list moves, and the smallest counter is always at hand.
//! * **HyperLogLog** (Flajolet et al. 2007) with precision 14: 2¹⁴ one-byte registers (16 KB),
//!   each keeping the largest "leading zeros + 1" of the 64-bit hashes routed to it. The distinct
//!   count is estimated with Ertl's improved raw estimator ("New cardinality estimation algorithms
//!   for HyperLogLog sketches", 2017), which needs no bias tables and is accurate from 0 to
//!   billions. Its relative standard error is `1.04/√2¹⁴ ≈ 0.81%`. The registers are filled from
//!   the exact map's values at the switch and from every value after it, so the estimate covers
//!   every value; two HyperLogLogs merge by taking the larger of each register.
//!
//! Hashing uses [`WordHasher`](crate::hash::WordHasher), a word-at-a-time multiply-and-fold
//! hasher with a SplitMix64 finish: it needs no random state (the same input gives the same
//! sketch, run after run) and its output is mixed well enough for HyperLogLog, which reads the
//! hash bits directly.
//!
//! Cost, in an optimised build: about 45 ns per value in exact mode and 85 ns in approximate
//! mode (one hash for both sketches, then no allocation unless a counter changes hands, and not
//! even then when its buffer is large enough). Memory in approximate mode: the counters (about
//! 60 bytes plus the value each), a 16-byte-per-counter index and the 16 KB of registers.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};

use crate::hash::WordHashBuilder;

/// How many distinct values [`FrequentValues::new`] tracks exactly.
const DEFAULT_CAPACITY: usize = 10_000;

/// The largest capacity: counters are numbered with `u32`s.
const MAX_CAPACITY: usize = 1 << 30;

/// HyperLogLog precision: `2^PRECISION` registers.
const PRECISION: u32 = 14;

/// The number of HyperLogLog registers.
const REGISTERS: usize = 1 << PRECISION;

/// The hash bits left after the register index.
const REMAINING_BITS: u32 = 64 - PRECISION;

/// "No counter" or "no bucket" in the Stream-Summary's links.
const NONE: u32 = u32::MAX;

/// The exact counts.
type ExactCounts = HashMap<Box<str>, u64, WordHashBuilder>;

/// Frequencies of string values: count, distinct count, most frequent values, mean length. Exact
/// up to `capacity` distinct values, then approximate with a known error; see the
/// [module documentation](self).
///
/// A profile read back (from a statistics shard) is checked first: its capacity is in range, its
/// exact counts add up to its count, an approximate summary has exactly `capacity` counters
/// none of which counts more than every value, and its links and index are rebuilt from the
/// counters rather than trusted — so a damaged file is refused rather than indexed out of bounds
/// or sized from a number in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "FrequentValuesFields")]
pub struct FrequentValues {
    /// How many distinct values are tracked exactly (and how many Space-Saving counters).
    capacity: usize,
    /// How many values were inserted.
    count: u64,
    /// Their total length in characters.
    chars: u64,
    /// The counts, exact or approximate.
    counts: Counts,
}

/// The two modes.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Counts {
    /// Every value with its count.
    Exact(ExactCounts),
    /// Heavy hitters and a distinct-count sketch (boxed: the exact mode is the common one).
    Approximate(Box<Approximate>),
}

/// The approximate mode's two sketches.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Approximate {
    summary: SpaceSaving,
    distinct: HyperLogLog,
}

/// A [`FrequentValues`]' fields as written, checked before they become a profile.
#[derive(Deserialize)]
struct FrequentValuesFields {
    capacity: usize,
    count: u64,
    chars: u64,
    counts: Counts,
}

impl TryFrom<FrequentValuesFields> for FrequentValues {
    type Error = String;

    fn try_from(fields: FrequentValuesFields) -> Result<Self, String> {
        if !(1..=MAX_CAPACITY).contains(&fields.capacity) {
            return Err(format!(
                "a value profile's capacity is {}, not between 1 and {MAX_CAPACITY}",
                fields.capacity
            ));
        }
        match &fields.counts {
            Counts::Exact(counts) => {
                let total = counts
                    .values()
                    .try_fold(0_u64, |total, &count| total.checked_add(count));
                if counts.len() > fields.capacity || total != Some(fields.count) {
                    return Err(format!(
                        "an exact value profile of capacity {} holds {} values counting {total:?}, \
                         and says it counts {}",
                        fields.capacity,
                        counts.len(),
                        fields.count
                    ));
                }
            }
            Counts::Approximate(approximate) => {
                let summary = &approximate.summary;
                if summary.capacity != fields.capacity {
                    return Err("a value profile and its summary differ in capacity".to_owned());
                }
                let too_large = summary.floor > fields.count
                    || summary
                        .entries()
                        .any(|entry| entry.count > fields.count || entry.error > entry.count);
                if too_large {
                    return Err(format!(
                        "a value summary counts more than the {} values of its profile",
                        fields.count
                    ));
                }
            }
        }
        Ok(FrequentValues {
            capacity: fields.capacity,
            count: fields.count,
            chars: fields.chars,
            counts: fields.counts,
        })
    }
}

impl Default for FrequentValues {
    fn default() -> Self {
        Self::new()
    }
}

impl FrequentValues {
    /// An empty profile tracking up to 10,000 distinct values exactly.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty profile tracking up to `capacity` distinct values exactly (at least 1, at most
    /// 2³⁰), and as many Space-Saving counters afterwards.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.clamp(1, MAX_CAPACITY),
            count: 0,
            chars: 0,
            counts: Counts::Exact(ExactCounts::default()),
        }
    }

    /// How many distinct values are tracked exactly.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds one occurrence of `value`.
    pub fn insert(&mut self, value: &str) {
        self.count += 1;
        self.chars += char_count(value);
        match &mut self.counts {
            Counts::Exact(counts) => {
                // Look up by `&str` first: a value already seen costs no allocation.
                if let Some(count) = counts.get_mut(value) {
                    *count += 1;
                } else if counts.len() < self.capacity {
                    counts.insert(value.into(), 1);
                } else {
                    let mut approximate =
                        Approximate::from_exact(std::mem::take(counts), self.capacity);
                    approximate.insert(value);
                    self.counts = Counts::Approximate(Box::new(approximate));
                }
            }
            Counts::Approximate(approximate) => approximate.insert(value),
        }
    }

    /// Adds every value of `other`. Two exact profiles stay exact when their union has at most
    /// `capacity` distinct values (`self`'s capacity); otherwise the result is approximate, with
    /// an error bound that adds up both sides' bounds.
    pub fn merge(&mut self, other: &FrequentValues) {
        self.count += other.count;
        // Lengths are not bounded by the count (a profile read back may claim any).
        self.chars = self.chars.saturating_add(other.chars);
        let capacity = self.capacity;
        match (&mut self.counts, &other.counts) {
            (Counts::Exact(counts), Counts::Exact(theirs)) => {
                for (value, &count) in theirs {
                    if let Some(mine) = counts.get_mut(&**value) {
                        *mine += count;
                    } else {
                        counts.insert(value.clone(), count);
                    }
                }
                if counts.len() > capacity {
                    let approximate = Approximate::from_exact(std::mem::take(counts), capacity);
                    self.counts = Counts::Approximate(Box::new(approximate));
                }
            }
            (Counts::Exact(counts), Counts::Approximate(theirs)) => {
                let mut approximate = Approximate::from_exact(std::mem::take(counts), capacity);
                approximate.merge(theirs);
                self.counts = Counts::Approximate(Box::new(approximate));
            }
            (Counts::Approximate(approximate), Counts::Exact(theirs)) => {
                approximate.merge_exact(theirs);
            }
            (Counts::Approximate(approximate), Counts::Approximate(theirs)) => {
                approximate.merge(theirs);
            }
        }
    }

    /// How many values were inserted (exact).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether the counts are exact (at most `capacity` distinct values so far).
    pub fn is_exact(&self) -> bool {
        matches!(self.counts, Counts::Exact(_))
    }

    /// How many distinct values were inserted: exact while [`is_exact`](Self::is_exact),
    /// otherwise the HyperLogLog estimate (relative standard error 0.81%).
    pub fn distinct(&self) -> u64 {
        match &self.counts {
            Counts::Exact(counts) => counts.len() as u64,
            Counts::Approximate(approximate) => {
                let estimate = approximate.distinct.estimate().round() as u64;
                // Every monitored value was seen, and there are no more values than insertions.
                let seen = approximate.summary.counters.len() as u64;
                estimate.clamp(seen.min(self.count), self.count)
            }
        }
    }

    /// The `k` most frequent values with their counts, most frequent first, ties by value
    /// (ascending, by bytes). Exact while [`is_exact`](Self::is_exact); otherwise each count is
    /// at least the true count and at most [`error_bound`](Self::error_bound) more, and only
    /// the `capacity` values with counters can be listed.
    pub fn top(&self, k: usize) -> Vec<(String, u64)> {
        let mut entries: Vec<(&str, u64)> = match &self.counts {
            Counts::Exact(counts) => counts
                .iter()
                .map(|(value, &count)| (&**value, count))
                .collect(),
            Counts::Approximate(approximate) => approximate
                .summary
                .entries()
                .map(|entry| (entry.value, entry.count))
                .collect(),
        };
        let order = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if k < entries.len() {
            // Only the first k need sorting.
            entries.select_nth_unstable_by(k, order);
            entries.truncate(k);
        }
        entries.sort_unstable_by(order);
        entries
            .into_iter()
            .map(|(value, count)| (value.to_owned(), count))
            .collect()
    }

    /// Every value with its exact count, in no particular order; `None` once the counts are
    /// approximate.
    pub fn iter_exact(&self) -> Option<impl Iterator<Item = (&str, u64)> + '_> {
        match &self.counts {
            Counts::Exact(counts) => Some(counts.iter().map(|(value, &count)| (&**value, count))),
            Counts::Approximate(_) => None,
        }
    }

    /// The largest possible overcount of a count reported by [`top`](Self::top), which is also
    /// the largest possible count of a value `top` cannot list: 0 while exact, at most
    /// `count / capacity` for a single stream and `2·count / capacity` after merges.
    pub fn error_bound(&self) -> u64 {
        match &self.counts {
            Counts::Exact(_) => 0,
            Counts::Approximate(approximate) => approximate.summary.floor,
        }
    }

    /// The mean length of the values in characters (Unicode scalar values), 0 when empty.
    pub fn mean_length(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.chars as f64 / self.count as f64
        }
    }
}

/// The number of characters of `value`, without decoding when it is ASCII.
fn char_count(value: &str) -> u64 {
    if value.is_ascii() {
        value.len() as u64
    } else {
        value.chars().count() as u64
    }
}

impl Approximate {
    /// Both sketches of the exact `counts` (at most `capacity` of them kept as counters).
    fn from_exact(counts: ExactCounts, capacity: usize) -> Self {
        let mut distinct = HyperLogLog::new();
        let entries = counts
            .into_iter()
            .map(|(value, count)| {
                let hash = hash_str(&value);
                distinct.insert(hash);
                Entry {
                    value: value.into(),
                    hash,
                    count,
                    error: 0,
                }
            })
            .collect();
        Self {
            summary: SpaceSaving::from_entries(entries, 0, capacity),
            distinct,
        }
    }

    /// Adds one occurrence of `value`, hashing it once for both sketches.
    fn insert(&mut self, value: &str) {
        let hash = hash_str(value);
        self.distinct.insert(hash);
        self.summary.insert(value, hash);
    }

    /// Adds the values of an exact profile.
    fn merge_exact(&mut self, other: &ExactCounts) {
        let entries: Vec<EntryRef<'_>> = other
            .iter()
            .map(|(value, &count)| {
                let hash = hash_str(value);
                self.distinct.insert(hash);
                EntryRef {
                    value,
                    hash,
                    count,
                    error: 0,
                }
            })
            .collect();
        self.summary.merge(entries, 0);
    }

    /// Adds `other`'s values.
    fn merge(&mut self, other: &Approximate) {
        self.distinct.merge(&other.distinct);
        self.summary
            .merge(other.summary.entries(), other.summary.floor);
    }
}

/// Space-Saving counters in a Stream-Summary: counters of equal count share a bucket, the
/// buckets form a list ordered by count (so the smallest counter is the lowest bucket's first),
/// and an open-addressing table finds a value's counter.
///
/// Read back, only the counters' values, counts and overcounts are taken from the file (each
/// counter's bucket must exist); the buckets, links and index are built anew from them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SpaceSavingFields")]
struct SpaceSaving {
    /// The most counters kept.
    capacity: usize,
    /// The counters (at most `capacity`).
    counters: Vec<Counter>,
    /// The buckets, linked in increasing count order from `lowest`; unused ones are in
    /// `free_buckets`.
    buckets: Vec<Bucket>,
    /// Buckets to reuse.
    free_buckets: Vec<u32>,
    /// The bucket with the smallest count, `NONE` without counters.
    lowest: u32,
    /// The index: linear probing over a power-of-two table at most half full. An entry is
    /// `(hash >> 32) << 32 | (counter + 1)`, 0 when empty; the slot probing starts from is
    /// taken from the high hash bits, so an entry knows its own starting slot.
    table: Vec<u64>,
    /// No counter overcounts by more than this, no value without a counter occurs more often
    /// than this, and every counter's count is at least this.
    floor: u64,
}

/// A [`SpaceSaving`]'s fields as written: the counters are checked and rebuilt into a summary.
#[derive(Deserialize)]
struct SpaceSavingFields {
    capacity: usize,
    counters: Vec<Counter>,
    buckets: Vec<Bucket>,
    floor: u64,
}

impl TryFrom<SpaceSavingFields> for SpaceSaving {
    type Error = String;

    fn try_from(fields: SpaceSavingFields) -> Result<Self, String> {
        if fields.counters.len() > fields.capacity || fields.capacity > MAX_CAPACITY {
            return Err(format!(
                "a value summary of capacity {} holds {} counters",
                fields.capacity,
                fields.counters.len()
            ));
        }
        let mut entries = Vec::with_capacity(fields.counters.len());
        let mut values = std::collections::HashSet::with_capacity(fields.counters.len());
        for counter in fields.counters {
            let Some(bucket) = fields.buckets.get(counter.bucket as usize) else {
                return Err(format!(
                    "a value summary's counter names bucket {} of {}",
                    counter.bucket,
                    fields.buckets.len()
                ));
            };
            if !values.insert(counter.value.clone()) {
                return Err(format!("a value summary counts `{}` twice", counter.value));
            }
            entries.push(Entry {
                hash: hash_str(&counter.value),
                value: counter.value,
                count: bucket.count,
                error: counter.error,
            });
        }
        Ok(SpaceSaving::from_entries(
            entries,
            fields.floor,
            fields.capacity,
        ))
    }
}

/// One Space-Saving counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counter {
    /// The value monitored (its buffer is reused when the counter changes hands).
    value: String,
    /// The value's hash.
    hash: u64,
    /// How much the count may exceed the value's true count.
    error: u64,
    /// The bucket holding it (whose count is its count).
    bucket: u32,
    /// The previous counter in the bucket.
    prev: u32,
    /// The next counter in the bucket.
    next: u32,
}

/// Counters of one count.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Bucket {
    /// Their count.
    count: u64,
    /// The first of its counters.
    first: u32,
    /// The bucket with the next smaller count.
    prev: u32,
    /// The bucket with the next larger count.
    next: u32,
}

/// A value with its count and possible overcount, owned.
struct Entry {
    value: String,
    hash: u64,
    count: u64,
    error: u64,
}

/// A value with its count and possible overcount, borrowed.
struct EntryRef<'a> {
    value: &'a str,
    hash: u64,
    count: u64,
    error: u64,
}

impl SpaceSaving {
    /// Counters for the `capacity` largest entries (ties by value); `floor` bounds the count of
    /// any value not among the entries.
    fn from_entries(mut entries: Vec<Entry>, floor: u64, capacity: usize) -> Self {
        let by_count_descending =
            |a: &Entry, b: &Entry| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value));
        let mut floor = floor;
        if entries.len() > capacity {
            entries.select_nth_unstable_by(capacity, by_count_descending);
            // The dropped values lose their counters: the floor must bound them too. (They
            // count no more than any kept one, so every kept count stays at least the floor.)
            let dropped = entries.split_off(capacity);
            floor = dropped
                .iter()
                .map(|entry| entry.count)
                .fold(floor, u64::max);
        }
        // Ascending, so that buckets are appended in order.
        entries.sort_unstable_by(|a, b| by_count_descending(b, a));
        let mut summary = Self {
            capacity,
            counters: Vec::with_capacity(entries.len()),
            buckets: Vec::new(),
            free_buckets: Vec::new(),
            lowest: NONE,
            // Sized by the counters there are, not the capacity: a summary read back may claim
            // any capacity, and one that is not full grows its index as counters come.
            table: vec![0; table_size(entries.len())],
            floor,
        };
        let mut last = NONE;
        for entry in entries {
            if last == NONE || summary.buckets[last as usize].count != entry.count {
                last = summary.new_bucket(entry.count, last, NONE);
            }
            let i = summary.counters.len() as u32;
            summary.counters.push(Counter {
                value: entry.value,
                hash: entry.hash,
                error: entry.error,
                bucket: NONE,
                prev: NONE,
                next: NONE,
            });
            summary.link(i, last);
            summary.table_insert(entry.hash, i);
        }
        summary
    }

    /// The counters as entries.
    fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        self.counters.iter().map(|counter| EntryRef {
            value: &counter.value,
            hash: counter.hash,
            count: self.buckets[counter.bucket as usize].count,
            error: counter.error,
        })
    }

    /// Adds one occurrence of `value`, whose hash is `hash`.
    fn insert(&mut self, value: &str, hash: u64) {
        if let Some(i) = self.find(hash, value) {
            self.increment(i);
            return;
        }
        if self.counters.len() < self.capacity {
            // Room left (after merging a smaller profile): the value may already have occurred
            // up to `floor` times.
            let i = self.counters.len() as u32;
            self.counters.push(Counter {
                value: value.to_owned(),
                hash,
                error: self.floor,
                bucket: NONE,
                prev: NONE,
                next: NONE,
            });
            let bucket = self.bucket_for(self.floor + 1);
            self.link(i, bucket);
            if self.table.len() < table_size(self.counters.len()) {
                self.rebuild_table();
            } else {
                self.table_insert(hash, i);
            }
            return;
        }
        // Take over a counter with the smallest count `c`: its value may have occurred `c`
        // times, and so may the new value before now (the floor never exceeds `c`).
        let Some(lowest) = self.buckets.get(self.lowest as usize) else {
            return;
        };
        let (i, count) = (lowest.first, lowest.count);
        self.floor = self.floor.max(count);
        let old_hash = self.counters[i as usize].hash;
        self.table_remove(old_hash, i);
        let counter = &mut self.counters[i as usize];
        counter.value.clear();
        counter.value.push_str(value);
        counter.hash = hash;
        counter.error = self.floor;
        self.table_insert(hash, i);
        self.increment(i);
    }

    /// Adds another summary's (or an exact profile's) entries: a value one side has no counter
    /// for counts as that side's floor, in its count and in its possible overcount; then the
    /// `capacity` largest are kept.
    fn merge<'a>(&mut self, other: impl IntoIterator<Item = EntryRef<'a>>, other_floor: u64) {
        let mut totals: Vec<(u64, u64, bool)> = self
            .entries()
            .map(|entry| (entry.count, entry.error, false))
            .collect();
        let mut extra = Vec::new();
        for entry in other {
            match self.find(entry.hash, entry.value) {
                Some(i) => {
                    let total = &mut totals[i as usize];
                    total.0 += entry.count;
                    total.1 += entry.error;
                    total.2 = true;
                }
                None => extra.push(Entry {
                    value: entry.value.to_owned(),
                    hash: entry.hash,
                    count: entry.count + self.floor,
                    error: entry.error + self.floor,
                }),
            }
        }
        let floor = self.floor + other_floor;
        let mut entries: Vec<Entry> = std::mem::take(&mut self.counters)
            .into_iter()
            .zip(totals)
            .map(|(counter, (count, error, matched))| {
                let missing = if matched { 0 } else { other_floor };
                Entry {
                    value: counter.value,
                    hash: counter.hash,
                    count: count + missing,
                    error: error + missing,
                }
            })
            .collect();
        entries.extend(extra);
        *self = Self::from_entries(entries, floor, self.capacity);
    }

    /// Adds one to counter `i`'s count, moving it to the next bucket.
    fn increment(&mut self, i: u32) {
        let bucket = self.counters[i as usize].bucket;
        let Bucket { count, next, .. } = self.buckets[bucket as usize];
        let count = count + 1;
        let next_fits = next != NONE && self.buckets[next as usize].count == count;
        let alone =
            self.buckets[bucket as usize].first == i && self.counters[i as usize].next == NONE;
        if alone && !next_fits {
            // The bucket can simply take the new count: the order of buckets still holds.
            self.buckets[bucket as usize].count = count;
            return;
        }
        let target = if next_fits {
            next
        } else {
            self.new_bucket(count, bucket, next)
        };
        self.unlink(i);
        if self.buckets[bucket as usize].first == NONE {
            self.remove_bucket(bucket);
        }
        self.link(i, target);
    }

    /// The bucket of count `count`, made if missing. Walks from the lowest bucket: only used for
    /// `floor + 1`, which is at most one bucket away since every count is at least the floor.
    fn bucket_for(&mut self, count: u64) -> u32 {
        let mut prev = NONE;
        let mut bucket = self.lowest;
        while bucket != NONE && self.buckets[bucket as usize].count < count {
            prev = bucket;
            bucket = self.buckets[bucket as usize].next;
        }
        if bucket != NONE && self.buckets[bucket as usize].count == count {
            bucket
        } else {
            self.new_bucket(count, prev, bucket)
        }
    }

    /// A new, empty bucket of count `count` between `prev` and `next`.
    fn new_bucket(&mut self, count: u64, prev: u32, next: u32) -> u32 {
        let bucket = Bucket {
            count,
            first: NONE,
            prev,
            next,
        };
        let b = if let Some(b) = self.free_buckets.pop() {
            self.buckets[b as usize] = bucket;
            b
        } else {
            self.buckets.push(bucket);
            (self.buckets.len() - 1) as u32
        };
        if prev == NONE {
            self.lowest = b;
        } else {
            self.buckets[prev as usize].next = b;
        }
        if next != NONE {
            self.buckets[next as usize].prev = b;
        }
        b
    }

    /// Unlinks the (empty) bucket `b` and keeps it for reuse.
    fn remove_bucket(&mut self, b: u32) {
        let Bucket { prev, next, .. } = self.buckets[b as usize];
        if prev == NONE {
            self.lowest = next;
        } else {
            self.buckets[prev as usize].next = next;
        }
        if next != NONE {
            self.buckets[next as usize].prev = prev;
        }
        self.free_buckets.push(b);
    }

    /// Puts counter `i` first in bucket `b`.
    fn link(&mut self, i: u32, b: u32) {
        let first = self.buckets[b as usize].first;
        let counter = &mut self.counters[i as usize];
        counter.bucket = b;
        counter.prev = NONE;
        counter.next = first;
        if first != NONE {
            self.counters[first as usize].prev = i;
        }
        self.buckets[b as usize].first = i;
    }

    /// Takes counter `i` out of its bucket.
    fn unlink(&mut self, i: u32) {
        let Counter {
            bucket, prev, next, ..
        } = self.counters[i as usize];
        if prev == NONE {
            self.buckets[bucket as usize].first = next;
        } else {
            self.counters[prev as usize].next = next;
        }
        if next != NONE {
            self.counters[next as usize].prev = prev;
        }
    }

    /// Sizes the index for the counters there are and indexes every one.
    fn rebuild_table(&mut self) {
        self.table = vec![0; table_size(self.counters.len())];
        for i in 0..self.counters.len() {
            let hash = self.counters[i].hash;
            self.table_insert(hash, i as u32);
        }
    }

    /// The slot where the search for `hash` starts.
    fn home(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.table.len() - 1)
    }

    /// The counter of `value`, if any.
    fn find(&self, hash: u64, value: &str) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut slot = self.home(hash);
        loop {
            let entry = self.table[slot];
            if entry == 0 {
                return None;
            }
            // Compare the stored high hash bits first: a string comparison only on a likely hit.
            if entry >> 32 == hash >> 32 {
                let i = (entry as u32) - 1;
                if self.counters[i as usize].value == value {
                    return Some(i);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Indexes counter `i` under `hash`.
    fn table_insert(&mut self, hash: u64, i: u32) {
        let mask = self.table.len() - 1;
        let mut slot = self.home(hash);
        while self.table[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        self.table[slot] = (hash >> 32 << 32) | u64::from(i + 1);
    }

    /// Removes counter `i`, indexed under `hash`, shifting later entries of the probe run back
    /// into the gap (no tombstones, so lookups never slow down with churn).
    fn table_remove(&mut self, hash: u64, i: u32) {
        let mask = self.table.len() - 1;
        let wanted = (hash >> 32 << 32) | u64::from(i + 1);
        let mut hole = self.home(hash);
        while self.table[hole] != wanted {
            if self.table[hole] == 0 {
                return;
            }
            hole = (hole + 1) & mask;
        }
        let mut slot = hole;
        loop {
            slot = (slot + 1) & mask;
            let entry = self.table[slot];
            if entry == 0 {
                break;
            }
            // The entry may move back into the hole unless its home lies after the hole (in
            // probe order), where a lookup would no longer pass the hole.
            let home = (entry >> 32) as usize & mask;
            if slot.wrapping_sub(home) & mask >= slot.wrapping_sub(hole) & mask {
                self.table[hole] = entry;
                hole = slot;
            }
        }
        self.table[hole] = 0;
    }
}

/// The size of an index of `counters` counters: a power of two, at most half full.
fn table_size(counters: usize) -> usize {
    (2 * counters).next_power_of_two().max(16)
}

/// A HyperLogLog distinct-count sketch with `2^PRECISION` registers (read back, it must have
/// exactly that many, each at most the largest rank).
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "HyperLogLogFields")]
struct HyperLogLog {
    /// Register `i` holds the largest rank (leading zeros + 1 of the bits after the index) of
    /// the hashes whose top bits are `i`.
    registers: Box<[u8]>,
}

/// A [`HyperLogLog`]'s fields as written.
#[derive(Deserialize)]
struct HyperLogLogFields {
    registers: Box<[u8]>,
}

impl TryFrom<HyperLogLogFields> for HyperLogLog {
    type Error = String;

    fn try_from(fields: HyperLogLogFields) -> Result<Self, String> {
        let largest_rank = REMAINING_BITS as u8 + 1;
        if fields.registers.len() != REGISTERS
            || fields.registers.iter().any(|&rank| rank > largest_rank)
        {
            return Err(format!(
                "a distinct-count sketch needs {REGISTERS} registers of at most {largest_rank}"
            ));
        }
        Ok(HyperLogLog {
            registers: fields.registers,
        })
    }
}

impl fmt::Debug for HyperLogLog {
    // 16,384 registers would drown any debug output: show what they amount to.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperLogLog")
            .field("precision", &PRECISION)
            .field("estimate", &self.estimate())
            .finish()
    }
}

impl HyperLogLog {
    fn new() -> Self {
        Self {
            registers: vec![0; REGISTERS].into_boxed_slice(),
        }
    }

    /// Adds a value by its 64-bit hash.
    fn insert(&mut self, hash: u64) {
        let index = (hash >> REMAINING_BITS) as usize;
        let rest = hash << PRECISION;
        // All-zero remaining bits get the largest rank, REMAINING_BITS + 1.
        let rank = rest.leading_zeros().min(REMAINING_BITS) + 1;
        if let Some(register) = self.registers.get_mut(index) {
            *register = (*register).max(rank as u8);
        }
    }

    /// Adds `other`'s values.
    fn merge(&mut self, other: &HyperLogLog) {
        for (mine, &theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(theirs);
        }
    }

    /// The estimated number of distinct values: Ertl's improved raw estimator,
    /// `m² / (2 ln 2 · z)` where `z` corrects the harmonic sum of the registers for the registers
    /// still empty (`σ`) and for those at the largest rank (`τ`).
    fn estimate(&self) -> f64 {
        let q = REMAINING_BITS as usize;
        let mut histogram = [0u32; REMAINING_BITS as usize + 2];
        for &register in self.registers.iter() {
            if let Some(bucket) = histogram.get_mut(usize::from(register)) {
                *bucket += 1;
            }
        }
        let m = REGISTERS as f64;
        if histogram[0] as usize == REGISTERS {
            return 0.0;
        }
        let mut z = m * tau(1.0 - f64::from(histogram[q + 1]) / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(histogram[k]));
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        m * m / (2.0 * std::f64::consts::LN_2 * z)
    }
}

/// `σ(x) = x + Σ_{k≥1} x^(2^k) · 2^(k−1)`, for the share `x < 1` of empty registers.
fn sigma(mut x: f64) -> f64 {
    if x >= 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        // The terms vanish quickly; stop once they no longer change the sum.
        if z == previous {
            return z;
        }
    }
}

/// `τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² · 2^−k) / 3`, for the share `x` of registers below
/// the largest rank.
fn tau(mut x: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

/// The hash of a string for HyperLogLog: the same as the maps use.
fn hash_str(value: &str) -> u64 {
    WordHashBuilder.hash_one(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use super::*;
    use crate::hash::SplitMix64;

    /// `n` draws from a Zipf distribution (exponent 1) over `distinct` values, named so that
    /// their names do not follow their frequencies.
    fn zipf(n: usize, distinct: usize, seed: u64) -> Vec<String> {
        let mut cumulative = Vec::with_capacity(distinct);
        let mut total = 0.0;
        for i in 1..=distinct {
            total += 1.0 / i as f64;
            cumulative.push(total);
        }
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                let u = rng.next_unit() * total;
                let i = cumulative.partition_point(|&c| c < u).min(distinct - 1);
                format!(
                    "value-{:08x}",
                    (i as u64).wrapping_mul(0x9E37_79B9) % 1_000_000_007
                )
            })
            .collect()
    }

    fn profile_of<S: AsRef<str>>(values: &[S], capacity: usize) -> FrequentValues {
        let mut profile = FrequentValues::with_capacity(capacity);
        for value in values {
            profile.insert(value.as_ref());
        }
        profile
    }

    fn truth_of<S: AsRef<str>>(values: &[S]) -> BTreeMap<String, u64> {
        let mut truth = BTreeMap::new();
        for value in values {
            let value = value.as_ref();
            if let Some(count) = truth.get_mut(value) {
                *count += 1;
            } else {
                truth.insert(value.to_owned(), 1);
            }
        }
        truth
    }

    /// The `k` most frequent of `truth`, ties by value.
    fn true_top(truth: &BTreeMap<String, u64>, k: usize) -> Vec<(String, u64)> {
        let mut entries: Vec<(String, u64)> = truth
            .iter()
            .map(|(value, &count)| (value.clone(), count))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        entries.truncate(k);
        entries
    }

    /// The approximate-mode guarantees against the truth: every reported count is at least
    /// the true count and at most `error_bound` more, every value more frequent than the bound
    /// is reported, the true top 10 are the reported top 10 and the distinct count is within
    /// 3% (HyperLogLog's standard error is 0.81%).
    fn check_approximate(profile: &FrequentValues, truth: &BTreeMap<String, u64>, n: usize) {
        assert!(!profile.is_exact());
        assert!(profile.iter_exact().is_none());
        assert_eq!(profile.count(), n as u64);
        let bound = profile.error_bound();
        assert!(bound > 0);
        assert!(
            bound <= n as u64 / profile.capacity() as u64 * 2,
            "bound {bound}"
        );
        let reported = profile.top(usize::MAX);
        assert_eq!(reported.len(), profile.capacity());
        for (value, count) in &reported {
            let exact = truth.get(value).copied().unwrap_or(0);
            assert!(
                exact <= *count && *count <= exact + bound,
                "{value}: reported {count}, truly {exact}, bound {bound}"
            );
        }
        let known: HashSet<&str> = reported.iter().map(|(value, _)| value.as_str()).collect();
        for (value, &count) in truth {
            if count > bound {
                assert!(
                    known.contains(value.as_str()),
                    "{value} ({count}) is missing"
                );
            }
        }
        let top: Vec<String> = profile
            .top(10)
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        let expected: Vec<String> = true_top(truth, 10)
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        assert_eq!(top, expected);
        let distinct = profile.distinct() as f64;
        let exact = truth.len() as f64;
        assert!(
            (distinct - exact).abs() <= 0.03 * exact,
            "distinct {distinct}, truly {exact}"
        );
    }

    #[test]
    fn an_empty_profile_is_exact_and_empty() {
        let profile = FrequentValues::new();
        assert_eq!(profile.capacity(), DEFAULT_CAPACITY);
        assert_eq!(profile.count(), 0);
        assert_eq!(profile.distinct(), 0);
        assert!(profile.is_exact());
        assert!(profile.top(5).is_empty());
        assert_eq!(profile.iter_exact().unwrap().count(), 0);
        assert_eq!(profile.error_bound(), 0);
        assert_eq!(profile.mean_length(), 0.0);
    }

    #[test]
    fn exact_mode_matches_a_btree_map() {
        let mut rng = SplitMix64::new(1);
        let values: Vec<String> = (0..20_000)
            .map(|_| format!("v{}", (rng.next_unit() * rng.next_unit() * 700.0) as u32))
            .collect();
        let profile = profile_of(&values, 1_000);
        let truth = truth_of(&values);
        assert!(truth.len() > 500 && truth.len() <= 1_000);
        assert!(profile.is_exact());
        assert_eq!(profile.error_bound(), 0);
        assert_eq!(profile.count(), 20_000);
        assert_eq!(profile.distinct(), truth.len() as u64);
        for k in [0, 1, 5, 10, 100, truth.len(), truth.len() + 10] {
            assert_eq!(profile.top(k), true_top(&truth, k), "k = {k}");
        }
        let listed: BTreeMap<String, u64> = profile
            .iter_exact()
            .unwrap()
            .map(|(value, count)| (value.to_owned(), count))
            .collect();
        assert_eq!(listed, truth);
    }

    #[test]
    fn ties_are_broken_by_value() {
        let profile = profile_of(&["b", "a", "c", "b", "a", "d"], 10);
        assert_eq!(
            profile.top(3),
            vec![
                ("a".to_owned(), 2),
                ("b".to_owned(), 2),
                ("c".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn exactly_capacity_values_stay_exact_one_more_does_not() {
        let values: Vec<String> = (0..100).map(|i| format!("x{i}")).collect();
        let mut profile = profile_of(&values, 100);
        profile.insert("x5");
        assert!(profile.is_exact());
        assert_eq!(profile.distinct(), 100);
        profile.insert("new");
        assert!(!profile.is_exact());
        assert_eq!(profile.distinct(), 101);
        assert_eq!(profile.count(), 102);
        // The newcomer took over a counter of count 1, so it may have occurred twice: it ties
        // with x5 and comes first by value.
        assert_eq!(profile.error_bound(), 1);
        assert_eq!(
            profile.top(2),
            vec![("new".to_owned(), 2), ("x5".to_owned(), 2)]
        );
        assert_eq!(profile.top(usize::MAX).len(), 100);
    }

    #[test]
    fn a_zipf_stream_beyond_capacity_is_approximated_within_bounds() {
        let n = 200_000;
        let values = zipf(n, 50_000, 2);
        let truth = truth_of(&values);
        assert!(truth.len() > 20_000, "{}", truth.len());
        let profile = profile_of(&values, 1_000);
        check_approximate(&profile, &truth, n);
        // Space-Saving's bound for one stream.
        assert!(profile.error_bound() <= n as u64 / 1_000);
    }

    #[test]
    fn merging_exact_profiles_that_fit_stays_exact() {
        let left = ["a", "b", "a", "c"];
        let right = ["c", "d", "a"];
        let mut merged = profile_of(&left, 4);
        merged.merge(&profile_of(&right, 4));
        assert!(merged.is_exact());
        assert_eq!(merged.count(), 7);
        assert_eq!(merged.distinct(), 4);
        let all: Vec<&str> = left.iter().chain(&right).copied().collect();
        assert_eq!(merged.top(10), true_top(&truth_of(&all), 10));
        assert_eq!(merged.mean_length(), 1.0);
    }

    #[test]
    fn merging_exact_profiles_that_overflow_turns_approximate() {
        let left: Vec<String> = (0..80).map(|i| format!("l{}", i % 60)).collect();
        let right: Vec<String> = (0..80).map(|i| format!("r{}", i % 70)).collect();
        let mut merged = profile_of(&left, 100);
        merged.merge(&profile_of(&right, 100));
        assert!(!merged.is_exact());
        assert_eq!(merged.count(), 160);
        // A HyperLogLog estimate now, but a close one at this size.
        assert!(
            merged.distinct().abs_diff(130) <= 2,
            "{}",
            merged.distinct()
        );
        // The 20 + 10 values seen twice are kept, with exact counts; the dropped ones were seen
        // once.
        assert_eq!(merged.error_bound(), 1);
        let top = merged.top(30);
        assert!(top.iter().all(|(_, count)| *count == 2));
        assert_eq!(merged.top(usize::MAX).len(), 100);
    }

    #[test]
    fn merged_zipf_parts_are_approximated_within_bounds() {
        let n = 120_000;
        let values = zipf(n, 30_000, 3);
        let truth = truth_of(&values);
        let parts: Vec<FrequentValues> = values
            .chunks(n / 8)
            .map(|part| profile_of(part, 1_000))
            .collect();
        assert!(parts.iter().all(|part| !part.is_exact()));
        let mut merged = FrequentValues::with_capacity(1_000);
        for part in &parts {
            merged.merge(part);
        }
        check_approximate(&merged, &truth, n);

        // Many small exact parts merged into one (exact first, approximate later).
        let parts: Vec<FrequentValues> = values
            .chunks(500)
            .map(|part| profile_of(part, 1_000))
            .collect();
        assert!(parts.iter().all(FrequentValues::is_exact));
        let mut merged = FrequentValues::with_capacity(1_000);
        for part in &parts {
            merged.merge(part);
        }
        check_approximate(&merged, &truth, n);

        // An exact profile absorbing an approximate one.
        let (head, tail) = values.split_at(300);
        let mut merged = profile_of(head, 1_000);
        assert!(merged.is_exact());
        merged.merge(&profile_of(tail, 1_000));
        check_approximate(&merged, &truth, n);
    }

    #[test]
    fn merging_is_reproducible_and_order_insensitive_enough() {
        let values = zipf(50_000, 10_000, 4);
        let (left, right) = values.split_at(25_000);
        let mut ab = profile_of(left, 500);
        ab.merge(&profile_of(right, 500));
        let mut again = profile_of(left, 500);
        again.merge(&profile_of(right, 500));
        assert_eq!(ab.top(20), again.top(20));
        let mut ba = profile_of(right, 500);
        ba.merge(&profile_of(left, 500));
        // HyperLogLog merges are exactly commutative.
        assert_eq!(ab.distinct(), ba.distinct());
        let top_ab: Vec<String> = ab.top(5).into_iter().map(|(value, _)| value).collect();
        let top_ba: Vec<String> = ba.top(5).into_iter().map(|(value, _)| value).collect();
        assert_eq!(top_ab, top_ba);
    }

    #[test]
    fn mean_length_counts_characters() {
        let profile = profile_of(&["héllo", "日本", "", "abc", "🦀"], 10);
        assert_eq!(profile.mean_length(), (5 + 2 + 3 + 1) as f64 / 5.0);
        assert_eq!(char_count("naïve café"), 10);
    }

    #[test]
    fn hyperloglog_is_accurate_across_cardinalities() {
        for n in [1u64, 10, 100, 1_000, 10_000, 40_000, 100_000, 1_000_000] {
            let mut sketch = HyperLogLog::new();
            for i in 0..n {
                sketch.insert(hash_str(&format!("item {i}")));
                // Repeats do not count.
                if i % 3 == 0 {
                    sketch.insert(hash_str(&format!("item {i}")));
                }
            }
            let estimate = sketch.estimate();
            // Four standard errors (0.81% each), plus a little for tiny counts.
            let tolerance = 4.0 * 1.04 / (REGISTERS as f64).sqrt() * n as f64 + 0.5;
            assert!(
                (estimate - n as f64).abs() <= tolerance,
                "n = {n}: estimated {estimate}"
            );
        }
        assert_eq!(HyperLogLog::new().estimate(), 0.0);
    }

    /// Checks the Stream-Summary's links, order and index, and the floor's promises.
    fn check_invariants(summary: &SpaceSaving) {
        let mut bucket = summary.lowest;
        let mut prev = NONE;
        let mut last_count = None;
        let mut linked = 0;
        while bucket != NONE {
            let b = &summary.buckets[bucket as usize];
            assert_eq!(b.prev, prev);
            assert!(last_count < Some(b.count), "buckets out of order");
            assert!(b.count >= summary.floor);
            assert_ne!(b.first, NONE, "empty bucket left linked");
            let mut i = b.first;
            let mut before = NONE;
            while i != NONE {
                let counter = &summary.counters[i as usize];
                assert_eq!(counter.bucket, bucket);
                assert_eq!(counter.prev, before);
                assert!(counter.error <= summary.floor);
                assert_eq!(counter.hash, hash_str(&counter.value));
                assert_eq!(summary.find(counter.hash, &counter.value), Some(i));
                linked += 1;
                before = i;
                i = counter.next;
            }
            last_count = Some(b.count);
            prev = bucket;
            bucket = b.next;
        }
        assert_eq!(linked, summary.counters.len());
        let indexed = summary.table.iter().filter(|&&entry| entry != 0).count();
        assert_eq!(indexed, summary.counters.len());
    }

    /// Every counter brackets its value's true count, and no value without a counter is more
    /// frequent than the floor.
    fn check_counts(summary: &SpaceSaving, truth: &HashMap<String, u64>) {
        let mut monitored = HashSet::new();
        for entry in summary.entries() {
            let exact = truth.get(entry.value).copied().unwrap_or(0);
            assert!(entry.count - entry.error <= exact && exact <= entry.count);
            monitored.insert(entry.value);
        }
        for (value, &count) in truth {
            if !monitored.contains(value.as_str()) {
                assert!(
                    count <= summary.floor,
                    "{value}: {count} > {}",
                    summary.floor
                );
            }
        }
    }

    #[test]
    fn space_saving_keeps_its_invariants_under_churn() {
        let mut rng = SplitMix64::new(5);
        let mut profile = FrequentValues::with_capacity(7);
        let mut truth: HashMap<String, u64> = HashMap::new();
        for step in 1..=20_000u64 {
            let value = format!("{}", (rng.next_unit() * rng.next_unit() * 60.0) as u32);
            profile.insert(&value);
            *truth.entry(value).or_insert(0) += 1;
            let Counts::Approximate(approximate) = &profile.counts else {
                continue;
            };
            let summary = &approximate.summary;
            // Each insertion adds exactly one to the counts' total.
            let total: u64 = summary.entries().map(|entry| entry.count).sum();
            assert_eq!(total, step);
            if step % 7 == 0 {
                check_invariants(summary);
                check_counts(summary, &truth);
            }
        }
        assert!(profile.error_bound() <= 20_000 / 7);
    }

    #[test]
    fn merging_profiles_of_unequal_capacities_keeps_the_bounds() {
        let values = zipf(30_000, 2_000, 6);
        let (head, tail) = values.split_at(10_000);
        // A large exact profile absorbs a small approximate one: counters are left free.
        let mut merged = profile_of(&head[..200], 5_000);
        assert!(merged.is_exact());
        let small = profile_of(&head[200..], 50);
        assert!(!small.is_exact());
        merged.merge(&small);
        for value in tail {
            merged.insert(value);
        }
        let Counts::Approximate(approximate) = &merged.counts else {
            panic!("should be approximate");
        };
        check_invariants(&approximate.summary);
        let mut truth: HashMap<String, u64> = HashMap::new();
        for value in &values {
            *truth.entry(value.clone()).or_insert(0) += 1;
        }
        check_counts(&approximate.summary, &truth);
        assert_eq!(merged.count(), 30_000);
        let exact = truth.len() as f64;
        assert!((merged.distinct() as f64 - exact).abs() <= 0.03 * exact);
    }
}
