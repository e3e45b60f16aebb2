//! Millrace's records in MLflow's JSON shapes: ids as strings, times in milliseconds, lists of
//! `{"key", "value"}`, non-finite metrics as `"NaN"` and `"±Infinity"`, defaults left out.

use std::collections::BTreeMap;

use millrace_metadata::registry::{ModelVersion, RegisteredModel};
use millrace_metadata::tracking::{Experiment, MetricPoint, RunInfo, TrackedRun};
use serde_json::{Map, Value, json};

/// The tag that shows a version's approval in MLflow's UI.
pub(crate) const APPROVAL_TAG: &str = "millrace.approval";

/// `[{"key", "value"}]`, or nothing when empty.
fn key_values(map: &BTreeMap<String, String>) -> Value {
    Value::Array(
        map.iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect(),
    )
}

/// A metric value: a number, or MLflow's spelling of a non-finite one.
pub(crate) fn metric_value(value: f64) -> Value {
    if value.is_nan() {
        json!("NaN")
    } else if value == f64::INFINITY {
        json!("Infinity")
    } else if value == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(value)
    }
}

/// One metric point.
pub(crate) fn metric(key: &str, point: &MetricPoint) -> Value {
    json!({"key": key, "value": metric_value(point.value), "timestamp": point.timestamp, "step": point.step})
}

/// An experiment.
pub(crate) fn experiment(experiment: &Experiment) -> Value {
    let mut object = json!({
        "experiment_id": experiment.experiment_id.to_string(),
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage.as_str(),
        "last_update_time": experiment.last_update_time,
        "creation_time": experiment.creation_time,
    });
    if !experiment.tags.is_empty() {
        object["tags"] = key_values(&experiment.tags);
    }
    object
}

/// A run's info.
pub(crate) fn run_info(info: &RunInfo) -> Value {
    let mut object = json!({
        "run_uuid": info.run_id,
        "run_id": info.run_id,
        "experiment_id": info.experiment_id.to_string(),
        "run_name": info.name,
        "user_id": info.user_id,
        "status": info.status.as_str(),
        "start_time": info.start_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.as_str(),
    });
    if let Some(end) = info.end_time {
        object["end_time"] = json!(end);
    }
    object
}

/// A run with its data.
pub(crate) fn run(run: &TrackedRun) -> Value {
    json!({
        "info": run_info(&run.info),
        "data": {
            "metrics": run.metrics.iter().map(|(key, point)| metric(key, point)).collect::<Vec<_>>(),
            "params": key_values(&run.params),
            "tags": key_values(&run.tags),
        },
        "inputs": {},
        "outputs": {},
    })
}

/// A model version; its approval shows as the tag `millrace.approval`.
pub(crate) fn model_version(version: &ModelVersion) -> Value {
    let mut object = json!({
        "name": version.name,
        "version": version.version.to_string(),
        "creation_timestamp": version.creation_time,
        "last_updated_timestamp": version.last_updated_time,
        "current_stage": version.current_stage.as_str(),
        "description": version.description,
        "source": version.source,
        "status": "READY",
        "run_link": version.run_link,
        "user_id": version.user_id,
    });
    if let Some(run_id) = &version.run_id {
        object["run_id"] = json!(run_id);
    }
    let mut tags = version.tags.clone();
    tags.insert(
        APPROVAL_TAG.to_owned(),
        version.approval.as_str().to_owned(),
    );
    object["tags"] = key_values(&tags);
    if !version.aliases.is_empty() {
        object["aliases"] = json!(version.aliases);
    }
    object
}

/// A registered model.
pub(crate) fn registered_model(model: &RegisteredModel) -> Value {
    let mut object = Map::new();
    object.insert("name".into(), json!(model.name));
    object.insert("creation_timestamp".into(), json!(model.creation_time));
    object.insert(
        "last_updated_timestamp".into(),
        json!(model.last_updated_time),
    );
    if !model.description.is_empty() {
        object.insert("description".into(), json!(model.description));
    }
    if !model.latest_versions.is_empty() {
        object.insert(
            "latest_versions".into(),
            Value::Array(model.latest_versions.iter().map(model_version).collect()),
        );
    }
    if !model.tags.is_empty() {
        object.insert("tags".into(), key_values(&model.tags));
    }
    if !model.aliases.is_empty() {
        object.insert(
            "aliases".into(),
            Value::Array(
                model
                    .aliases
                    .iter()
                    .map(|(alias, version)| json!({"alias": alias, "version": version.to_string()}))
                    .collect(),
            ),
        );
    }
    Value::Object(object)
}
