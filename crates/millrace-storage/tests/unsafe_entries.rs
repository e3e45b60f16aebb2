//! What a component may not leave in an output: a symbolic link that leads out of it (at any
//! depth, directly or through another link), a link to nothing, a FIFO. Publishing refuses
//! them on a local root (nothing is moved into place) and on an object store (nothing is
//! uploaded, and nothing outside is read); a manifest whose paths lead out of the artifact is
//! refused when it is read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::os::unix::fs::symlink;
use std::path::Path;

use futures::StreamExt;
use millrace_storage::connect::client;
use millrace_storage::{ArtifactStorage, Location, MANIFEST_NAME, StorageError};
use object_store::{ObjectStore, PutOptions, PutPayload};

fn write(path: &Path, contents: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// A staged output with a file, and a secret file beside the staging directory.
fn staged_with_secret(scratch: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let secret = scratch.join("outside/secret.txt");
    write(&secret, b"the password is s3cret");
    let staged = scratch.join("staged");
    write(&staged.join("model.json"), b"{}");
    (staged, secret)
}

fn refused_link(error: StorageError, link: &Path) {
    match error {
        StorageError::UnsafeEntry { path, reason } => {
            assert_eq!(path, link);
            assert!(reason.contains("symbolic link"), "{reason}");
        }
        other => panic!("expected the link to be refused, got {other}"),
    }
}

/// Every object under `uri`'s prefix.
async fn objects_under(uri: &str) -> Vec<String> {
    let Location::Object(object) = Location::parse(uri).unwrap() else {
        panic!("{uri} is an object location");
    };
    let store = client(&object).unwrap();
    let prefix = object_store::path::Path::from(object.key.as_str());
    store
        .list(Some(&prefix))
        .map(|meta| meta.unwrap().location.to_string())
        .collect()
        .await
}

#[tokio::test]
async fn a_link_out_of_a_local_output_is_refused_and_nothing_is_moved_into_place() {
    let scratch = tempfile::tempdir().unwrap();
    let (staged, secret) = staged_with_secret(scratch.path());
    let link = staged.join("deep/er/leak");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    symlink(&secret, &link).unwrap();
    let storage = ArtifactStorage::local(scratch.path().join("root"));
    let uri = storage.uri(["p", "n", "model", "1"]);

    let error = storage.publish(&staged, &uri).await.unwrap_err();

    assert!(
        error.to_string().contains(&link.display().to_string()),
        "{error}"
    );
    refused_link(error, &link);
    assert!(!storage.is_complete(&uri).await.unwrap());
    assert!(
        staged.join("model.json").exists(),
        "the staged output stays where it was"
    );
}

#[tokio::test]
async fn a_relative_link_that_climbs_out_through_another_link_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let (staged, _) = staged_with_secret(scratch.path());
    // `a/b/up` leads to `staged/deep` (inside); `a/b/leak` = `up/../../outside/secret.txt`
    // reads inside if `..` is taken word by word, but outside when the link is followed.
    std::fs::create_dir_all(staged.join("deep")).unwrap();
    std::fs::create_dir_all(staged.join("a/b")).unwrap();
    symlink("../../deep", staged.join("a/b/up")).unwrap();
    let leak = staged.join("a/b/leak");
    symlink("up/../../outside/secret.txt", &leak).unwrap();
    let storage = ArtifactStorage::local(scratch.path().join("root"));

    let error = storage
        .publish(&staged, &storage.uri(["p", "n", "o", "1"]))
        .await
        .unwrap_err();

    refused_link(error, &leak);
}

#[tokio::test]
async fn a_link_out_of_an_output_is_never_uploaded_nor_read() {
    let scratch = tempfile::tempdir().unwrap();
    let (staged, secret) = staged_with_secret(scratch.path());
    let link = staged.join("leak");
    symlink(&secret, &link).unwrap();
    let storage = ArtifactStorage::open("memory://unsafe-upload/root")
        .unwrap()
        .with_work_dir(scratch.path().join("work"));
    let uri = storage.uri(["p", "n", "model", "1"]);

    let error = storage.publish(&staged, &uri).await.unwrap_err();

    refused_link(error, &link);
    assert!(!storage.is_complete(&uri).await.unwrap());
    assert_eq!(
        objects_under(&uri).await,
        Vec::<String>::new(),
        "nothing was uploaded"
    );
}

