//! The profiling pass (the one StatisticsGen runs) streams: a generated 1 GB CSV is profiled in
//! under 500 MB of resident memory. Its own test binary, so that no other test shares the measured process:
//! the profiling runs in a child process (this test binary again, in a mode that profiles),
//! which reports its peak resident memory from Linux's /proc/self/status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.
#![allow(clippy::print_stdout, clippy::print_stderr)] // The child reports to the parent on stdout.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use millrace_tabular::csv::CsvOptions;
use millrace_tabular::statistics::{StatisticsOptions, csv_statistics};

const CHILD: &str = "MILLRACE_BOUNDED_MEMORY_CHILD";
const TARGET_BYTES: u64 = 1 << 30;

/// Writes about 1 GiB of mixed rows: ints, floats with missing values, a category, and a
/// free-text column with a new value on every row (so the distinct-value tracking must bound
/// itself rather than remember every value).
fn generate(path: &Path) -> u64 {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    out.write_all(b"id,area,fare,miles,payment,comment\n")
        .unwrap();
    let payments = ["Cash", "Credit Card", "No Charge", "Unknown", "Mobile"];
    let mut written = 0u64;
    let mut row = 0u64;
    let mut line = String::with_capacity(128);
    while written < TARGET_BYTES {
        line.clear();
        let miles = if row % 10 == 3 {
            String::new()
        } else {
            format!("{}.{:03}", row % 37, row % 1000)
        };
        use std::fmt::Write as _;
        writeln!(
            line,
            "{row},{},{}.{:02},{miles},{},trip number {row} of the generated day",
            row % 77 + 1,
            (row * 7919) % 300,
            row % 100,
            payments[(row % 5) as usize],
        )
        .unwrap();
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        row += 1;
    }
    out.flush().unwrap();
    row
}

fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn profiling_a_1_gb_csv_stays_under_500_mb() {
    if let Some(path) = std::env::var_os(CHILD) {
        // The child: profile and report.
        let statistics = csv_statistics(
            Path::new(&path),
            &CsvOptions::default(),
            "all",
            &StatisticsOptions::default(),
            2,
        )
        .unwrap();
        println!("rows={}", statistics.num_examples);
        let comment = statistics
            .feature("comment")
            .unwrap()
            .string
            .as_ref()
            .unwrap();
        println!("comment_exact={}", comment.exact);
        println!("peak_kib={}", peak_resident_kib());
        return;
    }
    if !cfg!(target_os = "linux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let rows = generate(&path);
    assert!(std::fs::metadata(&path).unwrap().len() >= TARGET_BYTES);
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "profiling_a_1_gb_csv_stays_under_500_mb",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The child's lines may follow the test harness's own text on the same line.
    let value = |key: &str| {
        stdout
            .split(&format!("{key}="))
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .to_owned()
    };
    assert_eq!(value("rows").parse::<u64>().unwrap(), rows);
    assert_eq!(
        value("comment_exact"),
        "false",
        "a unique value per row outgrows exact counting"
    );
    let peak_mib = value("peak_kib").parse::<u64>().unwrap() / 1024;
    eprintln!("profiled {rows} rows (1 GiB) with a peak of {peak_mib} MiB resident");
    assert!(peak_mib < 500, "peak resident memory {peak_mib} MiB");
}
