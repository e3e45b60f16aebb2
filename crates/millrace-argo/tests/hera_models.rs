//! The manifests load into hera's models of Argo's API (hera 7.1.0, generated from Argo
//! v4.0.5's OpenAPI spec; no package ships Argo v4.1's JSON schema) and come back unchanged:
//! a field the models do not know, or of the wrong type, would be dropped or rejected. Needs
//! `MILLRACE_TEST_ENGINES_PYTHON` with `hera`; without it the test says it was skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use common::Profile;
use std::io::Write as _;
use std::process::Command;

use millrace_argo::{ArgoOptions, ManifestKind, compile};
use millrace_core::prelude::*;
use millrace_core::spec::{ParameterSpec, ParameterType};
use serde_json::json;

const CHECK: &str = r#"
import json, sys
from hera.workflows import models
manifest = json.load(open(sys.argv[1]))
model = getattr(models, manifest["kind"]).model_validate(manifest)
back = json.loads(model.json(by_alias=True, exclude_none=True))
if back != manifest:
    print("changed by the models:\n" + json.dumps(back, indent=1, sort_keys=True), file=sys.stderr)
    sys.exit(1)
"#;

/// The test venv's Python when it has hera, or `None` (said).
fn python_with_hera() -> Option<String> {
    let python = std::env::var("MILLRACE_TEST_ENGINES_PYTHON")
        .ok()
        .filter(|python| !python.is_empty());
    let found = python.filter(|python| {
        Command::new(python)
            .args(["-c", "import hera"])
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if found.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (argo hera models): MILLRACE_TEST_ENGINES_PYTHON is unset or lacks hera \
             (pip install hera==7.1.0)"
        );
    }
    found
}

fn pipeline() -> Pipeline {
    let mut builder = Pipeline::builder("hera_check");
    let schema = builder.import("Raw_Schema", Importer::<Schema>::new("data/schema.json"));
    let _ = builder.resolve("latest", LatestArtifact::of(schema.result));
    let _ = builder.import("notify", Importer::<Schema>::new("data/notify.json"));
    let _ = builder.add("profile", Profile {}.with_inputs(()).shards(4).retries(1));
    builder.schedule(Schedule::cron("@daily").catchup(true));
    let mut spec = builder.build().unwrap().into_spec();
    spec.exit_handler = Some("notify".to_owned());
    spec.description = Some("quotes ' \" {{x}} $(y)\nünïcødé".to_owned());
    spec.parameters = vec![ParameterSpec {
        name: "greeting".to_owned(),
        parameter_type: ParameterType::String,
        default: Some(json!("it's {{workflow.name}}\n✓")),
        description: Some("what to say".to_owned()),
    }];
    for node in &mut spec.nodes {
        if node.id == "latest" {
            node.options.retry = RetryPolicy {
                max_retries: 3,
                initial_backoff_ms: 2000,
                multiplier: 1.5,
                max_backoff_ms: 10_000,
            };
            node.options.timeout_ms = Some(60_000);
            node.options.trigger_rule = TriggerRule::AllDone;
            node.options.resources = Resources {
                cpu: Some("1".to_owned()),
                memory: Some("512Mi".to_owned()),
                gpu: Some(2),
            };
        }
    }
    Pipeline::from_spec(spec).unwrap()
}

#[test]
fn every_kind_of_manifest_loads_into_heras_argo_models_unchanged() {
    let Some(python) = python_with_hera() else {
        return;
    };
    let dir = tempfile_dir();
    for kind in [
        ManifestKind::Workflow,
        ManifestKind::WorkflowTemplate,
        ManifestKind::CronWorkflow,
    ] {
        let mut options = ArgoOptions::new("/usr/local/bin/hera-check");
        options.image = Some("registry.example/hera:1".to_owned());
        options.kind = kind;
        let manifest = compile(&pipeline(), &options).unwrap();
        let file = dir.join(format!("{kind:?}.json"));
        std::fs::write(&file, manifest.value.to_string()).unwrap();
        let output = Command::new(&python)
            .args(["-c", CHECK])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{kind:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("millrace-argo-hera-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
