//! Crash safety: the runner is killed with SIGKILL at twenty moments, then resumed. The run
//! completes; no node that had completed runs again; no LIVE artifact has incomplete files; the
//! SQLite file passes `PRAGMA integrity_check`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use millrace_core::prelude::*;
use millrace_metadata::{ArtifactState, ExecutionState, NodeQuery, Value, connect};
use millrace_runner::LocalRunner;

const CHILD_DIR: &str = "MILLRACE_TEST_CRASH_DIR";
const RUN_ID: &str = "crash-run";

/// Writes its output in several steps, slowly, then a `done` marker: a kill mid-way leaves an
/// incomplete directory, which must never become a LIVE artifact.
#[millrace_macros::component(crate = millrace_core, kind = "test.SlowWriter")]
async fn slow_writer(
    upstream: Option<Input<Dataset>>,
    out: Output<Dataset>,
    chunks: i64,
) -> Result<(), ComponentError> {
    let mut total = 0;
    if let Some(upstream) = upstream {
        total += std::fs::read_to_string(upstream.uri().join("data.txt"))?.len();
    }
    let path = out.uri().join("data.txt");
    for chunk in 0..chunks {
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("chunk {chunk}\n"));
        std::fs::write(&path, text)?;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    std::fs::write(out.uri().join("done"), format!("{chunks} {total}"))?;
    Ok(())
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::builder("crashy");
    let a = p.add("a", SlowWriter::new(None, 4));
    let b = p.add("b", SlowWriter::new(Some(a.out), 3));
    let c = p.add("c", SlowWriter::new(Some(a.out), 5));
    let d = p.add("d", SlowWriter::new(Some(b.out), 2));
    let e = p.add("e", SlowWriter::new(Some(c.out), 4));
    let f = p.add("f", SlowWriter::new(Some(d.out), 3));
    let g = p.add("g", SlowWriter::new(Some(e.out), 2));
    p.add("h", SlowWriter::new(Some(f.out), 4));
    p.add("i", SlowWriter::new(Some(g.out), 3));
    p.build().unwrap()
}

/// In a child process: run or resume the run until it ends (or the parent kills it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let store = connect(&format!(
        "sqlite://{}",
        dir.join("metadata.sqlite").display()
    ))
    .await
    .unwrap();
    let summary = LocalRunner::new(store, dir.join("artifacts"))
        .parallelism(2)
        .run_or_resume(&pipeline(), RUN_ID, BTreeMap::new())
        .await
        .unwrap();
    println!("SUCCEEDED={}", summary.succeeded);
}

/// How many executions the store holds (0 before it exists).
async fn execution_count(url: &str) -> usize {
    match connect(url).await {
        Ok(store) => store
            .get_executions(&NodeQuery::all())
            .await
            .map_or(0, |all| all.len()),
        Err(_) => 0,
    }
}

fn child(dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_twenty_times_then_resumed_the_run_completes_and_nothing_is_half_published() {
    if std::env::var_os(CHILD_DIR).is_some() || std::env::var_os(INTERRUPT_DIR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Pseudo-random kill moments, reproducible from the seed.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let store_url = format!("sqlite://{}", dir.path().join("metadata.sqlite").display());
    for _ in 0..20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_millis(state % 120);
        // Count the executions before, so that the kill lands after this process has started
        // one, however slowly the machine starts processes.
        let before = execution_count(&store_url).await;
        let mut process = child(dir.path()).spawn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while execution_count(&store_url).await <= before
            && std::time::Instant::now() < deadline
            && process.try_wait().unwrap().is_none()
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(delay).await;
        process.kill().unwrap(); // SIGKILL
        let _ = process.wait();
    }
    let output = child(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("SUCCEEDED=true"),
        "the final resume failed:\n{stdout}"
    );

    let store: Arc<dyn millrace_metadata::MetadataStore> = connect(&format!(
        "sqlite://{}",
        dir.path().join("metadata.sqlite").display()
    ))
    .await
    .unwrap();
    // Every node completed exactly once in the run: a completed node never ran again.
    let executions = store.get_executions(&NodeQuery::all()).await.unwrap();
    for node in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] {
        let completed = executions
            .iter()
            .filter(|e| e.custom_properties.get("node_id") == Some(&Value::String(node.to_owned())))
            .filter(|e| e.last_known_state == ExecutionState::Complete)
            .count();
        assert_eq!(completed, 1, "node {node} completed {completed} times");
    }
    assert!(
        executions
            .iter()
            .all(|e| e.last_known_state != ExecutionState::Running),
        "no execution is left RUNNING"
    );
    let interrupted = executions
        .iter()
        .filter(|e| e.last_known_state == ExecutionState::Failed)
        .count();
    assert!(
        interrupted > 0,
        "the kills landed while nodes ran (else this test proves nothing)"
    );
    // Every LIVE artifact is complete on disk; nothing is PENDING any more.
    let artifacts = store.get_artifacts(&NodeQuery::all()).await.unwrap();
    let live: Vec<_> = artifacts
        .iter()
        .filter(|a| a.state == ArtifactState::Live)
        .collect();
    assert_eq!(live.len(), 9);
    for artifact in &live {
        let uri = Path::new(artifact.uri.as_deref().unwrap());
        assert!(
            uri.join("done").exists(),
            "LIVE artifact {} is incomplete",
            uri.display()
        );
    }
    assert!(artifacts.iter().all(|a| a.state != ArtifactState::Pending));
    // No staging directory is left behind.
    let leftovers = walk(&dir.path().join("artifacts"))
        .into_iter()
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(".staging-"))
        })
        .count();
    assert_eq!(leftovers, 0, "staging directories were left behind");
    drop(store);
    assert_eq!(integrity_check(&dir.path().join("metadata.sqlite")), "ok");
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

