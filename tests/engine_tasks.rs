//! The tasks of a compiled KFP pipeline and of an Argo Workflow, run as the engine would run
//! them — each task's own command in its own image, with podman, in an order the DAG allows —
//! against a shared PostgreSQL store and an S3 artifact root, finish the run exactly as the
//! local runner does. No Kubeflow, Vertex AI or Argo backend runs here; the engine's part is
//! the ordering, the placeholders and the containers, which this suite does by hand:
//!
//! 1. `image build` builds the taxi binary's image; `compile --target kfp|argo --image TAG`
//!    writes the pipeline, and `tools/python/engine_dag.py` reads it back through `kfp` or
//!    hera (the DAG, each task's command and image come from what the loader read).
//! 2. The engine's placeholders are filled as the engine fills them: KFP's
//!    `{{$.pipeline_job_uuid}}` and `{{$.inputs.parameters['…']}}` (numbers as doubles, as
//!    KFP's protobuf `Value` holds them), Argo's `{{workflow.name}}` and
//!    `{{workflow.parameters.…}}`.
//! 3. Each task runs with `podman run --entrypoint <command[0]> <image> <command[1..]>`, the
//!    store and root in its environment, after every task it depends on; the exit handler last.
//!
//! Then the run's nodes, the evaluation and the blessing equal a local run's, and the model
//! was pushed. `taxi_data` does the same with sharded nodes: each shard of its StatisticsGen
//! (four) and Transform (two) is a task of the engine's fan-out (KFP's ParallelFor, Argo's
//! withItems), run before the node's merge, and the merged statistics equal the local run's. Needs what `cargo xtask test` sets up (podman and its base image, moto's S3
//! server, PostgreSQL, kfp and hera in the engines' venv); without it the test says SKIPPED.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod example_binaries;
mod s3_server;

use example_binaries::{example_in, node_states};
use s3_server::{S3, s3, unique};
use serde_json::Value;

const PIPELINE: &str = "chicago-taxi";

/// What the suite needs beyond the S3 server and PostgreSQL (whose schema `S3::shared_store`
/// makes): podman's base image and the loaders' Python.
struct Setup {
    base: String,
    python: PathBuf,
}

fn setup() -> Option<(S3, Setup)> {
    let s3 = s3("engine tasks in containers")?;
    let base = std::env::var("MILLRACE_CONTAINER_BASE").unwrap_or_default();
    let postgres = std::env::var("MILLRACE_TEST_POSTGRES_URL").unwrap_or_default();
    let python = PathBuf::from(std::env::var("MILLRACE_TEST_ENGINES_PYTHON").unwrap_or_default());
    let loaders = Command::new(&python)
        .args(["-c", "import kfp, hera"])
        .output()
        .is_ok_and(|output| output.status.success());
    if base.is_empty() || postgres.is_empty() || !loaders {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (engine tasks in containers): needs podman's base image \
             (MILLRACE_CONTAINER_BASE), PostgreSQL (MILLRACE_TEST_POSTGRES_URL) and kfp and hera \
             in MILLRACE_TEST_ENGINES_PYTHON: run `cargo xtask test`"
        );
        return None;
    }
    Some((s3, Setup { base, python }))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The host user, so that files the containers write in the working directory are ours.
fn host_user() -> String {
    let id = |flag: &str| {
        let output = Command::new("id").arg(flag).output().unwrap();
        text(&output.stdout).trim().to_owned()
    };
    format!("{}:{}", id("-u"), id("-g"))
}

/// A parameter's value as the engine renders it into a placeholder.
fn rendered(target: &str, value: &Value) -> String {
    match (target, value) {
        (_, Value::String(text)) => text.clone(),
        // KFP holds every number as a double: an integer default of 12 may arrive as `12.0`.
        ("kfp", Value::Number(number)) => format!("{:?}", number.as_f64().unwrap()),
        (_, other) => other.to_string(),
    }
}

/// `command` with the engine's placeholders filled for run `run_id`.
fn filled(target: &str, command: &[Value], run_id: &str, parameters: &Value) -> Vec<String> {
    command
        .iter()
        .map(|part| {
            let mut part = part.as_str().unwrap().to_owned();
            let (run_placeholder, parameter_placeholder): (&str, fn(&str) -> String) = match target
            {
                "kfp" => ("{{$.pipeline_job_uuid}}", |name| {
                    format!("{{{{$.inputs.parameters['{name}']}}}}")
                }),
                _ => ("{{workflow.name}}", |name| {
                    format!("{{{{workflow.parameters.{name}}}}}")
                }),
            };
            part = part.replace(run_placeholder, run_id);
            for (name, parameter) in parameters.as_object().unwrap() {
                part = part.replace(
                    &parameter_placeholder(name),
                    &rendered(target, &parameter["default"]),
                );
            }
            assert!(
                !part.contains("{{"),
                "a placeholder the engine would fill is left: {part}"
            );
            part
        })
        .collect()
}

