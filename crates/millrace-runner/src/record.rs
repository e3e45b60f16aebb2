//! A run in the metadata store: the types it uses and its contexts, in TFX's vocabulary
//! (`pipeline`, `pipeline_run` as its child, `node` named `<pipeline>.<node>`).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use millrace_core::Pipeline;
use millrace_core::spec::{ParameterType, PipelineSpec, TaskSpec};
use millrace_metadata::store::{
    EXECUTION_CACHE_CONTEXT, NODE_CONTEXT, PIPELINE_CONTEXT, PIPELINE_RUN_CONTEXT,
};
use millrace_metadata::{Context, MetadataStore, NodeQuery, NodeType, ParentContext, Value};
use serde_json::Value as Json;

use crate::error::{Result, RunnerError};
use crate::properties;
use crate::state::RunState;

/// The execution type of resolver nodes.
pub const RESOLVER_EXECUTION_TYPE: &str = "millrace.Resolver";
/// The execution type of importer nodes.
pub const IMPORTER_EXECUTION_TYPE: &str = "millrace.Importer";

/// A run's identity and the ids of everything it records under.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The run's id (the `pipeline_run` context's name).
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The pipeline's fingerprint when the run started.
    pub fingerprint: String,
    /// The value of every runtime parameter in this run.
    pub parameters: BTreeMap<String, Json>,
    /// The `pipeline` context.
    pub pipeline_context: i64,
    /// The `pipeline_run` context.
    pub run_context: i64,
    /// The experiment its tracked run belongs to ([`crate::tracking`]).
    pub experiment_id: i64,
    /// Each node's fingerprint (its spec's), so that `rerun` can say which nodes changed.
    pub node_fingerprints: BTreeMap<String, String>,
    artifact_types: HashMap<String, i64>,
    execution_types: HashMap<String, i64>,
    node_context_type: i64,
    cache_context_type: i64,
    run_context_type: i64,
    pipeline_context_type: i64,
}

/// The UTC calendar date and time of `seconds` since the Unix epoch:
/// `(year, month, day, hour, minute, second)` (Howard Hinnant's civil-from-days algorithm).
pub fn utc_date_time(seconds: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

/// A new run id: the UTC time and a few hex digits, e.g. `20261127T152300-3fa9c1`.
pub fn new_run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (year, month, day, hour, minute, second) =
        utc_date_time(i64::try_from(now.as_secs()).unwrap_or(0));
    let salt = blake3::hash(
        format!(
            "{}-{}-{:?}",
            now.as_nanos(),
            std::process::id(),
            std::thread::current().id()
        )
        .as_bytes(),
    );
    format!(
        "{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}-{}",
        &salt.to_hex()[..6]
    )
}

impl RunRecord {
    /// Registers the pipeline's types and creates the contexts of a new run, tracked in the
    /// pipeline's experiment (or the one `MILLRACE_EXPERIMENT` names).
    pub async fn start(
        store: &dyn MetadataStore,
        pipeline: &Pipeline,
        run_id: &str,
        parameters: BTreeMap<String, Json>,
    ) -> Result<Self> {
        let experiment = std::env::var(crate::tracking::EXPERIMENT_VARIABLE).ok();
        RunRecord::start_in(store, pipeline, run_id, parameters, experiment.as_deref()).await
    }

    /// Like [`start`](Self::start), tracked in the named experiment `experiment` (made if
    /// new; `None`: the pipeline's own).
    pub async fn start_in(
        store: &dyn MetadataStore,
        pipeline: &Pipeline,
        run_id: &str,
        parameters: BTreeMap<String, Json>,
        experiment: Option<&str>,
    ) -> Result<Self> {
        let mut record = RunRecord::register(store, pipeline, run_id, parameters).await?;
        let pipeline_context = get_or_create_context(
            store,
            PIPELINE_CONTEXT,
            record.pipeline_context_type,
            pipeline.name(),
        )
        .await?;
        let run = Context {
            type_id: record.run_context_type,
            name: run_id.to_owned(),
            custom_properties: record.run_properties(),
            ..Context::default()
        };
        let run_context = store
            .put_contexts(&[run])
            .await
            .map_err(|error| match error {
                millrace_metadata::MetadataError::AlreadyExists(_) => RunnerError::RunExists {
                    run_id: run_id.to_owned(),
                },
                other => other.into(),
            })?[0];
        store
            .put_parent_contexts(&[ParentContext {
                child_id: run_context,
                parent_id: pipeline_context,
            }])
            .await?;
        record.pipeline_context = pipeline_context;
        record.run_context = run_context;
        record.experiment_id =
            crate::tracking::start_pipeline_run(store, &record, experiment).await?;
        Ok(record)
    }

