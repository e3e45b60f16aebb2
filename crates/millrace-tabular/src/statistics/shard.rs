//! Statistics by shards: each shard profiles a contiguous part of every split's row groups into
//! the same accumulators a single pass uses, writes them out, and a merge combines them into the
//! statistics document one pass over all the rows would give.
//!
//! **Algorithm.** Shard `i` of `n` reads the rows `[⌊i·N/n⌋, ⌊(i+1)·N/n⌋)` of a split of `N`
//! rows ([`crate::shard`]) — together the shards read each row once, in order — and profiles
//! them exactly as [`split_statistics`](super::split_statistics) does (several threads,
//! partial accumulators merged in input order). It writes its [`SplitAccumulator`]s, sketches
//! included, to [`SHARD_FILE`] (JSON; floating-point fields as their bits, so nothing is lost in
//! the round trip). [`merge_shards`] reads the shards' accumulators of each split in shard order
//! and merges them with the same `merge` the threads of one pass use, then finishes them.
//!
//! **Bound.** The accumulators are mergeable summaries, so the merged document is the one
//! document a single task computes over the same rows, up to how the merges were grouped:
//! counts, missing, zeros, NaN, min, max and string counts and lengths are exactly equal; mean
//! and standard deviation are combined with Chan et al.'s pairwise formula and agree to
//! floating-point rounding (relative differences usually about 1e-15, measured up to 1.4e-12
//! on a feature whose spread is tiny beside its mean); quantiles, histograms, the
//! most frequent values and distinct counts come from the KLL, Space-Saving and HyperLogLog
//! sketches, whose merges keep the error bounds of their modules
//! ([`quantile_sketch`](super::quantile_sketch), [`frequent_values`](super::frequent_values)):
//! each is within its stated error of the true figure, as the single task's is, though the two
//! may differ from each other within that error. Below the sketches' exact capacities (fewer
//! distinct strings than the capacity, fewer values than the quantile sketch's buffer) they are
//! exact too.
//!
//! **Cost.** Each shard reads `1/n` of the row groups, so the shards' wall time on `n` machines
//! is about `1/n` of one pass; a shard's file holds one accumulator per feature, bounded by the
//! sketches' sizes (kilobytes per numeric feature; up to the distinct-value capacity of strings
//! per string feature), not by the rows. The merge reads `n` such files and merges them:
//! `O(n · sketch size)` per feature, independent of the number of rows.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::accumulator::{SplitAccumulator, StatisticsOptions};
use super::model::DatasetStatistics;
use super::profile::profile_row_groups;
use crate::examples_format::{self, split_row_groups, split_schema};
use crate::shard::shard_row_groups;
use crate::{DataError, Result};

/// The file a statistics shard is written to, in its directory.
pub const SHARD_FILE: &str = "statistics_shard.json";

/// What one shard gathered: the accumulators of each split, over its row groups.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatisticsShard {
    /// Which shard, from 0.
    pub index: u32,
    /// How many shards.
    pub count: u32,
    /// The examples' span, if known.
    pub span: Option<i64>,
    /// Each split's accumulator, in the examples' split order.
    pub splits: Vec<SplitShard>,
}

/// One split's accumulator in a shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitShard {
    /// The split.
    pub name: String,
    /// What the shard's row groups of the split hold.
    pub accumulator: SplitAccumulator,
}

/// Profiles shard `index` of `count` of every split of the examples at `uri` on `threads`
/// threads.
pub fn shard_statistics(
    uri: &Path,
    split_names: Option<&str>,
    span: Option<i64>,
    (index, count): (u32, u32),
    threads: usize,
) -> Result<StatisticsShard> {
    let mut splits = Vec::new();
    for split in examples_format::splits_of(uri, split_names)? {
        let schema = split_schema(uri, &split)?;
        let mine = shard_row_groups(split_row_groups(uri, &split)?, index, count);
        let accumulator = profile_row_groups(mine, &schema, threads, Ok)?;
        splits.push(SplitShard {
            name: split,
            accumulator,
        });
    }
    Ok(StatisticsShard {
        index,
        count,
        span,
        splits,
    })
}

