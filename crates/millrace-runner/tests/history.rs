//! The run history: runs page by page, newest first; a run's nodes with their states,
//! attempts and errors; how runs ended; why a node was or was not cached.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use millrace_core::prelude::*;
use millrace_metadata::{MetadataStore, connect};
use millrace_runner::{
    CacheChange, CacheVerdict, LocalRunner, NodeLauncher, NodeState, NotCachedReason, RunHistory,
    RunPage, RunState,
};

/// Writes `text` into `text.txt`.
#[millrace_macros::component(crate = millrace_core, kind = "history.Write")]
async fn write(out: Output<Dataset>, text: String) -> Result<(), ComponentError> {
    std::fs::write(out.uri().join("text.txt"), text)?;
    Ok(())
}

/// Copies its input, failing `failures` times first (counting in `counter`), and always when
/// the text is `fail`.
#[millrace_macros::component(crate = millrace_core, kind = "history.Copy")]
async fn copy(
    text: Input<Dataset>,
    out: Output<Dataset>,
    counter: String,
    failures: i64,
) -> Result<(), ComponentError> {
    let calls: i64 = std::fs::read_to_string(&counter)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
        + 1;
    std::fs::write(&counter, calls.to_string())?;
    let content = std::fs::read_to_string(text.uri().join("text.txt"))?;
    if calls <= failures || content == "fail" {
        return Err(ComponentError::new(format!(
            "call {calls} fails on purpose"
        )));
    }
    std::fs::write(out.uri().join("text.txt"), content)?;
    Ok(())
}

struct Setup {
    dir: tempfile::TempDir,
    store: Arc<dyn MetadataStore>,
}

impl Setup {
    async fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("metadata.sqlite").display());
        let store = connect(&url).await.unwrap();
        Setup { dir, store }
    }

    fn runner(&self) -> LocalRunner {
        LocalRunner::new(Arc::clone(&self.store), self.dir.path().join("artifacts"))
    }

    fn history(&self) -> RunHistory<'_> {
        RunHistory::new(&*self.store)
    }

    /// write → copy, where copy fails its first `failures` calls and retries `retries` times.
    fn pipeline(&self, failures: i64, retries: u32) -> Pipeline {
        let counter = self.dir.path().join("calls.txt").display().to_string();
        let mut p = Pipeline::builder("history");
        let text = p.param("text", "hello".to_owned());
        let written = p.add("write", Write::new(&text));
        p.add(
            "copy",
            Copy::new(written.out, counter, failures).retry_policy(
                RetryPolicy::retries(retries).backoff(
                    Duration::from_millis(5),
                    1.0,
                    Duration::from_millis(5),
                ),
            ),
        );
        p.build().unwrap()
    }
}

