//! Continuous training, as a user runs it: the taxi example under `serve`, on a one-minute cron
//! (with a clock sixty times faster than this machine's, so a minute is a second) and
//! watching its input for new spans. A scheduled run, a run for a new span copied in, and a
//! failing run for a malformed span all appear in the web UI with their trigger; the failing
//! run calls the webhook (a receiver on 127.0.0.1) with its summary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod example_binaries;
mod serving;

use example_binaries::example_in;
use serving::{Webhook, copy_span, page, run_rows, serve, taxi_trips, wait_for};

#[test]
fn taxi_runs_on_its_schedule_and_on_new_data_and_a_failed_run_calls_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let trips = taxi_trips(dir.path());
    let webhook = Webhook::start();
    let mut command = example_in(dir.path(), "taxi");
    command
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--notify-webhook",
            &webhook.url,
            "--notify-on",
            "always",
        ])
        .env("TAXI_DATA", &trips)
        .env("TAXI_SCHEDULE", "* * * * *")
        .env("TAXI_DEBOUNCE", "1")
        .env("TAXI_SERVING", dir.path().join("serving"))
        .env("MILLRACE_CLOCK_SPEED", "60");
    let served = serve(command);

    // The cron: a scheduled run, shown with its trigger. Span 1 was there before `serve`
    // started: it is the data trigger's baseline and runs nothing.
    let scheduled = wait_for("a scheduled run that succeeded", || {
        run_rows(&page(&served.url, "/runs"))
            .into_iter()
            .find(|(_, row)| {
                row.contains("class=\"trigger\">schedule<") && row.contains("succeeded")
            })
    });
    assert!(scheduled.0.starts_with("scheduled-"), "{}", scheduled.0);
    let paused = example_in(dir.path(), "taxi")
        .args(["schedule", "pause"])
        .env("TAXI_SCHEDULE", "* * * * *")
        .output()
        .unwrap();
    assert!(paused.status.success(), "{paused:?}");

    // A new span copied in: a run for it, shown as new data.
    let trips_text = std::fs::read_to_string(serving::taxi_data()).unwrap();
    copy_span(dir.path(), 2, &trips_text);
    let (run, row) = wait_for("the run of span 2", || {
        run_rows(&page(&served.url, "/runs"))
            .into_iter()
            .find(|(run, row)| run == "new-data-example_gen-span-2" && row.contains("succeeded"))
    });
    assert!(row.contains("new data (example_gen)"), "{row}");
    let shown = page(&served.url, &format!("/runs/{run}"));
    assert!(shown.contains("new data (example_gen)"));
    assert!(
        shown.contains("data-node=\"trainer\" data-state=\"complete\""),
        "{shown}"
    );

    // A malformed span: the run fails, and the webhook hears it with the summary.
    let header = trips_text.lines().next().unwrap();
    copy_span(dir.path(), 3, &format!("{header}\n1,2\n"));
    let told = wait_for("the webhook told of the failed run", || {
        webhook
            .received()
            .into_iter()
            .find(|ended| ended["state"] == "failed")
    });
    assert_eq!(told["pipeline"], "chicago-taxi");
    assert_eq!(told["trigger"], "new-data:example_gen");
    assert_eq!(told["tick"], "span-3");
    assert_eq!(told["run_id"], "new-data-example_gen-span-3");
    let example_gen = told["summary"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["node"] == "example_gen")
        .unwrap();
    assert_eq!(example_gen["state"], "failed");
    let message = example_gen["message"].as_str().unwrap();
    assert!(
        message.contains("span-3/data.csv:2: column"),
        "file, line and column: {message}"
    );
    assert!(
        webhook
            .received()
            .iter()
            .any(|ended| ended["trigger"] == "schedule" && ended["state"] == "succeeded"),
        "--notify-on always: the scheduled run was told too"
    );

    // The UI lists all three with their triggers; the schedule page says it is paused.
    let runs = run_rows(&page(&served.url, "/runs"));
    let failed = runs
        .iter()
        .find(|(run, _)| run == "new-data-example_gen-span-3")
        .unwrap();
    assert!(
        failed.1.contains("data-state=\"failed\"") && failed.1.contains("new data (example_gen)")
    );
    let schedules = page(&served.url, "/schedules");
    assert!(schedules.contains("id=\"schedule-state\">paused"));
    assert!(schedules.contains("new-data:example_gen"));
    assert!(
        schedules.contains("none: present when watching began"),
        "span 1 was the baseline"
    );
}

#[test]
fn an_engine_export_says_the_data_trigger_is_not_part_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = example_in(dir.path(), "taxi")
        .args(["compile", "--target", "airflow", "--out"])
        .arg(dir.path().join("dags"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("new-data:example_gen not exported")
            && stderr.contains("run `serve` beside the engine"),
        "{stderr}"
    );
    let ir = example_in(dir.path(), "taxi")
        .args(["compile", "--target", "ir"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&ir.stderr).contains("not exported"));
    let spec: serde_json::Value = serde_json::from_slice(&ir.stdout).unwrap();
    assert_eq!(
        spec["data_triggers"][0]["node"], "example_gen",
        "the IR keeps it"
    );
}
