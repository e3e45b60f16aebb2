//! The scheduler on a real SQLite store, with a clock 120 times faster than the system's (a
//! minute's tick every half second): every-minute ticks become runs, each tick once; a
//! paused schedule fires nothing; a claim a crash left without its run, and a run a crash
//! left unfinished, are started or resumed by the next scheduler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use millrace_core::prelude::*;
use millrace_metadata::triggers::Claim;
use millrace_metadata::{MetadataStore, connect};
use millrace_runner::history::RunHistory;
use millrace_runner::{LocalRunner, RunState};
use millrace_server::scheduler::{
    Clock, SCHEDULE_TRIGGER, Scheduler, SchedulerEvent, run_id_of_tick,
};

/// Writes one line.
#[millrace_macros::component(crate = millrace_core, kind = "test.Tick")]
async fn tick(note: Output<Dataset>, text: String) -> Result<(), ComponentError> {
    std::fs::write(note.uri().join("note.txt"), text)?;
    Ok(())
}

fn every_minute() -> Arc<Pipeline> {
    let mut p = Pipeline::builder("every-minute");
    p.schedule(Schedule::cron("* * * * *").timezone("Europe/Paris"));
    p.add("tick", Tick::new("hello".to_owned()));
    Arc::new(p.build().unwrap())
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn MetadataStore>,
    runner: LocalRunner,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = connect(&format!(
        "sqlite://{}",
        dir.path().join("m.sqlite").display()
    ))
    .await
    .unwrap();
    let runner = LocalRunner::new(Arc::clone(&store), dir.path().join("artifacts"));
    Setup {
        _dir: dir,
        store,
        runner,
    }
}