fn text(pipeline: &Pipeline, value: &str) -> BTreeMap<String, serde_json::Value> {
    pipeline
        .parameter_values(&BTreeMap::from([("text".to_owned(), value.to_owned())]))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_listed_newest_first_a_page_at_a_time() {
    let setup = Setup::new().await;
    let pipeline = setup.pipeline(0, 0);
    let mut started = Vec::new();
    for index in 0..5 {
        let summary = setup
            .runner()
            .run(&pipeline, text(&pipeline, &format!("text {index}")))
            .await
            .unwrap();
        started.push(summary.run_id);
    }
    let history = setup.history();
    let first = history.runs(&pipeline, &RunPage::newest(2)).await.unwrap();
    let second = history
        .runs(&pipeline, &RunPage::older_than(first[1].position, 2))
        .await
        .unwrap();
    let third = history
        .runs(&pipeline, &RunPage::older_than(second[1].position, 2))
        .await
        .unwrap();
    let listed: Vec<&str> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|listing| listing.run.run_id.as_str())
        .collect();
    let newest_first: Vec<&str> = started.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    let newest = &first[0];
    assert_eq!(newest.run.state, RunState::Succeeded);
    assert_eq!(newest.run.parameters["text"], "text 4");
    assert_eq!(newest.nodes, BTreeMap::from([(NodeState::Complete, 2)]));
    assert!(
        newest
            .run
            .finished_ms
            .is_some_and(|end| end >= newest.run.started_ms)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_shows_every_attempt_with_its_error() {
    let setup = Setup::new().await;
    let pipeline = setup.pipeline(2, 2);
    let summary = setup
        .runner()
        .run(&pipeline, text(&pipeline, "hello"))
        .await
        .unwrap();
    let run = setup
        .history()
        .run(&pipeline, &summary.run_id)
        .await
        .unwrap();
    let copy = run.node("copy").unwrap();
    assert_eq!(copy.state, NodeState::Complete);
    let states: Vec<NodeState> = copy.attempts.iter().map(|attempt| attempt.state).collect();
    assert_eq!(
        states,
        [NodeState::Failed, NodeState::Failed, NodeState::Complete]
    );
    let numbers: Vec<u32> = copy.attempts.iter().map(|attempt| attempt.number).collect();
    assert_eq!(numbers, [0, 1, 2]);
    assert!(
        copy.attempts[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("call 1 fails on purpose")),
        "{:?}",
        copy.attempts[0]
    );
    assert!(copy.attempts[0].log_dir.is_some(), "the error log is kept");
    assert_eq!(copy.attempts[2].error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_lists_as_failed_and_a_run_between_tasks_as_incomplete() {
    let setup = Setup::new().await;
    let pipeline = setup.pipeline(0, 0);
    let failed = setup
        .runner()
        .run(&pipeline, text(&pipeline, "fail"))
        .await
        .unwrap();
    assert!(!failed.succeeded);
    // A remote engine's run: one task has run, the other not yet.
    let written = NodeLauncher::run_one_node(
        &*setup.store,
        &pipeline,
        "remote-1",
        "write",
        text(&pipeline, "x"),
        &millrace_runner::ArtifactStorage::local(setup.dir.path().join("artifacts")),
        None,
    )
    .await
    .unwrap();
    assert_eq!(written.state, NodeState::Complete);

    let runs = setup
        .history()
        .runs(&pipeline, &RunPage::newest(10))
        .await
        .unwrap();
    let remote = &runs[0];
    assert_eq!(remote.run.run_id, "remote-1");
    assert_eq!(remote.run.state, RunState::Incomplete);
    assert_eq!(
        remote.nodes,
        BTreeMap::from([(NodeState::Complete, 1), (NodeState::NotStarted, 1)])
    );
    assert_eq!(remote.run.finished_ms, None);
    assert_eq!(runs[1].run.state, RunState::Failed);
    assert_eq!(runs[1].nodes[&NodeState::Failed], 1);

    let shown = setup.history().run(&pipeline, "remote-1").await.unwrap();
    assert_eq!(shown.node("copy").unwrap().state, NodeState::NotStarted);
    let missing = setup.history().run(&pipeline, "remote-2").await;
    assert!(
        missing
            .as_ref()
            .is_err_and(|error| error.to_string().contains("no run `remote-2`")),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_explanation_names_each_changed_part_and_the_reused_execution() {
    let setup = Setup::new().await;
    let pipeline = setup.pipeline(0, 0);
    let history = setup.history();
    let never = history
        .explain_cache(&pipeline, "write", None)
        .await
        .unwrap();
    assert_eq!(never.verdict, CacheVerdict::NoExecution);

    let first = setup
        .runner()
        .run(&pipeline, text(&pipeline, "a"))
        .await
        .unwrap();
    let explained = history
        .explain_cache(&pipeline, "write", None)
        .await
        .unwrap();
    assert_eq!(
        explained.verdict,
        CacheVerdict::NotCached {
            reasons: vec![NotCachedReason::NothingEarlier]
        }
    );

    setup
        .runner()
        .run(&pipeline, text(&pipeline, "b"))
        .await
        .unwrap();
    let explained = history
        .explain_cache(&pipeline, "write", None)
        .await
        .unwrap();
    let CacheVerdict::NotCached { reasons } = &explained.verdict else {
        panic!("{explained:?}");
    };
    let first_write = first.node("write").unwrap().execution_id.unwrap();
    assert_eq!(
        reasons,
        &[NotCachedReason::Changed {
            compared_with: first_write,
            change: CacheChange::Config {
                name: "text".into(),
                before: Some(serde_json::json!("a")),
                after: Some(serde_json::json!("b")),
            },
        }]
    );
    // The copy read another artifact: its input changed.
    let copy = history
        .explain_cache(&pipeline, "copy", None)
        .await
        .unwrap();
    assert!(
        matches!(&copy.verdict, CacheVerdict::NotCached { reasons }
            if matches!(&reasons[..], [NotCachedReason::Changed { change: CacheChange::Inputs { name, .. }, .. }] if name == "text")),
        "{copy:?}"
    );

    let again = setup
        .runner()
        .run(&pipeline, text(&pipeline, "a"))
        .await
        .unwrap();
    let explained = history
        .explain_cache(&pipeline, "write", Some(&again.run_id))
        .await
        .unwrap();
    assert!(
        matches!(explained.verdict, CacheVerdict::Cached { reused_execution: Some(id), .. } if id == first_write),
        "{explained:?}"
    );
    // Asked about the first run, it explains that run's execution.
    let earlier = history
        .explain_cache(&pipeline, "write", Some(&first.run_id))
        .await
        .unwrap();
    assert_eq!(earlier.execution_id, Some(first_write));
}
