//! Build + validate + serialise large pipelines (issue: 10,000 nodes, aim under 50 ms).
//!
//! ```text
//! cargo bench --bench build_pipeline
//! ```
//!
//! Shapes: a chain (each node reads the previous one) and a wide fan-out/fan-in (each node reads
//! two random earlier ones), made of function components with a parameter each. The canonical
//! JSON and fingerprint of such pipelines are pinned by `crates/millrace-core/tests/pinned_ir.rs`.

#![allow(clippy::expect_used)] // The benchmark builds a pipeline known to be valid.

use millrace::prelude::*;

fn main() {
    divan::main();
}

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
    right: Option<Input<Dataset>>,
    out: Output<Dataset>,
    factor: f64,
) -> Result<(), ComponentError> {
    let _ = (left, right, out, factor);
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    Chain,
    RandomDag,
}

fn build(shape: Shape, nodes: usize) -> Pipeline {
    let mut p = Pipeline::builder("bench");
    let factor = p.param("factor", 1.5_f64);
    let mut outputs = vec![p.add("n0", Source::new(0)).out];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_random = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for index in 1..nodes {
        let (left, right) = match shape {
            Shape::Chain => (outputs[index - 1], None),
            Shape::RandomDag => (
                outputs[next_random(index)],
                Some(outputs[next_random(index)]),
            ),
        };
        let node = p.add(&format!("n{index}"), Step::new(left, right, &factor));
        outputs.push(node.out);
    }
    p.build().expect("the benchmark pipeline is valid")
}

const SIZES: [usize; 2] = [1_000, 10_000];

/// The typed API: add every node, then `build()` (erase types, validate, fingerprint).
#[divan::bench(args = SIZES)]
fn build_and_validate_chain(nodes: usize) -> Pipeline {
    build(Shape::Chain, divan::black_box(nodes))
}

/// The same on a random DAG.
#[divan::bench(args = SIZES)]
fn build_and_validate_random_dag(nodes: usize) -> Pipeline {
    build(Shape::RandomDag, divan::black_box(nodes))
}

/// What the issue measures end to end: build + validate + serialise to JSON (the indented form
/// `compile --target ir` writes).
#[divan::bench(args = SIZES)]
fn build_validate_serialise(nodes: usize) -> String {
    build(Shape::RandomDag, divan::black_box(nodes)).to_json()
}

/// The same, serialising to compact (canonical) JSON instead of the indented file form: the
/// text `build()` wrote and hashed for the fingerprint, copied out.
#[divan::bench(args = SIZES)]
fn build_validate_serialise_compact(nodes: usize) -> String {
    build(Shape::RandomDag, divan::black_box(nodes))
        .canonical_json()
        .to_owned()
}

/// Writing the compact JSON again from the spec's nodes, as `PipelineSpec::canonical_json`
/// does for a spec that is not a built pipeline (the build itself excluded).
#[divan::bench(args = SIZES)]
fn serialise_spec_compact(bencher: divan::Bencher<'_, '_>, nodes: usize) {
    let pipeline = build(Shape::RandomDag, nodes);
    bencher.bench(|| divan::black_box(pipeline.spec()).canonical_json());
}

/// The IR path: parse a JSON spec and validate it against the registry (what `run-node`
/// does in every task of a remote run).
#[divan::bench(args = SIZES)]
fn read_and_validate_ir(bencher: divan::Bencher<'_, '_>, nodes: usize) {
    let json = build(Shape::RandomDag, nodes).to_json();
    bencher.bench(|| Pipeline::from_json(divan::black_box(&json)).expect("valid"));
}
