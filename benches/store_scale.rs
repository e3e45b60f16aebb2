//! Stores that stay fast as they grow: what users do with a store of 1,000, 10,000 and 100,000
//! runs of the taxi pipeline, on SQLite and (with `MILLRACE_TEST_POSTGRES_URL`) PostgreSQL.
//!
//! ```text
//! cargo bench --bench store_scale                          # 1,000, 10,000 and 100,000 runs
//! cargo bench --bench store_scale -- 1000 10000            # the sizes to measure
//! cargo bench --bench store_scale -- 1000 --samples 31 --reruns 3 --lanes 4
//! MILLRACE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres \
//!   cargo bench --bench store_scale -- 1000              # PostgreSQL too
//! cargo bench --bench store_scale -- 100000 --only postgresql   # one backend
//! ```
//!
//! **The store.** Three real runs of `examples/taxi` are recorded write by write on a scratch
//! store (`store_fill`): the first run, a run on a new span of data (every node executes; the
//! resolvers find the first run's statistics and champion) and a rerun (every node cached).
//! The store measured gets the first run, then runs on new data each followed by `--reruns`
//! reruns (default 1), replayed through the store's public write API with the ids it gives, new
//! run ids and cache keys, and each artifact a symbolic link to the recorded one; then one real
//! run of the pipeline on it, so that the newest records are real. The fill does not wait for
//! each commit to reach the disk (SQLite `synchronous=normal`, PostgreSQL
//! `synchronous_commit=off`), which changes nothing of what it writes; the store is then
//! reopened with its usual settings for the measurements.
//!
//! **What is measured**, `--samples` times each (default 15), on the open store, through the
//! same library calls the command line and the web UI make: a whole cached run of the pipeline
//! through the local runner (resolvers and cache lookups included), `runs list` (the newest 50),
//! `runs list` filtered by an end state no run has, `runs show` of the newest run, the lineage
//! of the newest model (both ways, 20 hops, as `lineage` does), `cache explain trainer`, and the
//! daily clean-up: `prune_runs` keeping the newest 100 runs and pruning the 10 oldest left, then
//! garbage collection of what that marked. One table per backend: the median and, in brackets,
//! the quartiles.

#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_precision_loss
)] // A benchmark program.

#[path = "store_fill/mod.rs"]
mod store_fill;
#[path = "../examples/taxi/pipeline.rs"]
mod taxi;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use millrace::metadata::store::{PIPELINE_CONTEXT, PIPELINE_RUN_CONTEXT};
use millrace::metadata::{Direction, MetadataStore, NodeQuery, OrderBy, Value};
use millrace::prelude::Pipeline;
use millrace::runner::{ArtifactStorage, LocalRunner, NodeState, RunHistory, RunPage, RunState};
use store_fill::{Fill, Template};

/// Runs kept by every prune.
const KEEP_LAST: usize = 100;
/// Runs each timed prune removes.
const PRUNED_PER_SAMPLE: usize = 10;
/// The property of a pipeline's context that says where pruning stopped (the first run kept).
const PRUNED_BELOW: &str = "pruned_below_run";
/// The data the template's runs read.
const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/chicago_taxi/data.csv"
);
/// The variable that hands this invocation's directory (its data, the template's runs) to the
/// re-executed benchmark.
const SESSION_VARIABLE: &str = "STORE_SCALE_SESSION";
/// The variable that hands it the directory of the filled stores.
const BASE_VARIABLE: &str = "STORE_SCALE_BASE";
/// The PostgreSQL server to measure against too.
const POSTGRES_VARIABLE: &str = "MILLRACE_TEST_POSTGRES_URL";

/// What to measure.
#[derive(Debug, Clone)]
struct Options {
    sizes: Vec<usize>,
    samples: usize,
    reruns: usize,
    lanes: usize,
    /// Where filled stores are kept between invocations (none: a temporary directory).
    dir: Option<PathBuf>,
    /// The one backend to measure (`sqlite` or `postgresql`; none: every one available).
    only: Option<String>,
}

