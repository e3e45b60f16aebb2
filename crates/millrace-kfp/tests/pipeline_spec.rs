//! `compile_pipeline_spec`: the KFP v2 `PipelineSpec` of small pipelines — its structure, its
//! DAG against the IR's, hostile text kept literal — and, with the real `kfp`
//! (`MILLRACE_TEST_ENGINES_PYTHON` with kfp installed), that it loads, round-trips through the IR
//! protobuf and that every reference resolves (`tools/python/kfp_check.py`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use millrace_core::prelude::*;
use millrace_core::spec::TriggerRule;
use millrace_kfp::{
    KfpError, KfpOptions, KfpPipeline, compile_pipeline_spec, kfp_recurring_run, vertex_schedule,
};
use serde_json::{Value, json};

/// Text that is hard to embed in YAML, shells and KFP placeholders.
const HOSTILE: &str = "It's \"quoted\"\nnew line\t{{$.inputs.parameters['x']}} {{ x }} $(date) `date` ; --- # no: [a, b] café → 😀";

/// Writes a greeting.
#[millrace_macros::component(crate = millrace_core, kind = "kfp_test.Greet")]
async fn greet(greeting: Output<Dataset>, name: String) -> Result<(), ComponentError> {
    std::fs::write(greeting.uri().join("greeting.txt"), name)?;
    Ok(())
}

/// Trains on a greeting.
#[millrace_macros::component(crate = millrace_core, kind = "kfp_test.Train")]
async fn train(greeting: Input<Dataset>, model: Output<Model>) -> Result<(), ComponentError> {
    std::fs::copy(
        greeting.uri().join("greeting.txt"),
        model.uri().join("model.txt"),
    )?;
    Ok(())
}

/// Reports on a model.
#[millrace_macros::component(crate = millrace_core, kind = "kfp_test.Report")]
async fn report(model: Input<Model>, summary: Output<Dataset>) -> Result<(), ComponentError> {
    std::fs::copy(model.uri().join("model.txt"), summary.uri().join("s.txt"))?;
    Ok(())
}

/// A pipeline with every kind of node, parameters of four types (one hostile), retries,
/// resources, a condition, an exit handler and a schedule.
fn pipeline() -> Pipeline {
    let mut p = Pipeline::builder("kfp-test");
    p.description(HOSTILE);
    let name = p.param("name", HOSTILE.to_owned());
    p.describe_param(&name, HOSTILE);
    let epochs = p.param("epochs", 3_i64);
    p.describe_param(&epochs, "training epochs");
    let _rate = p.param("rate", 0.5_f64);
    let enabled = p.param("enabled", true);
    let _ = epochs;
    p.import("schema", Importer::<Schema>::new("data/schema.json"));
    let greeting = p.add("Greet_Node", Greet::new(&name));
    let model = p.add(
        "train",
        Train::new(greeting.greeting)
            .image("registry.example/trainer:2")
            .cpu("500m")
            .memory("4Gi")
            .gpu(1)
            .retry_policy(RetryPolicy::retries(3).backoff(
                Duration::from_millis(1500),
                2.0,
                Duration::from_secs(60),
            ))
            .timeout(Duration::from_secs(90)),
    );
    p.resolve("previous", LatestArtifact::of(model.model));
    p.add(
        "report",
        Report::new(model.model)
            .trigger_rule(TriggerRule::AllDone)
            .when(enabled.equals(true)),
    );
    p.schedule(
        Schedule::cron("@daily")
            .start_date("2026-01-01")
            .catchup(true),
    );
    p.build().unwrap()
}

fn options() -> KfpOptions {
    KfpOptions::new("/usr/local/bin/kfp-test")
        .image("registry.example/kfp-test:1")
        .store("postgres://metadata.example/millrace")
        .root("gs://bucket/millrace")
}

fn compiled(pipeline: &Pipeline) -> KfpPipeline {
    compile_pipeline_spec(pipeline, &options()).unwrap()
}

#[test]
fn the_spec_has_the_shape_kfp_writes() {
    let pipeline = pipeline();
    let spec = compiled(&pipeline).spec;
    assert_eq!(spec["schemaVersion"], "2.1.0");
    assert_eq!(spec["pipelineInfo"]["name"], "kfp-test");
    assert_eq!(spec["pipelineInfo"]["description"], HOSTILE);
    assert_eq!(spec["defaultPipelineRoot"], "gs://bucket/millrace");
    let parameters = &spec["root"]["inputDefinitions"]["parameters"];
    assert_eq!(
        parameters["epochs"],
        json!({"parameterType": "NUMBER_INTEGER", "defaultValue": 3, "isOptional": true,
               "description": "training epochs"})
    );
    assert_eq!(parameters["rate"]["parameterType"], "NUMBER_DOUBLE");
    assert_eq!(parameters["enabled"]["parameterType"], "BOOLEAN");
    assert_eq!(parameters["name"]["parameterType"], "STRING");
    assert_eq!(parameters["name"]["defaultValue"], HOSTILE);
    assert_eq!(parameters["name"]["description"], HOSTILE);
}

