//! The Examples format read back from disk, under fuzzing: a split's Parquet file cut short, with
//! bits flipped, with a stretch overwritten, with its footer's length field changed, or
//! replaced by arbitrary bytes. Every reader of the format — the split's schema, its row groups,
//! the batches of each group, the whole split, and the statistics pass over it — returns rows or
//! an error naming the file; never a panic, never an allocation sized from a number in the file.
//!
//! The files under `tests/corpus/examples/` are read through the same target, each as the only
//! file of a split. Run longer with
//! `PROPTEST_CASES=20000 cargo test -p millrace-tabular --test examples_fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use millrace_tabular::DataError;
use millrace_tabular::csv::CsvOptions;
use millrace_tabular::examples_format::{
    read_row_group, read_split, split_dir, split_row_groups, split_schema,
};
use millrace_tabular::ingest::ingest_csv;
use millrace_tabular::split::SplitConfig;
use millrace_tabular::statistics::{StatisticsOptions, split_statistics};
use proptest::prelude::*;

/// A valid Examples file: an int, a float and a string column with missing values, 300 rows in
/// one row group (small, so that damage reaches its data as often as its footer).
fn valid_file() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("n,x,s\n");
        for i in 0..300 {
            let s = if i % 4 == 0 {
                String::new()
            } else {
                format!("v{}", i % 17)
            };
            csv.push_str(&format!("{i},{},{s}\n", f64::from(i) / 7.0));
        }
        let input = dir.path().join("data.csv");
        std::fs::write(&input, csv).unwrap();
        let examples = dir.path().join("examples");
        let splits = SplitConfig::buckets(&[("train", 1)]);
        ingest_csv(&[input], &CsvOptions::default(), &splits, &examples, 1).unwrap();
        std::fs::read(split_dir(&examples, "train").join("part-00000.parquet")).unwrap()
    })
}

/// Whether `error` names `file` (the file, or the examples directory holding it).
fn names_file(error: &DataError, file: &Path) -> bool {
    let message = error.to_string();
    let file = file.display().to_string();
    match error {
        DataError::Parquet { path, .. } | DataError::Io { path, .. } => path == &file,
        DataError::File { file: named, .. } => file.starts_with(named.as_str()),
        _ => message.contains(&file),
    }
}

/// `result`, after checking that an error names `file`.
fn naming<T>(file: &Path, result: Result<T, DataError>) -> Result<T, DataError> {
    if let Err(error) = &result {
        assert!(
            names_file(error, file),
            "the error does not name {}: {error:?}",
            file.display()
        );
    }
    result
}

/// Reads `bytes` as the only file of split `train` with every reader of the format. Returns the
/// rows read when every reader succeeded.
fn read_examples(bytes: &[u8]) -> Result<usize, DataError> {
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().join("examples");
    let split = split_dir(&uri, "train");
    std::fs::create_dir_all(&split).unwrap();
    let file = split.join("part-00000.parquet");
    std::fs::write(&file, bytes).unwrap();
    let rows_of = |batches: Vec<arrow_array::RecordBatch>| -> usize {
        batches.iter().map(|batch| batch.num_rows()).sum()
    };
    naming(&file, split_schema(&uri, "train"))?;
    let mut rows = 0;
    for group in naming(&file, split_row_groups(&uri, "train"))? {
        rows += rows_of(naming(&file, read_row_group(&group))?);
    }
    let whole = rows_of(naming(&file, read_split(&uri, "train"))?);
    assert_eq!(whole, rows, "the split read whole and by row group");
    let statistics = naming(
        &file,
        split_statistics(&uri, "train", &StatisticsOptions::default(), 2),
    )?;
    assert_eq!(statistics.num_examples, rows as u64);
    Ok(rows)
}

/// A kind of damage to a file.
#[derive(Debug, Clone)]
enum Damage {
    /// Keep only the first bytes.
    CutAt(prop::sample::Index),
    /// Flip one bit of each of these bytes.
    FlipBits(Vec<(prop::sample::Index, u8)>),
    /// Overwrite a stretch with these bytes.
    Overwrite(prop::sample::Index, Vec<u8>),
    /// Set the footer's length (the four bytes before the final `PAR1`) to this.
    FooterLength(u32),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::CutAt),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
            .prop_map(Damage::FlipBits),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Damage::Overwrite(at, bytes)),
        prop_oneof![Just(0), Just(u32::MAX), Just(i32::MAX as u32), any::<u32>()]
            .prop_map(Damage::FooterLength),
    ]
}

fn damaged(file: &[u8], damage: &Damage) -> Vec<u8> {
    let mut bytes = file.to_vec();
    match damage {
        Damage::CutAt(at) => bytes.truncate(at.index(file.len())),
        Damage::FlipBits(flips) => {
            for (at, bit) in flips {
                bytes[at.index(file.len())] ^= 1 << (bit % 8);
            }
        }
        Damage::Overwrite(at, stretch) => {
            let start = at.index(file.len());
            for (offset, &byte) in stretch.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(start + offset) {
                    *slot = byte;
                }
            }
        }
        Damage::FooterLength(length) => {
            let at = file.len() - 8;
            bytes[at..at + 4].copy_from_slice(&length.to_le_bytes());
        }
    }
    bytes
}

proptest! {
    #[test]
    fn a_damaged_file_is_read_or_refused_with_its_name(damage in damage()) {
        let _ = read_examples(&damaged(valid_file(), &damage));
    }

    #[test]
    fn arbitrary_bytes_are_refused_with_the_files_name(
        bytes in prop::collection::vec(any::<u8>(), 0..64)
    ) {
        // With Parquet's magic around them, the bytes reach the footer decoder.
        let mut file = b"PAR1".to_vec();
        file.extend_from_slice(&bytes);
        file.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        file.extend_from_slice(b"PAR1");
        prop_assert!(read_examples(&file).is_err() || bytes.is_empty());
        let _ = read_examples(&bytes);
    }
}

#[test]
fn the_valid_file_reads_whole() {
    assert_eq!(read_examples(valid_file()).unwrap(), 300);
}

#[test]
fn the_corpus_is_read_or_refused_with_the_files_name() {
    let files = common::corpus("examples");
    assert!(!files.is_empty(), "the corpus is in tests/corpus/examples");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let read = read_examples(&std::fs::read(&file).unwrap());
        // `valid…` files are read; the others are refused.
        assert_eq!(read.is_ok(), name.starts_with("valid"), "{name}: {read:?}");
    }
}
