//! End to end against an emulated Kubernetes API ([`emulation`]) whose "kubelet" runs each Job's
//! pod as a real podman container: the example pipelines' binaries run `run --on kubernetes`
//! with the kube client talking plain HTTP to 127.0.0.1, and every component node's attempt
//! runs `run-node` in its own container of an image built here FROM the Debian base image
//! that `cargo xtask test` builds (never pulled). No Kubernetes API server runs here: this
//! checks the runner's use of the API and the whole run through real containers, not a
//! cluster's behaviour.
//!
//! Needs podman with the base image (`MILLRACE_CONTAINER_BASE`, default
//! `localhost/debian:bookworm-slim`) and the `hello`, `conformance` and `taxi` examples built in
//! the same target directory (`cargo test --workspace` builds them); without them each test
//! says it was skipped and why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

mod emulation;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use emulation::{Cluster, Options, nodes_of};
use millrace_kubernetes::{JobDispatcher, KubernetesConfig};
use millrace_runner::{NodeDispatcher, NodeTask, TaskEnd};
use serde_json::{Value, json};

const CONF: &str = "[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n";

fn skipped(test: &str, why: &str) -> Option<Setup> {
    // Straight to the terminal, past the harness's capture.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (kubernetes emulation {test}): {why}"
    );
    None
}

/// podman, its configuration, and the test image of the examples.
struct Setup {
    conf: PathBuf,
    /// Example → its image (the example's binary as the entrypoint).
    images: BTreeMap<String, String>,
    _conf_dir: tempfile::TempDir,
}

/// An example binary beside this test's binary, if built.
fn example(name: &str) -> Option<PathBuf> {
    let test_binary = std::env::current_exe().ok()?;
    let binary = test_binary.parent()?.parent()?.join("examples").join(name);
    binary.exists().then_some(binary)
}

fn setup(test: &str) -> Option<Setup> {
    let base = std::env::var("MILLRACE_CONTAINER_BASE")
        .ok()
        .filter(|base| !base.is_empty())
        .unwrap_or_else(|| "localhost/debian:bookworm-slim".to_owned());
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = match std::env::var_os("CONTAINERS_CONF") {
        Some(conf) if !conf.is_empty() => PathBuf::from(conf),
        _ => {
            let conf = conf_dir.path().join("containers.conf");
            std::fs::write(&conf, CONF).unwrap();
            conf
        }
    };
    let exists = std::process::Command::new("podman")
        .args(["image", "exists", &base])
        .env("CONTAINERS_CONF", &conf)
        .status();
    if !matches!(exists, Ok(status) if status.success()) {
        return skipped(
            test,
            &format!(
                "podman or the base image {base} is missing (podman not set up: run cargo xtask test)"
            ),
        );
    }
    let (Some(hello), Some(conformance)) = (example("hello"), example("conformance")) else {
        return skipped(
            test,
            "the hello and conformance examples are not built beside this test (run cargo test --workspace, or cargo build -p millrace --example hello --example conformance)",
        );
    };
    let images = [("hello", hello), ("conformance", conformance)]
        .into_iter()
        .map(|(name, binary)| (name.to_owned(), build_image(&base, &conf, &binary)))
        .collect();
    Some(Setup {
        conf,
        images,
        _conf_dir: conf_dir,
    })
}

