//! The statistics documents read back from disk, under fuzzing: `statistics.json` (what
//! StatisticsGen writes and SchemaGen, ExampleValidator, Transform and the report read) and
//! `statistics_shard.json` (what a shard of a sharded StatisticsGen writes and the merge reads).
//!
//! * **Damaged files** — arbitrary bytes, a valid document cut short, a bit flipped, a value of
//!   its JSON replaced by another (a huge count, a negative number, a string, an empty list) —
//!   are refused with an error naming the file, or read into a document that everything
//!   downstream (schema inference, validation, the HTML report, fitting transforms, writing it
//!   again) takes without a panic; never an allocation sized from a number in the file.
//! * **A document written is the document read back**, bit for bit, whatever the data profiled
//!   held (infinities included).
//!
//! The files under `tests/corpus/statistics/` go through the same checks: `*.statistics.json`
//! as a statistics document, `*.shard.json` as a shard (which must merge if its name starts with
//! `valid`, and be refused otherwise): the damaged shards that once aborted the merge with an
//! allocation sized from a number in them, or overflowed a count. Run longer with
//! `PROPTEST_CASES=20000 cargo test -p millrace-tabular --test statistics_fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::sync::OnceLock;

use millrace_tabular::DataError;
use millrace_tabular::csv::CsvOptions;
use millrace_tabular::ingest::ingest_csv;
use millrace_tabular::report::statistics_html;
use millrace_tabular::schema::{InferenceOptions, infer_schema, read_schema, write_schema};
use millrace_tabular::split::SplitConfig;
use millrace_tabular::statistics::{
    DatasetStatistics, SHARD_FILE, STATISTICS_FILE, StatisticsOptions, StatisticsShard,
    csv_statistics, examples_statistics, merge_shards, read_shard, read_statistics,
    shard_statistics, write_shard, write_statistics,
};
use millrace_tabular::transform::{Fill, TransformGraph, TransformOp};
use millrace_tabular::validation::validate;
use proptest::prelude::*;
use serde_json::Value;

/// A valid statistics document and a valid shard, as files hold them.
struct Fixture {
    statistics: Vec<u8>,
    shard: Vec<u8>,
}

/// Profiles a CSV file of every kind of column once: ints, floats with infinities and
/// extremes, strings with more distinct values than the exact profile keeps (so the shard holds
/// Space-Saving and HyperLogLog sketches), a column with missing values; enough rows that the
/// quantile sketches compact.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("n,x,s,sparse\n");
        for i in 0..12_000_i64 {
            let x = match i % 7 {
                0 => "1e999".to_owned(),
                1 => "-0.0".to_owned(),
                2 => "1e-300".to_owned(),
                _ => format!("{}", (i as f64).sqrt()),
            };
            let sparse = if i % 3 == 0 {
                String::new()
            } else {
                (i % 5).to_string()
            };
            csv.push_str(&format!("{},{x},v{},{sparse}\n", i - 6_000, i % 11_000));
        }
        let input = dir.path().join("data.csv");
        std::fs::write(&input, csv).unwrap();
        let examples = dir.path().join("examples");
        let splits = SplitConfig::buckets(&[("train", 2), ("eval", 1)]);
        ingest_csv(&[input], &CsvOptions::default(), &splits, &examples, 2).unwrap();
        let statistics =
            examples_statistics(&examples, None, Some(3), &StatisticsOptions::default(), 2)
                .unwrap();
        let shard = shard_statistics(&examples, None, Some(3), (0, 1), 2).unwrap();
        Fixture {
            statistics: serde_json::to_vec_pretty(&statistics).unwrap(),
            shard: serde_json::to_vec(&shard).unwrap(),
        }
    })
}

