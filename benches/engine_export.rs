//! Compiling large pipelines for Kubeflow Pipelines (`compile --target kfp`) and Argo Workflows
//! (`compile --target argo`): building the pipeline, validating it, compiling and writing the
//! YAML, as the binary does.
//!
//! ```text
//! cargo bench --bench engine_export
//! .venv-engines/bin/python benches/peers/engine_export.py 1000   # the kfp and hera compilers on the same shapes
//! ```
//!
//! The shapes of `airflow_export` (`benches/shapes`): a chain of function components with a
//! runtime parameter each, and a fan-out (one source, every other node reading it).

#![allow(clippy::expect_used)] // The benchmark builds a pipeline known to be valid.

use millrace::argo::{ArgoOptions, compile};
use millrace::kfp::{KfpOptions, compile_pipeline_spec};
use millrace::prelude::*;

mod shapes;

use shapes::pipeline;

const IMAGE: &str = "registry.example/bench:1";

fn kfp_yaml(pipeline: &Pipeline) -> String {
    let options = KfpOptions::new("/usr/local/bin/bench").image(IMAGE);
    compile_pipeline_spec(pipeline, &options)
        .expect("compiles")
        .to_yaml()
        .expect("writes")
}

fn argo_yaml(pipeline: &Pipeline) -> String {
    let mut options = ArgoOptions::new("/usr/local/bin/bench");
    options.image = Some(IMAGE.to_owned());
    compile(pipeline, &options)
        .expect("compiles")
        .to_yaml()
        .expect("writes")
}

fn main() {
    divan::main();
}

const SIZES: [usize; 2] = [1_000, 10_000];

/// `compile --target kfp` of a chain: build, validate, compile, YAML.
#[divan::bench(args = SIZES)]
fn kfp_chain(nodes: usize) -> String {
    kfp_yaml(&pipeline(divan::black_box(nodes), false))
}

/// `compile --target kfp` of a fan-out.
#[divan::bench(args = SIZES)]
fn kfp_fan_out(nodes: usize) -> String {
    kfp_yaml(&pipeline(divan::black_box(nodes), true))
}

/// `compile --target argo` of a chain: build, validate, compile, YAML.
#[divan::bench(args = SIZES)]
fn argo_chain(nodes: usize) -> String {
    argo_yaml(&pipeline(divan::black_box(nodes), false))
}

/// `compile --target argo` of a fan-out.
#[divan::bench(args = SIZES)]
fn argo_fan_out(nodes: usize) -> String {
    argo_yaml(&pipeline(divan::black_box(nodes), true))
}
