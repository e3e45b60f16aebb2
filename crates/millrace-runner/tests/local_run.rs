//! The local runner end to end: outputs and lineage, caching, parameters, retries, timeouts,
//! conditions, trigger rules, the exit handler and resume.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use millrace_core::prelude::*;
use millrace_core::{BuildError, TriggerRule};
use millrace_metadata::{
    ArtifactState, EventQuery, ExecutionState, MetadataStore, NodeQuery, connect,
};
use millrace_runner::{LocalRunner, NodeDispatcher, NodeLauncher, NodeState, NodeTask, TaskEnd};
use serde::{Deserialize, Serialize};

/// Writes `count` lines into `numbers.txt`.
#[millrace_macros::component(crate = millrace_core, kind = "test.Numbers")]
async fn numbers(numbers: Output<Dataset>, count: i64) -> Result<(), ComponentError> {
    let text: String = (1..=count).map(|n| format!("{n}\n")).collect();
    std::fs::write(numbers.uri().join("numbers.txt"), text)?;
    numbers.set_custom_property("count", count);
    Ok(())
}

/// Sums the numbers.
#[millrace_macros::component(crate = millrace_core, kind = "test.Sum")]
async fn sum(
    numbers: Input<Dataset>,
    total: Output<Metrics>,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let text = std::fs::read_to_string(numbers.uri().join("numbers.txt"))?;
    let total_value: i64 = text
        .lines()
        .map(|line| line.parse::<i64>())
        .sum::<Result<i64, _>>()?;
    std::fs::write(total.uri().join("total.txt"), total_value.to_string())?;
    total.set_custom_property("total", total_value);
    context.log_metric("total", total_value as f64);
    context.log(format!("summed {} numbers", text.lines().count()));
    Ok(())
}

/// Fails until it has been called `failures` times, counting calls in a file.
#[millrace_macros::component(crate = millrace_core, kind = "test.Flaky")]
async fn flaky(
    done: Output<Metrics>,
    counter: String,
    failures: i64,
) -> Result<(), ComponentError> {
    let calls: i64 = std::fs::read_to_string(&counter)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
        + 1;
    std::fs::write(&counter, calls.to_string())?;
    if calls <= failures {
        return Err(ComponentError::new(format!(
            "call {calls} fails on purpose"
        )));
    }
    std::fs::write(done.uri().join("done.txt"), calls.to_string())?;
    Ok(())
}

/// Succeeds only once a flag file exists.
#[millrace_macros::component(crate = millrace_core, kind = "test.NeedsFlag")]
async fn needs_flag(
    numbers: Input<Dataset>,
    out: Output<Metrics>,
    flag: String,
) -> Result<(), ComponentError> {
    let _ = numbers;
    if !Path::new(&flag).exists() {
        return Err(ComponentError::new(format!("{flag} is missing")));
    }
    std::fs::write(out.uri().join("ok.txt"), "ok")?;
    Ok(())
}

/// Counts the lines of the numbers with `wc`: a command component.
#[derive(Debug, Serialize, Deserialize)]
struct CountLines;

#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
struct CountLinesInputs {
    numbers: Channel<Dataset>,
}

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
struct CountLinesOutputs {
    #[allow(dead_code)] // Declares the output; no test wires it further.
    lines: Channel<Metrics>,
}

impl Component for CountLines {
    const KIND: &'static str = "test.CountLines";
    type Inputs = CountLinesInputs;
    type Outputs = CountLinesOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["sh", "-c"]).args([
            r#"wc -l < "$1/numbers.txt" | tr -d ' ' > "$2/lines.txt" && printf '{"outputs": {"lines": {"custom_properties": {"lines": %s}}}, "metrics": {"lines": %s}}' "$(cat "$2/lines.txt")" "$(cat "$2/lines.txt")" > "$3""#,
            "count_lines",
            "{{inputs.numbers.uri}}",
            "{{outputs.lines.uri}}",
            "{{executor_output}}",
        ]))
    }
}

/// Sleeps in a child process: for timeouts.
#[derive(Debug, Serialize, Deserialize)]
struct Sleeper;

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
struct SleeperOutputs {
    #[allow(dead_code)] // Declares the output; no test wires it further.
    out: Channel<Metrics>,
}

impl Component for Sleeper {
    const KIND: &'static str = "test.Sleeper";
    type Inputs = ();
    type Outputs = SleeperOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["sh", "-c"]).args([
            r#"sleep 30 & echo $! > "$1/../../child.pid"; wait"#,
            "sleeper",
            "{{outputs.out.uri}}",
        ]))
    }
}

