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

/// The first node.
#[millrace::component(kind = "bench.Source")]
async fn source(out: Output<Dataset>, seed: i64) -> Result<(), ComponentError> {
    let _ = (out, seed);
    Ok(())
}

/// Every other node.
#[millrace::component(kind = "bench.Step")]
async fn step(
    left: Input<Dataset>,
    out: Output<Dataset>,
    factor: f64,
) -> Result<(), ComponentError> {
    let _ = (left, out, factor);
    Ok(())
}

fn chain(nodes: usize) -> Pipeline {
    let mut p = Pipeline::builder("bench");
    let factor = p.param("factor", 1.5_f64);
    let mut previous = p.add("n0", Source::new(0)).out;
    for index in 1..nodes {
        previous = p
            .add(&format!("n{index}"), Step::new(previous, &factor))
            .out;
    }
    p.build().expect("the benchmark pipeline is valid")
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
