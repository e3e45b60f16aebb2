//! `compile`: the manifests of a run — the runner's RBAC, the run's parent, a Job per component
//! node — their shape, their YAML, and the real schemas: every manifest passes
//! `kubernetes-validate --strict` for Kubernetes 1.33 and 1.37 (`cargo xtask test` installs
//! kubernetes-validate 1.37.0 into the venv of `MILLRACE_TEST_PYTHON`; without it that test says
//! it was skipped).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Toleration;
use millrace_core::prelude::*;
use millrace_kubernetes::{KubernetesConfig, NodeOverrides, compile};
use serde_json::{Value, json};

/// Text that is hard to embed in YAML and shells.
const HOSTILE: &str = "It's \"quoted\"\nnew line\t{{ x }} ''' \\ $HOME `date` ; --- # not a comment: [a, b] café → 😀";

/// Writes a greeting.
#[millrace_macros::component(crate = millrace_core, kind = "k8s_test.Greet")]
async fn greet(greeting: Output<Dataset>, name: String) -> Result<(), ComponentError> {
    std::fs::write(greeting.uri().join("greeting.txt"), name)?;
    Ok(())
}

/// Trains on a greeting.
#[millrace_macros::component(crate = millrace_core, kind = "k8s_test.Train")]
async fn train(greeting: Input<Dataset>, model: Output<Model>) -> Result<(), ComponentError> {
    std::fs::copy(
        greeting.uri().join("greeting.txt"),
        model.uri().join("model.txt"),
    )?;
    Ok(())
}

const LONG_NODE: &str = "a_node_whose_id_is_long_enough_to_overflow_the_job_name_limit";

fn pipeline() -> Pipeline {
    let mut p = Pipeline::builder("k8s-test");
    let name = p.param("name", HOSTILE.to_owned());
    p.import("schema", Importer::<Schema>::new("data/schema.json"));
    let greeting = p.add(LONG_NODE, Greet::new(&name));
    p.add(
        "train",
        Train::new(greeting.greeting)
            .image("registry.example/trainer:2")
            .cpu("2")
            .memory("4Gi")
            .gpu(1)
            .timeout(Duration::from_secs(90)),
    );
    p.build().unwrap()
}

fn config() -> KubernetesConfig {
    KubernetesConfig::new("ml")
        .image("registry.example/k8s-test:1")
        .secret("k8s-test-store")
        .service_account("pipelines")
        .image_pull_policy("IfNotPresent")
        .node_selector("pool", "cpu")
        .node_override(
            "train",
            NodeOverrides::default()
                .node_selector("pool", "gpu")
                .toleration(Toleration {
                    key: Some("nvidia.com/gpu".to_owned()),
                    operator: Some("Exists".to_owned()),
                    effect: Some("NoSchedule".to_owned()),
                    ..Toleration::default()
                }),
        )
}

const RUN_ID: &str = "manual__2026-06-01T03:30:00+00:00";

fn documents() -> Vec<Value> {
    compile(&pipeline(), &config(), RUN_ID)
        .unwrap()
        .to_json_values()
}

fn job<'a>(documents: &'a [Value], node: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == "Job" && d["metadata"]["annotations"]["millrace.dev/node"] == node)
        .unwrap_or_else(|| panic!("no Job of {node}"))
}

#[test]
fn compile_writes_the_rbac_the_parent_and_one_job_per_component_node() {
    let documents = documents();
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ConfigMap",
            "Job",
            "Job"
        ]
    );
    let role = &documents[1];
    assert_eq!(
        role["rules"][0],
        json!({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch", "delete"]})
    );
    assert!(
        role["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| rule["resources"] == json!(["pods/log"]))
    );
    assert_eq!(documents[2]["subjects"][0]["name"], "millrace-runner");
    // The importer runs in the runner: no Job.
    assert!(
        documents
            .iter()
            .all(|d| d["metadata"]["annotations"]["millrace.dev/node"] != "schema")
    );

    let train = job(&documents, "train");
    let container = &train["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"], "registry.example/trainer:2",
        "the node's image wins"
    );
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi", "nvidia.com/gpu": "1"}})
    );
    assert_eq!(train["spec"]["activeDeadlineSeconds"], 90);
    assert_eq!(train["spec"]["backoffLimit"], 0);
    let pod = &train["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"pool": "gpu"}),
        "the node's override"
    );
    assert_eq!(pod["tolerations"][0]["key"], "nvidia.com/gpu");
    assert_eq!(pod["serviceAccountName"], "pipelines");

    let greet = job(&documents, LONG_NODE);
    let container = &greet["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"], "registry.example/k8s-test:1",
        "the pipeline's image"
    );
    assert_eq!(
        greet["spec"]["template"]["spec"]["nodeSelector"],
        json!({"pool": "cpu"})
    );
    assert_eq!(greet["spec"].get("activeDeadlineSeconds"), None);
}

#[test]
fn names_and_label_values_are_what_kubernetes_accepts_and_annotations_keep_the_full_values() {
    let documents = documents();
    for document in &documents {
        let name = document["metadata"]["name"].as_str().unwrap();
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
        for (key, value) in document["metadata"]["labels"].as_object().unwrap() {
            let value = value.as_str().unwrap();
            assert!(value.len() <= 63, "{key}: {value}");
            assert!(
                value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
                "{key}: {value}"
            );
        }
    }
    let greet = job(&documents, LONG_NODE);
    assert_eq!(
        greet["metadata"]["annotations"]["millrace.dev/run-id"],
        RUN_ID
    );
    assert_eq!(
        greet["metadata"]["annotations"]["millrace.dev/node"],
        LONG_NODE
    );
    assert_ne!(greet["metadata"]["labels"]["millrace.dev/run-id"], RUN_ID);
    assert_eq!(
        greet["spec"]["template"]["spec"]["containers"][0]["args"][2], RUN_ID,
        "run-node gets the run id itself"
    );
}

