//! The dispatcher against a mocked API server (`tower_test::mock::pair`, kube-rs's own way to
//! test without a cluster): the requests it makes, and how it reads the answers — conflicts,
//! `410 Gone`, transient failures, evicted, out-of-memory and image-less pods, timeouts and
//! cancellation. No Kubernetes API server runs here; `tests/emulated_cluster.rs` runs real
//! containers behind an emulated one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.
#![allow(clippy::needless_pass_by_value)] // Scripts read better with values than references.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use kube::client::Body;
use millrace_core::spec::{NodeOptions, Resources};
use millrace_kubernetes::{JobDispatcher, KubernetesConfig, KubernetesError};
use millrace_runner::{NodeDispatcher, NodeTask, TaskEnd};
use serde_json::{Value, json};

/// One request the dispatcher made.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    body: Option<Value>,
}

/// What the mocked API server knows and will say.
#[derive(Default)]
struct State {
    requests: Vec<Seen>,
    /// Statuses to answer instead, per `METHOD resource` (`POST jobs`, `GET jobs`), in order.
    failures: BTreeMap<String, VecDeque<u16>>,
    /// The Job and pod as a list shows them.
    job: Option<Value>,
    pod: Option<Value>,
    /// Watch events not yet delivered, per resource.
    job_events: VecDeque<Value>,
    pod_events: VecDeque<Value>,
    /// What happens to a created Job: the events the cluster will send.
    script: Script,
    /// A Job that exists before the dispatcher creates its own.
    existing_job: Option<Value>,
    version: u64,
}

/// How the cluster treats the created Job.
#[derive(Default, Clone)]
enum Script {
    /// Its pod ends as `pod_status` says and the Job with `job_condition`.
    Ends {
        pod_status: Value,
        job_condition: Value,
        /// The events are lost: a watch says `410 Gone`, a list shows the end.
        gone: bool,
    },
    /// The pod is created and keeps running.
    #[default]
    RunsForever,
}

fn resource(path: &str) -> &'static str {
    if path.ends_with("/log") {
        "log"
    } else if path.contains("/jobs") {
        "jobs"
    } else if path.contains("/pods") {
        "pods"
    } else if path.contains("/configmaps") {
        "configmaps"
    } else {
        "other"
    }
}

fn json_response(status: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(value).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": format!("mock: {reason}")})
}