impl Options {
    fn parse() -> Options {
        let mut options = Options {
            sizes: Vec::new(),
            samples: 15,
            reruns: 1,
            lanes: 4,
            dir: None,
            only: None,
        };
        let mut arguments = std::env::args().skip(1);
        while let Some(argument) = arguments.next() {
            let mut number = |name: &str| -> usize {
                arguments
                    .next()
                    .and_then(|value| value.parse().ok())
                    .unwrap_or_else(|| panic!("{name} needs a number"))
            };
            match argument.as_str() {
                "--samples" => options.samples = number("--samples").max(1),
                "--reruns" => options.reruns = number("--reruns"),
                "--lanes" => options.lanes = number("--lanes").max(1),
                "--dir" => {
                    options.dir = Some(PathBuf::from(
                        arguments.next().expect("--dir needs a directory"),
                    ));
                }
                "--only" => {
                    let backend = arguments.next().unwrap_or_default().to_lowercase();
                    assert!(
                        ["sqlite", "postgresql"].contains(&backend.as_str()),
                        "--only needs `sqlite` or `postgresql`"
                    );
                    options.only = Some(backend);
                }
                "--bench" => {}
                other => match other.replace(['_', ','], "").parse() {
                    Ok(size) => options.sizes.push(size),
                    Err(_) => panic!("unknown argument {other}"),
                },
            }
        }
        if options.sizes.is_empty() {
            options.sizes = vec![1_000, 10_000, 100_000];
        }
        options
    }
}

/// Timings of one operation.
#[derive(Debug, Default, Clone)]
struct Samples(Vec<Duration>);

impl Samples {
    fn add(&mut self, took: Duration) {
        self.0.push(took);
    }

    fn quartile(sorted: &[Duration], fraction: f64) -> Duration {
        let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
        sorted[index]
    }

    /// `median (first quartile–third quartile)`.
    fn summary(&self) -> String {
        if self.0.is_empty() {
            return "—".to_owned();
        }
        let mut sorted = self.0.clone();
        sorted.sort();
        format!(
            "{} ({}–{})",
            ms(Self::quartile(&sorted, 0.5)),
            ms(Self::quartile(&sorted, 0.25)),
            ms(Self::quartile(&sorted, 0.75))
        )
    }

    fn median(&self) -> Option<Duration> {
        let mut sorted = self.0.clone();
        sorted.sort();
        (!sorted.is_empty()).then(|| Self::quartile(&sorted, 0.5))
    }
}

fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

/// The operations measured, in the table's order.
const OPERATIONS: [&str; 9] = [
    "cached run (11 nodes)",
    "`runs list`, newest 50",
    "`runs list`, an end state no run has",
    "`runs show`, the newest run",
    "lineage of the newest model (both ways, 20 hops)",
    "`cache explain trainer`",
    "`prune_runs`: keep 100, prune the 10 oldest left",
    "garbage collection of what that prune marked",
    "one real run on new data (every node executes)",
];

fn main() {
    // The pusher writes into `TAXI_SERVING` and the pipeline reads `TAXI_DATA`: both are read
    // when the pipeline is built, and the workspace forbids `unsafe` (which `set_var` is), so
    // the benchmark runs itself with them set, to a session directory of its own.
    if std::env::var_os(SESSION_VARIABLE).is_none() {
        let options = Options::parse();
        let temporary = tempfile::tempdir().expect("a temporary directory");
        let base = options.dir.unwrap_or_else(|| temporary.path().to_owned());
        let session = base.join("sessions").join(std::process::id().to_string());
        let span = session.join("data/span-1");
        std::fs::create_dir_all(&span).expect("the data directory");
        std::fs::copy(DATA, span.join("data.csv")).expect("the taxi data");
        let status = std::process::Command::new(std::env::current_exe().expect("this program"))
            .args(std::env::args_os().skip(1))
            .env(SESSION_VARIABLE, &session)
            .env(BASE_VARIABLE, &base)
            .env("TAXI_SERVING", session.join("serving"))
            .env(
                "TAXI_DATA",
                format!("{}/data/span-{{SPAN}}/*.csv", session.display()),
            )
            .status()
            .expect("running the benchmark");
        std::process::exit(status.code().unwrap_or(1));
    }
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(measure(Options::parse()));
}

