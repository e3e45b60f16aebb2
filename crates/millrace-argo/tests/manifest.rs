//! The Argo manifests of small pipelines built with millrace-core's builder: the DAG equals
//! the IR's, options come out as Argo fields, text of the user's comes out literally.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use common::Profile;
use millrace_argo::{ArgoError, ArgoOptions, ManifestKind, SKIP_EXIT_CODE, compile};
use millrace_core::prelude::*;
use millrace_core::spec::{ParameterSpec, ParameterType};
use serde_json::{Value, json};

const HOSTILE: &str = "it's \"{{workflow.name}}\" $(rm -rf /) `x`\nline two: ünïcødé ✓ {{=1}}";

/// importer `Raw_Schema` → resolver `latest` → resolver `baseline` (one_failed), plus an
/// importer `notify` as the exit handler.
fn pipeline() -> Pipeline {
    let mut builder = Pipeline::builder("Taxi_Argo");
    let schema = builder.import("Raw_Schema", Importer::<Schema>::new("data/schema.json"));
    let latest = builder.resolve("latest", LatestArtifact::of(schema.result));
    let baseline = builder.resolve("baseline", LatestArtifact::of(latest.artifact));
    let _ = baseline;
    let _ = builder.import("notify", Importer::<Schema>::new("data/notify.json"));
    builder.schedule(Schedule::cron("0 3 * * *").catchup(true).max_active_runs(1));
    let mut spec = builder.build().unwrap().into_spec();
    spec.description = Some(HOSTILE.to_owned());
    spec.exit_handler = Some("notify".to_owned());
    spec.parameters = vec![
        ParameterSpec {
            name: "greeting".to_owned(),
            parameter_type: ParameterType::String,
            default: Some(json!(HOSTILE)),
            description: Some(HOSTILE.to_owned()),
        },
        ParameterSpec {
            name: "epochs".to_owned(),
            parameter_type: ParameterType::Int,
            default: Some(json!(3)),
            description: None,
        },
    ];
    for node in &mut spec.nodes {
        match node.id.as_str() {
            "latest" => {
                node.options.retry = RetryPolicy {
                    max_retries: 2,
                    initial_backoff_ms: 1500,
                    multiplier: 2.0,
                    max_backoff_ms: 60_000,
                };
                node.options.timeout_ms = Some(90_500);
                node.options.resources = Resources {
                    cpu: Some("500m".to_owned()),
                    memory: Some("1Gi".to_owned()),
                    gpu: Some(1),
                };
                node.options.image = Some("registry.example/gpu:2".to_owned());
            }
            "baseline" => node.options.trigger_rule = TriggerRule::OneFailed,
            _ => {}
        }
    }
    Pipeline::from_spec(spec).unwrap()
}

fn options(kind: ManifestKind) -> ArgoOptions {
    let mut options = ArgoOptions::new("/usr/local/bin/taxi");
    options.image = Some("registry.example/taxi:1".to_owned());
    options.kind = kind;
    options
}

fn templates(manifest: &Value) -> &Vec<Value> {
    manifest["spec"]["templates"].as_array().unwrap()
}

fn template<'a>(manifest: &'a Value, name: &str) -> &'a Value {
    templates(manifest)
        .iter()
        .find(|template| template["name"] == name)
        .unwrap()
}

#[test]
fn the_dag_has_the_tasks_and_edges_of_the_pipeline_ir() {
    let pipeline = pipeline();
    let manifest = compile(&pipeline, &options(ManifestKind::Workflow)).unwrap();
    let tasks = template(&manifest.value, "main")["dag"]["tasks"]
        .as_array()
        .unwrap();
    let spec = pipeline.spec();
    let exit = spec.exit_handler.as_deref().unwrap();
    assert_eq!(tasks.len(), spec.nodes.len() - 1);
    for node in spec.nodes.iter().filter(|node| node.id != exit) {
        let name = manifest.names.of(&node.id).unwrap();
        let task = tasks.iter().find(|task| task["name"] == name).unwrap();
        assert_eq!(task["template"], name);
        let mut upstream: Vec<&str> = node
            .upstream_node_ids()
            .into_iter()
            .map(|id| manifest.names.of(id).unwrap())
            .collect();
        upstream.sort_unstable();
        upstream.dedup();
        let expected = millrace_argo::depends::depends(&upstream, node.options.trigger_rule);
        assert_eq!(task["depends"].as_str(), expected.as_deref(), "{}", node.id);
        // The template runs this very node.
        let args = template(&manifest.value, name)["container"]["args"]
            .as_array()
            .unwrap();
        let node_index = args.iter().position(|arg| arg == "--node").unwrap();
        assert_eq!(args[node_index + 1], node.id.as_str());
    }
    let raw = manifest.names.of("Raw_Schema").unwrap();
    assert_eq!(raw, "raw-schema");
    let latest = tasks.iter().find(|task| task["name"] == "latest").unwrap();
    assert_eq!(latest["depends"], "raw-schema.Succeeded");
    let baseline = tasks
        .iter()
        .find(|task| task["name"] == "baseline")
        .unwrap();
    assert_eq!(baseline["depends"], "latest.Failed");
    assert_eq!(manifest.value["spec"]["onExit"], "notify");
    assert_eq!(manifest.value["spec"]["entrypoint"], "main");
}

