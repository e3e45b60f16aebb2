//! Writes a template's runs again and again into a store, through its public write API, each
//! time with the ids the store gives, new run ids and cache keys, and artifact paths of its
//! own: a history of many runs made of exactly the records real runs make.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use millrace::metadata::{MetadataStore, NodeType, PutExecution, PutExecutionResult};

use super::recorder::Write;
use super::rewrite::{Ids, Rename};
use super::template::{Segment, Template, now_ms};

/// The directory under a filled store's artifact root that holds the replayed artifacts.
const GENERATED: &str = "gen";
/// The link in it to the template's artifact root.
const TEMPLATE_LINK: &str = "t";

/// How to fill a store.
#[derive(Debug, Clone)]
pub struct Fill {
    /// How many runs the store holds when done (the first included).
    pub runs: usize,
    /// Reruns on unchanged data after each run on new data (every node served from the
    /// cache): 1 makes half the runs train a new model.
    pub reruns_per_new_data: usize,
    /// Histories written at once, each a chain of runs of its own (interleaved in the store,
    /// as concurrent runners' are). Only a server database gains from more than one.
    pub lanes: usize,
    /// The artifact root of the filled store: replayed artifacts live under `<root>/gen/`, in
    /// the recorded runs' directories, named `<recorded name>.<replayed run's label>`.
    pub root: PathBuf,
    /// Make each replayed artifact a symbolic link to the template's, so that reading it
    /// (a resolver's pick, a cache hit) and removing it (garbage collection) are real.
    pub link_files: bool,
}

/// What a fill did.
#[derive(Debug, Clone, Copy)]
pub struct Filled {
    /// Runs written.
    pub runs: usize,
    /// Calls to the store's write API.
    pub writes: usize,
    /// How long it took.
    pub took: Duration,
}

/// One history being written: the ids so far and the types already registered.
#[derive(Debug, Clone, Default)]
struct Lane {
    ids: Ids,
    types: Vec<(NodeType, i64)>,
    writes: usize,
}

impl Fill {
    /// Writes the template's first run, then runs on new data each followed by
    /// `reruns_per_new_data` reruns, until the store holds `runs` runs.
    pub async fn write_into(
        &self,
        store: &Arc<dyn MetadataStore>,
        template: &Arc<Template>,
    ) -> Result<Filled, String> {
        let started = Instant::now();
        if self.link_files {
            let generated = self.root.join(GENERATED);
            std::fs::create_dir_all(&generated)
                .map_err(|error| format!("creating {}: {error}", generated.display()))?;
            let link = generated.join(TEMPLATE_LINK);
            if !link.exists() {
                std::os::unix::fs::symlink(&template.root, &link)
                    .map_err(|error| format!("linking {}: {error}", link.display()))?;
            }
        }
        let mut first = Lane::default();
        let rename = self.rename(template, &template.first, "first", HashMap::new());
        first
            .segment(&**store, &template.first, rename, self)
            .await?;
        let remaining = self.runs.saturating_sub(1);
        let lanes = self.lanes.max(1);
        let done = Arc::new(AtomicUsize::new(1));
        let mut tasks = Vec::new();
        for lane_index in 0..lanes {
            let share = remaining / lanes + usize::from(lane_index < remaining % lanes);
            let (store, template, fill, done) = (
                Arc::clone(store),
                Arc::clone(template),
                self.clone(),
                Arc::clone(&done),
            );
            let mut lane = first.clone();
            lane.writes = 0;
            tasks.push(tokio::spawn(async move {
                lane.history(&*store, &template, &fill, lane_index, share, &done)
                    .await
                    .map(|()| lane.writes)
            }));
        }
        let mut writes = first.writes;
        for task in tasks {
            writes += task
                .await
                .map_err(|error| format!("a fill task failed: {error}"))??;
        }
        Ok(Filled {
            runs: done.load(Ordering::Relaxed),
            writes,
            took: started.elapsed(),
        })
    }

    /// The renaming of one replayed run: `label` names its artifact directory.
    fn rename(
        &self,
        template: &Template,
        segment: &Segment,
        label: &str,
        words: HashMap<String, String>,
    ) -> Rename {
        let generated = self.root.join(GENERATED);
        let relative = format!("mlflow-artifacts:/{}/", template.pipeline);
        Rename {
            words,
            root: (template.root.clone(), generated.display().to_string()),
            relative_root: (
                relative,
                format!("mlflow-artifacts:/{GENERATED}/{}/", template.pipeline),
            ),
            suffix: format!(".{label}"),
            shift_ms: now_ms() - segment.started_ms,
        }
    }
}

