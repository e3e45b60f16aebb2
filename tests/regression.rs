//! One named test per bug fixed, so that none comes back. Each test's doc says what the bug was.
//!
//! The tests run the example binaries as users do (`cargo test` builds them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod example_binaries;

use std::path::Path;

use example_binaries::{example, example_in, node_states, text_of};

/// `compile --target airflow --out dags/` on a fresh clone failed with "cannot write `dags/`:
/// Not a directory": an `--out` ending in `/` must be a directory, created when needed, with
/// the file inside it — for every target.
#[test]
fn an_out_path_ending_in_a_slash_is_a_directory_made_for_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (arguments, written) in [
        (
            &["compile", "--target", "airflow", "--out", "dags/"][..],
            "dags/hello.py",
        ),
        (
            &["compile", "--target", "ir", "--out", "ir/"],
            "ir/hello.json",
        ),
        (
            &["graph", "--format", "dot", "--out", "drawings/"],
            "drawings/hello.dot",
        ),
    ] {
        let (code, _, stderr) = text_of(dir.path(), "hello", arguments);
        assert_eq!(code, Some(0), "{arguments:?}: {stderr}");
        assert!(
            dir.path().join(written).is_file(),
            "{arguments:?} did not write {written}: {stderr}"
        );
    }
}

/// Logs written to a file or a CI log carried ANSI colour codes: colour only on a terminal.
#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let output = example_in(dir.path(), "hello")
        .env("MILLRACE_LOG", "millrace_runner=info")
        .arg("run")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("starting"), "no log lines: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
}

/// The README's main job (`examples/taxi`) skipped the logging set-up that `cli::main` does,
/// so `MILLRACE_LOG` did nothing there: every example goes through the one entry point. Run
/// without arguments, it runs the pipeline.
#[test]
fn the_taxi_example_logs_what_millrace_log_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let output = example_in(dir.path(), "taxi")
        .env("TAXI_SERVING", dir.path().join("serving"))
        .env("MILLRACE_LOG", "millrace_runner=info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("starting") && stderr.contains("example_gen"),
        "the runner's log lines are missing: {stderr}"
    );
}

/// A run of the main job from the repository's root left a file git did not ignore (a model
/// in `serving/taxi/<version>/` was committed): everything a default run writes is ignored.
#[test]
fn a_default_taxi_run_writes_only_what_git_ignores() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(example("taxi"))
        .current_dir(dir.path())
        .env_remove("MILLRACE_STORE")
        .env_remove("MILLRACE_ROOT")
        .env_remove("TAXI_SERVING")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ignored = ignored_top_level_entries();
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert!(
        written.iter().any(|name| name == "serving"),
        "the run pushed nothing: {written:?}"
    );
    for name in &written {
        assert!(
            ignored.contains(name),
            "a default run wrote `{name}`, which .gitignore does not ignore ({ignored:?})"
        );
    }
}

/// The top-level names the repository's `.gitignore` ignores (`/name` lines).
fn ignored_top_level_entries() -> Vec<String> {
    let gitignore = Path::new(env!("CARGO_MANIFEST_DIR")).join(".gitignore");
    std::fs::read_to_string(gitignore)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix('/'))
        .map(|name| name.trim_end_matches('/').to_owned())
        .collect()
}

/// `run --json` and `runs show --json` spelled node states differently (`complete` and
/// `COMPLETE`, `upstream_failed` and nothing at all): one spelling everywhere.
#[test]
fn run_and_runs_show_spell_node_states_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (code, summary, stderr) = text_of(dir.path(), "hello", &["run", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let run_id = summary["run_id"].as_str().unwrap();
    let (_, shown, _) = text_of(dir.path(), "hello", &["runs", "show", run_id, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(node_states(&summary), node_states(&shown));
}
