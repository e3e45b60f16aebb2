//! Building a pipeline's image: the Containerfile and the binary in a build context, handed to
//! `<engine> build --network host`.
//!
//! Behind a proxy that re-signs TLS with its own certificate authority, `pip install` in a build
//! fails (`CERTIFICATE_VERIFY_FAILED`): the base image does not trust that authority, and pip
//! trusts its own bundle anyway. With podman, the build therefore sees the host's CA bundle
//! ([`host_ca_bundle`]) at [`BUILD_CA_PATH`] and an `/etc/pip.conf` that points pip at it, both
//! as build-time volumes (`podman build --volume`): they serve the `RUN` steps and are not in
//! the image, and the Containerfile stays the same on every machine. Docker's `build` has no
//! volumes; there, build from a base that trusts the authority (`--base`).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::containerfile::Containerfile;
use crate::engine::{Engine, EngineKind};
use crate::error::{ContainerError, Result};

/// The variable naming the CA bundle a podman build trusts; empty turns the mount off.
pub const BUILD_CA_VARIABLE: &str = "MILLRACE_BUILD_CA_BUNDLE";

/// Where a podman build sees the host's CA bundle.
pub const BUILD_CA_PATH: &str = "/run/millrace-build/ca-certificates.crt";

/// The bundle of Debian-like hosts (`update-ca-certificates` writes it).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The host's CA bundle a podman build trusts: `MILLRACE_BUILD_CA_BUNDLE` (empty: none), else
/// `PIP_CERT`, else `SSL_CERT_FILE`, else `/etc/ssl/certs/ca-certificates.crt` — the first that
/// names an existing file.
pub fn host_ca_bundle() -> Option<PathBuf> {
    if let Some(chosen) = std::env::var_os(BUILD_CA_VARIABLE) {
        return Some(PathBuf::from(chosen)).filter(|path| path.is_file());
    }
    ["PIP_CERT", "SSL_CERT_FILE"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .chain([PathBuf::from(SYSTEM_CA_BUNDLE)])
        .find(|path| path.is_file())
}

/// How many of the build's last lines an error shows.
const TAIL_LINES: usize = 30;

/// An image that was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// Its tag.
    pub tag: String,
    /// The engine that built it (`podman`, `docker`).
    pub engine: String,
    /// Its size in bytes, as the engine reports it.
    pub size_bytes: u64,
    /// How long the build took.
    pub duration: Duration,
}

/// Builds `tag` from `containerfile` with `binary` (the pipeline binary; copied into a
/// temporary build context under the Containerfile's binary name), writing the engine's output
/// line by line to `progress` as it comes.
///
/// The build runs with `--network host` (the package servers a Python image installs from must
/// be reachable). A failed build's error names the engine, the tag, the exit status and the
/// output's last lines.
pub async fn build_image<W>(
    engine: &Engine,
    containerfile: &Containerfile,
    binary: &Path,
    tag: &str,
    progress: &mut W,
) -> Result<BuiltImage>
where
    W: Write + ?Sized,
{
    let started = Instant::now();
    let context = tempfile::Builder::new()
        .prefix("millrace-image-")
        .tempdir()
        .map_err(|source| ContainerError::io(std::env::temp_dir(), source))?;
    let file = context.path().join("Containerfile");
    std::fs::write(&file, containerfile.text())
        .map_err(|source| ContainerError::io(&file, source))?;
    let copy = context.path().join(containerfile.binary_name());
    // A hard link when the context is on the binary's file system, else a copy.
    if std::fs::hard_link(binary, &copy).is_err() {
        std::fs::copy(binary, &copy).map_err(|source| ContainerError::io(binary, source))?;
    }

    let mut command = engine.command();
    command.arg("build");
    if let (EngineKind::Podman, Some(bundle)) = (engine.kind(), host_ca_bundle()) {
        let pip_conf = context.path().join("pip.conf");
        std::fs::write(&pip_conf, format!("[global]\ncert = {BUILD_CA_PATH}\n"))
            .map_err(|source| ContainerError::io(&pip_conf, source))?;
        command
            .arg("--volume")
            .arg(format!("{}:{BUILD_CA_PATH}:ro", bundle.display()))
            .arg("--volume")
            .arg(format!("{}:/etc/pip.conf:ro", pip_conf.display()));
    }
    let mut child = command
        .args(["--network", "host", "--tag", tag, "--file"])
        .arg(&file)
        .arg(context.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ContainerError::EngineStart {
            engine: engine.program().display().to_string(),
            action: "build",
            source,
        })?;
    // Both streams into one, line by line, in the order they come.
    let (sender, mut lines) = tokio::sync::mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        forward_lines(stdout, sender.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        forward_lines(stderr, sender.clone());
    }
    drop(sender);
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    while let Some(line) = lines.recv().await {
        let _ = writeln!(progress, "{line}");
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let status = child
        .wait()
        .await
        .map_err(|source| ContainerError::EngineStart {
            engine: engine.program().display().to_string(),
            action: "build",
            source,
        })?;
    if !status.success() {
        return Err(ContainerError::BuildFailed {
            engine: engine.name().to_owned(),
            tag: tag.to_owned(),
            status: status.to_string(),
            output_tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
        });
    }
    let size_bytes = engine.image_size(tag).await?;
    Ok(BuiltImage {
        tag: tag.to_owned(),
        engine: engine.name().to_owned(),
        size_bytes,
        duration: started.elapsed(),
    })
}

/// Sends each line `reader` yields to `sender`, from a task of its own.
fn forward_lines<R>(reader: R, sender: tokio::sync::mpsc::UnboundedSender<String>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
}
