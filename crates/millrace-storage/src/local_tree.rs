//! Walking a local artifact directory: its files and empty directories, relative and sorted —
//! and refusing what must not be published: a symbolic link whose target is outside the
//! directory (or does not exist), at any depth, and anything that is not a file, a directory
//! or a link (a FIFO would block an upload forever). Links are never followed out: each is
//! resolved and checked before anything is read through it.

use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};

/// A file of a local directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalFile {
    /// The path relative to the directory, with `/` separators.
    pub(crate) relative: String,
    /// The full path.
    pub(crate) path: PathBuf,
    /// The size in bytes.
    pub(crate) size: u64,
}

/// The files and the empty directories under `dir` (which must exist), sorted; an error
/// ([`StorageError::UnsafeEntry`]) for a link out of `dir` or a special file anywhere in it.
pub(crate) fn walk(dir: &Path) -> Result<(Vec<LocalFile>, Vec<String>)> {
    let inside = std::fs::canonicalize(dir).map_err(|error| StorageError::io(dir, error))?;
    let mut files = Vec::new();
    let mut empty_dirs = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let mut entries = 0;
        for entry in
            std::fs::read_dir(&current).map_err(|error| StorageError::io(&current, error))?
        {
            let entry = entry.map_err(|error| StorageError::io(&current, error))?;
            entries += 1;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|error| StorageError::io(&path, error))?;
            if kind.is_symlink() {
                check_link(&inside, &path)?;
            } else if !kind.is_dir() && !kind.is_file() {
                return Err(StorageError::UnsafeEntry {
                    path,
                    reason: "is not a regular file (a FIFO, a socket or a device)".to_owned(),
                });
            }
            if kind.is_dir() {
                pending.push(path);
            } else {
                let size = std::fs::metadata(&path)
                    .map_err(|error| StorageError::io(&path, error))?
                    .len();
                files.push(LocalFile {
                    relative: relative(dir, &path),
                    path,
                    size,
                });
            }
        }
        if entries == 0 && current != dir {
            empty_dirs.push(relative(dir, &current));
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    empty_dirs.sort();
    Ok((files, empty_dirs))
}

/// Refuses the link `link` unless what it finally resolves to is inside `inside` (a
/// canonical path).
fn check_link(inside: &Path, link: &Path) -> Result<()> {
    let target = std::fs::read_link(link).map_err(|error| StorageError::io(link, error))?;
    match std::fs::canonicalize(link) {
        Ok(resolved) if resolved.starts_with(inside) => Ok(()),
        Ok(resolved) => Err(StorageError::UnsafeEntry {
            path: link.to_owned(),
            reason: format!(
                "is a symbolic link to `{}`, which resolves to `{}`, outside the artifact",
                target.display(),
                resolved.display()
            ),
        }),
        Err(error) => Err(StorageError::UnsafeEntry {
            path: link.to_owned(),
            reason: format!(
                "is a symbolic link to `{}`, which cannot be resolved ({error})",
                target.display()
            ),
        }),
    }
}

/// Whether `relative` (a manifest's path, `/`-separated) names a place inside the artifact:
/// not empty, not absolute, no `.`, `..` or empty segment, no `\` or NUL.
pub(crate) fn stays_inside(relative: &str) -> bool {
    !relative.is_empty()
        && !relative.contains(['\\', '\0'])
        && relative
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

fn relative(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The BLAKE3 hash of a file, hex, read in 1 MiB pieces.
pub(crate) fn hash_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|error| StorageError::io(path, error))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(&mut file)
        .map_err(|error| StorageError::io(path, error))?;
    Ok(hasher.finalize().to_hex().to_string())
}
