//! What sharding StatisticsGen costs and gains on one machine: statistics of the 1M-row
//! benchmark file (`benches/peers/statistics_data.py`, 9 mixed columns) by one task, by 2 shards
//! and by 4 shards, on the local runner with as many parallel tasks as shards.
//!
//! ```text
//! cargo bench --bench sharded_statistics              # 1,000,000 rows, 5 samples each
//! cargo bench --bench sharded_statistics -- 200000 3  # rows, samples
//! ```
//!
//! The examples are ingested once (CsvExampleGen, cached afterwards); each sample is a new run
//! of a pipeline whose statistics node has caching off, so it executes every time. Printed per
//! configuration: the median wall time of the statistics (the run minus the ingest, a cache hit
//! of a few milliseconds), the median of the slowest shard, and the median of the merge — the
//! price of sharding, paid once per node whatever the rows. The last configuration runs 4
//! shards one at a time: a shard's time alone is what it takes on a machine of its own.
//! The Python interpreter that writes the data is `MILLRACE_PYTHON`, else `python3`.

#![allow(clippy::expect_used, clippy::print_stdout, clippy::unwrap_used)] // A benchmark program.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use millrace::components::{CsvExampleGen, StatisticsGen};
use millrace::prelude::*;
use millrace::runner::LocalRunner;

fn data(rows: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join(format!("mixed-{rows}.csv"));
    if !csv.exists() {
        let python = std::env::var("MILLRACE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let status = std::process::Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/statistics_data.py"))
            .arg(rows.to_string())
            .arg(&csv)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "statistics_data.py failed");
    }
    csv
}

fn pipeline(csv: &Path, shards: u32) -> Pipeline {
    let mut p = Pipeline::builder("sharded-statistics-bench");
    let ingest = p.add("example_gen", CsvExampleGen::new(csv.display().to_string()));
    let mut node = StatisticsGen::new(ingest.examples).cache(false);
    if shards > 1 {
        node = node.shards(shards);
    }
    p.add("statistics_gen", node);
    p.build().unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rows: usize = arguments
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let samples: usize = arguments.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let csv = data(rows);
    let dir = tempfile::tempdir().unwrap();
    let store = millrace::metadata::connect("memory://").await.unwrap();
    println!("statistics of {rows} rows, {samples} samples per configuration (medians):");
    let mut one_task = None;
    // (shards, parallel tasks): the last runs the shards one at a time, so that a shard's time
    // is what it takes on a machine of its own.
    for (shards, parallelism) in [(1_u32, 1_usize), (2, 2), (4, 4), (4, 1)] {
        let pipeline = pipeline(&csv, shards);
        let runner = LocalRunner::new(store.clone(), dir.path()).parallelism(parallelism);
        // A first run ingests (or finds the ingest cached) and warms the file cache.
        let warm = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
        assert!(warm.succeeded, "{warm:?}");
        let (mut totals, mut slowest, mut merges) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..samples {
            let summary = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
            assert!(summary.succeeded);
            let ms =
                |id: &str| Duration::from_millis(summary.node(id).map_or(0, |n| n.duration_ms));
            let shard_max = summary
                .nodes
                .iter()
                .filter(|n| n.node.starts_with("statistics_gen.shard-"))
                .map(|n| Duration::from_millis(n.duration_ms))
                .max()
                .unwrap_or_default();
            totals
                .push(Duration::from_millis(summary.duration_ms).saturating_sub(ms("example_gen")));
            slowest.push(shard_max);
            merges.push(if shards > 1 {
                ms("statistics_gen")
            } else {
                Duration::ZERO
            });
        }
        let total = median(totals);
        let base = *one_task.get_or_insert(total);
        println!(
            "  {shards} shard(s), {parallelism} at a time: {:>6.3} s  ({:.2}× one task's)  slowest shard {:.3} s  merge {:.3} s",
            total.as_secs_f64(),
            total.as_secs_f64() / base.as_secs_f64(),
            median(slowest).as_secs_f64(),
            median(merges).as_secs_f64(),
        );
    }
}
