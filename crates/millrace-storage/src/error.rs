//! The one error type of the crate.

use std::path::PathBuf;

use millrace_core::spec::validate::redact_secrets;

/// What went wrong with an artifact root or a transfer. Every variant names the URL or path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The root or URI is not one Millrace can write to.
    #[error("`{uri}` is not a usable artifact location: {reason}")]
    InvalidUri {
        /// What was given.
        uri: String,
        /// Why it cannot be used, and what would work.
        reason: String,
    },
    /// The object store could not be configured from the environment (a missing account name,
    /// an unreadable service-account file).
    #[error("cannot configure the object store for `{url}`: {message}")]
    Configure {
        /// The root or URI.
        url: String,
        /// What the object store client said.
        message: String,
    },
    /// A request to the object store failed.
    #[error("{operation} `{url}` failed: {message}{hint}")]
    Object {
        /// What was being done ("uploading", "reading", "deleting").
        operation: &'static str,
        /// The object's URL.
        url: String,
        /// What the object store said.
        message: String,
        /// What to check, when the cause is recognisable (credentials, permissions, network).
        hint: String,
    },
    /// An artifact on an object store has no manifest: it was never completely written.
    #[error(
        "artifact `{url}` has no manifest ({manifest}): its upload never finished, so it cannot be \
         read; rerun the node that produced it"
    )]
    Incomplete {
        /// The artifact's URI.
        url: String,
        /// The manifest object's name.
        manifest: &'static str,
    },
    /// A file did not match its manifest after it was downloaded.
    #[error(
        "`{url}` does not match its manifest ({expected}, got {actual}): the object changed \
         after the artifact was written"
    )]
    Corrupt {
        /// The object's URL.
        url: String,
        /// What the manifest says.
        expected: String,
        /// What was read.
        actual: String,
    },
    /// A manifest could not be read.
    #[error("the manifest of `{url}` is not valid: {message}")]
    Manifest {
        /// The artifact's URI.
        url: String,
        /// Why.
        message: String,
    },
    /// A staged artifact holds what cannot be published: a symbolic link leading out of it
    /// (or nowhere), or something other than files, directories and links (a FIFO, a socket,
    /// a device). Publishing it would read or expose what is outside the artifact, or block.
    #[error(
        "`{path}` {reason}: an artifact may hold only files, directories and links that stay \
         inside it, so it was not published"
    )]
    UnsafeEntry {
        /// The link or file, in the staged directory.
        path: PathBuf,
        /// What it is (`is a symbolic link to `/etc/passwd`, outside the artifact`).
        reason: String,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl StorageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.into(),
            source,
        }
    }

    /// A failed object request, with a hint when the cause is recognisable.
    pub(crate) fn object(
        operation: &'static str,
        url: impl Into<String>,
        error: &object_store::Error,
    ) -> Self {
        // A request's URL may carry a signature or a SAS token.
        let message = redact_secrets(&error_chain(error)).into_owned();
        let lower = message.to_ascii_lowercase();
        let hint = if lower.contains("credential")
            || lower.contains("token")
            || lower.contains("invalidaccesskeyid")
            || lower.contains("signaturedoesnotmatch")
        {
            " (check the credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
             GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT_KEY, or the machine's role)"
        } else if lower.contains("accessdenied")
            || lower.contains("forbidden")
            // The status, not any "403" (a port such as 40325 in the request's URL).
            || lower.contains("code: 403")
        {
            " (the credentials are not allowed to do this: check the bucket's policy)"
        } else if lower.contains("nosuchbucket")
            || lower.contains("bucket does not exist")
            || lower.contains("containernotfound")
            || (matches!(error, object_store::Error::NotFound { .. }) && is_write(operation))
        {
            " (the bucket or container does not exist: create it or fix the root)"
        } else if lower.contains("connect") || lower.contains("dns") || lower.contains("timed out")
        {
            " (the object store is unreachable: check the endpoint, e.g. AWS_ENDPOINT_URL, and \
             the network)"
        } else {
            ""
        };
        StorageError::Object {
            operation,
            url: url.into(),
            message,
            hint: hint.to_owned(),
        }
    }
}

/// An error with its sources, one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The crate's result.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Whether `operation` writes (a write answered "not found" means the bucket is missing).
fn is_write(operation: &str) -> bool {
    operation.starts_with("writing")
        || operation.starts_with("uploading")
        || operation.starts_with("starting the upload")
}

#[cfg(test)]
mod tests {
    use super::StorageError;

    fn hint_of(error: &object_store::Error, operation: &'static str) -> String {
        match StorageError::object(operation, "gs://no-such-bucket/root", error) {
            StorageError::Object { hint, .. } => hint,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_port_with_403_in_it_is_not_read_as_a_forbidden_status() {
        let missing = object_store::Error::NotFound {
            path: "root/.millrace-probe".to_owned(),
            source: "Error performing PUT http://127.0.0.1:40325/no-such-bucket/root in 1.6ms - Server returned non-2xx status code: 404 Not Found".into(),
        };
        assert!(
            hint_of(&missing, "writing").contains("does not exist"),
            "{}",
            hint_of(&missing, "writing")
        );
        let forbidden = object_store::Error::Generic {
            store: "S3",
            source: "Server returned non-2xx status code: 403 Forbidden".into(),
        };
        assert!(hint_of(&forbidden, "writing").contains("not allowed"));
    }
}
