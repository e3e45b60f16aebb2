//! Moving an artifact's files between a local directory and an object store, in parallel with
//! bounded memory.
//!
//! **Upload.** Files smaller than a part go up with one PUT each; larger ones as multipart
//! uploads of `part_size` pieces. Every piece in flight — a small file or one part — holds one
//! of `in_flight` permits while its bytes are in memory, so memory is bounded by
//! `in_flight × part_size` (8 × 16 MiB = 128 MiB by default) whatever the artifact's size,
//! and up to `in_flight` requests run at once. Each file is hashed (BLAKE3) as it is read, in
//! order, so the manifest costs no second read.
//!
//! **Download.** The manifest says what to fetch. Small files come with one GET; larger ones
//! as concurrent range GETs of `part_size`, each written at its offset, under the same
//! permits. Each file is hashed after it is written and compared with the manifest; a mismatch
//! is an error naming the object.
//!
//! A failed multipart upload is aborted; a failed download leaves nothing in place (the
//! caller downloads into a temporary directory and renames it).

use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMultipartOptions, PutOptions, PutPayload};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::{Result, StorageError};
use crate::local_tree::{LocalFile, hash_file, stays_inside, walk};
use crate::location::ObjectLocation;
use crate::manifest::{MANIFEST_NAME, Manifest, ManifestEntry};

/// How transfers use memory and connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferLimits {
    /// The size of a multipart upload's part and of a ranged download's piece (at least 5 MiB,
    /// S3's minimum part).
    pub part_size: usize,
    /// How many pieces may be in memory and in flight at once.
    pub in_flight: usize,
}

impl Default for TransferLimits {
    fn default() -> Self {
        TransferLimits {
            part_size: 16 << 20,
            in_flight: 8,
        }
    }
}

impl TransferLimits {
    /// The most memory transfers hold for file contents.
    pub fn peak_buffer_bytes(&self) -> usize {
        self.part_size * self.in_flight
    }
}

/// The object path of `relative` under `base`.
pub(crate) fn object_path(base: &ObjectLocation, relative: &str) -> ObjectPath {
    let key = base.child(relative).key;
    ObjectPath::from_iter(key.split('/').filter(|part| !part.is_empty()))
}

/// Uploads every file under `dir` to `base`, then the manifest, last. Returns the manifest.
pub(crate) async fn upload_dir(
    store: &Arc<dyn ObjectStore>,
    base: &ObjectLocation,
    dir: &Path,
    limits: TransferLimits,
) -> Result<Manifest> {
    let (files, empty_dirs) = walk(dir)?;
    let permits = Arc::new(Semaphore::new(limits.in_flight.max(1)));
    let mut small: JoinSet<Result<ManifestEntry>> = JoinSet::new();
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        if file.size as usize <= limits.part_size {
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .map_err(|_| closed(base))?;
            let (store, base) = (Arc::clone(store), base.clone());
            small.spawn(async move {
                let entry = upload_small(&store, &base, &file).await;
                drop(permit);
                entry
            });
        } else {
            entries.push(upload_large(store, base, &file, limits, &permits).await?);
        }
    }
    while let Some(joined) = small.join_next().await {
        entries.push(joined.map_err(|error| StorageError::Object {
            operation: "uploading to",
            url: base.to_string(),
            message: error.to_string(),
            hint: String::new(),
        })??);
    }
    let manifest = Manifest::new(entries, empty_dirs);
    let text = serde_json::to_vec_pretty(&manifest).map_err(|error| StorageError::Manifest {
        url: base.to_string(),
        message: error.to_string(),
    })?;
    let location = object_path(base, MANIFEST_NAME);
    store
        .put_opts(&location, PutPayload::from(text), PutOptions::default())
        .await
        .map_err(|error| {
            StorageError::object("uploading", base.child(MANIFEST_NAME).to_string(), &error)
        })?;
    Ok(manifest)
}