impl State {
    fn next_version(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    fn with_version(&mut self, mut object: Value) -> Value {
        object["metadata"]["resourceVersion"] = json!(self.next_version());
        object
    }

    fn pod_for(&mut self, job: &Value, status: Value) -> Value {
        let name = job["metadata"]["name"].as_str().unwrap();
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": format!("{name}-abcde"),
                "namespace": "ml",
                "labels": job["spec"]["template"]["metadata"]["labels"].clone(),
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": job["spec"]["template"]["spec"].clone(),
            "status": status,
        });
        pod = self.with_version(pod);
        pod
    }

    fn created(&mut self, mut job: Value) {
        job["metadata"]["uid"] = json!("job-uid");
        job = self.with_version(job);
        self.job = Some(job.clone());
        match self.script.clone() {
            Script::RunsForever => {
                let pod = self.pod_for(&job, running());
                self.pod_events
                    .push_back(json!({"type": "ADDED", "object": pod}));
            }
            Script::Ends {
                pod_status,
                job_condition,
                gone,
            } => {
                let pod = self.pod_for(&job, pod_status);
                let mut finished = job.clone();
                finished["status"] = json!({"conditions": [job_condition]});
                let finished = self.with_version(finished);
                if gone {
                    // The changes happened while the watch was too old to see them.
                    self.job = Some(finished);
                    self.pod = Some(pod);
                    self.job_events
                        .push_back(json!({"type": "ERROR", "object": status(410, "Expired")}));
                } else {
                    // A list shows the pod once it exists; the watches deliver the changes.
                    self.pod = Some(pod.clone());
                    self.pod_events
                        .push_back(json!({"type": "ADDED", "object": pod}));
                    self.job_events
                        .push_back(json!({"type": "MODIFIED", "object": finished}));
                }
            }
        }
    }

    /// The answer to `request`, or `None` to answer a watch with nothing new after a pause.
    fn answer(&mut self, seen: &Seen) -> Option<Response<Body>> {
        let kind = resource(&seen.path);
        let key = format!("{} {kind}", seen.method);
        if let Some(code) = self.failures.get_mut(&key).and_then(VecDeque::pop_front) {
            return Some(json_response(code, &status(code, "Injected")));
        }
        let watch = seen.query.contains("watch=true");
        Some(match (seen.method.clone(), kind) {
            (Method::POST, "configmaps") => {
                let mut parent = seen.body.clone().unwrap();
                parent["metadata"]["uid"] = json!("parent-uid");
                json_response(201, &parent)
            }
            (Method::POST, "jobs") => {
                if let Some(existing) = self.existing_job.take() {
                    self.job = Some(existing);
                    return Some(json_response(409, &status(409, "AlreadyExists")));
                }
                let job = seen.body.clone().unwrap();
                self.created(job);
                json_response(201, self.job.as_ref().unwrap())
            }
            (Method::GET, "jobs") if watch => {
                let event = self.job_events.pop_front()?;
                if event["type"] == "MODIFIED" || event["type"] == "DELETED" {
                    self.job = Some(event["object"].clone());
                }
                json_response(200, &event)
            }
            (Method::GET, "pods") if watch => {
                let event = self.pod_events.pop_front()?;
                self.pod = Some(event["object"].clone());
                json_response(200, &event)
            }
            (Method::GET, "jobs") if seen.path.ends_with("/jobs") => {
                let version = self.next_version();
                json_response(
                    200,
                    &json!({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {"resourceVersion": version}, "items": self.job.iter().collect::<Vec<_>>()}),
                )
            }
            (Method::GET, "jobs") => match &self.job {
                Some(job) => json_response(200, job),
                None => json_response(404, &status(404, "NotFound")),
            },
            (Method::GET, "pods") => {
                let version = self.next_version();
                json_response(
                    200,
                    &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": version}, "items": self.pod.iter().collect::<Vec<_>>()}),
                )
            }
            (Method::GET, "log") => Response::builder()
                .status(200)
                .body(Body::from(b"hello from the pod\n".to_vec()))
                .unwrap(),
            (Method::DELETE, "jobs") => {
                let Some(job) = self.job.clone() else {
                    return Some(json_response(404, &status(404, "NotFound")));
                };
                let deleted = self.with_version(job.clone());
                self.job_events
                    .push_back(json!({"type": "DELETED", "object": deleted}));
                json_response(200, &job)
            }
            _ => json_response(404, &status(404, "NotFound")),
        })
    }
}

fn running() -> Value {
    json!({"phase": "Running", "containerStatuses": [{"name": "run-node", "image": "img", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]})
}

fn terminated(exit_code: i32, reason: &str, phase: &str) -> Value {
    json!({"phase": phase, "containerStatuses": [{"name": "run-node", "image": "img", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": exit_code, "reason": reason}}}]})
}

fn condition(kind: &str, reason: &str) -> Value {
    json!({"type": kind, "status": "True", "reason": reason, "message": format!("mock {reason}")})
}

/// A mocked API server answering the dispatcher's client.
struct Mock {
    state: Arc<Mutex<State>>,
    client: kube::Client,
}

impl Mock {
    fn new(state: State) -> Mock {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let state = Arc::new(Mutex::new(state));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let (parts, body) = request.into_parts();
                    let bytes = body.collect().await.unwrap().to_bytes();
                    let seen = Seen {
                        method: parts.method.clone(),
                        path: parts.uri.path().to_owned(),
                        query: parts.uri.query().unwrap_or("").to_owned(),
                        body: serde_json::from_slice(&bytes).ok(),
                    };
                    loop {
                        let answer = {
                            let mut state = shared.lock().unwrap();
                            let answer = state.answer(&seen);
                            if answer.is_some() {
                                state.requests.push(seen.clone());
                            }
                            answer
                        };
                        match answer {
                            Some(response) => {
                                respond.send_response(response);
                                break;
                            }
                            None => tokio::time::sleep(Duration::from_millis(20)).await,
                        }
                    }
                });
            }
        });
        Mock {
            client: kube::Client::new(service, "ml"),
            state,
        }
    }

    fn dispatcher(&self) -> JobDispatcher {
        JobDispatcher::new(
            self.client.clone(),
            KubernetesConfig::new("ml")
                .image("registry.example/hello:1")
                .secret("hello-store")
                .api_retries(4, Duration::from_millis(5)),
        )
    }

    fn requests(&self, method: Method, kind: &str) -> Vec<Seen> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|seen| seen.method == method && resource(&seen.path) == kind)
            .cloned()
            .collect()
    }
}