    /// Opens run `run_id`, or starts it with `parameters` if no process has yet: what each task
    /// of a remote run does, in whatever order the engine starts them.
    pub async fn open_or_start(
        store: &dyn MetadataStore,
        pipeline: &Pipeline,
        run_id: &str,
        parameters: BTreeMap<String, Json>,
    ) -> Result<Self> {
        let exists = !store
            .get_contexts(&NodeQuery::all().of_type(PIPELINE_RUN_CONTEXT).named(run_id))
            .await?
            .is_empty();
        if !exists {
            match RunRecord::start(store, pipeline, run_id, parameters).await {
                Ok(record) => return Ok(record),
                // Another task started it meanwhile.
                Err(RunnerError::RunExists { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        RunRecord::open(store, pipeline, run_id).await
    }

    /// Opens an existing run of this pipeline, refusing one started by a different pipeline.
    pub async fn open(
        store: &dyn MetadataStore,
        pipeline: &Pipeline,
        run_id: &str,
    ) -> Result<Self> {
        let run = run_context(store, run_id).await?;
        let fingerprint = match run.custom_properties.get(properties::FINGERPRINT) {
            Some(Value::String(fingerprint)) => fingerprint.clone(),
            _ => String::new(),
        };
        let ours = pipeline.fingerprint().to_hex();
        if fingerprint != ours {
            return Err(RunnerError::RunOfAnotherPipeline {
                run_id: run_id.to_owned(),
                recorded: fingerprint,
                pipeline: pipeline.name().to_owned(),
                ours,
            });
        }
        let parameters = recorded_parameters(&run, pipeline.spec());
        let mut record = RunRecord::register(store, pipeline, run_id, parameters).await?;
        record.run_context = run.id.unwrap_or_default();
        record.pipeline_context = get_or_create_context(
            store,
            PIPELINE_CONTEXT,
            record.pipeline_context_type,
            pipeline.name(),
        )
        .await?;
        record.experiment_id = crate::tracking::pipeline_run_experiment(store, &record).await?;
        Ok(record)
    }

    async fn register(
        store: &dyn MetadataStore,
        pipeline: &Pipeline,
        run_id: &str,
        parameters: BTreeMap<String, Json>,
    ) -> Result<Self> {
        let mut artifact_types = HashMap::new();
        let mut execution_types = HashMap::new();
        for node in &pipeline.spec().nodes {
            let names = node
                .outputs
                .values()
                .map(|output| output.artifact_type.as_str())
                .chain(
                    node.inputs
                        .values()
                        .map(|input| input.artifact_type.as_str()),
                );
            for name in names {
                if artifact_types.contains_key(name) {
                    continue;
                }
                let node_type = match pipeline.registry().artifact_type(name) {
                    Some(info) => NodeType::of_artifact(info),
                    None => NodeType::artifact(name),
                };
                artifact_types.insert(name.to_owned(), store.put_type(&node_type).await?);
            }
            let execution_type = match &node.task {
                TaskSpec::Component { kind, .. } => kind.as_str(),
                TaskSpec::Resolver { .. } => RESOLVER_EXECUTION_TYPE,
                TaskSpec::Importer { .. } => IMPORTER_EXECUTION_TYPE,
            };
            if !execution_types.contains_key(execution_type) {
                let id = store.put_type(&NodeType::execution(execution_type)).await?;
                execution_types.insert(execution_type.to_owned(), id);
            }
        }
        Ok(RunRecord {
            run_id: run_id.to_owned(),
            pipeline: pipeline.name().to_owned(),
            fingerprint: pipeline.fingerprint().to_hex(),
            parameters,
            pipeline_context: 0,
            run_context: 0,
            experiment_id: 0,
            node_fingerprints: node_fingerprints(pipeline),
            artifact_types,
            execution_types,
            node_context_type: store.put_type(&NodeType::context(NODE_CONTEXT)).await?,
            cache_context_type: store
                .put_type(&NodeType::context(EXECUTION_CACHE_CONTEXT))
                .await?,
            run_context_type: store
                .put_type(&NodeType::context(PIPELINE_RUN_CONTEXT))
                .await?,
            pipeline_context_type: store.put_type(&NodeType::context(PIPELINE_CONTEXT)).await?,
        })
    }

    /// The custom properties of the run's context: the pipeline, its fingerprint and the
    /// run's parameter values.
    fn run_properties(&self) -> millrace_metadata::Properties {
        [
            (
                properties::FINGERPRINT.to_owned(),
                Value::String(self.fingerprint.clone()),
            ),
            (
                properties::PIPELINE.to_owned(),
                Value::String(self.pipeline.clone()),
            ),
            (
                properties::PARAMETERS.to_owned(),
                Value::Struct(self.parameters.clone().into_iter().collect()),
            ),
            (
                properties::NODE_FINGERPRINTS.to_owned(),
                Value::Struct(
                    self.node_fingerprints
                        .iter()
                        .map(|(node, digest)| (node.clone(), Json::String(digest.clone())))
                        .collect(),
                ),
            ),
        ]
        .into()
    }

    /// Records on the run's context how the run ended and when, for run listings (one small
    /// write at the end of a run).
    pub async fn finish(&self, store: &dyn MetadataStore, state: RunState) -> Result<()> {
        let mut custom_properties = self.run_properties();
        custom_properties.insert(
            properties::RUN_STATE.to_owned(),
            Value::from(state.as_str()),
        );
        custom_properties.insert(properties::FINISHED_MS.to_owned(), Value::Int(now_ms()));
        store
            .put_contexts(&[Context {
                id: Some(self.run_context),
                type_id: self.run_context_type,
                name: self.run_id.clone(),
                custom_properties,
                ..Context::default()
            }])
            .await?;
        crate::tracking::end_pipeline_run(store, &self.run_id, state).await;
        Ok(())
    }

    /// The id of artifact type `name`.
    pub fn artifact_type(&self, name: &str) -> Result<i64> {
        self.artifact_types
            .get(name)
            .copied()
            .ok_or_else(|| RunnerError::UnknownType {
                kind: "artifact",
                name: name.to_owned(),
                pipeline: self.pipeline.clone(),
            })
    }

    /// The id of the execution type of a node's task.
    pub fn execution_type(&self, task: &TaskSpec) -> Result<i64> {
        let name = match task {
            TaskSpec::Component { kind, .. } => kind.as_str(),
            TaskSpec::Resolver { .. } => RESOLVER_EXECUTION_TYPE,
            TaskSpec::Importer { .. } => IMPORTER_EXECUTION_TYPE,
        };
        self.execution_types
            .get(name)
            .copied()
            .ok_or_else(|| RunnerError::UnknownType {
                kind: "execution",
                name: name.to_owned(),
                pipeline: self.pipeline.clone(),
            })
    }

    /// The contexts a node's executions and artifacts belong to: the pipeline, the run, the node.
    pub fn contexts(&self, node: &str) -> Vec<Context> {
        vec![
            Context {
                id: Some(self.pipeline_context),
                type_id: self.pipeline_context_type,
                name: self.pipeline.clone(),
                ..Context::default()
            },
            Context {
                id: Some(self.run_context),
                type_id: self.run_context_type,
                name: self.run_id.clone(),
                ..Context::default()
            },
            self.node_context(node),
        ]
    }

    /// The (possibly new) context of node `node`.
    pub fn node_context(&self, node: &str) -> Context {
        Context {
            type_id: self.node_context_type,
            name: format!("{}.{node}", self.pipeline),
            ..Context::default()
        }
    }

    /// The (possibly new) cache context of a cache key.
    pub fn cache_context(&self, cache_key: &str) -> Context {
        Context {
            type_id: self.cache_context_type,
            name: cache_key.to_owned(),
            ..Context::default()
        }
    }
}

/// Each node's fingerprint: the first 16 hex digits of its spec's.
pub fn node_fingerprints(pipeline: &Pipeline) -> BTreeMap<String, String> {
    pipeline
        .spec()
        .nodes
        .iter()
        .map(|node| {
            let digest = millrace_core::fingerprint::Fingerprint::of_serialize(node);
            (node.id.clone(), digest.to_hex()[..16].to_owned())
        })
        .collect()
}

/// The context of run `run_id`, or an error that says there is no such run.
pub(crate) async fn run_context(store: &dyn MetadataStore, run_id: &str) -> Result<Context> {
    store
        .get_contexts(&NodeQuery::all().of_type(PIPELINE_RUN_CONTEXT).named(run_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| RunnerError::UnknownRun {
            run_id: run_id.to_owned(),
            store: store.location(),
        })
}

/// The parameter values a run recorded on its context. ML-Metadata keeps a struct property as
/// a protobuf Struct, whose numbers are doubles: an int parameter comes back as `12.0` and is
/// made an integer again, by the type the pipeline declares for it.
pub(crate) fn recorded_parameters(run: &Context, spec: &PipelineSpec) -> BTreeMap<String, Json> {
    let mut parameters: BTreeMap<String, Json> =
        match run.custom_properties.get(properties::PARAMETERS) {
            Some(Value::Struct(map)) => map.clone().into_iter().collect(),
            _ => BTreeMap::new(),
        };
    for declared in &spec.parameters {
        if declared.parameter_type == ParameterType::Int
            && let Some(value) = parameters.get_mut(&declared.name)
            && let Some(number) = value.as_f64()
            && !value.is_i64()
            && number.fract() == 0.0
            && number.abs() < 9.0e15
        {
            *value = Json::from(number as i64);
        }
    }
    parameters
}

/// Milliseconds since the epoch, now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The id of the context of type `type_name` (id `type_id`) called `name`, created if new.
async fn get_or_create_context(
    store: &dyn MetadataStore,
    type_name: &str,
    type_id: i64,
    name: &str,
) -> Result<i64> {
    let query = NodeQuery::all().of_type(type_name).named(name);
    let found = store.get_contexts(&query).await?.into_iter().next();
    if let Some(context) = found {
        return Ok(context.id.unwrap_or_default());
    }
    match store
        .put_contexts(&[Context {
            type_id,
            name: name.to_owned(),
            ..Context::default()
        }])
        .await
    {
        Ok(ids) => Ok(ids[0]),
        // Another process created it meanwhile.
        Err(millrace_metadata::MetadataError::AlreadyExists(_)) => Ok(store
            .get_contexts(&query)
            .await?
            .into_iter()
            .next()
            .and_then(|context| context.id)
            .unwrap_or_default()),
        Err(other) => Err(other.into()),
    }
}