/// The tasks in an order the DAG allows (Kahn's, ties by name), the exit handler last.
fn execution_order(dag: &Value) -> Vec<String> {
    let tasks = dag["tasks"].as_object().unwrap();
    let exit_handler = dag["exit_handler"].as_str();
    let mut done = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() + usize::from(exit_handler.is_some()) < tasks.len() {
        let ready = tasks
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != exit_handler && !done.contains(*name))
            .find(|(_, task)| {
                task["upstream"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|upstream| done.contains(upstream.as_str().unwrap()))
            })
            .map(|(name, _)| name.clone())
            .expect("the DAG has a cycle");
        done.insert(ready.clone());
        order.push(ready);
    }
    order.extend(exit_handler.map(str::to_owned));
    order
}

/// The file `file` of node `node`'s artifact in the run under `prefix` in the bucket, without
/// timings.
fn file_in_bucket(s3: &S3, prefix: &str, node: &str, file: &str) -> Value {
    let keys: Vec<String> = s3
        .objects(&format!("{prefix}/"))
        .into_keys()
        .filter(|key| key.contains(&format!("/{node}/")) && key.ends_with(&format!("/{file}")))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let content = s3.boto3(&format!(
        "print(s3.get_object(Bucket=bucket, Key='{}')['Body'].read().decode())",
        keys[0]
    ));
    without_timings(content)
}

fn without_timings(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|key, _| !key.ends_with("_ms"));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

/// An example pipeline and the file of one of its artifacts that must come out the same.
struct Example {
    /// The example binary.
    name: &'static str,
    /// The pipeline's name.
    pipeline: &'static str,
    /// The node whose artifact is compared.
    node: &'static str,
    /// The file compared.
    file: &'static str,
}