struct Setup {
    dir: tempfile::TempDir,
    store: Arc<dyn MetadataStore>,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = connect(&format!(
        "sqlite://{}",
        dir.path().join("metadata.sqlite").display()
    ))
    .await
    .unwrap();
    Setup { dir, store }
}

impl Setup {
    fn runner(&self) -> LocalRunner {
        LocalRunner::new(Arc::clone(&self.store), self.dir.path().join("artifacts")).parallelism(2)
    }
}

fn numbers_pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("numbers");
    let count = p.param("count", 10_i64);
    let numbers = p.add("numbers", Numbers::new(&count));
    p.add("sum", Sum::new(numbers.numbers));
    p.add(
        "count_lines",
        CountLines.with_inputs(CountLinesInputs {
            numbers: numbers.numbers,
        }),
    );
    p.build()
}

fn parameters(
    pipeline: &Pipeline,
    overrides: &[(&str, &str)],
) -> BTreeMap<String, serde_json::Value> {
    let overrides = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pipeline.parameter_values(&overrides).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_writes_outputs_and_lineage_then_a_second_run_is_cached() {
    let setup = setup().await;
    let pipeline = numbers_pipeline().unwrap();
    let summary = setup
        .runner()
        .run(&pipeline, parameters(&pipeline, &[]))
        .await
        .unwrap();
    assert!(summary.succeeded, "{summary:#?}");
    assert_eq!(summary.count(NodeState::Complete), 3);

    // Every output is LIVE, where the layout says, with its properties.
    let totals = setup
        .store
        .get_artifacts(&NodeQuery::all().of_type("Metrics"))
        .await
        .unwrap();
    assert_eq!(totals.len(), 2);
    for artifact in &totals {
        assert_eq!(artifact.state, ArtifactState::Live);
        assert!(Path::new(artifact.uri.as_deref().unwrap()).is_dir());
    }
    let sum = totals
        .iter()
        .find(|a| a.custom_properties.contains_key("total"))
        .unwrap();
    assert_eq!(
        sum.custom_properties["total"],
        millrace_metadata::Value::Int(55)
    );
    assert_eq!(
        std::fs::read_to_string(Path::new(sum.uri.as_deref().unwrap()).join("total.txt")).unwrap(),
        "55"
    );
    let lines = totals
        .iter()
        .find(|a| a.custom_properties.contains_key("lines"))
        .unwrap();
    assert_eq!(
        lines.custom_properties["lines"],
        millrace_metadata::Value::Int(10),
        "executor_output.json was read"
    );
    let sum_execution = setup
        .store
        .get_executions(&NodeQuery::all().of_type("test.Sum"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        sum_execution.custom_properties["metric.total"],
        millrace_metadata::Value::Double(55.0)
    );
    let millrace_metadata::Value::String(log_dir) = &sum_execution.custom_properties["log_dir"]
    else {
        panic!("the execution records its log directory");
    };
    assert_eq!(
        std::fs::read_to_string(Path::new(log_dir).join("log.txt")).unwrap(),
        "summed 10 numbers\n",
        "the component's log is kept per execution"
    );
    let events = setup
        .store
        .get_events(&EventQuery::default())
        .await
        .unwrap();
    assert_eq!(
        events.len(),
        5,
        "numbers→1 output, sum and count_lines→1 input + 1 output each"
    );

    // The same pipeline again: everything is reused.
    let again = setup
        .runner()
        .run(&pipeline, parameters(&pipeline, &[]))
        .await
        .unwrap();
    assert!(again.succeeded);
    assert_eq!(again.count(NodeState::Cached), 3, "{again:#?}");
    assert_ne!(again.run_id, summary.run_id);

    // A new parameter value re-runs exactly what depends on it: here, everything downstream of
    // `numbers` — and a run with the old value again is cached.
    let changed = setup
        .runner()
        .run(&pipeline, parameters(&pipeline, &[("count", "4")]))
        .await
        .unwrap();
    assert_eq!(changed.count(NodeState::Complete), 3, "{changed:#?}");
    let back = setup
        .runner()
        .run(&pipeline, parameters(&pipeline, &[]))
        .await
        .unwrap();
    assert_eq!(back.count(NodeState::Cached), 3);

    // A cached output whose files were deleted is not a cache hit.
    std::fs::remove_dir_all(sum.uri.as_deref().unwrap()).unwrap();
    let rebuilt = setup
        .runner()
        .run(&pipeline, parameters(&pipeline, &[]))
        .await
        .unwrap();
    assert_eq!(rebuilt.node("sum").unwrap().state, NodeState::Complete);
    assert_eq!(rebuilt.node("numbers").unwrap().state, NodeState::Cached);
}

fn flaky_pipeline(counter: &Path, failures: i64, retries: u32) -> Pipeline {
    let mut p = Pipeline::builder("flaky");
    p.add(
        "flaky",
        Flaky::new(counter.display().to_string(), failures).retry_policy(
            RetryPolicy::retries(retries).backoff(
                Duration::from_millis(10),
                2.0,
                Duration::from_millis(50),
            ),
        ),
    );
    p.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_node_passes_with_enough_retries_and_fails_without() {
    let setup = setup().await;
    let counter = setup.dir.path().join("calls.txt");
    let pipeline = flaky_pipeline(&counter, 2, 2);
    let summary = setup
        .runner()
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    assert!(summary.succeeded, "{summary:#?}");
    assert_eq!(summary.node("flaky").unwrap().attempts, 3);
    let executions = setup.store.get_executions(&NodeQuery::all()).await.unwrap();
    let states: Vec<ExecutionState> = executions.iter().map(|e| e.last_known_state).collect();
    assert_eq!(
        states,
        [
            ExecutionState::Failed,
            ExecutionState::Failed,
            ExecutionState::Complete
        ]
    );
    let abandoned = setup
        .store
        .get_artifacts(&NodeQuery::all().states([ArtifactState::Abandoned.code()]))
        .await
        .unwrap();
    assert_eq!(
        abandoned.len(),
        2,
        "each failed attempt's output is abandoned"
    );

    // Another counter, so that this is not a cache hit of the success above.
    let counter = setup.dir.path().join("calls-2.txt");
    let pipeline = flaky_pipeline(&counter, 2, 1);
    let summary = setup
        .runner()
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    assert!(!summary.succeeded);
    let outcome = summary.node("flaky").unwrap();
    assert_eq!((outcome.state, outcome.attempts), (NodeState::Failed, 2));
    assert!(
        outcome
            .message
            .as_deref()
            .unwrap()
            .contains("fails on purpose")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_command_is_killed_with_its_children() {
    let setup = setup().await;
    let mut p = Pipeline::builder("sleepy");
    p.add(
        "sleeper",
        Node::new(Sleeper, ())
            .timeout(Duration::from_secs(2))
            .cache(false),
    );
    let pipeline = p.build().unwrap();
    let summary = setup
        .runner()
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    let outcome = summary.node("sleeper").unwrap();
    assert_eq!(outcome.state, NodeState::Failed);
    assert!(
        outcome.message.as_deref().unwrap().contains("timed out"),
        "{outcome:?}"
    );
    let pid_file = setup.dir.path().join("artifacts/sleepy/sleeper/child.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    // The killed child is gone (or a zombie of init at most).
    std::thread::sleep(Duration::from_millis(200));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "the child {pid} still runs:\n{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_skip_and_failures_propagate_while_the_exit_handler_runs() {
    let setup = setup().await;
    let flag = setup.dir.path().join("flag");
    let mut p = Pipeline::builder("branches");
    let enabled = p.param("enabled", false);
    let numbers = p.add("numbers", Numbers::new(3));
    let sum = p.add("sum", Sum::new(numbers.numbers).when(enabled.equals(true)));
    let _ = sum;
    let guarded = p.add(
        "guarded",
        NeedsFlag::new(numbers.numbers, flag.display().to_string()),
    );
    p.add(
        "after_guarded",
        Sum::new(numbers.numbers).when(guarded.out.custom_property("never").eq(1)),
    );
    p.add(
        "alert",
        Numbers::new(1).trigger_rule(TriggerRule::OneFailed),
    );
    p.exit_handler("cleanup", Numbers::new(2));
    let pipeline = p.build().unwrap();

    let summary = setup
        .runner()
        .keep_going(true)
        .run(&pipeline, parameters(&pipeline, &[]))
        .await
        .unwrap();
    let state = |node: &str| summary.node(node).unwrap().state;
    assert_eq!(state("numbers"), NodeState::Complete);
    assert_eq!(state("sum"), NodeState::Skipped);
    assert_eq!(state("guarded"), NodeState::Failed);
    assert_eq!(state("after_guarded"), NodeState::UpstreamFailed);
    assert_eq!(
        state("cleanup"),
        NodeState::Complete,
        "the exit handler runs whatever happened"
    );
    assert!(!summary.succeeded);
    let skipped = setup
        .store
        .get_executions(&NodeQuery::all().where_custom_property(
            "node_id",
            millrace_metadata::Comparison::Eq,
            "sum",
        ))
        .await
        .unwrap();
    assert_eq!(skipped[0].last_known_state, ExecutionState::Canceled);
    assert_eq!(
        skipped[0].custom_properties["skipped"],
        millrace_metadata::Value::Bool(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_runs_only_what_did_not_complete() {
    let setup = setup().await;
    let flag = setup.dir.path().join("flag");
    let mut p = Pipeline::builder("resumable");
    let numbers = p.add("numbers", Numbers::new(5));
    p.add(
        "guarded",
        NeedsFlag::new(numbers.numbers, flag.display().to_string()),
    );
    p.add("sum", Sum::new(numbers.numbers));
    let pipeline = p.build().unwrap();

    let first = setup
        .runner()
        .parallelism(1)
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    assert!(!first.succeeded);
    assert_eq!(first.node("guarded").unwrap().state, NodeState::Failed);

    std::fs::write(&flag, "").unwrap();
    let resumed = setup
        .runner()
        .resume(&pipeline, &first.run_id)
        .await
        .unwrap();
    assert!(resumed.succeeded, "{resumed:#?}");
    assert_eq!(resumed.run_id, first.run_id);
    assert_eq!(resumed.node("guarded").unwrap().state, NodeState::Complete);
    let numbers_runs = setup
        .store
        .get_executions(&NodeQuery::all().of_type("test.Numbers"))
        .await
        .unwrap();
    assert_eq!(
        numbers_runs.len(),
        1,
        "the completed node did not run again"
    );

    // A pipeline with another fingerprint refuses to resume the run.
    let mut other = Pipeline::builder("resumable");
    other.add("numbers", Numbers::new(6));
    let error = setup
        .runner()
        .resume(&other.build().unwrap(), &first.run_id)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("fingerprint"), "{error}");
}

/// Copies a file from outside the pipeline; its external fingerprint is the file's content.
#[derive(Debug, Serialize, Deserialize)]
struct ReadOutside {
    path: String,
}

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
struct ReadOutsideOutputs {
    #[allow(dead_code)] // Declares the output; the test reads the summary, not the channel.
    copy: Channel<Dataset>,
}

impl Component for ReadOutside {
    const KIND: &'static str = "test.ReadOutside";
    type Inputs = ();
    type Outputs = ReadOutsideOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[async_trait::async_trait]
impl Execute for ReadOutside {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let copy = context.output::<Dataset>("copy")?;
        std::fs::copy(&self.path, copy.uri().join("copy.txt"))?;
        Ok(())
    }

    fn external_fingerprint(&self) -> Result<Option<String>, ComponentError> {
        Ok(Some(std::fs::read_to_string(&self.path)?))
    }
}

millrace_core::register_component!(ReadOutside);

/// Regression: an example generator whose input files changed was served from the cache,
/// because its configuration (the file pattern) had not.
#[tokio::test]
async fn a_changed_external_input_misses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.txt");
    std::fs::write(&source, "first").unwrap();
    let mut p = Pipeline::builder("outside");
    p.add(
        "read",
        ReadOutside {
            path: source.display().to_string(),
        },
    );
    let pipeline = p.build().unwrap();
    let store = connect("memory://").await.unwrap();
    let runner = LocalRunner::new(store, dir.path().join("root"));
    let state = |summary: &millrace_runner::RunSummary| summary.node("read").unwrap().state;
    assert_eq!(
        state(&runner.run(&pipeline, BTreeMap::new()).await.unwrap()),
        NodeState::Complete
    );
    assert_eq!(
        state(&runner.run(&pipeline, BTreeMap::new()).await.unwrap()),
        NodeState::Cached
    );
    std::fs::write(&source, "second").unwrap();
    assert_eq!(
        state(&runner.run(&pipeline, BTreeMap::new()).await.unwrap()),
        NodeState::Complete
    );
    // A fingerprint that cannot be taken (the file is gone) skips the cache; the run reports it.
    std::fs::remove_file(&source).unwrap();
    let summary = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
    assert_eq!(state(&summary), NodeState::Failed);
}

/// Executes each task as `run-node` would elsewhere, in this process: one attempt through
/// [`NodeLauncher::run_one_node`] against the same store. A task whose node is in `killed` is
/// reported killed before it records anything, as a pod whose image is missing would be.
#[derive(Debug)]
struct SameProcessDispatcher {
    store: Arc<dyn MetadataStore>,
    pipeline: Pipeline,
    root: std::path::PathBuf,
    killed: Vec<String>,
    tasks: std::sync::Mutex<Vec<(String, u32)>>,
}

#[async_trait::async_trait]
impl NodeDispatcher for SameProcessDispatcher {
    async fn dispatch(&self, task: &NodeTask) -> millrace_runner::Result<TaskEnd> {
        self.tasks
            .lock()
            .unwrap()
            .push((task.node.clone(), task.attempt));
        if self.killed.contains(&task.node) {
            return Ok(TaskEnd::Killed(
                "image localhost/missing:1 not found".to_owned(),
            ));
        }
        let outcome = NodeLauncher::run_one_node(
            &*self.store,
            &self.pipeline,
            &task.run_id,
            &task.node,
            task.parameters.clone(),
            &millrace_runner::ArtifactStorage::local(&self.root),
            None,
        )
        .await?;
        Ok(TaskEnd::Exited(match outcome.state {
            NodeState::Failed => 1,
            NodeState::Skipped => 99,
            _ => 0,
        }))
    }

    async fn cancel_all(&self) -> millrace_runner::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_node_is_retried_by_the_scheduler_one_task_an_attempt() {
    let setup = setup().await;
    let counter = setup.dir.path().join("calls.txt");
    let pipeline = flaky_pipeline(&counter, 2, 2);
    let root = setup.dir.path().join("artifacts");
    let dispatcher = Arc::new(SameProcessDispatcher {
        store: Arc::clone(&setup.store),
        pipeline: pipeline.clone(),
        root: root.clone(),
        killed: Vec::new(),
        tasks: std::sync::Mutex::new(Vec::new()),
    });
    let summary = setup
        .runner()
        .dispatcher(dispatcher.clone())
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    assert!(summary.succeeded, "{summary:#?}");
    let outcome = summary.node("flaky").unwrap();
    assert_eq!((outcome.state, outcome.attempts), (NodeState::Complete, 3));
    assert_eq!(
        *dispatcher.tasks.lock().unwrap(),
        [
            ("flaky".to_owned(), 0),
            ("flaky".to_owned(), 1),
            ("flaky".to_owned(), 2)
        ],
        "one task per attempt: run-node itself never retries"
    );
    let states: Vec<ExecutionState> = setup
        .store
        .get_executions(&NodeQuery::all())
        .await
        .unwrap()
        .iter()
        .map(|e| e.last_known_state)
        .collect();
    assert_eq!(
        states,
        [
            ExecutionState::Failed,
            ExecutionState::Failed,
            ExecutionState::Complete
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_task_killed_before_it_recorded_anything_fails_its_node_with_the_reason() {
    let setup = setup().await;
    let pipeline = numbers_pipeline().unwrap();
    let dispatcher = Arc::new(SameProcessDispatcher {
        store: Arc::clone(&setup.store),
        pipeline: pipeline.clone(),
        root: setup.dir.path().join("artifacts"),
        killed: vec!["sum".to_owned()],
        tasks: std::sync::Mutex::new(Vec::new()),
    });
    let summary = setup
        .runner()
        .keep_going(true)
        .dispatcher(dispatcher)
        .run(&pipeline, parameters(&pipeline, &[]))
        .await
        .unwrap();
    assert!(!summary.succeeded);
    assert_eq!(summary.node("numbers").unwrap().state, NodeState::Complete);
    assert_eq!(
        summary.node("count_lines").unwrap().state,
        NodeState::Complete
    );
    let sum = summary.node("sum").unwrap();
    assert_eq!(sum.state, NodeState::Failed);
    assert!(
        sum.message
            .as_deref()
            .unwrap()
            .contains("localhost/missing:1"),
        "{sum:?}"
    );
}

/// Regression: a task killed before `run-node` recorded anything (a pod evicted before it
/// started) ended its node at once, whatever the node's retry policy said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_task_killed_before_it_recorded_anything_is_retried_by_the_nodes_policy() {
    let setup = setup().await;
    let counter = setup.dir.path().join("calls.txt");
    let pipeline = flaky_pipeline(&counter, 0, 2);
    let dispatcher = Arc::new(SameProcessDispatcher {
        store: Arc::clone(&setup.store),
        pipeline: pipeline.clone(),
        root: setup.dir.path().join("artifacts"),
        killed: vec!["flaky".to_owned()],
        tasks: std::sync::Mutex::new(Vec::new()),
    });
    let summary = setup
        .runner()
        .dispatcher(dispatcher.clone())
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    let outcome = summary.node("flaky").unwrap();
    assert_eq!((outcome.state, outcome.attempts), (NodeState::Failed, 3));
    assert_eq!(
        dispatcher.tasks.lock().unwrap().len(),
        3,
        "one task per attempt"
    );
}
