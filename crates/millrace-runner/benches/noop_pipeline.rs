//! Per-node overhead of the local runner: no-op nodes, every execution, artifact and event
//! recorded durably in SQLite (WAL).
//!
//! ```text
//! cargo bench -p millrace-runner --bench noop_pipeline -- [NODES] [SHAPE...] [--parallelism N]
//! ```
//!
//! The runner's default parallelism is the number of cores; `--parallelism` sets another.
//!
//! Shapes: a chain (each node reads the previous one), a fan-out (one source, the rest read
//! it), a random DAG (each node reads one or two earlier nodes). Every node has its own
//! configuration (its index), so every node executes: none is a cache hit of a sibling. Prints
//! one JSON object a shape, with the transactions its records took.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // A benchmark program.

use std::collections::BTreeMap;
use std::time::Instant;

use millrace_core::prelude::*;
use millrace_runner::LocalRunner;

/// Does nothing but exist.
#[millrace_macros::component(crate = millrace_core, kind = "bench.Noop")]
async fn noop(
    left: Option<Input<Dataset>>,
    right: Option<Input<Dataset>>,
    out: Output<Dataset>,
    index: i64,
) -> Result<(), ComponentError> {
    let _ = (left, right, out, index);
    Ok(())
}

fn pipeline(shape: &str, nodes: usize) -> Pipeline {
    let mut p = Pipeline::builder(format!("noop-{shape}"));
    let mut outputs: Vec<Channel<Dataset>> = vec![p.add("n0", Noop::new(None, None, 0)).out];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for index in 1..nodes {
        let (left, right) = match shape {
            "chain" => (outputs[index - 1], None),
            "fan_out" => (outputs[0], None),
            _ => (outputs[next(index)], Some(outputs[next(index)])),
        };
        outputs.push(
            p.add(
                &format!("n{index}"),
                Noop::new(Some(left), right, index as i64),
            )
            .out,
        );
    }
    p.build().unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut arguments: Vec<String> = std::env::args().skip(1).collect();
    let parallelism: Option<usize> = match arguments.iter().position(|a| a == "--parallelism") {
        Some(index) if index + 1 < arguments.len() => {
            let value = arguments.remove(index + 1);
            arguments.remove(index);
            Some(value.parse().expect("--parallelism takes a number"))
        }
        _ => None,
    };
    let nodes: usize = arguments
        .iter()
        .find_map(|argument| argument.parse().ok())
        .unwrap_or(1_000);
    let chosen: Vec<&str> = ["chain", "fan_out", "random_dag"]
        .into_iter()
        .filter(|shape| arguments.iter().any(|a| a == shape))
        .collect();
    let shapes = if chosen.is_empty() {
        vec!["chain", "fan_out", "random_dag"]
    } else {
        chosen
    };
    for shape in shapes {
        let dir = tempfile::tempdir().unwrap();
        let store = millrace_metadata::connect(&format!(
            "sqlite://{}",
            dir.path().join("m.sqlite").display()
        ))
        .await
        .unwrap();
        let mut runner = LocalRunner::new(store, dir.path().join("artifacts"));
        if let Some(parallelism) = parallelism {
            runner = runner.parallelism(parallelism);
        }
        let pipeline = pipeline(shape, nodes);
        let started = Instant::now();
        let summary = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(summary.succeeded);
        let counts = runner.commit_counts();
        println!(
            "{{\"system\": \"millrace\", \"shape\": \"{shape}\", \"nodes\": {nodes}, \"seconds\": {seconds:.3}, \"per_node_ms\": {:.3}, \"commits\": {}, \"records\": {}}}",
            seconds * 1000.0 / nodes as f64,
            counts.commits,
            counts.requests
        );
    }
}
