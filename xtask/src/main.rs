//! Project automation for Millrace.
//!
//! ```text
//! cargo xtask test [-- CARGO-TEST-ARGS]   set up what the test suites need, then run them all
//! cargo xtask lint                        cargo fmt --check and clippy with -D warnings
//! cargo xtask bench                       run the benchmarks in benches/
//! ```
//!
//! `cargo xtask test` prepares every external tool a suite needs — today none beyond the Rust
//! toolchain; the Python tools (into a virtual environment) and a throwaway PostgreSQL arrive
//! with the suites that use them — exports where they are through `MILLRACE_TEST_*`
//! variables, and runs `cargo test --workspace`. Plain `cargo test` works too; suites whose
//! tools are missing then say that they were skipped and why.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool talks on the terminal.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match arguments.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "test" => test(rest),
        "lint" => lint(),
        "bench" => bench(),
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

fn usage() {
    println!(
        "cargo xtask test [-- CARGO-TEST-ARGS]   set up the tools the tests need, then run them all\n\
         cargo xtask lint                        cargo fmt --check, then clippy with -D warnings\n\
         cargo xtask bench                       run the benchmarks in benches/"
    );
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {command:?}");
    let status = command
        .status()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

fn test(extra: &[String]) -> Result<(), String> {
    let extra = match extra.split_first() {
        Some((separator, rest)) if separator == "--" => rest,
        _ => extra,
    };
    run(cargo()
        .args(["test", "--workspace", "--all-features"])
        .args(extra))
}

fn lint() -> Result<(), String> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))
}

fn bench() -> Result<(), String> {
    run(cargo().args(["bench", "--workspace"]))
}
