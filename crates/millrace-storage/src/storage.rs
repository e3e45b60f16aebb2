//! `ArtifactStorage`: the pipeline root, local or on an object store, and the one way artifacts
//! go in and out of it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use object_store::{ObjectStore, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::connect::client;
use crate::error::{Result, StorageError};
use crate::local_tree::{hash_file, walk};
use crate::location::{Location, ObjectLocation, path_segment};
use crate::manifest::{MANIFEST_NAME, Manifest};
use crate::transfer::{TransferLimits, download_files, object_path, read_manifest, upload_dir};

/// What publishing an artifact wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Published {
    /// How many files.
    pub files: usize,
    /// How many bytes.
    pub bytes: u64,
}

/// The pipeline root and a local working directory.
///
/// With a local root, artifacts are directories under it: staged beside their final place and
/// renamed into it (atomic on one file system). With an object-store root, components still
/// read and write local directories: staging happens in the working directory, outputs are
/// uploaded with a manifest written last ([`crate::manifest`]), and inputs are materialised
/// into a local cache under the working directory, verified against their manifest, and
/// reused while their size, modification time and manifest are unchanged.
#[derive(Debug, Clone)]
pub struct ArtifactStorage {
    root: Location,
    work_dir: PathBuf,
    limits: TransferLimits,
    /// One lock per artifact URI being materialised, so that parallel readers in this process
    /// download it once.
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// The default working directory of object-store roots (`MILLRACE_WORK_DIR` overrides it).
pub const DEFAULT_WORK_DIR: &str = ".millrace/work";

impl ArtifactStorage {
    /// Artifacts under the local directory `root`.
    pub fn local(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        ArtifactStorage {
            work_dir: root.clone(),
            root: Location::Local(root),
            limits: TransferLimits::default(),
            locks: Arc::default(),
        }
    }

    /// The root `root`: a local path or `s3://`, `gs://`, `az://`, `memory://` URL. An object
    /// root's working directory is `MILLRACE_WORK_DIR`, or `.millrace/work`.
    pub fn open(root: &str) -> Result<Self> {
        match Location::parse(root)? {
            Location::Local(path) => Ok(ArtifactStorage::local(path)),
            Location::Object(object) => {
                client(&object)?;
                let work_dir = std::env::var_os("MILLRACE_WORK_DIR")
                    .map_or_else(|| PathBuf::from(DEFAULT_WORK_DIR), PathBuf::from);
                Ok(ArtifactStorage {
                    root: Location::Object(object),
                    work_dir,
                    limits: TransferLimits::default(),
                    locks: Arc::default(),
                })
            }
        }
    }

    /// Uses `dir` as the local working directory (object roots only; a local root works in
    /// itself).
    pub fn with_work_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        if !self.root.is_local() {
            self.work_dir = dir.into();
        }
        self
    }

