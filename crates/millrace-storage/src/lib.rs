//! # millrace-storage
//!
//! Artifact roots: a local directory, or a prefix in Amazon S3 (and S3-compatible servers),
//! Google Cloud Storage or Azure Blob Storage, through the `object_store` crate. Components
//! always read and write local directories; [`ArtifactStorage`] stages inputs in and publishes
//! outputs:
//!
//! - [`ArtifactStorage::publish`] renames a local artifact into place, or uploads an object
//!   artifact's files (multipart, in parallel, memory bounded by [`TransferLimits`]) and writes
//!   its [`Manifest`] last — an artifact without its manifest is never read.
//! - [`ArtifactStorage::materialise`] gives the local directory of an artifact, downloading an
//!   object artifact into the local cache and verifying each file's size and BLAKE3 hash.
//! - [`ArtifactStorage::remove`] deletes an artifact (garbage collection), manifest first.
//!
//! Credentials come from each cloud's standard environment, never from a pipeline
//! ([`connect`] lists them).
//!
//! ```
//! use millrace_storage::ArtifactStorage;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let work = tempfile::tempdir().unwrap();
//! let storage = ArtifactStorage::open("memory://doc/root").unwrap().with_work_dir(work.path());
//! storage.check_writable().await.unwrap();
//!
//! // A component wrote a directory; publish it as an artifact.
//! let staged = work.path().join("staged");
//! std::fs::create_dir_all(staged.join("split")).unwrap();
//! std::fs::write(staged.join("split/data.csv"), "a,b\n1,2\n").unwrap();
//! let uri = storage.uri(["taxi", "gen", "examples", "1"]);
//! assert_eq!(uri, "memory://doc/root/taxi/gen/examples/1");
//! let published = storage.publish(&staged, &uri).await.unwrap();
//! assert_eq!((published.files, published.bytes), (1, 8));
//! assert!(storage.is_complete(&uri).await.unwrap());
//!
//! // A reader gets a local, verified copy.
//! let local = storage.materialise(&uri, false).await.unwrap();
//! assert_eq!(std::fs::read_to_string(local.join("split/data.csv")).unwrap(), "a,b\n1,2\n");
//!
//! storage.remove(&uri).await.unwrap();
//! assert!(!storage.is_complete(&uri).await.unwrap());
//! # });
//! ```

pub mod connect;
mod error;
pub mod inputs;
mod local_tree;
pub mod location;
pub mod manifest;
mod storage;
pub mod transfer;

pub use error::{Result, StorageError};
pub use location::{Location, ObjectLocation, Scheme};
pub use manifest::{MANIFEST_NAME, Manifest, ManifestEntry};
pub use storage::{ArtifactStorage, DEFAULT_WORK_DIR, Published};
pub use transfer::TransferLimits;
