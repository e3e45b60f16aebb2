//! Podman for the container suites: the programs, a `containers.conf` and a base image built
//! from Debian's packages (no registry is ever contacted).
//!
//! [`ensure`] installs podman, runc and mmdebstrap with apt when one is missing (as root), writes
//! `containers.conf` into the cache directory (`$MILLRACE_CONTAINER_CACHE`, default
//! `/var/cache/millrace-ci/containers`) and builds the base image once:
//!
//! ```text
//! mmdebstrap --variant=minbase --include=ca-certificates,python3 --format=tar bookworm rootfs-bookworm.tar http://deb.debian.org/debian
//! podman import rootfs-bookworm.tar localhost/debian:bookworm-slim
//! ```
//!
//! A run finds both the tarball and the image and skips this. The tests get
//! `CONTAINERS_CONF` (podman reads it) and `MILLRACE_CONTAINER_BASE` (the image their pipeline
//! images start from).
//!
//! The configuration is what podman needs on machines with cgroup v1 in hybrid mode and no
//! permission to raise rlimits (CI's): runc instead of crun (which refuses hybrid cgroups),
//! cgroupfs instead of systemd, and no default ulimits. It is harmless elsewhere. Millrace's
//! library never passes these settings itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host;
use crate::process::{capture, run};

/// The environment variable that hands the base image to the tests.
pub const BASE_VAR: &str = "MILLRACE_CONTAINER_BASE";

/// The variable podman reads its configuration file from.
pub const CONF_VAR: &str = "CONTAINERS_CONF";

/// The variable that chooses the cache directory.
const CACHE_VAR: &str = "MILLRACE_CONTAINER_CACHE";

/// The cache directory by default, kept between CI runs like the virtual environments.
const DEFAULT_CACHE: &str = "/var/cache/millrace-ci/containers";

/// The programs the suites and the setup need.
const PROGRAMS: [&str; 3] = ["podman", "runc", "mmdebstrap"];

/// Debian's package server.
const MIRROR: &str = "http://deb.debian.org/debian";

/// The `containers.conf` the tests run podman with.
const CONTAINERS_CONF: &str = "# Written by `cargo xtask test`: podman on machines with cgroup v1 in hybrid mode and\n\
# no permission to raise rlimits.\n\
[containers]\n\
default_ulimits = []\n\
\n\
[engine]\n\
cgroup_manager = \"cgroupfs\"\n\
runtime = \"runc\"\n";

/// What the container suites get.
#[derive(Debug)]
pub struct Setup {
    /// The `containers.conf`.
    pub conf: PathBuf,
    /// The base image's tag, e.g. `localhost/debian:bookworm-slim`.
    pub base: String,
    /// Whether it was built by this run (else found).
    pub built: bool,
}

/// Installs what is missing, writes the configuration and builds the base image if needed.
pub fn ensure() -> Result<Setup, String> {
    let missing: Vec<&str> = PROGRAMS
        .into_iter()
        .filter(|program| host::find_in_path(program).is_none())
        .collect();
    if !missing.is_empty() {
        host::apt_install(
            &missing,
            &format!("the container suites need {}", missing.join(", ")),
        )?;
    }
    let cache = match std::env::var_os(CACHE_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_CACHE),
    };
    std::fs::create_dir_all(&cache)
        .map_err(|error| format!("cannot create {}: {error}", cache.display()))?;
    let conf = cache.join("containers.conf");
    std::fs::write(&conf, CONTAINERS_CONF)
        .map_err(|error| format!("cannot write {}: {error}", conf.display()))?;

    let suite = debian_suite()?;
    let base = format!("localhost/debian:{suite}-slim");
    let tarball = tarball_path(&cache, suite);
    let podman = |arguments: &[&str]| {
        let mut command = Command::new("podman");
        command.env(CONF_VAR, &conf).args(arguments);
        command
    };
    let image_exists = podman(&["image", "exists", &base])
        .status()
        .is_ok_and(|status| status.success());
    if image_exists {
        remove_earlier_test_images(&podman, &base);
    }
    if image_exists && tarball.is_file() {
        eprintln!(
            "xtask: the base image {base} and {} exist already",
            tarball.display()
        );
        return Ok(Setup {
            conf,
            base,
            built: false,
        });
    }
    if !tarball.is_file() {
        let partial = tarball.with_extension("tar.partial");
        eprintln!(
            "xtask: building a Debian {suite} root file system from Debian's packages (about a minute)"
        );
        run(Command::new("mmdebstrap")
            .args([
                "--quiet",
                "--variant=minbase",
                "--include=ca-certificates,python3",
                "--format=tar",
                suite,
            ])
            .arg(&partial)
            .arg(MIRROR))?;
        std::fs::rename(&partial, &tarball)
            .map_err(|error| format!("cannot move {}: {error}", partial.display()))?;
    }
    run(podman(&["import"]).arg(&tarball).arg(&base))?;
    Ok(Setup {
        conf,
        base,
        built: true,
    })
}

