//! `doctor`: a metadata store checked against its artifact root, and what can be repaired
//! safely, repaired.
//!
//! A crash, a full disk, a hand that deleted files or an interrupted remote task can leave the
//! store and the root disagreeing. [`doctor`] finds:
//!
//! | finding | what it is | with `repair` |
//! |---|---|---|
//! | `root_missing` | the local root does not exist (an unmounted disk?) | nothing: LIVE artifacts are not judged by a root that is not there |
//! | `live_files_missing` | a LIVE artifact under the root whose directory is gone (on an object store: whose manifest is) | marks it DELETED, so that the cache and resolvers stop offering it; the node that made it runs again |
//! | `interrupted_execution` | an execution still RUNNING (or NEW) in a run that ended after it started | marks it FAILED and its PENDING outputs ABANDONED — what resuming the run does |
//! | `stale_pending` | a PENDING artifact whose execution has ended, or is not in the store | marks it ABANDONED (`gc` then removes its files) |
//! | `orphan_staging` | a staging directory (`.staging-<execution-id>`) whose execution is not running | removes the directory |
//! | `orphan_output` | an output directory or prefix under the root that no artifact of the store points at | nothing: another store may share the root; remove it by hand if none does |
//!
//! What a running execution uses — RUNNING in a run that has not ended (or was resumed after
//! it ended): its PENDING outputs, its staging directories — is never touched; such executions
//! are listed in [`DoctorReport::running`], since the doctor cannot tell a running process from
//! a dead one (resuming their run recovers those whose process died). No file a LIVE artifact
//! points at is ever removed.
//!
//! ```
//! use millrace_runner::{ArtifactStorage, doctor::doctor};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let root = tempfile::tempdir().unwrap();
//! let store = millrace_metadata::connect("memory://").await.unwrap();
//! let report = doctor(&*store, &ArtifactStorage::local(root.path()), false).await.unwrap();
//! assert!(report.is_healthy());
//! # });
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use millrace_metadata::store::PIPELINE_RUN_CONTEXT;
use millrace_metadata::{
    Artifact, ArtifactState, Execution, ExecutionState, MetadataStore, NodeQuery, Value,
};
use millrace_storage::ArtifactStorage;
use serde::Serialize;

use crate::error::{Result, RunnerError};
use crate::layout::Layout;
use crate::properties;

/// How many artifacts are checked at once (each a directory lookup, or a HEAD request).
const CONCURRENT_CHECKS: usize = 16;

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The local root does not exist.
    RootMissing,
    /// A LIVE artifact whose files (or manifest) are gone.
    LiveFilesMissing,
    /// An execution RUNNING in a run that has ended.
    InterruptedExecution,
    /// A PENDING artifact whose execution has ended or is unknown.
    StalePending,
    /// A staging directory whose execution is not running.
    OrphanStaging,
    /// An output under the root that no artifact points at.
    OrphanOutput,
}

impl FindingKind {
    /// The kind's name, as JSON spells it: `live_files_missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::RootMissing => "root_missing",
            FindingKind::LiveFilesMissing => "live_files_missing",
            FindingKind::InterruptedExecution => "interrupted_execution",
            FindingKind::StalePending => "stale_pending",
            FindingKind::OrphanStaging => "orphan_staging",
            FindingKind::OrphanOutput => "orphan_output",
        }
    }
}

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What is wrong.
    pub kind: FindingKind,
    /// The artifacts concerned.
    pub artifact_ids: Vec<i64>,
    /// The execution concerned, when known.
    pub execution_id: Option<i64>,
    /// Its run, when known.
    pub run_id: Option<String>,
    /// Its node (or shard task), when known.
    pub node: Option<String>,
    /// The artifact's URI, or the directory's path.
    pub location: String,
    /// What is wrong, in words.
    pub problem: String,
    /// What repairing does, or `None` when it leaves this to a person.
    pub repair: Option<String>,
    /// Whether it was repaired.
    pub repaired: bool,
    /// Why repairing it failed.
    pub repair_error: Option<String>,
}

/// An execution that is RUNNING in a run that has not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningExecution {
    /// The execution.
    pub execution_id: i64,
    /// Its node (or shard task).
    pub node: String,
    /// Its run.
    pub run_id: String,
}

