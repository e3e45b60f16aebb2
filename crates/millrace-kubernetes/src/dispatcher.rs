//! [`JobDispatcher`]: each component node's attempt as a Kubernetes Job.
//!
//! Per task it
//!
//! 1. creates the run's parent ConfigMap once per run (when [`KubernetesConfig::run_parent`]),
//!    which owns the run's Jobs;
//! 2. creates the task's [Job](crate::job::task_job); if a Job of that name exists (`409
//!    AlreadyExists`: a runner restarted while its task ran) and carries this task's labels, it is
//!    adopted and followed, otherwise the task fails naming the foreign Job;
//! 3. follows the Job and its pod ([`watch`](crate::watch): listed, then watched from the
//!    list's `resourceVersion`, listed again after `410 Gone`), copying the pod's log into
//!    `pod.log` in the task's log directory;
//! 4. returns how it [ended](crate::ending) once the Job has finished — or at once, after
//!    deleting the Job, when the pod's image cannot be pulled.
//!
//! Requests that fail with 429, 500, 502, 503, 504 or a lost connection are made again with a
//! doubling wait ([`KubernetesConfig::api_retries`]). [`cancel_all`](NodeDispatcher::cancel_all)
//! deletes every Job still running (`propagationPolicy: Background`, so their pods go too).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Config};
use millrace_runner::{NodeDispatcher, NodeTask, RunnerError, TaskEnd};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::KubernetesConfig;
use crate::ending;
use crate::error::{KubernetesError, Result};
use crate::labels;
use crate::log;
use crate::parent;
use crate::retry::retrying;
use crate::watch::{Observed, Selection, observe};

/// How long after the node's timeout the runner deletes a Job the cluster did not stop.
const TIMEOUT_GRACE: Duration = Duration::from_secs(60);

/// How long after its pod finished the runner waits for the Job to say so too, before it
/// decides from the pod alone.
const JOB_GRACE: Duration = Duration::from_secs(30);

/// How long the copy of a pod's log may take once the task ended.
const LOG_GRACE: Duration = Duration::from_secs(5);

/// Runs each task as a Kubernetes Job: see the [module](self).
#[derive(Clone)]
pub struct JobDispatcher {
    client: Client,
    config: KubernetesConfig,
    running: Arc<Mutex<BTreeSet<String>>>,
    parents: Arc<tokio::sync::Mutex<BTreeMap<String, Option<OwnerReference>>>>,
}