/// Removes the images earlier test runs built on `base` (the examples' images, tagged by the
/// hash of what went into them, so each change of the binaries leaves one behind) and the layers
/// nothing uses any more. Without this the image store grows by a few hundred megabytes a CI run
/// until the disk is full. The base image and the Kubernetes suite's image (which replaces its
/// own) stay. A failure here is only reported: the tests can still run.
fn remove_earlier_test_images(podman: &dyn Fn(&[&str]) -> Command, base: &str) {
    let listed = capture(&mut podman(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]));
    let images = match listed {
        Ok(images) => images,
        Err(error) => {
            eprintln!("xtask: could not list podman's images: {error}");
            return;
        }
    };
    let earlier: Vec<&str> = images
        .lines()
        .map(str::trim)
        .filter(|image| is_earlier_test_image(image, base))
        .collect();
    if !earlier.is_empty() {
        eprintln!(
            "xtask: removing {} image(s) earlier test runs built",
            earlier.len()
        );
        let mut arguments = vec!["rmi", "--force"];
        arguments.extend(&earlier);
        if let Err(error) = run(&mut podman(&arguments)) {
            eprintln!("xtask: could not remove them: {error}");
        }
    }
    if let Err(error) = capture(&mut podman(&["image", "prune", "--force"])) {
        eprintln!("xtask: could not prune unused layers: {error}");
    }
}

/// Whether `image` (`repository:tag`) is one a test run built: local, neither the base nor the
/// Kubernetes suite's, nor an untagged layer (`<none>`, which `image prune` takes).
fn is_earlier_test_image(image: &str, base: &str) -> bool {
    image.starts_with("localhost/")
        && image != base
        && !image.starts_with("localhost/millrace-kubernetes-test-")
        && !image.contains("<none>")
}

/// The Debian release whose glibc runs the binaries built here: bookworm (glibc 2.36) up to
/// glibc 2.36, trixie (2.41) after.
fn debian_suite() -> Result<&'static str, String> {
    let text = capture(Command::new("getconf").arg("GNU_LIBC_VERSION"))?;
    let minor = text
        .split_whitespace()
        .last()
        .and_then(|version| version.split('.').nth(1))
        .and_then(|minor| minor.parse::<u32>().ok())
        .ok_or_else(|| format!("`getconf GNU_LIBC_VERSION` printed {text:?}"))?;
    Ok(suite_for_glibc_minor(minor))
}

fn suite_for_glibc_minor(minor: u32) -> &'static str {
    if minor <= 36 { "bookworm" } else { "trixie" }
}

/// The root file system tarball of `suite` in the cache.
fn tarball_path(cache: &Path, suite: &str) -> PathBuf {
    cache.join(format!("rootfs-{suite}.tar"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_images_test_runs_built_are_removed() {
        let base = "localhost/debian:bookworm-slim";
        assert!(super::is_earlier_test_image(
            "localhost/chicago-taxi:4c19ae011568",
            base
        ));
        assert!(!super::is_earlier_test_image(base, base));
        assert!(!super::is_earlier_test_image(
            "localhost/millrace-kubernetes-test-taxi:1a2b",
            base
        ));
        assert!(!super::is_earlier_test_image(
            "docker.io/library/debian:12",
            base
        ));
        assert!(!super::is_earlier_test_image("<none>:<none>", base));
    }

    use super::*;

    #[test]
    fn the_suite_follows_the_host_glibc() {
        assert_eq!(suite_for_glibc_minor(36), "bookworm");
        assert_eq!(suite_for_glibc_minor(31), "bookworm");
        assert_eq!(suite_for_glibc_minor(39), "trixie");
        assert_eq!(suite_for_glibc_minor(41), "trixie");
    }

    #[test]
    fn the_configuration_sets_runc_cgroupfs_and_no_ulimits() {
        for line in [
            "default_ulimits = []",
            "cgroup_manager = \"cgroupfs\"",
            "runtime = \"runc\"",
        ] {
            assert!(CONTAINERS_CONF.contains(line), "{line}");
        }
        assert_eq!(
            tarball_path(Path::new("/c"), "bookworm"),
            Path::new("/c/rootfs-bookworm.tar")
        );
    }
}