/// Writes `shard` to [`SHARD_FILE`] in `dir`.
pub fn write_shard(dir: &Path, shard: &StatisticsShard) -> Result<()> {
    let path = dir.join(SHARD_FILE);
    let text = serde_json::to_vec(shard).map_err(|error| DataError::File {
        file: path.display().to_string(),
        message: format!("the shard could not be written: {error}"),
    })?;
    std::fs::write(&path, text).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads the shard in `dir`, written by [`write_shard`].
pub fn read_shard(dir: &Path) -> Result<StatisticsShard> {
    let path = dir.join(SHARD_FILE);
    let text = std::fs::read(&path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|error| DataError::File {
        file: path.display().to_string(),
        message: format!("not a statistics shard: {error}"),
    })
}

/// Merges `shards` — every shard of one examples artifact, in any order — into the statistics
/// document of all their rows. Fails when a shard is missing or repeated, or when the shards
/// disagree on the splits or their features.
pub fn merge_shards(
    mut shards: Vec<StatisticsShard>,
    options: &StatisticsOptions,
) -> Result<DatasetStatistics> {
    shards.sort_by_key(|shard| shard.index);
    let mismatch = |message: String| DataError::File {
        file: "statistics shards".to_owned(),
        message,
    };
    let Some(first) = shards.first() else {
        return Err(mismatch("there are no shards to merge".to_owned()));
    };
    let count = first.count;
    let indices: Vec<u32> = shards.iter().map(|shard| shard.index).collect();
    // Compared without building `0..count`: a damaged shard may claim four billion shards.
    let complete = indices.len() == count as usize
        && indices
            .iter()
            .enumerate()
            .all(|(i, &index)| i == index as usize);
    if !complete || shards.iter().any(|s| s.count != count) {
        return Err(mismatch(format!(
            "expected shards 0 to {} of {count}, found shards {indices:?}",
            count.saturating_sub(1)
        )));
    }
    let span = first.span;
    let names: Vec<String> = first
        .splits
        .iter()
        .map(|split| split.name.clone())
        .collect();
    let mut totals: Vec<Option<SplitAccumulator>> = vec![None; names.len()];
    let mut rows = vec![0_u64; names.len()];
    for shard in &shards {
        let found: Vec<&str> = shard.splits.iter().map(|s| s.name.as_str()).collect();
        if found != names {
            return Err(mismatch(format!(
                "shard {} has splits {found:?}, shard 0 has {names:?}",
                shard.index
            )));
        }
        for ((total, split), rows) in totals.iter_mut().zip(&shard.splits).zip(&mut rows) {
            // Each count of a split is at most its rows: if their sum fits, every merged count
            // does.
            *rows = rows.checked_add(split.accumulator.rows()).ok_or_else(|| {
                mismatch(format!(
                    "the shards of split `{}` count more than 2^64 rows",
                    split.name
                ))
            })?;
            match total {
                None => *total = Some(split.accumulator.clone()),
                Some(total) => {
                    if total.feature_names() != split.accumulator.feature_names()
                        || total.feature_types() != split.accumulator.feature_types()
                    {
                        return Err(mismatch(format!(
                            "shard {} has other features in split `{}` than shard 0",
                            shard.index, split.name
                        )));
                    }
                    total.merge(&split.accumulator);
                }
            }
        }
    }
    let splits = names
        .iter()
        .zip(totals)
        .filter_map(|(name, total)| total.map(|total| total.finish(name, options)))
        .collect();
    Ok(DatasetStatistics { span, splits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_no_shards_is_an_error_not_an_empty_document() {
        let error = merge_shards(Vec::new(), &StatisticsOptions::default()).unwrap_err();
        assert!(error.to_string().contains("no shards"), "{error}");
    }
}
