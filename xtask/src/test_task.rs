//! `cargo xtask test`: provide the tools the suites need, run every suite, say what was provided.
//!
//! ```text
//! cargo xtask test [--no-python] [--no-airflow] [--no-trainers] [--no-engines] [--no-mlflow] [--no-postgres] [--no-containers] [--no-browser] [-- CARGO-TEST-ARGS]
//! ```
//!
//! | tool | given to `cargo test` as | skipped by |
//! |---|---|---|
//! | a CPython 3.11 virtual environment with `ml-metadata`, pandas, scikit-learn ... ([`crate::python::INTEROP`]) | `MILLRACE_TEST_PYTHON` | `--no-python` |
//! | a CPython 3.11 virtual environment with Apache Airflow 3.3.2 ([`crate::python::AIRFLOW`]) | `MILLRACE_TEST_AIRFLOW_PYTHON` | `--no-airflow` |
//! | a CPython 3.11 virtual environment with TensorFlow, Keras, scikit-learn and XGBoost ([`crate::python::TRAINERS`]) | `MILLRACE_TEST_TRAINERS_PYTHON` | `--no-trainers` |
//! | a CPython 3.11 virtual environment with kfp 2.17.3 and hera 7.1.0 ([`crate::python::ENGINES`]) | `MILLRACE_TEST_ENGINES_PYTHON` | `--no-engines` |
//! | a CPython 3.11 virtual environment with mlflow 3.17.2 (client and server), scikit-learn and XGBoost ([`crate::python::MLFLOW`]) | `MILLRACE_TEST_MLFLOW_PYTHON` | `--no-mlflow` |
//! | a CPython 3.11 virtual environment with the mlflow 2.22.5 client ([`crate::python::MLFLOW2`]) | `MILLRACE_TEST_MLFLOW2_PYTHON` | `--no-mlflow` |
//! | a throwaway PostgreSQL server ([`crate::postgres`]) | `MILLRACE_TEST_POSTGRES_URL` | `--no-postgres` |
//! | Azurite (npm) and fake-gcs-server (PyPI), installed into `/var/cache/millrace-ci` ([`crate::emulators`]); the tests start them | `MILLRACE_TEST_AZURITE`, `MILLRACE_TEST_FAKE_GCS` | `--no-python` |
//! | moto's S3-compatible server on 127.0.0.1, from the interop environment ([`crate::s3`]) | `MILLRACE_TEST_S3_ENDPOINT`, `MILLRACE_TEST_S3_BUCKET` | `--no-python` |
//! | podman with a `containers.conf` and a Debian base image built from packages ([`crate::containers`]) | `CONTAINERS_CONF`, `MILLRACE_CONTAINER_BASE` | `--no-containers` |
//! | headless Chromium and its WebDriver server from Debian's packages ([`crate::browser`]) | `MILLRACE_CHROMIUM`, `MILLRACE_CHROMEDRIVER` | `--no-browser` |
//!
//! A skipped tool's variable is removed from the tests' environment, so their suites skip and
//! say why. The server is stopped and deleted once `cargo test` ends, pass or fail.

use std::path::Path;

use crate::browser;
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
    /// Provide headless Chromium and chromedriver.
    pub browser: bool,
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
            browser: true,
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
                "--no-browser" => options.browser = false,
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

/// One virtual environment a group of suites gets.
struct VenvSuite {
    /// The environment.
    spec: &'static python::VenvSpec,
    /// The variable that hands its interpreter to the tests.
    var: &'static str,
    /// What it holds, for the report; `VERSION` stands for its module's version.
    holds: &'static str,
}

/// Makes `venvs` (when `enabled`) and hands their interpreters to `command`, or removes their
/// variables so that the suites skip; says which in `provided`. Returns the interpreters.
fn provide_venvs(
    command: &mut std::process::Command,
    workspace_root: &Path,
    enabled: bool,
    venvs: &[VenvSuite],
    skipped: &str,
    provided: &mut Vec<String>,
) -> Result<Vec<std::path::PathBuf>, String> {
    let mut pythons = Vec::new();
    for suite in venvs {
        if !enabled {
            command.env_remove(suite.var);
            provided.push(format!("{} not set {skipped}", suite.var));
            continue;
        }
        let venv = python::ensure(suite.spec, workspace_root)?;
        command.env(suite.var, &venv.python);
        provided.push(format!(
            "{}={} (CPython {}, {}, in the venv {})",
            suite.var,
            venv.python.display(),
            venv.python_version,
            suite.holds.replace("VERSION", &venv.module_version),
            venv.dir.display(),
        ));
        pythons.push(venv.python);
    }
    Ok(pythons)
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
    let interop_python = provide_venvs(
        &mut command,
        workspace_root,
        options.python,
        &[VenvSuite {
            spec: &python::INTEROP,
            var: PYTHON_VAR,
            holds: "ml-metadata VERSION",
        }],
        "(--no-python): the Python interop suites skip",
        &mut provided,
    )?
    .pop();
    provide_venvs(
        &mut command,
        workspace_root,
        options.airflow,
        &[VenvSuite {
            spec: &python::AIRFLOW,
            var: AIRFLOW_VAR,
            holds: "apache-airflow VERSION",
        }],
        "(--no-airflow): the Airflow suites skip",
        &mut provided,
    )?;
    provide_venvs(
        &mut command,
        workspace_root,
        options.trainers,
        &[VenvSuite {
            spec: &python::TRAINERS,
            var: TRAINERS_VAR,
            holds: "tensorflow VERSION",
        }],
        "(--no-trainers): the TensorFlow suites skip",
        &mut provided,
    )?;
    provide_venvs(
        &mut command,
        workspace_root,
        options.engines,
        &[VenvSuite {
            spec: &python::ENGINES,
            var: ENGINES_VAR,
            holds: "kfp VERSION and hera",
        }],
        "(--no-engines): the KFP and Argo loader suites skip",
        &mut provided,
    )?;
    provide_venvs(
        &mut command,
        workspace_root,
        options.mlflow,
        &[
            VenvSuite {
                spec: &python::MLFLOW,
                var: MLFLOW_VAR,
                holds: "mlflow VERSION",
            },
            VenvSuite {
                spec: &python::MLFLOW2,
                var: MLFLOW2_VAR,
                holds: "the mlflow VERSION client",
            },
        ],
        "(--no-mlflow): the MLflow client and server suites skip",
        &mut provided,
    )?;
    if options.mlflow {
        command.env("MLFLOW_DISABLE_TELEMETRY", "true");
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
    if options.browser {
        let (driver, chromium) = browser::ensure()?;
        command
            .env(browser::DRIVER_VAR, &driver)
            .env(browser::BROWSER_VAR, &chromium);
        provided.push(format!(
            "{}={} and {}={} (Debian's chromium, headless)",
            browser::DRIVER_VAR,
            driver.display(),
            browser::BROWSER_VAR,
            chromium.display()
        ));
    } else {
        command
            .env(browser::DRIVER_VAR, "/nonexistent/--no-browser")
            .env(browser::BROWSER_VAR, "/nonexistent/--no-browser");
        provided.push("no browser (--no-browser): the web UI's browser suite skips".to_owned());
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
                browser: true,
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
