//! Objects Millrace did not write — the input files an example generator ingests from a bucket
//! (`s3://bucket/trips/span-{SPAN}/*.csv`): listed under a prefix, and fetched one by one to a
//! local file. No manifest is involved: these are the user's objects, read as they are.
//!
//! ```no_run
//! use millrace_storage::{Location, inputs};
//!
//! # async fn example() -> millrace_storage::Result<()> {
//! let Location::Object(prefix) = Location::parse("s3://bucket/trips")? else { unreachable!() };
//! for object in inputs::list_objects(&prefix).await? {
//!     println!("{} ({} bytes)", object.key, object.size);
//! }
//! # Ok(()) }
//! ```

use std::path::Path;

use futures::StreamExt;
use object_store::ObjectStore;

use crate::connect::client;
use crate::error::{Result, StorageError};
use crate::location::ObjectLocation;
use crate::transfer::object_path;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Its key in the bucket (`trips/span-3/data.csv`).
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, in milliseconds since the epoch.
    pub modified_ms: i64,
}

/// Every object under `prefix` (its key and everything below), sorted by key.
pub async fn list_objects(prefix: &ObjectLocation) -> Result<Vec<ObjectEntry>> {
    let store = client(prefix)?;
    let path = object_path(prefix, "");
    let mut listing = store.list(Some(&path));
    let mut objects = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta =
            meta.map_err(|error| StorageError::object("listing", prefix.to_string(), &error))?;
        objects.push(ObjectEntry {
            key: meta.location.as_ref().to_owned(),
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
        });
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(objects)
}

/// Fetches the object `key` of `bucket`'s store into the local file `to` (its directory is
/// made).
pub async fn fetch_object(bucket: &ObjectLocation, key: &str, to: &Path) -> Result<()> {
    let store = client(bucket)?;
    let location = ObjectLocation {
        scheme: bucket.scheme,
        bucket: bucket.bucket.clone(),
        key: key.to_owned(),
    };
    let path = object_path(&location, "");
    let bytes = store
        .get_opts(&path, object_store::GetOptions::default())
        .await
        .map_err(|error| StorageError::object("reading", location.to_string(), &error))?
        .bytes()
        .await
        .map_err(|error| StorageError::object("reading", location.to_string(), &error))?;
    if let Some(dir) = to.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| StorageError::io(dir, source))?;
    }
    tokio::fs::write(to, &bytes)
        .await
        .map_err(|source| StorageError::io(to, source))
}
