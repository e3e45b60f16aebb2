//! The container dispatcher against a real engine (podman, as `cargo xtask test` sets it up:
//! `MILLRACE_CONTAINER_BASE` names a base image built from Debian's packages). Without that
//! setup every test says it was skipped and why.
//!
//! The tasks run a "sleeper" image built from the base, whose entrypoint prints a line on each
//! stream and sleeps for a minute, whatever `run-node` arguments it gets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use millrace_containers::{ContainerDispatcher, Engine, EngineKind, HostAccess};
use millrace_core::NodeOptions;
use millrace_runner::{NodeDispatcher, NodeTask, TaskEnd};

const SLEEPER: &str = "localhost/millrace-test-sleeper:1";

/// The engine, with the sleeper image built, or `None` (said) without the test setup.
fn engine(test: &str) -> Option<Engine> {
    let base = match std::env::var("MILLRACE_CONTAINER_BASE") {
        Ok(base) if !base.is_empty() => base,
        _ => {
            // Straight to the terminal, past the harness's capture: a plain `cargo test` shows
            // which suites skipped.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (containers dispatcher {test}): podman not set up \
                 (MILLRACE_CONTAINER_BASE is not set): run `cargo xtask test`"
            );
            return None;
        }
    };
    static BUILT: OnceLock<Engine> = OnceLock::new();
    Some(
        BUILT
            .get_or_init(|| {
                let engine = Engine::detect().unwrap();
                let context = tempfile::tempdir().unwrap();
                std::fs::write(
                    context.path().join("Containerfile"),
                    format!(
                        "FROM {base}\nENTRYPOINT [\"sh\", \"-c\", \"echo started; echo on stderr >&2; \
                         sleep 60\", \"sleeper\"]\n"
                    ),
                )
                .unwrap();
                let output = std::process::Command::new(engine.program())
                    .args(["build", "--network", "host", "--tag", SLEEPER])
                    .arg(context.path())
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                engine
            })
            .clone(),
    )
}

fn dispatcher(engine: &Engine, dir: &Path) -> ContainerDispatcher {
    let store = format!("sqlite://{}", dir.join("metadata.sqlite").display());
    let access = HostAccess::new(&store, &dir.join("artifacts").display().to_string()).unwrap();
    ContainerDispatcher::new(engine.clone(), SLEEPER, access)
}

fn task(dir: &Path, node: &str, image: Option<&str>, timeout: Option<Duration>) -> NodeTask {
    NodeTask {
        pipeline: "sleepy".to_owned(),
        fingerprint: "0".repeat(64),
        run_id: format!("test-{}", std::process::id()),
        node: node.to_owned(),
        attempt: 0,
        parameters: BTreeMap::new(),
        options: NodeOptions {
            timeout_ms: timeout.map(|timeout| timeout.as_millis() as u64),
            image: image.map(str::to_owned),
            ..NodeOptions::default()
        },
        log_dir: dir.join("logs").join(node),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_past_its_timeout_is_killed_and_its_container_removed() {
    let Some(engine) = engine("timeout") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let task = task(dir.path(), "slow", None, Some(Duration::from_secs(3)));
    let started = Instant::now();
    let end = dispatcher(&engine, dir.path())
        .dispatch(&task)
        .await
        .unwrap();
    assert_eq!(end, TaskEnd::Killed("timed out after 3 s".to_owned()));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the sleeper sleeps 60 s; it was stopped after {:?}",
        started.elapsed()
    );
    assert!(!engine.container_exists(&task.name()).await.unwrap());
    // What the container printed is in the task's log directory, one file per stream.
    let log = |name: &str| std::fs::read_to_string(task.log_dir.join(name)).unwrap();
    assert_eq!(log("stdout.log"), "started\n");
    assert!(
        log("stderr.log").contains("on stderr"),
        "{}",
        log("stderr.log")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_removes_every_container_still_running() {
    let Some(engine) = engine("cancel") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dispatcher = Arc::new(dispatcher(&engine, dir.path()));
    let tasks: Vec<NodeTask> = ["first", "second"]
        .iter()
        .map(|node| task(dir.path(), node, None, None))
        .collect();
    let mut running = tokio::task::JoinSet::new();
    for task in tasks.clone() {
        let dispatcher = Arc::clone(&dispatcher);
        running.spawn(async move { dispatcher.dispatch(&task).await });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for task in &tasks {
        while !engine.container_exists(&task.name()).await.unwrap() {
            assert!(Instant::now() < deadline, "{} never started", task.name());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // What the runner does on Ctrl-C: drop the tasks, then cancel.
    running.abort_all();
    while running.join_next().await.is_some() {}
    dispatcher.cancel_all().await.unwrap();
    for task in &tasks {
        assert!(
            !engine.container_exists(&task.name()).await.unwrap(),
            "{} still exists",
            task.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_ends_the_task_naming_the_image_and_the_node() {
    let Some(engine) = engine("missing image") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let task = task(
        dir.path(),
        "trainer",
        Some("localhost/millrace-missing:1"),
        None,
    );
    let end = dispatcher(&engine, dir.path())
        .dispatch(&task)
        .await
        .unwrap();
    let TaskEnd::Killed(reason) = end else {
        panic!("{end:?}");
    };
    assert!(
        reason.contains("localhost/millrace-missing:1") && reason.contains("`trainer`"),
        "{reason}"
    );
    assert!(
        reason.contains("image build --tag localhost/millrace-missing:1"),
        "{reason}"
    );
}

#[test]
fn each_task_runs_run_node_in_a_fresh_container_that_never_pulls_and_sees_values_only_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(EngineKind::Podman, "podman");
    let dispatcher = dispatcher(&engine, dir.path())
        .user(Some("1000:1000".to_owned()))
        .pass_env("TAXI_DATA_FOR_A_TEST_THAT_IS_NOT_SET");
    let task = task(dir.path(), "trainer", None, None);
    let arguments = dispatcher.run_arguments(&task);
    let joined = arguments.join(" ");
    let name = task.name();
    // The store's directory holds the root: one mount reaches both.
    let root = dir.path();
    for expected in [
        format!("run --rm --pull never --name {name} --network host "),
        "--user 1000:1000 ".to_owned(),
        "--env MILLRACE_STORE --env MILLRACE_ROOT --env MILLRACE_PARAMS_JSON ".to_owned(),
        format!("--volume {0}:{0} ", root.display()),
        format!(
            " {SLEEPER} run-node --run-id {} --node trainer --fingerprint {}",
            task.run_id, task.fingerprint
        ),
    ] {
        assert!(joined.contains(&expected), "{expected:?} not in {joined}");
    }
    assert!(joined.ends_with(&task.fingerprint));
    // Values stay out of the command line: the store's URL is handed over by name.
    assert!(!joined.contains("sqlite://"), "{joined}");
    // A variable asked for but not set on the host is not passed.
    assert!(!joined.contains("TAXI_DATA_FOR_A_TEST"), "{joined}");
    // A node's own image replaces the pipeline's.
    let own = self::task(dir.path(), "trainer", Some("localhost/gpu:2"), None);
    let arguments = dispatcher.run_arguments(&own);
    assert!(arguments.contains(&"localhost/gpu:2".to_owned()));
    assert!(!arguments.contains(&SLEEPER.to_owned()));
}