    /// Transfers with these limits.
    pub fn with_limits(mut self, limits: TransferLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The root.
    pub fn root(&self) -> &Location {
        &self.root
    }

    /// The root's directory, when the root is on this machine.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.root {
            Location::Local(path) => Some(path),
            Location::Object(_) => None,
        }
    }

    /// The local directory for staging, caches and logs (the root itself when it is local).
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// The transfer limits.
    pub fn limits(&self) -> TransferLimits {
        self.limits
    }

    /// Checks that the root can be written: an object root gets a probe object written and
    /// deleted, so that a missing bucket, missing credentials or a bucket that denies writes
    /// fail before anything runs.
    pub async fn check_writable(&self) -> Result<()> {
        match &self.root {
            Location::Local(path) => {
                std::fs::create_dir_all(path).map_err(|error| StorageError::io(path, error))
            }
            Location::Object(object) => {
                let store = client(object)?;
                let probe = object.child(".millrace-probe");
                let location = object_path(object, ".millrace-probe");
                store
                    .put_opts(
                        &location,
                        PutPayload::from_static(b"millrace write check\n"),
                        PutOptions::default(),
                    )
                    .await
                    .map_err(|error| StorageError::object("writing", probe.to_string(), &error))?;
                store
                    .delete_stream(futures::stream::iter([Ok(location)]).boxed())
                    .next()
                    .await
                    .transpose()
                    .map_err(|error| StorageError::object("deleting", probe.to_string(), &error))?;
                Ok(())
            }
        }
    }

    /// The URI of `parts` under the root (what the metadata store records), each part one
    /// segment ([`path_segment`]).
    pub fn uri<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> String {
        self.root.join(parts).to_string()
    }

    /// The path of artifact `uri` relative to the root (`chicago-taxi/trainer/model/12`), or
    /// `None` when it is not under the root. What a tracking server serves the root under.
    pub fn relative_path(&self, uri: &str) -> Option<String> {
        let root = self.root.to_string();
        let rest = uri.strip_prefix(root.trim_end_matches('/'))?;
        let rest = rest.strip_prefix('/')?;
        (!rest.is_empty() && !rest.split('/').any(|part| part == "..")).then(|| rest.to_owned())
    }

    /// A local directory for `parts` under the working directory, each part one segment
    /// ([`path_segment`]): whatever the parts, the directory is under the working directory.
    pub fn local_dir<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> PathBuf {
        let mut path = self.work_dir.clone();
        for part in parts {
            path.push(path_segment(part).as_ref());
        }
        path
    }

    /// Whether the artifact at `uri` is complete: its directory exists (local) or its manifest
    /// does (object store).
    pub async fn is_complete(&self, uri: &str) -> Result<bool> {
        match Location::parse(uri)? {
            Location::Local(path) => Ok(path.exists()),
            Location::Object(object) => {
                let store = client(&object)?;
                match store
                    .get_opts(
                        &object_path(&object, MANIFEST_NAME),
                        object_store::GetOptions {
                            head: true,
                            ..Default::default()
                        },
                    )
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(error) => Err(StorageError::object(
                        "reading",
                        object.child(MANIFEST_NAME).to_string(),
                        &error,
                    )),
                }
            }
        }
    }

    /// The local directory with the contents of the artifact at `uri`: the directory itself
    /// for a local URI; for an object URI, the verified local copy, downloaded first if the
    /// cache does not hold it. An object artifact without a manifest is refused
    /// ([`StorageError::Incomplete`]) unless `external` — an imported URI that Millrace did not
    /// write, whose objects are listed and fetched as they are.
    pub async fn materialise(&self, uri: &str, external: bool) -> Result<PathBuf> {
        let object = match Location::parse(uri)? {
            Location::Local(path) => return Ok(path),
            Location::Object(object) => object,
        };
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(locks.entry(uri.to_owned()).or_default())
        };
        let _held = lock.lock().await;
        let store = client(&object)?;
        let manifest = match read_manifest(&store, &object).await? {
            Some(manifest) => manifest,
            None if external => self.list_as_manifest(&store, &object).await?,
            None => {
                return Err(StorageError::Incomplete {
                    url: uri.to_owned(),
                    manifest: MANIFEST_NAME,
                });
            }
        };
        let target = self.cache_path(&object);
        let marker = self.marker_path(&object);
        if Verified::holds(&marker, &target, &manifest) {
            return Ok(target);
        }
        let partial = target.with_file_name(format!(
            "{}.partial-{}",
            target
                .file_name()
                .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
            std::process::id()
        ));
        remove_dir(&partial);
        std::fs::create_dir_all(&partial).map_err(|error| StorageError::io(&partial, error))?;
        let entries: Vec<_> = manifest.files.iter().collect();
        if let Err(error) =
            download_files(&store, &object, &manifest, &entries, &partial, self.limits).await
        {
            remove_dir(&partial);
            return Err(error);
        }
        remove_dir(&target);
        std::fs::rename(&partial, &target).map_err(|error| StorageError::io(&target, error))?;
        Verified::record(&marker, &target, &manifest)?;
        Ok(target)
    }

    /// A manifest for objects under `object` that Millrace did not write (no hashes checked).
    async fn list_as_manifest(
        &self,
        store: &Arc<dyn ObjectStore>,
        object: &ObjectLocation,
    ) -> Result<Manifest> {
        let prefix = object_path(object, "");
        let mut listing = store.list(Some(&prefix));
        let mut files = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta =
                meta.map_err(|error| StorageError::object("listing", object.to_string(), &error))?;
            let relative = meta
                .location
                .as_ref()
                .strip_prefix(prefix.as_ref())
                .unwrap_or(meta.location.as_ref())
                .trim_start_matches('/')
                .to_owned();
            files.push(crate::manifest::ManifestEntry {
                path: relative,
                size: meta.size,
                blake3: String::new(),
            });
        }
        if files.is_empty() {
            return Err(StorageError::Object {
                operation: "reading",
                url: object.to_string(),
                message: "no objects under this prefix".to_owned(),
                hint: String::new(),
            });
        }
        Ok(Manifest::new(files, Vec::new()))
    }

    /// Publishes the local directory `staged` as the artifact at `uri`. A local artifact is
    /// renamed into place; an object artifact is uploaded, manifest last, and `staged` becomes
    /// the local cache's verified copy (so readers in this process download nothing).
    pub async fn publish(&self, staged: &Path, uri: &str) -> Result<Published> {
        match Location::parse(uri)? {
            Location::Local(target) => {
                let (files, _) = walk(staged)?;
                let published = Published {
                    files: files.len(),
                    bytes: files.iter().map(|file| file.size).sum(),
                };
                remove_dir(&target);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|error| StorageError::io(parent, error))?;
                }
                std::fs::rename(staged, &target)
                    .map_err(|error| StorageError::io(&target, error))?;
                Ok(published)
            }
            Location::Object(object) => {
                let store = client(&object)?;
                let manifest = upload_dir(&store, &object, staged, self.limits).await?;
                let published = Published {
                    files: manifest.files.len(),
                    bytes: manifest.total_bytes(),
                };
                let target = self.cache_path(&object);
                remove_dir(&target);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|error| StorageError::io(parent, error))?;
                }
                if std::fs::rename(staged, &target).is_ok() {
                    Verified::record(&self.marker_path(&object), &target, &manifest)?;
                }
                Ok(published)
            }
        }
    }

    /// The URIs of what is stored `depth` levels under the root (`<pipeline>/<node>/<output>/
    /// <execution-id>` is 4), written the way [`ArtifactStorage::uri`] writes them: the
    /// directories at that depth of a local root, or the prefixes at that depth of an object
    /// root's objects (complete or not). Names starting with `.` — staging directories, logs,
    /// probes, manifests — are left out at every level. It reads the whole root: for
    /// maintenance (`doctor`), not for runs.
    pub async fn list_at_depth(&self, depth: usize) -> Result<Vec<String>> {
        let hidden = |name: &str| name.starts_with('.');
        match &self.root {
            Location::Local(root) => {
                let mut level = vec![root.clone()];
                for _ in 0..depth {
                    let mut next = Vec::new();
                    for dir in level {
                        let entries = match std::fs::read_dir(&dir) {
                            Ok(entries) => entries,
                            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                            Err(error) => return Err(StorageError::io(&dir, error)),
                        };
                        for entry in entries {
                            let entry = entry.map_err(|error| StorageError::io(&dir, error))?;
                            let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
                            if is_dir && !hidden(&entry.file_name().to_string_lossy()) {
                                next.push(entry.path());
                            }
                        }
                    }
                    level = next;
                }
                let mut uris: Vec<String> = level
                    .into_iter()
                    .map(|path| path.display().to_string())
                    .collect();
                uris.sort();
                Ok(uris)
            }
            Location::Object(object) => {
                let store = client(object)?;
                let prefix = object_path(object, "");
                let mut listing = store.list(Some(&prefix));
                let mut uris = std::collections::BTreeSet::new();
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(|error| {
                        StorageError::object("listing", object.to_string(), &error)
                    })?;
                    let key = meta.location.as_ref();
                    let relative = key
                        .strip_prefix(prefix.as_ref())
                        .unwrap_or(key)
                        .trim_start_matches('/');
                    let parts: Vec<&str> = relative.split('/').collect();
                    if parts.len() > depth && !parts[..depth].iter().any(|part| hidden(part)) {
                        uris.insert(format!("{object}/{}", parts[..depth].join("/")));
                    }
                }
                Ok(uris.into_iter().collect())
            }
        }
    }

    /// Removes the artifact at `uri`: a local directory, or every object under the prefix —
    /// the manifest first, so that a removal cut short never leaves a complete-looking
    /// artifact.
    pub async fn remove(&self, uri: &str) -> Result<()> {
        let object = match Location::parse(uri)? {
            Location::Local(path) => {
                let result = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                return match result {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        Err(StorageError::io(&path, error))
                    }
                    _ => Ok(()),
                };
            }
            Location::Object(object) => object,
        };
        let store = client(&object)?;
        let manifest = object_path(&object, MANIFEST_NAME);
        delete_all(&store, &object, vec![manifest]).await?;
        let prefix = object_path(&object, "");
        let mut listing = store.list(Some(&prefix));
        let mut keys = Vec::new();
        while let Some(meta) = listing.next().await {
            keys.push(
                meta.map_err(|error| StorageError::object("listing", object.to_string(), &error))?
                    .location,
            );
        }
        delete_all(&store, &object, keys).await?;
        remove_dir(&self.cache_path(&object));
        let _ = std::fs::remove_file(self.marker_path(&object));
        Ok(())
    }

    fn cache_path(&self, object: &ObjectLocation) -> PathBuf {
        let mut path = self
            .work_dir
            .join("objects")
            .join(object.scheme.as_str())
            .join(&object.bucket);
        for part in object.key.split('/').filter(|part| !part.is_empty()) {
            path.push(part);
        }
        path
    }

    fn marker_path(&self, object: &ObjectLocation) -> PathBuf {
        let name = blake3::hash(object.to_string().as_bytes()).to_hex();
        self.work_dir
            .join("objects")
            .join(".verified")
            .join(format!("{}.json", &name[..32]))
    }
}