#[test]
fn each_node_runs_run_node_in_its_image_with_the_parameters() {
    let pipeline = pipeline();
    let spec = compiled(&pipeline).spec;
    let fingerprint = pipeline.fingerprint().to_hex();
    let train = &spec["deploymentSpec"]["executors"]["exec-train"]["container"];
    assert_eq!(train["image"], "registry.example/trainer:2");
    assert_eq!(train["command"], json!(["/usr/local/bin/kfp-test"]));
    assert_eq!(
        train["args"],
        json!([
            "run-node",
            "--run-id",
            "{{$.pipeline_job_uuid}}",
            "--node",
            "train",
            "--fingerprint",
            fingerprint,
            "--param",
            "name={{$.inputs.parameters['name']}}",
            "--param",
            "epochs={{$.inputs.parameters['epochs']}}",
            "--param",
            "rate={{$.inputs.parameters['rate']}}",
            "--param",
            "enabled={{$.inputs.parameters['enabled']}}"
        ])
    );
    assert_eq!(
        train["env"],
        json!([{"name": "MILLRACE_STORE", "value": "postgres://metadata.example/millrace"},
               {"name": "MILLRACE_ROOT", "value": "gs://bucket/millrace"}])
    );
    assert_eq!(
        train["resources"],
        json!({"cpuLimit": 0.5, "resourceCpuLimit": "500m",
               "memoryLimit": 4.294967296, "resourceMemoryLimit": "4Gi",
               "accelerator": {"count": "1", "resourceCount": "1",
                               "resourceType": "nvidia.com/gpu", "type": "nvidia.com/gpu"}})
    );
    let schema = &spec["deploymentSpec"]["executors"]["exec-schema"]["container"];
    assert_eq!(schema["image"], "registry.example/kfp-test:1");
    assert!(schema.get("resources").is_none());
    // The conditional node turns run-node's skip code into success.
    let report = &spec["deploymentSpec"]["executors"]["exec-report"]["container"];
    assert_eq!(report["command"][0], "sh");
    assert_eq!(report["args"][0], "/usr/local/bin/kfp-test");
    assert_eq!(report["args"][1], "run-node");
}