/// How much was looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// LIVE artifacts under the root.
    pub live: usize,
    /// PENDING artifacts.
    pub pending: usize,
    /// LIVE artifacts outside the root (imported data, or another root's), not checked.
    pub outside_root: usize,
    /// Staging directories.
    pub staging: usize,
    /// Output directories or prefixes under the root.
    pub outputs: usize,
}

/// What [`doctor`] found, and what it repaired.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DoctorReport {
    /// The store (without its password).
    pub store: String,
    /// The artifact root.
    pub root: String,
    /// Whether repairs were made.
    pub repair: bool,
    /// How much was looked at.
    pub checked: Checked,
    /// What is wrong, in the order of [`FindingKind`].
    pub findings: Vec<Finding>,
    /// Executions RUNNING in runs that have not ended: running now, or their process died
    /// and their run was not resumed yet. Left alone.
    pub running: Vec<RunningExecution>,
}

impl DoctorReport {
    /// The findings not repaired.
    pub fn remaining(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| !finding.repaired)
            .count()
    }

    /// Whether nothing is wrong any more.
    pub fn is_healthy(&self) -> bool {
        self.remaining() == 0
    }
}

/// Checks `store` against `storage`'s root; with `repair`, repairs what is safe to repair (see
/// the module's guide).
pub async fn doctor(
    store: &dyn MetadataStore,
    storage: &ArtifactStorage,
    repair: bool,
) -> Result<DoctorReport> {
    let mut report = DoctorReport {
        store: store.location(),
        root: storage.root().to_string(),
        repair,
        ..DoctorReport::default()
    };
    let artifacts = store.get_artifacts(&NodeQuery::all()).await?;
    let executions = Executions::read(store, &artifacts).await?;
    report.running = executions.running();
    let root_present = storage.local_root().is_none_or(Path::exists);
    if root_present {
        live_files_missing(storage, &artifacts, &mut report).await?;
    } else {
        report.findings.push(Finding::new(
            FindingKind::RootMissing,
            report.root.clone(),
            "the artifact root does not exist (is its disk mounted?): LIVE artifacts and \
             outputs are not checked against it"
                .to_owned(),
            None,
        ));
    }
    interrupted_executions(&executions, &artifacts, &mut report);
    stale_pending(&executions, &artifacts, &mut report);
    orphan_staging(storage, &executions, &artifacts, &mut report)?;
    if root_present {
        orphan_outputs(storage, &artifacts, &mut report).await?;
    }
    if repair {
        repair_findings(store, &executions, &mut report).await;
    }
    report.findings.sort_by_key(|finding| finding.kind);
    Ok(report)
}

impl Finding {
    fn new(kind: FindingKind, location: String, problem: String, repair: Option<&str>) -> Self {
        Finding {
            kind,
            artifact_ids: Vec::new(),
            execution_id: None,
            run_id: None,
            node: None,
            location,
            problem,
            repair: repair.map(str::to_owned),
            repaired: false,
            repair_error: None,
        }
    }

    /// The node and execution of an output URI laid out as
    /// `<root>/<pipeline>/<node>/<output>/<execution-id>`.
    fn at_output(mut self, storage: &ArtifactStorage, uri: &str) -> Self {
        if let Some(relative) = storage.relative_path(uri) {
            let parts: Vec<&str> = relative.split('/').collect();
            if let [_, node, _, id] = parts.as_slice() {
                self.node = Some((*node).to_owned());
                self.execution_id = id.parse().ok();
            }
        }
        self
    }
}

/// The executions the check needs: those RUNNING or NEW, each with whether its run has ended
/// since it started, and those PENDING artifacts name.
struct Executions {
    /// RUNNING or NEW executions whose run ended after they started, with the run's context.
    interrupted: BTreeMap<i64, (Execution, i64)>,
    /// RUNNING or NEW executions whose run has not ended (or was resumed since).
    running: BTreeMap<i64, Execution>,
    /// Every other execution that a PENDING artifact's URI names, by id.
    ended: HashMap<i64, Execution>,
}

