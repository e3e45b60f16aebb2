//! `compile --target kfp` and `compile --target argo` of the example pipelines, read back
//! through the engines' own loaders: the Kubeflow Pipelines SDK (`kfp` 2.17.3: the component
//! loader, and the IR's protobuf with unknown fields rejected) and hera 7.1.0's models of Argo's
//! API. `tools/python/engine_dag.py` turns what the loaders read into a DAG in Millrace's terms
//! (node ids from each task's `run-node --node`), and every test here checks that DAG against the
//! pipeline IR the same binary writes: nodes, edges (resolvers' included), trigger rules, retry
//! policies, images, parameters with their defaults and descriptions, the exit handler, the
//! command each task runs. Hostile text (the conformance example's quotes, newlines, `{{ }}`,
//! `$(`, unicode) must come out of both loaders byte for byte.
//!
//! Needs `MILLRACE_TEST_ENGINES_PYTHON` with `kfp` and `hera` (`cargo xtask test` installs both); without
//! them every test says SKIPPED. No Kubeflow, Vertex AI or Argo backend runs here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod example_binaries;

use example_binaries::example;
use millrace::spec::{ParameterType, PipelineSpec, TriggerRule};
use serde_json::Value;

/// The conformance example's hostile text (`examples/conformance.rs`).
const HOSTILE: &str = "It's \"quoted\"\nnew line\t{{ run_id }} {% if %} ''' \"\"\" \\ $HOME `date` ; rm -rf / café → 😀";

/// The image the tests give nodes without their own.
const IMAGE: &str = "registry.example/millrace/pipeline:1";

/// The examples every target must express (`taxi_data` has sharded nodes).
const EXAMPLES: [&str; 5] = [
    "hello",
    "taxi",
    "multi_framework",
    "conformance",
    "taxi_data",
];

