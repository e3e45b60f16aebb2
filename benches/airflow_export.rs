//! Exporting large pipelines to Airflow DAG files (`compile --target airflow`).
//!
//! ```text
//! cargo bench --bench airflow_export
//! MILLRACE_BENCH_WRITE_DAG=dags/bench.py cargo bench --bench airflow_export   # writes the 1,000-node DAG and stops
//! ```
//!
//! A chain of function components with a runtime parameter each, as in `build_pipeline`.
//! `benches/peers/airflow.sh` uses the written DAG to time Airflow's DagBag against a
//! hand-written equivalent.

#![allow(clippy::expect_used)] // The benchmark builds a pipeline known to be valid.

use millrace::airflow::{AirflowOptions, export_dag};
use millrace::prelude::*;

mod shapes;

fn chain(nodes: usize) -> Pipeline {
    shapes::pipeline(nodes, false)
}

fn options() -> AirflowOptions {
    AirflowOptions {
        binary: "/opt/millrace/bench".to_owned(),
        store: Some("postgres://millrace@db/millrace".to_owned()),
        root: Some("/mnt/artifacts".to_owned()),
    }
}

fn main() {
    if let Some(path) = std::env::var_os("MILLRACE_BENCH_WRITE_DAG") {
        let dag = export_dag(&chain(1_000), &options()).expect("exports");
        std::fs::write(&path, dag).expect("the DAG file is written");
        return;
    }
    divan::main();
}

const SIZES: [usize; 2] = [1_000, 10_000];

/// Writing the DAG file of an already built pipeline.
#[divan::bench(args = SIZES)]
fn export(bencher: divan::Bencher<'_, '_>, nodes: usize) {
    let pipeline = chain(nodes);
    let options = options();
    bencher.bench(|| export_dag(divan::black_box(&pipeline), &options).expect("exports"));
}

/// What `compile --target airflow` does in the binary: build and validate, then export.
#[divan::bench(args = SIZES)]
fn build_and_export(nodes: usize) -> String {
    export_dag(&chain(divan::black_box(nodes)), &options()).expect("exports")
}