/// A new cache key for `key` in history `lane`, cycle `cycle`: as long, as hexadecimal, and
/// unique.
fn cache_key(key: &str, lane: usize, cycle: usize) -> String {
    let keep = key.len().saturating_sub(16);
    format!("{}{:08x}{:08x}", &key[..keep], lane, cycle)
}

impl Lane {
    /// Writes `runs` runs: cycles of a run on new data and its reruns.
    async fn history(
        &mut self,
        store: &dyn MetadataStore,
        template: &Template,
        fill: &Fill,
        lane: usize,
        runs: usize,
        done: &AtomicUsize,
    ) -> Result<(), String> {
        let mut written = 0;
        let mut cycle = 0;
        while written < runs {
            let label = format!("l{lane}c{cycle}");
            let mut words: HashMap<String, String> = template
                .fresh
                .cache_keys
                .iter()
                .map(|key| (key.clone(), cache_key(key, lane, cycle)))
                .collect();
            words.insert(
                template.fresh.run_id.clone(),
                format!("{}-{label}", template.fresh.run_id),
            );
            let rename = fill.rename(template, &template.fresh, &label, words.clone());
            self.segment(store, &template.fresh, rename, fill).await?;
            let mut this_cycle = 1;
            for rerun in 0..fill.reruns_per_new_data {
                if written + this_cycle == runs {
                    break;
                }
                let mut words = words.clone();
                words.insert(
                    template.cached.run_id.clone(),
                    format!("{}-{label}r{rerun}", template.cached.run_id),
                );
                let rename = fill.rename(template, &template.cached, &label, words);
                self.segment(store, &template.cached, rename, fill).await?;
                this_cycle += 1;
            }
            // The next cycle's references to the first run are to this one.
            for (first, fresh) in &template.artifact_roles {
                let id = self.ids.artifact(*fresh)?;
                self.ids.artifacts.insert(*first, id);
                if let Some(uri) = self.ids.uris.get(fresh).cloned() {
                    self.ids.uris.insert(*first, uri);
                }
            }
            for (first, fresh) in &template.execution_roles {
                let id = self.ids.execution(*fresh)?;
                self.ids.executions.insert(*first, id);
            }
            for (model, first, fresh) in &template.version_roles {
                let version = self.ids.version(model, *fresh)?;
                self.ids.versions.insert((model.clone(), *first), version);
            }
            written += this_cycle;
            cycle += 1;
            let before = done.fetch_add(this_cycle, Ordering::Relaxed);
            if (before + this_cycle) / 10_000 != before / 10_000 {
                eprintln!("  … {} runs written", before + this_cycle);
            }
        }
        Ok(())
    }

    /// Writes one recorded run again.
    async fn segment(
        &mut self,
        store: &dyn MetadataStore,
        segment: &Segment,
        mut rename: Rename,
        fill: &Fill,
    ) -> Result<(), String> {
        for write in &segment.writes {
            self.write(store, write, &mut rename, fill).await?;
        }
        Ok(())
    }

