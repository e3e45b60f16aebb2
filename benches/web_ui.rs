//! The web UI at scale, through a real server on 127.0.0.1 (in process) and a plain HTTP/1.1
//! client: the runs page with 100,000 runs in the store, and the page of a 1,000-node run.
//!
//! ```text
//! cargo bench --bench web_ui                  # 100,000 runs
//! cargo bench --bench web_ui -- 10000         # fewer
//! ```
//!
//! The store (SQLite, WAL) gets one real run of a three-node pipeline through the local
//! runner; that run's rows — its context, properties, parent link, executions, their
//! properties and associations — are then copied, in one transaction, until the store holds the
//! number of runs asked for: the rows the runs page reads are exactly those real runs leave.
//! Each request is timed from writing it to the first byte of the reply (what a browser waits
//! before it draws anything) and to the last; 200 requests per page, p50 and p95.

#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss
)] // A benchmark program.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use millrace::prelude::{ComponentError, Dataset, Input, Output, Pipeline};
use millrace::runner::{ArtifactStorage, LocalRunner};
use millrace::server::ServerState;
use millrace::server::ui::Ui;

/// Requests timed per page.
const SAMPLES: usize = 200;

/// Writes a line.
#[millrace::component(kind = "bench.Write")]
async fn write(out: Output<Dataset>, text: String) -> Result<(), ComponentError> {
    std::fs::write(out.uri().join("text.txt"), text)?;
    Ok(())
}

/// Copies its input.
#[millrace::component(kind = "bench.Duplicate")]
async fn duplicate(input: Input<Dataset>, out: Output<Dataset>) -> Result<(), ComponentError> {
    std::fs::copy(input.uri().join("text.txt"), out.uri().join("text.txt"))?;
    Ok(())
}

fn small() -> Pipeline {
    let mut p = Pipeline::builder("many-runs");
    let text = p.param("text", "hello".to_owned());
    let written = p.add("write", Write::new(&text));
    let copied = p.add("copy", Duplicate::new(written.out));
    p.add("copy_again", Duplicate::new(copied.out));
    p.build().unwrap()
}

/// Ten layers of a hundred nodes; each node reads one node of the layer before.
fn wide() -> Pipeline {
    let mut p = Pipeline::builder("thousand-nodes");
    let mut previous = Vec::new();
    for index in 0..100 {
        previous.push(
            p.add(&format!("l0_n{index}"), Write::new(format!("{index}")))
                .out,
        );
    }
    for layer in 1..10 {
        let mut this = Vec::new();
        for index in 0..100 {
            let upstream = previous[(index * 7 + layer) % 100];
            this.push(
                p.add(&format!("l{layer}_n{index}"), Duplicate::new(upstream))
                    .out,
            );
        }
        previous = this;
    }
    p.build().unwrap()
}

