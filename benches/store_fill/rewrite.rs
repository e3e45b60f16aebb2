//! How a replayed run differs from the recorded one: every id is the one the store gave the
//! replayed record, run ids, cache keys and tracked run ids are new words, artifact paths sit
//! under a directory of their own, and times are shifted to now.

use std::collections::HashMap;

use millrace::metadata::registry::{Decision, NewModelVersion};
use millrace::metadata::tracking::{LogBatch, NewRun, RunSubject, RunUpdate};
use millrace::metadata::{
    Artifact, ArtifactAndEvent, Context, EXECUTION_ID_PLACEHOLDER, Event, Execution, Properties,
    PutExecution, PutExecutionResult, Value,
};
use serde_json::Value as Json;

/// Execution properties whose integer is an execution's id.
const EXECUTION_ID_PROPERTIES: &[&str] = &["cached_execution_id"];
/// Artifact properties whose integer is an artifact's id.
const ARTIFACT_ID_PROPERTIES: &[&str] = &["current_model_id", "baseline_model_id"];
/// Properties whose integer is a time in milliseconds since the epoch.
const TIME_PROPERTIES: &[&str] = &["finished_ms"];
/// The struct property holding a cache key's components, whose `inputs` are artifact ids.
const CACHE_COMPONENTS: &str = "cache_components";

/// The replayed id of every recorded one, by kind.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub types: HashMap<i64, i64>,
    pub artifacts: HashMap<i64, i64>,
    pub executions: HashMap<i64, i64>,
    pub contexts: HashMap<i64, i64>,
    pub experiments: HashMap<i64, i64>,
    /// Registered model versions, by model name and recorded version.
    pub versions: HashMap<(String, i64), i64>,
    /// The replayed URI of every recorded artifact: a run passes its inputs back whole, and
    /// an input made by an earlier run keeps the path that run gave it.
    pub uris: HashMap<i64, String>,
}

fn look_up(map: &HashMap<i64, i64>, id: i64, kind: &str) -> Result<i64, String> {
    map.get(&id)
        .copied()
        .ok_or_else(|| format!("the template refers to {kind} {id}, which was not replayed"))
}

impl Ids {
    pub fn type_id(&self, id: i64) -> Result<i64, String> {
        look_up(&self.types, id, "type")
    }

    pub fn artifact(&self, id: i64) -> Result<i64, String> {
        look_up(&self.artifacts, id, "artifact")
    }

    pub fn execution(&self, id: i64) -> Result<i64, String> {
        look_up(&self.executions, id, "execution")
    }

    pub fn context(&self, id: i64) -> Result<i64, String> {
        look_up(&self.contexts, id, "context")
    }

    pub fn experiment(&self, id: i64) -> Result<i64, String> {
        look_up(&self.experiments, id, "experiment")
    }

    pub fn version(&self, model: &str, version: i64) -> Result<i64, String> {
        self.versions
            .get(&(model.to_owned(), version))
            .copied()
            .ok_or_else(|| {
                format!("the template refers to version {version} of `{model}`, not replayed")
            })
    }
}

/// The words, paths and times of one replayed run.
#[derive(Debug, Clone)]
pub struct Rename {
    /// Recorded word → replayed word (run ids, cache keys, tracked run ids).
    pub words: HashMap<String, String>,
    /// The recorded artifact root and what replaces it.
    pub root: (String, String),
    /// `mlflow-artifacts:/<pipeline>/` and what replaces it (a registered version's storage
    /// location, relative to the root).
    pub relative_root: (String, String),
    /// What a path under the root ends with: the replayed run's label, so that every
    /// replayed run's artifacts lie side by side in the recorded run's few directories.
    pub suffix: String,
    /// Milliseconds added to every recorded time.
    pub shift_ms: i64,
}