/// A second span of data: the first without every seventh trip.
fn add_second_span(session: &Path) -> std::io::Result<()> {
    let span = session.join("data/span-2");
    std::fs::create_dir_all(&span)?;
    let text = std::fs::read_to_string(DATA)?;
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(index, _)| index % 7 != 3)
        .map(|(_, line)| line)
        .collect();
    std::fs::write(span.join("data.csv"), kept.join("\n") + "\n")
}

async fn measure(options: Options) {
    let session = PathBuf::from(std::env::var(SESSION_VARIABLE).expect("the session directory"));
    let base = PathBuf::from(std::env::var(BASE_VARIABLE).expect("the stores' directory"));
    let pipeline = taxi::pipeline().expect("the taxi pipeline");
    let mut template = None;
    let mut backends = vec![("SQLite", None)];
    if let Ok(url) = std::env::var(POSTGRES_VARIABLE)
        && !url.is_empty()
    {
        backends.push(("PostgreSQL", Some(url)));
    }
    if let Some(only) = &options.only {
        backends.retain(|(backend, _)| backend.to_lowercase() == *only);
        assert!(
            !backends.is_empty(),
            "--only {only}: that backend is not available (PostgreSQL needs {POSTGRES_VARIABLE})"
        );
    }
    for (backend, server) in backends {
        let mut columns = Vec::new();
        for &size in &options.sizes {
            let dir = base.join("stores").join(format!(
                "{}-{size}-{}",
                backend.to_lowercase(),
                options.reruns
            ));
            std::fs::create_dir_all(&dir).expect("the store's directory");
            let marker = dir.join("filled");
            let url = match &server {
                None => format!("sqlite://{}", dir.join("metadata.sqlite").display()),
                Some(server) => {
                    // Kept with --dir (a fixed name), dropped otherwise.
                    let schema = match options.dir {
                        Some(_) => format!("store_scale_{size}_{}", options.reruns),
                        None => format!("store_scale_{}_{size}", std::process::id()),
                    };
                    if !marker.exists() {
                        run_sql(server, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                        run_sql(server, &format!("CREATE SCHEMA {schema}"));
                    }
                    let separator = if server.contains('?') { '&' } else { '?' };
                    format!("{server}{separator}options=-c%20search_path%3D{schema}")
                }
            };
            if !marker.exists() {
                // The fill writes without waiting for each commit to reach the disk: the same
                // records, sooner (a 100,000-run PostgreSQL store fills in minutes rather than
                // hours). The measurements below reopen the store with its usual settings.
                let fill_url = match &server {
                    None => format!("{url}?synchronous=normal"),
                    Some(_) => format!("{url}%20-c%20synchronous_commit%3Doff"),
                };
                let store = millrace::metadata::connect(&fill_url)
                    .await
                    .expect("the store");
                let template = match &template {
                    Some(template) => Arc::clone(template),
                    None => {
                        let recorded = record_template(&pipeline, &session).await;
                        template = Some(Arc::clone(&recorded));
                        recorded
                    }
                };
                let lanes = if server.is_some() { options.lanes } else { 1 };
                fill(&store, &template, &dir, size, lanes, options.reruns).await;
                std::fs::write(&marker, format!("{size} runs\n")).expect("the marker");
            }
            let store = millrace::metadata::connect(&url).await.expect("the store");
            let column = measure_size(&pipeline, &store, &dir.join("artifacts"), &options).await;
            drop(store);
            columns.push((size, column));
            if let (Some(server), None) = (&server, &options.dir) {
                let schema = format!("store_scale_{}_{size}", std::process::id());
                run_sql(server, &format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
        print_table(backend, &columns);
    }
}

/// Three real runs of the pipeline, recorded write by write.
async fn record_template(pipeline: &Pipeline, session: &Path) -> Arc<Template> {
    let recording = Instant::now();
    let scratch = session.join("template");
    std::fs::create_dir_all(&scratch).expect("the template's directory");
    let template = Template::record(pipeline, &scratch, || add_second_span(session))
        .await
        .expect("recording the template runs");
    println!(
        "template: three real runs of `{}` recorded ({} + {} + {} writes) in {:.1} s",
        pipeline.name(),
        template.first.writes.len(),
        template.fresh.writes.len(),
        template.cached.writes.len(),
        recording.elapsed().as_secs_f64()
    );
    Arc::new(template)
}

/// Fills the store in `dir` with `size` runs but one (the real run each measurement starts
/// with).
async fn fill(
    store: &Arc<dyn MetadataStore>,
    template: &Arc<Template>,
    dir: &Path,
    size: usize,
    lanes: usize,
    reruns: usize,
) {
    let fill = Fill {
        runs: size - 1,
        reruns_per_new_data: reruns,
        lanes,
        root: dir.join("artifacts"),
        link_files: true,
    };
    eprintln!("{}: filling with {} runs…", store.location(), size - 1);
    let filled = fill
        .write_into(store, template)
        .await
        .expect("filling the store");
    println!(
        "{}: {} runs ({} writes) in {:.1} s, {:.0} runs/s",
        store.location(),
        filled.runs,
        filled.writes,
        filled.took.as_secs_f64(),
        filled.runs as f64 / filled.took.as_secs_f64()
    );
}

/// Runs `sql` on the server, on a thread of its own (the synchronous client runs a runtime).
fn run_sql(server: &str, sql: &str) {
    let (server, sql) = (server.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        postgres::Client::connect(&server, postgres::NoTls)
            .expect("the PostgreSQL server accepts connections")
            .batch_execute(&sql)
            .expect("the statement runs");
    })
    .join()
    .expect("the statement's thread");
}

/// The runs the runner reports complete (resolvers, which always run) in a fully cached run.
fn executed(summary: &millrace::runner::RunSummary) -> usize {
    summary
        .nodes
        .iter()
        .filter(|node| node.state == NodeState::Complete)
        .count()
}

async fn measure_size(
    pipeline: &Pipeline,
    store: &Arc<dyn MetadataStore>,
    root: &Path,
    options: &Options,
) -> BTreeMap<&'static str, Samples> {
    let mut timings: BTreeMap<&'static str, Samples> = BTreeMap::new();
    let runner = LocalRunner::new(Arc::clone(store), root);
    let parameters = pipeline
        .parameter_values(&BTreeMap::new())
        .expect("the default parameters");

    // One real run on new data, then reruns until one is served from the cache whole.
    let started = Instant::now();
    let first = runner
        .run(pipeline, parameters.clone())
        .await
        .expect("the real run");
    assert!(first.succeeded, "the real run failed: {first:?}");
    timings
        .entry(OPERATIONS[8])
        .or_default()
        .add(started.elapsed());
    let fully_cached = executed(
        &runner
            .run(pipeline, parameters.clone())
            .await
            .expect("a rerun"),
    );
    let history = RunHistory::new(&**store);
    let model = store
        .get_artifacts(
            &NodeQuery::all()
                .of_type("Model")
                .order_by(OrderBy::Id)
                .descending()
                .limit(1),
        )
        .await
        .expect("the models")[0]
        .id
        .expect("an id");

    for _ in 0..options.samples {
        let started = Instant::now();
        let summary = runner
            .run(pipeline, parameters.clone())
            .await
            .expect("a cached run");
        timings
            .entry(OPERATIONS[0])
            .or_default()
            .add(started.elapsed());
        assert!(
            summary.succeeded && executed(&summary) <= fully_cached,
            "a rerun was not served from the cache: {summary:?}"
        );

        let started = Instant::now();
        let runs = history
            .runs(pipeline, &RunPage::newest(50))
            .await
            .expect("runs list");
        timings
            .entry(OPERATIONS[1])
            .or_default()
            .add(started.elapsed());
        assert_eq!(runs.len(), 50);
        assert_eq!(runs[0].run.run_id, summary.run_id);

        let started = Instant::now();
        let failed = history
            .runs(pipeline, &RunPage::newest(50).ended_as(RunState::Failed))
            .await
            .expect("runs list, failed");
        timings
            .entry(OPERATIONS[2])
            .or_default()
            .add(started.elapsed());
        assert!(failed.is_empty());

        let started = Instant::now();
        let shown = history
            .run(pipeline, &summary.run_id)
            .await
            .expect("runs show");
        timings
            .entry(OPERATIONS[3])
            .or_default()
            .add(started.elapsed());
        assert_eq!(shown.nodes.len(), pipeline.spec().nodes.len());

        let started = Instant::now();
        let lineage = history
            .lineage(model, Direction::Both, 20)
            .await
            .expect("lineage");
        timings
            .entry(OPERATIONS[4])
            .or_default()
            .add(started.elapsed());
        assert!(!lineage.executions.is_empty());

        let started = Instant::now();
        history
            .explain_cache(pipeline, "trainer", None)
            .await
            .expect("cache explain");
        timings
            .entry(OPERATIONS[5])
            .or_default()
            .add(started.elapsed());
    }

    let storage = ArtifactStorage::local(root);
    for sample in 0..options.samples {
        // The runs created before the 11th oldest not yet pruned are pruned: where earlier
        // prunes stopped, the store records on the pipeline's context.
        let pipeline_context = store
            .get_contexts(
                &NodeQuery::all()
                    .of_type(PIPELINE_CONTEXT)
                    .named(pipeline.name()),
            )
            .await
            .expect("the pipeline's context")
            .remove(0);
        let pruned_below = match pipeline_context.custom_properties.get(PRUNED_BELOW) {
            Some(Value::Int(id)) => *id,
            _ => 0,
        };
        let oldest = store
            .get_contexts(&NodeQuery {
                child_of: pipeline_context.id,
                ..NodeQuery::all()
                    .of_type(PIPELINE_RUN_CONTEXT)
                    .order_by(OrderBy::Id)
                    .after(pruned_below - 1)
                    .limit(u32::try_from(PRUNED_PER_SAMPLE + 1).expect("few"))
            })
            .await
            .expect("the oldest runs");
        let cutoff = oldest.last().expect("runs").create_time_since_epoch;
        let started = Instant::now();
        let pruned = store
            .prune_runs(pipeline.name(), cutoff, KEEP_LAST)
            .await
            .expect("prune");
        timings
            .entry(OPERATIONS[6])
            .or_default()
            .add(started.elapsed());
        let started = Instant::now();
        let collected = millrace::runner::collect_garbage(&**store, &storage)
            .await
            .expect("garbage collection");
        timings
            .entry(OPERATIONS[7])
            .or_default()
            .add(started.elapsed());
        if sample == 0 {
            eprintln!(
                "  first prune: {} runs, {} artifacts marked; collection removed {}",
                pruned.runs.len(),
                pruned.marked_artifacts.len(),
                collected.removed.len()
            );
        }
        assert!(collected.failed.is_empty(), "{:?}", collected.failed);
    }
    timings
}

fn print_table(backend: &str, columns: &[(usize, BTreeMap<&'static str, Samples>)]) {
    println!();
    println!("{backend}: median (first quartile–third quartile), ms");
    println!();
    let mut header = "| operation |".to_owned();
    let mut rule = "|---|".to_owned();
    for (size, _) in columns {
        header.push_str(&format!(" {size} runs |"));
        rule.push_str("---:|");
    }
    if columns.len() > 1 {
        header.push_str(" last ÷ first |");
        rule.push_str("---:|");
    }
    println!("{header}");
    println!("{rule}");
    for operation in OPERATIONS {
        let mut row = format!("| {operation} |");
        for (_, timings) in columns {
            let samples = timings.get(operation).cloned().unwrap_or_default();
            row.push_str(&format!(" {} |", samples.summary()));
        }
        if let (Some((_, first)), Some((_, last))) = (columns.first(), columns.last())
            && columns.len() > 1
        {
            let median = |timings: &BTreeMap<&str, Samples>| {
                timings.get(operation).and_then(Samples::median)
            };
            match (median(first), median(last)) {
                (Some(first), Some(last)) if !first.is_zero() => row.push_str(&format!(
                    " {:.2}× |",
                    last.as_secs_f64() / first.as_secs_f64()
                )),
                _ => row.push_str(" — |"),
            }
        }
        println!("{row}");
    }
}