/// The columns of `table` but its first (the id or the key to replace).
fn other_columns(connection: &rusqlite::Connection, table: &str) -> Vec<String> {
    let mut statement = connection
        .prepare(&format!("PRAGMA table_info(`{table}`)"))
        .unwrap();
    statement
        .query_map([], |row| row.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .skip(1)
        .collect()
}

/// Copies run `template` (a context id) `copies` times, with its executions.
fn copy_run(path: &std::path::Path, template: i64, copies: usize) {
    let mut connection = rusqlite::Connection::open(path).unwrap();
    let context_columns = other_columns(&connection, "Context");
    let execution_columns = other_columns(&connection, "Execution");
    let context_property = other_columns(&connection, "ContextProperty");
    let execution_property = other_columns(&connection, "ExecutionProperty");
    let executions: Vec<i64> = {
        let mut statement = connection
            .prepare(
                "SELECT execution_id FROM Association WHERE context_id = ?1 ORDER BY execution_id",
            )
            .unwrap();
        statement
            .query_map([template], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let list = |columns: &[String]| {
        columns
            .iter()
            .map(|column| format!("`{column}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let select_context = context_columns
        .iter()
        .map(|column| match column.as_str() {
            "name" => "`name` || '-' || ?2".to_owned(),
            "external_id" => "NULL".to_owned(),
            other => format!("`{other}`"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let select_execution = execution_columns
        .iter()
        .map(|column| match column.as_str() {
            "external_id" => "NULL".to_owned(),
            other => format!("`{other}`"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let transaction = connection.transaction().unwrap();
    {
        let mut new_context = transaction
            .prepare(&format!(
                "INSERT INTO Context ({}) SELECT {select_context} FROM Context WHERE id = ?1",
                list(&context_columns)
            ))
            .unwrap();
        let mut context_properties = transaction
            .prepare(&format!(
                "INSERT INTO ContextProperty (context_id, {}) SELECT ?2, {} FROM ContextProperty WHERE context_id = ?1",
                list(&context_property),
                list(&context_property)
            ))
            .unwrap();
        let mut parent = transaction
            .prepare("INSERT INTO ParentContext (context_id, parent_context_id) SELECT ?2, parent_context_id FROM ParentContext WHERE context_id = ?1")
            .unwrap();
        let mut new_execution = transaction
            .prepare(&format!(
                "INSERT INTO Execution ({}) SELECT {select_execution} FROM Execution WHERE id = ?1",
                list(&execution_columns)
            ))
            .unwrap();
        let mut execution_properties = transaction
            .prepare(&format!(
                "INSERT INTO ExecutionProperty (execution_id, {}) SELECT ?2, {} FROM ExecutionProperty WHERE execution_id = ?1",
                list(&execution_property),
                list(&execution_property)
            ))
            .unwrap();
        let mut association = transaction
            .prepare("INSERT INTO Association (context_id, execution_id) VALUES (?1, ?2)")
            .unwrap();
        for copy in 1..=copies {
            new_context
                .execute(rusqlite::params![template, copy.to_string()])
                .unwrap();
            let context = transaction.last_insert_rowid();
            context_properties.execute([template, context]).unwrap();
            parent.execute([template, context]).unwrap();
            for &execution in &executions {
                new_execution.execute([execution]).unwrap();
                let copied = transaction.last_insert_rowid();
                execution_properties.execute([execution, copied]).unwrap();
                association.execute([context, copied]).unwrap();
            }
        }
    }
    transaction.commit().unwrap();
}

/// Time to the first byte and to the whole reply of one GET, and the reply's size.
fn get(address: &str, path: &str) -> (Duration, Duration, usize) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_nodelay(true).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let started = Instant::now();
    stream.write_all(request.as_bytes()).unwrap();
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).unwrap();
    let first_byte = started.elapsed();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    let whole = started.elapsed();
    assert!(
        rest.starts_with(b"TTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&rest[..rest.len().min(300)])
    );
    (first_byte, whole, rest.len() + 1)
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
    samples[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Times `SAMPLES` GETs of `path` and prints a table row.
fn row(address: &str, what: &str, path: &str) {
    let (mut firsts, mut wholes, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..SAMPLES {
        let (first, whole, bytes) = get(address, path);
        firsts.push(first);
        wholes.push(whole);
        size = bytes;
    }
    println!(
        "| {what} | {} | {} | {} | {} | {} KB |",
        ms(percentile(&mut firsts, 0.5)),
        ms(percentile(&mut firsts, 0.95)),
        ms(percentile(&mut wholes, 0.5)),
        ms(percentile(&mut wholes, 0.95)),
        size / 1024
    );
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|argument| argument.parse().ok())
        .unwrap_or(100_000);
    // The server runs on its own runtime's threads; the client is this thread, blocking.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("metadata.sqlite");
    let root = dir.path().join("artifacts");
    let store = runtime
        .block_on(millrace::metadata::connect(&format!(
            "sqlite://{}",
            database.display()
        )))
        .unwrap();
    let runner = LocalRunner::new(Arc::clone(&store), &root);

    // The runs page: one real run, copied.
    let pipeline = Arc::new(small());
    let template = runtime
        .block_on(runner.run(
            &pipeline,
            pipeline.parameter_values(&BTreeMap::new()).unwrap(),
        ))
        .unwrap();
    let template_context: i64 = rusqlite::Connection::open(&database)
        .unwrap()
        .query_row(
            "SELECT id FROM Context WHERE name = ?1",
            [&template.run_id],
            |row| row.get(0),
        )
        .unwrap();
    let filling = Instant::now();
    copy_run(&database, template_context, runs - 1);
    println!(
        "{runs} runs of `{}` in the store (copied in {:.1} s)",
        pipeline.name(),
        filling.elapsed().as_secs_f64()
    );

    // The 1,000-node run.
    let thousand = Arc::new(wide());
    let running = Instant::now();
    let big = runtime
        .block_on(runner.run(&thousand, BTreeMap::new()))
        .unwrap();
    println!(
        "a run of the {}-node pipeline `{}` ({:.1} s)",
        thousand.spec().nodes.len(),
        thousand.name(),
        running.elapsed().as_secs_f64()
    );

    let serve = |pipeline: &Arc<Pipeline>| {
        let state = ServerState::new(Arc::clone(&store), &root)
            .with_ui(Ui::new(Arc::clone(pipeline), ArtifactStorage::local(&root)));
        runtime
            .block_on(millrace::server::serve(
                state,
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap()
    };
    let server = serve(&pipeline);
    let address = server.address().to_string();
    // The position half-way down: the copies' context ids follow the template's.
    let middle = template_context + i64::try_from(runs / 2).unwrap();
    println!();
    println!("| page | first byte p50 | first byte p95 | whole p50 | whole p95 | size |");
    println!("|---|---:|---:|---:|---:|---:|");
    row(&address, "runs, newest 50", "/runs");
    row(
        &address,
        "runs, 50 from half-way down",
        &format!("/runs?before={middle}"),
    );
    row(
        &address,
        "runs, filtered by a parameter every run has",
        "/runs?param=text%3Dhello",
    );
    row(
        &address,
        "runs, filtered by an end state no run has (the store filters)",
        "/runs?state=failed",
    );
    row(
        &address,
        "runs, filtered by `running` (no run is: reads 1,000, then links on)",
        "/runs?state=running",
    );
    let wide_server = serve(&thousand);
    let wide_address = wide_server.address().to_string();
    row(
        &wide_address,
        "a 1,000-node run (graph, timeline, table)",
        &format!("/runs/{}", big.run_id),
    );
    drop(server);
    drop(wide_server);
}