impl Executions {
    async fn read(store: &dyn MetadataStore, artifacts: &[Artifact]) -> Result<Self> {
        let open = store
            .get_executions(
                &NodeQuery::all()
                    .states([ExecutionState::Running.code(), ExecutionState::New.code()]),
            )
            .await?;
        let mut runs: HashMap<String, Option<(i64, Option<i64>)>> = HashMap::new();
        let mut interrupted = BTreeMap::new();
        let mut running = BTreeMap::new();
        for execution in open {
            let Some(id) = execution.id else { continue };
            let run_id = text(&execution, properties::RUN_ID).unwrap_or_default();
            if !runs.contains_key(&run_id) {
                let run = run_end(store, &run_id).await?;
                runs.insert(run_id.clone(), run);
            }
            match runs.get(&run_id).copied().flatten() {
                Some((context, Some(finished_ms)))
                    if finished_ms >= execution.create_time_since_epoch =>
                {
                    interrupted.insert(id, (execution, context));
                }
                _ => {
                    running.insert(id, execution);
                }
            }
        }
        let named: BTreeSet<i64> = artifacts
            .iter()
            .filter(|artifact| artifact.state == ArtifactState::Pending)
            .filter_map(execution_of)
            .filter(|id| !interrupted.contains_key(id) && !running.contains_key(id))
            .collect();
        let ended = if named.is_empty() {
            HashMap::new()
        } else {
            store
                .get_executions(&NodeQuery::all().ids(named))
                .await?
                .into_iter()
                .filter_map(|execution| Some((execution.id?, execution)))
                .collect()
        };
        Ok(Executions {
            interrupted,
            running,
            ended,
        })
    }

    fn running(&self) -> Vec<RunningExecution> {
        self.running
            .iter()
            .map(|(&execution_id, execution)| RunningExecution {
                execution_id,
                node: text(execution, properties::NODE_ID).unwrap_or_default(),
                run_id: text(execution, properties::RUN_ID).unwrap_or_default(),
            })
            .collect()
    }
}

/// The context of run `run_id` and when it ended, if it did.
async fn run_end(store: &dyn MetadataStore, run_id: &str) -> Result<Option<(i64, Option<i64>)>> {
    let runs = store
        .get_contexts(&NodeQuery::all().of_type(PIPELINE_RUN_CONTEXT).named(run_id))
        .await?;
    Ok(runs.into_iter().find_map(|run| {
        let finished = match run.custom_properties.get(properties::FINISHED_MS) {
            Some(Value::Int(ms)) => Some(*ms),
            _ => None,
        };
        Some((run.id?, finished))
    }))
}

fn text(execution: &Execution, property: &str) -> Option<String> {
    match execution.custom_properties.get(property) {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    }
}

/// The execution an output artifact's URI names (its last segment).
fn execution_of(artifact: &Artifact) -> Option<i64> {
    artifact.uri.as_deref()?.rsplit('/').next()?.parse().ok()
}

fn state_name(state: ExecutionState) -> String {
    format!("{state:?}").to_uppercase()
}

async fn live_files_missing(
    storage: &ArtifactStorage,
    artifacts: &[Artifact],
    report: &mut DoctorReport,
) -> Result<()> {
    let mut live = Vec::new();
    for artifact in artifacts {
        let (Some(id), Some(uri), ArtifactState::Live) =
            (artifact.id, &artifact.uri, artifact.state)
        else {
            continue;
        };
        if storage.relative_path(uri).is_some() {
            live.push((id, uri.clone()));
        } else {
            report.checked.outside_root += 1;
        }
    }
    report.checked.live = live.len();
    let what = if storage.local_root().is_some() {
        "LIVE, but its directory is gone"
    } else {
        "LIVE, but its manifest is missing: its upload never finished or its objects were removed"
    };
    for chunk in live.chunks(CONCURRENT_CHECKS) {
        let mut checks = tokio::task::JoinSet::new();
        for (id, uri) in chunk.iter().cloned() {
            let storage = storage.clone();
            checks.spawn(async move {
                let complete = storage.is_complete(&uri).await;
                (id, uri, complete)
            });
        }
        while let Some(joined) = checks.join_next().await {
            let (id, uri, complete) = joined.map_err(|error| RunnerError::TaskFailed {
                node: "doctor".to_owned(),
                message: error.to_string(),
            })?;
            if !complete? {
                let mut finding = Finding::new(
                    FindingKind::LiveFilesMissing,
                    uri.clone(),
                    what.to_owned(),
                    Some(
                        "mark it DELETED, so that the cache and resolvers stop using it (the \
                         node that made it runs again next time)",
                    ),
                )
                .at_output(storage, &uri);
                finding.artifact_ids = vec![id];
                report.findings.push(finding);
            }
        }
    }
    Ok(())
}

