//! The container engine: podman or docker, whichever is installed (podman preferred).
//!
//! Nothing here knows a machine's quirks. Podman reads its runtime, cgroup manager and default
//! ulimits from `containers.conf` (`CONTAINERS_CONF` names one); a machine that needs
//! `runtime = "runc"` says so there, not in Millrace.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{ContainerError, Result};

/// The environment variable that names the engine explicitly (a program on `PATH` or a path),
/// overriding the search for podman, then docker.
pub const ENGINE_VARIABLE: &str = "MILLRACE_CONTAINER_ENGINE";

/// Which engine a program is: the two speak the same command line, with a few differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Podman (daemonless; rootful or rootless).
    Podman,
    /// Docker (or a docker-compatible CLI talking to a daemon).
    Docker,
}

/// A container engine's command-line program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    kind: EngineKind,
    program: PathBuf,
}

impl Engine {
    /// An engine of `kind` run as `program`.
    pub fn new(kind: EngineKind, program: impl Into<PathBuf>) -> Self {
        Engine {
            kind,
            program: program.into(),
        }
    }

    /// The engine to use: the one [`ENGINE_VARIABLE`] names, else podman, else docker, from
    /// `PATH`.
    pub fn detect() -> Result<Engine> {
        let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        match std::env::var(ENGINE_VARIABLE) {
            Ok(program) if !program.trim().is_empty() => Engine::named(program.trim(), &path_dirs),
            _ => Engine::detect_in(&path_dirs),
        }
    }

    /// Podman if one of `dirs` holds it, else docker.
    pub fn detect_in(dirs: &[PathBuf]) -> Result<Engine> {
        for (kind, name) in [
            (EngineKind::Podman, "podman"),
            (EngineKind::Docker, "docker"),
        ] {
            if let Some(program) = find_program(name, dirs) {
                return Ok(Engine::new(kind, program));
            }
        }
        Err(ContainerError::NoEngine {
            variable: ENGINE_VARIABLE,
        })
    }

    /// The engine `program` (a name found in `dirs`, or a path): docker when its file name
    /// starts with `docker`, podman otherwise.
    fn named(program: &str, dirs: &[PathBuf]) -> Result<Engine> {
        let path = if program.contains('/') {
            Some(PathBuf::from(program)).filter(|path| is_executable(path))
        } else {
            find_program(program, dirs)
        };
        let Some(path) = path else {
            return Err(ContainerError::EngineNotFound {
                variable: ENGINE_VARIABLE,
                program: program.to_owned(),
            });
        };
        let docker = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("docker"));
        let kind = if docker {
            EngineKind::Docker
        } else {
            EngineKind::Podman
        };
        Ok(Engine::new(kind, path))
    }

    /// Which engine this is.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// Its program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Its name in messages: `podman` or `docker`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            EngineKind::Podman => "podman",
            EngineKind::Docker => "docker",
        }
    }

    /// A command running the engine, with standard input closed.
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command.stdin(Stdio::null());
        command
    }

    /// Runs the engine with `arguments` to its end: its exit status, standard output and error.
    async fn output(
        &self,
        action: &'static str,
        arguments: &[&str],
    ) -> Result<std::process::Output> {
        self.command()
            .args(arguments)
            .output()
            .await
            .map_err(|source| ContainerError::EngineStart {
                engine: self.program.display().to_string(),
                action,
                source,
            })
    }

    /// Whether the engine holds `image` (locally: nothing is pulled).
    pub async fn image_exists(&self, image: &str) -> Result<bool> {
        let output = self
            .output(
                "image inspect",
                &["image", "inspect", "--format", "{{.Id}}", image],
            )
            .await?;
        if output.status.success() {
            return Ok(true);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if says_image_is_missing(&stderr) {
            return Ok(false);
        }
        Err(ContainerError::EngineFailed {
            engine: self.name().to_owned(),
            action: "image inspect",
            status: output.status.to_string(),
            stderr: stderr.trim().to_owned(),
        })
    }

    /// The size of `image` in bytes, as the engine reports it.
    pub async fn image_size(&self, image: &str) -> Result<u64> {
        let output = self
            .output(
                "image inspect",
                &["image", "inspect", "--format", "{{.Size}}", image],
            )
            .await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.trim().parse() {
            Ok(size) if output.status.success() => Ok(size),
            _ => Err(ContainerError::EngineFailed {
                engine: self.name().to_owned(),
                action: "image inspect",
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            }),
        }
    }

    /// Whether a container called `name` exists (running or stopped).
    pub async fn container_exists(&self, name: &str) -> Result<bool> {
        let output = self
            .output(
                "container inspect",
                &["container", "inspect", "--format", "{{.Id}}", name],
            )
            .await?;
        Ok(output.status.success())
    }

    /// Stops and removes container `name` at once (no grace period); one that is already gone
    /// is fine.
    pub async fn remove_container(&self, name: &str) -> Result<()> {
        let arguments: &[&str] = match self.kind {
            EngineKind::Podman => &["rm", "--force", "--ignore", "--time", "0", name],
            EngineKind::Docker => &["rm", "--force", name],
        };
        let output = self.output("rm", arguments).await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() || stderr.to_ascii_lowercase().contains("no such container") {
            Ok(())
        } else {
            Err(ContainerError::EngineFailed {
                engine: self.name().to_owned(),
                action: "rm",
                status: output.status.to_string(),
                stderr: stderr.trim().to_owned(),
            })
        }
    }
}