/// An image FROM `base` with `binary` in /usr/local/bin as its entrypoint, and `stall` (which
/// sleeps), built once per content.
fn build_image(base: &str, conf: &Path, binary: &Path) -> String {
    let binaries = [binary.to_owned()];
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    let mut identity = base.to_owned();
    for binary in &binaries {
        let meta = std::fs::metadata(binary).unwrap();
        identity.push_str(&format!(
            "{}:{}:{:?}",
            binary.display(),
            meta.len(),
            meta.modified().unwrap()
        ));
    }
    let repository = format!(
        "localhost/millrace-kubernetes-test-{}",
        binary.file_name().unwrap().to_str().unwrap()
    );
    let tag = format!(
        "{repository}:{}",
        &blake3::hash(identity.as_bytes()).to_hex()[..12]
    );
    let podman = |arguments: &[&str], dir: Option<&Path>| {
        let mut command = std::process::Command::new("podman");
        command.args(arguments).env("CONTAINERS_CONF", conf);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command.output().unwrap()
    };
    if podman(&["image", "exists", &tag], None).status.success() {
        return tag;
    }
    let context = tempfile::tempdir().unwrap();
    let mut containerfile = format!("FROM {base}\n");
    let name = binary.file_name().unwrap().to_str().unwrap();
    std::fs::copy(binary, context.path().join(name)).unwrap();
    containerfile.push_str(&format!(
        "COPY {name} /usr/local/bin/{name}\nENTRYPOINT [\"/usr/local/bin/{name}\"]\n"
    ));
    std::fs::write(context.path().join("stall"), "#!/bin/sh\nexec sleep 600\n").unwrap();
    containerfile.push_str("COPY --chmod=755 stall /usr/local/bin/stall\n");
    std::fs::write(context.path().join("Containerfile"), containerfile).unwrap();
    let built = podman(
        &[
            "build",
            "--pull=never",
            "--network",
            "host",
            "-t",
            &tag,
            "-f",
            "Containerfile",
            ".",
        ],
        Some(context.path()),
    );
    assert!(
        built.status.success(),
        "podman build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    // The images of earlier builds of this binary are of no use any more.
    let listed = podman(
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &format!("reference={repository}"),
        ],
        None,
    );
    for old in String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|image| *image != tag)
    {
        let _ = podman(&["rmi", old], None);
    }
    tag
}

/// A directory with the store and root, and the emulated cluster's Secret pointing at them.
struct Run {
    dir: tempfile::TempDir,
    cluster: Cluster,
}

impl Run {
    async fn start(
        setup: &Setup,
        evict_first: &[(&str, u32)],
        cut_watches: bool,
        extra_mounts: &[PathBuf],
    ) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let secret = BTreeMap::from([
            ("MILLRACE_STORE".to_owned(), store_url(dir.path())),
            (
                "MILLRACE_ROOT".to_owned(),
                root(dir.path()).display().to_string(),
            ),
        ]);
        let cluster = Cluster::start(Options {
            secrets: BTreeMap::from([("pipeline-store".to_owned(), secret)]),
            mounts: [dir.path().to_owned()]
                .into_iter()
                .chain(extra_mounts.iter().cloned())
                .collect(),
            containers_conf: Some(setup.conf.clone()),
            evict_first: evict_first
                .iter()
                .map(|(node, count)| ((*node).to_owned(), *count))
                .collect(),
            cut_watches_on_job_end: cut_watches,
        })
        .await;
        std::fs::write(dir.path().join("kubeconfig"), cluster.kubeconfig("ml")).unwrap();
        Run { dir, cluster }
    }

    /// Runs `example run --on kubernetes ... extra` and returns its exit code and JSON summary.
    async fn run(
        &self,
        setup: &Setup,
        example_name: &str,
        extra: &[&str],
    ) -> (Option<i32>, Value, String) {
        let mut command = tokio::process::Command::new(example(example_name).unwrap());
        command
            .args([
                "run",
                "--on",
                "kubernetes",
                "--image",
                &setup.images[example_name],
                "--secret",
                "pipeline-store",
                "--json",
            ])
            .args(extra)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("MILLRACE_STORE", store_url(self.dir.path()))
            .env("MILLRACE_ROOT", root(self.dir.path()))
            .env("CONTAINERS_CONF", &setup.conf)
            .current_dir(self.dir.path());
        let output = tokio::time::timeout(Duration::from_secs(300), command.output())
            .await
            .expect("the run ends within 5 minutes")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let summary = serde_json::from_str(&stdout).unwrap_or_else(|_| json!({"stdout": stdout}));
        (output.status.code(), summary, stderr)
    }
}

fn store_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("metadata.sqlite").display())
}

fn root(dir: &Path) -> PathBuf {
    dir.join("artifacts")
}