/// What a transform might ask of every feature of a split.
fn transform_ops(statistics: &millrace_tabular::statistics::SplitStatistics) -> Vec<TransformOp> {
    let mut ops = Vec::new();
    for (index, feature) in statistics.features.iter().enumerate() {
        let input = feature.name.clone();
        let output = |kind: &str| format!("{kind}_{index}");
        ops.push(TransformOp::ZScore {
            input: input.clone(),
            output: output("z"),
        });
        ops.push(TransformOp::MinMax {
            input: input.clone(),
            output: output("m"),
            clip: true,
        });
        ops.push(TransformOp::Bucketize {
            input: input.clone(),
            output: output("b"),
            buckets: 4,
        });
        ops.push(TransformOp::Vocabulary {
            input: input.clone(),
            output: output("v"),
            top_k: Some(3),
            num_oov_buckets: 1,
        });
        ops.push(TransformOp::FillMissing {
            input: input.clone(),
            output: output("f"),
            with: Fill::Median,
        });
        ops.push(TransformOp::FillMissing {
            input,
            output: output("g"),
            with: Fill::MostFrequent,
        });
    }
    ops
}

/// Everything downstream of a statistics document read back: schema inference, validation
/// (against itself as the previous span too), the report, fitting transforms on each split,
/// and writing the document and its schema again.
fn use_document(statistics: &DatasetStatistics) {
    let schema = infer_schema(statistics, &InferenceOptions::default());
    let _ = validate(statistics, &schema, Some(statistics));
    let _ = statistics_html(statistics, "fuzz");
    for split in &statistics.splits {
        // Each op alone: one unusable statistic must not hide the others' behaviour.
        for op in transform_ops(split) {
            if let Ok(graph) = TransformGraph::fit(&[op], Vec::new(), split) {
                // What Transform writes, Trainer and serving read back.
                let text = graph.to_json().unwrap();
                let again = TransformGraph::from_json(&text).unwrap_or_else(|error| {
                    panic!("a fitted transform graph cannot be read back: {error}\n{text}")
                });
                assert_eq!(again.to_json().unwrap(), text);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write_statistics(dir.path(), statistics, "fuzz").unwrap();
    let again = read_statistics(dir.path())
        .unwrap_or_else(|error| panic!("a document written cannot be read back: {error}"));
    let (written, read) = (
        serde_json::to_string(statistics).unwrap(),
        serde_json::to_string(&again).unwrap(),
    );
    if let Some(at) = written.bytes().zip(read.bytes()).position(|(a, b)| a != b) {
        let around = |text: &str| text[at.saturating_sub(80)..(at + 40).min(text.len())].to_owned();
        panic!(
            "the document read back differs at byte {at}: wrote …{}…, read …{}…",
            around(&written),
            around(&read)
        );
    }
    assert_eq!(
        written.len(),
        read.len(),
        "the document read back differs in length"
    );
    write_schema(dir.path(), &schema).unwrap();
    read_schema(dir.path())
        .unwrap_or_else(|error| panic!("a schema written cannot be read back: {error}"));
}

/// Reads `bytes` as `statistics.json`: an error names the file; a document is usable.
fn check_statistics_file(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STATISTICS_FILE);
    std::fs::write(&path, bytes).unwrap();
    match read_statistics(dir.path()) {
        Ok(statistics) => use_document(&statistics),
        Err(DataError::Json { path: named, .. }) => assert_eq!(named, path.display().to_string()),
        Err(other) => panic!("an error that does not name the document: {other:?}"),
    }
}

/// Reads `bytes` as a shard: an error names the file; a shard merges (alone, and with a copy
/// of itself as a second shard) into a usable document or a clear error. Whether it was read
/// and merged alone.
fn check_shard_file(bytes: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SHARD_FILE);
    std::fs::write(&path, bytes).unwrap();
    let shard = match read_shard(dir.path()) {
        Ok(shard) => shard,
        Err(DataError::File { file, message }) => {
            assert_eq!(file, path.display().to_string());
            assert!(!message.is_empty());
            return false;
        }
        Err(other) => panic!("an error that does not name the shard: {other:?}"),
    };
    let options = StatisticsOptions::default();
    let alone = merge_shards(vec![shard.clone()], &options);
    if let Ok(statistics) = &alone {
        use_document(statistics);
    }
    let pair = |index| StatisticsShard {
        index,
        count: 2,
        ..shard.clone()
    };
    if let Ok(statistics) = merge_shards(vec![pair(1), pair(0)], &options) {
        use_document(&statistics);
    }
    alone.is_ok()
}

/// A change to one value of a JSON document.
#[derive(Debug, Clone)]
enum Replacement {
    /// Put this value in its place.
    Value(Value),
    /// Drop an array's first item.
    DropFirst,
    /// Repeat an array's last item.
    RepeatLast,
}

fn replacement() -> impl Strategy<Value = Replacement> {
    prop_oneof![
        prop::sample::select(vec![
            Value::from(0),
            Value::from(1),
            Value::from(-1),
            Value::from(7),
            Value::from(u64::MAX),
            Value::from(u64::MAX / 2),
            Value::from(1_u64 << 53),
            Value::from(u32::MAX),
            Value::from(1e308),
            Value::from(-1e308),
            Value::from(0.5),
            Value::from(""),
            Value::from("x"),
            Value::Null,
            Value::Bool(true),
            Value::Array(Vec::new()),
            Value::Object(serde_json::Map::new()),
        ])
        .prop_map(Replacement::Value),
        Just(Replacement::DropFirst),
        Just(Replacement::RepeatLast),
    ]
}

/// Every JSON pointer in `value`.
fn pointers(value: &Value, at: String, found: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{index}"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), found);
            }
        }
        _ => {}
    }
    found.push(at);
}