/// Runs every exported task of `target` by hand in podman, each shard of a sharded node
/// before the node's own task (the merge); returns the run's summary as `runs show` reports
/// it, and the compared file.
fn run_exported_tasks(
    s3: &S3,
    setup: &Setup,
    example: &Example,
    target: &str,
    image: &str,
    dir: &Path,
) -> (Value, Value) {
    let prefix = unique(&format!("engine-{target}"));
    let root = format!("s3://{}/{prefix}", s3.bucket);
    let store = s3.shared_store(dir, &format!("engine tasks {target}"));
    assert!(store.starts_with("postgres"), "{store}");

    let file = dir.join(format!("{}.{target}.yaml", example.name));
    let compiled = example_in(dir, example.name)
        .args(["compile", "--target", target, "--image", image, "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{}", text(&compiled.stderr));
    let loaded = Command::new(&setup.python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/python/engine_dag.py"))
        .arg(target)
        .arg(&file)
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", text(&loaded.stderr));
    let dag: Value = serde_json::from_slice(&loaded.stdout).unwrap();

    // What each engine would call the run: KFP a job UUID, Argo the workflow's generated name.
    let run_id = match target {
        "kfp" => format!("5b1f7c2e-9d4a-4c3e-8f1a-{:012x}", std::process::id()),
        _ => format!(
            "{}-{}",
            example.pipeline,
            &unique("w")[..12].replace('-', "")
        ),
    };
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let data = data.to_str().unwrap();
    let workdir = dir.to_str().unwrap();
    let run_in_podman = |node: &str, image: &str, command: &[String]| {
        let mut podman = Command::new("podman");
        podman
            .args(["run", "--rm", "--pull", "never", "--network", "host"])
            .args(["--user", &host_user()])
            .args(["--volume", &format!("{data}:{data}:ro")])
            .args(["--volume", &format!("{workdir}:{workdir}")])
            .args(["--workdir", workdir])
            .args(["--env", &format!("MILLRACE_STORE={store}")])
            .args(["--env", &format!("MILLRACE_ROOT={root}")])
            .args(["--env", "AWS_ACCESS_KEY_ID=testing"])
            .args(["--env", "AWS_SECRET_ACCESS_KEY=testing"])
            .args(["--env", &format!("AWS_ENDPOINT_URL={}", s3.endpoint)])
            .args(["--entrypoint", &command[0]])
            .arg(image)
            .args(&command[1..]);
        let output = podman.output().unwrap();
        assert!(
            output.status.success(),
            "{target}: task {node} ({command:?}) failed:\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    };
    let order = execution_order(&dag);
    assert_eq!(order.len(), dag["tasks"].as_object().unwrap().len());
    for node in &order {
        let task = &dag["tasks"][node];
        let shards = &task["shards"];
        if !shards.is_null() {
            // The engine's fan-out: each item replaces the `--shard` placeholder.
            let command = shards["command"].as_array().unwrap();
            let at = command.iter().position(|part| part == "--shard").unwrap();
            for item in shards["items"].as_array().unwrap() {
                let mut shard_command = command.clone();
                shard_command[at + 1] = item.clone();
                let filled = filled(target, &shard_command, &run_id, &dag["parameters"]);
                run_in_podman(node, shards["image"].as_str().unwrap(), &filled);
            }
        }
        let command = filled(
            target,
            task["command"].as_array().unwrap(),
            &run_id,
            &dag["parameters"],
        );
        run_in_podman(node, task["image"].as_str().unwrap(), &command);
    }

    let shown = s3
        .example(dir, example.name, &root, &store)
        .args(["runs", "show", &run_id, "--json"])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let summary: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let compared = file_in_bucket(s3, &prefix, example.node, example.file);
    (summary, compared)
}

/// Runs `example` locally, builds its image, and runs its KFP and its Argo tasks by hand:
/// every node ends as locally and the compared file is the same; returns the directories the
/// engines' tasks worked in.
fn engines_run_as_the_local_runner(
    s3: &S3,
    setup: &Setup,
    example: &Example,
) -> Vec<tempfile::TempDir> {
    // The local run: SQLite and a local root, every node in this process.
    let local = tempfile::tempdir().unwrap();
    let output = example_in(local.path(), example.name)
        .args(["run", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let local_summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let local_file: Value = without_timings(
        serde_json::from_slice(
            &std::fs::read(find_file(
                &local
                    .path()
                    .join("artifacts")
                    .join(example.pipeline)
                    .join(example.node),
                example.file,
            ))
            .unwrap(),
        )
        .unwrap(),
    );

    let build_dir = tempfile::tempdir().unwrap();
    let built = example_in(build_dir.path(), example.name)
        .args(["image", "build", "--base", &setup.base, "--json"])
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));
    let built: Value = serde_json::from_slice(&built.stdout).unwrap();
    let image = built["tag"].as_str().unwrap();

    let mut dirs = Vec::new();
    for target in ["kfp", "argo"] {
        let dir = tempfile::tempdir().unwrap();
        let (summary, compared) = run_exported_tasks(s3, setup, example, target, image, dir.path());
        let states: BTreeMap<String, String> = node_states(&summary);
        assert_eq!(
            states,
            node_states(&local_summary),
            "{target}: every node ends as in the local run\n{summary:#}"
        );
        assert_eq!(summary["state"], "succeeded", "{target}: {summary:#}");
        assert_eq!(
            compared, local_file,
            "{target}: {} of {}",
            example.file, example.node
        );
        dirs.push(dir);
    }
    dirs
}

#[test]
fn the_exported_tasks_of_kfp_and_argo_run_in_podman_in_dag_order_finish_the_run_as_the_local_runner_does()
 {
    let Some((s3, setup)) = setup() else {
        return;
    };
    let taxi = Example {
        name: "taxi",
        pipeline: PIPELINE,
        node: "evaluator",
        file: "evaluation.json",
    };
    // The same evaluation — metrics, slices, thresholds — and so the same blessing; the model
    // pushed where the tasks ran.
    for dir in engines_run_as_the_local_runner(&s3, &setup, &taxi) {
        let pushed = find_file(&dir.path().join("serving/taxi"), "manifest.json");
        assert!(pushed.is_file(), "the model was pushed");
    }
}

#[test]
fn sharded_nodes_fan_out_on_kfp_and_argo_and_their_merge_writes_the_local_runners_statistics() {
    let Some((s3, setup)) = setup() else {
        return;
    };
    // taxi_data profiles in four shards and transforms in two: each shard a task of its own.
    let taxi_data = Example {
        name: "taxi_data",
        pipeline: "chicago-taxi-data",
        node: "statistics_gen",
        file: "statistics.json",
    };
    engines_run_as_the_local_runner(&s3, &setup, &taxi_data);
}

/// The one file named `name` under `dir`.
fn find_file(dir: &Path, name: &str) -> PathBuf {
    fn walk(path: &Path, name: &str, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(path).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, name, found);
            } else if path.file_name().is_some_and(|file| file == name) {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, name, &mut found);
    assert_eq!(found.len(), 1, "{}: {found:?}", dir.display());
    found.remove(0)
}
