//! Garbage collection: the files and objects of artifacts nobody will read again.
//!
//! Two kinds of artifact are garbage: those MARKED_FOR_DELETION (by pruning old runs, or by
//! hand), and those ABANDONED — outputs of attempts that failed, or that a crash cut short and
//! a resume or retry recovered (on an object store, such an artifact may hold some uploaded
//! objects and never its manifest). Each is removed from the artifact root — a local directory,
//! or every object under its prefix, manifest first — and marked DELETED. Only URIs under the
//! root are ever removed: an imported artifact's URI points at the user's own data.

use millrace_metadata::{ArtifactState, MetadataStore, NodeQuery};
use millrace_storage::ArtifactStorage;
use serde::Serialize;

use crate::error::Result;

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GarbageCollection {
    /// Artifacts removed and now DELETED: id and URI.
    pub removed: Vec<(i64, String)>,
    /// Artifacts that could not be removed (they keep their state): id, URI and why.
    pub failed: Vec<(i64, String, String)>,
    /// Garbage left alone because its URI is outside the artifact root: id and URI.
    pub outside_root: Vec<(i64, String)>,
}

/// Removes every garbage artifact under `storage`'s root and marks it DELETED.
pub async fn collect_garbage(
    store: &dyn MetadataStore,
    storage: &ArtifactStorage,
) -> Result<GarbageCollection> {
    let garbage = store
        .get_artifacts(&NodeQuery::all().states([
            ArtifactState::MarkedForDeletion.code(),
            ArtifactState::Abandoned.code(),
        ]))
        .await?;
    let root = storage.root().to_string();
    let mut collection = GarbageCollection::default();
    for artifact in garbage {
        let (Some(id), Some(uri)) = (artifact.id, artifact.uri) else {
            continue;
        };
        if !is_under(&uri, &root) {
            collection.outside_root.push((id, uri));
            continue;
        }
        match storage.remove(&uri).await {
            Ok(()) => collection.removed.push((id, uri)),
            Err(error) => collection.failed.push((id, uri, error.to_string())),
        }
    }
    let removed: Vec<i64> = collection.removed.iter().map(|(id, _)| *id).collect();
    store
        .set_artifact_states(&removed, ArtifactState::Deleted)
        .await?;
    Ok(collection)
}

/// Whether `uri` is `root` or under it.
fn is_under(uri: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    uri.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::is_under;

    #[test]
    fn only_uris_under_the_root_are_collected() {
        assert!(is_under("s3://b/root/p/n/o/1", "s3://b/root"));
        assert!(!is_under("s3://b/root2/p", "s3://b/root"));
        assert!(!is_under("/data/imported", "/work/artifacts"));
    }
}
