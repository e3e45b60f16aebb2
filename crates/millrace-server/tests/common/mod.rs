//! What the server's suites share: the interpreter a suite needs (or the line saying it is
//! skipped), and a server on a fresh SQLite store.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)] // Each suite uses some; tests fail loudly.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use millrace_metadata::{MetadataStore, connect};
use millrace_server::{RunningServer, ServerState, serve};

/// The interpreter in `variable`, or `None` after saying that `what` is skipped.
pub fn python(variable: &str, what: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED ({what}): {variable} is not set; `cargo xtask test` installs it into a venv and sets it"
            );
            None
        }
    }
}

/// A SQLite store and an artifact root in `dir`, served on a free port of 127.0.0.1.
pub async fn served(dir: &Path) -> (Arc<dyn MetadataStore>, PathBuf, RunningServer) {
    let root = dir.join("artifacts");
    std::fs::create_dir_all(&root).unwrap();
    let store = connect(&format!("sqlite://{}", dir.join("m.sqlite").display()))
        .await
        .unwrap();
    let server = serve(
        ServerState::new(Arc::clone(&store), &root),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    (store, root, server)
}
