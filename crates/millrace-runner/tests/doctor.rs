//! `doctor` against a real SQLite store and real runs: each problem is made to happen — a LIVE
//! artifact's files deleted, a run cut short while a node ran (its future dropped: the
//! execution stays RUNNING, its outputs PENDING, its staging directory in place), a PENDING
//! output whose execution ended, staging and output directories nobody points at — then found,
//! and repaired where that is safe. A repair never removes what a LIVE artifact points at.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use millrace_core::prelude::*;
use millrace_metadata::{
    ArtifactState, ExecutionState, MetadataStore, NodeQuery, PutExecution, connect,
};
use millrace_runner::doctor::{DoctorReport, FindingKind, doctor};
use millrace_runner::{ArtifactStorage, LocalRunner, NodeState, RunRecord, RunState};

/// Writes a line into its output, after its upstream's, if any.
#[millrace_macros::component(crate = millrace_core, kind = "test.Line")]
async fn line(
    upstream: Option<Input<Dataset>>,
    out: Output<Dataset>,
    text: String,
) -> Result<(), ComponentError> {
    let mut lines = match upstream {
        Some(upstream) => std::fs::read_to_string(upstream.uri().join("lines.txt"))?,
        None => String::new(),
    };
    lines.push_str(&text);
    lines.push('\n');
    std::fs::write(out.uri().join("lines.txt"), lines)?;
    Ok(())
}

/// Says it started (through the file it is given), writes half its output, then never ends:
/// its run's future is dropped meanwhile, as a crash would stop it.
#[millrace_macros::component(crate = millrace_core, kind = "test.Hang")]
async fn hang(out: Output<Dataset>, started: String) -> Result<(), ComponentError> {
    std::fs::write(out.uri().join("half.txt"), "half")?;
    std::fs::write(&started, "started")?;
    std::future::pending::<()>().await;
    Ok(())
}

fn lines() -> Pipeline {
    let mut p = Pipeline::builder("lines");
    let first = p.add("first", Line::new(None, "one"));
    p.add("second", Line::new(Some(first.out), "two"));
    p.build().unwrap()
}

fn hanging(started: &Path) -> Pipeline {
    let mut p = Pipeline::builder("hanging");
    p.add("stuck", Hang::new(started.display().to_string()));
    p.build().unwrap()
}

struct Fixture {
    _scratch: tempfile::TempDir,
    dir: PathBuf,
    store: Arc<dyn MetadataStore>,
    storage: ArtifactStorage,
}

impl Fixture {
    async fn new() -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().to_owned();
        let store = connect(&format!(
            "sqlite://{}",
            dir.join("metadata.sqlite").display()
        ))
        .await
        .unwrap();
        let storage = ArtifactStorage::local(dir.join("artifacts"));
        Fixture {
            _scratch: scratch,
            dir,
            store,
            storage,
        }
    }

    fn runner(&self) -> LocalRunner {
        LocalRunner::with_storage(Arc::clone(&self.store), self.storage.clone())
    }

    async fn doctor(&self, repair: bool) -> DoctorReport {
        doctor(&*self.store, &self.storage, repair).await.unwrap()
    }

    async fn live_uris(&self) -> Vec<String> {
        self.store
            .get_artifacts(&NodeQuery::all().states([ArtifactState::Live.code()]))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|artifact| artifact.uri)
            .collect()
    }

    async fn state_of(&self, artifact_id: i64) -> ArtifactState {
        self.store
            .get_artifacts(&NodeQuery::all().ids([artifact_id]))
            .await
            .unwrap()[0]
            .state
    }

    /// Runs `hanging` as run `run_id` until its node has started, then drops the run: the
    /// execution stays RUNNING with its output PENDING and its staging directory in place.
    async fn cut_short(&self, run_id: &str) -> Pipeline {
        let started = self.dir.join(format!("{run_id}.started"));
        let pipeline = hanging(&started);
        {
            let runner = self.runner();
            let run = runner.run_or_resume(&pipeline, run_id, BTreeMap::new());
            tokio::pin!(run);
            loop {
                tokio::select! {
                    ended = &mut run => panic!("the hanging run ended: {ended:?}"),
                    () = tokio::task::yield_now() => {
                        if started.exists() {
                            break;
                        }
                    }
                }
            }
        }
        pipeline
    }

    /// Records that run `run_id` ended, as the runner does at the end of a run.
    async fn end_run(&self, pipeline: &Pipeline, run_id: &str) {
        RunRecord::open(&*self.store, pipeline, run_id)
            .await
            .unwrap()
            .finish(&*self.store, RunState::Failed)
            .await
            .unwrap();
    }
}