/// Whether `c` can be part of a run id, cache key or tracked run id.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl Rename {
    /// A text with every renamed word and path replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text;
        while !rest.is_empty() {
            let end = rest.find(|c| !is_word_char(c)).unwrap_or(rest.len());
            let (word, after) = rest.split_at(end);
            match self.words.get(word) {
                Some(renamed) if word.len() >= 16 => out.push_str(renamed),
                _ => out.push_str(word),
            }
            let separators = after.find(is_word_char).unwrap_or(after.len());
            out.push_str(&after[..separators]);
            rest = &after[separators..];
        }
        for (from, to) in [&self.root, &self.relative_root] {
            if let Some(rest) = out.strip_prefix(from.as_str()) {
                out = format!("{to}{rest}{}", self.suffix);
            } else if out.contains(from.as_str()) {
                out = out.replace(from.as_str(), to);
            }
        }
        out
    }

    pub fn time(&self, ms: i64) -> i64 {
        if ms > 0 { ms + self.shift_ms } else { ms }
    }

    fn json(&self, json: &Json) -> Json {
        match json {
            Json::String(text) => Json::String(self.text(text)),
            Json::Array(items) => Json::Array(items.iter().map(|item| self.json(item)).collect()),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(key, value)| (key.clone(), self.json(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A cache key's components: texts renamed, input artifacts replayed.
    fn cache_components(
        &self,
        map: &serde_json::Map<String, Json>,
        ids: &Ids,
    ) -> Result<serde_json::Map<String, Json>, String> {
        let mut renamed = serde_json::Map::new();
        for (key, value) in map {
            let value = match (key.as_str(), value) {
                ("inputs", Json::Object(inputs)) => {
                    let mut replayed = serde_json::Map::new();
                    for (input, artifacts) in inputs {
                        let Json::Array(list) = artifacts else {
                            replayed.insert(input.clone(), artifacts.clone());
                            continue;
                        };
                        let list = list
                            .iter()
                            .map(|id| match id.as_i64() {
                                Some(id) => ids.artifact(id).map(Json::from),
                                None => Ok(id.clone()),
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        replayed.insert(input.clone(), Json::Array(list));
                    }
                    Json::Object(replayed)
                }
                _ => self.json(value),
            };
            renamed.insert(key.clone(), value);
        }
        Ok(renamed)
    }

    fn properties(&self, properties: &Properties, ids: &Ids) -> Result<Properties, String> {
        properties
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::Int(id) if EXECUTION_ID_PROPERTIES.contains(&name.as_str()) => {
                        Value::Int(ids.execution(*id)?)
                    }
                    Value::Int(id) if ARTIFACT_ID_PROPERTIES.contains(&name.as_str()) => {
                        Value::Int(ids.artifact(*id)?)
                    }
                    Value::Int(ms) if TIME_PROPERTIES.contains(&name.as_str()) => {
                        Value::Int(self.time(*ms))
                    }
                    Value::String(text) => Value::String(self.text(text)),
                    Value::Struct(map) if name == CACHE_COMPONENTS => {
                        Value::Struct(self.cache_components(map, ids)?)
                    }
                    Value::Struct(map) => match self.json(&Json::Object(map.clone())) {
                        Json::Object(map) => Value::Struct(map),
                        _ => value.clone(),
                    },
                    other => other.clone(),
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    pub fn artifact(&self, artifact: &Artifact, ids: &Ids) -> Result<Artifact, String> {
        Ok(Artifact {
            id: artifact.id.map(|id| ids.artifact(id)).transpose()?,
            type_id: ids.type_id(artifact.type_id)?,
            uri: match artifact.id.and_then(|id| ids.uris.get(&id)) {
                Some(uri) => Some(uri.clone()),
                None => artifact.uri.as_deref().map(|uri| self.text(uri)),
            },
            name: artifact.name.as_deref().map(|name| self.text(name)),
            properties: self.properties(&artifact.properties, ids)?,
            custom_properties: self.properties(&artifact.custom_properties, ids)?,
            ..artifact.clone()
        })
    }

    pub fn execution(&self, execution: &Execution, ids: &Ids) -> Result<Execution, String> {
        Ok(Execution {
            id: execution.id.map(|id| ids.execution(id)).transpose()?,
            type_id: ids.type_id(execution.type_id)?,
            name: execution.name.as_deref().map(|name| self.text(name)),
            properties: self.properties(&execution.properties, ids)?,
            custom_properties: self.properties(&execution.custom_properties, ids)?,
            ..execution.clone()
        })
    }

    pub fn context(&self, context: &Context, ids: &Ids) -> Result<Context, String> {
        Ok(Context {
            id: context.id.map(|id| ids.context(id)).transpose()?,
            type_id: ids.type_id(context.type_id)?,
            name: self.text(&context.name),
            properties: self.properties(&context.properties, ids)?,
            custom_properties: self.properties(&context.custom_properties, ids)?,
            ..context.clone()
        })
    }

    pub fn event(&self, event: &Event, ids: &Ids) -> Result<Event, String> {
        Ok(Event {
            artifact_id: ids.artifact(event.artifact_id)?,
            execution_id: ids.execution(event.execution_id)?,
            milliseconds_since_epoch: self.time(event.milliseconds_since_epoch),
            ..event.clone()
        })
    }

    /// An execution request. A new output's URI named after the new execution is given the
    /// recorded execution's id instead, as every later write of it names it.
    pub fn put_execution(
        &self,
        request: &PutExecution,
        recorded: &PutExecutionResult,
        ids: &Ids,
    ) -> Result<PutExecution, String> {
        let execution_id = recorded.execution_id.to_string();
        let artifacts = request
            .artifacts
            .iter()
            .map(|item| {
                let mut artifact = item.artifact.clone();
                if let Some(uri) = &artifact.uri {
                    artifact.uri = Some(uri.replace(EXECUTION_ID_PLACEHOLDER, &execution_id));
                }
                Ok(ArtifactAndEvent {
                    artifact: self.artifact(&artifact, ids)?,
                    event: item.event.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(PutExecution {
            execution: self.execution(&request.execution, ids)?,
            artifacts,
            contexts: request
                .contexts
                .iter()
                .map(|context| self.context(context, ids))
                .collect::<Result<Vec<_>, _>>()?,
        })
    }

    pub fn new_run(&self, request: &NewRun, ids: &Ids) -> Result<NewRun, String> {
        Ok(NewRun {
            run_id: request.run_id.as_deref().map(|id| self.text(id)),
            experiment_id: ids.experiment(request.experiment_id)?,
            name: request.name.as_deref().map(|name| self.text(name)),
            user_id: request.user_id.clone(),
            start_time: self.time(request.start_time),
            tags: self.map(&request.tags),
            parent_run_id: request.parent_run_id.as_deref().map(|id| self.text(id)),
            subject: match request.subject {
                RunSubject::NewExecution => RunSubject::NewExecution,
                RunSubject::Execution(id) => RunSubject::Execution(ids.execution(id)?),
                RunSubject::PipelineRun(id) => RunSubject::PipelineRun(ids.context(id)?),
            },
        })
    }

    pub fn run_update(&self, update: &RunUpdate) -> RunUpdate {
        RunUpdate {
            status: update.status,
            end_time: update.end_time.map(|ms| self.time(ms)),
            name: update.name.as_deref().map(|name| self.text(name)),
        }
    }

    pub fn log_batch(&self, batch: &LogBatch) -> LogBatch {
        let pairs = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(key, value)| (key.clone(), self.text(value)))
                .collect()
        };
        LogBatch {
            metrics: batch
                .metrics
                .iter()
                .map(|metric| {
                    let mut metric = metric.clone();
                    metric.point.timestamp = self.time(metric.point.timestamp);
                    metric
                })
                .collect(),
            params: pairs(&batch.params),
            tags: pairs(&batch.tags),
        }
    }

    pub fn model_version(
        &self,
        request: &NewModelVersion,
        ids: &Ids,
    ) -> Result<NewModelVersion, String> {
        Ok(NewModelVersion {
            name: request.name.clone(),
            source: self.text(&request.source),
            artifact_id: request.artifact_id.map(|id| ids.artifact(id)).transpose()?,
            storage_location: request.storage_location.as_deref().map(|at| self.text(at)),
            run_id: request.run_id.as_deref().map(|id| self.text(id)),
            run_link: self.text(&request.run_link),
            description: self.text(&request.description),
            tags: self.map(&request.tags),
            decision: self.decision(&request.decision),
        })
    }

    pub fn decision(&self, decision: &Decision) -> Decision {
        Decision {
            who: self.text(&decision.who),
            why: self.text(&decision.why),
        }
    }

    fn map(
        &self,
        map: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        map.iter()
            .map(|(key, value)| (key.clone(), self.text(value)))
            .collect()
    }
}
