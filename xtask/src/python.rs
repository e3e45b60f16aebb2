//! The Python virtual environment the interop suites run `ml-metadata` in.
//!
//! It lives at `$MILLRACE_VENV` (default `<workspace>/.venv`), is made with the machine's
//! CPython 3.11 (`python3`), and holds the pinned packages of `tools/python/requirements.txt`.
//! A stamp file in it records a hash of those requirements, so an up-to-date environment costs
//! one `import ml_metadata` and no `pip` run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{capture, run};

/// The environment variable that chooses where the virtual environment lives.
pub const VENV_VAR: &str = "MILLRACE_VENV";

/// The requirements file, relative to the workspace root.
pub const REQUIREMENTS: &str = "tools/python/requirements.txt";

/// The Python version the pinned requirements are for.
const WANTED: (u32, u32) = (3, 11);

/// The file in the environment that records the hash of what was installed into it.
const STAMP: &str = ".millrace-requirements.hash";

/// Prints `implementation major.minor.micro` of the Python that runs it.
const VERSION_SCRIPT: &str =
    "import sys; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3])";

/// A ready virtual environment.
#[derive(Debug)]
pub struct Venv {
    /// Its directory.
    pub dir: PathBuf,
    /// Its interpreter, `<dir>/bin/python`: what the tests get as `MILLRACE_TEST_PYTHON`.
    pub python: PathBuf,
    /// The interpreter's version, e.g. `3.11.7`.
    pub python_version: String,
    /// The `ml_metadata.__version__` it imports.
    pub ml_metadata_version: String,
}

/// Where the environment lives: `$MILLRACE_VENV` (relative to the current directory when
/// relative), else `<workspace_root>/.venv`.
pub fn venv_dir(workspace_root: &Path) -> Result<PathBuf, String> {
    match std::env::var_os(VENV_VAR) {
        Some(dir) if !dir.is_empty() => std::path::absolute(&dir)
            .map_err(|error| format!("{VENV_VAR}={}: {error}", Path::new(&dir).display())),
        _ => Ok(workspace_root.join(".venv")),
    }
}

/// Makes sure the environment exists, works and holds the pinned requirements; returns it.
pub fn ensure(workspace_root: &Path) -> Result<Venv, String> {
    let dir = venv_dir(workspace_root)?;
    let python = dir.join("bin").join("python");
    let requirements_path = workspace_root.join(REQUIREMENTS);
    let requirements = std::fs::read_to_string(&requirements_path)
        .map_err(|error| format!("cannot read {}: {error}", requirements_path.display()))?;

    let python_version = match cpython_version(&python) {
        Ok(version) => version,
        Err(why) => {
            if dir.join("pyvenv.cfg").is_file() {
                eprintln!(
                    "xtask: the virtual environment {} is broken ({why}); making it again",
                    dir.display()
                );
            }
            create(&dir)?;
            cpython_version(&python).map_err(|why| {
                format!(
                    "the new virtual environment {} does not work: {why}",
                    dir.display()
                )
            })?
        }
    };

    let hash = format!(
        "{:016x}",
        fnv1a64(&[requirements.as_bytes(), python_version.as_bytes()])
    );
    let stamp = dir.join(STAMP);
    let up_to_date = std::fs::read_to_string(&stamp).is_ok_and(|recorded| recorded.trim() == hash);
    if up_to_date {
        eprintln!(
            "xtask: {} already holds {REQUIREMENTS} (hash {hash})",
            dir.display()
        );
    } else {
        install(&python, &requirements_path)?;
    }
    let ml_metadata_version = match import_ml_metadata(&python) {
        Ok(version) => version,
        Err(_) if up_to_date => {
            eprintln!(
                "xtask: `import ml_metadata` fails although the stamp is current; reinstalling"
            );
            install(&python, &requirements_path)?;
            import_ml_metadata(&python)?
        }
        Err(why) => return Err(why),
    };
    if !up_to_date {
        std::fs::write(&stamp, format!("{hash}\n"))
            .map_err(|error| format!("cannot write {}: {error}", stamp.display()))?;
    }
    Ok(Venv {
        dir,
        python,
        python_version,
        ml_metadata_version,
    })
}