fn task(log_dir: &std::path::Path) -> NodeTask {
    NodeTask {
        pipeline: "hello".to_owned(),
        fingerprint: "f".repeat(64),
        run_id: "20260101T000000-ab12".to_owned(),
        node: "greet".to_owned(),
        attempt: 1,
        parameters: BTreeMap::from([("name".to_owned(), json!("world"))]),
        options: NodeOptions {
            timeout_ms: Some(30_000),
            resources: Resources {
                cpu: Some("500m".to_owned()),
                memory: Some("256Mi".to_owned()),
                gpu: Some(1),
            },
            ..serde_json::from_value(json!({})).unwrap()
        },
        log_dir: log_dir.to_owned(),
    }
}

fn ends(pod_status: Value, job_condition: Value) -> State {
    State {
        script: Script::Ends {
            pod_status,
            job_condition,
            gone: false,
        },
        ..State::default()
    }
}

async fn dispatch(state: State) -> (Mock, Result<TaskEnd, KubernetesError>, tempfile::TempDir) {
    let mock = Mock::new(state);
    let dir = tempfile::tempdir().unwrap();
    let end = tokio::time::timeout(
        Duration::from_secs(20),
        mock.dispatcher().run_task(&task(dir.path())),
    )
    .await
    .expect("the dispatcher ends");
    (mock, end, dir)
}

#[tokio::test]
async fn the_job_runs_run_node_once_with_the_nodes_deadline_labels_resources_and_the_store_from_the_secret()
 {
    let (mock, end, dir) = dispatch(ends(
        terminated(0, "Completed", "Succeeded"),
        condition("Complete", ""),
    ))
    .await;
    assert_eq!(end.unwrap(), TaskEnd::Exited(0));

    let parent = &mock.requests(Method::POST, "configmaps")[0];
    assert_eq!(parent.path, "/api/v1/namespaces/ml/configmaps");
    let created = mock.requests(Method::POST, "jobs");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].path, "/apis/batch/v1/namespaces/ml/jobs");
    let job = created[0].body.clone().unwrap();
    assert_eq!(job["spec"]["backoffLimit"], 0, "{job:#}");
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 30);
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
    let name = job["metadata"]["name"].as_str().unwrap();
    assert_eq!(name, "millrace-20260101t000000-ab12-greet-1");
    let labels = &job["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "millrace");
    assert_eq!(labels["millrace.dev/pipeline"], "hello");
    assert_eq!(labels["millrace.dev/run-id"], "20260101T000000-ab12");
    assert_eq!(labels["millrace.dev/node"], "greet");
    assert_eq!(labels["millrace.dev/attempt"], "1");
    assert_eq!(job["spec"]["template"]["metadata"]["labels"], *labels);
    assert_eq!(
        job["metadata"]["annotations"]["millrace.dev/fingerprint"],
        "f".repeat(64)
    );
    // The run id has capitals, which names may not: the parent's name ends with a hash.
    let owner = &job["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "ConfigMap");
    assert_eq!(owner["uid"], "parent-uid");
    assert_eq!(
        owner["name"],
        parent.body.as_ref().unwrap()["metadata"]["name"]
    );
    assert!(
        owner["name"]
            .as_str()
            .unwrap()
            .starts_with("millrace-run-20260101t000000-ab12-")
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "registry.example/hello:1");
    assert_eq!(
        container["args"],
        json!([
            "run-node",
            "--run-id",
            "20260101T000000-ab12",
            "--node",
            "greet",
            "--fingerprint",
            "f".repeat(64)
        ])
    );
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "256Mi", "nvidia.com/gpu": "1"}})
    );
    let env = container["env"].as_array().unwrap();
    for (variable, key) in [
        ("MILLRACE_STORE", "MILLRACE_STORE"),
        ("MILLRACE_ROOT", "MILLRACE_ROOT"),
    ] {
        let entry = env.iter().find(|entry| entry["name"] == variable).unwrap();
        assert_eq!(entry.get("value"), None, "{entry}");
        assert_eq!(
            entry["valueFrom"]["secretKeyRef"],
            json!({"name": "hello-store", "key": key, "optional": false})
        );
    }
    // It followed the Job by name and its pod by the task's label, and copied the log.
    let watched: Vec<String> = mock
        .requests(Method::GET, "jobs")
        .into_iter()
        .map(|seen| seen.query)
        .collect();
    assert!(
        watched.iter().any(|query| query.contains("watch=true")
            && query.contains("fieldSelector=metadata.name%3D")),
        "{watched:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pod.log")).unwrap(),
        "hello from the pod\n"
    );
    assert!(mock.requests(Method::DELETE, "jobs").is_empty());
}