#[test]
fn every_task_runs_run_node_with_the_workflow_name_fingerprint_and_parameters() {
    let pipeline = pipeline();
    let manifest = compile(&pipeline, &options(ManifestKind::Workflow)).unwrap();
    let container = &template(&manifest.value, "raw-schema")["container"];
    assert_eq!(container["image"], "registry.example/taxi:1");
    assert_eq!(container["command"], json!(["/usr/local/bin/taxi"]));
    assert_eq!(
        container["args"],
        json!([
            "run-node",
            "--run-id",
            "{{workflow.name}}",
            "--node",
            "Raw_Schema",
            "--fingerprint",
            pipeline.fingerprint().to_hex(),
            "--param",
            "greeting={{workflow.parameters.greeting}}",
            "--param",
            "epochs={{workflow.parameters.epochs}}",
        ])
    );
    assert_eq!(
        container["env"],
        json!([
            {"name": "MILLRACE_STORE", "valueFrom": {"secretKeyRef": {"name": "millrace", "key": "MILLRACE_STORE"}}},
            {"name": "MILLRACE_ROOT", "valueFrom": {"secretKeyRef": {"name": "millrace", "key": "MILLRACE_ROOT"}}},
        ])
    );
    assert_eq!(
        template(&manifest.value, "raw-schema")["metadata"]["annotations"]["millrace.dev/node"],
        "Raw_Schema"
    );
    assert_eq!(
        manifest.value["spec"]["arguments"]["parameters"],
        json!([
            {"name": "greeting", "value": HOSTILE, "description": HOSTILE},
            {"name": "epochs", "value": "3"},
        ])
    );
}

#[test]
fn retries_timeout_resources_and_image_come_from_the_node_options() {
    let manifest = compile(&pipeline(), &options(ManifestKind::Workflow)).unwrap();
    let latest = template(&manifest.value, "latest");
    assert_eq!(
        latest["retryStrategy"],
        json!({
            "limit": 2,
            "retryPolicy": "Always",
            "expression": format!("asInt(lastRetry.exitCode) != {SKIP_EXIT_CODE}"),
            "backoff": {"duration": "1500ms", "factor": 2, "cap": "60s"},
        })
    );
    assert_eq!(latest["activeDeadlineSeconds"], 91);
    assert_eq!(latest["container"]["image"], "registry.example/gpu:2");
    assert_eq!(
        latest["container"]["resources"],
        json!({
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"},
        })
    );
    let raw = template(&manifest.value, "raw-schema");
    assert!(raw.get("retryStrategy").is_none());
    assert!(raw.get("activeDeadlineSeconds").is_none());
}

#[test]
fn hostile_text_comes_out_of_the_yaml_literally() {
    let manifest = compile(&pipeline(), &options(ManifestKind::Workflow)).unwrap();
    let yaml = manifest.to_yaml().unwrap();
    let read: Value = serde_saphyr::from_str(yaml.trim_start_matches("---\n")).unwrap();
    assert_eq!(read, manifest.value);
    assert_eq!(read["spec"]["arguments"]["parameters"][0]["value"], HOSTILE);
    assert_eq!(
        read["metadata"]["annotations"]["workflows.argoproj.io/description"],
        HOSTILE
    );
    // No text of the user's in any template.
    let templates = serde_json::to_string(&read["spec"]["templates"]).unwrap();
    assert!(!templates.contains("rm -rf"));
}