/// The version of the CPython 3.11 at `python`; an error saying why when it is anything else.
fn cpython_version(python: &Path) -> Result<String, String> {
    let printed = capture(Command::new(python).args(["-c", VERSION_SCRIPT]))?;
    let mut words = printed.split_whitespace();
    let (Some(implementation), Some(version)) = (words.next(), words.next()) else {
        return Err(format!(
            "{} printed {printed:?}, not its version",
            python.display()
        ));
    };
    let mut numbers = version.split('.').map(str::parse::<u32>);
    let major_minor = (numbers.next(), numbers.next());
    if implementation == "cpython" && major_minor == (Some(Ok(WANTED.0)), Some(Ok(WANTED.1))) {
        Ok(version.to_owned())
    } else {
        Err(format!(
            "{} is {implementation} {version}, but the pinned requirements need CPython {}.{}",
            python.display(),
            WANTED.0,
            WANTED.1
        ))
    }
}

/// Makes a fresh virtual environment at `dir` with the machine's `python3`.
fn create(dir: &Path) -> Result<(), String> {
    let base = crate::host::find_in_path("python3").ok_or_else(|| {
        format!(
            "no `python3` on PATH; the Python interop suites need CPython {}.{} \
             (or pass --no-python to skip them)",
            WANTED.0, WANTED.1
        )
    })?;
    let base_version = cpython_version(&base).map_err(|why| {
        format!(
            "cannot make the virtual environment {}: {why} \
             (or pass --no-python to skip the Python interop suites)",
            dir.display()
        )
    })?;
    // Only ever delete a virtual environment, never whatever else `$MILLRACE_VENV` names.
    if dir.join("pyvenv.cfg").is_file() {
        std::fs::remove_dir_all(dir)
            .map_err(|error| format!("cannot remove {}: {error}", dir.display()))?;
    } else if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!(
            "{} exists but is not a virtual environment (no pyvenv.cfg); \
             remove it or point {VENV_VAR} elsewhere",
            dir.display()
        ));
    }
    eprintln!(
        "xtask: making a virtual environment at {} with {} (CPython {base_version})",
        dir.display(),
        base.display()
    );
    run(Command::new(&base).arg("-m").arg("venv").arg(dir)).map_err(|error| {
        format!(
            "{error}\n(on Debian or Ubuntu, `apt-get install -y python3-venv` provides `venv` \
             and `ensurepip`)"
        )
    })
}

/// `pip install`s the requirements file into the environment of `python`.
fn install(python: &Path, requirements: &Path) -> Result<(), String> {
    run(Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements))
    .map_err(|error| format!("cannot install {}: {error}", requirements.display()))
}

/// Imports `ml_metadata` with `python`; returns its version, or a clear error.
fn import_ml_metadata(python: &Path) -> Result<String, String> {
    capture(Command::new(python).args(["-c", "import ml_metadata; print(ml_metadata.__version__)"]))
        .map(|version| version.trim().to_owned())
        .map_err(|error| {
            format!(
                "`import ml_metadata` does not work with {}: {error}",
                python.display()
            )
        })
}

/// The 64-bit FNV-1a hash of the concatenation of `parts` (stable across Rust versions,
/// unlike `std`'s `DefaultHasher`, and enough to tell requirement sets apart).
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.iter())
        .fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        assert_eq!(fnv1a64(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foo", b"bar"]), fnv1a64(&[b"foobar"]));
    }

    #[test]
    fn the_requirements_pin_ml_metadata() {
        let requirements = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(REQUIREMENTS),
        )
        .unwrap();
        assert!(
            requirements
                .lines()
                .any(|line| line == "ml-metadata==1.17.1")
        );
        for line in requirements.lines() {
            let line = line.trim();
            assert!(
                line.is_empty() || line.starts_with('#') || line.contains("=="),
                "unpinned requirement {line:?}"
            );
        }
    }

    #[test]
    fn a_program_that_is_not_python_is_refused() {
        assert!(cpython_version(Path::new("/nonexistent/python")).is_err());
        assert!(cpython_version(Path::new("/bin/true")).is_err());
    }
}
