//! A component that leaves a symbolic link pointing outside its output (a secret of the
//! machine, say) fails its node: the message names the link, nothing outside is published, and
//! the output is ABANDONED, never LIVE — on a local root and on an object store alike.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::path::Path;

use millrace_core::prelude::*;
use millrace_metadata::{ArtifactState, MetadataStore, NodeQuery, connect};
use millrace_runner::{ArtifactStorage, LocalRunner, NodeState};

/// Writes its weights, and a link deep in its output to `target`.
#[millrace_macros::component(crate = millrace_core, kind = "test.LinkLeaver")]
async fn link_leaver(model: Output<Model>, target: String) -> Result<(), ComponentError> {
    std::fs::write(model.uri().join("weights.txt"), "1 2 3")?;
    let deep = model.uri().join("nested/dir");
    std::fs::create_dir_all(&deep)?;
    std::os::unix::fs::symlink(&target, deep.join("leak"))?;
    Ok(())
}

fn pipeline(target: &Path) -> Pipeline {
    let mut p = Pipeline::builder("links");
    p.add("leaver", LinkLeaver::new(target.display().to_string()));
    p.build().unwrap()
}

/// Runs the pipeline on `storage` and checks what every root must show: the node failed
/// naming the link, and its output is ABANDONED. Returns the output's URI.
async fn run_and_check(scratch: &Path, storage: ArtifactStorage) -> String {
    let secret = scratch.join("outside/credentials.txt");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "s3cret").unwrap();
    let store = connect(&format!(
        "sqlite://{}",
        scratch.join("metadata.sqlite").display()
    ))
    .await
    .unwrap();

    let summary = LocalRunner::with_storage(store.clone(), storage)
        .run(&pipeline(&secret), BTreeMap::new())
        .await
        .unwrap();

    let outcome = summary.node("leaver").unwrap();
    assert_eq!(outcome.state, NodeState::Failed);
    let message = outcome.message.clone().unwrap_or_default();
    assert!(message.contains("publishing output `model`"), "{message}");
    assert!(message.contains("nested/dir/leak"), "{message}");
    assert!(message.contains("outside the artifact"), "{message}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "s3cret");
    let artifacts = store.get_artifacts(&NodeQuery::all()).await.unwrap();
    let [artifact] = artifacts.as_slice() else {
        panic!("one output artifact, got {artifacts:?}");
    };
    assert_eq!(artifact.state, ArtifactState::Abandoned);
    assert_no_live(&*store).await;
    artifact.uri.clone().unwrap()
}

async fn assert_no_live(store: &dyn MetadataStore) {
    let live = store
        .get_artifacts(&NodeQuery::all().states([ArtifactState::Live.code()]))
        .await
        .unwrap();
    assert!(live.is_empty(), "{live:?}");
}

#[tokio::test]
async fn a_link_out_of_an_output_fails_the_node_on_a_local_root() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("artifacts");

    let uri = run_and_check(scratch.path(), ArtifactStorage::local(&root)).await;

    assert!(
        !Path::new(&uri).exists(),
        "nothing is moved into place at {uri}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join("links/leaver/model"))
        .map(|entries| entries.map(|entry| entry.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "the staging directory is gone: {leftovers:?}"
    );
}

#[tokio::test]
async fn a_link_out_of_an_output_fails_the_node_on_an_object_store() {
    let scratch = tempfile::tempdir().unwrap();
    let storage = ArtifactStorage::open("memory://unsafe-outputs/root")
        .unwrap()
        .with_work_dir(scratch.path().join("work"));

    let uri = run_and_check(scratch.path(), storage.clone()).await;

    assert!(uri.starts_with("memory://unsafe-outputs/root/links/leaver/model/"));
    assert!(
        !storage.is_complete(&uri).await.unwrap(),
        "no manifest at {uri}"
    );
}
