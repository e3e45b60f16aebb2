//! The files the mirror uploads, read from the artifact root wherever it is: a run's own files
//! (`mlflow-artifacts:/P` is `<root>/P`) and artifacts' directories, fetched to the local
//! cache first when the root is an object store. The manifest Millrace keeps beside an
//! artifact's files is not one of them.

use std::path::{Path, PathBuf};

use millrace_storage::{ArtifactStorage, Location, MANIFEST_NAME};

/// One file to upload: where it goes under the remote directory, and where it is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalFile {
    /// `/`-separated, under the directory it was found in.
    pub(crate) relative: String,
    /// The file.
    pub(crate) path: PathBuf,
}

/// The storage URI of `uri`: `mlflow-artifacts:/P` under the root, any other URI as it is.
fn storage_uri(storage: &ArtifactStorage, uri: &str) -> String {
    match uri.strip_prefix("mlflow-artifacts:/") {
        Some(relative) => storage.uri(relative.split('/').filter(|part| !part.is_empty())),
        None => uri.to_owned(),
    }
}

/// Every file under the directory at `uri` (none when there is no such directory), sorted.
pub(crate) async fn files_at(
    storage: &ArtifactStorage,
    uri: &str,
) -> Result<Vec<LocalFile>, String> {
    let uri = storage_uri(storage, uri);
    let is_local = Location::parse(&uri)
        .map_err(|error| error.to_string())?
        .is_local();
    if !is_local
        && !storage
            .is_complete(&uri)
            .await
            .map_err(|error| error.to_string())?
    {
        return Ok(Vec::new());
    }
    let dir = storage
        .materialise(&uri, false)
        .await
        .map_err(|error| error.to_string())?;
    tokio::task::spawn_blocking(move || walk(&dir))
        .await
        .map_err(|error| error.to_string())?
}

/// The files under `dir`, recursively, sorted by relative path.
fn walk(dir: &Path) -> Result<Vec<LocalFile>, String> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((current, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|error| format!("{}: {error}", current.display()))?;
        for entry in entries {
            let entry = entry.map_err(|error| format!("{}: {error}", current.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            if path.is_dir() {
                pending.push((path, relative));
            } else if name != MANIFEST_NAME {
                files.push(LocalFile { relative, path });
            }
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_runs_files_are_listed_under_the_root_without_the_manifest() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("3/abc/artifacts");
        std::fs::create_dir_all(run.join("docs")).unwrap();
        std::fs::write(run.join("notes.txt"), "n").unwrap();
        std::fs::write(run.join("docs/a.html"), "a").unwrap();
        std::fs::write(run.join(MANIFEST_NAME), "{}").unwrap();
        let storage = ArtifactStorage::local(root.path());
        let files = files_at(&storage, "mlflow-artifacts:/3/abc/artifacts")
            .await
            .unwrap();
        let names: Vec<&str> = files.iter().map(|file| file.relative.as_str()).collect();
        assert_eq!(names, ["docs/a.html", "notes.txt"]);
        assert!(
            files_at(&storage, "mlflow-artifacts:/3/missing/artifacts")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
