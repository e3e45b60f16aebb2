//! Publishing and materialising artifacts on the in-memory object store: what a reader gets,
//! what it refuses, and when the local cache is trusted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::path::Path;

use futures::StreamExt;
use millrace_storage::connect::client;
use millrace_storage::{ArtifactStorage, Location, MANIFEST_NAME, StorageError, TransferLimits};
use object_store::{ObjectStore, PutOptions, PutPayload};

fn write(path: &Path, contents: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Storage on the in-memory bucket `bucket` with its own working directory.
fn storage(bucket: &str, work: &Path) -> ArtifactStorage {
    ArtifactStorage::open(&format!("memory://{bucket}/root"))
        .unwrap()
        .with_work_dir(work)
        // Small parts, so that a 12 MiB file goes up as a multipart upload and comes down in
        // ranged pieces.
        .with_limits(TransferLimits {
            part_size: 5 << 20,
            in_flight: 3,
        })
}

#[tokio::test]
async fn a_published_directory_comes_back_byte_for_byte_with_its_empty_directories() {
    let scratch = tempfile::tempdir().unwrap();
    let writer = storage("round-trip", &scratch.path().join("writer"));
    let staged = scratch.path().join("staged");
    let large: Vec<u8> = (0..12_u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&staged.join("Split-train/data.bin"), &large);
    write(&staged.join("schema.json"), b"{}");
    std::fs::create_dir_all(staged.join("empty/inner")).unwrap();
    let uri = writer.uri(["p", "gen", "examples", "1"]);
    let published = writer.publish(&staged, &uri).await.unwrap();
    assert_eq!(published.files, 2);
    assert_eq!(published.bytes, large.len() as u64 + 2);

    // Another machine: an empty working directory.
    let reader = storage("round-trip", &scratch.path().join("reader"));
    let local = reader.materialise(&uri, false).await.unwrap();
    assert_eq!(
        std::fs::read(local.join("Split-train/data.bin")).unwrap(),
        large
    );
    assert_eq!(std::fs::read(local.join("schema.json")).unwrap(), b"{}");
    assert!(local.join("empty/inner").is_dir());
    assert!(
        !local.join(MANIFEST_NAME).exists(),
        "the manifest is not among the files"
    );
}

#[tokio::test]
async fn an_artifact_without_its_manifest_is_refused_as_incomplete() {
    let scratch = tempfile::tempdir().unwrap();
    let storage = storage("incomplete", scratch.path());
    let staged = scratch.path().join("staged");
    write(&staged.join("part.txt"), b"half of it");
    let uri = storage.uri(["p", "n", "o", "2"]);
    storage.publish(&staged, &uri).await.unwrap();
    // What a process killed between its last file and its manifest leaves.
    remove_object(&uri, MANIFEST_NAME).await;
    assert!(!storage.is_complete(&uri).await.unwrap());
    let fresh = self::storage("incomplete", &scratch.path().join("fresh"));
    let error = fresh.materialise(&uri, false).await.unwrap_err();
    assert!(matches!(error, StorageError::Incomplete { .. }), "{error}");
    assert!(error.to_string().contains(&uri), "{error}");
}

#[tokio::test]
async fn a_cached_copy_is_used_while_unchanged_and_fetched_again_when_touched() {
    let scratch = tempfile::tempdir().unwrap();
    let writer = storage("cache", &scratch.path().join("writer"));
    let staged = scratch.path().join("staged");
    write(&staged.join("model.json"), b"{\"trees\": 40}");
    let uri = writer.uri(["p", "trainer", "model", "3"]);
    writer.publish(&staged, &uri).await.unwrap();
    let reader = storage("cache", &scratch.path().join("reader"));
    let local = reader.materialise(&uri, false).await.unwrap();

    // The object goes away behind the cache's back: the unchanged copy is still served, with
    // no download.
    remove_object(&uri, "model.json").await;
    assert_eq!(reader.materialise(&uri, false).await.unwrap(), local);

    // The local copy is edited: it no longer matches the manifest, so it is fetched again —
    // which now fails, naming the object.
    std::fs::write(local.join("model.json"), b"{\"trees\": 41}").unwrap();
    let error = reader.materialise(&uri, false).await.unwrap_err();
    assert!(error.to_string().contains("model.json"), "{error}");
}

#[tokio::test]
async fn a_changed_object_is_reported_as_not_matching_its_manifest() {
    let scratch = tempfile::tempdir().unwrap();
    let writer = storage("corrupt", &scratch.path().join("writer"));
    let staged = scratch.path().join("staged");
    write(&staged.join("data.csv"), b"a,b\n1,2\n");
    let uri = writer.uri(["p", "gen", "examples", "4"]);
    writer.publish(&staged, &uri).await.unwrap();
    // Someone overwrites the object with the same size and other bytes.
    overwrite_object(&uri, "data.csv", b"a,b\n9,9\n").await;

    let reader = storage("corrupt", &scratch.path().join("reader"));
    let error = reader.materialise(&uri, false).await.unwrap_err();
    assert!(matches!(error, StorageError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("data.csv"), "{error}");
}

#[tokio::test]
async fn removal_deletes_every_object_and_the_local_copy() {
    let scratch = tempfile::tempdir().unwrap();
    let storage = storage("remove", scratch.path());
    let staged = scratch.path().join("staged");
    write(&staged.join("a/b.txt"), b"b");
    write(&staged.join("c.txt"), b"c");
    let uri = storage.uri(["p", "n", "o", "5"]);
    storage.publish(&staged, &uri).await.unwrap();
    let local = storage.materialise(&uri, false).await.unwrap();
    storage.remove(&uri).await.unwrap();
    assert!(!storage.is_complete(&uri).await.unwrap());
    assert!(!local.exists());
    let error = storage.materialise(&uri, false).await.unwrap_err();
    assert!(matches!(error, StorageError::Incomplete { .. }), "{error}");
}

/// Raw access to the object `name` of the artifact at `uri`, through the process's client.
fn raw(uri: &str, name: &str) -> (std::sync::Arc<dyn ObjectStore>, object_store::path::Path) {
    let Location::Object(object) = Location::parse(uri).unwrap() else {
        panic!("{uri} is not an object URI")
    };
    let key = object.child(name).key;
    (
        client(&object).unwrap(),
        object_store::path::Path::from(key),
    )
}

async fn remove_object(uri: &str, name: &str) {
    let (store, path) = raw(uri, name);
    store
        .delete_stream(futures::stream::iter([Ok(path)]).boxed())
        .next()
        .await
        .unwrap()
        .unwrap();
}

async fn overwrite_object(uri: &str, name: &str, bytes: &'static [u8]) {
    let (store, path) = raw(uri, name);
    store
        .put_opts(&path, PutPayload::from_static(bytes), PutOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_imported_prefix_without_a_manifest_is_read_by_listing_it() {
    let scratch = tempfile::tempdir().unwrap();
    let reader = storage("imported", &scratch.path().join("reader"));
    let Location::Object(base) = Location::parse("memory://imported/root/raw").unwrap() else {
        panic!("not an object location");
    };
    let store = client(&base).unwrap();
    let large: Vec<u8> = (0..6_u32 << 20).map(|i| (i % 251) as u8).collect();
    for (key, bytes) in [
        ("root/raw/a.csv", b"a,b\n".to_vec()),
        ("root/raw/big.bin", large.clone()),
    ] {
        store
            .put_opts(&key.into(), PutPayload::from(bytes), PutOptions::default())
            .await
            .unwrap();
    }
    let uri = "memory://imported/root/raw";
    assert!(matches!(
        reader.materialise(uri, false).await,
        Err(StorageError::Incomplete { .. })
    ));
    let local = reader.materialise(uri, true).await.unwrap();
    assert_eq!(std::fs::read(local.join("a.csv")).unwrap(), b"a,b\n");
    assert!(std::fs::read(local.join("big.bin")).unwrap() == large);
}

#[tokio::test]
async fn listing_a_root_finds_every_artifact_written_however_far_it_got() {
    let scratch = tempfile::tempdir().unwrap();
    let object = storage("listing", &scratch.path().join("work"));
    let local = ArtifactStorage::local(scratch.path().join("root"));
    for storage in [&object, &local] {
        storage.check_writable().await.unwrap();
        for (node, id) in [("gen", "1"), ("trainer", "2")] {
            let staged = scratch.path().join(format!("staged-{node}"));
            write(&staged.join("split/data.csv"), b"a\n");
            storage
                .publish(&staged, &storage.uri(["p", node, "out", id]))
                .await
                .unwrap();
        }
    }
    // Half an upload (no manifest) is listed; a staging directory is not.
    write(&scratch.path().join("half/file"), b"x");
    let Location::Object(half) = Location::parse(&object.uri(["p", "gen", "out", "3"])).unwrap()
    else {
        panic!("an object location");
    };
    client(&half)
        .unwrap()
        .put_opts(
            &object_store::path::Path::from(format!("{}/file", half.key)),
            PutPayload::from_static(b"x"),
            PutOptions::default(),
        )
        .await
        .unwrap();
    std::fs::create_dir_all(scratch.path().join("root/p/gen/out/.staging-4")).unwrap();

    assert_eq!(
        object.list_at_depth(4).await.unwrap(),
        ["1", "3"]
            .iter()
            .map(|id| object.uri(["p", "gen", "out", id]))
            .chain([object.uri(["p", "trainer", "out", "2"])])
            .collect::<Vec<_>>()
    );
    assert_eq!(
        local.list_at_depth(4).await.unwrap(),
        [
            local.uri(["p", "gen", "out", "1"]),
            local.uri(["p", "trainer", "out", "2"])
        ]
    );
    assert_eq!(local.list_at_depth(1).await.unwrap(), [local.uri(["p"])]);
}
