//! What a container sees of the host: the metadata store and the pipeline root at the paths the
//! host uses, so that every artifact URI recorded in a container is right on the host too.
//!
//! | host | in the container |
//! |---|---|
//! | the pipeline root (`--root`) | bind-mounted at the same absolute path; `MILLRACE_ROOT` names it |
//! | a `sqlite://FILE` store | the file's directory bind-mounted at the same absolute path; `MILLRACE_STORE` names the file by its absolute path |
//! | a `postgres://` store, an object store | reached over the host's network (`--network host`): nothing to mount |
//! | the working directory | bind-mounted at the same path and made the container's working directory, so relative paths in a pipeline (a CSV, a serving directory) mean what they mean locally |
//! | more directories (`--mount DIR`) | bind-mounted at the same path |
//!
//! A `memory://` store cannot be shared: [`ContainerError::StoreNotShared`].

use std::path::{Path, PathBuf};

use millrace_core::spec::validate::redact_secrets;

use crate::error::{ContainerError, Result};

/// The store, the root and the directories a container gets.
#[derive(Clone, PartialEq, Eq)]
pub struct HostAccess {
    store: String,
    root: String,
    mounts: Vec<PathBuf>,
    working_dir: Option<PathBuf>,
}

/// Shows the store without its password: the URL reaches containers through their
/// environment, never through a log line or a message.
impl std::fmt::Debug for HostAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostAccess")
            .field("store", &redact_secrets(&self.store))
            .field("root", &self.root)
            .field("mounts", &self.mounts)
            .field("working_dir", &self.working_dir)
            .finish()
    }
}

impl HostAccess {
    /// Access to the store at `store` (a URL) and the pipeline root `root`, with relative paths
    /// taken from the current directory.
    pub fn new(store: &str, root: &str) -> Result<HostAccess> {
        let store = store.trim();
        let mut mounts = Vec::new();
        let container_store = if let Some(rest) = store.strip_prefix("sqlite://") {
            let (path, options) = match rest.split_once('?') {
                Some((path, options)) => (path, format!("?{options}")),
                None => (rest, String::new()),
            };
            let file = absolute(Path::new(path))?;
            if let Some(dir) = file.parent() {
                mounts.push(dir.to_path_buf());
            }
            format!("sqlite://{}{options}", file.display())
        } else if store.starts_with("memory:") {
            return Err(ContainerError::StoreNotShared {
                store: store.to_owned(),
            });
        } else {
            store.to_owned()
        };
        let local_root = root.strip_prefix("file://").unwrap_or(root);
        let container_root = if local_root.contains("://") {
            root.to_owned()
        } else {
            let root = absolute(Path::new(local_root))?;
            mounts.push(root.clone());
            root.display().to_string()
        };
        Ok(HostAccess {
            store: container_store,
            root: container_root,
            mounts,
            working_dir: None,
        })
    }

    /// Also mounts `dir` at the same path.
    pub fn mount(mut self, dir: impl AsRef<Path>) -> Result<Self> {
        self.mounts.push(absolute(dir.as_ref())?);
        Ok(self)
    }

    /// Mounts `dir` at the same path and starts the containers in it (the host's `/` is never
    /// mounted: it would hide the image).
    pub fn working_dir(mut self, dir: impl AsRef<Path>) -> Result<Self> {
        let dir = absolute(dir.as_ref())?;
        if dir.parent().is_some() {
            self.mounts.push(dir.clone());
            self.working_dir = Some(dir);
        }
        Ok(self)
    }

    /// The store's URL as containers use it (`MILLRACE_STORE`).
    pub fn store(&self) -> &str {
        &self.store
    }

    /// The pipeline root as containers use it (`MILLRACE_ROOT`).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The directories mounted, sorted, each once; one inside another mounted directory is
    /// reached through it.
    pub fn mounts(&self) -> Vec<PathBuf> {
        let mut sorted = self.mounts.clone();
        sorted.sort();
        let mut kept: Vec<PathBuf> = Vec::new();
        for dir in sorted {
            if !kept.iter().any(|outer| dir.starts_with(outer)) {
                kept.push(dir);
            }
        }
        kept
    }