fn closed(base: &ObjectLocation) -> StorageError {
    StorageError::Object {
        operation: "transferring",
        url: base.to_string(),
        message: "the transfer was shut down".to_owned(),
        hint: String::new(),
    }
}

async fn upload_small(
    store: &Arc<dyn ObjectStore>,
    base: &ObjectLocation,
    file: &LocalFile,
) -> Result<ManifestEntry> {
    let bytes = tokio::fs::read(&file.path)
        .await
        .map_err(|error| StorageError::io(&file.path, error))?;
    let blake3 = blake3::hash(&bytes).to_hex().to_string();
    let size = bytes.len() as u64;
    store
        .put_opts(
            &object_path(base, &file.relative),
            PutPayload::from(bytes),
            PutOptions::default(),
        )
        .await
        .map_err(|error| {
            StorageError::object("uploading", base.child(&file.relative).to_string(), &error)
        })?;
    Ok(ManifestEntry {
        path: file.relative.clone(),
        size,
        blake3,
    })
}

async fn upload_large(
    store: &Arc<dyn ObjectStore>,
    base: &ObjectLocation,
    file: &LocalFile,
    limits: TransferLimits,
    permits: &Arc<Semaphore>,
) -> Result<ManifestEntry> {
    let url = base.child(&file.relative).to_string();
    let mut upload = store
        .put_multipart_opts(
            &object_path(base, &file.relative),
            PutMultipartOptions::default(),
        )
        .await
        .map_err(|error| StorageError::object("starting the upload of", url.clone(), &error))?;
    let result = async {
        let mut reader = tokio::fs::File::open(&file.path)
            .await
            .map_err(|error| StorageError::io(&file.path, error))?;
        let mut hasher = blake3::Hasher::new();
        let mut parts: JoinSet<Result<()>> = JoinSet::new();
        let mut size = 0_u64;
        loop {
            let permit = Arc::clone(permits)
                .acquire_owned()
                .await
                .map_err(|_| closed(base))?;
            let mut buffer = BytesMut::zeroed(limits.part_size);
            let mut filled = 0;
            while filled < buffer.len() {
                let read = reader
                    .read(&mut buffer[filled..])
                    .await
                    .map_err(|error| StorageError::io(&file.path, error))?;
                if read == 0 {
                    break;
                }
                filled += read;
            }
            if filled == 0 {
                break;
            }
            buffer.truncate(filled);
            hasher.update(&buffer);
            size += filled as u64;
            let part = upload.put_part(PutPayload::from(buffer.freeze()));
            let part_url = url.clone();
            parts.spawn(async move {
                let done = part
                    .await
                    .map_err(|error| StorageError::object("uploading a part of", part_url, &error));
                drop(permit);
                done
            });
            // Surface a failed part early rather than after the whole file was read.
            while let Some(joined) = parts.try_join_next() {
                joined.map_err(|error| join_error(&url, &error))??;
            }
            if filled < limits.part_size {
                break;
            }
        }
        while let Some(joined) = parts.join_next().await {
            joined.map_err(|error| join_error(&url, &error))??;
        }
        upload.complete().await.map_err(|error| {
            StorageError::object("completing the upload of", url.clone(), &error)
        })?;
        Ok(ManifestEntry {
            path: file.relative.clone(),
            size,
            blake3: hasher.finalize().to_hex().to_string(),
        })
    }
    .await;
    if result.is_err() {
        let _ = upload.abort().await;
    }
    result
}

fn join_error(url: &str, error: &tokio::task::JoinError) -> StorageError {
    StorageError::Object {
        operation: "transferring",
        url: url.to_owned(),
        message: error.to_string(),
        hint: String::new(),
    }
}

/// Reads the manifest of the artifact at `base`; `None` when it has none.
pub(crate) async fn read_manifest(
    store: &Arc<dyn ObjectStore>,
    base: &ObjectLocation,
) -> Result<Option<Manifest>> {
    let url = base.child(MANIFEST_NAME).to_string();
    let result = match store
        .get_opts(&object_path(base, MANIFEST_NAME), Default::default())
        .await
    {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(StorageError::object("reading", url, &error)),
    };
    let bytes = result
        .bytes()
        .await
        .map_err(|error| StorageError::object("reading", url.clone(), &error))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| StorageError::Manifest {
            url: base.to_string(),
            message: error.to_string(),
        })
}

