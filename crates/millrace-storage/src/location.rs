//! Where an artifact is: a local path or an object in a bucket, parsed from a root or a URI.
//!
//! Roots and artifact URIs are written the way each cloud's own tools write them, and the way
//! TFX records them in ML-Metadata: `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix` (also `azure://`), and `memory://name/prefix` for tests and examples
//! (one in-memory store per process). Anything else is a local path, with or without `file://`.
//! A string that looks like a URL of another scheme is refused rather than taken for a
//! directory whose name ends in a colon.
//!
//! ```
//! use millrace_storage::Location;
//!
//! let root = Location::parse("s3://models/prod").unwrap();
//! assert_eq!(root.join(["taxi", "trainer", "model", "7"]).to_string(), "s3://models/prod/taxi/trainer/model/7");
//! assert!(Location::parse("./artifacts").unwrap().is_local());
//! assert!(Location::parse("s4://typo/x").is_err());
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};

/// The object stores Millrace speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Amazon S3 and S3-compatible servers (`s3://`).
    S3,
    /// Google Cloud Storage (`gs://`).
    Gcs,
    /// Azure Blob Storage (`az://`, `azure://`).
    Azure,
    /// A process-wide in-memory store (`memory://`), for tests and examples.
    Memory,
}

impl Scheme {
    /// The scheme as URIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
            Scheme::Memory => "memory",
        }
    }

    fn parse(scheme: &str) -> Option<Scheme> {
        match scheme {
            "s3" | "s3a" => Some(Scheme::S3),
            "gs" => Some(Scheme::Gcs),
            "az" | "azure" | "abfs" | "abfss" => Some(Scheme::Azure),
            "memory" => Some(Scheme::Memory),
            _ => None,
        }
    }
}

/// An object in (or a prefix of) a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectLocation {
    /// Which store.
    pub scheme: Scheme,
    /// The bucket (S3, Cloud Storage), container (Azure) or in-memory store's name.
    pub bucket: String,
    /// The key within the bucket, without leading or trailing `/` (empty for the bucket).
    pub key: String,
}

impl ObjectLocation {
    /// The location of `part` under this one.
    pub fn child(&self, part: &str) -> ObjectLocation {
        let part = part.trim_matches('/');
        let key = match (self.key.is_empty(), part.is_empty()) {
            (_, true) => self.key.clone(),
            (true, false) => part.to_owned(),
            (false, false) => format!("{}/{part}", self.key),
        };
        ObjectLocation {
            key,
            ..self.clone()
        }
    }
}

impl fmt::Display for ObjectLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}://{}", self.scheme.as_str(), self.bucket)
        } else {
            write!(f, "{}://{}/{}", self.scheme.as_str(), self.bucket, self.key)
        }
    }
}

/// A local path or an object location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// A path on this machine.
    Local(PathBuf),
    /// A location in an object store.
    Object(ObjectLocation),
}

impl Location {
    /// Parses a root or an artifact URI.
    pub fn parse(text: &str) -> Result<Location> {
        let invalid = |reason: &str| StorageError::InvalidUri {
            uri: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Location::Local(PathBuf::from(path)));
        }
        let Some((scheme, rest)) = split_scheme(text) else {
            return Ok(Location::Local(PathBuf::from(text)));
        };
        let Some(rest) = rest.strip_prefix("//") else {
            return Err(invalid(&format!(
                "a URL needs `{scheme}://` (two slashes); a local path cannot start with `{scheme}:`"
            )));
        };
        let Some(scheme) = Scheme::parse(scheme) else {
            return Err(invalid(&format!(
                "`{scheme}://` is not a supported store; use s3://, gs://, az://, memory://, \
                 file:// or a local path"
            )));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        // Azure's `abfs://container@account.dfs.core.windows.net/path` names the container first.
        let bucket = bucket.split('@').next().unwrap_or(bucket);
        if bucket.is_empty() {
            return Err(invalid("it names no bucket"));
        }
        let key = key.trim_matches('/');
        if key.split('/').any(|part| part == "." || part == "..") {
            return Err(invalid("object keys cannot contain `.` or `..` segments"));
        }
        Ok(Location::Object(ObjectLocation {
            scheme,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }))
    }

    /// Whether this is a local path.
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }

    /// The local path, if this is one.
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            Location::Local(path) => Some(path),
            Location::Object(_) => None,
        }
    }

    /// The location of `parts` under this one.
    pub fn join<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> Location {
        match self {
            Location::Local(path) => {
                let mut path = path.clone();
                for part in parts {
                    path.push(part);
                }
                Location::Local(path)
            }
            Location::Object(object) => {
                let mut object = object.clone();
                for part in parts {
                    object = object.child(part);
                }
                Location::Object(object)
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Object(object) => write!(f, "{object}"),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::Local(path)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Location::Local(path.to_owned())
    }
}

/// `scheme` and what follows `scheme:`, when `text` starts with a URL scheme (letters, then
/// letters, digits, `+`, `-`, `.`), at least two characters so that `C:\` stays a path.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = scheme.len() >= 2
        && first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cloud_urls_parse_into_bucket_and_key() {
        let s3 = Location::parse("s3://bucket/a/b/").unwrap();
        assert_eq!(s3.to_string(), "s3://bucket/a/b");
        let gs = Location::parse("gs://b").unwrap();
        assert_eq!(gs.join(["x"]).to_string(), "gs://b/x");
        let az = Location::parse("abfs://container@acct.dfs.core.windows.net/p").unwrap();
        assert_eq!(az.to_string(), "az://container/p");
    }

    #[test]
    fn paths_stay_paths_and_lookalike_urls_are_refused() {
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap(),
            Location::Local(PathBuf::from("/tmp/x"))
        );
        assert!(Location::parse("relative/dir").unwrap().is_local());
        assert!(Location::parse("s3:bucket/x").is_err(), "one slash short");
        assert!(Location::parse("ftp://host/x").is_err());
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("s3://b/../x").is_err());
    }
}