#[tokio::test]
async fn a_failing_run_node_ends_with_its_exit_code() {
    let (_, end, _dir) = dispatch(ends(
        terminated(1, "Error", "Failed"),
        condition("Failed", "BackoffLimitExceeded"),
    ))
    .await;
    assert_eq!(end.unwrap(), TaskEnd::Exited(1));
}

#[tokio::test]
async fn a_job_that_exists_for_the_same_task_is_adopted_and_one_of_another_is_an_error() {
    // A runner restarted while its task ran: the Job of this task exists.
    let mut state = ends(
        terminated(0, "Completed", "Succeeded"),
        condition("Complete", ""),
    );
    let mock = Mock::new(State::default());
    let dir = tempfile::tempdir().unwrap();
    let ours =
        millrace_kubernetes::job::task_job(&task(dir.path()), mock.dispatcher().config(), None)
            .unwrap();
    let mut existing = serde_json::to_value(&ours).unwrap();
    existing["metadata"]["resourceVersion"] = json!("1");
    let pod = State::default().pod_for(&existing, terminated(0, "Completed", "Succeeded"));
    let mut finished = existing.clone();
    finished["status"] = json!({"conditions": [condition("Complete", "")]});
    state.existing_job = Some(finished);
    state.pod = Some(pod);
    let (mock, end, _dir) = dispatch(state).await;
    assert_eq!(end.unwrap(), TaskEnd::Exited(0));
    assert_eq!(mock.requests(Method::POST, "jobs").len(), 1);
    assert_eq!(
        mock.requests(Method::GET, "jobs")
            .iter()
            .filter(|seen| !seen.path.ends_with("/jobs"))
            .count(),
        1
    );

    // A Job of that name that is another task's.
    let mut foreign = existing.clone();
    foreign["metadata"]["labels"]["millrace.dev/node"] = json!("someone_else");
    let (_, end, _dir) = dispatch(State {
        existing_job: Some(foreign),
        ..State::default()
    })
    .await;
    match end {
        Err(KubernetesError::ForeignJob { job, node, .. }) => {
            assert_eq!(job, "millrace-20260101t000000-ab12-greet-1");
            assert_eq!(node, "greet");
        }
        other => panic!("expected ForeignJob, got {other:?}"),
    }
}

#[tokio::test]
async fn a_watch_cut_with_410_gone_lists_again_and_does_not_lose_the_end() {
    let (mock, end, _dir) = dispatch(State {
        script: Script::Ends {
            pod_status: terminated(3, "Error", "Failed"),
            job_condition: condition("Failed", "BackoffLimitExceeded"),
            gone: true,
        },
        ..State::default()
    })
    .await;
    assert_eq!(end.unwrap(), TaskEnd::Exited(3));
    let lists = mock
        .requests(Method::GET, "jobs")
        .into_iter()
        .filter(|seen| seen.path.ends_with("/jobs") && !seen.query.contains("watch=true"))
        .count();
    assert_eq!(lists, 2, "listed once, then again after 410 Gone");
}

