//! A test-only emulation of the part of the Kubernetes API the runner uses, on 127.0.0.1 over
//! plain HTTP, whose "kubelet" runs each created Job's pod as a podman container.
//!
//! It serves: ConfigMaps (create, get); Jobs (create, get, list and watch by name or labels,
//! delete with their pods); pods (list and watch by labels, their log). A created Job gets one
//! pod, run as `podman run --rm --network host --name <pod> -e NAME=VALUE... [--entrypoint
//! <command>] <image> <args>` with the values of `valueFrom.secretKeyRef` taken from the
//! emulation's Secrets and one directory bind-mounted at the same path (the cluster's shared
//! storage; more directories on demand). The pod and Job statuses follow the container: `Running`, then `Succeeded` /
//! `Complete` or `Failed` with its exit code; at `activeDeadlineSeconds` the container is
//! removed and the Job fails with `DeadlineExceeded`. A missing image leaves the pod waiting
//! with `ErrImagePull`. Faults on demand: the first pods of a node evicted, and every watch
//! cut when a Job ends with the history before it compacted (a watch resumed from an older
//! version gets `410 Gone`). It is not Kubernetes: no scheduler, no admission, no real
//! garbage collector, logs served once the container ended.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

type Body = BoxBody<Bytes, Infallible>;

/// What the emulated cluster is set up with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Secrets: name → key → value.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// The directories every container gets at the same paths (the cluster's shared storage).
    pub mounts: Vec<PathBuf>,
    /// podman's `CONTAINERS_CONF`.
    pub containers_conf: Option<PathBuf>,
    /// Node id → how many of its first pods are evicted before they run.
    pub evict_first: BTreeMap<String, u32>,
    /// Cut every watch when a Job ends, and compact the history before that end.
    pub cut_watches_on_job_end: bool,
}

#[derive(Default)]
struct State {
    version: u64,
    /// (resource, name) → object; resources `jobs`, `pods`, `configmaps`.
    objects: BTreeMap<(String, String), Value>,
    /// (version, resource, event type, object).
    events: Vec<(u64, String, String, Value)>,
    compacted_below: u64,
    cut_generation: u64,
    /// Every Job created, as created.
    created_jobs: Vec<Value>,
    /// Every container started.
    containers: Vec<String>,
    /// Pod → the file its container's output goes to.
    logs: BTreeMap<String, PathBuf>,
    evictions_left: BTreeMap<String, u32>,
    /// How often a watch was answered `410 Gone`.
    gone_answers: u32,
}

/// A running emulation.
#[derive(Clone)]
pub struct Cluster {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    options: Arc<Options>,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    log_dir: Arc<tempfile::TempDir>,
}