fn kinds(report: &DoctorReport) -> Vec<FindingKind> {
    report.findings.iter().map(|finding| finding.kind).collect()
}

fn staging_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with(".staging-") {
                found.push(path);
            } else if path.is_dir() {
                pending.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_store_after_good_runs_is_healthy() {
    let fixture = Fixture::new().await;
    fixture
        .runner()
        .run(&lines(), BTreeMap::new())
        .await
        .unwrap();
    fixture
        .runner()
        .run(&lines(), BTreeMap::new())
        .await
        .unwrap();

    let report = fixture.doctor(false).await;

    assert!(report.is_healthy(), "{report:#?}");
    assert_eq!(report.checked.live, 2);
    assert_eq!(report.checked.outputs, 2);
    assert!(report.running.is_empty());
}

#[tokio::test]
async fn a_live_artifact_whose_files_are_gone_is_marked_deleted_and_its_node_runs_again() {
    let fixture = Fixture::new().await;
    let pipeline = lines();
    fixture
        .runner()
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    let live = fixture.live_uris().await;
    let gone = live.iter().find(|uri| uri.contains("/second/")).unwrap();
    std::fs::remove_dir_all(gone).unwrap();

    let found = fixture.doctor(false).await;

    assert_eq!(kinds(&found), [FindingKind::LiveFilesMissing]);
    let finding = &found.findings[0];
    assert_eq!(&finding.location, gone);
    assert_eq!(finding.node.as_deref(), Some("second"));
    assert!(
        finding.problem.contains("directory is gone"),
        "{}",
        finding.problem
    );
    assert!(finding.repair.as_deref().unwrap().contains("DELETED"));
    let artifact = finding.artifact_ids[0];
    assert_eq!(
        fixture.state_of(artifact).await,
        ArtifactState::Live,
        "only looked"
    );

    let repaired = fixture.doctor(true).await;

    assert!(repaired.is_healthy(), "{repaired:#?}");
    assert_eq!(fixture.state_of(artifact).await, ArtifactState::Deleted);
    assert!(fixture.doctor(false).await.is_healthy());
    let rerun = fixture
        .runner()
        .run(&pipeline, BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(rerun.node("first").unwrap().state, NodeState::Cached);
    assert_eq!(rerun.node("second").unwrap().state, NodeState::Complete);
}

#[tokio::test]
async fn an_execution_of_a_run_still_going_is_left_alone_with_its_staging() {
    let fixture = Fixture::new().await;
    fixture.cut_short("going").await;

    let report = fixture.doctor(true).await;

    assert!(report.is_healthy(), "{report:#?}");
    assert_eq!(report.running.len(), 1);
    assert_eq!(report.running[0].node, "stuck");
    assert_eq!(report.running[0].run_id, "going");
    assert_eq!(report.checked.staging, 1);
    assert_eq!(staging_dirs(&fixture.dir.join("artifacts")).len(), 1);
    let pending = fixture
        .store
        .get_artifacts(&NodeQuery::all().states([ArtifactState::Pending.code()]))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "the running node's output stays PENDING");
}

#[tokio::test]
async fn an_execution_left_running_in_a_run_that_ended_is_failed_and_its_leftovers_cleaned() {
    let fixture = Fixture::new().await;
    let pipeline = fixture.cut_short("crashed").await;
    fixture.end_run(&pipeline, "crashed").await;
    let staged = staging_dirs(&fixture.dir.join("artifacts"));
    assert_eq!(staged.len(), 1);

    let found = fixture.doctor(false).await;

    assert_eq!(
        kinds(&found),
        [
            FindingKind::InterruptedExecution,
            FindingKind::OrphanStaging
        ]
    );
    let interrupted = &found.findings[0];
    assert_eq!(interrupted.run_id.as_deref(), Some("crashed"));
    assert_eq!(interrupted.node.as_deref(), Some("stuck"));
    assert_eq!(interrupted.artifact_ids.len(), 1);
    let execution = interrupted.execution_id.unwrap();
    assert_eq!(found.findings[1].execution_id, Some(execution));
    assert_eq!(found.findings[1].location, staged[0].display().to_string());
    assert!(staged[0].exists(), "looking removes nothing");

    let repaired = fixture.doctor(true).await;

    assert!(repaired.is_healthy(), "{repaired:#?}");
    let executions = fixture
        .store
        .get_executions(&NodeQuery::all().ids([execution]))
        .await
        .unwrap();
    assert_eq!(executions[0].last_known_state, ExecutionState::Failed);
    assert_eq!(
        fixture.state_of(interrupted.artifact_ids[0]).await,
        ArtifactState::Abandoned
    );
    assert!(!staged[0].exists());
    assert!(fixture.doctor(false).await.is_healthy());
}

#[tokio::test]
async fn a_pending_output_whose_execution_ended_is_abandoned() {
    let fixture = Fixture::new().await;
    fixture.cut_short("half-recovered").await;
    // The execution was ended by something that forgot its output (another tool, an older
    // version): it is FAILED, its output still PENDING.
    let mut execution = fixture
        .store
        .get_executions(&NodeQuery::all().states([ExecutionState::Running.code()]))
        .await
        .unwrap()
        .remove(0);
    execution.last_known_state = ExecutionState::Failed;
    fixture
        .store
        .put_execution(&PutExecution {
            execution,
            artifacts: Vec::new(),
            contexts: Vec::new(),
        })
        .await
        .unwrap();

    let found = fixture.doctor(false).await;

    assert_eq!(
        kinds(&found),
        [FindingKind::StalePending, FindingKind::OrphanStaging]
    );
    assert!(
        found.findings[0].problem.contains("ended FAILED"),
        "{}",
        found.findings[0].problem
    );
    let artifact = found.findings[0].artifact_ids[0];

    let repaired = fixture.doctor(true).await;

    assert!(repaired.is_healthy(), "{repaired:#?}");
    assert_eq!(fixture.state_of(artifact).await, ArtifactState::Abandoned);
}

#[tokio::test]
async fn directories_no_artifact_points_at_are_found_and_only_staging_is_removed() {
    let fixture = Fixture::new().await;
    fixture
        .runner()
        .run(&lines(), BTreeMap::new())
        .await
        .unwrap();
    let output = fixture.dir.join("artifacts/lines/first/out");
    let orphan = output.join("987654");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("lines.txt"), "one\n").unwrap();
    let staging = output.join(".staging-424242");
    std::fs::create_dir_all(&staging).unwrap();
    // Not the layout's: left out of the check.
    std::fs::create_dir_all(output.join("notes")).unwrap();

    let found = fixture.doctor(false).await;

    assert_eq!(
        kinds(&found),
        [FindingKind::OrphanStaging, FindingKind::OrphanOutput]
    );
    assert!(
        found.findings[0]
            .problem
            .contains("execution 424242 is not running")
    );
    assert_eq!(found.findings[1].location, orphan.display().to_string());
    assert_eq!(found.findings[1].repair, None);

    let repaired = fixture.doctor(true).await;

    assert_eq!(repaired.remaining(), 1, "{repaired:#?}");
    assert!(!repaired.is_healthy());
    assert!(!staging.exists());
    assert!(
        orphan.join("lines.txt").exists(),
        "an orphan output is left to a person"
    );
    for uri in fixture.live_uris().await {
        assert!(Path::new(&uri).join("lines.txt").exists(), "{uri}");
    }
}

