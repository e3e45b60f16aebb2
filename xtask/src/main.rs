//! Project automation for Millrace.
//!
//! ```text
//! cargo xtask test [--no-python] [--no-airflow] [--no-trainers] [--no-postgres] [--no-containers] [--no-browser] [-- CARGO-TEST-ARGS]
//!                                          set up the tools the suites need, then run them all
//! cargo xtask lint                         cargo fmt --check, clippy and rustdoc with -D warnings,
//!                                          and `millrace --no-default-features` builds light
//! cargo xtask bench                        run the benchmarks in benches/
//! ```
//!
//! `cargo xtask test` prepares every external tool a suite needs and exports where it is
//! through a `MILLRACE_TEST_*` variable: a CPython 3.11 virtual environment with the pinned
//! `ml-metadata` (`MILLRACE_TEST_PYTHON`, see [`python`]), one with Apache Airflow 3.3.2
//! (`MILLRACE_TEST_AIRFLOW_PYTHON`), one with TensorFlow, Keras, scikit-learn and XGBoost for the
//! Python trainers (`MILLRACE_TEST_TRAINERS_PYTHON`) and a throwaway PostgreSQL
//! (`MILLRACE_TEST_POSTGRES_URL`, see [`postgres`]) and podman with a Debian base image built
//! from packages (`MILLRACE_CONTAINER_BASE`, `CONTAINERS_CONF`, see [`containers`]). Then it runs
//! `cargo test --workspace --all-features` (see [`test_task`]). Plain `cargo test` works too;
//! suites whose tools are missing then say that they were skipped and why.
//!
//! Only `std`: xtask builds in seconds on a cold machine.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool talks on the terminal.

mod browser;
mod containers;
mod emulators;
mod features;
mod host;
mod postgres;
mod process;
mod python;
mod s3;
mod test_task;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use process::{cargo, run};

/// Runs the task named by the first argument; a failure is one `xtask: ...` line and exit code 1.
fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match arguments.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let root = workspace_root();
    let result = match task {
        "test" => test_task::test(&root, rest),
        "lint" => lint(&root),
        "bench" => bench(&root),
        "help" | "--help" | "-h" => {
            usage();
            Ok(())
        }
        other => Err(format!("unknown task `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the tasks.
fn usage() {
    println!(
        "cargo xtask test [--no-python] [--no-airflow] [--no-trainers] [--no-postgres] [--no-containers] [--no-browser] [-- CARGO-TEST-ARGS]\n\
         \x20   set up the tools the tests need, then run them all (cargo test --workspace --all-features):\n\
         \x20   a CPython 3.11 venv with ml-metadata at $MILLRACE_VENV (default .venv) as MILLRACE_TEST_PYTHON,\n\
         \x20   one with Apache Airflow at $MILLRACE_AIRFLOW_VENV (default .venv-airflow) as MILLRACE_TEST_AIRFLOW_PYTHON,\n\
         \x20   one with TensorFlow at $MILLRACE_TRAINERS_VENV (default .venv-trainers) as MILLRACE_TEST_TRAINERS_PYTHON,\n\
         \x20   a throwaway PostgreSQL as MILLRACE_TEST_POSTGRES_URL, and podman with a Debian base image as\n\
         \x20   MILLRACE_CONTAINER_BASE (CONTAINERS_CONF set), and headless Chromium with chromedriver from Debian's packages;\n\
         \x20   --no-python / --no-airflow / --no-trainers / --no-postgres / --no-containers / --no-browser skip one\n\
         \x20   (`-- -p PACKAGE` tests one package instead of the workspace)\n\
         cargo xtask lint     cargo fmt --check, clippy and rustdoc with -D warnings; millrace builds without its default features and their heavy crates\n\
         cargo xtask bench    run the benchmarks in benches/"
    );
}

/// The workspace's root directory: the parent of this package's. Read from the environment
/// `cargo run` gives the process first: with a target directory shared between checkouts (as
/// CI shares one), the binary may have been built in another checkout, whose path the
/// compile-time value would name.
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// `cargo xtask lint`: rustfmt's check, clippy on everything with warnings as errors, the
/// documentation with warnings as errors, and the facade built without its default features.
fn lint(root: &Path) -> Result<(), String> {
    run(cargo()
        .current_dir(root)
        .args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The crate guides and their links are part of the product.
    run(cargo()
        .current_dir(root)
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--workspace", "--no-deps", "--all-features"]))?;
    features::check_minimal_build(root)?;
    features::check_no_forbidden_crates(root)?;
    features::check_tabular_stands_alone(root)
}

/// `cargo xtask bench`: every benchmark of the workspace.
fn bench(root: &Path) -> Result<(), String> {
    run(cargo().current_dir(root).args(["bench", "--workspace"]))
}