    /// The containers' working directory, if one was given.
    pub fn container_working_dir(&self) -> Option<&Path> {
        self.working_dir.as_deref()
    }

    /// Creates the mounted directories that do not exist yet (an engine refuses to mount a
    /// missing one): the root and the store's directory are created by the first run anyway.
    pub fn create_mounted_dirs(&self) -> Result<()> {
        for dir in self.mounts() {
            std::fs::create_dir_all(&dir).map_err(|source| ContainerError::io(&dir, source))?;
        }
        Ok(())
    }

    /// The engine's arguments for the mounts and the working directory.
    pub fn arguments(&self) -> Vec<String> {
        let mut arguments = Vec::new();
        for dir in self.mounts() {
            arguments.push("--volume".to_owned());
            arguments.push(format!("{0}:{0}", dir.display()));
        }
        if let Some(dir) = &self.working_dir {
            arguments.push("--workdir".to_owned());
            arguments.push(dir.display().to_string());
        }
        arguments
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|source| ContainerError::io(path, source))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_sqlite_store_s_directory_and_the_root_are_mounted_at_their_own_paths() {
        let access = HostAccess::new(
            "sqlite:///data/meta/store.sqlite?journal=wal",
            "/data/artifacts",
        )
        .unwrap();
        assert_eq!(
            access.store(),
            "sqlite:///data/meta/store.sqlite?journal=wal"
        );
        assert_eq!(access.root(), "/data/artifacts");
        assert_eq!(
            access.arguments(),
            [
                "--volume",
                "/data/artifacts:/data/artifacts",
                "--volume",
                "/data/meta:/data/meta"
            ]
        );
    }

    #[test]
    fn relative_paths_become_absolute_from_the_current_directory() {
        let access =
            HostAccess::new("sqlite://.millrace/metadata.sqlite", ".millrace/artifacts").unwrap();
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            access.store(),
            format!(
                "sqlite://{}",
                here.join(".millrace/metadata.sqlite").display()
            )
        );
        assert_eq!(
            access.mounts(),
            [here.join(".millrace")],
            "the root lies inside the store's directory: one mount reaches both"
        );
    }

    #[test]
    fn a_server_store_is_reached_over_the_network_and_not_mounted() {
        let access =
            HostAccess::new("postgres://millrace@127.0.0.1:5432/mlmd", "/srv/root").unwrap();
        assert_eq!(access.store(), "postgres://millrace@127.0.0.1:5432/mlmd");
        let secret = HostAccess::new("postgresql://u:s3cret@db/mlmd", "/srv/root").unwrap();
        assert_eq!(
            secret.store(),
            "postgresql://u:s3cret@db/mlmd",
            "containers get it all"
        );
        let shown = format!("{secret:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(access.mounts(), [PathBuf::from("/srv/root")]);
    }

    #[test]
    fn an_in_memory_store_cannot_be_shared() {
        assert!(matches!(
            HostAccess::new("memory://", "/srv/root"),
            Err(ContainerError::StoreNotShared { .. })
        ));
    }

    #[test]
    fn the_working_directory_is_mounted_and_used_but_never_the_host_s_root() {
        let access = HostAccess::new("postgres://h/db", "/work/run/artifacts")
            .unwrap()
            .working_dir("/work/run")
            .unwrap()
            .mount("/data/taxi")
            .unwrap();
        assert_eq!(
            access.arguments(),
            [
                "--volume",
                "/data/taxi:/data/taxi",
                "--volume",
                "/work/run:/work/run",
                "--workdir",
                "/work/run"
            ]
        );
        let at_root = HostAccess::new("postgres://h/db", "/work/run/artifacts")
            .unwrap()
            .working_dir("/")
            .unwrap();
        assert_eq!(at_root.container_working_dir(), None);
    }
}
