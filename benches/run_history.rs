//! What years of continuous training cost a run: a fully cached taxi run, and `runs list` of
//! the newest 50 runs, as the store fills with earlier runs of the same pipeline.
//!
//! ```text
//! cargo bench --bench run_history                 # up to 1,000 earlier runs, SQLite
//! cargo bench --bench run_history -- 400          # up to 400
//! MILLRACE_BENCH_STORE=postgres://... cargo bench --bench run_history   # a PostgreSQL database (emptied first by you)
//! ```
//!
//! The store is filled by running the real pipeline (`examples/taxi`), in process through the
//! pipeline binary's command line, exactly as a user's repeated `cargo run --example taxi` does:
//! the first run executes every node, every later one is served from the cache. At each
//! checkpoint (1, 10, 50, 100, 300, 1,000 earlier runs) the next runs are timed one by one and the
//! median and first quartile are printed, beside those of `runs list --json` (the newest 50
//! runs).

#![allow(clippy::expect_used, clippy::print_stdout, clippy::unwrap_used)] // A benchmark program.

#[path = "../examples/taxi/pipeline.rs"]
mod taxi;

use std::time::{Duration, Instant};

/// How many timed samples each checkpoint takes.
const SAMPLES: usize = 21;

/// Runs the taxi binary's command line in process; returns how long it took and its output.
async fn command_line(arguments: &[&str]) -> (Duration, String) {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut all = vec!["taxi"];
    all.extend_from_slice(arguments);
    let started = Instant::now();
    let code = millrace::cli::run(all, taxi::pipeline, &mut stdout, &mut stderr).await;
    let took = started.elapsed();
    assert_eq!(
        code,
        std::process::ExitCode::SUCCESS,
        "{arguments:?}: {}",
        String::from_utf8_lossy(&stderr)
    );
    (took, String::from_utf8_lossy(&stdout).into_owned())
}

/// The median and the first quartile: this shared machine's timings spread widely, and the
/// quartile shows the floor the median hides.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "{} ({})",
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() / 4])
    )
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn main() {
    // The pusher writes into `TAXI_SERVING`: keep it out of the repository. The workspace
    // forbids `unsafe` (which `set_var` is), so the benchmark runs itself with it set.
    if std::env::var_os("TAXI_SERVING").is_none() {
        let serving = tempfile::tempdir().expect("a temporary directory");
        let status = std::process::Command::new(std::env::current_exe().expect("this program"))
            .args(std::env::args_os().skip(1))
            .env("TAXI_SERVING", serving.path())
            .status()
            .expect("running the benchmark");
        std::process::exit(status.code().unwrap_or(1));
    }
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(measure());
}

async fn measure() {
    let most: usize = std::env::args()
        .skip(1)
        .find_map(|argument| argument.parse().ok())
        .unwrap_or(1_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = std::env::var("MILLRACE_BENCH_STORE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("metadata.sqlite").display()));
    let root = dir.path().join("artifacts").display().to_string();
    let run = ["run", "--store", &store, "--root", &root];
    let list = ["runs", "list", "--json", "--store", &store];

    let (first, _) = command_line(&run).await;
    println!(
        "first run (every node executes): {} — store: {}",
        ms(first),
        store
    );
    println!(
        "| earlier runs | cached run: median (first quartile) of {SAMPLES} | `runs list`: median (first quartile) |"
    );
    println!("|---:|---:|---:|");
    let mut done = 1;
    for checkpoint in [1, 10, 50, 100, 300, 1_000, 3_000, 10_000] {
        if checkpoint > most {
            break;
        }
        while done < checkpoint {
            command_line(&run).await;
            done += 1;
        }
        let mut runs = Vec::new();
        let mut lists = Vec::new();
        for _ in 0..SAMPLES {
            lists.push(command_line(&list).await.0);
            runs.push(command_line(&run).await.0);
            done += 1;
        }
        println!("| {checkpoint} | {} | {} |", summary(runs), summary(lists));
    }
}