#[tokio::test]
async fn requests_failing_with_500_503_and_429_are_made_again() {
    let mut state = ends(
        terminated(0, "Completed", "Succeeded"),
        condition("Complete", ""),
    );
    state
        .failures
        .insert("POST jobs".to_owned(), VecDeque::from([503, 500]));
    state
        .failures
        .insert("GET jobs".to_owned(), VecDeque::from([429]));
    state
        .failures
        .insert("POST configmaps".to_owned(), VecDeque::from([500]));
    let (mock, end, _dir) = dispatch(state).await;
    assert_eq!(end.unwrap(), TaskEnd::Exited(0));
    assert_eq!(mock.requests(Method::POST, "jobs").len(), 3);
}

#[tokio::test]
async fn a_request_that_keeps_failing_fails_the_task_naming_what_was_asked() {
    let mut state = State::default();
    state
        .failures
        .insert("POST jobs".to_owned(), VecDeque::from([503; 10]));
    let (_, end, _dir) = dispatch(state).await;
    let error = end.unwrap_err();
    assert_eq!(error.status_code(), Some(503));
    assert!(
        error
            .to_string()
            .contains("create Job millrace-20260101t000000-ab12-greet-1 in namespace ml"),
        "{error}"
    );
}

#[tokio::test]
async fn an_evicted_pod_is_reported_as_evicted() {
    let evicted = json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."});
    let (_, end, _dir) = dispatch(ends(evicted, condition("Failed", "BackoffLimitExceeded"))).await;
    match end.unwrap() {
        TaskEnd::Killed(reason) => {
            assert!(
                reason.contains("evicted") && reason.contains("low on resource"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_out_of_memory_pod_is_reported_as_oom_killed_with_its_limit() {
    let (_, end, _dir) = dispatch(ends(
        terminated(137, "OOMKilled", "Failed"),
        condition("Failed", "BackoffLimitExceeded"),
    ))
    .await;
    match end.unwrap() {
        TaskEnd::Killed(reason) => {
            assert!(
                reason.starts_with("OOMKilled") && reason.contains("256Mi"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_job_past_its_deadline_is_reported_as_timed_out() {
    let (_, end, _dir) = dispatch(ends(
        terminated(137, "Error", "Failed"),
        condition("Failed", "DeadlineExceeded"),
    ))
    .await;
    assert_eq!(
        end.unwrap(),
        TaskEnd::Killed("timed out after 30 s".to_owned())
    );
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_ends_the_task_and_deletes_its_job() {
    let waiting = json!({"phase": "Pending", "containerStatuses": [{"name": "run-node", "image": "registry.example/hello:1", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry.example/hello:1\""}}}]});
    let (mock, end, _dir) = dispatch(ends(waiting, condition("Nothing", ""))).await;
    match end.unwrap() {
        TaskEnd::Killed(reason) => assert!(
            reason.starts_with(
                "image registry.example/hello:1 could not be pulled: ImagePullBackOff"
            ),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let deleted = mock.requests(Method::DELETE, "jobs");
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0]
            .path
            .ends_with("/jobs/millrace-20260101t000000-ab12-greet-1")
    );
    assert_eq!(
        deleted[0].body.as_ref().unwrap()["propagationPolicy"],
        "Background"
    );
}

#[tokio::test]
async fn cancel_all_deletes_every_running_job_with_its_pods() {
    let mock = Mock::new(State::default());
    let dispatcher = mock.dispatcher();
    let dir = tempfile::tempdir().unwrap();
    let running = {
        let (dispatcher, task) = (dispatcher.clone(), task(dir.path()));
        tokio::spawn(async move { dispatcher.run_task(&task).await })
    };
    while mock.requests(Method::POST, "jobs").is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        dispatcher.running_jobs(),
        ["millrace-20260101t000000-ab12-greet-1"]
    );
    dispatcher.cancel_all().await.unwrap();
    assert!(dispatcher.running_jobs().is_empty());
    let deleted = mock.requests(Method::DELETE, "jobs");
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0].body.as_ref().unwrap()["propagationPolicy"],
        "Background"
    );
    let end = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(&end, TaskEnd::Killed(reason) if reason.contains("deleted")),
        "{end:?}"
    );
}