/// Downloads the files of `manifest` from `base` into `dir` (which exists), verifying each.
pub(crate) async fn download_files(
    store: &Arc<dyn ObjectStore>,
    base: &ObjectLocation,
    manifest: &Manifest,
    only: &[&ManifestEntry],
    dir: &Path,
    limits: TransferLimits,
) -> Result<()> {
    // A manifest is read from the bucket, which others may write: none of its paths may lead
    // out of the directory it is downloaded into.
    let paths = manifest.empty_dirs.iter().map(String::as_str);
    if let Some(outside) = paths
        .chain(only.iter().map(|entry| entry.path.as_str()))
        .find(|path| !stays_inside(path))
    {
        return Err(StorageError::Manifest {
            url: base.to_string(),
            message: format!("the path `{outside}` does not stay inside the artifact"),
        });
    }
    for empty in &manifest.empty_dirs {
        let path = dir.join(empty);
        std::fs::create_dir_all(&path).map_err(|error| StorageError::io(&path, error))?;
    }
    let permits = Arc::new(Semaphore::new(limits.in_flight.max(1)));
    let mut pieces: JoinSet<Result<()>> = JoinSet::new();
    let mut written = Vec::new();
    for entry in only {
        let path = dir.join(&entry.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| StorageError::io(parent, error))?;
        }
        let file = std::fs::File::create(&path).map_err(|error| StorageError::io(&path, error))?;
        file.set_len(entry.size)
            .map_err(|error| StorageError::io(&path, error))?;
        let file = Arc::new(file);
        let location = object_path(base, &entry.path);
        let url = base.child(&entry.path).to_string();
        let mut start = 0_u64;
        while start < entry.size {
            let end = (start + limits.part_size as u64).min(entry.size);
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .map_err(|_| closed(base))?;
            let (store, location, piece_url, file, path) = (
                Arc::clone(store),
                location.clone(),
                url.clone(),
                Arc::clone(&file),
                path.clone(),
            );
            pieces.spawn(async move {
                let bytes = store
                    .get_ranges(&location, std::slice::from_ref(&(start..end)))
                    .await
                    .map_err(|error| StorageError::object("downloading", piece_url, &error))?;
                let bytes = bytes.into_iter().next().unwrap_or_default();
                tokio::task::spawn_blocking(move || {
                    use std::os::unix::fs::FileExt;
                    let written = file.write_all_at(&bytes, start);
                    drop(permit);
                    written.map_err(|error| StorageError::io(&path, error))
                })
                .await
                .map_err(|error| {
                    StorageError::io(dir_of(&location), std::io::Error::other(error))
                })?
            });
            while let Some(joined) = pieces.try_join_next() {
                joined.map_err(|error| join_error(&url, &error))??;
            }
            start = end;
        }
        written.push((path, *entry));
    }
    while let Some(joined) = pieces.join_next().await {
        joined.map_err(|error| join_error(&base.to_string(), &error))??;
    }
    for (path, entry) in written {
        // An imported artifact's listing has sizes but no hashes: nothing to compare.
        if entry.blake3.is_empty() {
            continue;
        }
        let actual = tokio::task::spawn_blocking({
            let path = path.clone();
            move || hash_file(&path)
        })
        .await
        .map_err(|error| StorageError::io(&path, std::io::Error::other(error)))??;
        if actual != entry.blake3 {
            return Err(StorageError::Corrupt {
                url: base.child(&entry.path).to_string(),
                expected: format!("blake3 {}", entry.blake3),
                actual: format!("blake3 {actual}"),
            });
        }
    }
    Ok(())
}

fn dir_of(location: &ObjectPath) -> std::path::PathBuf {
    std::path::PathBuf::from(location.as_ref())
}
