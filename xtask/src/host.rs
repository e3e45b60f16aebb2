//! The machine xtask runs on: who we are, which programs it has, and installing the missing ones.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::run;

/// Whether this process runs with effective user id 0 (root).
///
/// Read from `/proc/self/status` (`Uid: real effective saved fs`), so std suffices; off Linux
/// (no `/proc`) it answers `false`, which means "run the tools directly".
pub fn is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// The directories of `$PATH`, in order.
pub fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// Whether `path` is a file someone may execute (following symbolic links).
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// Where `program` is on `$PATH`, if it is there.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    path_dirs()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Installs Debian `packages` with `apt-get` (root only), after saying on the terminal `why`.
pub fn apt_install(packages: &[&str], why: &str) -> Result<(), String> {
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "{why}; install them (as root: `apt-get install -y {list}`) and try again"
        ));
    }
    eprintln!("xtask: {why}; installing them: apt-get update && apt-get install -y {list}");
    let failed = |error: String| {
        format!(
            "could not install {list} with apt-get ({error}); install them by hand and try again"
        )
    };
    run(Command::new("apt-get")
        .args(["update", "-q"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map_err(failed)?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_on_the_path() {
        let sh = find_in_path("sh");
        assert!(sh.as_deref().is_some_and(is_executable), "{sh:?}");
    }

    #[test]
    fn does_not_find_what_is_not_there() {
        assert_eq!(find_in_path("millrace-no-such-program-xyz"), None);
        assert!(!is_executable(Path::new("/nonexistent/program")));
    }

    #[test]
    fn a_directory_is_not_executable() {
        assert!(!is_executable(Path::new("/")));
    }
}
