//! Where an artifact is: a local path or an object in a bucket, parsed from a root or a URI.
//!
//! Roots and artifact URIs are written the way each cloud's own tools write them, and the way
//! TFX records them in ML-Metadata: `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix` (also `azure://`), and `memory://name/prefix` for tests and examples
//! (one in-memory store per process). Anything else is a local path, with or without `file://`.
//! A string that looks like a URL of another scheme is refused rather than taken for a
//! directory whose name ends in a colon, and so is a URL with a password in it
//! (`s3://KEY:SECRET@bucket`): credentials come from the environment ([`crate::connect`]),
//! and a root is written into every artifact's URI.
//!
//! Parts joined under a location are single segments: [`path_segment`] spells a part that is
//! not one (empty, `.`, `..`, or holding a separator or NUL) so that it stays where it is put.
//!
//! ```
//! use millrace_storage::Location;
//!
//! let root = Location::parse("s3://models/prod").unwrap();
//! assert_eq!(root.join(["taxi", "trainer", "model", "7"]).to_string(), "s3://models/prod/taxi/trainer/model/7");
//! assert!(Location::parse("./artifacts").unwrap().is_local());
//! assert!(Location::parse("s4://typo/x").is_err());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use millrace_core::spec::validate::{holds_secret, redact_secrets};

use crate::error::{Result, StorageError};

/// `part` as exactly one segment of a path or an object key: unchanged when it is one already;
/// otherwise `%`, `/`, `\`, NUL and control characters are percent-encoded, and an empty, `.`
/// or `..` part is spelled `%`, `%2E`, `%2E%2E`. Whatever it is given, a part joined with it
/// never climbs out of the directory or prefix it is joined to, never replaces it (an
/// absolute path), and two different parts never meet in one segment.
///
/// ```
/// use millrace_storage::location::path_segment;
///
/// assert_eq!(path_segment("trainer"), "trainer");
/// assert_eq!(path_segment(".."), "%2E%2E");
/// assert_eq!(path_segment("/etc/passwd"), "%2Fetc%2Fpasswd");
/// ```
pub fn path_segment(part: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| matches!(c, '%' | '/' | '\\') || c.is_control();
    match part {
        "" => Cow::Borrowed("%"),
        "." => Cow::Borrowed("%2E"),
        ".." => Cow::Borrowed("%2E%2E"),
        _ if !part.contains(unsafe_char) => Cow::Borrowed(part),
        _ => {
            let mut spelled = String::with_capacity(part.len() + 8);
            for c in part.chars() {
                if unsafe_char(c) {
                    let mut bytes = [0; 4];
                    for byte in c.encode_utf8(&mut bytes).bytes() {
                        spelled.push_str(&format!("%{byte:02X}"));
                    }
                } else {
                    spelled.push(c);
                }
            }
            Cow::Owned(spelled)
        }
    }
}

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
            uri: redact_secrets(text).into_owned(),
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
        if holds_secret(text) {
            return Err(invalid(
                "credentials cannot be part of an artifact location (every artifact's URI would \
                 hold them): give them through the environment, e.g. AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY",
            ));
        }
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

    /// The location of `parts` under this one, each part one segment ([`path_segment`]).
    pub fn join<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> Location {
        match self {
            Location::Local(path) => {
                let mut path = path.clone();
                for part in parts {
                    path.push(path_segment(part).as_ref());
                }
                Location::Local(path)
            }
            Location::Object(object) => {
                let mut object = object.clone();
                for part in parts {
                    object = object.child(&path_segment(part));
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

    #[test]
    fn a_url_with_credentials_is_refused_without_repeating_them() {
        for text in ["s3://AKIA:s3cret@bucket/root", "gs://u:s3cret@b/r?x=1"] {
            match Location::parse(text) {
                Err(StorageError::InvalidUri { uri, reason }) => {
                    assert!(!uri.contains("s3cret"), "{uri}");
                    assert!(reason.contains("environment"), "{reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        // Azure's `container@account` names no credential.
        assert!(Location::parse("abfs://c@acct.dfs.core.windows.net/p").is_ok());
    }

    #[test]
    fn joined_parts_never_leave_the_location() {
        let root = Location::parse("/srv/root").unwrap();
        for part in ["..", ".", "", "/etc", "a/../../b", "x\0y", "%2E%2E"] {
            let Location::Local(path) = root.join([part, "1"]) else {
                panic!("a local root joins to a local path");
            };
            assert_eq!(
                path.parent().and_then(Path::parent),
                Some(Path::new("/srv/root"))
            );
            assert!(
                path.components()
                    .all(|c| !matches!(c, std::path::Component::ParentDir))
            );
        }
        let bucket = Location::parse("s3://b/root").unwrap();
        assert_eq!(
            bucket.join(["..", "a/b"]).to_string(),
            "s3://b/root/%2E%2E/a%2Fb"
        );
    }
}