/// The test venv's Python when it has kfp and hera, or `None` (said).
fn python_with_loaders(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("MILLRACE_TEST_ENGINES_PYTHON")
        .filter(|python| !python.is_empty())
        .map(PathBuf::from);
    let usable = python.filter(|python| {
        Command::new(python)
            .args(["-c", "import kfp, hera"])
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if usable.is_none() {
        // Straight to the terminal, past the harness's capture: `cargo test` shows the skip.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (engine targets: {test}): MILLRACE_TEST_ENGINES_PYTHON is unset or lacks kfp \
             and hera; `cargo xtask test` installs kfp 2.17.3 and hera 7.1.0 into a venv"
        );
    }
    usable
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs example `name` with `arguments`; its standard output, or a panic with its error.
fn output_of(name: &str, arguments: &[&str], dir: &Path) -> String {
    let output = Command::new(example(name))
        .args(arguments)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The pipeline IR and fingerprint example `name` writes.
fn ir_of(name: &str, dir: &Path) -> (PipelineSpec, String) {
    let spec =
        PipelineSpec::from_json(&output_of(name, &["compile", "--target", "ir"], dir)).unwrap();
    let validated = output_of(name, &["validate"], dir);
    let fingerprint = validated
        .split("fingerprint ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    (spec, fingerprint)
}

/// Compiles example `name` for `target` into `dir` and reads the file back through the
/// engine's loader: the DAG as `engine_dag.py` prints it.
fn loaded_dag(python: &Path, name: &str, target: &str, extra: &[&str], dir: &Path) -> Value {
    let file = dir.join(format!("{name}.{target}.yaml"));
    let mut arguments = vec![
        "compile",
        "--target",
        target,
        "--image",
        IMAGE,
        "--out",
        file.to_str().unwrap(),
    ];
    arguments.extend_from_slice(extra);
    output_of(name, &arguments, dir);
    let output = Command::new(python)
        .arg(workspace().join("tools/python/engine_dag.py"))
        .arg(target)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} → {target}: the loader refused it:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn trigger_name(rule: TriggerRule) -> &'static str {
    match rule {
        TriggerRule::AllSuccess => "all_success",
        TriggerRule::AllDone => "all_done",
        TriggerRule::OneFailed => "one_failed",
    }
}

/// The IR's edges: the producers of a node's inputs and of the artifacts its condition reads.
fn upstream_in_ir(spec: &PipelineSpec) -> BTreeMap<&str, BTreeSet<&str>> {
    spec.nodes
        .iter()
        .map(|node| {
            let mut upstream: BTreeSet<&str> = node
                .inputs
                .values()
                .map(|input| input.channel.node.as_str())
                .collect();
            upstream.extend(node.upstream_node_ids());
            (node.id.as_str(), upstream)
        })
        .collect()
}

/// The nodes that may be skipped: those with a `when` condition and all downstream of one.
fn skippable_in_ir(spec: &PipelineSpec) -> BTreeSet<&str> {
    let upstream = upstream_in_ir(spec);
    let mut skippable = BTreeSet::new();
    // Until nothing changes: no reliance on the IR's node order.
    loop {
        let before = skippable.len();
        for node in &spec.nodes {
            if node.options.when.is_some()
                || upstream[node.id.as_str()]
                    .iter()
                    .any(|id| skippable.contains(id))
            {
                skippable.insert(node.id.as_str());
            }
        }
        if skippable.len() == before {
            return skippable;
        }
    }
}

/// The strings of a JSON array (none when it is not one).
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Two JSON values equal as parameter values: numbers by value (KFP stores every number as a
/// double), everything else exactly.
fn same_value(left: &Value, right: &Value) -> bool {
    match (left.as_f64(), right.as_f64()) {
        (Some(left), Some(right)) => left == right,
        _ => left == right,
    }
}

/// Checks that the DAG a loader read equals the IR's; every difference at once.
fn assert_dag_equals_ir(
    target: &str,
    name: &str,
    dag: &Value,
    spec: &PipelineSpec,
    fingerprint: &str,
) {
    let mut problems = Vec::new();
    let tasks = dag["tasks"].as_object().unwrap();
    let in_ir: BTreeSet<&str> = spec.nodes.iter().map(|node| node.id.as_str()).collect();
    let in_dag: BTreeSet<&str> = tasks.keys().map(String::as_str).collect();
    if in_ir != in_dag {
        problems.push(format!("nodes: IR {in_ir:?}, {target} {in_dag:?}"));
    }
    let upstream = upstream_in_ir(spec);
    let parameter_names: Vec<&str> = {
        let mut names: Vec<&str> = spec.parameters.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names
    };
    let binary = format!("/usr/local/bin/{name}");
    let skippable = skippable_in_ir(spec);
    for node in &spec.nodes {
        let Some(task) = tasks.get(&node.id) else {
            continue;
        };
        let id = &node.id;
        let is_exit = spec.exit_handler.as_deref() == Some(id.as_str());
        // The exit handler runs after everything, whatever happened: no edges of its own.
        let expected_upstream: Vec<&str> = if is_exit {
            Vec::new()
        } else {
            upstream[id.as_str()].iter().copied().collect()
        };
        let actual_upstream: Vec<&str> = strings(&task["upstream"]);
        if actual_upstream != expected_upstream {
            problems.push(format!(
                "{id}: upstream {actual_upstream:?}, IR {expected_upstream:?}"
            ));
        }
        let expected_trigger = if is_exit {
            "all_done"
        } else {
            trigger_name(node.options.trigger_rule)
        };
        if task["trigger"] != expected_trigger {
            problems.push(format!(
                "{id}: trigger {}, IR {expected_trigger}",
                task["trigger"]
            ));
        }
        let retry = &node.options.retry;
        if task["retries"] != u64::from(retry.max_retries) {
            problems.push(format!(
                "{id}: retries {}, IR {}",
                task["retries"], retry.max_retries
            ));
        }
        if retry.max_retries > 0 {
            let expected = serde_json::json!([retry.initial_backoff_ms, retry.max_backoff_ms]);
            if task["backoff_ms"] != expected {
                problems.push(format!(
                    "{id}: backoff {}, IR {expected}",
                    task["backoff_ms"]
                ));
            }
            if task["backoff_factor"].as_f64() != Some(retry.multiplier) {
                problems.push(format!(
                    "{id}: backoff factor {}, IR {}",
                    task["backoff_factor"], retry.multiplier
                ));
            }
        }
        let expected_image = node.options.image.as_deref().unwrap_or(IMAGE);
        if task["image"] != expected_image {
            problems.push(format!(
                "{id}: image {}, expected {expected_image}",
                task["image"]
            ));
        }
        let params: Vec<&str> = strings(&task["params"]);
        if params != parameter_names {
            problems.push(format!(
                "{id}: passes {params:?}, the pipeline has {parameter_names:?}"
            ));
        }
        // A node with a `when` condition, or downstream of one, may be skipped: KFP, which has
        // no skipped state, gets run-node in a wrapper that reports the skip as success; no
        // other node has one.
        let wrapped = task["skip_wrapper"] == true;
        if wrapped != (target == "kfp" && skippable.contains(id.as_str())) {
            problems.push(format!("{id}: skip wrapper {wrapped}"));
        }
        // What the task runs: this binary's run-node for this node of this build.
        let command: Vec<&str> = strings(&task["command"]);
        let fingerprint_at = command.iter().position(|part| *part == "--fingerprint");
        if command.first() != Some(&binary.as_str())
            || command.get(1) != Some(&"run-node")
            || fingerprint_at.and_then(|at| command.get(at + 1)) != Some(&fingerprint)
        {
            problems.push(format!("{id}: runs {command:?}"));
        }
        // A sharded node: its shards fan out (ParallelFor, withItems) after its upstream nodes,
        // each running the node's command with `--shard <the engine's item>`, in its image;
        // the node's own task is the merge.
        match node.options.shards {
            None if !task["shards"].is_null() => {
                problems.push(format!("{id}: a fan-out the IR does not have"));
            }
            None => {}
            Some(count) => {
                let shards = &task["shards"];
                let items: Vec<String> = (0..count).map(|index| index.to_string()).collect();
                if shards["items"] != serde_json::json!(items) {
                    problems.push(format!(
                        "{id}: shard items {}, IR {count} shards",
                        shards["items"]
                    ));
                }
                let shard_command = strings(&shards["command"]);
                let at = shard_command.iter().position(|part| *part == "--shard");
                let without_shard: Vec<&str> = match at {
                    Some(at) => [&shard_command[..at], &shard_command[at + 2..]].concat(),
                    None => Vec::new(),
                };
                let placeholder = at.and_then(|at| shard_command.get(at + 1));
                if without_shard != command
                    || !placeholder.is_some_and(|text| text.starts_with("{{"))
                {
                    problems.push(format!("{id}: shard command {shard_command:?}"));
                }
                if shards["image"] != task["image"] {
                    problems.push(format!("{id}: shard image {}", shards["image"]));
                }
            }
        }
    }
    if dag["exit_handler"].as_str() != spec.exit_handler.as_deref() {
        problems.push(format!(
            "exit handler {}, IR {:?}",
            dag["exit_handler"], spec.exit_handler
        ));
    }
    if dag["description"].as_str() != spec.description.as_deref() {
        problems.push(format!(
            "description {}, IR {:?}",
            dag["description"], spec.description
        ));
    }
    let parameters = dag["parameters"].as_object().unwrap();
    let names_in_dag: Vec<&str> = parameters.keys().map(String::as_str).collect();
    if names_in_dag != parameter_names {
        problems.push(format!(
            "parameters {names_in_dag:?}, IR {parameter_names:?}"
        ));
    }
    for parameter in &spec.parameters {
        let Some(loaded) = parameters.get(&parameter.name) else {
            continue;
        };
        let name = &parameter.name;
        if loaded["description"].as_str() != parameter.description.as_deref() {
            problems.push(format!(
                "parameter {name}: description {}, IR {:?}",
                loaded["description"], parameter.description
            ));
        }
        let default = parameter.default.clone().unwrap_or(Value::Null);
        let matches = match target {
            "kfp" => {
                let expected_type = match parameter.parameter_type {
                    ParameterType::Int => "NUMBER_INTEGER",
                    ParameterType::Double => "NUMBER_DOUBLE",
                    ParameterType::String => "STRING",
                    ParameterType::Bool => "BOOLEAN",
                    ParameterType::List => "LIST",
                    ParameterType::Struct => "STRUCT",
                };
                if loaded["type"] != expected_type {
                    problems.push(format!(
                        "parameter {name}: type {}, IR {expected_type}",
                        loaded["type"]
                    ));
                }
                same_value(&loaded["default"], &default)
            }
            // Argo's parameters are text: strings as they are, other values as JSON.
            _ => match (&default, loaded["default"].as_str()) {
                (Value::String(expected), Some(text)) => expected == text,
                (_, Some(text)) => serde_json::from_str::<Value>(text)
                    .is_ok_and(|value| same_value(&value, &default)),
                (_, None) => false,
            },
        };
        if !matches {
            problems.push(format!(
                "parameter {name}: default {}, IR {default}",
                loaded["default"]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{name} → {target}: the DAG differs from the IR:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_example_compiled_to_kfp_loads_in_kfp_and_its_dag_equals_the_ir() {
    let Some(python) = python_with_loaders("kfp") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for name in EXAMPLES {
        let (spec, fingerprint) = ir_of(name, dir.path());
        let dag = loaded_dag(&python, name, "kfp", &[], dir.path());
        assert_dag_equals_ir("kfp", name, &dag, &spec, &fingerprint);
        // kfp_check.py: every reference (tasks, inputs, executors, placeholders) resolves.
        let check = Command::new(&python)
            .arg(workspace().join("tools/python/kfp_check.py"))
            .arg(dir.path().join(format!("{name}.kfp.yaml")))
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn every_example_compiled_to_each_argo_kind_loads_in_heras_models_and_its_dag_equals_the_ir() {
    let Some(python) = python_with_loaders("argo") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for name in EXAMPLES {
        let (spec, fingerprint) = ir_of(name, dir.path());
        let mut kinds = vec!["workflow", "workflow-template"];
        if spec.schedule.is_some() {
            kinds.push("cron-workflow");
        }
        for kind in kinds {
            let kind_dir = dir.path().join(kind);
            std::fs::create_dir_all(&kind_dir).unwrap();
            let dag = loaded_dag(&python, name, "argo", &["--kind", kind], &kind_dir);
            assert_dag_equals_ir(&format!("argo {kind}"), name, &dag, &spec, &fingerprint);
        }
    }
}

#[test]
fn hostile_text_comes_out_of_both_loaders_byte_for_byte() {
    let Some(python) = python_with_loaders("hostile text") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for target in ["kfp", "argo"] {
        let dag = loaded_dag(&python, "conformance", target, &[], dir.path());
        let message = &dag["parameters"]["message"];
        assert_eq!(message["default"], HOSTILE, "{target}: the default");
        assert_eq!(message["description"], HOSTILE, "{target}: the description");
        assert_eq!(
            dag["description"].as_str().unwrap(),
            format!("Exporter conformance.\n{HOSTILE}"),
            "{target}: the pipeline's description"
        );
        // Two ids that every engine's naming rules make `count-echo-1` stay two tasks, each
        // running its own node.
        let tasks = dag["tasks"].as_object().unwrap();
        for id in ["Count-Echo_1", "count_echo-1"] {
            let command = &tasks[id]["command"];
            let at = command
                .as_array()
                .unwrap()
                .iter()
                .position(|part| part == "--node")
                .unwrap();
            assert_eq!(command[at + 1], id, "{target}: {command}");
        }
    }
}

/// Prints the Jobs of a Kubernetes manifest file as JSON: name → node and parameters.
const READ_JOBS: &str = r#"
import json, sys, yaml
jobs = {}
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc["kind"] == "Job":
        container = doc["spec"]["template"]["spec"]["containers"][0]
        args = container["args"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        jobs[doc["metadata"]["name"]] = {
            "node": args[args.index("--node") + 1],
            "params": json.loads(env["MILLRACE_PARAMS_JSON"]),
        }
print(json.dumps(jobs))
"#;

#[test]
fn hostile_ids_and_text_come_out_of_the_kubernetes_manifests_literally_with_distinct_job_names() {
    let Some(python) = python_with_loaders("kubernetes hostile text") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conformance.kubernetes.yaml");
    output_of(
        "conformance",
        &[
            "compile",
            "--target",
            "kubernetes",
            "--image",
            IMAGE,
            "--out",
            file.to_str().unwrap(),
        ],
        dir.path(),
    );
    // PyYAML reads the Jobs: name, the node of its run-node, the parameters it hands over.
    let read = Command::new(&python)
        .args(["-c", READ_JOBS])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let jobs: BTreeMap<String, Value> = serde_json::from_slice(&read.stdout).unwrap();
    let nodes: BTreeSet<&str> = jobs
        .values()
        .map(|job| job["node"].as_str().unwrap())
        .collect();
    assert!(
        nodes.contains("Count-Echo_1") && nodes.contains("count_echo-1"),
        "{jobs:#?}"
    );
    assert_eq!(
        nodes.len(),
        jobs.len(),
        "one Job per node, each its own name: {jobs:#?}"
    );
    for job in jobs.values() {
        assert_eq!(job["params"]["message"], HOSTILE);
    }
}

#[test]
fn schedules_compile_to_a_kfp_recurring_run_and_a_vertex_schedule_with_the_pipelines_cron() {
    let dir = tempfile::tempdir().unwrap();
    let recurring: Value = serde_json::from_str(&output_of(
        "conformance",
        &[
            "compile",
            "--target",
            "kfp",
            "--image",
            IMAGE,
            "--schedule",
            "kfp",
        ],
        dir.path(),
    ))
    .unwrap();
    // KFP's cron has a seconds field first; the pipeline's is `30 3 * * 1-5`.
    assert_eq!(
        recurring["trigger"]["cron_schedule"]["cron"],
        "0 30 3 * * 1-5"
    );
    assert_eq!(
        recurring["pipeline_spec"]["pipelineInfo"]["description"],
        format!("Exporter conformance.\n{HOSTILE}")
    );
    let vertex: Value = serde_json::from_str(&output_of(
        "conformance",
        &[
            "compile",
            "--target",
            "kfp",
            "--image",
            IMAGE,
            "--schedule",
            "vertex",
            "--vertex-parent",
            "projects/p/locations/europe-west4",
            "--template-uri",
            "gs://bucket/conformance.yaml",
        ],
        dir.path(),
    ))
    .unwrap();
    assert_eq!(vertex["cron"], "30 3 * * 1-5");
    assert_eq!(vertex["maxConcurrentRunCount"], "1");
    assert_eq!(
        vertex["createPipelineJobRequest"]["pipelineJob"]["templateUri"],
        "gs://bucket/conformance.yaml"
    );

    // Without the Vertex parent, or for a pipeline without a schedule: a usage error, exit 2.
    for (name, arguments) in [
        (
            "conformance",
            vec![
                "compile",
                "--target",
                "kfp",
                "--image",
                IMAGE,
                "--schedule",
                "vertex",
            ],
        ),
        (
            "hello",
            vec![
                "compile",
                "--target",
                "kfp",
                "--image",
                IMAGE,
                "--schedule",
                "kfp",
            ],
        ),
        (
            "hello",
            vec![
                "compile",
                "--target",
                "argo",
                "--image",
                IMAGE,
                "--kind",
                "cron-workflow",
            ],
        ),
    ] {
        let output = Command::new(example(name))
            .args(&arguments)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name} {arguments:?}: {stderr}"
        );
        assert!(
            stderr.contains("--vertex-parent") || stderr.contains("no schedule"),
            "{stderr}"
        );
    }
}

#[test]
fn a_pipeline_without_images_is_refused_naming_every_node_and_the_flag_that_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["kfp", "argo"] {
        let output = Command::new(example("hello"))
            .args(["compile", "--target", target])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{target}: {stderr}");
        for node in ["greet", "count_words", "shout"] {
            assert!(stderr.contains(node), "{target}: {stderr}");
        }
        assert!(stderr.contains("--image"), "{target}: {stderr}");
        assert!(output.stdout.is_empty(), "{target}: nothing is written");
    }
}
