//! `serve`: MLflow's REST API on the pipeline's store and artifact root — what the `mlflow`
//! client of training scripts and notebooks logs into — and the tracking server a run starts
//! for its command nodes.

use std::io::Write;
use std::net::SocketAddr;

use millrace_runner::RunnerError;
use millrace_server::{RunningServer, ServerState};

use crate::command::Location;
use crate::error::CliError;

/// The local artifact root of `location`, which the server serves `mlflow-artifacts:/` from.
fn local_root(location: &Location) -> Option<std::path::PathBuf> {
    location
        .storage()
        .ok()?
        .local_root()
        .map(std::path::Path::to_path_buf)
}

/// Starts the API on `bind` for `store`; `None` when the artifact root is not a local
/// directory (the server serves files from one).
pub(crate) async fn start(
    store: std::sync::Arc<dyn millrace_metadata::MetadataStore>,
    location: &Location,
    bind: SocketAddr,
) -> Result<Option<RunningServer>, CliError> {
    let Some(root) = local_root(location) else {
        return Ok(None);
    };
    let server = millrace_server::serve(ServerState::new(store, root), bind)
        .await
        .map_err(|error| CliError::Usage(error.to_string()))?;
    Ok(Some(server))
}

/// `serve [--bind ADDRESS]`: serves until Ctrl-C.
pub(crate) async fn serve(
    bind: SocketAddr,
    location: &Location,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    let store = millrace_metadata::connect(&location.store)
        .await
        .map_err(RunnerError::from)?;
    let server = start(store, location, bind).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "`serve` serves artifacts from a local directory; the root `{}` is not one (use --root DIR)",
            location.root
        ))
    })?;
    let _ = writeln!(
        stderr,
        "serving MLflow's API for {} on {}\nMLFLOW_TRACKING_URI={}",
        location.store,
        server.address(),
        server.uri()
    );
    tokio::select! {
        result = server.wait() => result.map_err(|error| CliError::Usage(error.to_string())),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
