//! Statistics of the Chicago taxi data agree with an independent reference computed with pandas
//! (`tools/python/profile_reference.py`, run by the venv `cargo xtask test` sets up): counts,
//! missing, zeros, min and max exactly, means and standard deviations to 1e-9 relative, quantiles
//! within the sketch's stated rank error, string value counts exactly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.
#![allow(clippy::print_stderr)] // A skipped suite says why.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use millrace_tabular::csv::CsvOptions;
use millrace_tabular::ingest::ingest_csv;
use millrace_tabular::split::SplitConfig;
use millrace_tabular::statistics::{
    SplitStatistics, StatisticsOptions, csv_statistics, examples_statistics,
};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn taxi() -> PathBuf {
    workspace().join("examples/data/chicago_taxi/data.csv")
}

fn close(ours: f64, theirs: f64, what: &str) {
    let scale = theirs.abs().max(1e-300);
    assert!(
        (ours - theirs).abs() / scale <= 1e-9 || ours == theirs,
        "{what}: ours {ours}, pandas {theirs}"
    );
}

#[test]
fn taxi_statistics_match_pandas() {
    let Some(python) = common::python("pandas reference statistics") else {
        return;
    };
    let options = StatisticsOptions {
        top_k: 100,
        ..StatisticsOptions::default()
    };
    let ours =
        csv_statistics(&taxi(), &CsvOptions::default(), "all", &options, 2).expect("profiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let ours_path = dir.path().join("ours.json");
    std::fs::write(&ours_path, serde_json::to_vec(&ours).expect("json")).expect("write");
    let output = Command::new(&python)
        .arg(workspace().join("tools/python/profile_reference.py"))
        .arg(taxi())
        .arg(&ours_path)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference: Value = serde_json::from_slice(&output.stdout).expect("reference JSON");
    assert_eq!(ours.num_examples, reference["rows"].as_u64().expect("rows"));
    assert_eq!(ours.features.len(), 18);
    let mut numeric_checked = 0;
    for feature in &ours.features {
        let theirs = &reference["columns"][&feature.name];
        let name = &feature.name;
        assert_eq!(
            feature.count,
            theirs["count"].as_u64().expect("count"),
            "{name} count"
        );
        assert_eq!(
            feature.missing,
            theirs["missing"].as_u64().expect("missing"),
            "{name} missing"
        );
        match theirs["kind"].as_str() {
            Some("numeric") => {
                let numeric = feature
                    .numeric
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: numeric"));
                numeric_checked += 1;
                assert_eq!(
                    numeric.zeros,
                    theirs["zeros"].as_u64().expect("zeros"),
                    "{name} zeros"
                );
                assert_eq!(
                    numeric.min,
                    theirs["min"].as_f64().expect("min"),
                    "{name} min"
                );
                assert_eq!(
                    numeric.max,
                    theirs["max"].as_f64().expect("max"),
                    "{name} max"
                );
                close(
                    numeric.mean,
                    theirs["mean"].as_f64().expect("mean"),
                    &format!("{name} mean"),
                );
                close(
                    numeric.std_dev,
                    theirs["std_dev"].as_f64().expect("std"),
                    &format!("{name} std_dev"),
                );
                let ranks = theirs["quantile_ranks"].as_array().expect("ranks");
                assert_eq!(ranks.len(), 101);
                for (index, interval) in ranks.iter().enumerate() {
                    let asked = index as f64 / 100.0;
                    let below = interval[0].as_f64().expect("below");
                    let at_or_below = interval[1].as_f64().expect("at or below");
                    let slack = numeric.rank_error + 1.0 / feature.count as f64;
                    assert!(
                        below - slack <= asked && asked <= at_or_below + slack,
                        "{name} quantile {asked}: value {} has ranks [{below}, {at_or_below}], \
                         rank error {}",
                        numeric.quantiles[index],
                        numeric.rank_error
                    );
                }
                let histogram_total: f64 = numeric.histogram.iter().map(|b| b.count).sum();
                assert!(
                    (histogram_total - feature.count as f64).abs() < 1e-6,
                    "{name} histogram"
                );
            }
            Some("string") => {
                let strings = feature
                    .string
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: string"));
                assert_eq!(
                    strings.unique,
                    theirs["unique"].as_u64().expect("unique"),
                    "{name} unique"
                );
                assert!(strings.exact);
                for value in &strings.top_values {
                    assert_eq!(
                        value.count,
                        theirs["value_counts"][&value.value]
                            .as_u64()
                            .expect("count"),
                        "{name} count of {:?}",
                        value.value
                    );
                }
                close(
                    strings.avg_length,
                    theirs["avg_length"].as_f64().expect("length"),
                    &format!("{name} avg_length"),
                );
            }
            other => panic!("{name}: unexpected kind {other:?}"),
        }
    }
    assert_eq!(numeric_checked, 16, "the taxi data have 16 numeric columns");
}

/// Statistics of the ingested splits merge to those of the whole file: the accumulators are
/// mergeable across files, row groups and threads.
#[test]
fn split_statistics_add_up_to_the_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("examples");
    ingest_csv(
        &[taxi()],
        &CsvOptions::default(),
        &SplitConfig::default(),
        &out,
        2,
    )
    .expect("ingests");
    let options = StatisticsOptions::default();
    let splits = examples_statistics(&out, None, None, &options, 2).expect("profiles");
    let whole: SplitStatistics =
        csv_statistics(&taxi(), &CsvOptions::default(), "all", &options, 1).expect("profiles");
    assert_eq!(splits.splits.len(), 2);
    assert_eq!(
        splits.splits.iter().map(|s| s.num_examples).sum::<u64>(),
        whole.num_examples
    );
    for feature in &whole.features {
        let parts: Vec<_> = splits
            .splits
            .iter()
            .map(|s| s.feature(&feature.name).expect("feature"))
            .collect();
        assert_eq!(
            parts.iter().map(|p| p.count).sum::<u64>(),
            feature.count,
            "{}",
            feature.name
        );
        assert_eq!(
            parts.iter().map(|p| p.missing).sum::<u64>(),
            feature.missing,
            "{}",
            feature.name
        );
        if let Some(numeric) = &feature.numeric {
            let weighted: f64 = parts
                .iter()
                .filter_map(|p| p.numeric.as_ref().map(|n| n.mean * p.count as f64))
                .sum();
            close(weighted / feature.count as f64, numeric.mean, &feature.name);
            let min = parts
                .iter()
                .filter_map(|p| p.numeric.as_ref())
                .map(|n| n.min)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(min, numeric.min);
        }
    }
}