/// Runs a scheduler until `until` says stop, given each event; returns the events.
async fn schedule_until(
    setup: &Setup,
    pipeline: &Arc<Pipeline>,
    mut until: impl FnMut(&[SchedulerEvent]) -> bool,
) -> Vec<SchedulerEvent> {
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = Scheduler::new(
        Arc::clone(&setup.store),
        setup.runner.clone(),
        Arc::clone(pipeline),
        Clock::faster(120.0),
    );
    let task = tokio::spawn(scheduler.run(
        async {
            let _ = stopped.await;
        },
        Some(events),
    ));
    let mut seen = Vec::new();
    // A liveness guard, not a timing assertion: a scheduler that starts nothing fails here
    // instead of hanging the suite.
    let guard = tokio::time::sleep(Duration::from_secs(120));
    tokio::pin!(guard);
    loop {
        tokio::select! {
            Some(event) = received.recv() => {
                seen.push(event);
                if until(&seen) {
                    break;
                }
            }
            () = &mut guard => panic!("the scheduler did not get there: {seen:#?}"),
        }
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    seen
}

fn finished(events: &[SchedulerEvent]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|event| match event {
            SchedulerEvent::Finished { run_id, succeeded } => Some((run_id.clone(), *succeeded)),
            SchedulerEvent::Started { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_minute_ticks_become_runs_each_tick_once() {
    let setup = setup().await;
    let pipeline = every_minute();
    let events = schedule_until(&setup, &pipeline, |seen| finished(seen).len() >= 3).await;
    let runs = finished(&events);
    assert!(runs.iter().all(|(_, succeeded)| *succeeded), "{events:#?}");

    // The ledger has each tick once, each with the run named after it; the ticks are whole
    // minutes, one after another.
    let fires = setup
        .store
        .trigger_fires("every-minute", Some(SCHEDULE_TRIGGER), 100)
        .await
        .unwrap();
    let keys: BTreeSet<&str> = fires.iter().map(|fire| fire.key.as_str()).collect();
    assert_eq!(keys.len(), fires.len());
    for fire in &fires {
        let tick: jiff::Timestamp = fire.key.parse().unwrap();
        assert_eq!(tick.as_second() % 60, 0, "{}", fire.key);
        assert_eq!(fire.run_id.as_deref(), Some(run_id_of_tick(tick).as_str()));
    }
    let history = RunHistory::new(&*setup.store);
    for (run_id, _) in &runs {
        let details = history.run(&pipeline, run_id).await.unwrap();
        assert_eq!(details.run.state, RunState::Succeeded, "{run_id}");
        assert!(
            fires
                .iter()
                .any(|fire| fire.run_id.as_ref() == Some(run_id))
        );
    }
    // A second claim of a tick that ran is refused: it cannot run twice.
    assert!(matches!(
        setup
            .store
            .claim_trigger("every-minute", SCHEDULE_TRIGGER, &fires[0].key)
            .await
            .unwrap(),
        Claim::Already(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_schedule_fires_nothing_and_a_resumed_one_fires_again() {
    let setup = setup().await;
    let pipeline = every_minute();
    setup
        .store
        .set_trigger_paused("every-minute", SCHEDULE_TRIGGER, true)
        .await
        .unwrap();
    // Two and a half real seconds are five ticks of this clock: none may fire.
    let scheduler = Scheduler::new(
        Arc::clone(&setup.store),
        setup.runner.clone(),
        Arc::clone(&pipeline),
        Clock::faster(120.0),
    );
    scheduler
        .run(tokio::time::sleep(Duration::from_millis(2500)), None)
        .await
        .unwrap();
    assert!(
        setup
            .store
            .trigger_fires("every-minute", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    setup
        .store
        .set_trigger_paused("every-minute", SCHEDULE_TRIGGER, false)
        .await
        .unwrap();
    let events = schedule_until(&setup, &pipeline, |seen| !finished(seen).is_empty()).await;
    assert!(finished(&events)[0].1, "{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_a_crash_left_without_its_run_is_started_by_the_next_scheduler() {
    let setup = setup().await;
    let pipeline = every_minute();
    // What a scheduler killed between claiming a tick and recording its run leaves behind.
    let tick: jiff::Timestamp = "2026-12-04T03:00:00Z".parse().unwrap();
    setup
        .store
        .claim_trigger("every-minute", SCHEDULE_TRIGGER, &tick.to_string())
        .await
        .unwrap();
    let events = schedule_until(&setup, &pipeline, |seen| {
        finished(seen)
            .iter()
            .any(|(run_id, _)| *run_id == run_id_of_tick(tick))
    })
    .await;
    assert!(events.iter().any(|event| matches!(
        event,
        SchedulerEvent::Started { run_id, resumed: true, .. } if *run_id == run_id_of_tick(tick)
    )));
    let details = RunHistory::new(&*setup.store)
        .run(&pipeline, &run_id_of_tick(tick))
        .await
        .unwrap();
    assert_eq!(details.run.state, RunState::Succeeded);
    // The next scheduler finds nothing left to resume.
    let fires = setup
        .store
        .trigger_fires("every-minute", None, 100)
        .await
        .unwrap();
    assert!(fires.iter().all(|fire| fire.run_id.is_some()));
}

/// Fails, always.
#[millrace_macros::component(crate = millrace_core, kind = "test.Broken")]
async fn broken(note: Output<Dataset>) -> Result<(), ComponentError> {
    let _ = note;
    Err(ComponentError::new("the data is not there yet"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_scheduled_run_calls_the_webhook_and_the_command_with_its_summary() {
    use axum::routing::post;
    let setup = setup().await;
    let mut p = Pipeline::builder("broken-nightly");
    p.schedule(Schedule::cron("* * * * *"));
    p.add("load", Broken::new());
    let pipeline = Arc::new(p.build().unwrap());

    // A webhook on 127.0.0.1 that hands each body it gets to the test.
    let (bodies, mut received) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let bodies = bodies.clone();
            async move {
                let _ = bodies.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let written = setup._dir.path().join("notified.json");
    let notifier = millrace_server::scheduler::Notifier::none()
        .webhook(&hook)
        .command(format!("cat > '{}'", written.display()));

    let scheduler = Scheduler::new(
        Arc::clone(&setup.store),
        setup.runner.clone(),
        Arc::clone(&pipeline),
        Clock::faster(120.0),
    )
    .notifier(notifier);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run(
        async {
            let _ = stopped.await;
        },
        None,
    ));
    // A liveness guard, not a timing assertion.
    let body = tokio::time::timeout(Duration::from_secs(120), received.recv())
        .await
        .expect("no notification came")
        .unwrap();
    let _ = stop.send(());
    task.await.unwrap().unwrap();

    assert_eq!(body["pipeline"], "broken-nightly");
    assert_eq!(body["state"], "failed");
    assert!(body["run_id"].as_str().unwrap().starts_with("scheduled-"));
    let load = &body["summary"]["nodes"][0];
    assert_eq!(load["node"], "load");
    assert!(
        load["message"]
            .as_str()
            .unwrap()
            .contains("the data is not there yet"),
        "{body:#}"
    );
    // The command got the same document on its standard input.
    let mut from_command = None;
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(&written)
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
        {
            from_command = Some(value);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        from_command.as_ref().map(|value| &value["run_id"]),
        Some(&body["run_id"])
    );
}

/// Ingests the newest `span-N` directory under `dir`, and says which: the component a data
/// trigger watches.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SpanDirs {
    dir: String,
}

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
/// What `SpanDirs` writes.
pub struct SpanDirsOutputs {
    /// The span it read.
    pub data: Channel<Dataset>,
}

impl SpanDirs {
    /// The spans present, newest last: (number, files, bytes).
    fn spans(&self) -> Vec<(i64, usize, u64)> {
        let mut spans: Vec<(i64, usize, u64)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let span: i64 = name.strip_prefix("span-")?.parse().ok()?;
                let files: Vec<std::fs::Metadata> = std::fs::read_dir(entry.path())
                    .ok()?
                    .flatten()
                    .filter(|file| !file.file_name().to_string_lossy().starts_with('.'))
                    .filter_map(|file| file.metadata().ok())
                    .collect();
                (!files.is_empty())
                    .then(|| (span, files.len(), files.iter().map(|m| m.len()).sum()))
            })
            .collect();
        spans.sort_unstable();
        spans
    }
}

impl Component for SpanDirs {
    const KIND: &'static str = "test.SpanDirs";
    type Inputs = ();
    type Outputs = SpanDirsOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[millrace_core::__private::async_trait]
impl Execute for SpanDirs {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let data = context.output::<Dataset>("data")?;
        let newest = self.spans().last().map_or(-1, |span| span.0);
        std::fs::write(data.uri().join("span.txt"), newest.to_string())?;
        Ok(())
    }

    fn external_fingerprint(&self) -> Result<Option<String>, ComponentError> {
        Ok(Some(format!("{:?}", self.spans())))
    }

    fn watched_input(&self) -> Result<Option<millrace_core::WatchedInput>, ComponentError> {
        Ok(Some(millrace_core::WatchedInput {
            pattern: format!("{}/span-{{SPAN}}/*", self.dir),
            latest: self
                .spans()
                .last()
                .map(|&(span, files, bytes)| millrace_core::DataSpan {
                    key: format!("span-{span}"),
                    files,
                    bytes,
                    modified_ms: 0,
                }),
        }))
    }
}

millrace_core::register_component!(SpanDirs);

fn watching(dir: &std::path::Path) -> Arc<Pipeline> {
    let mut p = Pipeline::builder("arrivals");
    p.add(
        "ingest",
        SpanDirs {
            dir: dir.display().to_string(),
        },
    );
    p.trigger_on_new_data("ingest", 1);
    Arc::new(p.build().unwrap())
}

/// Waits until the scheduler has recorded the data trigger's baseline (it has looked once).
async fn baseline_recorded(store: &Arc<dyn MetadataStore>) {
    while store
        .trigger_fires("arrivals", Some("new-data:ingest"), 10)
        .await
        .unwrap()
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn started(events: &[SchedulerEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            SchedulerEvent::Started {
                run_id,
                trigger,
                tick,
                ..
            } => Some((trigger.clone(), tick.clone(), run_id.clone())),
            SchedulerEvent::Finished { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_span_runs_the_pipeline_once_even_across_a_restart() {
    let setup = setup().await;
    let data = tempfile::tempdir().unwrap();
    let pipeline = watching(data.path());
    // Once the scheduler has watched the (empty) directory, a span is copied file by file:
    // the trigger waits for the last file, then runs once.
    let span_one = data.path().join("span-1");
    let writer = {
        let span_one = span_one.clone();
        let store = Arc::clone(&setup.store);
        tokio::spawn(async move {
            baseline_recorded(&store).await;
            std::fs::create_dir_all(&span_one).unwrap();
            std::fs::write(span_one.join("a.csv"), "x\n1\n").unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
            std::fs::write(span_one.join("b.csv"), "x\n2\n").unwrap();
        })
    };
    let events = schedule_until(&setup, &pipeline, |seen| !finished(seen).is_empty()).await;
    writer.await.unwrap();
    assert_eq!(
        started(&events),
        [(
            "new-data:ingest".to_owned(),
            "span-1".to_owned(),
            "new-data-ingest-span-1".to_owned()
        )]
    );
    assert!(finished(&events)[0].1, "{events:#?}");

    // A restarted scheduler does not run span 1 again; span 2 runs, and reads span 2.
    let span_two = data.path().join("span-2");
    std::fs::create_dir_all(&span_two).unwrap();
    std::fs::write(span_two.join("a.csv"), "x\n3\n").unwrap();
    let events = schedule_until(&setup, &pipeline, |seen| !finished(seen).is_empty()).await;
    assert_eq!(
        started(&events),
        [(
            "new-data:ingest".to_owned(),
            "span-2".to_owned(),
            "new-data-ingest-span-2".to_owned()
        )]
    );
    let fires = setup
        .store
        .trigger_fires("arrivals", Some("new-data:ingest"), 10)
        .await
        .unwrap();
    let keys: BTreeSet<(&str, &str)> = fires
        .iter()
        .map(|fire| (fire.key.as_str(), fire.run_id.as_deref().unwrap()))
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            ("(no data)", ""),
            ("span-1", "new-data-ingest-span-1"),
            ("span-2", "new-data-ingest-span-2")
        ]),
        "the baseline, then each span once"
    );
    let artifacts = RunHistory::new(&*setup.store)
        .artifacts(&pipeline, Some("Dataset"))
        .await
        .unwrap();
    let newest = artifacts
        .iter()
        .max_by_key(|artifact| artifact.id)
        .and_then(|artifact| artifact.uri.clone())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&newest).join("span.txt")).unwrap(),
        "2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_present_when_a_trigger_is_first_watched_is_its_baseline_and_runs_nothing() {
    let setup = setup().await;
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("span-4")).unwrap();
    std::fs::write(data.path().join("span-4/a.csv"), "x\n1\n").unwrap();
    let pipeline = watching(data.path());
    let writer = {
        let span = data.path().join("span-5");
        let store = Arc::clone(&setup.store);
        tokio::spawn(async move {
            baseline_recorded(&store).await;
            std::fs::create_dir_all(&span).unwrap();
            std::fs::write(span.join("a.csv"), "x\n5\n").unwrap();
        })
    };
    let events = schedule_until(&setup, &pipeline, |seen| !finished(seen).is_empty()).await;
    writer.await.unwrap();
    assert_eq!(
        started(&events)
            .into_iter()
            .map(|(_, span, _)| span)
            .collect::<Vec<_>>(),
        ["span-5"],
        "span 4 was there before: only span 5 runs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_data_trigger_on_a_node_that_watches_nothing_stops_the_scheduler_with_the_reason() {
    let setup = setup().await;
    let mut p = Pipeline::builder("not-watching");
    p.add("tick", Tick::new("hello".to_owned()));
    p.trigger_on_new_data("tick", 1);
    let pipeline = Arc::new(p.build().unwrap());
    let scheduler = Scheduler::new(
        Arc::clone(&setup.store),
        setup.runner.clone(),
        pipeline,
        Clock::system(),
    );
    let error = scheduler
        .run(std::future::pending(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("data trigger new-data:tick"), "{error}");
    assert!(error.contains("ingests no outside data"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_span_claimed_by_a_scheduler_that_crashed_is_run_by_the_next_and_not_again() {
    let setup = setup().await;
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("span-7")).unwrap();
    std::fs::write(data.path().join("span-7/a.csv"), "x\n7\n").unwrap();
    let pipeline = watching(data.path());
    // What a scheduler killed between claiming span 7 and recording its run leaves behind,
    // after an earlier baseline.
    for (key, run) in [("(no data)", Some("")), ("span-7", None)] {
        setup
            .store
            .claim_trigger("arrivals", "new-data:ingest", key)
            .await
            .unwrap();
        if let Some(run) = run {
            setup
                .store
                .attach_run("arrivals", "new-data:ingest", key, run)
                .await
                .unwrap();
        }
    }
    let events = schedule_until(&setup, &pipeline, |seen| !finished(seen).is_empty()).await;
    assert!(
        events.iter().any(|event| matches!(
            event,
            SchedulerEvent::Started { run_id, resumed: true, trigger, .. }
                if run_id == "new-data-ingest-span-7" && trigger == "new-data:ingest"
        )),
        "{events:#?}"
    );
    assert_eq!(
        finished(&events),
        [("new-data-ingest-span-7".to_owned(), true)]
    );
    let fires = setup
        .store
        .trigger_fires("arrivals", Some("new-data:ingest"), 10)
        .await
        .unwrap();
    assert_eq!(fires.len(), 2, "span 7 claimed once: {fires:#?}");
}