/// Where in a document a change is made.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// Any value.
    Anywhere,
    /// A value that says how much there is or where: a count, a capacity, a size, a list of
    /// levels, counters or registers as a whole. Most values of a shard are items of long lists
    /// (registers, counters, exact counts), among which these would hardly ever be chosen.
    Structure,
}

/// The fields of the documents and sketches that size, count or index something.
const STRUCTURE: &[&str] = &[
    "index",
    "count",
    "span",
    "splits",
    "rows",
    "names",
    "columns",
    "num_examples",
    "features",
    "missing",
    "nan",
    "zeros",
    "k",
    "levels",
    "capacities",
    "capacity",
    "retained",
    "chars",
    "counts",
    "Exact",
    "Approximate",
    "counters",
    "buckets",
    "bucket",
    "floor",
    "registers",
    "quantiles",
    "histogram",
    "quantile_histogram",
    "top_values",
    "unique",
    "min",
    "max",
];

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::Anywhere), Just(Target::Structure)]
}

/// `bytes` (a JSON document) with the `choice`-th value of `target` changed.
fn mutated(bytes: &[u8], choice: usize, target: Target, replacement: &Replacement) -> Vec<u8> {
    let mut document: Value = serde_json::from_slice(bytes).unwrap();
    let mut all = Vec::new();
    pointers(&document, String::new(), &mut all);
    let structure: Vec<String> = all
        .iter()
        .filter(|pointer| STRUCTURE.contains(&pointer.rsplit('/').next().unwrap_or("")))
        .cloned()
        .collect();
    let candidates = match target {
        Target::Structure if !structure.is_empty() => &structure,
        _ => &all,
    };
    let target = document
        .pointer_mut(&candidates[choice % candidates.len()])
        .unwrap();
    match (replacement, target) {
        (Replacement::Value(value), target) => *target = value.clone(),
        (Replacement::DropFirst, Value::Array(items)) if !items.is_empty() => {
            items.remove(0);
        }
        (Replacement::RepeatLast, Value::Array(items)) => {
            if let Some(last) = items.last().cloned() {
                items.push(last);
            }
        }
        (_, target) => *target = Value::Null,
    }
    serde_json::to_vec(&document).unwrap()
}

/// `bytes` with bit `bit` of byte `at` flipped.
fn flipped(bytes: &[u8], at: usize, bit: u8) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let at = at % bytes.len();
    bytes[at] ^= 1 << (bit % 8);
    bytes
}

