//! What the metadata test suites share: the backends to run against.

#![allow(
    dead_code,
    unused_macros,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use millrace_metadata::{MetadataStore, connect};

/// The environment variable `cargo xtask test` sets to a throwaway PostgreSQL server.
pub const POSTGRES_URL_VARIABLE: &str = "MILLRACE_TEST_POSTGRES_URL";

/// The PostgreSQL server to test against, or why there is none (printed once per test).
pub fn postgres_server() -> Option<String> {
    match std::env::var(POSTGRES_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to the terminal, past the test harness's capture: a plain `cargo test`
            // shows which suites skipped.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (PostgreSQL): {POSTGRES_URL_VARIABLE} is not set; `cargo xtask test` starts a throwaway server and sets it"
            );
            None
        }
    }
}

static NEXT_SCHEMA: AtomicUsize = AtomicUsize::new(0);

/// A URL for a fresh, empty schema on the test server: every test gets its own tables.
pub fn fresh_postgres_url(server: &str) -> String {
    let schema = format!(
        "t{}_{}_{}",
        std::process::id(),
        NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0)
    );
    // The synchronous client runs its own runtime: keep it off the test's async threads.
    let (server_url, statement) = (server.to_owned(), format!("CREATE SCHEMA {schema}"));
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&server_url, postgres::NoTls)
            .expect("the test server accepts connections");
        client
            .batch_execute(&statement)
            .expect("a schema can be created");
    })
    .join()
    .expect("the schema is created");
    let separator = if server.contains('?') { '&' } else { '?' };
    format!("{server}{separator}options=-c%20search_path%3D{schema}")
}

/// A fresh store of the named backend, or `None` when the backend is not available here.
pub async fn fresh_store(backend: &str, dir: &tempfile::TempDir) -> Option<Arc<dyn MetadataStore>> {
    let url = match backend {
        "memory" => "memory://".to_owned(),
        "sqlite" => format!("sqlite://{}", dir.path().join("metadata.sqlite").display()),
        "postgres" => fresh_postgres_url(&postgres_server()?),
        other => panic!("unknown backend {other}"),
    };
    Some(
        connect(&url)
            .await
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}")),
    )
}

/// One module per backend, each with every test of the suite. A backend that is not available
/// here (PostgreSQL without a server) skips its tests, saying why.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        conformance!(@backend memory, "memory", $($test),*);
        conformance!(@backend sqlite, "sqlite", $($test),*);
        conformance!(@backend postgres, "postgres", $($test),*);
    };
    (@backend $module:ident, $backend:literal, $($test:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let dir = tempfile::tempdir().unwrap();
                    let Some(store) = crate::common::fresh_store($backend, &dir).await else {
                        return;
                    };
                    super::$test(store, &dir).await;
                }
            )*
        }
    };
}