fn states(summary: &Value) -> BTreeMap<String, (String, u64)> {
    summary["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {summary:#}"))
        .iter()
        .map(|node| {
            (
                node["node"].as_str().unwrap().to_owned(),
                (
                    node["state"].as_str().unwrap().to_owned(),
                    node["attempts"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hello_completes_with_every_component_node_in_its_own_container() {
    let Some(setup) = setup("hello") else { return };
    let run = Run::start(&setup, &[], false, &[]).await;
    let (code, summary, stderr) = run.run(&setup, "hello", &[]).await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let states = states(&summary);
    assert_eq!(states["greet"].0, "complete", "{summary:#}");
    assert_eq!(states["count_words"].0, "complete", "{summary:#}");
    assert_eq!(states["shout"].0, "skipped", "{summary:#}");
    let jobs = run.cluster.created_jobs();
    // `shout` ran too: its `when` condition is evaluated by `run-node`, which said "skipped".
    assert_eq!(
        nodes_of(&jobs),
        BTreeSet::from(["greet", "count_words", "shout"].map(str::to_owned))
    );
    let containers: BTreeSet<String> = run.cluster.containers().into_iter().collect();
    assert_eq!(
        containers.len(),
        3,
        "one container per node: {containers:?}"
    );
    // What the nodes wrote is on the shared storage, and the pod's log was copied.
    let run_id = summary["run_id"].as_str().unwrap();
    let greeting = walk(&root(run.dir.path()).join("hello/greet"))
        .into_iter()
        .find(|path| path.ends_with("greeting.txt"))
        .expect("greet wrote greeting.txt");
    assert_eq!(
        std::fs::read_to_string(greeting).unwrap(),
        "Hello, world!\n"
    );
    let log =
        root(run.dir.path()).join(format!("hello/greet/.logs/run-{run_id}/attempt-0/pod.log"));
    assert!(log.exists(), "{} is missing", log.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_fails_twice_then_succeeds_follows_its_retry_policy() {
    let Some(setup) = setup("retries") else {
        return;
    };
    // `flaky` (2 retries) loses its first pod to an eviction, fails by itself on the second
    // attempt (the example fails its first execution on purpose) and succeeds on the third.
    let run = Run::start(&setup, &[("flaky", 1)], false, &[]).await;
    let attempts_dir = run.dir.path().join("attempts");
    let param = format!("attempts_dir={}", attempts_dir.display());
    let (code, summary, stderr) = run.run(&setup, "conformance", &["--param", &param]).await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    let states = states(&summary);
    assert_eq!(states["flaky"], ("complete".to_owned(), 3), "{summary:#}");
    assert_eq!(states["cleanup"].0, "complete", "{summary:#}");
    let flaky_attempts: Vec<String> = run
        .cluster
        .created_jobs()
        .iter()
        .filter(|job| job["metadata"]["labels"]["millrace.dev/node"] == "flaky")
        .map(|job| {
            job["metadata"]["labels"]["millrace.dev/attempt"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(flaky_attempts, ["0", "1", "2"]);
    for job in run.cluster.created_jobs() {
        assert_eq!(
            job["spec"]["backoffLimit"], 0,
            "the runner retries, not Kubernetes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_watch_cut_with_410_gone_resumes_without_losing_a_nodes_end() {
    let Some(setup) = setup("410") else { return };
    let run = Run::start(&setup, &[], true, &[]).await;
    let (code, summary, stderr) = run.run(&setup, "hello", &[]).await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    assert_eq!(states(&summary)["count_words"].0, "complete");
    assert!(
        run.cluster.gone_answers() > 0,
        "no watch was answered 410 Gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn taxi_completes_on_the_emulated_cluster_and_blesses_its_model() {
    let Some(mut setup) = setup("taxi") else {
        return;
    };
    let Some(taxi) = example("taxi") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (kubernetes emulation taxi): the taxi example is not built beside this test \
             (run cargo test --workspace, or cargo build -p millrace --example taxi)"
        );
        return;
    };
    let base = std::env::var("MILLRACE_CONTAINER_BASE")
        .ok()
        .filter(|base| !base.is_empty())
        .unwrap_or_else(|| "localhost/debian:bookworm-slim".to_owned());
    let image = build_image(&base, &setup.conf, &taxi);
    setup.images.insert("taxi".to_owned(), image);
    // The data is read where the binary was built to find it: the cluster's storage has it.
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .canonicalize()
        .unwrap();
    let run = Run::start(&setup, &[], false, &[data]).await;
    let (code, summary, stderr) = run.run(&setup, "taxi", &["--param", "max_depth=4"]).await;
    assert_eq!(code, Some(0), "{summary:#}\n{stderr}");
    for (node, (state, _)) in states(&summary) {
        assert!(state == "complete", "{node} is {state}: {summary:#}");
    }
    let in_containers = nodes_of(&run.cluster.created_jobs());
    for node in [
        "example_gen",
        "statistics_gen",
        "schema_gen",
        "transform",
        "trainer",
        "evaluator",
        "pusher",
    ] {
        assert!(
            in_containers.contains(node),
            "{node} did not run in a Job: {in_containers:?}"
        );
    }
    let evaluation = walk(&root(run.dir.path()).join("chicago-taxi/evaluator"))
        .into_iter()
        .find(|path| path.ends_with("evaluation.json"))
        .expect("the evaluator wrote evaluation.json");
    let evaluation: Value =
        serde_json::from_str(&std::fs::read_to_string(evaluation).unwrap()).unwrap();
    assert_eq!(evaluation["blessed"], true, "{evaluation:#}");
}

fn stall_task(dir: &Path, timeout_ms: Option<u64>) -> NodeTask {
    NodeTask {
        pipeline: "hello".to_owned(),
        fingerprint: "0".repeat(64),
        run_id: format!("stall-{}", timeout_ms.unwrap_or(0)),
        node: "greet".to_owned(),
        attempt: 0,
        parameters: BTreeMap::new(),
        options: serde_json::from_value(json!({"timeout_ms": timeout_ms})).unwrap(),
        log_dir: dir.join("logs"),
    }
}

fn stall_dispatcher(run: &Run, setup: &Setup) -> JobDispatcher {
    let config = KubernetesConfig::new("ml")
        .image(&setup.images["hello"])
        .binary("/usr/local/bin/stall")
        .secret("pipeline-store");
    JobDispatcher::with_url(&run.cluster.url, config).unwrap()
}

async fn container_is_running(setup: &Setup, name: &str) -> bool {
    let output = tokio::process::Command::new("podman")
        .args(["ps", "--quiet", "--filter", &format!("name=^{name}$")])
        .env("CONTAINERS_CONF", &setup.conf)
        .output()
        .await
        .unwrap();
    !String::from_utf8_lossy(&output.stdout).trim().is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timeout_kills_the_job_and_its_container() {
    let Some(setup) = setup("timeout") else {
        return;
    };
    let run = Run::start(&setup, &[], false, &[]).await;
    let dispatcher = stall_dispatcher(&run, &setup);
    let end = tokio::time::timeout(
        Duration::from_secs(120),
        dispatcher.run_task(&stall_task(run.dir.path(), Some(2_000))),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(end, TaskEnd::Killed("timed out after 2 s".to_owned()));
    let job = &run.cluster.jobs()[0];
    assert_eq!(job["status"]["conditions"][0]["reason"], "DeadlineExceeded");
    let container = run.cluster.containers()[0].clone();
    assert!(!container_is_running(&setup, &container).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_all_leaves_no_job_and_no_container_behind() {
    let Some(setup) = setup("cancel") else { return };
    let run = Run::start(&setup, &[], false, &[]).await;
    let dispatcher = stall_dispatcher(&run, &setup);
    let task = stall_task(run.dir.path(), None);
    let running = {
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move { dispatcher.run_task(&task).await })
    };
    // Wait until the container runs.
    let mut waited = 0;
    loop {
        let containers = run.cluster.containers();
        if let Some(name) = containers.first()
            && container_is_running(&setup, name).await
        {
            break;
        }
        waited += 1;
        assert!(waited < 600, "the container never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dispatcher.cancel_all().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(&end, TaskEnd::Killed(reason) if reason.contains("deleted")),
        "{end:?}"
    );
    assert!(run.cluster.jobs().is_empty(), "{:#?}", run.cluster.jobs());
    assert!(run.cluster.pods().is_empty());
    let container = run.cluster.containers()[0].clone();
    assert!(!container_is_running(&setup, &container).await);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