#[test]
fn the_store_and_root_come_from_the_secret_never_as_values() {
    let documents = documents();
    for node in [LONG_NODE, "train"] {
        let env = job(&documents, node)["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .clone();
        for name in ["MILLRACE_STORE", "MILLRACE_ROOT"] {
            let variable = env.iter().find(|v| v["name"] == name).unwrap();
            assert_eq!(variable.get("value"), None);
            assert_eq!(
                variable["valueFrom"]["secretKeyRef"]["name"],
                "k8s-test-store"
            );
            assert_eq!(variable["valueFrom"]["secretKeyRef"]["key"], name);
        }
    }
}

#[test]
fn the_yaml_reads_back_as_the_manifests_even_with_hostile_text() {
    let manifests = compile(&pipeline(), &config(), RUN_ID).unwrap();
    let yaml = manifests.to_yaml().unwrap();
    assert_eq!(
        yaml.matches("\n---\n").count() + usize::from(yaml.starts_with("---\n")),
        6
    );
    let read: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(read, manifests.to_json_values());
    let greet = job(&read, LONG_NODE);
    let parameters = greet["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "MILLRACE_PARAMS_JSON")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        serde_json::from_str::<Value>(&parameters).unwrap()["name"],
        HOSTILE
    );
}

/// The `kubernetes-validate` of the test venv, or `None` (said) without it.
fn kubernetes_validate() -> Option<PathBuf> {
    let found = std::env::var_os("MILLRACE_TEST_PYTHON")
        .filter(|python| !python.is_empty())
        .and_then(|python| Some(PathBuf::from(python).parent()?.join("kubernetes-validate")))
        .filter(|tool| tool.exists());
    if found.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (kubernetes manifests): kubernetes-validate not found beside \
             MILLRACE_TEST_PYTHON; `cargo xtask test` installs kubernetes-validate 1.37.0 into its venv"
        );
    }
    found
}

fn validate(tool: &PathBuf, version: &str, yaml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, yaml).unwrap();
    let output = std::process::Command::new(tool)
        .args(["--strict", "--kubernetes-version", version])
        .arg(&file)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn every_manifest_passes_kubernetes_validate_strict_for_1_33_and_1_37() {
    let Some(tool) = kubernetes_validate() else {
        return;
    };
    let yaml = compile(&pipeline(), &config(), RUN_ID)
        .unwrap()
        .to_yaml()
        .unwrap();
    for version in ["1.33.0", "1.37.0"] {
        let (passed, said) = validate(&tool, version, &yaml);
        assert!(passed, "Kubernetes {version}:\n{said}\n{yaml}");
        assert_eq!(said.matches("passed for resource").count(), 6, "{said}");
    }
    // The check can fail: a Job with a field Kubernetes does not know does not pass.
    let broken = yaml.replacen(
        "backoffLimit: 0",
        "backoffLimit: 0\n  retriesByMillrace: 3",
        1,
    );
    let (passed, said) = validate(&tool, "1.37.0", &broken);
    assert!(!passed, "a wrong manifest passed:\n{said}");
}

/// An example binary beside this test's binary, if built (`cargo test --workspace` builds them).
fn example(name: &str) -> Option<PathBuf> {
    let test_binary = std::env::current_exe().ok()?;
    let binary = test_binary.parent()?.parent()?.join("examples").join(name);
    binary.exists().then_some(binary)
}

#[test]
fn compile_target_kubernetes_writes_the_examples_manifests_to_a_file() {
    let Some(hello) = example("hello") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (kubernetes compile): the hello example is not built beside this test (run \
             cargo test --workspace, or cargo build -p millrace --example hello)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(hello)
        .args([
            "compile",
            "--target",
            "kubernetes",
            "--namespace",
            "ml",
            "--image",
        ])
        .args([
            "registry.example/hello:1",
            "--secret",
            "hello-store",
            "--run-id",
            "nightly-1",
        ])
        .arg("--out")
        .arg(format!("{}/", dir.path().display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let yaml = std::fs::read_to_string(dir.path().join("hello.kubernetes.yaml")).unwrap();
    let documents: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let jobs: Vec<&str> = documents
        .iter()
        .filter(|d| d["kind"] == "Job")
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    // `count_words` is not a DNS label as it is: its name ends with a hash of the original, so
    // that a node `count-words` beside it would get a name of its own.
    assert_eq!(
        jobs,
        [
            "millrace-nightly-1-greet-0",
            "millrace-nightly-1-count-words-0-f6604f8bc2be",
            "millrace-nightly-1-shout-0"
        ]
    );
    assert!(documents.iter().all(|d| d["metadata"]["namespace"] == "ml"));
    if let Some(tool) = kubernetes_validate() {
        let (passed, said) = validate(&tool, "1.33.0", &yaml);
        assert!(passed, "{said}");
    }

    // Without an image for its nodes, compile says which node and how to give one.
    let output = std::process::Command::new(example("hello").unwrap())
        .args(["compile", "--target", "kubernetes"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("node `greet` has no image") && said.contains("--image"),
        "{said}"
    );
}
