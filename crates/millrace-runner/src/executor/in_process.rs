//! The in-process executor: an `Execute` implementation called on this process's runtime.

use std::collections::BTreeMap;

use millrace_core::{ArtifactInstance, Execute, ExecutionContext};
use millrace_metadata::Properties;

use super::{Failure, Prepared, Produced, properties_from_json};

fn json_properties(properties: &Properties) -> BTreeMap<String, serde_json::Value> {
    properties
        .iter()
        .map(|(name, value)| (name.clone(), value.to_json()))
        .collect()
}

pub(super) async fn run(executor: &dyn Execute, prepared: &Prepared) -> Result<Produced, Failure> {
    let mut context =
        ExecutionContext::new(&prepared.pipeline, &prepared.run_id, &prepared.node_id);
    for (name, artifacts) in &prepared.inputs {
        for artifact in artifacts {
            let mut instance = ArtifactInstance::new(
                artifact.type_name.clone().unwrap_or_default(),
                artifact.uri.clone().unwrap_or_default(),
            );
            instance.id = artifact.id;
            instance.properties = json_properties(&artifact.properties);
            instance.custom_properties = json_properties(&artifact.custom_properties);
            context.add_input(name, instance);
        }
    }
    for (name, (artifact_type, staging)) in &prepared.outputs {
        context.add_output(name, ArtifactInstance::new(artifact_type, staging));
    }
    for (name, value) in &prepared.parameters {
        context.set_parameter(name, value.clone());
    }
    context.set_shard_role(prepared.shard_role);
    let work = executor.execute(&mut context);
    let outcome = match prepared.timeout {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .map_err(|_| format!("timed out after {} s", limit.as_secs_f64())),
        None => Ok(work.await),
    };
    // The component's log lines, kept per execution whatever happened.
    if !context.log_lines().is_empty() {
        let mut text = context.log_lines().join("\n");
        text.push('\n');
        if std::fs::create_dir_all(&prepared.log_dir).is_ok() {
            let _ = std::fs::write(prepared.log_dir.join("log.txt"), text);
        }
    }
    let failed = |message: String| Failure {
        message,
        metrics: context.metrics().clone(),
        tracked: context.tracked().clone(),
    };
    match outcome {
        Err(message) => return Err(failed(message)),
        Ok(Err(error)) => return Err(failed(error.to_string())),
        Ok(Ok(())) => {}
    }
    let mut produced = Produced {
        metrics: context.metrics().clone(),
        summary: context.summary().map(str::to_owned),
        tracked: context.tracked().clone(),
        ..Produced::default()
    };
    for (name, artifact) in context.output_artifacts() {
        produced.properties.insert(
            name,
            (
                properties_from_json(&artifact.properties).map_err(Failure::from)?,
                properties_from_json(&artifact.custom_properties).map_err(Failure::from)?,
            ),
        );
    }
    Ok(produced)
}