#[tokio::test]
async fn a_missing_root_repairs_nothing_it_cannot_judge() {
    let fixture = Fixture::new().await;
    fixture
        .runner()
        .run(&lines(), BTreeMap::new())
        .await
        .unwrap();
    let unmounted = ArtifactStorage::local(fixture.dir.join("not-mounted"));

    let report = doctor(&*fixture.store, &unmounted, true).await.unwrap();

    assert_eq!(kinds(&report), [FindingKind::RootMissing]);
    assert!(!report.is_healthy());
    assert_eq!(
        fixture.live_uris().await.len(),
        2,
        "nothing was marked DELETED"
    );
}

#[tokio::test]
async fn an_object_artifact_without_its_manifest_is_found_and_marked_deleted() {
    let fixture = Fixture::new().await;
    let storage = ArtifactStorage::open("memory://doctor/root")
        .unwrap()
        .with_work_dir(fixture.dir.join("work"));
    LocalRunner::with_storage(Arc::clone(&fixture.store), storage.clone())
        .run(&lines(), BTreeMap::new())
        .await
        .unwrap();
    let live = fixture.live_uris().await;
    let gone = live.iter().find(|uri| uri.contains("/first/")).unwrap();
    storage.remove(gone).await.unwrap();

    let found = doctor(&*fixture.store, &storage, false).await.unwrap();

    assert_eq!(kinds(&found), [FindingKind::LiveFilesMissing]);
    assert!(found.findings[0].problem.contains("manifest is missing"));
    assert_eq!(
        found.checked.outputs, 1,
        "the other artifact's objects are listed"
    );

    let repaired = doctor(&*fixture.store, &storage, true).await.unwrap();

    assert!(repaired.is_healthy(), "{repaired:#?}");
    assert_eq!(fixture.live_uris().await.len(), 1);
}
