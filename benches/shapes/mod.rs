//! The pipelines the export benchmarks compile: function components with a runtime parameter
//! each, in a chain (every node reads the one before) or a fan-out (every node reads the first).

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

/// `nodes` nodes, each reading the one before (`fan_out == false`) or all reading the first.
#[allow(clippy::expect_used)] // The benchmark builds a pipeline known to be valid.
pub fn pipeline(nodes: usize, fan_out: bool) -> Pipeline {
    let mut p = Pipeline::builder("bench");
    let factor = p.param("factor", 1.5_f64);
    let first = p.add("n0", Source::new(0)).out;
    let mut previous = first;
    for index in 1..nodes {
        let input = if fan_out { first } else { previous };
        previous = p.add(&format!("n{index}"), Step::new(input, &factor)).out;
    }
    p.build().expect("the benchmark pipeline is valid")
}