#[test]
fn a_workflow_template_is_named_and_a_cron_workflow_carries_the_schedule() {
    let template = compile(&pipeline(), &options(ManifestKind::WorkflowTemplate)).unwrap();
    assert_eq!(template.value["kind"], "WorkflowTemplate");
    assert_eq!(template.value["metadata"]["name"], "taxi-argo");
    assert_eq!(template.value["apiVersion"], "argoproj.io/v1alpha1");

    let cron = compile(&pipeline(), &options(ManifestKind::CronWorkflow)).unwrap();
    let spec = &cron.value["spec"];
    assert_eq!(cron.value["kind"], "CronWorkflow");
    assert_eq!(spec["schedules"], json!(["0 3 * * *"]));
    assert!(spec.get("schedule").is_none());
    assert_eq!(spec["timezone"], "UTC");
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert_eq!(spec["startingDeadlineSeconds"], 86_400);
    assert_eq!(spec["workflowSpec"]["entrypoint"], "main");

    // The schedule's own time zone, unless the options name another.
    let mut zoned = pipeline().into_spec();
    if let Some(schedule) = &mut zoned.schedule {
        schedule.timezone = Some("America/Chicago".to_owned());
    }
    let zoned = Pipeline::from_spec(zoned).unwrap();
    let cron = compile(&zoned, &options(ManifestKind::CronWorkflow)).unwrap();
    assert_eq!(cron.value["spec"]["timezone"], "America/Chicago");
    let mut in_paris = options(ManifestKind::CronWorkflow);
    in_paris.timezone = Some("Europe/Paris".to_owned());
    let cron = compile(&zoned, &in_paris).unwrap();
    assert_eq!(cron.value["spec"]["timezone"], "Europe/Paris");
}

#[test]
fn a_cron_workflow_needs_a_schedule() {
    let mut builder = Pipeline::builder("unscheduled");
    let _ = builder.import("schema", Importer::<Schema>::new("s.json"));
    let pipeline = builder.build().unwrap();
    let error = compile(&pipeline, &options(ManifestKind::CronWorkflow)).unwrap_err();
    assert!(matches!(error, ArgoError::NoSchedule(_)), "{error}");
}

#[test]
fn nodes_without_an_image_are_all_named_in_the_error() {
    let mut options = options(ManifestKind::Workflow);
    options.image = None;
    let error = compile(&pipeline(), &options).unwrap_err();
    let ArgoError::NoImage { nodes } = &error else {
        panic!("{error}")
    };
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert!(!nodes.contains(&"latest".to_owned()));
    assert!(error.to_string().contains("Raw_Schema"));
}

#[test]
fn kinds_parse_from_the_cli_spelling() {
    assert_eq!(
        "cron-workflow".parse::<ManifestKind>(),
        Ok(ManifestKind::CronWorkflow)
    );
    assert!("cron".parse::<ManifestKind>().is_err());
}

#[test]
fn a_sharded_node_fans_out_with_with_items_then_merges() {
    let mut builder = Pipeline::builder("sharded");
    let profile = builder.add("profile", Profile {}.with_inputs(()).shards(3).retries(2));
    let _ = builder.resolve("latest", LatestArtifact::of(profile.profile));
    let pipeline = builder.build().unwrap();
    let manifest = {
        let mut options = ArgoOptions::new("/bin/p");
        options.image = Some("img:1".to_owned());
        compile(&pipeline, &options).unwrap()
    };
    let templates = manifest.value["spec"]["templates"].as_array().unwrap();
    let tasks = templates[0]["dag"]["tasks"].as_array().unwrap();
    let task = |name: &str| tasks.iter().find(|t| t["name"] == name).unwrap().clone();
    let fan_out = task("profile-shards");
    assert_eq!(fan_out["template"], "profile-shard");
    assert_eq!(fan_out["withItems"], serde_json::json!(["0", "1", "2"]));
    assert_eq!(
        fan_out["arguments"]["parameters"][0],
        serde_json::json!({"name": "shard", "value": "{{item}}"})
    );
    assert_eq!(task("profile")["depends"], "profile-shards.Succeeded");
    assert_eq!(task("latest")["depends"], "profile.Succeeded");
    let shard_template = templates
        .iter()
        .find(|t| t["name"] == "profile-shard")
        .unwrap();
    let args: Vec<&str> = shard_template["container"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        &args[..7],
        &[
            "run-node",
            "--run-id",
            "{{workflow.name}}",
            "--node",
            "profile",
            "--shard",
            "{{inputs.parameters.shard}}"
        ]
    );
    assert_eq!(shard_template["retryStrategy"]["limit"], 2);
    assert_eq!(shard_template["inputs"]["parameters"][0]["name"], "shard");
}
