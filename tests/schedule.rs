//! The schedule of a pipeline binary, as a user drives it: `schedule status|pause|resume|
//! backfill`, and `serve` running the schedule on a faster clock — killed with SIGKILL while a
//! scheduled run is in progress, then restarted: the run completes, no tick runs twice.
//! (The conformance example's schedule: 03:30 on weekdays, UTC.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod example_binaries;
mod serving;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use example_binaries::{example_in, text_of};
use serde_json::Value;

fn json_of(dir: &Path, arguments: &[&str]) -> Value {
    let mut with_json = arguments.to_vec();
    with_json.push("--json");
    let (code, stdout, stderr) = text_of(dir, "conformance", &with_json);
    assert_eq!(code, Some(0), "{arguments:?}: {stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

fn ok(dir: &Path, arguments: &[&str]) -> String {
    let (code, stdout, stderr) = text_of(dir, "conformance", arguments);
    assert_eq!(code, Some(0), "{arguments:?}: {stdout}\n{stderr}");
    stdout
}

#[test]
fn status_pause_resume_and_backfill_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let status = json_of(dir.path(), &["schedule", "status"]);
    assert_eq!(status["paused"], false);
    assert_eq!(status["schedule"]["cron"], "30 3 * * 1-5");
    let next = status["next"].as_array().unwrap();
    assert_eq!(next.len(), 3);
    for tick in next {
        assert!(tick.as_str().unwrap().ends_with("T03:30:00Z"), "{tick}");
    }

    ok(dir.path(), &["schedule", "pause"]);
    assert_eq!(json_of(dir.path(), &["schedule", "status"])["paused"], true);
    ok(dir.path(), &["schedule", "resume"]);
    assert_eq!(
        json_of(dir.path(), &["schedule", "status"])["paused"],
        false
    );

    // Monday 2026-11-30 to Sunday 2026-12-06: five weekday ticks, each run once.
    let backfilled = json_of(
        dir.path(),
        &[
            "schedule",
            "backfill",
            "--from",
            "2026-11-30",
            "--to",
            "2026-12-06",
        ],
    );
    let ticks = backfilled["ticks"].as_array().unwrap();
    assert_eq!(ticks.len(), 5, "{backfilled:#}");
    assert!(
        ticks.iter().all(|tick| tick["outcome"] == "succeeded"),
        "{backfilled:#}"
    );
    assert_eq!(ticks[0]["tick"], "2026-11-30T03:30:00Z");
    assert_eq!(ticks[0]["run_id"], "backfill-20261130T033000Z");
    let again = json_of(
        dir.path(),
        &[
            "schedule",
            "backfill",
            "--from",
            "2026-11-30",
            "--to",
            "2026-12-01",
        ],
    );
    assert!(
        again["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|tick| tick["outcome"] == "already backfilled"),
        "{again:#}"
    );
    let (code, _, stderr) = text_of(
        dir.path(),
        "conformance",
        &[
            "schedule",
            "backfill",
            "--from",
            "2026-12-06",
            "--to",
            "2026-12-01",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");
}

/// `serve` in `dir` on a clock a day per second fast; returns it once it serves (dropping it
/// kills it with SIGKILL). Its runs count `flaky`'s attempts in `dir/attempts`: the first
/// attempt of all fails and is retried a second later, so the first scheduled run is in
/// progress for a second at least.
fn serve(dir: &Path) -> serving::Serving {
    let attempts = format!("attempts_dir={}", dir.join("attempts").display());
    let mut command = example_in(dir, "conformance");
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--param", &attempts])
        .env("MILLRACE_CLOCK_SPEED", "86400");
    serving::serve(command)
}

/// Polls `schedule status` until `done` holds (a liveness guard ends a hung scheduler, not a
/// timing assertion).
fn wait_for(dir: &Path, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..1200 {
        let status = json_of(dir, &["schedule", "status"]);
        if done(&status) {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: {:#}", json_of(dir, &["schedule", "status"]));
}

fn scheduled(status: &Value) -> Vec<Value> {
    status["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["trigger"] == "schedule")
        .cloned()
        .collect()
}

#[test]
fn serve_killed_during_a_scheduled_run_resumes_it_and_runs_no_tick_twice() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path());
    let status = wait_for(dir.path(), "a scheduled run in progress", |status| {
        scheduled(status).iter().any(|run| run["finished"] == false)
    });
    // SIGKILL: nothing is cleaned up.
    drop(first);
    let interrupted = scheduled(&status)
        .into_iter()
        .find(|run| run["finished"] == false)
        .unwrap()["run_id"]
        .clone();

    let second = serve(dir.path());
    let status = wait_for(dir.path(), "the interrupted run completed", |status| {
        scheduled(status).iter().any(|run| {
            run["run_id"] == interrupted && run["finished"] == true && run["state"] == "succeeded"
        }) && scheduled(status).len() >= 2
    });
    drop(second);
    let runs = scheduled(&status);
    let ticks: BTreeSet<&str> = runs
        .iter()
        .map(|run| run["tick"].as_str().unwrap())
        .collect();
    let run_ids: BTreeSet<&str> = runs
        .iter()
        .map(|run| run["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ticks.len(), runs.len(), "a tick ran twice: {status:#}");
    assert_eq!(run_ids.len(), runs.len(), "a run id twice: {status:#}");
}