#[test]
fn a_vertex_accelerator_type_replaces_the_kubernetes_gpu_name() {
    let options = options().accelerator_type("NVIDIA_TESLA_T4");
    let spec = compile_pipeline_spec(&pipeline(), &options).unwrap().spec;
    let accelerator =
        &spec["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]["accelerator"];
    assert_eq!(accelerator["type"], "NVIDIA_TESLA_T4");
    assert_eq!(accelerator["resourceType"], "NVIDIA_TESLA_T4");
}

/// Every task of the spec, wherever its DAG: name → task.
fn all_tasks(spec: &Value) -> Vec<(String, Value)> {
    let mut tasks = Vec::new();
    let dags = std::iter::once(&spec["root"])
        .chain(spec["components"].as_object().unwrap().values())
        .filter_map(|component| component["dag"]["tasks"].as_object());
    for dag in dags {
        for (name, task) in dag {
            tasks.push((name.clone(), task.clone()));
        }
    }
    tasks
}

#[test]
fn the_emitted_dag_equals_the_pipelines() {
    let pipeline = pipeline();
    let compiled = compiled(&pipeline);
    let spec = &compiled.spec;
    let names = &compiled.task_names;
    let tasks: std::collections::BTreeMap<String, Value> = all_tasks(spec).into_iter().collect();
    let exit = pipeline.spec().exit_handler.clone();
    let node_tasks: BTreeSet<&String> = tasks
        .keys()
        .filter(|name| name.as_str() != "exit-handler-1")
        .collect();
    assert_eq!(node_tasks, names.values().collect::<BTreeSet<_>>());
    let parameter_names: BTreeSet<String> = pipeline
        .spec()
        .parameters
        .iter()
        .map(|parameter| parameter.name.clone())
        .collect();
    for node in &pipeline.spec().nodes {
        let task = &tasks[&names[&node.id]];
        assert_eq!(
            task["componentRef"]["name"],
            format!("comp-{}", names[&node.id])
        );
        assert_eq!(task["cachingOptions"], json!({}), "{}", node.id);
        let mut expected: Vec<&str> = node
            .upstream_node_ids()
            .into_iter()
            .map(|id| names[id].as_str())
            .collect();
        expected.sort_unstable();
        if exit.as_deref() == Some(node.id.as_str()) {
            expected = vec!["exit-handler-1"];
        }
        let actual: Vec<&str> = task["dependentTasks"]
            .as_array()
            .map(|ids| ids.iter().map(|id| id.as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(actual, expected, "dependencies of {}", node.id);
        let retry = &node.options.retry;
        if retry.max_retries > 0 {
            assert_eq!(task["retryPolicy"]["maxRetryCount"], retry.max_retries);
            assert_eq!(task["retryPolicy"]["backoffFactor"], retry.multiplier);
        } else {
            assert!(task.get("retryPolicy").is_none(), "{}", node.id);
        }
        let inputs: BTreeSet<String> = task["inputs"]["parameters"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(inputs, parameter_names, "{}", node.id);
    }
    let train = &tasks["train"];
    assert_eq!(
        train["retryPolicy"],
        json!({"maxRetryCount": 3, "backoffDuration": "1.500s", "backoffFactor": 2.0,
               "backoffMaxDuration": "60s"})
    );
    assert_eq!(tasks["greet-node"]["dependentTasks"], Value::Null);
    assert_eq!(tasks["previous"]["dependentTasks"], json!(["train"]));
    assert_eq!(
        tasks["report"]["triggerPolicy"],
        json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"})
    );
}

#[test]
fn the_exit_handler_runs_after_a_group_of_every_other_task() {
    let mut p = Pipeline::builder("with-exit");
    let name = p.param("name", "x".to_owned());
    let greeting = p.add("greet", Greet::new(&name));
    let model = p.add("train", Train::new(greeting.greeting));
    p.exit_handler("notify", Report::new(model.model));
    let pipeline = p.build().unwrap();
    let compiled = compile_pipeline_spec(&pipeline, &options()).unwrap();
    let spec = &compiled.spec;
    let root_tasks = spec["root"]["dag"]["tasks"].as_object().unwrap();
    assert_eq!(
        root_tasks.keys().collect::<Vec<_>>(),
        ["exit-handler-1", "notify"]
    );
    assert_eq!(
        root_tasks["notify"]["dependentTasks"],
        json!(["exit-handler-1"])
    );
    assert_eq!(
        root_tasks["notify"]["triggerPolicy"],
        json!({"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"})
    );
    assert_eq!(
        root_tasks["exit-handler-1"]["inputs"]["parameters"]["pipelinechannel--name"],
        json!({"componentInputParameter": "name"})
    );
    let group = &spec["components"]["comp-exit-handler-1"];
    let inner = group["dag"]["tasks"].as_object().unwrap();
    assert_eq!(inner.keys().collect::<Vec<_>>(), ["greet", "train"]);
    assert_eq!(inner["train"]["dependentTasks"], json!(["greet"]));
    assert_eq!(
        inner["greet"]["inputs"]["parameters"]["name"],
        json!({"componentInputParameter": "pipelinechannel--name"})
    );
    check_with_kfp("exit handler", &compiled);
}

#[test]
fn the_pipeline_root_is_an_object_store_url_or_absent() {
    let build = |root: &str| {
        let mut p = Pipeline::builder("rooted");
        p.root(root);
        p.import("schema", Importer::<Schema>::new("data/schema.json"));
        p.build().unwrap()
    };
    let options = KfpOptions::new("/bin/p").image("p:1");
    let spec = compile_pipeline_spec(&build("s3://bucket/root"), &options)
        .unwrap()
        .spec;
    assert_eq!(spec["defaultPipelineRoot"], "s3://bucket/root");
    let spec = compile_pipeline_spec(&build(".millrace/artifacts"), &options)
        .unwrap()
        .spec;
    assert!(spec.get("defaultPipelineRoot").is_none());
    let spec = compile_pipeline_spec(&build("s3://bucket/root"), &options.root("gs://other/r"))
        .unwrap()
        .spec;
    assert_eq!(spec["defaultPipelineRoot"], "gs://other/r");
}

#[test]
fn nodes_without_an_image_are_all_named() {
    let mut p = Pipeline::builder("no-image");
    p.import("schema", Importer::<Schema>::new("data/schema.json"));
    let greeting = p.add("greet", Greet::new("x".to_owned()));
    p.add("train", Train::new(greeting.greeting).image("trainer:1"));
    let pipeline = p.build().unwrap();
    let error = compile_pipeline_spec(&pipeline, &KfpOptions::new("/bin/p")).unwrap_err();
    assert!(matches!(&error, KfpError::MissingImages(nodes) if nodes == &["schema", "greet"]));
    assert!(error.to_string().contains("schema, greet"), "{error}");
}

#[test]
fn the_one_failed_trigger_rule_is_refused_with_the_node_named() {
    let mut p = Pipeline::builder("one-failed");
    let greeting = p.add("greet", Greet::new("x".to_owned()));
    p.add(
        "train",
        Train::new(greeting.greeting).trigger_rule(TriggerRule::OneFailed),
    );
    let pipeline = p.build().unwrap();
    let error = compile_pipeline_spec(&pipeline, &options()).unwrap_err();
    assert!(error.to_string().starts_with("node `train`"), "{error}");
}

#[test]
fn hostile_text_comes_out_of_the_yaml_literally() {
    let compiled = compiled(&pipeline());
    let yaml = compiled.to_yaml().unwrap();
    let parsed: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(parsed, compiled.spec);
    assert_eq!(
        parsed["root"]["inputDefinitions"]["parameters"]["name"]["defaultValue"],
        HOSTILE
    );
    assert_eq!(compiled.task_names["Greet_Node"], "greet-node");
}

#[test]
fn the_schedule_becomes_a_vertex_schedule_and_a_kfp_recurring_run() {
    let pipeline = pipeline();
    let compiled = compiled(&pipeline);
    let vertex = vertex_schedule(
        &pipeline,
        &compiled,
        "projects/p/locations/europe-west4",
        "gs://bucket/kfp-test.yaml",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        vertex,
        json!({
            "displayName": "kfp-test",
            "cron": "0 0 * * *",
            "startTime": "2026-01-01T00:00:00Z",
            "maxConcurrentRunCount": "1",
            "catchUp": true,
            "createPipelineJobRequest": {
                "parent": "projects/p/locations/europe-west4",
                "pipelineJob": {
                    "displayName": "kfp-test",
                    "templateUri": "gs://bucket/kfp-test.yaml",
                    "runtimeConfig": {"gcsOutputDirectory": "gs://bucket/millrace"},
                },
            },
        })
    );
    let run = kfp_recurring_run(&pipeline, &compiled).unwrap().unwrap();
    assert_eq!(
        run["trigger"],
        json!({"cron_schedule": {"cron": "0 0 0 * * *", "start_time": "2026-01-01T00:00:00Z"}})
    );
    assert_eq!(run["no_catchup"], false);
    assert_eq!(run["max_concurrency"], "1");
    assert_eq!(run["pipeline_spec"], compiled.spec);

    let mut p = Pipeline::builder("unscheduled");
    p.import("schema", Importer::<Schema>::new("data/schema.json"));
    let unscheduled = p.build().unwrap();
    let compiled = compile_pipeline_spec(&unscheduled, &options()).unwrap();
    assert!(
        kfp_recurring_run(&unscheduled, &compiled)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_schedule_in_a_time_zone_keeps_it_on_vertex_and_is_refused_for_a_kfp_recurring_run() {
    let mut spec = pipeline().into_spec();
    if let Some(schedule) = &mut spec.schedule {
        schedule.timezone = Some("Europe/Paris".to_owned());
    }
    let pipeline = Pipeline::from_spec(spec).unwrap();
    let compiled = compiled(&pipeline);
    let vertex = vertex_schedule(
        &pipeline,
        &compiled,
        "projects/p/locations/l",
        "gs://b/p.yaml",
    )
    .unwrap()
    .unwrap();
    assert_eq!(vertex["cron"], "TZ=Europe/Paris 0 0 * * *");
    let error = kfp_recurring_run(&pipeline, &compiled).unwrap_err();
    assert!(matches!(error, KfpError::Schedule(_)), "{error}");
    assert!(error.to_string().contains("Europe/Paris"), "{error}");
}

#[test]
fn the_yaml_passes_the_real_kfp() {
    check_with_kfp("full pipeline", &compiled(&pipeline()));
}

#[test]
fn the_checker_rejects_a_dangling_dependency_and_an_unknown_field() {
    let mut broken = compiled(&pipeline());
    broken.spec["root"]["dag"]["tasks"]["train"]["dependentTasks"] = json!(["ghost"]);
    broken.spec["root"]["dag"]["tasks"]["train"]["dependsOn"] = json!(["schema"]);
    if let Some(report) = run_kfp_check("broken", &broken) {
        assert!(report.contains("dependent task 'ghost'"), "{report}");
        assert!(report.contains("dependsOn"), "{report}");
    }
}

/// Runs `tools/python/kfp_check.py` on the YAML with `MILLRACE_TEST_ENGINES_PYTHON` and asserts `OK`;
/// says it skipped when that interpreter has no kfp.
fn check_with_kfp(test: &str, compiled: &KfpPipeline) {
    if let Some(report) = run_kfp_check(test, compiled) {
        assert_eq!(report.trim(), "OK", "kfp_check.py ({test}):\n{report}");
    }
}

/// The report of `tools/python/kfp_check.py` on the YAML (stdout and stderr), or `None` (said)
/// without an interpreter with kfp.
fn run_kfp_check(test: &str, compiled: &KfpPipeline) -> Option<String> {
    let Some(python) = std::env::var_os("MILLRACE_TEST_ENGINES_PYTHON").filter(|p| !p.is_empty())
    else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (kfp {test}): MILLRACE_TEST_ENGINES_PYTHON is not set; `cargo xtask test` \
             installs kfp 2.17.3 into a venv and sets it"
        );
        return None;
    };
    let has_kfp = std::process::Command::new(&python)
        .args(["-c", "import kfp"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_kfp {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (kfp {test}): the MILLRACE_TEST_ENGINES_PYTHON interpreter has no kfp \
             (pip install kfp==2.17.3)"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, compiled.to_yaml().unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/python/kfp_check.py");
    let output = std::process::Command::new(&python)
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A component whose nodes may be sharded (what StatisticsGen, Transform and BulkInferrer
/// declare), to compile a sharded node.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Profile {}

/// Profile's output.
pub struct ProfileOutputs {
    /// The profile.
    pub profile: Channel<Dataset>,
}

impl OutputSet for ProfileOutputs {
    fn declarations() -> Vec<OutputDeclaration> {
        vec![OutputDeclaration::of::<Dataset>("profile")]
    }
    fn bind(node: NodeHandle) -> Self {
        ProfileOutputs {
            profile: node.channel("profile"),
        }
    }
}

impl Component for Profile {
    const KIND: &'static str = "kfp_test.Profile";
    const SHARDABLE: bool = true;
    type Inputs = ();
    type Outputs = ProfileOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["true"]))
    }
}

millrace_core::register_component!(Profile);

/// A pipeline with a sharded node between two others, inside an exit handler's group.
fn sharded_pipeline() -> Pipeline {
    let mut p = Pipeline::builder("kfp-sharded");
    let name = p.param("name", "done".to_owned());
    let profile = p.add(
        "profile",
        Profile {}
            .with_inputs(())
            .shards(3)
            .retries(2)
            .trigger_rule(TriggerRule::AllDone),
    );
    p.add("train", Train::new(profile.profile));
    p.exit_handler("report", Greet::new(&name));
    p.build().unwrap()
}

#[test]
fn a_sharded_node_is_a_parallel_for_over_its_shards_then_its_merge() {
    let pipeline = sharded_pipeline();
    let spec = compiled(&pipeline).spec;
    let body = &spec["components"]["comp-exit-handler-1"]["dag"]["tasks"];
    let fan_out = &body["profile-shards"];
    assert_eq!(fan_out["componentRef"]["name"], "comp-profile-shards");
    assert_eq!(
        fan_out["parameterIterator"],
        json!({"itemInput": "pipelinechannel--profile-shards-item",
               "items": {"raw": "[\"0\",\"1\",\"2\"]"}})
    );
    assert_eq!(
        fan_out["triggerPolicy"]["strategy"],
        "ALL_UPSTREAM_TASKS_COMPLETED"
    );
    let merge = &body["profile"];
    assert_eq!(merge["dependentTasks"], json!(["profile-shards"]));
    assert!(merge.get("triggerPolicy").is_none());
    assert_eq!(body["train"]["dependentTasks"], json!(["profile"]));
    let shard = &spec["components"]["comp-profile-shards"]["dag"]["tasks"]["profile-shard"];
    assert_eq!(
        shard["inputs"]["parameters"]["shard"]["componentInputParameter"],
        "pipelinechannel--profile-shards-item"
    );
    assert_eq!(shard["retryPolicy"]["maxRetryCount"], 2);
    let args = &spec["deploymentSpec"]["executors"]["exec-profile-shard"]["container"]["args"];
    assert_eq!(args[3], "--node");
    assert_eq!(args[4], "profile");
    assert_eq!(args[5], "--shard");
    assert_eq!(args[6], "{{$.inputs.parameters['shard']}}");
    check_with_kfp("sharded pipeline", &compiled(&pipeline));
}