async fn delete_all(
    store: &Arc<dyn ObjectStore>,
    object: &ObjectLocation,
    keys: Vec<object_store::path::Path>,
) -> Result<()> {
    let mut deleted = store.delete_stream(futures::stream::iter(keys.into_iter().map(Ok)).boxed());
    while let Some(result) = deleted.next().await {
        match result {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(StorageError::object("deleting", object.to_string(), &error)),
        }
    }
    Ok(())
}

fn remove_dir(path: &Path) {
    if path.exists() {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// What the local cache verified of a downloaded artifact: its manifest, and each file's size
/// and modification time when it was hashed. A copy whose files still have those is used
/// without hashing again (git's index does the same).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Verified {
    manifest: Manifest,
    stats: Vec<(String, u64, i128)>,
}

impl Verified {
    fn stats(dir: &Path, manifest: &Manifest) -> Option<Vec<(String, u64, i128)>> {
        manifest
            .files
            .iter()
            .map(|entry| {
                let metadata = std::fs::metadata(dir.join(&entry.path)).ok()?;
                let modified = metadata
                    .modified()
                    .ok()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_nanos();
                Some((entry.path.clone(), metadata.len(), modified as i128))
            })
            .collect()
    }

    /// Whether `dir` holds exactly `manifest`'s files, as last verified — or, when the stat
    /// cache is stale, as hashing them again shows.
    fn holds(marker: &Path, dir: &Path, manifest: &Manifest) -> bool {
        if !dir.is_dir() {
            return false;
        }
        let Some(stats) = Verified::stats(dir, manifest) else {
            return false;
        };
        let recorded: Option<Verified> = std::fs::read(marker)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if recorded
            .is_some_and(|recorded| &recorded.manifest == manifest && recorded.stats == stats)
        {
            return true;
        }
        let matches = manifest.files.iter().all(|entry| {
            let path = dir.join(&entry.path);
            std::fs::metadata(&path).is_ok_and(|metadata| metadata.len() == entry.size)
                && (entry.blake3.is_empty()
                    || hash_file(&path).is_ok_and(|hash| hash == entry.blake3))
        });
        if matches {
            let _ = Verified::record(marker, dir, manifest);
        }
        matches
    }

    fn record(marker: &Path, dir: &Path, manifest: &Manifest) -> Result<()> {
        let Some(stats) = Verified::stats(dir, manifest) else {
            return Ok(());
        };
        let verified = Verified {
            manifest: manifest.clone(),
            stats,
        };
        if let Some(parent) = marker.parent() {
            std::fs::create_dir_all(parent).map_err(|error| StorageError::io(parent, error))?;
        }
        let bytes = serde_json::to_vec(&verified).map_err(|error| StorageError::Manifest {
            url: marker.display().to_string(),
            message: error.to_string(),
        })?;
        std::fs::write(marker, bytes).map_err(|error| StorageError::io(marker, error))
    }
}
