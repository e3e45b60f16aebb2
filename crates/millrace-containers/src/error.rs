//! The error type of `millrace-containers`.

use std::path::PathBuf;

/// What can go wrong building images or running nodes in containers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// Neither podman nor docker is installed.
    #[error(
        "no container engine: neither `podman` nor `docker` is on PATH; install podman \
         (preferred) or docker, or name one with {variable}=PROGRAM"
    )]
    NoEngine {
        /// The variable that names an engine explicitly.
        variable: &'static str,
    },
    /// The engine named by `MILLRACE_CONTAINER_ENGINE` is not there.
    #[error("{variable}={program}: no such program on PATH")]
    EngineNotFound {
        /// The variable.
        variable: &'static str,
        /// What it named.
        program: String,
    },
    /// The engine could not be started at all.
    #[error("cannot start `{engine} {action}`: {source}")]
    EngineStart {
        /// The engine's program.
        engine: String,
        /// What it was asked (`build`, `image inspect`, ...).
        action: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The engine ran and refused.
    #[error("`{engine} {action}` failed ({status}): {stderr}")]
    EngineFailed {
        /// The engine.
        engine: String,
        /// What it was asked.
        action: &'static str,
        /// Its exit status.
        status: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// Building an image failed.
    #[error("`{engine} build` of image {tag} failed ({status}); its last lines:\n{output_tail}")]
    BuildFailed {
        /// The engine.
        engine: String,
        /// The image's tag.
        tag: String,
        /// The build's exit status.
        status: String,
        /// The last lines the build printed.
        output_tail: String,
    },
    /// The image to run does not exist in the engine.
    #[error(
        "image {image} is not built ({engine} has no such image, and containers run with \
         --pull never): build it with `image build --tag {image}`"
    )]
    ImageNotBuilt {
        /// The engine.
        engine: String,
        /// The image.
        image: String,
    },
    /// The host's C library version could not be read, so no base image can be chosen.
    #[error(
        "cannot tell which glibc this machine has ({reason}); choose a base image with --base IMAGE"
    )]
    HostLibc {
        /// What was tried.
        reason: String,
    },
    /// No known Debian release has the host's glibc (or newer).
    #[error(
        "no known Debian release has glibc {version} or newer, which binaries built here need; \
         choose a base image with --base IMAGE"
    )]
    NoBaseForLibc {
        /// The host's glibc.
        version: String,
    },
    /// The store lives in the process that opened it; containers cannot share it.
    #[error(
        "the metadata store {store} cannot be shared with containers: use sqlite://FILE or a \
         server (postgres://...)"
    )]
    StoreNotShared {
        /// The store's URL.
        store: String,
    },
    /// A file or directory could not be read, written or created.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The pipeline's nodes could not be inspected.
    #[error(transparent)]
    Pipeline(#[from] millrace_core::Error),
}

impl ContainerError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ContainerError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error is about how the command was asked (an image that is not built, a store
    /// containers cannot share) rather than about the machine: command lines exit with 2.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ContainerError::ImageNotBuilt { .. }
                | ContainerError::StoreNotShared { .. }
                | ContainerError::Pipeline(_)
        )
    }
}

/// The result type of `millrace-containers`.
pub type Result<T, E = ContainerError> = std::result::Result<T, E>;
