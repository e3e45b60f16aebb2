//! Group commit: records that arrive together share one transaction, a node's publish shares
//! its successors' starts, and sharing never changes what the store says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use millrace_core::prelude::*;
use millrace_metadata::{
    ArtifactState, Execution, ExecutionState, MetadataStore, NodeQuery, NodeType, PropertyType,
    PutExecution, Value, connect,
};
use millrace_runner::{GroupCommit, LocalRunner, NodeState};

/// Copies its input's text and appends its own letter.
#[millrace_macros::component(crate = millrace_core, kind = "group.Append")]
async fn append(
    previous: Option<Input<Dataset>>,
    text: Output<Dataset>,
    letter: String,
) -> Result<(), ComponentError> {
    let before = match previous {
        Some(previous) => std::fs::read_to_string(previous.uri().join("text.txt"))?,
        None => String::new(),
    };
    std::fs::write(text.uri().join("text.txt"), format!("{before}{letter}"))?;
    text.set_custom_property("length", before.len() as i64 + 1);
    Ok(())
}

async fn trainer_type(store: &Arc<dyn MetadataStore>) -> i64 {
    store
        .put_type(&NodeType::execution("Trainer").property("epochs", PropertyType::Int))
        .await
        .unwrap()
}

fn execution(type_id: i64, epochs: Value) -> PutExecution {
    PutExecution {
        execution: Execution {
            type_id,
            last_known_state: ExecutionState::Complete,
            properties: BTreeMap::from([("epochs".into(), epochs)]),
            ..Execution::default()
        },
        ..PutExecution::default()
    }
}

/// Waits until `group` has `count` requests queued.
async fn until_queued(group: &GroupCommit, count: usize) {
    while group.counts().queued < count {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_while_a_hold_is_alive_share_one_transaction() {
    let store = connect("memory://").await.unwrap();
    let trainer = trainer_type(&store).await;
    let group = GroupCommit::with_max_wait(Arc::clone(&store), Duration::from_secs(600));
    let hold = group.hold();
    let writers: Vec<_> = (0..3)
        .map(|epochs| {
            let group = group.clone();
            tokio::spawn(async move {
                group
                    .put(execution(trainer, Value::Int(epochs)), None)
                    .await
            })
        })
        .collect();
    until_queued(&group, 3).await;
    assert_eq!(group.counts().commits, 0, "nothing commits while held");
    assert!(
        store
            .get_executions(&NodeQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
    drop(hold);
    let mut ids = Vec::new();
    for writer in writers {
        ids.push(writer.await.unwrap().unwrap().execution_id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each write has its own execution");
    let counts = group.counts();
    assert_eq!((counts.commits, counts.requests), (1, 3), "{counts:?}");
    assert_eq!(
        store.get_executions(&NodeQuery::all()).await.unwrap().len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_releases_the_writers_own_hold_so_it_never_waits_for_itself() {
    let store = connect("memory://").await.unwrap();
    let trainer = trainer_type(&store).await;
    let group = GroupCommit::with_max_wait(Arc::clone(&store), Duration::from_secs(600));
    let mine = group.hold();
    let written = group
        .put(execution(trainer, Value::Int(1)), Some(mine))
        .await
        .unwrap();
    assert!(written.execution_id > 0);
    assert_eq!(group.counts().commits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_write_fails_alone_and_what_was_queued_after_it_is_not_written() {
    let store = connect("memory://").await.unwrap();
    let trainer = trainer_type(&store).await;
    let group = GroupCommit::with_max_wait(Arc::clone(&store), Duration::from_secs(600));
    let hold = group.hold();
    let queue = |epochs: Value| {
        let group = group.clone();
        tokio::spawn(async move { group.put(execution(trainer, epochs), None).await })
    };
    let before = queue(Value::Int(1));
    until_queued(&group, 1).await;
    // `epochs` is an integer: a string fails the write.
    let bad = queue(Value::from("three"));
    until_queued(&group, 2).await;
    let after = queue(Value::Int(3));
    until_queued(&group, 3).await;
    drop(hold);
    let before = before
        .await
        .unwrap()
        .expect("the write before the bad one commits");
    let bad = bad
        .await
        .unwrap()
        .expect_err("a property of the wrong type fails");
    assert!(bad.to_string().contains("epochs"), "its own error: {bad}");
    let after = after
        .await
        .unwrap()
        .expect_err("what came after may depend on it");
    assert!(
        after.to_string().contains("shared with others") && after.to_string().contains("epochs"),
        "{after}"
    );
    let stored = store.get_executions(&NodeQuery::all()).await.unwrap();
    let ids: Vec<Option<i64>> = stored.iter().map(|execution| execution.id).collect();
    assert_eq!(ids, [Some(before.execution_id)], "only the write before it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_waits_for_a_slow_holder_no_longer_than_its_limit() {
    let store = connect("memory://").await.unwrap();
    let trainer = trainer_type(&store).await;
    let group = GroupCommit::with_max_wait(Arc::clone(&store), Duration::from_millis(1));
    let _forgotten = group.hold();
    let written = group.put(execution(trainer, Value::Int(1)), None).await;
    assert!(written.is_ok(), "the write committed despite the hold");
}

fn chain(letters: &str) -> Pipeline {
    let mut p = Pipeline::builder("group-chain");
    let mut previous = None;
    for letter in letters.chars() {
        let node = p.add(
            &format!("append_{letter}"),
            Append::new(previous, letter.to_string()),
        );
        previous = Some(node.text);
    }
    p.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_nodes_commits_once_per_node() {
    let dir = tempfile::tempdir().unwrap();
    let store = connect(&format!(
        "sqlite://{}",
        dir.path().join("metadata.sqlite").display()
    ))
    .await
    .unwrap();
    let letters = "abcdefghijklmnopqrst";
    let pipeline = chain(letters);
    // Waiting as long as it takes makes the count exact whatever the machine's load.
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"))
        .commit_wait(Duration::from_secs(600));
    let summary = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
    assert!(summary.succeeded, "{summary:?}");
    let nodes = letters.len() as u64;
    let counts = runner.commit_counts();
    assert_eq!(
        counts.requests,
        2 * nodes,
        "a start and a publish for each node: {counts:?}"
    );
    assert_eq!(
        counts.commits,
        nodes + 1,
        "the first start alone, then each publish with the next node's start: {counts:?}"
    );

    // What the store says is what ran: every node COMPLETE once, its output LIVE, each
    // node reading its predecessor's output.
    let last = summary.node("append_t").unwrap();
    assert_eq!(last.state, NodeState::Complete);
    let executions = store.get_executions(&NodeQuery::all()).await.unwrap();
    assert_eq!(executions.len(), letters.len());
    assert!(
        executions
            .iter()
            .all(|execution| execution.last_known_state == ExecutionState::Complete)
    );
    let artifacts = store.get_artifacts(&NodeQuery::all()).await.unwrap();
    assert!(artifacts.iter().all(|a| a.state == ArtifactState::Live));
    let newest = artifacts.iter().max_by_key(|a| a.id).unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(newest.uri.as_deref().unwrap()).join("text.txt"),
    )
    .unwrap();
    assert_eq!(
        text, letters,
        "each node read what its predecessor published"
    );
    assert_eq!(
        newest.custom_properties.get("length"),
        Some(&Value::Int(letters.len() as i64))
    );

    // Again: every node is a cache hit, recorded as it was before group commit.
    let again = runner.run(&pipeline, BTreeMap::new()).await.unwrap();
    assert_eq!(again.count(NodeState::Cached), letters.len());
}