    async fn write(
        &mut self,
        store: &dyn MetadataStore,
        write: &Write,
        rename: &mut Rename,
        fill: &Fill,
    ) -> Result<(), String> {
        let failed = |error: millrace::metadata::MetadataError| format!("{error}");
        let ids = &mut self.ids;
        match write {
            Write::PutType { node_type, id } => {
                let known = self
                    .types
                    .iter()
                    .find(|(registered, _)| registered == node_type)
                    .map(|(_, id)| *id);
                let replayed = match known {
                    Some(replayed) => replayed,
                    None => {
                        self.writes += 1;
                        let replayed = store.put_type(node_type).await.map_err(failed)?;
                        self.types.push((node_type.clone(), replayed));
                        replayed
                    }
                };
                ids.types.insert(*id, replayed);
                return Ok(());
            }
            Write::PutArtifacts {
                artifacts,
                ids: recorded,
            } => {
                let renamed = artifacts
                    .iter()
                    .map(|artifact| rename.artifact(artifact, ids))
                    .collect::<Result<Vec<_>, _>>()?;
                let replayed = store.put_artifacts(&renamed).await.map_err(failed)?;
                ids.artifacts.extend(recorded.iter().copied().zip(replayed));
                for (id, artifact) in recorded.iter().zip(&renamed) {
                    if let Some(uri) = &artifact.uri {
                        ids.uris.insert(*id, uri.clone());
                    }
                }
            }
            Write::PutExecutions {
                executions,
                ids: recorded,
            } => {
                let renamed = executions
                    .iter()
                    .map(|execution| rename.execution(execution, ids))
                    .collect::<Result<Vec<_>, _>>()?;
                let replayed = store.put_executions(&renamed).await.map_err(failed)?;
                ids.executions
                    .extend(recorded.iter().copied().zip(replayed));
            }
            Write::PutContexts {
                contexts,
                ids: recorded,
            } => {
                let renamed = contexts
                    .iter()
                    .map(|context| rename.context(context, ids))
                    .collect::<Result<Vec<_>, _>>()?;
                let replayed = store.put_contexts(&renamed).await.map_err(failed)?;
                ids.contexts.extend(recorded.iter().copied().zip(replayed));
            }
            Write::PutEvents { events } => {
                let renamed = events
                    .iter()
                    .map(|event| rename.event(event, ids))
                    .collect::<Result<Vec<_>, _>>()?;
                store.put_events(&renamed).await.map_err(failed)?;
            }
            Write::PutAttributionsAndAssociations {
                attributions,
                associations,
            } => {
                let attributions = attributions
                    .iter()
                    .map(|link| {
                        Ok(millrace::metadata::Attribution {
                            context_id: ids.context(link.context_id)?,
                            artifact_id: ids.artifact(link.artifact_id)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let associations = associations
                    .iter()
                    .map(|link| {
                        Ok(millrace::metadata::Association {
                            context_id: ids.context(link.context_id)?,
                            execution_id: ids.execution(link.execution_id)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                store
                    .put_attributions_and_associations(&attributions, &associations)
                    .await
                    .map_err(failed)?;
            }
            Write::PutParentContexts { links } => {
                let links = links
                    .iter()
                    .map(|link| {
                        Ok(millrace::metadata::ParentContext {
                            child_id: ids.context(link.child_id)?,
                            parent_id: ids.context(link.parent_id)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                store.put_parent_contexts(&links).await.map_err(failed)?;
            }
            Write::PutExecution { request, result } => {
                let renamed = rename.put_execution(request, result, ids)?;
                let replayed = store.put_execution(&renamed).await.map_err(failed)?;
                self.executed(request, result, &renamed, &replayed, fill, &rename.root.0)?;
            }
            Write::PutExecutionsWithEvents { requests, results } => {
                let renamed = requests
                    .iter()
                    .zip(results)
                    .map(|(request, result)| rename.put_execution(request, result, ids))
                    .collect::<Result<Vec<_>, _>>()?;
                let replayed = store
                    .put_executions_with_events(&renamed)
                    .await
                    .map_err(failed)?;
                for (((request, result), renamed), replayed) in
                    requests.iter().zip(results).zip(&renamed).zip(&replayed)
                {
                    self.executed(request, result, renamed, replayed, fill, &rename.root.0)?;
                }
            }
            Write::SetArtifactStates {
                ids: artifacts,
                state,
            } => {
                let artifacts = artifacts
                    .iter()
                    .map(|id| ids.artifact(*id))
                    .collect::<Result<Vec<_>, _>>()?;
                store
                    .set_artifact_states(&artifacts, *state)
                    .await
                    .map_err(failed)?;
            }
            Write::PipelineExperiment {
                context_id,
                name,
                experiment_id,
            } => {
                let experiment = store
                    .pipeline_experiment(ids.context(*context_id)?, name)
                    .await
                    .map_err(failed)?;
                ids.experiments
                    .insert(*experiment_id, experiment.experiment_id);
            }
            Write::CreateRun { request, run_id } => {
                let renamed = rename.new_run(request, ids)?;
                let created = store.create_run(&renamed).await.map_err(failed)?;
                if request.run_id.is_none() {
                    rename.words.insert(run_id.clone(), created.info.run_id);
                }
            }
            Write::UpdateRun { run_id, update } => {
                store
                    .update_run(&rename.text(run_id), &rename.run_update(update))
                    .await
                    .map_err(failed)?;
            }
            Write::LogBatch { run_id, batch } => {
                store
                    .log_batch(&rename.text(run_id), &rename.log_batch(batch))
                    .await
                    .map_err(failed)?;
            }
            Write::CreateRegisteredModel {
                name,
                description,
                tags,
            } => {
                store
                    .create_registered_model(name, description, tags)
                    .await
                    .map_err(failed)?;
            }
            Write::CreateModelVersion { request, version } => {
                let renamed = rename.model_version(request, ids)?;
                let created = store.create_model_version(&renamed).await.map_err(failed)?;
                ids.versions
                    .insert((request.name.clone(), *version), created.version);
            }
            Write::SetModelVersionTag {
                name,
                version,
                key,
                value,
            } => {
                let value = value.as_deref().map(|value| rename.text(value));
                store
                    .set_model_version_tag(
                        name,
                        ids.version(name, *version)?,
                        key,
                        value.as_deref(),
                    )
                    .await
                    .map_err(failed)?;
            }
            Write::SetAlias {
                name,
                alias,
                version,
                decision,
            } => {
                store
                    .set_alias(
                        name,
                        alias,
                        ids.version(name, *version)?,
                        &rename.decision(decision),
                    )
                    .await
                    .map_err(failed)?;
            }
            Write::Decide {
                name,
                version,
                approval,
                decision,
            } => {
                store
                    .decide(
                        name,
                        ids.version(name, *version)?,
                        *approval,
                        &rename.decision(decision),
                    )
                    .await
                    .map_err(failed)?;
            }
            Write::Other(call) => {
                return Err(format!(
                    "the template run called `{call}`, which the fill does not replay"
                ));
            }
        }
        self.writes += 1;
        Ok(())
    }

    /// Keeps the ids a replayed execution request got, and links its new artifacts to the
    /// template's files.
    fn executed(
        &mut self,
        request: &PutExecution,
        recorded: &PutExecutionResult,
        renamed: &PutExecution,
        replayed: &PutExecutionResult,
        fill: &Fill,
        template_root: &str,
    ) -> Result<(), String> {
        let ids = &mut self.ids;
        ids.executions
            .insert(recorded.execution_id, replayed.execution_id);
        ids.artifacts.extend(
            recorded
                .artifact_ids
                .iter()
                .copied()
                .zip(replayed.artifact_ids.iter().copied()),
        );
        for (id, item) in recorded.artifact_ids.iter().zip(&renamed.artifacts) {
            if let Some(uri) = &item.artifact.uri {
                ids.uris.insert(*id, uri.clone());
            }
        }
        ids.contexts.extend(
            recorded
                .context_ids
                .iter()
                .copied()
                .zip(replayed.context_ids.iter().copied()),
        );
        if !fill.link_files {
            return Ok(());
        }
        let execution_id = recorded.execution_id.to_string();
        for (item, renamed_item) in request.artifacts.iter().zip(&renamed.artifacts) {
            if item.artifact.id.is_some() {
                continue;
            }
            let (Some(original), Some(link)) = (&item.artifact.uri, &renamed_item.artifact.uri)
            else {
                continue;
            };
            let original =
                original.replace(millrace::metadata::EXECUTION_ID_PLACEHOLDER, &execution_id);
            if let Some(rest) = original.strip_prefix(template_root)
                && original != *link
            {
                link_file(&fill.root, rest, Path::new(link))?;
            }
        }
        Ok(())
    }
}

/// A symbolic link at `link` to the template's artifact at `rest` under its root, through the
/// link `<root>/gen/t` to that root: a relative target short enough for the file system to
/// keep in the link's inode (a hundred thousand links then cost inodes, not blocks).
fn link_file(root: &Path, rest: &str, link: &Path) -> Result<(), String> {
    let Some(parent) = link.parent() else {
        return Ok(());
    };
    std::fs::create_dir_all(parent)
        .map_err(|error| format!("creating {}: {error}", parent.display()))?;
    let depth = parent
        .strip_prefix(root.join(GENERATED))
        .map_or(0, |below| below.components().count());
    let target = format!(
        "{}{TEMPLATE_LINK}/{}",
        "../".repeat(depth),
        rest.trim_start_matches('/')
    );
    match std::os::unix::fs::symlink(&target, link) {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(format!("linking {} to {target}: {error}", link.display()))
        }
        _ => Ok(()),
    }
}