/// The PENDING outputs of execution `id`.
fn pending_of(artifacts: &[Artifact], id: i64) -> Vec<i64> {
    artifacts
        .iter()
        .filter(|artifact| {
            artifact.state == ArtifactState::Pending && execution_of(artifact) == Some(id)
        })
        .filter_map(|artifact| artifact.id)
        .collect()
}

fn interrupted_executions(
    executions: &Executions,
    artifacts: &[Artifact],
    report: &mut DoctorReport,
) {
    for (&id, (execution, _)) in &executions.interrupted {
        let run_id = text(execution, properties::RUN_ID).unwrap_or_default();
        let node = text(execution, properties::NODE_ID).unwrap_or_default();
        let mut finding = Finding::new(
            FindingKind::InterruptedExecution,
            format!("execution {id}"),
            format!(
                "{}, but its run `{run_id}` ended after it started: its process died",
                state_name(execution.last_known_state)
            ),
            Some("mark it FAILED and its PENDING outputs ABANDONED (what resuming the run does)"),
        );
        finding.artifact_ids = pending_of(artifacts, id);
        finding.execution_id = Some(id);
        finding.run_id = Some(run_id);
        finding.node = Some(node);
        report.findings.push(finding);
    }
}

fn stale_pending(executions: &Executions, artifacts: &[Artifact], report: &mut DoctorReport) {
    for artifact in artifacts {
        let (Some(id), ArtifactState::Pending) = (artifact.id, artifact.state) else {
            continue;
        };
        report.checked.pending += 1;
        let execution_id = execution_of(artifact);
        let problem = match execution_id {
            Some(execution) if executions.running.contains_key(&execution) => continue,
            Some(execution) if executions.interrupted.contains_key(&execution) => continue,
            Some(execution) => match executions.ended.get(&execution) {
                Some(ended) => format!(
                    "PENDING, but execution {execution} that writes it ended {}",
                    state_name(ended.last_known_state)
                ),
                None => format!("PENDING, but execution {execution} is not in the store"),
            },
            None => "PENDING, and its URI names no execution".to_owned(),
        };
        let uri = artifact.uri.clone().unwrap_or_default();
        let mut finding = Finding::new(
            FindingKind::StalePending,
            uri,
            problem,
            Some("mark it ABANDONED (`gc` then removes whatever it wrote)"),
        );
        finding.artifact_ids = vec![id];
        finding.execution_id = execution_id;
        if let Some(ended) = execution_id.and_then(|id| executions.ended.get(&id)) {
            finding.run_id = text(ended, properties::RUN_ID);
            finding.node = text(ended, properties::NODE_ID);
        }
        report.findings.push(finding);
    }
}

