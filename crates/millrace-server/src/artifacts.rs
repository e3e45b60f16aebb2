//! MLflow's artifact protocol on the artifact root: `mlflow-artifacts:/P` is the file or
//! directory `<root>/P`. Uploads go to a temporary file renamed into place; paths that would
//! leave the root — `..`, absolute paths, backslashes, NUL, a symbolic link pointing out —
//! are refused.

use std::path::{Component, Path, PathBuf};

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;

/// The local path of `relative` under `root`, refused if it could leave the root.
pub(crate) fn local_path(root: &Path, relative: &str) -> Result<PathBuf, ApiError> {
    let refused = || {
        ApiError::invalid(format!(
            "Invalid path: '{relative}' must stay under the artifact root"
        ))
    };
    if relative.contains('\0') || relative.contains('\\') || relative.starts_with('/') {
        return Err(refused());
    }
    let path = Path::new(relative);
    if path
        .components()
        .any(|component| !matches!(component, Component::Normal(_) | Component::CurDir))
    {
        return Err(refused());
    }
    let joined = root.join(path);
    // A symbolic link on the way may point out: the nearest existing ancestor must resolve
    // under the root.
    let mut existing = joined.as_path();
    while !existing.exists() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => break,
        }
    }
    if existing.exists() {
        let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let canonical = existing
            .canonicalize()
            .map_err(|error| ApiError::internal(format!("{}: {error}", existing.display())))?;
        if existing.starts_with(root) && !canonical.starts_with(&canonical_root) {
            return Err(refused());
        }
    }
    Ok(joined)
}

/// Where a run's files are under the root: its `artifact_uri` without `mlflow-artifacts:/`.
pub(crate) fn run_files(info: &millrace_metadata::tracking::RunInfo) -> Result<String, ApiError> {
    info.artifact_uri
        .strip_prefix("mlflow-artifacts:/")
        .map(|path| path.trim_end_matches('/').to_owned())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "run {} keeps its files outside this server ({})",
                info.run_id, info.artifact_uri
            ))
        })
}

/// `GET …/mlflow-artifacts/artifacts?path=P`: the entries of directory P, by name; `{}` for
/// a file or a missing path.
pub(crate) async fn list(root: &Path, relative: &str) -> Result<Value, ApiError> {
    let dir = local_path(root, relative.trim_matches('/'))?;
    if !dir.is_dir() {
        return Ok(json!({}));
    }
    let mut files = Vec::new();
    let mut entries = tokio::fs::read_dir(&dir)
        .await
        .map_err(|error| ApiError::internal(format!("{}: {error}", dir.display())))?;
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|error| ApiError::internal(format!("{}: {error}", dir.display())))?
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".upload-") {
            continue;
        }
        let metadata = entry
            .metadata()
            .await
            .map_err(|error| ApiError::internal(format!("{name}: {error}")))?;
        files.push(if metadata.is_dir() {
            json!({"path": name, "is_dir": true})
        } else {
            json!({"path": name, "is_dir": false, "file_size": metadata.len()})
        });
    }
    files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    Ok(json!({"files": files}))
}

/// `GET …/mlflow-artifacts/artifacts/P`: the file's bytes.
pub(crate) async fn download(root: &Path, relative: &str) -> Result<Response, ApiError> {
    let path = local_path(root, relative)?;
    if !path.is_file() {
        return Err(ApiError::not_found(format!("no artifact '{relative}'")));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|error| ApiError::internal(format!("{}: {error}", path.display())))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}

/// `PUT …/mlflow-artifacts/artifacts/P`: writes the body to a temporary file beside P, then
/// renames it into place, so a reader never sees half a file.
pub(crate) async fn upload(root: &Path, relative: &str, body: Bytes) -> Result<Response, ApiError> {
    let path = local_path(root, relative)?;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(ApiError::invalid(format!(
            "Invalid path: '{relative}' names no file"
        )));
    };
    let io = |error: std::io::Error| ApiError::internal(format!("{}: {error}", path.display()));
    tokio::fs::create_dir_all(parent).await.map_err(io)?;
    let temporary = parent.join(format!(
        ".upload-{}-{}",
        std::process::id(),
        name.to_string_lossy()
    ));
    tokio::fs::write(&temporary, &body).await.map_err(io)?;
    tokio::fs::rename(&temporary, &path).await.map_err(io)?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE …/mlflow-artifacts/artifacts/P`.
pub(crate) async fn delete(root: &Path, relative: &str) -> Result<Response, ApiError> {
    let path = local_path(root, relative)?;
    let io = |error: std::io::Error| ApiError::internal(format!("{}: {error}", path.display()));
    if path.is_dir() {
        tokio::fs::remove_dir_all(&path).await.map_err(io)?;
    } else if path.exists() {
        tokio::fs::remove_file(&path).await.map_err(io)?;
    }
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        let root = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\b", "a\0b"] {
            assert!(local_path(root.path(), bad).is_err(), "{bad}");
        }
        assert!(local_path(root.path(), "mlflow/1/r/artifacts/a.txt").is_ok());
    }

    #[test]
    fn a_symbolic_link_out_of_the_root_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        assert!(local_path(root.path(), "out/secret.txt").is_err());
    }
}