/// `PRAGMA integrity_check`, by another SQLite than the store's (Python's).
fn integrity_check(path: &Path) -> String {
    let output = Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

const INTERRUPT_DIR: &str = "MILLRACE_TEST_INTERRUPT_DIR";

/// Sleeps in a grandchild process and records its pid.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Sleeper;

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
struct SleeperOutputs {
    #[allow(dead_code)] // Declares the output; nothing reads it.
    out: Channel<Metrics>,
}

impl Component for Sleeper {
    const KIND: &'static str = "test.InterruptibleSleeper";
    type Inputs = ();
    type Outputs = SleeperOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["sh", "-c"]).args([
            r#"sleep 60 & echo $! > "$1/../../grandchild.pid"; wait"#,
            "sleeper",
            "{{outputs.out.uri}}",
        ]))
    }
}

/// In a child process: a run with a long command and a long in-process node, until Ctrl-C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_child() {
    let Ok(dir) = std::env::var(INTERRUPT_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let mut p = Pipeline::builder("interruptible");
    p.add("sleeper", Node::new(Sleeper, ()).cache(false));
    p.add("writer", SlowWriter::new(None, 400).cache(false));
    let store = connect(&format!(
        "sqlite://{}",
        dir.join("metadata.sqlite").display()
    ))
    .await
    .unwrap();
    let summary = LocalRunner::new(store, dir.join("artifacts"))
        .parallelism(2)
        .run(&p.build().unwrap(), BTreeMap::new())
        .await
        .unwrap();
    println!("SUCCEEDED={}", summary.succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_run_and_kills_commands_with_their_children() {
    if std::env::var_os(INTERRUPT_DIR).is_some() || std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let process = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "interrupt_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INTERRUPT_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir
        .path()
        .join("artifacts/interruptible/sleeper/grandchild.pid");
    for _ in 0..100 {
        if pid_file.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(process.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = process.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("SUCCEEDED=false"),
        "the run did not end as interrupted:\n{stdout}"
    );

    let grandchild = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    std::thread::sleep(Duration::from_millis(200));
    let status = std::fs::read_to_string(format!("/proc/{grandchild}/status")).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "the command's child {grandchild} still runs"
    );

    let store = connect(&format!(
        "sqlite://{}",
        dir.path().join("metadata.sqlite").display()
    ))
    .await
    .unwrap();
    let executions = store.get_executions(&NodeQuery::all()).await.unwrap();
    let states: Vec<ExecutionState> = executions.iter().map(|e| e.last_known_state).collect();
    assert_eq!(
        states,
        [ExecutionState::Canceled, ExecutionState::Canceled],
        "{states:?}"
    );
    let artifacts = store.get_artifacts(&NodeQuery::all()).await.unwrap();
    assert!(
        artifacts
            .iter()
            .all(|a| a.state == ArtifactState::Abandoned),
        "no output is LIVE or PENDING"
    );
}