/// Whether an engine's error output says that an image does not exist (podman: "image not
/// known"; docker: "No such image", "Unable to find image"; both: "no such object").
pub fn says_image_is_missing(stderr: &str) -> bool {
    let stderr = stderr.to_ascii_lowercase();
    [
        "image not known",
        "no such image",
        "unable to find image",
        "no such object",
    ]
    .iter()
    .any(|phrase| stderr.contains(phrase))
}

fn find_program(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fake_programs(names: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = dir.path().join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    #[test]
    fn podman_is_preferred_when_both_are_installed() {
        let dir = fake_programs(&["docker", "podman"]);
        let engine = Engine::detect_in(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(engine.kind(), EngineKind::Podman);
        assert_eq!(engine.program(), dir.path().join("podman"));
    }

    #[test]
    fn docker_is_used_when_it_is_the_only_engine() {
        let dir = fake_programs(&["docker"]);
        let engine = Engine::detect_in(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            (engine.kind(), engine.name()),
            (EngineKind::Docker, "docker")
        );
    }

    #[test]
    fn without_an_engine_the_error_names_both() {
        let dir = fake_programs(&["podman.txt"]);
        let error = Engine::detect_in(&[dir.path().to_path_buf()]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("podman") && message.contains("docker"),
            "{message}"
        );
    }

    #[test]
    fn a_named_engine_is_docker_only_when_its_name_says_so() {
        let dir = fake_programs(&["docker-cli", "podman-remote"]);
        let dirs = [dir.path().to_path_buf()];
        assert_eq!(
            Engine::named("docker-cli", &dirs).unwrap().kind(),
            EngineKind::Docker
        );
        assert_eq!(
            Engine::named("podman-remote", &dirs).unwrap().kind(),
            EngineKind::Podman
        );
        assert!(matches!(
            Engine::named("nerdctl", &dirs),
            Err(ContainerError::EngineNotFound { .. })
        ));
    }

    #[test]
    fn missing_images_are_recognised_in_both_engines_words() {
        assert!(says_image_is_missing(
            "Error: localhost/nope:1: image not known"
        ));
        assert!(says_image_is_missing(
            "Error: No such image: localhost/nope:1"
        ));
        assert!(says_image_is_missing(
            "Unable to find image 'nope:1' locally"
        ));
        assert!(!says_image_is_missing(
            "Error: crun: setrlimit RLIMIT_NOFILE: Operation not permitted"
        ));
    }
}
