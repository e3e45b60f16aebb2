//! The web UI in a real browser: headless Chromium from Debian's packages, driven through
//! `chromedriver`, on the taxi example's `serve`. It loads the runs list, starts a run from the
//! UI with the token, watches that run's node states change on the open page (no reload:
//! server-sent events), clicks from the run to a node to its output artifact's lineage graph,
//! opens the statistics report inline — and keeps screenshots of each in
//! `target/ui-screenshots/` (with `MILLRACE_UPDATE_UI_SCREENSHOTS=1`, also in `docs/ui/`,
//! which `docs/ui.md` shows). Without the browser packages it says SKIPPED and why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

mod example_binaries;
mod serving;

use std::path::{Path, PathBuf};

use example_binaries::example_in;
use serde_json::Value;
use serving::webdriver::{Browser, browser};
use serving::{serve, taxi_trips};

const TOKEN: &str = "a-token-for-the-test";

/// Where screenshots go: the target directory (kept with the test run), and the docs when
/// asked to update them.
fn keep(browser: &Browser, name: &str) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = target.join("ui-screenshots").join(name);
    browser.screenshot(&path);
    if std::env::var_os("MILLRACE_UPDATE_UI_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/ui")
            .join(name);
        std::fs::create_dir_all(docs.parent().unwrap()).unwrap();
        std::fs::copy(&path, docs).unwrap();
    }
}

/// The graph's node states on the open page.
fn graph_states(browser: &Browser) -> Vec<(String, String)> {
    let states = browser.script(
        "return [...document.querySelectorAll('svg.graph g.node')].map(n => [n.getAttribute('data-node'), n.getAttribute('data-state')]);",
    );
    states
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_browser_follows_a_run_live_and_clicks_from_the_run_to_a_node_to_its_lineage() {
    let (driver, chromium) = match browser() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("SKIPPED (the web UI in a browser): {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let trips = taxi_trips(dir.path());
    let env = |command: &mut std::process::Command| {
        command
            .env("TAXI_DATA", &trips)
            .env("TAXI_SERVING", dir.path().join("serving"));
    };
    // One run before the browser comes: the runs list has something to show.
    let mut first = example_in(dir.path(), "taxi");
    first.args(["run", "--param", "max_depth=6"]);
    env(&mut first);
    assert!(first.output().unwrap().status.success());

    let mut command = example_in(dir.path(), "taxi");
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--allow-actions"])
        .env("MILLRACE_UI_TOKEN", TOKEN);
    env(&mut command);
    let served = serve(command);
    let browser = Browser::start(&driver, &chromium);

    // The runs list.
    browser.open(&format!("{}/runs", served.url));
    assert_eq!(browser.title(), "Runs of chicago-taxi · Millrace");
    browser.find("table#runs tbody tr");

    // Start a run from the UI: parameters and the token, then the run's page.
    browser.click(&browser.find("details summary"));
    browser.type_into(&browser.find("input[name='param.trees']"), "400");
    browser.type_into(&browser.find("form.action input[name='token']"), TOKEN);
    browser.click(&browser.find("form.action button[type='submit']"));
    browser.find("p#live");
    let run_url = browser.url();
    assert!(run_url.contains("/runs/"), "{run_url}");
    // A mark on this page: it is still there at the end only if the page never reloaded.
    browser.script("window.millraceMark = 'loaded once'; return true;");
    browser.wait_until(
        "the trainer to be running",
        "return document.querySelector('svg.graph g.node[data-node=\"trainer\"]').getAttribute('data-state') === 'running';",
    );
    let while_running = graph_states(&browser);
    assert!(
        while_running
            .iter()
            .any(|(node, state)| node == "evaluator" && state == "not_started"),
        "{while_running:?}"
    );
    keep(&browser, "live-run.png");
    browser.wait_until(
        "every node to have finished, on the open page",
        "return document.querySelector('p#live').hasAttribute('data-ended');",
    );
    let finished = graph_states(&browser);
    assert!(
        finished
            .iter()
            .all(|(_, state)| ["complete", "cached", "skipped"].contains(&state.as_str())),
        "{finished:?}"
    );
    assert!(
        finished
            .iter()
            .any(|(node, state)| node == "trainer" && state == "complete")
    );
    assert_eq!(
        browser.script("return window.millraceMark;"),
        Value::String("loaded once".to_owned()),
        "the states changed without a reload"
    );

    // From the run to a node, to its output artifact and that artifact's lineage.
    browser.click(&browser.find("svg.graph a[href$='/nodes/statistics_gen']"));
    browser.find("tr[data-direction='out'] a[href^='/artifacts/']");
    assert!(
        browser.title().starts_with("statistics_gen in run"),
        "{}",
        browser.title()
    );
    browser.click(&browser.find("tr[data-direction='out'] a[href^='/artifacts/']"));
    browser.find("svg.graph g.node.focus");
    let lineage = graph_states(&browser).len();
    assert!(
        lineage >= 5,
        "the lineage reaches up and down: {lineage} boxes"
    );
    browser.script("window.scrollTo(0, document.querySelector('svg.graph').getBoundingClientRect().top + window.scrollY - 80); return true;");
    keep(&browser, "lineage.png");

    // The statistics report, inline in its sandboxed frame.
    let report = browser.find("iframe.report");
    browser.script("document.querySelector('iframe.report').scrollIntoView(); return true;");
    browser.pause();
    keep(&browser, "statistics.png");
    browser.frame(Some(&report));
    let text = browser.script("return document.body.innerText;");
    assert!(
        text.as_str().unwrap().contains("trip_miles"),
        "the report names the features"
    );
    browser.frame(None);

    // Upstream in the lineage: a click on the examples artifact opens its page.
    browser.click(&browser.find("svg.graph a[href^='/runs/'][href$='/nodes/example_gen']"));
    browser.find("dl.facts");
    assert!(browser.title().starts_with("example_gen in run"));

    // Back to the runs: two ticked, compared side by side.
    browser.open(&format!("{}/runs", served.url));
    browser.wait_until(
        "both runs listed",
        "return document.querySelectorAll('table#runs tbody tr').length === 2;",
    );
    keep(&browser, "runs.png");
    browser.click(&browser.find("table#runs tbody tr:nth-child(1) input[type='checkbox']"));
    browser.click(&browser.find("table#runs tbody tr:nth-child(2) input[type='checkbox']"));
    browser.click(&browser.find("table#runs thead button[type='submit']"));
    browser.find("table#compare");
    assert_eq!(browser.title(), "Comparing 2 runs · Millrace");
    let differs = browser.script(
        "return [...document.querySelectorAll('table#compare tr.differs th')].map(th => th.textContent);",
    );
    let differs: Vec<&str> = differs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        differs.contains(&"trees") && differs.contains(&"max_depth"),
        "{differs:?}"
    );
    keep(&browser, "compare.png");
}
