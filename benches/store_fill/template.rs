//! The template of a history: three real runs of a pipeline, recorded write by write — the first
//! run of all, a run on new data (every node executes, resolvers find the first run's outputs)
//! and a rerun on the same data (every node served from the cache).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use millrace::metadata::store::EXECUTION_CACHE_CONTEXT;
use millrace::metadata::{MetadataStore, PutExecution, PutExecutionResult, TypeKind, Value};
use millrace::prelude::Pipeline;
use millrace::runner::LocalRunner;

use super::recorder::{RecordingStore, Write};

/// One recorded run.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Its writes, in the order the store finished them.
    pub writes: Vec<Write>,
    /// The run's id.
    pub run_id: String,
    /// When it started, in milliseconds since the epoch (times it recorded are shifted by the
    /// replay from here to the moment it is written again).
    pub started_ms: i64,
    /// The names of the cache entries it created (cache keys).
    pub cache_keys: HashSet<String>,
}

/// Three real runs of a pipeline and how the later ones refer to the first.
#[derive(Debug, Clone)]
pub struct Template {
    /// The first run: it registers the types and makes the pipeline's contexts, its experiment
    /// and its registered model.
    pub first: Segment,
    /// A run on new data.
    pub fresh: Segment,
    /// A rerun of the fresh run's data.
    pub cached: Segment,
    /// The artifact root the runs wrote under.
    pub root: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The first run's artifacts whose counterpart (same type, same node output) the fresh run
    /// made: a later run's reference to the first is one to the run before it.
    pub artifact_roles: Vec<(i64, i64)>,
    /// The same for executions, by node.
    pub execution_roles: Vec<(i64, i64)>,
    /// The same for registered model versions, in order: `(name, first, fresh)`.
    pub version_roles: Vec<(String, i64, i64)>,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

impl Template {
    /// Runs `pipeline` three times through the local runner on a scratch SQLite store in
    /// `scratch` (artifacts under `scratch/root`): once, then after `new_data` once more, then
    /// again unchanged.
    pub async fn record(
        pipeline: &Pipeline,
        scratch: &Path,
        new_data: impl FnOnce() -> std::io::Result<()>,
    ) -> Result<Template, String> {
        let location = format!("sqlite://{}", scratch.join("template.sqlite").display());
        let inner = millrace::metadata::connect(&location)
            .await
            .map_err(|error| error.to_string())?;
        let recorder = Arc::new(RecordingStore::new(inner));
        let root: PathBuf = scratch.join("root");
        let runner = LocalRunner::new(Arc::clone(&recorder) as Arc<dyn MetadataStore>, &root);
        let parameters = pipeline
            .parameter_values(&BTreeMap::new())
            .map_err(|error| error.to_string())?;
        let mut segments = Vec::new();
        let mut new_data = Some(new_data);
        for index in 0..3 {
            if index == 1
                && let Some(new_data) = new_data.take()
            {
                new_data().map_err(|error| format!("adding new data: {error}"))?;
            }
            let started_ms = now_ms();
            let summary = runner
                .run(pipeline, parameters.clone())
                .await
                .map_err(|error| error.to_string())?;
            if !summary.succeeded {
                return Err(format!("template run {} failed", summary.run_id));
            }
            let writes = recorder.take();
            let cache_keys = created_cache_keys(&writes);
            segments.push(Segment {
                writes,
                run_id: summary.run_id,
                started_ms,
                cache_keys,
            });
        }
        let cached = segments.pop().ok_or("no rerun recorded")?;
        let fresh = segments.pop().ok_or("no second run recorded")?;
        let first = segments.pop().ok_or("no first run recorded")?;
        let root = root.display().to_string();
        let artifact_roles = pair(
            &artifact_roles(&first, &root),
            &artifact_roles(&fresh, &root),
        );
        let execution_roles = pair(&execution_roles(&first), &execution_roles(&fresh));
        let version_roles = version_roles(&first, &fresh);
        Ok(Template {
            first,
            fresh,
            cached,
            root,
            pipeline: pipeline.name().to_owned(),
            artifact_roles,
            execution_roles,
            version_roles,
        })
    }
}

/// Every execution request of a segment with what the store answered.
pub fn execution_writes(writes: &[Write]) -> Vec<(&PutExecution, &PutExecutionResult)> {
    let mut pairs = Vec::new();
    for write in writes {
        match write {
            Write::PutExecution { request, result } => pairs.push((request, result)),
            Write::PutExecutionsWithEvents { requests, results } => {
                pairs.extend(requests.iter().zip(results));
            }
            _ => {}
        }
    }
    pairs
}

/// The type ids of the context types called `name` in a segment's type registrations.
fn context_types(writes: &[Write], name: &str) -> HashSet<i64> {
    writes
        .iter()
        .filter_map(|write| match write {
            Write::PutType { node_type, id }
                if node_type.kind == TypeKind::Context && node_type.name == name =>
            {
                Some(*id)
            }
            _ => None,
        })
        .collect()
}

/// The cache entries a segment's executions were recorded under.
fn created_cache_keys(writes: &[Write]) -> HashSet<String> {
    let cache_types = context_types(writes, EXECUTION_CACHE_CONTEXT);
    execution_writes(writes)
        .into_iter()
        .flat_map(|(request, _)| &request.contexts)
        .filter(|context| cache_types.contains(&context.type_id))
        .map(|context| context.name.clone())
        .collect()
}

/// The artifacts a segment created, by role: type and output directory under the root.
fn artifact_roles(segment: &Segment, root: &str) -> HashMap<String, i64> {
    let mut roles = HashMap::new();
    for (request, result) in execution_writes(&segment.writes) {
        for (item, id) in request.artifacts.iter().zip(&result.artifact_ids) {
            if item.artifact.id.is_some() {
                continue;
            }
            let uri = item.artifact.uri.as_deref().unwrap_or_default();
            let directory = uri
                .strip_prefix(root)
                .and_then(|rest| rest.rsplit_once('/'))
                .map_or(uri, |(directory, _)| directory);
            roles.insert(format!("{} {directory}", item.artifact.type_id), *id);
        }
    }
    roles
}

/// The executions a segment created, by node.
fn execution_roles(segment: &Segment) -> HashMap<String, i64> {
    let mut roles = HashMap::new();
    for (request, result) in execution_writes(&segment.writes) {
        if request.execution.id.is_some() {
            continue;
        }
        if let Some(Value::String(node)) = request.execution.custom_properties.get("node_id") {
            roles.insert(node.clone(), result.execution_id);
        }
    }
    roles
}

/// The registered model versions each segment created, paired in order by model.
fn version_roles(first: &Segment, fresh: &Segment) -> Vec<(String, i64, i64)> {
    let versions = |segment: &Segment| {
        let mut by_model: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for write in &segment.writes {
            if let Write::CreateModelVersion { request, version } = write {
                by_model
                    .entry(request.name.clone())
                    .or_default()
                    .push(*version);
            }
        }
        by_model
    };
    let fresh_versions = versions(fresh);
    let mut pairs = Vec::new();
    for (model, first_versions) in versions(first) {
        if let Some(later) = fresh_versions.get(&model) {
            pairs.extend(
                first_versions
                    .iter()
                    .zip(later)
                    .map(|(first, fresh)| (model.clone(), *first, *fresh)),
            );
        }
    }
    pairs
}

/// The ids of the same role in two segments.
fn pair(first: &HashMap<String, i64>, fresh: &HashMap<String, i64>) -> Vec<(i64, i64)> {
    first
        .iter()
        .filter_map(|(role, id)| Some((*id, *fresh.get(role)?)))
        .collect()
}