#[tokio::test]
async fn a_dangling_link_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let (staged, _) = staged_with_secret(scratch.path());
    let link = staged.join("nowhere");
    symlink(scratch.path().join("appears-later"), &link).unwrap();
    let storage = ArtifactStorage::local(scratch.path().join("root"));

    let error = storage
        .publish(&staged, &storage.uri(["p", "n", "o", "1"]))
        .await
        .unwrap_err();

    refused_link(error, &link);
}

#[tokio::test]
async fn a_fifo_in_an_output_is_refused_rather_than_blocking_the_upload() {
    let scratch = tempfile::tempdir().unwrap();
    let (staged, _) = staged_with_secret(scratch.path());
    let fifo = staged.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let storage = ArtifactStorage::open("memory://unsafe-fifo/root")
        .unwrap()
        .with_work_dir(scratch.path().join("work"));

    let error = storage
        .publish(&staged, &storage.uri(["p", "n", "o", "1"]))
        .await
        .unwrap_err();

    match error {
        StorageError::UnsafeEntry { path, reason } => {
            assert_eq!(path, fifo);
            assert!(reason.contains("not a regular file"), "{reason}");
        }
        other => panic!("expected the FIFO to be refused, got {other}"),
    }
}

#[tokio::test]
async fn links_that_stay_inside_are_published_on_both_kinds_of_root() {
    let scratch = tempfile::tempdir().unwrap();
    let (staged, _) = staged_with_secret(scratch.path());
    symlink("model.json", staged.join("latest.json")).unwrap();
    let object = ArtifactStorage::open("memory://inside-links/root")
        .unwrap()
        .with_work_dir(scratch.path().join("work"));
    let uri = object.uri(["p", "n", "model", "1"]);
    let published = object.publish(&staged, &uri).await.unwrap();
    assert_eq!(published.files, 2);

    let (staged, _) = staged_with_secret(&scratch.path().join("second"));
    symlink("model.json", staged.join("latest.json")).unwrap();
    let local = ArtifactStorage::local(scratch.path().join("root"));
    let uri = local.uri(["p", "n", "model", "1"]);
    local.publish(&staged, &uri).await.unwrap();
    let published = Path::new(&uri).join("latest.json");
    assert_eq!(std::fs::read(published).unwrap(), b"{}");
}

#[tokio::test]
async fn a_manifest_whose_paths_climb_out_is_refused_and_nothing_is_written_outside() {
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path().join("work");
    let storage = ArtifactStorage::open("memory://hostile-manifest/root")
        .unwrap()
        .with_work_dir(&work);
    let uri = storage.uri(["p", "n", "model", "1"]);
    let Location::Object(object) = Location::parse(&uri).unwrap() else {
        panic!("{uri} is an object location");
    };
    let store = client(&object).unwrap();
    let manifest = serde_json::json!({
        "format": "millrace.manifest/1",
        "files": [{"path": "../../../../escaped.txt", "size": 2, "blake3": ""}],
        "empty_dirs": [],
    });
    store
        .put_opts(
            &object_store::path::Path::from(format!("{}/{MANIFEST_NAME}", object.key)),
            PutPayload::from(manifest.to_string()),
            PutOptions::default(),
        )
        .await
        .unwrap();

    let error = storage.materialise(&uri, false).await.unwrap_err();

    assert!(
        matches!(&error, StorageError::Manifest { message, .. } if message.contains("does not stay inside")),
        "{error}"
    );
    assert!(!scratch.path().join("escaped.txt").exists());
    assert!(!work.join("escaped.txt").exists());
}
