//! The Python virtual environments the interop suites run real Python tools in.
//!
//! Four, because their pins conflict (ml-metadata pins protobuf 4, Airflow its own grpc,
//! TensorFlow 2.21 and kfp 2.17 protobuf 6 or later):
//! [`INTEROP`] at `$MILLRACE_VENV` (default `<workspace>/.venv`) with the packages of
//! `tools/python/requirements.txt` (ml-metadata, pandas, scikit-learn, XGBoost ...),
//! [`AIRFLOW`] at `$MILLRACE_AIRFLOW_VENV` (default `<workspace>/.venv-airflow`) with
//! `tools/airflow/requirements.txt` (Apache Airflow 3.3.2 and everything it resolved to), and
//! [`TRAINERS`] at `$MILLRACE_TRAINERS_VENV` (default `<workspace>/.venv-trainers`) with
//! `tools/trainers/requirements.txt` (TensorFlow, Keras, scikit-learn, XGBoost: the Python
//! trainers of the multi-framework lab), and [`ENGINES`] at `$MILLRACE_ENGINES_VENV` (default
//! `<workspace>/.venv-engines`) with `tools/engines/requirements.txt` (kfp 2.17.3 and hera 7.1.0,
//! the loaders of the compile targets' tests), and [`MLFLOW`] at `$MILLRACE_MLFLOW_VENV` (default
//! `<workspace>/.venv-mlflow`) with `tools/mlflow/requirements.txt` (MLflow 3.17.2, server and
//! client, with scikit-learn and XGBoost), and [`MLFLOW2`] at `$MILLRACE_MLFLOW2_VENV` (default
//! `<workspace>/.venv-mlflow2`) with `tools/mlflow2/requirements.txt` (the MLflow 2.22.5 client).
//! All are made with the machine's CPython 3.11 (`python3`). A stamp file in each records a hash of
//! its requirements, so an up-to-date environment costs one import and no `pip` run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{capture, run};

/// What a virtual environment is for and holds.
#[derive(Debug, Clone, Copy)]
pub struct VenvSpec {
    /// The environment variable that chooses where it lives.
    pub var: &'static str,
    /// Where it lives by default, relative to the workspace root.
    pub default_dir: &'static str,
    /// The requirements file, relative to the workspace root.
    pub requirements: &'static str,
    /// The module whose `__version__` proves the environment works.
    pub module: &'static str,
}

/// The environment of the ML-Metadata, pandas and scikit-learn interop suites.
pub const INTEROP: VenvSpec = VenvSpec {
    var: "MILLRACE_VENV",
    default_dir: ".venv",
    requirements: "tools/python/requirements.txt",
    module: "ml_metadata",
};

/// The environment of the Apache Airflow suites.
pub const AIRFLOW: VenvSpec = VenvSpec {
    var: "MILLRACE_AIRFLOW_VENV",
    default_dir: ".venv-airflow",
    requirements: "tools/airflow/requirements.txt",
    module: "airflow",
};

/// The environment of the Python trainers: TensorFlow beside scikit-learn and XGBoost.
pub const TRAINERS: VenvSpec = VenvSpec {
    var: "MILLRACE_TRAINERS_VENV",
    default_dir: ".venv-trainers",
    requirements: "tools/trainers/requirements.txt",
    module: "tensorflow",
};

/// The environment of the compile targets' loaders: kfp and hera.
pub const ENGINES: VenvSpec = VenvSpec {
    var: "MILLRACE_ENGINES_VENV",
    default_dir: ".venv-engines",
    requirements: "tools/engines/requirements.txt",
    module: "kfp",
};

/// The environment of the tracking suites: the real MLflow (server and client).
pub const MLFLOW: VenvSpec = VenvSpec {
    var: "MILLRACE_MLFLOW_VENV",
    default_dir: ".venv-mlflow",
    requirements: "tools/mlflow/requirements.txt",
    module: "mlflow",
};

/// The environment of the second MLflow client: mlflow-skinny 2.22.5, the last 2.x.
pub const MLFLOW2: VenvSpec = VenvSpec {
    var: "MILLRACE_MLFLOW2_VENV",
    default_dir: ".venv-mlflow2",
    requirements: "tools/mlflow2/requirements.txt",
    module: "mlflow",
};

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
    /// The version of the spec's module it imports.
    pub module_version: String,
}

/// Where the environment lives: its variable (relative to the current directory when
/// relative), else its default directory in the workspace.
pub fn venv_dir(spec: &VenvSpec, workspace_root: &Path) -> Result<PathBuf, String> {
    match std::env::var_os(spec.var) {
        Some(dir) if !dir.is_empty() => std::path::absolute(&dir)
            .map_err(|error| format!("{}={}: {error}", spec.var, Path::new(&dir).display())),
        _ => Ok(workspace_root.join(spec.default_dir)),
    }
}

/// Makes sure the environment exists, works and holds the pinned requirements; returns it.
pub fn ensure(spec: &VenvSpec, workspace_root: &Path) -> Result<Venv, String> {
    let dir = venv_dir(spec, workspace_root)?;
    let python = dir.join("bin").join("python");
    let requirements_path = workspace_root.join(spec.requirements);
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
            create(spec, &dir)?;
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
            "xtask: {} already holds {} (hash {hash})",
            dir.display(),
            spec.requirements
        );
    } else {
        install(&python, &requirements_path)?;
    }
    let module_version = match import_module(spec, &python) {
        Ok(version) => version,
        Err(_) if up_to_date => {
            eprintln!(
                "xtask: `import {}` fails although the stamp is current; reinstalling",
                spec.module
            );
            install(&python, &requirements_path)?;
            import_module(spec, &python)?
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
        module_version,
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
fn create(spec: &VenvSpec, dir: &Path) -> Result<(), String> {
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
             remove it or point {} elsewhere",
            dir.display(),
            spec.var
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

/// Imports the spec's module with `python`; returns its version, or a clear error.
fn import_module(spec: &VenvSpec, python: &Path) -> Result<String, String> {
    let script = format!(
        "import {module}; print({module}.__version__)",
        module = spec.module
    );
    capture(Command::new(python).args(["-c", &script]))
        .map(|version| version.trim().to_owned())
        .map_err(|error| {
            format!(
                "`import {}` does not work with {}: {error}",
                spec.module,
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
    fn the_requirements_are_pinned() {
        for (spec, pin) in [
            (INTEROP, "ml-metadata==1.17.1"),
            (AIRFLOW, "apache-airflow==3.3.2"),
            (TRAINERS, "tensorflow-cpu==2.21.0"),
            (ENGINES, "kfp==2.17.3"),
            (MLFLOW, "mlflow==3.17.2"),
            (MLFLOW2, "mlflow-skinny==2.22.5"),
        ] {
            let requirements = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join(spec.requirements),
            )
            .unwrap();
            assert!(requirements.lines().any(|line| line == pin), "{pin}");
            for line in requirements.lines() {
                let line = line.trim();
                assert!(
                    line.is_empty() || line.starts_with('#') || line.contains("=="),
                    "unpinned requirement {line:?} in {}",
                    spec.requirements
                );
            }
        }
    }

    #[test]
    fn a_program_that_is_not_python_is_refused() {
        assert!(cpython_version(Path::new("/nonexistent/python")).is_err());
        assert!(cpython_version(Path::new("/bin/true")).is_err());
    }
}
