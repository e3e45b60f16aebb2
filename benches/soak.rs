//! The soak: runner processes on one PostgreSQL store, back to back, killed at random and
//! resumed, for half an hour — then every run must be complete and nothing may have leaked.
//!
//! ```text
//! benches/soak.sh [MINUTES] [WORKERS]     # starts a throwaway PostgreSQL, builds, runs this
//! cargo bench --bench soak -- --store postgresql://… [--minutes 30] [--workers 8] [--kill-every 5]
//! ```
//!
//! **What runs.** `WORKERS` slots. Each starts run `soak-<slot>-<n>` of the taxi pipeline
//! (`examples/taxi/`, the real components on the real trip sample) in a child process — this
//! same binary with `--worker`, which calls `LocalRunner::run_or_resume` — with `max_depth`
//! drawn from 4–12 and `trees` from 10–200, so that most runs train and evaluate a new forest
//! (ingest, statistics and schema are served from the cache) and some repeat an earlier one. Every `--kill-every` seconds on average, a random busy child gets SIGKILL; its slot
//! starts the same run again, which resumes it, until it exits by itself.
//!
//! **What is checked at the end**, each printed with its figure:
//! - every run any slot started has ended `succeeded`, read back from the store;
//! - no child exited with an error of its own (a lock, a serialization failure, a constraint);
//! - no process is left behind (no child of this process, no orphaned runner);
//! - the children's memory and file descriptors stay flat: RSS and open descriptors of every
//!   live child, sampled every few seconds, first quarter of the soak against the last;
//! - PostgreSQL's connections stay flat (`pg_stat_activity`, through `psql`, when it is on the
//!   PATH).
//!
//! A benchmark, not a test: it takes as long as it is told to.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // A benchmark program: it says what it measured and stops loudly.

#[path = "../examples/taxi/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use millrace::runner::{LocalRunner, RunHistory, RunState};

/// What the soak is told.
#[derive(Debug, Clone)]
struct Settings {
    store: String,
    minutes: f64,
    workers: usize,
    kill_every: f64,
    work: PathBuf,
}

fn option(arguments: &[String], name: &str) -> Option<String> {
    arguments
        .iter()
        .position(|argument| argument == name)
        .and_then(|index| arguments.get(index + 1))
        .cloned()
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(run_id) = option(&arguments, "--worker") {
        return runtime.block_on(worker(
            &option(&arguments, "--store").expect("--store"),
            Path::new(&option(&arguments, "--root").expect("--root")),
            &run_id,
            [
                (
                    "max_depth",
                    option(&arguments, "--max-depth").expect("--max-depth"),
                ),
                ("trees", option(&arguments, "--trees").expect("--trees")),
            ],
        ));
    }
    let Some(store) = option(&arguments, "--store") else {
        eprintln!(
            "the soak needs a PostgreSQL store: --store postgresql://… (benches/soak.sh starts one)"
        );
        return ExitCode::from(2);
    };
    let work = tempfile::tempdir().unwrap();
    let settings = Settings {
        store,
        minutes: option(&arguments, "--minutes").map_or(30.0, |m| m.parse().unwrap()),
        workers: option(&arguments, "--workers").map_or(8, |w| w.parse().unwrap()),
        kill_every: option(&arguments, "--kill-every").map_or(5.0, |k| k.parse().unwrap()),
        work: work.path().to_owned(),
    };
    runtime.block_on(soak(settings))
}

/// One run (or the resume of one), in this child process.
async fn worker(
    store: &str,
    root: &Path,
    run_id: &str,
    parameters: [(&str, String); 2],
) -> ExitCode {
    let pipeline = pipeline::pipeline().unwrap();
    let store = millrace::metadata::connect(store).await.unwrap();
    let parameters = pipeline
        .parameter_values(
            &parameters
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap();
    let runner = LocalRunner::new(store, root);
    match runner.run_or_resume(&pipeline, run_id, parameters).await {
        Ok(summary) if summary.succeeded => ExitCode::SUCCESS,
        Ok(summary) => {
            eprintln!("run {run_id} failed: {summary:?}");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("run {run_id}: {error}");
            ExitCode::from(1)
        }
    }
}

/// What the slots saw.
#[derive(Debug, Default)]
struct Tally {
    runs: Vec<String>,
    processes: u64,
    kills: u64,
    errors: Vec<String>,
}

/// One sample of a live child.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: f64,
    rss_kib: u64,
    fds: u64,
}

