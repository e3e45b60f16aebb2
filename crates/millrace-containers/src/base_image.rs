//! The base image: a slim Debian whose C library can run the pipeline binary.
//!
//! A binary linked against glibc runs on that glibc or a newer one, so the default base is the
//! oldest Debian release whose glibc is at least the host's (binaries are built on the host):
//!
//! | host glibc | base |
//! |---|---|
//! | up to 2.31 | `debian:bullseye-slim` (Debian 11, glibc 2.31) |
//! | 2.32 – 2.36 | `debian:bookworm-slim` (Debian 12, glibc 2.36) |
//! | 2.37 – 2.41 | `debian:trixie-slim` (Debian 13, glibc 2.41) |
//!
//! A newer host needs `--base`, as does a registry that is not reachable (a locally imported
//! base such as `localhost/debian:bookworm-slim`).
//!
//! ```
//! use millrace_containers::{BaseImage, GlibcVersion};
//!
//! let base = BaseImage::for_glibc(GlibcVersion::parse("ldd (Debian GLIBC 2.36-9) 2.36").unwrap())?;
//! assert_eq!(base.image, "debian:bookworm-slim");
//! # Ok::<(), millrace_containers::ContainerError>(())
//! ```

use std::fmt;
use std::process::Command;

use crate::error::{ContainerError, Result};

/// A glibc version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion {
    /// 2, for decades.
    pub major: u32,
    /// The release.
    pub minor: u32,
}

impl GlibcVersion {
    /// The last `major.minor` in `text` (what `getconf GNU_LIBC_VERSION`, `ldd --version` and
    /// `libc.so.6` print all end their version line with).
    pub fn parse(text: &str) -> Option<GlibcVersion> {
        let line = text.lines().find(|line| !line.trim().is_empty())?;
        line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter_map(|word| {
                let mut parts = word.trim_matches('.').split('.');
                let major = parts.next()?.parse().ok()?;
                let minor = parts.next()?.parse().ok()?;
                Some(GlibcVersion { major, minor })
            })
            .next_back()
    }

    /// The glibc of this machine, from `getconf GNU_LIBC_VERSION`, else `ldd --version`.
    pub fn of_host() -> Result<GlibcVersion> {
        let mut tried = Vec::new();
        for (program, arguments) in [
            ("getconf", &["GNU_LIBC_VERSION"][..]),
            ("ldd", &["--version"]),
        ] {
            match Command::new(program).args(arguments).output() {
                Ok(output) if output.status.success() => {
                    if let Some(version) =
                        GlibcVersion::parse(&String::from_utf8_lossy(&output.stdout))
                    {
                        return Ok(version);
                    }
                    tried.push(format!("`{program}` printed no version"));
                }
                Ok(output) => tried.push(format!("`{program}` failed ({})", output.status)),
                Err(error) => tried.push(format!("`{program}`: {error}")),
            }
        }
        Err(ContainerError::HostLibc {
            reason: tried.join("; "),
        })
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Debian releases, oldest first: their glibc, name, version and slim image.
const DEBIAN_RELEASES: [(GlibcVersion, &str, u32, &str); 3] = [
    (
        GlibcVersion {
            major: 2,
            minor: 31,
        },
        "bullseye",
        11,
        "debian:bullseye-slim",
    ),
    (
        GlibcVersion {
            major: 2,
            minor: 36,
        },
        "bookworm",
        12,
        "debian:bookworm-slim",
    ),
    (
        GlibcVersion {
            major: 2,
            minor: 41,
        },
        "trixie",
        13,
        "debian:trixie-slim",
    ),
];

/// The image a pipeline's image starts `FROM`, and why it was chosen (a comment in the
/// Containerfile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The image reference.
    pub image: String,
    /// Why this one, in a sentence.
    pub reason: String,
}

impl BaseImage {
    /// An image chosen by the user (`--base`).
    pub fn given(image: impl Into<String>) -> BaseImage {
        BaseImage {
            image: image.into(),
            reason: "given with --base".to_owned(),
        }
    }

    /// The oldest slim Debian whose glibc runs binaries linked against `glibc`.
    pub fn for_glibc(glibc: GlibcVersion) -> Result<BaseImage> {
        DEBIAN_RELEASES
            .iter()
            .find(|(version, ..)| *version >= glibc)
            .map(|(version, name, number, image)| BaseImage {
                image: (*image).to_owned(),
                reason: format!(
                    "Debian {number} ({name}) has glibc {version}, which runs binaries built \
                     against this machine's glibc {glibc}"
                ),
            })
            .ok_or_else(|| ContainerError::NoBaseForLibc {
                version: glibc.to_string(),
            })
    }

    /// The default base for binaries built on this machine.
    pub fn for_host() -> Result<BaseImage> {
        BaseImage::for_glibc(GlibcVersion::of_host()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn version(major: u32, minor: u32) -> GlibcVersion {
        GlibcVersion { major, minor }
    }

    #[test]
    fn every_tool_s_version_line_is_read() {
        for (text, expected) in [
            ("glibc 2.36\n", version(2, 36)),
            (
                "ldd (Debian GLIBC 2.36-9+deb12u14) 2.36\nCopyright (C) 2022",
                version(2, 36),
            ),
            (
                "GNU C Library (Debian GLIBC 2.41-7) stable release version 2.41.\n",
                version(2, 41),
            ),
            ("ldd (Ubuntu GLIBC 2.39-0ubuntu8.4) 2.39", version(2, 39)),
        ] {
            assert_eq!(GlibcVersion::parse(text), Some(expected), "{text}");
        }
        assert_eq!(GlibcVersion::parse("musl libc (x86_64)"), None);
    }

    #[test]
    fn the_base_is_the_oldest_debian_whose_glibc_is_not_older_than_the_host_s() {
        let image = |major, minor| BaseImage::for_glibc(version(major, minor)).unwrap().image;
        assert_eq!(image(2, 36), "debian:bookworm-slim");
        assert_eq!(image(2, 41), "debian:trixie-slim");
        assert_eq!(image(2, 39), "debian:trixie-slim");
        assert_eq!(image(2, 35), "debian:bookworm-slim");
        assert_eq!(image(2, 28), "debian:bullseye-slim");
        assert!(matches!(
            BaseImage::for_glibc(version(2, 42)),
            Err(ContainerError::NoBaseForLibc { .. })
        ));
    }

    #[test]
    fn the_reason_names_the_release_and_both_glibc_versions() {
        let base = BaseImage::for_glibc(version(2, 36)).unwrap();
        assert!(
            base.reason.contains("Debian 12 (bookworm)"),
            "{}",
            base.reason
        );
        assert!(base.reason.contains("glibc 2.36"), "{}", base.reason);
    }
}