proptest! {
    // PROPTEST_CASES, when set, runs longer (or shorter).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn arbitrary_bytes_are_refused_with_the_documents_name(
        bytes in prop::collection::vec(any::<u8>(), 0..64)
    ) {
        check_statistics_file(&bytes);
        let _ = check_shard_file(&bytes);
    }

    #[test]
    fn a_document_cut_short_or_with_a_bit_flipped_is_refused_or_usable(
        cut in any::<prop::sample::Index>(),
        at in any::<usize>(),
        bit in any::<u8>(),
    ) {
        let fixture = fixture();
        check_statistics_file(&fixture.statistics[..cut.index(fixture.statistics.len())]);
        check_statistics_file(&flipped(&fixture.statistics, at, bit));
        let _ = check_shard_file(&fixture.shard[..cut.index(fixture.shard.len())]);
        let _ = check_shard_file(&flipped(&fixture.shard, at, bit));
    }

    #[test]
    fn a_statistics_document_with_a_value_changed_is_refused_or_usable(
        choice in any::<usize>(),
        target in target(),
        replacement in replacement(),
    ) {
        check_statistics_file(&mutated(&fixture().statistics, choice, target, &replacement));
    }

    #[test]
    fn a_shard_with_a_value_changed_is_refused_or_merges(
        choice in any::<usize>(),
        target in target(),
        replacement in replacement(),
    ) {
        let _ = check_shard_file(&mutated(&fixture().shard, choice, target, &replacement));
    }
}

/// Profiles a CSV file of one float column holding `values` (as text).
fn profile_floats(values: &[String]) -> DatasetStatistics {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floats.csv");
    std::fs::write(&path, format!("x\n{}\n", values.join("\n"))).unwrap();
    let split = csv_statistics(
        &path,
        &CsvOptions::default(),
        "train",
        &StatisticsOptions::default(),
        2,
    )
    .unwrap();
    DatasetStatistics {
        span: None,
        splits: vec![split],
    }
}

proptest! {
    // PROPTEST_CASES, when set, runs longer (or shorter).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(32)
    ))]

    #[test]
    fn statistics_of_any_floats_are_usable_and_read_back_unchanged(
        values in prop::collection::vec(
            prop_oneof![
                4 => any::<f64>().prop_filter("a CSV number", |v| v.is_finite()).prop_map(|v| format!("{v:e}")),
                1 => prop::sample::select(vec!["1e999", "-1e999", "-0.0", "5e-324", ""]).prop_map(str::to_owned),
            ],
            1..40,
        )
    ) {
        use_document(&profile_floats(&values));
    }
}

#[test]
fn a_float_column_holding_an_infinity_profiles_and_reads_back() {
    // `1e999` reads as +∞: its histogram had NaN boundaries (a debug assertion failed), and
    // statistics.json held `null` for the mean, so it could be written but not read.
    let statistics = profile_floats(&["1".to_owned(), "1e999".to_owned(), "2".to_owned()]);
    let numeric = statistics.splits[0].features[0].numeric.clone().unwrap();
    assert_eq!(
        (numeric.min, numeric.max, numeric.mean),
        (1.0, f64::INFINITY, f64::INFINITY)
    );
    assert_eq!(numeric.histogram.len(), 1);
    assert_eq!(numeric.histogram[0].count, 3.0);
    use_document(&statistics);
}

#[test]
fn the_valid_documents_are_usable_and_read_back_unchanged() {
    let fixture = fixture();
    check_statistics_file(&fixture.statistics);
    assert!(check_shard_file(&fixture.shard));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SHARD_FILE), &fixture.shard).unwrap();
    let shard = read_shard(dir.path()).unwrap();
    // A shard rebuilds its summaries' links as it is read: compare what it merges into.
    write_shard(dir.path(), &shard).unwrap();
    let again = read_shard(dir.path()).unwrap();
    let options = StatisticsOptions::default();
    let merged = |shard| serde_json::to_string(&merge_shards(vec![shard], &options).unwrap());
    assert_eq!(merged(again).unwrap(), merged(shard).unwrap());
}

#[test]
fn the_corpus_is_refused_with_the_documents_name_or_usable() {
    let files = common::corpus("statistics");
    assert!(
        !files.is_empty(),
        "the corpus is in tests/corpus/statistics"
    );
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).unwrap();
        if name.ends_with(".shard.json") {
            // `valid…` shards merge; the others are refused, as read or as merged.
            let usable = check_shard_file(&bytes);
            assert_eq!(usable, name.starts_with("valid"), "{name}");
        } else {
            assert!(
                name.ends_with(".statistics.json"),
                "{name}: which document is it?"
            );
            check_statistics_file(&bytes);
        }
    }
}
