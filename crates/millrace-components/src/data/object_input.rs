//! Example generators' inputs in an object store: `s3://bucket/trips/span-{SPAN}/*.csv` (or
//! `gs://`, `az://`). The pattern's literal prefix is listed (`trips/`), the keys are selected
//! as files are ([`millrace_tabular::input_pattern::select_keys`]: the newest span in its newest
//! version, keys under `.`-names unseen), and the selected objects are fetched to a local
//! directory that is removed after ingestion. Credentials and endpoints come from the store's
//! usual environment, as for artifact roots.
//!
//! The components' cache fingerprint and watched input are synchronous; on an object store
//! they list on the running Tokio runtime (multi-threaded, as every pipeline binary's is) or
//! on one of their own when there is none.

use std::future::Future;
use std::path::PathBuf;

use millrace_core::{ComponentError, DataSpan, WatchedInput};
use millrace_storage::inputs::{ObjectEntry, fetch_object, list_objects};
use millrace_storage::{Location, ObjectLocation};

use crate::data::example_gen::span_key;
use crate::data::input_pattern::{SelectedFiles, SpanSelection, literal_prefix, select_keys};

/// The bucket and the key pattern of an object-store input, or `None` for a local one.
pub(crate) fn object_input(input: &str) -> Option<(ObjectLocation, String)> {
    match Location::parse(input).ok()? {
        Location::Object(location) => {
            let pattern = location.key.clone();
            let bucket = ObjectLocation {
                key: String::new(),
                ..location
            };
            Some((bucket, pattern))
        }
        Location::Local(_) => None,
    }
}

/// The listing under the pattern's literal prefix, and the keys the pattern selects.
pub(crate) async fn select_objects(
    bucket: &ObjectLocation,
    pattern: &str,
    selection: SpanSelection,
) -> Result<(SelectedFiles, Vec<ObjectEntry>), ComponentError> {
    let prefix = bucket.child(&literal_prefix(pattern));
    let listing = list_objects(&prefix).await?;
    let selected = select_keys(
        pattern,
        listing.iter().map(|object| object.key.as_str()),
        selection,
    )?;
    Ok((selected, listing))
}

/// A local directory removed when dropped: where fetched inputs wait to be ingested.
pub(crate) struct FetchedInputs {
    dir: PathBuf,
    /// The local copies, in the order of the selected keys.
    pub(crate) files: Vec<PathBuf>,
}

impl Drop for FetchedInputs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Fetches the selected keys of `bucket` into a fresh local directory.
pub(crate) async fn fetch_selected(
    bucket: &ObjectLocation,
    selected: &SelectedFiles,
) -> Result<FetchedInputs, ComponentError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let dir = std::env::temp_dir().join(format!("millrace-inputs-{}-{nanos}", std::process::id()));
    let mut fetched = FetchedInputs {
        dir: dir.clone(),
        files: Vec::with_capacity(selected.files.len()),
    };
    for key in &selected.files {
        let key = key.to_string_lossy();
        let local = dir.join(key.as_ref());
        fetch_object(bucket, &key, &local).await?;
        fetched.files.push(local);
    }
    Ok(fetched)
}

/// The fingerprint parts of the selected objects: key, size and modification time.
pub(crate) fn described(
    selected: &SelectedFiles,
    listing: &[ObjectEntry],
) -> Vec<serde_json::Value> {
    selected
        .files
        .iter()
        .filter_map(|key| {
            let key = key.to_string_lossy();
            listing.iter().find(|object| object.key == key)
        })
        .map(|object| serde_json::json!([object.key, object.size, object.modified_ms.to_string()]))
        .collect()
}

/// What a data trigger sees of an object-store input: the newest span, keyed as for local
/// files, with its objects' count, size and latest modification.
pub(crate) fn watched(
    input: &str,
    bucket: &ObjectLocation,
    pattern: &str,
) -> Result<WatchedInput, ComponentError> {
    let found = blocking(select_objects(bucket, pattern, SpanSelection::Latest))?;
    let latest = match found {
        Err(error) if is_no_input(&error) => None,
        Err(error) => return Err(error),
        Ok((selected, listing)) => {
            let objects: Vec<&ObjectEntry> = selected
                .files
                .iter()
                .filter_map(|key| {
                    let key = key.to_string_lossy();
                    listing.iter().find(|object| object.key == key)
                })
                .collect();
            let key = span_key(pattern, &selected, || {
                let described = described(&selected, &listing);
                Ok(millrace_core::Fingerprint::of_value(&serde_json::json!(described)).to_hex())
            })?;
            Some(DataSpan {
                key,
                files: objects.len(),
                bytes: objects.iter().map(|object| object.size).sum(),
                modified_ms: objects
                    .iter()
                    .map(|object| object.modified_ms)
                    .max()
                    .unwrap_or(0),
            })
        }
    };
    Ok(WatchedInput {
        pattern: input.to_owned(),
        latest,
    })
}

/// Whether `error` says no input matched (as opposed to a failure to list).
pub(crate) fn is_no_input(error: &ComponentError) -> bool {
    error
        .source_error()
        .downcast_ref::<crate::DataError>()
        .is_some_and(|error| matches!(error, crate::DataError::NoInputFiles { .. }))
}

/// Runs `future` to its end from synchronous code: on the current multi-threaded runtime
/// (without blocking its other tasks), or on a runtime of its own when there is none.
pub(crate) fn blocking<F: Future>(future: F) -> Result<F::Output, ComponentError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => Err(ComponentError::new(
                "an object-store input is listed on a multi-threaded Tokio runtime; this one is single-threaded (use #[tokio::main] or flavor = \"multi_thread\")",
            )),
            _ => Ok(tokio::task::block_in_place(|| handle.block_on(future))),
        },
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(future))
            .map_err(ComponentError::from),
    }
}
