//! The web UI against a real SQLite store and real runs, through the router in process: every
//! page shows what the runs did; everything that came from users or data — parameter values,
//! strings read from a CSV file, error messages, summaries, file names — is escaped; actions
//! exist only with `--allow-actions` and then need the token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use millrace_core::ModelRegistration;
use millrace_core::prelude::*;
use millrace_metadata::{MetadataStore, connect};
use millrace_runner::history::RunHistory;
use millrace_runner::{ArtifactStorage, Cancellations, LocalRunner, RunPage};
use millrace_server::ServerState;
use millrace_server::ui::Ui;
use tower::ServiceExt;

/// Markup that must never reach a page unescaped.
const HOSTILE: &str = "<script>alert('x')</script>";
/// A file name with markup (a name cannot hold `/`).
const HOSTILE_FILE_NAME: &str = "<b onmouseover=alert(2)>.txt";

/// Reads the first cell of `table.csv` (a string from data) into a property, and writes a
/// report that shows it.
#[millrace_macros::component(crate = millrace_core, kind = "ui.Ingest")]
async fn ingest(
    examples: Output<Dataset>,
    table: String,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let text = std::fs::read_to_string(&table)?;
    let cell = text.lines().nth(1).unwrap_or("").to_owned();
    examples.set_custom_property("first_cell", cell.as_str());
    std::fs::write(examples.uri().join("rows.csv"), &text)?;
    std::fs::write(
        examples.uri().join("statistics.html"),
        "<html><body><h1>Statistics</h1><p>rows: 2</p></body></html>",
    )?;
    std::fs::write(examples.uri().join(HOSTILE_FILE_NAME), "odd name")?;
    context.set_summary(format!("read 2 rows; first cell {cell}"));
    Ok(())
}

/// Trains, or fails with a message holding markup when `fail` is set.
#[millrace_macros::component(crate = millrace_core, kind = "ui.Train")]
async fn train(
    examples: Input<Dataset>,
    model: Output<Model>,
    fail: bool,
    note: String,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let _ = examples;
    if fail {
        return Err(ComponentError::new(format!(
            "diverged on <img src=x onerror=alert(1)> ({note})"
        )));
    }
    std::fs::write(model.uri().join("weights.txt"), "1 2 3")?;
    context.log_metric("rmse", if note.len() > 20 { 4.5 } else { 6.0 });
    Ok(())
}

/// Registers its input model as `ui-model`, moving `champion` to it.
#[millrace_macros::component(crate = millrace_core, kind = "ui.Register")]
async fn register(
    model: Input<Model>,
    report: Output<Metrics>,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let _ = (model, report);
    context.register_model(ModelRegistration {
        input: "model".into(),
        name: "ui-model".into(),
        alias: Some("champion".into()),
        reason: "tests".into(),
        ..ModelRegistration::default()
    });
    Ok(())
}

struct Setup {
    dir: tempfile::TempDir,
    store: Arc<dyn MetadataStore>,
    pipeline: Arc<Pipeline>,
}

impl Setup {
    async fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("table.csv");
        std::fs::write(&table, format!("name,value\n{HOSTILE},1\n")).unwrap();
        let store = connect(&format!(
            "sqlite://{}",
            dir.path().join("m.sqlite").display()
        ))
        .await
        .unwrap();
        let mut p = Pipeline::builder("ui");
        p.schedule(Schedule::cron("0 3 * * *").timezone("Europe/Paris"));
        let fail = p.param("fail", false);
        let note = p.param("note", HOSTILE.to_owned());
        let ingested = p.add("ingest", Ingest::new(table.display().to_string()));
        let trained = p.add("train", Train::new(ingested.examples, &fail, &note));
        p.add("register", Register::new(trained.model));
        let pipeline = Arc::new(p.build().unwrap());
        Setup {
            dir,
            store,
            pipeline,
        }
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("artifacts")
    }

    fn runner(&self) -> LocalRunner {
        LocalRunner::new(Arc::clone(&self.store), self.root())
    }

    async fn run(&self, fail: bool) -> String {
        let parameters = self
            .pipeline
            .parameter_values(&BTreeMap::from([("fail".to_owned(), fail.to_string())]))
            .unwrap();
        let summary = self.runner().run(&self.pipeline, parameters).await.unwrap();
        assert_eq!(summary.succeeded, !fail, "{summary:#?}");
        summary.run_id
    }

    fn ui(&self) -> Ui {
        Ui::new(
            Arc::clone(&self.pipeline),
            ArtifactStorage::local(self.root()),
        )
    }

    fn app(&self, ui: Ui) -> axum::Router {
        millrace_server::router(ServerState::new(Arc::clone(&self.store), self.root()).with_ui(ui))
    }

    async fn runs(&self) -> usize {
        RunHistory::new(&*self.store)
            .runs(&self.pipeline, &RunPage::newest(100))
            .await
            .unwrap()
            .len()
    }
}