impl Cluster {
    /// Starts serving on a free port of 127.0.0.1.
    pub async fn start(options: Options) -> Cluster {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cluster = Cluster {
            url,
            state: Arc::new(Mutex::new(State {
                evictions_left: options.evict_first.clone(),
                ..State::default()
            })),
            options: Arc::new(options),
            changed: Arc::new(Notify::new()),
            log_dir: Arc::new(tempfile::tempdir().unwrap()),
        };
        let serving = cluster.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let cluster = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let cluster = cluster.clone();
                        async move { Ok::<_, Infallible>(cluster.handle(request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        cluster
    }

    /// A kubeconfig whose current context is this cluster, namespace `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emulated\n  cluster:\n    server: {}\nusers:\n- name: tester\n  user: {{}}\ncontexts:\n- name: emulated\n  context:\n    cluster: emulated\n    user: tester\n    namespace: {namespace}\ncurrent-context: emulated\n",
            self.url
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every Job created so far, as created.
    pub fn created_jobs(&self) -> Vec<Value> {
        self.lock().created_jobs.clone()
    }

    /// The Jobs that exist now.
    pub fn jobs(&self) -> Vec<Value> {
        self.objects("jobs")
    }

    /// The pods that exist now.
    pub fn pods(&self) -> Vec<Value> {
        self.objects("pods")
    }

    fn objects(&self, resource: &str) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((kind, _), _)| kind == resource)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Every container started so far.
    pub fn containers(&self) -> Vec<String> {
        self.lock().containers.clone()
    }

    /// How often a watch was answered `410 Gone`.
    pub fn gone_answers(&self) -> u32 {
        self.lock().gone_answers
    }

    /// Stores `object` (new or changed) and records the event.
    fn put(&self, resource: &str, name: &str, mut object: Value, event: &str) -> Value {
        let mut state = self.lock();
        state.version += 1;
        let version = state.version;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        state
            .objects
            .insert((resource.to_owned(), name.to_owned()), object.clone());
        state.events.push((
            version,
            resource.to_owned(),
            event.to_owned(),
            object.clone(),
        ));
        drop(state);
        self.changed.notify_waiters();
        object
    }

    fn remove(&self, resource: &str, name: &str) -> Option<Value> {
        let mut state = self.lock();
        let mut object = state
            .objects
            .remove(&(resource.to_owned(), name.to_owned()))?;
        state.version += 1;
        let version = state.version;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        state.events.push((
            version,
            resource.to_owned(),
            "DELETED".to_owned(),
            object.clone(),
        ));
        drop(state);
        self.changed.notify_waiters();
        Some(object)
    }

    fn get(&self, resource: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(resource.to_owned(), name.to_owned()))
            .cloned()
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let query = parse_query(request.uri().query().unwrap_or(""));
        let body = request
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body: Option<Value> = serde_json::from_slice(&body).ok();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        // /api/v1/namespaces/NS/RESOURCE[/NAME[/log]] or /apis/batch/v1/namespaces/NS/...
        let rest: &[&str] = match segments.as_slice() {
            ["api", "v1", "namespaces", _, rest @ ..] => rest,
            ["apis", "batch", "v1", "namespaces", _, rest @ ..] => rest,
            _ => return status(404, "NotFound", &format!("no route {path}")),
        };
        let namespace = segments[if segments[0] == "api" { 3 } else { 4 }].to_owned();
        let selection = Selection::of(&query);
        match (method, rest) {
            (Method::POST, ["configmaps"]) => self.create("configmaps", body.unwrap(), &namespace),
            (Method::GET, ["configmaps", name]) => self.read("configmaps", name),
            (Method::POST, ["jobs"]) => {
                let response = self.create("jobs", body.clone().unwrap(), &namespace);
                if response.status() == StatusCode::CREATED {
                    let job = self
                        .get("jobs", body.unwrap()["metadata"]["name"].as_str().unwrap())
                        .unwrap();
                    self.lock().created_jobs.push(job.clone());
                    let cluster = self.clone();
                    tokio::spawn(async move { cluster.kubelet(job).await });
                }
                response
            }
            (Method::GET, [resource @ ("jobs" | "pods")])
                if query.get("watch").is_some_and(|w| w == "true") =>
            {
                let since = query
                    .get("resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let seconds = query
                    .get("timeoutSeconds")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(290);
                self.watch(resource, selection, since, seconds)
            }
            (Method::GET, [resource @ ("jobs" | "pods")]) => {
                let state = self.lock();
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|((kind, _), object)| kind == resource && selection.matches(object))
                    .map(|(_, object)| object.clone())
                    .collect();
                let kind = if *resource == "jobs" {
                    "JobList"
                } else {
                    "PodList"
                };
                json_response(
                    200,
                    &json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": state.version.to_string()}, "items": items}),
                )
            }
            (Method::GET, ["jobs", name]) => self.read("jobs", name),
            (Method::GET, ["pods", name, "log"]) => self.log(name).await,
            (Method::DELETE, ["jobs", name]) => match self.remove("jobs", name) {
                Some(job) => {
                    let pods: Vec<String> = self
                        .pods()
                        .iter()
                        .filter(|pod| pod["metadata"]["labels"]["job-name"] == *name)
                        .map(|pod| pod["metadata"]["name"].as_str().unwrap().to_owned())
                        .collect();
                    for pod in pods {
                        self.remove("pods", &pod);
                        self.podman(&["rm", "--force", "--time", "0", &pod]).await;
                    }
                    json_response(200, &job)
                }
                None => status(404, "NotFound", &format!("jobs \"{name}\" not found")),
            },
            (method, rest) => status(405, "MethodNotAllowed", &format!("{method} {rest:?}")),
        }
    }

    fn create(&self, resource: &str, mut object: Value, namespace: &str) -> Response<Body> {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        if self.get(resource, &name).is_some() {
            return status(
                409,
                "AlreadyExists",
                &format!("{resource} \"{name}\" already exists"),
            );
        }
        object["metadata"]["uid"] = json!(format!("uid-{resource}-{name}"));
        object["metadata"]["namespace"] = json!(namespace);
        object["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        let object = self.put(resource, &name, object, "ADDED");
        json_response(201, &object)
    }

    fn read(&self, resource: &str, name: &str) -> Response<Body> {
        match self.get(resource, name) {
            Some(object) => json_response(200, &object),
            None => status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
        }
    }

    fn watch(
        &self,
        resource: &str,
        selection: Selection,
        since: u64,
        seconds: u64,
    ) -> Response<Body> {
        let (sender, mut receiver) = mpsc::channel::<Bytes>(64);
        {
            let mut state = self.lock();
            if since < state.compacted_below {
                state.gone_answers += 1;
                let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired", "message": format!("too old resource version: {since} ({})", state.compacted_below)}});
                return json_response(200, &gone);
            }
        }
        let cluster = self.clone();
        let resource = resource.to_owned();
        tokio::spawn(async move {
            let generation = cluster.lock().cut_generation;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
            let mut last = since;
            loop {
                let notified = cluster.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let lines: Vec<(u64, String)> = {
                    let state = cluster.lock();
                    if state.cut_generation != generation {
                        return;
                    }
                    state
                        .events
                        .iter()
                        .filter(|(version, kind, _, object)| {
                            *version > last && *kind == resource && selection.matches(object)
                        })
                        .map(|(version, _, event, object)| {
                            (
                                *version,
                                format!("{}\n", json!({"type": event, "object": object})),
                            )
                        })
                        .collect()
                };
                for (version, line) in lines {
                    last = version;
                    if sender.send(Bytes::from(line)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(deadline) => return,
                    () = sender.closed() => return,
                }
            }
        });
        let stream = futures_util::stream::poll_fn(move |context| {
            receiver
                .poll_recv(context)
                .map(|bytes| bytes.map(|bytes| Ok::<_, Infallible>(Frame::data(bytes))))
        });
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(StreamBody::new(stream).boxed())
            .unwrap()
    }

    async fn log(&self, pod: &str) -> Response<Body> {
        // Served once the container ended (follow, simplified).
        for _ in 0..6000 {
            let finished = self.get("pods", pod).is_none_or(|pod| {
                matches!(
                    pod["status"]["phase"].as_str(),
                    Some("Succeeded" | "Failed")
                )
            });
            if finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let path = self.lock().logs.get(pod).cloned();
        let text = path
            .and_then(|path| std::fs::read(path).ok())
            .unwrap_or_default();
        Response::builder()
            .status(200)
            .body(Full::new(Bytes::from(text)).boxed())
            .unwrap()
    }

    async fn podman(&self, arguments: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new("podman");
        command.args(arguments);
        if let Some(conf) = &self.options.containers_conf {
            command.env("CONTAINERS_CONF", conf);
        }
        command.output().await.unwrap()
    }

    fn set_pod_status(&self, name: &str, status: Value) -> bool {
        let Some(mut pod) = self.get("pods", name) else {
            return false;
        };
        pod["status"] = status;
        self.put("pods", name, pod, "MODIFIED");
        true
    }

    fn finish_job(&self, name: &str, kind: &str, reason: &str, message: &str) {
        let Some(mut job) = self.get("jobs", name) else {
            return;
        };
        let count = if kind == "Complete" {
            "succeeded"
        } else {
            "failed"
        };
        job["status"] = json!({count: 1, "conditions": [{"type": kind, "status": "True", "reason": reason, "message": message}]});
        self.put("jobs", name, job, "MODIFIED");
        if self.options.cut_watches_on_job_end {
            let mut state = self.lock();
            state.compacted_below = state.version + 1;
            state.cut_generation += 1;
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// Runs the Job's pod as a container and reports its end.
    async fn kubelet(&self, job: Value) {
        let name = job["metadata"]["name"].as_str().unwrap().to_owned();
        let template = &job["spec"]["template"];
        let node = template["metadata"]["labels"]["millrace.dev/node"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let pod_name = format!(
            "{}-{:05}",
            &name[..name.len().min(57)],
            self.lock().version % 100_000
        );
        let mut labels = template["metadata"]["labels"].clone();
        labels["job-name"] = json!(name);
        labels["batch.kubernetes.io/job-name"] = json!(name);
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": job["metadata"]["namespace"], "labels": labels, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        });
        self.put("pods", &pod_name, pod, "ADDED");

        let evict = {
            let mut state = self.lock();
            match state.evictions_left.get_mut(&node) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            }
        };
        if evict {
            self.set_pod_status(&pod_name, json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. (emulated)"}));
            self.finish_job(
                &name,
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            );
            return;
        }

        let container = &template["spec"]["containers"][0];
        let image = container["image"].as_str().unwrap().to_owned();
        if !self
            .podman(&["image", "exists", &image])
            .await
            .status
            .success()
        {
            self.set_pod_status(&pod_name, json!({"phase": "Pending", "containerStatuses": [{"name": "run-node", "image": image, "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull", "message": format!("image {image} not found (emulated)")}}}]}));
            return;
        }
        let mut arguments: Vec<String> = [
            "run",
            "--rm",
            "--pull",
            "never",
            "--network",
            "host",
            "--name",
            &pod_name,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for mount in &self.options.mounts {
            arguments.push("--volume".to_owned());
            arguments.push(format!("{0}:{0}", mount.display()));
        }
        for variable in container["env"].as_array().cloned().unwrap_or_default() {
            let value = match variable["value"].as_str() {
                Some(value) => value.to_owned(),
                None => {
                    let reference = &variable["valueFrom"]["secretKeyRef"];
                    let secret = reference["name"].as_str().unwrap();
                    let key = reference["key"].as_str().unwrap();
                    self.options.secrets[secret][key].clone()
                }
            };
            arguments.push("--env".to_owned());
            arguments.push(format!("{}={value}", variable["name"].as_str().unwrap()));
        }
        let command: Vec<String> =
            serde_json::from_value(container["command"].clone()).unwrap_or_default();
        if let Some(entrypoint) = command.first() {
            arguments.push("--entrypoint".to_owned());
            arguments.push(entrypoint.clone());
        }
        arguments.push(image.clone());
        arguments.extend(command.iter().skip(1).cloned());
        let args: Vec<String> =
            serde_json::from_value(container["args"].clone()).unwrap_or_default();
        arguments.extend(args);

        let log = self.log_dir.path().join(format!("{pod_name}.log"));
        let output = std::fs::File::create(&log).unwrap();
        {
            let mut state = self.lock();
            state.logs.insert(pod_name.clone(), log);
            state.containers.push(pod_name.clone());
        }
        let mut command = tokio::process::Command::new("podman");
        command
            .args(&arguments)
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .kill_on_drop(true);
        if let Some(conf) = &self.options.containers_conf {
            command.env("CONTAINERS_CONF", conf);
        }
        let mut child = command.spawn().unwrap();
        self.set_pod_status(&pod_name, json!({"phase": "Running", "containerStatuses": [{"name": "run-node", "image": image, "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}));
        let deadline = job["spec"]["activeDeadlineSeconds"]
            .as_u64()
            .map(Duration::from_secs);
        let ended = match deadline {
            Some(deadline) => tokio::time::timeout(deadline, child.wait()).await.ok(),
            None => Some(child.wait().await),
        };
        let terminated = |code: i64, reason: &str| json!({"name": "run-node", "image": image, "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": code, "reason": reason}}});
        match ended {
            None => {
                self.podman(&["rm", "--force", "--time", "0", &pod_name])
                    .await;
                let _ = child.wait().await;
                if self.set_pod_status(
                    &pod_name,
                    json!({"phase": "Failed", "containerStatuses": [terminated(137, "Error")]}),
                ) {
                    self.finish_job(
                        &name,
                        "Failed",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                    );
                }
            }
            Some(status) => {
                let code = status.ok().and_then(|status| status.code()).unwrap_or(137);
                let (phase, reason) = if code == 0 {
                    ("Succeeded", "Completed")
                } else {
                    ("Failed", "Error")
                };
                if self.set_pod_status(&pod_name, json!({"phase": phase, "containerStatuses": [terminated(i64::from(code), reason)]})) {
                    if code == 0 {
                        self.finish_job(&name, "Complete", "", "");
                    } else {
                        self.finish_job(&name, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
                    }
                }
            }
        }
    }
}

/// A list or watch's selectors.
#[derive(Debug, Clone, Default)]
struct Selection {
    labels: BTreeMap<String, String>,
    name: Option<String>,
}

impl Selection {
    fn of(query: &BTreeMap<String, String>) -> Selection {
        let pairs = |text: &str| -> BTreeMap<String, String> {
            text.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect()
        };
        Selection {
            labels: query
                .get("labelSelector")
                .map(|s| pairs(s))
                .unwrap_or_default(),
            name: query
                .get("fieldSelector")
                .and_then(|s| pairs(s).get("metadata.name").cloned()),
        }
    }

    fn matches(&self, object: &Value) -> bool {
        self.name
            .as_ref()
            .is_none_or(|name| object["metadata"]["name"] == *name)
            && self
                .labels
                .iter()
                .all(|(key, value)| object["metadata"]["labels"][key] == *value)
    }
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (decode(key), decode(value)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_response(code: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(value).unwrap())).boxed())
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}),
    )
}

/// Names of the nodes of `jobs`, from their labels.
pub fn nodes_of(jobs: &[Value]) -> BTreeSet<String> {
    jobs.iter()
        .map(|job| {
            job["metadata"]["labels"]["millrace.dev/node"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}