/// The children running now, by slot.
type Live = Arc<Mutex<HashMap<usize, u32>>>;

/// A small xorshift generator: the soak needs no statistical quality, only variety.
fn random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn soak(settings: Settings) -> ExitCode {
    let root = settings.work.join("artifacts");
    let serving = settings.work.join("serving");
    let logs = settings.work.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(settings.minutes * 60.0);
    let started = Instant::now();
    let live: Live = Arc::default();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let connections = Arc::new(Mutex::new(Vec::<(f64, u64)>::new()));
    println!(
        "soak: {} workers, {} min, a SIGKILL every ~{} s, store {}",
        settings.workers,
        settings.minutes,
        settings.kill_every,
        redacted(&settings.store)
    );

    let mut slots = tokio::task::JoinSet::new();
    for slot in 0..settings.workers {
        let (settings, live, tally) = (settings.clone(), Arc::clone(&live), Arc::clone(&tally));
        let (root, serving, logs) = (root.clone(), serving.clone(), logs.clone());
        slots.spawn(async move {
            let mut seed = 0x9e37_79b9_7f4a_7c15 ^ (slot as u64 + 1);
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let run_id = format!("soak-{slot}-{n}");
                let max_depth = (4 + random(&mut seed) % 9).to_string();
                let trees = (10 * (1 + random(&mut seed) % 20)).to_string();
                tally.lock().unwrap().runs.push(run_id.clone());
                loop {
                    let log = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(logs.join(format!("{run_id}.log")))
                        .unwrap();
                    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
                        .args(["--worker", &run_id, "--store", &settings.store])
                        .arg("--root")
                        .arg(&root)
                        .args(["--max-depth", &max_depth, "--trees", &trees])
                        .env("TAXI_SERVING", &serving)
                        .env("RUST_LOG", "warn")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(log)
                        .kill_on_drop(true)
                        .spawn()
                        .unwrap();
                    tally.lock().unwrap().processes += 1;
                    if let Some(pid) = child.id() {
                        live.lock().unwrap().insert(slot, pid);
                    }
                    let status = child.wait().await.unwrap();
                    live.lock().unwrap().remove(&slot);
                    use std::os::unix::process::ExitStatusExt;
                    if status.signal() == Some(9) {
                        continue; // Killed: the same run again resumes it.
                    }
                    if !status.success() {
                        let text = std::fs::read_to_string(logs.join(format!("{run_id}.log")))
                            .unwrap_or_default();
                        tally
                            .lock()
                            .unwrap()
                            .errors
                            .push(format!("{run_id}: {status}: {}", tail(&text)));
                    }
                    break;
                }
            }
        });
    }

    // The killer and the sampler, until the deadline.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next_kill = Instant::now() + Duration::from_secs_f64(settings.kill_every);
    let mut next_sample = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = Instant::now();
        if now >= next_kill {
            let pids: Vec<u32> = live.lock().unwrap().values().copied().collect();
            if !pids.is_empty() {
                let pid = pids[(random(&mut seed) as usize) % pids.len()];
                // `kill -9` through the system's command: no unsafe code for a signal.
                let killed = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status()
                    .is_ok_and(|status| status.success());
                if killed {
                    tally.lock().unwrap().kills += 1;
                }
            }
            let spread = 0.5 + (random(&mut seed) % 1000) as f64 / 1000.0;
            next_kill = now + Duration::from_secs_f64(settings.kill_every * spread);
        }
        if now >= next_sample {
            let at = started.elapsed().as_secs_f64();
            let pids: Vec<u32> = live.lock().unwrap().values().copied().collect();
            let mut taken = samples.lock().unwrap();
            for pid in pids {
                if let (Some(rss_kib), Some(fds)) = (rss_kib(pid), open_fds(pid)) {
                    taken.push(Sample { at, rss_kib, fds });
                }
            }
            drop(taken);
            if let Some(count) = postgres_connections(&settings.store) {
                connections.lock().unwrap().push((at, count));
            }
            next_sample = now + Duration::from_secs(3);
        }
    }
    println!("soak: the deadline passed; letting the runs in flight finish (no more kills)");
    while slots.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();

    report(&settings, &tally, &samples, &connections, elapsed).await
}

