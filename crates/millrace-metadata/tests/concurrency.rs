//! Several processes writing one store at once, as parallel Airflow tasks would: every write
//! succeeds, none sees "database is locked".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

mod common;

use std::process::Command;

use millrace_metadata::{
    Artifact, ArtifactAndEvent, ArtifactState, Context, EventType, Execution, ExecutionState,
    NodeQuery, NodeType, PathStep, PropertyType, PutExecution, Value, connect,
};

const WRITERS: usize = 8;
const WRITES_PER_WRITER: usize = 25;
const CHILD_STORE: &str = "MILLRACE_TEST_CONCURRENT_STORE";
const CHILD_INDEX: &str = "MILLRACE_TEST_CONCURRENT_WRITER";

/// Runs only in the child processes the tests below start: one writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writer_child() {
    let (Ok(url), Ok(index)) = (std::env::var(CHILD_STORE), std::env::var(CHILD_INDEX)) else {
        return;
    };
    let store = connect(&url)
        .await
        .unwrap_or_else(|error| panic!("writer {index}: {error}"));
    let examples = store
        .put_type(&NodeType::artifact("Examples").property("span", PropertyType::Int))
        .await
        .unwrap();
    let trainer = store
        .put_type(&NodeType::execution("Trainer"))
        .await
        .unwrap();
    let run_type = store
        .put_type(&NodeType::context("pipeline_run"))
        .await
        .unwrap();
    let node_type = store.put_type(&NodeType::context("node")).await.unwrap();
    for write in 0..WRITES_PER_WRITER {
        store
            .put_execution(&PutExecution {
                execution: Execution {
                    type_id: trainer,
                    last_known_state: ExecutionState::Complete,
                    ..Execution::default()
                },
                artifacts: vec![ArtifactAndEvent {
                    artifact: Artifact {
                        type_id: examples,
                        uri: Some(format!("/w{index}/{write}")),
                        state: ArtifactState::Live,
                        properties: [("span".to_owned(), Value::Int(write as i64))].into(),
                        ..Artifact::default()
                    },
                    event: Some((
                        EventType::Output,
                        vec![PathStep::Key("out".into()), PathStep::Index(0)],
                    )),
                }],
                contexts: vec![
                    Context {
                        type_id: run_type,
                        name: format!("run-{index}"),
                        ..Context::default()
                    },
                    // Every writer shares this one: concurrent get-or-create of one context.
                    Context {
                        type_id: node_type,
                        name: "shared.trainer".into(),
                        ..Context::default()
                    },
                ],
            })
            .await
            .unwrap_or_else(|error| panic!("writer {index}, write {write}: {error}"));
    }
}

/// Starts the writers on `url` at once and checks that all of them wrote everything.
async fn writers_all_succeed(url: &str) {
    let test_binary = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|index| {
            Command::new(&test_binary)
                .args([
                    "--exact",
                    "concurrent_writer_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_STORE, url)
                .env(CHILD_INDEX, index.to_string())
                .output_async()
        })
        .collect();
    for (index, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "writer {index} failed:\n{stdout}\n{stderr}"
        );
        assert!(
            !stderr.contains("locked") && !stdout.contains("locked"),
            "writer {index}: {stderr}"
        );
    }

    let store = connect(url).await.unwrap();
    let executions = store.get_executions(&NodeQuery::all()).await.unwrap();
    assert_eq!(executions.len(), WRITERS * WRITES_PER_WRITER);
    let shared = store
        .get_contexts(&NodeQuery::all().of_type("node").named("shared.trainer"))
        .await
        .unwrap();
    assert_eq!(shared.len(), 1, "the shared context was created once");
    let in_shared = store
        .get_executions(&NodeQuery::all().in_context(shared[0].id.unwrap()))
        .await
        .unwrap();
    assert_eq!(in_shared.len(), WRITERS * WRITES_PER_WRITER);
    for index in 0..WRITERS {
        let run = store
            .get_contexts(
                &NodeQuery::all()
                    .of_type("pipeline_run")
                    .named(format!("run-{index}")),
            )
            .await
            .unwrap();
        let artifacts = store
            .get_artifacts(&NodeQuery::all().in_context(run[0].id.unwrap()))
            .await
            .unwrap();
        assert_eq!(artifacts.len(), WRITES_PER_WRITER, "run-{index}");
    }
    let types = store
        .get_types(millrace_metadata::TypeKind::Artifact)
        .await
        .unwrap();
    assert_eq!(types.len(), 1, "the type was created once");
}

trait SpawnNow {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnNow for Command {
    /// Starts the process with its output captured, without waiting for it.
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_write_one_new_sqlite_store_at_once() {
    if std::env::var_os(CHILD_STORE).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The store does not exist yet: the writers also race to create it.
    let url = format!("sqlite://{}", dir.path().join("metadata.sqlite").display());
    writers_all_succeed(&url).await;

    let connection = rusqlite::Connection::open(dir.path().join("metadata.sqlite")).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_write_one_postgres_store_at_once() {
    if std::env::var_os(CHILD_STORE).is_some() {
        return;
    }
    let Some(server) = common::postgres_server() else {
        return;
    };
    writers_all_succeed(&common::fresh_postgres_url(&server)).await;
}
