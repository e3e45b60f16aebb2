//! Bad input gets a clear error and loses nothing: a corrupt file, a database that is not an
//! ML-Metadata store, a store of a newer schema, an unreachable server, a malformed URL. (A
//! property of the wrong type is in the conformance suite, on every backend.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

use millrace_metadata::{MetadataError, connect};

fn url_of(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn a_corrupt_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.sqlite");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();

    let error = connect(&url_of(&path)).await.unwrap_err();
    let MetadataError::Corrupt { path: reported, .. } = &error else {
        panic!("expected a corrupt-file error, got {error}");
    };
    assert_eq!(reported, &path.display().to_string());
    assert!(
        error.to_string().contains("not a readable SQLite database"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file is unchanged"
    );
}

#[tokio::test]
async fn a_database_that_is_not_a_store_is_refused_without_adding_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    let tables = |path: &std::path::Path| -> Vec<String> {
        let connection = rusqlite::Connection::open(path).unwrap();
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ada');")
            .unwrap();
    }
    let error = connect(&url_of(&path)).await.unwrap_err();
    assert!(matches!(error, MetadataError::NotAStore { .. }), "{error}");
    assert!(error.to_string().contains("no MLMDEnv table"), "{error}");
    assert_eq!(tables(&path), ["users"]);
}

#[tokio::test]
async fn a_store_of_a_newer_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.sqlite");
    drop(connect(&url_of(&path)).await.unwrap());
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch("UPDATE MLMDEnv SET schema_version = 11")
            .unwrap();
    }
    let error = connect(&url_of(&path)).await.unwrap_err();
    let MetadataError::NewerSchema {
        found, supported, ..
    } = error
    else {
        panic!("expected a newer-schema error, got {error}");
    };
    assert_eq!((found, supported), (11, 10));

    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch("UPDATE MLMDEnv SET schema_version = 8")
            .unwrap();
    }
    let error = connect(&url_of(&path)).await.unwrap_err();
    assert!(
        matches!(error, MetadataError::OlderSchema { found: 8, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_a_clear_error_without_the_password() {
    // Nothing listens on port 1 of the loopback interface.
    let error = connect("postgres://millrace:secret@127.0.0.1:1/metadata")
        .await
        .unwrap_err();
    assert!(
        matches!(error, MetadataError::Unreachable { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("127.0.0.1:1/metadata"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn malformed_urls_are_rejected() {
    for url in [
        "mysql://localhost/db",
        "sqlite://",
        "sqlite:///tmp/x.sqlite?journal=fast",
        "metadata.sqlite",
    ] {
        let error = connect(url).await.unwrap_err();
        assert!(
            matches!(error, MetadataError::InvalidUrl { .. }),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn an_empty_file_becomes_a_store_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/metadata.sqlite");
    drop(connect(&url_of(&path)).await.unwrap());
    drop(connect(&url_of(&path)).await.unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("SELECT schema_version FROM MLMDEnv", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 10);
    let simple_types: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM Type WHERE name LIKE 'mlmd.%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(simple_types, 9);
    let journal: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}
