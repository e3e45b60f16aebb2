//! The tracking workload of issue 15, timed on a store: `log_batch` of 1,000 metrics into one
//! run; creating 10,000 runs with parameters and metrics; `search_runs` over them with a filter
//! and an order (the first page of 1,000, and every page); and the history of a metric of
//! 1,000,000 points, written in batches of 1,000 and read whole. `benches/peers/
//! mlflow_tracking.sh` runs the same workload through MLflow's Python client against the real
//! MLflow server and against `serve`, and prints the ratios.
//!
//! ```text
//! cargo bench -p millrace-metadata --bench tracking_workload -- [--store URL] [--runs 10000] [--points 1000000]
//! ```
//!
//! Prints one JSON object per measurement on standard output.

#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)] // A benchmark program.

use std::time::Instant;

use millrace_metadata::connect;
use millrace_metadata::tracking::{
    LogBatch, Metric, MetricPoint, NewExperiment, NewRun, RunSearch, RunSubject,
};

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn report(name: &str, seconds: f64, extra: &str) {
    println!(
        "{{\"measurement\":\"{name}\",\"ms\":{:.3}{extra}}}",
        seconds * 1e3
    );
}

fn metrics(key: &str, count: usize, first_step: i64) -> LogBatch {
    LogBatch {
        metrics: (0..count)
            .map(|index| Metric {
                key: key.to_owned(),
                point: MetricPoint {
                    value: 1.0 / (index as f64 + 1.0),
                    timestamp: 1_796_000_000_000 + index as i64,
                    step: first_step + index as i64,
                },
            })
            .collect(),
        ..LogBatch::default()
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1).cloned())
    };
    let dir = tempfile::tempdir().unwrap();
    let url = option("--store")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("m.sqlite").display()));
    let runs: usize = option("--runs").map_or(10_000, |n| n.parse().unwrap());
    let points: usize = option("--points").map_or(1_000_000, |n| n.parse().unwrap());
    let store = connect(&url).await.unwrap();
    let experiment = store
        .create_experiment(&NewExperiment {
            name: format!("bench-{}", std::process::id()),
            ..NewExperiment::default()
        })
        .await
        .unwrap()
        .experiment_id;
    let new_run = || NewRun::started_by("bench", experiment, RunSubject::NewExecution);

    // log_batch of 1,000 metrics (10 keys × 100 steps, as a training loop's logs come).
    let run = store.create_run(&new_run()).await.unwrap().info.run_id;
    let mut samples = Vec::new();
    for repeat in 0..30_i64 {
        let batch = LogBatch {
            metrics: (0..10)
                .flat_map(|key| metrics(&format!("m{key}"), 100, repeat * 100).metrics)
                .collect(),
            ..LogBatch::default()
        };
        let started = Instant::now();
        store.log_batch(&run, &batch).await.unwrap();
        samples.push(started.elapsed().as_secs_f64());
    }
    report("log_batch_1000_metrics", median(samples), "");

    // 10,000 runs with two parameters and two metrics each.
    let started = Instant::now();
    for index in 0..runs {
        let run = store.create_run(&new_run()).await.unwrap().info.run_id;
        let batch = LogBatch {
            params: vec![
                ("max_depth".into(), (index % 16).to_string()),
                ("trees".into(), "40".into()),
            ],
            metrics: vec![
                Metric {
                    key: "rmse".into(),
                    point: MetricPoint {
                        value: 3.0 + (index % 100) as f64 / 50.0,
                        timestamp: 0,
                        step: 0,
                    },
                },
                Metric {
                    key: "mae".into(),
                    point: MetricPoint {
                        value: 2.0,
                        timestamp: 0,
                        step: 0,
                    },
                },
            ],
            ..LogBatch::default()
        };
        store.log_batch(&run, &batch).await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(
        "create_runs",
        elapsed,
        &format!(
            ",\"runs\":{runs},\"runs_per_s\":{:.0}",
            runs as f64 / elapsed
        ),
    );

    let search = |offset: u64| RunSearch {
        experiment_ids: vec![experiment],
        filter: "metrics.rmse < 4 and params.max_depth = '8'".into(),
        order_by: vec!["metrics.rmse ASC".into()],
        max_results: 1000,
        offset,
        ..RunSearch::default()
    };
    let mut first_page = Vec::new();
    let mut all_pages = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let page = store.search_runs(&search(0)).await.unwrap();
        first_page.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let (mut offset, mut total) = (0, 0);
        loop {
            let page = store.search_runs(&search(offset)).await.unwrap();
            total += page.runs.len();
            match page.next_offset {
                Some(next) => offset = next,
                None => break,
            }
        }
        all_pages.push(started.elapsed().as_secs_f64());
        found = total.max(page.runs.len());
    }
    report(
        "search_runs_first_page",
        median(first_page),
        &format!(",\"found\":{found}"),
    );
    report("search_runs_all_pages", median(all_pages), "");
    let unfiltered = RunSearch {
        experiment_ids: vec![experiment],
        max_results: 1000,
        ..RunSearch::default()
    };
    let mut plain = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        store.search_runs(&unfiltered).await.unwrap();
        plain.push(started.elapsed().as_secs_f64());
    }
    report("search_runs_unfiltered_first_page", median(plain), "");

    // One metric of 1,000,000 points.
    let run = store.create_run(&new_run()).await.unwrap().info.run_id;
    let started = Instant::now();
    for first in (0..points).step_by(1000) {
        let count = (points - first).min(1000);
        store
            .log_batch(&run, &metrics("loss", count, first as i64))
            .await
            .unwrap();
    }
    report(
        "log_history",
        started.elapsed().as_secs_f64(),
        &format!(",\"points\":{points}"),
    );
    let mut reads = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let history = store.metric_history(&run, "loss").await.unwrap();
        reads.push(started.elapsed().as_secs_f64());
        assert_eq!(history.len(), points);
    }
    report(
        "read_history",
        median(reads),
        &format!(",\"points\":{points}"),
    );
}