/// pandas and pyarrow read the Examples format as it is: a split directory is a Parquet data set.
#[test]
fn pandas_and_pyarrow_read_the_examples_as_they_are() {
    let Some(python) = common::python("pandas reference statistics") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("examples");
    let report = ingest_csv(
        &[taxi()],
        &CsvOptions::default(),
        &SplitConfig::default(),
        &out,
        2,
    )
    .expect("ingests");
    let script = r#"
import json, sys
import pandas as pd
import pyarrow.parquet as pq
out = {}
for split in ["train", "eval"]:
    frame = pd.read_parquet(f"{sys.argv[1]}/Split-{split}")
    table = pq.read_table(f"{sys.argv[1]}/Split-{split}")
    out[split] = {"rows": len(frame), "table_rows": table.num_rows,
                  "dtypes": {name: str(dtype) for name, dtype in frame.dtypes.items()},
                  "fare_sum": float(frame["fare"].sum())}
print(json.dumps(out))
"#;
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    for (split, rows) in &report.splits {
        assert_eq!(read[split]["rows"].as_u64(), Some(*rows));
        assert_eq!(read[split]["table_rows"].as_u64(), Some(*rows));
    }
    let dtypes = &read["train"]["dtypes"];
    assert_eq!(dtypes["trip_start_hour"], "int64");
    assert_eq!(dtypes["fare"], "float64");
    assert!(
        dtypes["company"]
            .as_str()
            .is_some_and(|t| t == "object" || t == "str" || t.starts_with("string")),
        "{dtypes}"
    );
    let fares =
        read["train"]["fare_sum"].as_f64().unwrap() + read["eval"]["fare_sum"].as_f64().unwrap();
    let whole = csv_statistics(
        &taxi(),
        &CsvOptions::default(),
        "all",
        &StatisticsOptions::default(),
        2,
    )
    .expect("profiles");
    let fare = whole
        .feature("fare")
        .and_then(|f| f.numeric.as_ref())
        .expect("fare");
    close(
        fares / whole.num_examples as f64,
        fare.mean,
        "fare mean through pandas",
    );
}
