//! Statistics of a CSV file before any pipeline exists: the figures StatisticsGen computes, as
//! JSON and as the HTML report, read straight from the CSV.
//!
//! ```text
//! cargo run --release --example profile -- examples/data/chicago_taxi/data.csv --html taxi.html
//! cargo run --release --example profile -- big.csv --json stats.json --threads 2 --peak-memory
//! ```
//!
//! Prints one line per feature (count, missing, mean or unique) and, with `--peak-memory`, the
//! process's peak resident memory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use millrace::tabular::csv::CsvOptions;
use millrace::tabular::parallel::default_threads;
use millrace::tabular::report::statistics_html;
use millrace::tabular::statistics::{DatasetStatistics, StatisticsOptions, csv_statistics};

struct Arguments {
    input: PathBuf,
    html: Option<PathBuf>,
    json: Option<PathBuf>,
    threads: usize,
    peak_memory: bool,
}

fn arguments() -> Result<Arguments, String> {
    let mut arguments = std::env::args().skip(1);
    let mut parsed = Arguments {
        input: PathBuf::new(),
        html: None,
        json: None,
        threads: default_threads(),
        peak_memory: false,
    };
    while let Some(argument) = arguments.next() {
        let mut value = |name: &str| arguments.next().ok_or(format!("{name} needs a value"));
        match argument.as_str() {
            "--html" => parsed.html = Some(value("--html")?.into()),
            "--json" => parsed.json = Some(value("--json")?.into()),
            "--threads" => {
                parsed.threads = value("--threads")?
                    .parse()
                    .map_err(|error| format!("--threads: {error}"))?;
            }
            "--peak-memory" => parsed.peak_memory = true,
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            input => parsed.input = input.into(),
        }
    }
    if parsed.input.as_os_str().is_empty() {
        return Err(
            "usage: profile DATA.csv [--html OUT] [--json OUT] [--threads N] [--peak-memory]"
                .into(),
        );
    }
    Ok(parsed)
}

/// The peak resident memory of this process, from Linux's `/proc/self/status`.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool reports on the terminal.
fn main() -> ExitCode {
    let arguments = match arguments() {
        Ok(arguments) => arguments,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let split = match csv_statistics(
        &arguments.input,
        &CsvOptions::default(),
        "all",
        &StatisticsOptions::default(),
        arguments.threads,
    ) {
        Ok(split) => split,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed();
    for feature in &split.features {
        let summary = match (&feature.numeric, &feature.string) {
            (Some(numeric), _) => format!(
                "mean {:.6} min {} max {}",
                numeric.mean, numeric.min, numeric.max
            ),
            (_, Some(strings)) => format!(
                "unique {}{}",
                if strings.exact { "" } else { "≈" },
                strings.unique
            ),
            _ => String::new(),
        };
        println!(
            "{:<28} {:<6} count {:>10} missing {:>10}  {summary}",
            feature.name, feature.feature_type, feature.count, feature.missing
        );
    }
    println!(
        "{} rows profiled in {:.3} s",
        split.num_examples,
        elapsed.as_secs_f64()
    );
    let statistics = DatasetStatistics {
        span: None,
        splits: vec![split],
    };
    if let Some(path) = &arguments.json {
        let written = serde_json::to_vec_pretty(&statistics)
            .map_err(|error| error.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|error| error.to_string()));
        if let Err(error) = written {
            eprintln!("error: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &arguments.html {
        let title = format!("Statistics — {}", arguments.input.display());
        if let Err(error) = std::fs::write(path, statistics_html(&statistics, &title)) {
            eprintln!("error: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if arguments.peak_memory {
        match peak_resident_kib() {
            Some(kib) => println!("peak resident memory: {} MiB", kib / 1024),
            None => println!("peak resident memory: unknown (no /proc/self/status)"),
        }
    }
    ExitCode::SUCCESS
}