impl std::fmt::Debug for JobDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobDispatcher")
            .field("config", &self.config)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl JobDispatcher {
    /// Creates Jobs through `client` as `config` says.
    pub fn new(client: Client, config: KubernetesConfig) -> Self {
        JobDispatcher {
            client,
            config,
            running: Arc::new(Mutex::new(BTreeSet::new())),
            parents: Arc::new(tokio::sync::Mutex::new(BTreeMap::new())),
        }
    }

    /// A dispatcher whose client comes from the environment: `KUBECONFIG` or
    /// `~/.kube/config`, else the pod's in-cluster service account. An empty
    /// `config.namespace` becomes the client's default namespace (the kubeconfig context's,
    /// or the pod's).
    pub async fn from_environment(mut config: KubernetesConfig) -> Result<Self> {
        let client = Client::try_default()
            .await
            .map_err(|error| KubernetesError::NoClient(Box::new(error)))?;
        if config.namespace.is_empty() {
            config.namespace = client.default_namespace().to_owned();
        }
        Ok(JobDispatcher::new(client, config))
    }

    /// A dispatcher talking to the API server at `url` with no credentials (a test's
    /// emulation, `kubectl proxy`).
    pub fn with_url(url: &str, config: KubernetesConfig) -> Result<Self> {
        let uri: http::Uri = url.parse().map_err(|_| KubernetesError::InvalidUrl {
            url: url.to_owned(),
        })?;
        let mut kube_config = Config::new(uri);
        kube_config.default_namespace = config.namespace.clone();
        let client = Client::try_from(kube_config)
            .map_err(|error| KubernetesError::NoClient(Box::new(error)))?;
        Ok(JobDispatcher::new(client, config))
    }

    /// The configuration.
    pub fn config(&self) -> &KubernetesConfig {
        &self.config
    }

    /// The names of the Jobs this dispatcher created whose tasks have not ended.
    pub fn running_jobs(&self) -> Vec<String> {
        self.lock_running().iter().cloned().collect()
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.config.namespace)
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.config.namespace)
    }

    /// The owner reference to the run's parent, created on the run's first task.
    async fn parent_of(&self, task: &NodeTask) -> Result<Option<OwnerReference>> {
        if !self.config.run_parent {
            return Ok(None);
        }
        let mut parents = self.parents.lock().await;
        if let Some(owner) = parents.get(&task.run_id) {
            return Ok(owner.clone());
        }
        let wanted = parent::run_parent(
            &task.pipeline,
            &task.fingerprint,
            &task.run_id,
            &self.config,
        );
        let name = parent::parent_name(&task.run_id);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.config.namespace);
        let action = || {
            format!(
                "create ConfigMap {name} in namespace {}",
                self.config.namespace
            )
        };
        let post = PostParams::default();
        let created = match retrying(&self.config, action, || api.create(&post, &wanted)).await {
            Ok(created) => created,
            Err(error) if error.status_code() == Some(409) => {
                retrying(
                    &self.config,
                    || {
                        format!(
                            "get ConfigMap {name} in namespace {}",
                            self.config.namespace
                        )
                    },
                    || api.get(&name),
                )
                .await?
            }
            Err(error) => return Err(error),
        };
        let owner = parent::owner_reference(&created);
        parents.insert(task.run_id.clone(), owner.clone());
        Ok(owner)
    }

    /// Creates the task's Job, or adopts the one of its name that is this task's.
    async fn create_job(&self, task: &NodeTask, job: &Job) -> Result<Job> {
        let name = task.name();
        let namespace = &self.config.namespace;
        let jobs = self.jobs();
        let post = PostParams::default();
        match retrying(
            &self.config,
            || format!("create Job {name} in namespace {namespace}"),
            || jobs.create(&post, job),
        )
        .await
        {
            Ok(created) => Ok(created),
            Err(error) if error.status_code() == Some(409) => {
                let existing = retrying(
                    &self.config,
                    || format!("get Job {name} in namespace {namespace}"),
                    || jobs.get(&name),
                )
                .await?;
                let wanted = labels::task_labels(task);
                let theirs = existing.metadata.labels.clone().unwrap_or_default();
                if wanted
                    .iter()
                    .all(|(key, value)| theirs.get(key) == Some(value))
                {
                    tracing::info!(job = %name, "adopting the existing Job of this task");
                    Ok(existing)
                } else {
                    Err(KubernetesError::ForeignJob {
                        job: name,
                        namespace: namespace.clone(),
                        run_id: task.run_id.clone(),
                        node: task.node.clone(),
                        attempt: task.attempt,
                    })
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes Job `name` and its pods; a Job already gone is fine.
    async fn delete_job(&self, name: &str) -> Result<()> {
        let jobs = self.jobs();
        let background = DeleteParams::background();
        let deleted = retrying(
            &self.config,
            || format!("delete Job {name} in namespace {}", self.config.namespace),
            || jobs.delete(name, &background),
        )
        .await;
        self.lock_running().remove(name);
        match deleted {
            Err(error) if error.status_code() != Some(404) => Err(error),
            _ => Ok(()),
        }
    }

    /// The newest pod of the task, listed now.
    async fn current_pod(&self, name: &str) -> Result<Option<Pod>> {
        let pods = self.pods();
        let params = ListParams::default().labels(&format!("{}={name}", labels::TASK));
        let list = retrying(
            &self.config,
            || {
                format!(
                    "list pods of Job {name} in namespace {}",
                    self.config.namespace
                )
            },
            || pods.list(&params),
        )
        .await?;
        Ok(list
            .items
            .into_iter()
            .max_by_key(|pod| pod.metadata.creation_timestamp.clone().map(|time| time.0)))
    }

    /// Runs `task` as a Job to its end.
    pub async fn run_task(&self, task: &NodeTask) -> Result<TaskEnd> {
        let owner = self.parent_of(task).await?;
        let job = crate::job::task_job(task, &self.config, owner)?;
        let name = task.name();
        self.lock_running().insert(name.clone());
        let created = match self.create_job(task, &job).await {
            Ok(created) => created,
            Err(error) => {
                self.lock_running().remove(&name);
                return Err(error);
            }
        };
        let end = self.follow(task, &name, created).await;
        // A task whose Job could not be followed stays listed, so that cancel_all deletes it.
        if end.is_ok() {
            self.lock_running().remove(&name);
        }
        end
    }

    /// Starts copying `pod`'s log into the task's log directory.
    fn start_log_copy(&self, pod: &Pod, task: &NodeTask) -> Option<JoinHandle<()>> {
        let pod_name = pod.metadata.name.clone()?;
        let (pods, dir) = (self.pods(), task.log_dir.clone());
        Some(tokio::spawn(async move {
            if let Err(error) = log::copy_log(pods, pod_name, &dir).await {
                tracing::warn!(%error, "could not copy the pod's log");
            }
        }))
    }

    /// Follows the Job `name` and its pod until the task ended.
    async fn follow(&self, task: &NodeTask, name: &str, mut job: Job) -> Result<TaskEnd> {
        let (job_sender, mut job_events) = mpsc::channel(64);
        let (pod_sender, mut pod_events) = mpsc::channel(64);
        let _jobs_watch = AbortOnDrop(tokio::spawn(observe(
            self.jobs(),
            Selection {
                fields: Some(format!("metadata.name={name}")),
                labels: None,
            },
            self.config.clone(),
            job_sender,
        )));
        let _pods_watch = AbortOnDrop(tokio::spawn(observe(
            self.pods(),
            Selection {
                labels: Some(format!("{}={name}", labels::TASK)),
                fields: None,
            },
            self.config.clone(),
            pod_sender,
        )));
        let started = Instant::now();
        let give_up_at = task
            .timeout()
            .map(|timeout| started + timeout + TIMEOUT_GRACE);
        let mut pod: Option<Pod> = None;
        let mut pod_finished_at: Option<Instant> = None;
        let mut log_copy: Option<JoinHandle<()>> = None;
        let end = loop {
            if let Some(finish) = ending::job_finish(&job) {
                if !pod.as_ref().is_some_and(ending::pod_is_finished) {
                    // The Job's end arrived before its pod's: read the pod as it is now.
                    if let Some(now) = self.current_pod(name).await? {
                        pod = Some(now);
                    }
                }
                if log_copy.is_none() {
                    log_copy = pod
                        .as_ref()
                        .filter(|pod| ending::pod_has_started(pod))
                        .and_then(|pod| self.start_log_copy(pod, task));
                }
                break ending::task_end(&job, &finish, pod.as_ref());
            }
            if let Some(problem) = pod.as_ref().and_then(ending::image_problem) {
                self.delete_job(name).await?;
                break TaskEnd::Killed(problem);
            }
            if let Some(current) = &pod {
                if log_copy.is_none() && ending::pod_has_started(current) {
                    log_copy = self.start_log_copy(current, task);
                }
                if pod_finished_at.is_none() && ending::pod_is_finished(current) {
                    pod_finished_at = Some(Instant::now());
                }
            }
            let pod_deadline = pod_finished_at.map(|at| at + JOB_GRACE);
            tokio::select! {
                observed = job_events.recv() => match observed {
                    Some(Ok(Observed::Present(seen))) => job = seen,
                    Some(Ok(Observed::Deleted(_))) => {
                        break pod
                            .as_ref()
                            .filter(|pod| ending::pod_is_finished(pod))
                            .and_then(ending::pod_end)
                            .unwrap_or_else(|| TaskEnd::Killed(format!("Job {name} was deleted before it finished")));
                    }
                    Some(Err(error)) => return Err(error),
                    None => return Err(KubernetesError::WatchEnded { what: format!("Job {name}") }),
                },
                observed = pod_events.recv() => match observed {
                    Some(Ok(Observed::Present(seen))) => {
                        let newer = pod.as_ref().is_none_or(|current| {
                            current.metadata.name == seen.metadata.name
                                || seen.metadata.creation_timestamp.as_ref().map(|t| &t.0)
                                    >= current.metadata.creation_timestamp.as_ref().map(|t| &t.0)
                        });
                        if newer {
                            pod = Some(seen);
                        }
                    }
                    Some(Ok(Observed::Deleted(_))) => {}
                    Some(Err(error)) => return Err(error),
                    None => return Err(KubernetesError::WatchEnded { what: format!("pods of Job {name}") }),
                },
                () = sleep_until(pod_deadline), if pod_deadline.is_some() => {
                    tracing::warn!(job = %name, "the pod finished but the Job did not say so; deciding from the pod");
                    if let Some(end) = pod.as_ref().and_then(ending::pod_end) {
                        break end;
                    }
                    pod_finished_at = None;
                }
                () = sleep_until(give_up_at), if give_up_at.is_some() => {
                    self.delete_job(name).await?;
                    let seconds = task.timeout().map(|t| t.as_secs()).unwrap_or_default();
                    break TaskEnd::Killed(format!("timed out after {seconds} s"));
                }
            }
        };
        if let Some(copy) = log_copy {
            let abort = copy.abort_handle();
            if tokio::time::timeout(LOG_GRACE, copy).await.is_err() {
                abort.abort();
            }
        }
        Ok(end)
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[async_trait]
impl NodeDispatcher for JobDispatcher {
    async fn dispatch(&self, task: &NodeTask) -> millrace_runner::Result<TaskEnd> {
        self.run_task(task)
            .await
            .map_err(|error| RunnerError::TaskFailed {
                node: task.node.clone(),
                message: error.to_string(),
            })
    }

    async fn cancel_all(&self) -> millrace_runner::Result<()> {
        let names = self.running_jobs();
        let mut failed = Vec::new();
        let mut failures = Vec::new();
        for name in names {
            tracing::info!(job = %name, "deleting the Job of an interrupted run");
            if let Err(error) = self.delete_job(&name).await {
                failures.push(error.to_string());
                failed.push(name);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(RunnerError::TaskFailed {
                node: failed.join(", "),
                message: format!("could not delete its Job: {}", failures.join("; ")),
            })
        }
    }
}
