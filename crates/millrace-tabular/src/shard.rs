//! Shards of examples: which rows of a split shard `i` of `n` reads.
//!
//! **Rule.** A split of `N` rows (its row groups, in file and group order, numbered
//! consecutively) is cut into `n` contiguous ranges: shard `i` reads rows
//! `[⌊i·N/n⌋, ⌊(i+1)·N/n⌋)` ([`shard_rows`]). The shards together read every row exactly once,
//! in order, and differ in size by at most one row; a shard may be empty when `N < n`.
//! [`shard_row_groups`] turns a shard's range into the row groups (or parts of row groups, read
//! through Parquet's row selection) that hold it, so a shard's reader never decodes a page of
//! rows it does not need beyond the pages it shares with its neighbours.
//!
//! Shards that write examples (a transform's, predictions) are put together by
//! [`assemble_examples`]: the merged artifact's split directory holds every shard's Parquet
//! files, renamed `part-<shard>-<file>` so that reading them in name order reads the shards in
//! order — row for row what one task writes.
//!
//! **Cost.** Counting the rows reads only the files' footers; a shard then reads about `1/n` of
//! the data (plus at most two partially read row groups). Assembling hard-links the shards'
//! files (copying them only where the file system cannot link), so it costs a directory entry
//! per file, not a pass over the data.

use std::ops::Range;
use std::path::Path;

use crate::examples_format::{RowGroup, file_row_groups, split_dir, split_files};
use crate::{DataError, Result};

/// The rows `[start, end)` of a split of `total` rows that shard `index` of `count` reads. A
/// `count` of 0 is read as 1; an `index` past the last shard gets no rows.
pub fn shard_rows(total: usize, index: u32, count: u32) -> Range<usize> {
    let count = u128::from(count.max(1));
    let bound = |i: u128| {
        let i = i.min(count);
        usize::try_from(total as u128 * i / count).unwrap_or(total)
    };
    bound(u128::from(index))..bound(u128::from(index) + 1)
}

/// The parts of `groups` (one split's row groups, in order) that hold shard `index` of
/// `count`'s rows, in order.
pub fn shard_row_groups(groups: Vec<RowGroup>, index: u32, count: u32) -> Vec<RowGroup> {
    let total = groups.iter().map(|group| group.row_count).sum();
    let wanted = shard_rows(total, index, count);
    let mut parts = Vec::new();
    let mut first_row = 0;
    for group in groups {
        let rows = first_row..first_row + group.row_count;
        first_row = rows.end;
        let start = rows.start.max(wanted.start);
        let end = rows.end.min(wanted.end);
        if start >= end {
            continue;
        }
        let part = (start - rows.start)..(end - rows.start);
        let whole = part.start == 0 && part.end == group.row_count;
        parts.push(RowGroup {
            rows: if whole { None } else { Some(part) },
            ..group
        });
    }
    parts
}

/// Puts the examples written by each shard (`parts`, in shard order) together into `out`,
/// split by split; returns each split's row count.
pub fn assemble_examples(
    parts: &[&Path],
    splits: &[String],
    out: &Path,
) -> Result<Vec<(String, u64)>> {
    let mut counts = Vec::with_capacity(splits.len());
    for split in splits {
        let dir = split_dir(out, split);
        std::fs::create_dir_all(&dir).map_err(|error| DataError::io(&dir, error))?;
        let mut rows = 0_u64;
        for (shard, part) in parts.iter().enumerate() {
            for file in split_files(part, split)? {
                let Some(name) = file.file_name().and_then(|name| name.to_str()) else {
                    continue;
                };
                let target = dir.join(format!("part-{shard:05}-{name}"));
                if std::fs::hard_link(&file, &target).is_err() {
                    std::fs::copy(&file, &target).map_err(|error| DataError::io(&target, error))?;
                }
                rows += file_row_groups(&file)?
                    .iter()
                    .map(|group| group.row_count as u64)
                    .sum::<u64>();
            }
        }
        counts.push((split.clone(), rows));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn shards_cover_every_row_once_in_order_and_differ_by_at_most_one_row() {
        for total in [0, 1, 3, 7, 100, 1_000_003] {
            for count in 1..9 {
                let mut next = 0;
                let sizes: Vec<usize> = (0..count)
                    .map(|index| {
                        let rows = shard_rows(total, index, count);
                        assert_eq!(rows.start, next);
                        next = rows.end;
                        rows.len()
                    })
                    .collect();
                assert_eq!(next, total);
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{total} rows in {count}: {sizes:?}");
            }
        }
    }

    #[test]
    fn a_shard_reads_the_parts_of_the_row_groups_that_hold_its_rows() {
        let group = |index, row_count| RowGroup {
            file: PathBuf::from("part-0.parquet"),
            index,
            row_count,
            rows: None,
        };
        let groups = vec![group(0, 10), group(1, 10), group(2, 10)];
        // 30 rows in 4 shards: [0, 7), [7, 15), [15, 22), [22, 30).
        let second = shard_row_groups(groups.clone(), 1, 4);
        assert_eq!(
            second
                .iter()
                .map(|g| (g.index, g.rows.clone()))
                .collect::<Vec<_>>(),
            vec![(0, Some(7..10)), (1, Some(0..5))]
        );
        let whole = shard_row_groups(groups.clone(), 0, 1);
        assert_eq!(whole, groups);
    }
}