/// A GET's status and body.
async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let reply = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = reply.status();
    let bytes = axum::body::to_bytes(reply.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A page that must be 200 and hold no hostile markup.
async fn page(app: &axum::Router, uri: &str) -> String {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    assert!(
        !body.contains("<script>alert"),
        "{uri} lets a script through:\n{body}"
    );
    assert!(
        !body.contains("<img src=x"),
        "{uri} lets markup through:\n{body}"
    );
    assert!(
        !body.contains("<b onmouseover"),
        "{uri} lets a file name's markup through:\n{body}"
    );
    body
}

/// A form POST with these fields.
async fn post(app: &axum::Router, uri: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{key}={}", form_encode(value)))
        .collect();
    let reply = app
        .clone()
        .oneshot(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = reply.status();
    let location = reply
        .headers()
        .get(header::LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location)
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_page_lists_runs_with_state_trigger_and_parameters_and_filters_them() {
    let setup = Setup::new().await;
    let good = setup.run(false).await;
    let bad = setup.run(true).await;
    let app = setup.app(setup.ui());
    let body = page(&app, "/runs").await;
    assert!(body.contains(&good) && body.contains(&bad));
    assert!(body.contains("manual"));
    assert!(
        body.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "the parameter is shown, escaped"
    );
    let failed = page(&app, "/runs?state=failed").await;
    assert!(failed.contains(&bad) && !failed.contains(&good));
    let by_parameter = page(&app, "/runs?param=fail%3Dfalse").await;
    assert!(by_parameter.contains(&good) && !by_parameter.contains(&bad));
    let (status, body) = get(&app, "/runs?state=exploded").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("use succeeded, failed"), "{body}");
    // Paging: one run a page, the older run on the next.
    let first = page(&app, "/runs?limit=1").await;
    assert!(first.contains(&bad) && !first.contains(&good));
    let next = first
        .split("href=\"")
        .find_map(|rest| rest.strip_prefix("/runs?before="))
        .map(|rest| format!("/runs?before={}", &rest[..rest.find('"').unwrap()]))
        .expect("a link to older runs");
    let second = page(&app, &next.replace("&amp;", "&")).await;
    assert!(second.contains(&good) && !second.contains(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_page_shows_the_graph_timeline_and_nodes_and_a_node_page_its_error_and_cache() {
    let setup = Setup::new().await;
    let good = setup.run(false).await;
    let bad = setup.run(true).await;
    let app = setup.app(setup.ui());
    let body = page(&app, &format!("/runs/{bad}")).await;
    assert!(body.contains("<svg class=\"graph\""));
    assert!(body.contains("data-node=\"ingest\"") && body.contains("data-node=\"train\""));
    assert!(body.contains("data-state=\"failed\""));
    assert!(body.contains("class=\"timeline\""));
    assert!(body.contains(&format!("href=\"/runs/{bad}/nodes/train\"")));
    assert!(
        !body.contains("data-events"),
        "an ended run is not followed"
    );
    let train = page(&app, &format!("/runs/{bad}/nodes/train")).await;
    assert!(
        train.contains("diverged on &lt;img src=x onerror=alert(1)&gt;"),
        "{train}"
    );
    assert!(train.contains("Executed, not served from the cache"));
    let ingest = page(&app, &format!("/runs/{bad}/nodes/ingest")).await;
    assert!(
        ingest.contains("Served from the cache"),
        "the second run reused ingest: {ingest}"
    );
    assert!(
        ingest.contains("first cell &lt;script&gt;"),
        "the reused execution's summary, escaped: {ingest}"
    );
    let ingest = page(&app, &format!("/runs/{good}/nodes/ingest")).await;
    assert!(
        ingest.contains("first cell &lt;script&gt;"),
        "the summary, escaped: {ingest}"
    );
    let (status, _) = get(&app, &format!("/runs/{good}/nodes/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&app, "/runs/no-such-run").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no-such-run"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_page_shows_properties_files_lineage_and_reports_and_serves_files_sandboxed() {
    let setup = Setup::new().await;
    let run = setup.run(false).await;
    let app = setup.app(setup.ui());
    let node = page(&app, &format!("/runs/{run}/nodes/ingest")).await;
    let artifact: i64 = node
        .split("href=\"/artifacts/")
        .nth(1)
        .and_then(|rest| rest[..rest.find('"').unwrap()].parse().ok())
        .expect("a link to the output artifact");
    let body = page(&app, &format!("/artifacts/{artifact}")).await;
    assert!(
        body.contains("first_cell") && body.contains("&lt;script&gt;alert('x')&lt;/script&gt;")
    );
    assert!(body.contains("rows.csv") && body.contains("statistics.html"));
    assert!(
        body.contains("&lt;b onmouseover=alert(2)&gt;.txt"),
        "the odd file name, escaped"
    );
    assert!(
        body.contains("iframe class=\"report\""),
        "the report inline"
    );
    assert!(body.contains("sandbox=\"allow-scripts\""));
    // Lineage: the artifact, the execution that wrote it, the model downstream — all links.
    assert!(body.contains("class=\"node artifact focus\""));
    assert!(body.contains(&format!("href=\"/runs/{run}/nodes/ingest\"")));
    assert!(body.contains(&format!("href=\"/runs/{run}/nodes/train\"")));
    let reply = app
        .clone()
        .oneshot(
            Request::get(format!("/artifacts/{artifact}/files/statistics.html"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        reply.headers()[header::CONTENT_SECURITY_POLICY],
        "sandbox allow-scripts"
    );
    let (status, text) = get(&app, &format!("/artifacts/{artifact}/files/rows.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.starts_with("name,value"));
    let (status, _) = get(
        &app,
        &format!("/artifacts/{artifact}/files/..%2F..%2Fm.sqlite"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a path out of the artifact is refused"
    );
    let (status, _) = get(&app, "/artifacts/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_models_and_schedules_pages_show_what_the_store_holds() {
    let setup = Setup::new().await;
    let first = setup.run(false).await;
    let parameters = setup
        .pipeline
        .parameter_values(&BTreeMap::from([("note".to_owned(), "short".to_owned())]))
        .unwrap();
    let second = setup
        .runner()
        .run(&setup.pipeline, parameters)
        .await
        .unwrap()
        .run_id;
    let app = setup.app(setup.ui());
    let compare = page(&app, &format!("/compare?run={first}&run={second}")).await;
    assert!(compare.contains("Comparing 2 runs"));
    assert!(compare.contains("class=\"differs\""), "the note differs");
    assert!(compare.contains("train.rmse"));
    assert!(
        compare.contains("<svg class=\"chart\""),
        "a chart of the metric that differs"
    );
    let models = page(&app, "/models").await;
    assert!(models.contains("href=\"/models/ui-model\""), "{models}");
    let model = page(&app, "/models/ui-model").await;
    assert!(model.contains("@champion"));
    assert!(
        model.contains(&format!("href=\"/runs/{second}\""))
            || model.contains(&format!("href=\"/runs/{first}\"")),
        "{model}"
    );
    assert!(model.contains("(lineage)"));
    assert!(
        model.contains("train.rmse"),
        "the registering run's metrics"
    );
    let schedules = page(&app, "/schedules").await;
    assert!(schedules.contains("0 3 * * *") && schedules.contains("Europe/Paris"));
    assert!(schedules.contains("id=\"schedule-state\">active"));
    assert!(
        !schedules.contains("<form class=\"action\""),
        "no action forms without actions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_streams_its_states_and_ends_the_stream_when_it_has_ended() {
    let setup = Setup::new().await;
    let run = setup.run(false).await;
    let app = setup.app(setup.ui());
    let (status, body) = tokio::time::timeout(
        // A guard against a stream that never ends, not a timing assertion.
        Duration::from_secs(60),
        get(&app, &format!("/runs/{run}/events")),
    )
    .await
    .expect("the stream of an ended run ends");
    assert_eq!(status, StatusCode::OK);
    let state = body
        .lines()
        .skip_while(|line| *line != "event: state")
        .nth(1)
        .and_then(|line| line.strip_prefix("data: "))
        .expect("a state event");
    let state: serde_json::Value = serde_json::from_str(state).unwrap();
    assert_eq!(state["run"]["state"], "succeeded");
    assert_eq!(state["nodes"][1]["node"], "train");
    assert_eq!(state["nodes"][2]["node"], "register");
    assert_eq!(state["nodes"][1]["state"], "complete");
    assert!(body.contains("event: end"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_actions_there_are_no_action_endpoints_at_all() {
    let setup = Setup::new().await;
    setup.run(false).await;
    let app = setup.app(setup.ui());
    for uri in [
        "/actions/runs",
        "/actions/triggers/schedule/pause",
        "/actions/runs/x/cancel",
    ] {
        let (status, _) = post(&app, uri, &[("token", "anything")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert!(!page(&app, "/runs").await.contains("/actions/"));
    assert_eq!(setup.runs().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_allow_actions_a_missing_or_wrong_token_is_refused_and_nothing_happens() {
    let setup = Setup::new().await;
    setup.run(false).await;
    for token in [None, Some("s3cret")] {
        let ui = setup.ui().allow_actions(
            token.map(str::to_owned),
            setup.runner(),
            Cancellations::default(),
        );
        let app = setup.app(ui);
        for fields in [vec![], vec![("token", "wrong")]] {
            let (status, _) = post(&app, "/actions/runs", &fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{token:?} {fields:?}");
            let (status, _) = post(&app, "/actions/triggers/schedule/pause", &fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
    }
    assert_eq!(setup.runs().await, 1, "no refused action started a run");
    let states = setup.store.trigger_states("ui").await.unwrap();
    assert!(
        states.iter().all(|state| !state.paused),
        "nor paused anything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_token_actions_start_a_run_pause_and_resume_and_cancel_only_what_runs_here() {
    let setup = Setup::new().await;
    let ui = setup.ui().allow_actions(
        Some("s3cret".to_owned()),
        setup.runner(),
        Cancellations::default(),
    );
    let app = setup.app(ui);
    let runs_page = page(&app, "/runs").await;
    assert!(runs_page.contains("action=\"/actions/runs\""));
    let (status, location) = post(
        &app,
        "/actions/runs",
        &[("token", "s3cret"), ("param.note", "from the UI")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let run_id = location.strip_prefix("/runs/").unwrap().to_owned();
    // The run goes on in the background; wait for its end (a guard, not a timing assertion).
    let history = RunHistory::new(&*setup.store);
    let mut ended = None;
    for _ in 0..600 {
        let run = history.run(&setup.pipeline, &run_id).await.unwrap();
        if run.run.finished_ms.is_some() {
            ended = Some(run);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended = ended.expect("the run started from the UI ends");
    assert_eq!(ended.run.parameters["note"], "from the UI");
    let (status, location) = post(
        &app,
        "/actions/triggers/schedule/pause",
        &[("token", "s3cret")],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/schedules")
    );
    assert!(
        page(&app, "/schedules")
            .await
            .contains("id=\"schedule-state\">paused")
    );
    post(
        &app,
        "/actions/triggers/schedule/resume",
        &[("token", "s3cret")],
    )
    .await;
    assert!(
        page(&app, "/schedules")
            .await
            .contains("id=\"schedule-state\">active")
    );
    let (status, _) = post(
        &app,
        "/actions/triggers/nothing/pause",
        &[("token", "s3cret")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &app,
        &format!("/actions/runs/{run_id}/cancel"),
        &[("token", "s3cret")],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an ended run is not executing here"
    );
}

#[test]
fn a_node_id_cannot_carry_markup_into_a_pipeline() {
    let mut p = Pipeline::builder("hostile");
    p.add(HOSTILE, Ingest::new("t.csv".to_owned()));
    let error = p.build().unwrap_err().to_string();
    assert!(
        error.contains("node id") && error.contains("is invalid"),
        "{error}"
    );
}

/// Says hello on both streams, then sleeps `seconds`: a command node with logs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Talk {
    seconds: String,
}

/// What `Talk` writes.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct TalkOutputs {
    /// Nothing much.
    pub said: Channel<Dataset>,
}

impl Component for Talk {
    const KIND: &'static str = "ui.Talk";
    type Inputs = ();
    type Outputs = TalkOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["sh", "-c"]).args([format!(
            "echo 'hello <b>there</b>'; echo 'a warning' >&2; sleep {}; touch {{{{outputs.said.uri}}}}/done",
            self.seconds
        )]))
    }
}

millrace_core::register_component!(Talk);

fn talking(seconds: &str) -> Arc<Pipeline> {
    let mut p = Pipeline::builder("talking");
    p.add(
        "talk",
        Talk {
            seconds: seconds.to_owned(),
        },
    );
    Arc::new(p.build().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_log_streams_from_its_start_and_ends_with_the_attempt() {
    let setup = Setup::new().await;
    let pipeline = talking("0");
    let run = setup
        .runner()
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    assert!(run.succeeded, "{run:#?}");
    let ui = Ui::new(Arc::clone(&pipeline), ArtifactStorage::local(setup.root()));
    let app = setup.app(ui);
    let node = page(&app, &format!("/runs/{}/nodes/talk", run.run_id)).await;
    assert!(node.contains("data-tail="), "{node}");
    for (file, said) in [
        ("stdout.log", "hello <b>there</b>"),
        ("stderr.log", "a warning"),
    ] {
        let (status, body) = tokio::time::timeout(
            // A guard against a stream that never ends, not a timing assertion.
            Duration::from_secs(60),
            get(
                &app,
                &format!("/runs/{}/nodes/talk/log?file={file}", run.run_id),
            ),
        )
        .await
        .expect("the log of an ended attempt ends");
        assert_eq!(status, StatusCode::OK);
        let chunk = body
            .lines()
            .skip_while(|line| *line != "event: chunk")
            .nth(1)
            .and_then(|line| line.strip_prefix("data: "))
            .expect("a chunk");
        let text: String = serde_json::from_str(chunk).unwrap();
        assert_eq!(
            text.trim_end(),
            said,
            "the text as written (the page sets it as text)"
        );
        assert!(body.contains("event: end"));
    }
    let (status, _) = get(
        &app,
        &format!("/runs/{}/nodes/talk/log?file=..%2Fsecret", run.run_id),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_run_this_server_executes_and_records_it_interrupted() {
    let setup = Setup::new().await;
    let pipeline = talking("60");
    let ui = Ui::new(Arc::clone(&pipeline), ArtifactStorage::local(setup.root())).allow_actions(
        Some("s3cret".to_owned()),
        setup.runner(),
        Cancellations::default(),
    );
    let app = setup.app(ui);
    let (status, location) = post(&app, "/actions/runs", &[("token", "s3cret")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let run_id = location.strip_prefix("/runs/").unwrap().to_owned();
    let history = RunHistory::new(&*setup.store);
    // Wait for the node to run (a guard, not a timing assertion).
    for _ in 0..600 {
        let run = history.run(&pipeline, &run_id).await.unwrap();
        if run.nodes[0].state == millrace_runner::NodeState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = post(
        &app,
        &format!("/actions/runs/{run_id}/cancel"),
        &[("token", "wrong")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &app,
        &format!("/actions/runs/{run_id}/cancel"),
        &[("token", "s3cret")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mut ended = None;
    for _ in 0..600 {
        let run = history.run(&pipeline, &run_id).await.unwrap();
        if run.run.finished_ms.is_some() {
            ended = Some(run);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended = ended.expect("the canceled run ends well before its 60 s sleep");
    assert_eq!(ended.run.state, millrace_runner::RunState::Interrupted);
    assert_eq!(ended.nodes[0].state, millrace_runner::NodeState::Canceled);
}
