//! The manifest of an artifact on an object store: the last object written, listing every file
//! with its size and BLAKE3 hash.
//!
//! Object stores have no directories and no atomic rename, so an artifact cannot be moved into
//! place the way a local one is. Its files are uploaded first, in any order and in parallel;
//! the manifest `.millrace-manifest.json` is written last, with one PUT. An artifact without
//! its manifest is incomplete, whatever objects it has, and is never read; the metadata store
//! marks it LIVE only after the manifest is written. Readers verify each file against it.
//!
//! ```json
//! {"format": "millrace.manifest/1", "files": [
//!   {"path": "Split-train/data.parquet", "size": 1048576, "blake3": "9f1c…"}]}
//! ```

use serde::{Deserialize, Serialize};

/// The manifest's object name, under the artifact's prefix.
pub const MANIFEST_NAME: &str = ".millrace-manifest.json";

/// The format tag of manifests this version writes.
pub const MANIFEST_FORMAT: &str = "millrace.manifest/1";

/// Every file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The files, by path relative to the artifact, sorted.
    pub files: Vec<ManifestEntry>,
    /// Directories with no files, relative to the artifact (object stores keep none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_dirs: Vec<String>,
}

/// One file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The path relative to the artifact, with `/` separators.
    pub path: String,
    /// The size in bytes.
    pub size: u64,
    /// The BLAKE3 hash of the contents, hex.
    pub blake3: String,
}

impl Manifest {
    /// A manifest of these files (sorted by path).
    pub fn new(mut files: Vec<ManifestEntry>, mut empty_dirs: Vec<String>) -> Manifest {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        empty_dirs.sort();
        Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            files,
            empty_dirs,
        }
    }

    /// The total size of the files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }
}