async fn report(
    settings: &Settings,
    tally: &Mutex<Tally>,
    samples: &Mutex<Vec<Sample>>,
    connections: &Mutex<Vec<(f64, u64)>>,
    elapsed: f64,
) -> ExitCode {
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let pipeline = pipeline::pipeline().unwrap();
    let store = millrace::metadata::connect(&settings.store).await.unwrap();
    let history = RunHistory::new(&*store);
    let mut not_succeeded = Vec::new();
    for run_id in &tally.runs {
        match history.run(&pipeline, run_id).await {
            Ok(details) if details.run.state == RunState::Succeeded => {}
            Ok(details) => not_succeeded.push(format!("{run_id}: {}", details.run.state)),
            Err(error) => not_succeeded.push(format!("{run_id}: {error}")),
        }
    }
    let leftovers = children_of(std::process::id());
    let samples = samples.lock().unwrap().clone();
    let quarter = |first: bool| -> Vec<Sample> {
        samples
            .iter()
            .filter(|sample| {
                if first {
                    sample.at < elapsed / 4.0
                } else {
                    sample.at >= elapsed * 3.0 / 4.0
                }
            })
            .copied()
            .collect()
    };
    let (early, late) = (quarter(true), quarter(false));
    let median = |values: Vec<u64>| -> u64 {
        let mut values = values;
        values.sort_unstable();
        values.get(values.len() / 2).copied().unwrap_or(0)
    };
    let peak = |values: &[Sample], pick: fn(&Sample) -> u64| values.iter().map(pick).max();
    let connections = connections.lock().unwrap().clone();
    let connection_peak = |first: bool| {
        connections
            .iter()
            .filter(|(at, _)| {
                if first {
                    *at < elapsed / 4.0
                } else {
                    *at >= elapsed * 3.0 / 4.0
                }
            })
            .map(|(_, count)| *count)
            .max()
    };

    println!("\n| what | figure |");
    println!("|---|---|");
    println!(
        "| soak | {:.1} min, {} workers |",
        elapsed / 60.0,
        settings.workers
    );
    println!("| runs started | {} |", tally.runs.len());
    println!("| runner processes | {} |", tally.processes);
    println!("| SIGKILLs (each followed by a resume) | {} |", tally.kills);
    println!(
        "| runs not `succeeded` after their resume | {} |",
        not_succeeded.len()
    );
    println!(
        "| children that failed on their own (lock, serialization, …) | {} |",
        tally.errors.len()
    );
    println!("| processes left behind | {} |", leftovers.len());
    println!(
        "| child RSS, median: first quarter → last quarter | {} → {} MiB |",
        median(early.iter().map(|s| s.rss_kib).collect()) / 1024,
        median(late.iter().map(|s| s.rss_kib).collect()) / 1024
    );
    println!(
        "| child RSS, peak: first quarter → last quarter | {} → {} MiB |",
        peak(&early, |s| s.rss_kib).unwrap_or(0) / 1024,
        peak(&late, |s| s.rss_kib).unwrap_or(0) / 1024
    );
    println!(
        "| child open descriptors, peak: first quarter → last quarter | {} → {} |",
        peak(&early, |s| s.fds).unwrap_or(0),
        peak(&late, |s| s.fds).unwrap_or(0)
    );
    match (connection_peak(true), connection_peak(false)) {
        (Some(first), Some(last)) => println!(
            "| PostgreSQL connections, peak: first quarter → last quarter | {first} → {last} |"
        ),
        _ => println!("| PostgreSQL connections | not sampled (no psql on the PATH) |"),
    }
    for problem in not_succeeded.iter().chain(&tally.errors).take(20) {
        println!("problem: {problem}");
    }
    for pid in &leftovers {
        println!("left behind: process {pid}");
    }
    let flat = |early: Option<u64>, late: Option<u64>| match (early, late) {
        (Some(early), Some(late)) => late <= early.saturating_mul(3) / 2 + 1,
        _ => true,
    };
    let ok = not_succeeded.is_empty()
        && tally.errors.is_empty()
        && leftovers.is_empty()
        && flat(peak(&early, |s| s.fds), peak(&late, |s| s.fds))
        && flat(peak(&early, |s| s.rss_kib), peak(&late, |s| s.rss_kib));
    println!("\nsoak: {}", if ok { "PASSED" } else { "FAILED" });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// The processes whose parent is `parent`, or that a killed runner left (a taxi worker whose
/// parent died is adopted by init, so any `--worker` process still alive counts).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent_of = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let worker = String::from_utf8_lossy(&cmdline).contains("--worker\0soak-");
            parent_of == Some(parent) || worker
        })
        .collect()
}

fn postgres_connections(url: &str) -> Option<u64> {
    let output = std::process::Command::new("psql")
        .args([
            url,
            "-tAc",
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()",
        ])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}
