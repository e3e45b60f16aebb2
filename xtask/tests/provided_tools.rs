//! Checks the tools `cargo xtask test` hands to the suites, when it handed them.
//!
//! `cargo xtask test -- -p xtask` sets the tools up and runs only these checks: a quick way to
//! see that the virtual environment imports `ml_metadata` and that the throwaway PostgreSQL
//! accepts connections. Under a plain `cargo test` the variables are unset and each check says
//! it skipped.

use std::io::Write as _;
use std::process::Command;

/// Runs `program` with `arguments`; its standard output, or an error that shows what it printed.
fn output_of(program: &str, arguments: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(arguments)
        .output()
        .map_err(|error| format!("cannot start {program}: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {arguments:?} failed with {}:\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn the_provided_python_imports_ml_metadata() {
    let Some(python) = std::env::var("MILLRACE_TEST_PYTHON")
        .ok()
        .filter(|python| !python.is_empty())
    else {
        // Straight to the terminal, past the test harness's capture: a plain `cargo test`
        // shows which suites skipped.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: MILLRACE_TEST_PYTHON is not set (run `cargo xtask test`)"
        );
        return;
    };
    let printed = output_of(
        &python,
        &[
            "-c",
            "import sys, ml_metadata; print('%d.%d' % sys.version_info[:2], ml_metadata.__version__)",
        ],
    )
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(printed.trim(), "3.11 1.17.1");
}

#[test]
fn the_provided_postgres_accepts_connections() {
    let Some(url) = std::env::var("MILLRACE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        // Straight to the terminal, past the test harness's capture: a plain `cargo test`
        // shows which suites skipped.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: MILLRACE_TEST_POSTGRES_URL is not set (run `cargo xtask test`)"
        );
        return;
    };
    assert!(url.ends_with("/millrace_test"), "{url}");
    if Command::new("psql").arg("--version").output().is_err() {
        // Straight to the terminal, past the test harness's capture: a plain `cargo test`
        // shows which suites skipped.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no `psql` on PATH to connect to {url} with"
        );
        return;
    }
    let printed = output_of(
        "psql",
        &[&url, "-X", "-A", "-t", "-c", "select 1, current_database()"],
    )
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(printed.trim(), "1|millrace_test");
}