/// Every staging directory under `work_dir`: `<pipeline>/<node>/<output>/.staging-<id>`, with
/// its node and execution id.
fn staging_dirs(work_dir: &Path) -> Result<Vec<(PathBuf, String, i64)>> {
    let mut level = vec![(work_dir.to_owned(), String::new())];
    for depth in 0..3 {
        let mut next = Vec::new();
        for (dir, node) in level {
            for (path, name) in subdirectories(&dir)? {
                if !name.starts_with('.') {
                    let node = if depth == 1 { name } else { node.clone() };
                    next.push((path, node));
                }
            }
        }
        level = next;
    }
    let mut found = Vec::new();
    for (dir, node) in level {
        for (path, name) in subdirectories(&dir)? {
            if let Some(id) = Layout::staging_execution_id(&name) {
                found.push((path, node.clone(), id));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The directories in `dir` (none when it does not exist), with their names.
fn subdirectories(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(RunnerError::io(dir, error)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| RunnerError::io(dir, error))?;
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            found.push((
                entry.path(),
                entry.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    Ok(found)
}

fn orphan_staging(
    storage: &ArtifactStorage,
    executions: &Executions,
    artifacts: &[Artifact],
    report: &mut DoctorReport,
) -> Result<()> {
    let live: Vec<PathBuf> = artifacts
        .iter()
        .filter(|artifact| artifact.state == ArtifactState::Live)
        .filter_map(|artifact| artifact.uri.as_deref())
        .map(|uri| crate::layout::local_path(uri).to_owned())
        .collect();
    for (path, node, id) in staging_dirs(storage.work_dir())? {
        report.checked.staging += 1;
        if executions.running.contains_key(&id) {
            continue;
        }
        let state = match (executions.interrupted.get(&id), executions.ended.get(&id)) {
            (Some((execution, _)), _) | (None, Some(execution)) => {
                format!("ended {}", state_name(execution.last_known_state))
            }
            (None, None) => "is not running".to_owned(),
        };
        // Never a directory a LIVE artifact is, or is inside.
        let repair =
            (!live.iter().any(|live| live.starts_with(&path))).then_some("remove the directory");
        let mut finding = Finding::new(
            FindingKind::OrphanStaging,
            path.display().to_string(),
            format!("a staging directory left behind: execution {id} {state}"),
            repair,
        );
        finding.execution_id = Some(id);
        finding.node = Some(node);
        report.findings.push(finding);
    }
    Ok(())
}

async fn orphan_outputs(
    storage: &ArtifactStorage,
    artifacts: &[Artifact],
    report: &mut DoctorReport,
) -> Result<()> {
    let known: BTreeSet<&str> = artifacts
        .iter()
        .filter_map(|artifact| artifact.uri.as_deref())
        .collect();
    for uri in storage.list_at_depth(4).await? {
        // Only what the layout writes: `<pipeline>/<node>/<output>/<execution-id>`.
        if uri
            .rsplit('/')
            .next()
            .and_then(|id| id.parse::<i64>().ok())
            .is_none()
        {
            continue;
        }
        report.checked.outputs += 1;
        if known.contains(uri.as_str()) {
            continue;
        }
        let finding = Finding::new(
            FindingKind::OrphanOutput,
            uri.clone(),
            "no artifact of this store points at it; another store may share this root, so it \
             is left alone: remove it by hand if none does"
                .to_owned(),
            None,
        )
        .at_output(storage, &uri);
        report.findings.push(finding);
    }
    Ok(())
}

/// Makes every repair a finding offers; one that fails keeps its finding, with why.
async fn repair_findings(
    store: &dyn MetadataStore,
    executions: &Executions,
    report: &mut DoctorReport,
) {
    for state in [ArtifactState::Deleted, ArtifactState::Abandoned] {
        let kind = if state == ArtifactState::Deleted {
            FindingKind::LiveFilesMissing
        } else {
            FindingKind::StalePending
        };
        let ids: Vec<i64> = report
            .findings
            .iter()
            .filter(|finding| finding.kind == kind)
            .flat_map(|finding| finding.artifact_ids.iter().copied())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let result = store.set_artifact_states(&ids, state).await;
        for finding in report
            .findings
            .iter_mut()
            .filter(|finding| finding.kind == kind)
        {
            finish(
                finding,
                result.as_ref().map(|_| ()).map_err(ToString::to_string),
            );
        }
    }
    for finding in &mut report.findings {
        let result = match finding.kind {
            FindingKind::InterruptedExecution => {
                let Some((execution, run_context)) = finding
                    .execution_id
                    .and_then(|id| executions.interrupted.get(&id))
                else {
                    continue;
                };
                crate::local::recover_execution(
                    store,
                    *run_context,
                    execution.clone(),
                    ExecutionState::Failed,
                    "its run ended while it was RUNNING: its process died (recovered by doctor)",
                )
                .await
                .map_err(|error| error.to_string())
            }
            FindingKind::OrphanStaging if finding.repair.is_some() => {
                match std::fs::remove_dir_all(&finding.location) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        Err(format!("{}: {error}", finding.location))
                    }
                    _ => Ok(()),
                }
            }
            _ => continue,
        };
        finish(finding, result);
    }
}

fn finish(finding: &mut Finding, result: std::result::Result<(), String>) {
    match result {
        Ok(()) => finding.repaired = true,
        Err(error) => finding.repair_error = Some(error),
    }
}
