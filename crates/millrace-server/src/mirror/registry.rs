//! The model versions a run registered, mirrored: the model's files uploaded under the
//! registering run, a version there whose source they are, the aliases and the stage.

use millrace_metadata::registry::{ModelVersion, RegistrySearch, Stage};
use serde::Serialize;
use serde_json::{Value, json};

use super::client::{MlflowClient, is_code};
use super::{Mirror, files};
use crate::error::ServerError;

/// A model version mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirroredVersion {
    /// The registered model.
    pub name: String,
    /// Its version here.
    pub local_version: i64,
    /// Its version there.
    pub remote_version: String,
    /// The aliases set there.
    pub aliases: Vec<String>,
}

/// Mirrors the versions registered by the runs mirrored so far.
pub(super) async fn mirror_versions(
    mirror: &mut Mirror<'_>,
) -> Result<Vec<MirroredVersion>, ServerError> {
    let run_ids: Vec<String> = mirror
        .remote_runs
        .keys()
        .map(|id| format!("'{id}'"))
        .collect();
    let search = RegistrySearch {
        filter: format!("run_id IN ({})", run_ids.join(", ")),
        order_by: vec!["version_number ASC".to_owned()],
        ..RegistrySearch::default()
    };
    let versions = mirror
        .source
        .store
        .search_model_versions(&search)
        .await
        .map_err(|error| mirror.local_error(error.to_string()))?
        .items;
    let mut mirrored = Vec::new();
    for version in versions {
        mirrored.push(mirror_version(mirror, &version).await?);
    }
    Ok(mirrored)
}

async fn mirror_version(
    mirror: &mut Mirror<'_>,
    version: &ModelVersion,
) -> Result<MirroredVersion, ServerError> {
    let client = mirror.client;
    let made = client
        .post("registered-models/create", &json!({"name": version.name}))
        .await;
    match made {
        Ok(_) => {}
        Err(error) if is_code(&error, "RESOURCE_ALREADY_EXISTS") => {}
        Err(error) => return Err(error),
    }
    let Some(remote) = version
        .run_id
        .as_ref()
        .and_then(|run_id| mirror.remote_runs.get(run_id))
        .cloned()
    else {
        return Err(mirror.local_error(format!(
            "model {} version {} names no run of this pipeline run",
            version.name, version.version
        )));
    };
    let model_files = files::files_at(mirror.source.storage, &version.source)
        .await
        .map_err(|reason| {
            mirror.local_error(format!(
                "model {} version {}: {reason}",
                version.name, version.version
            ))
        })?;
    let directory = format!("models/{}/{}", version.name, version.version);
    mirror.upload(&remote, &directory, &model_files).await?;
    let source = format!("{}/{directory}", remote.artifact_uri.trim_end_matches('/'));
    let mut tags: Vec<Value> = version
        .tags
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    tags.push(json!({"key": "millrace.version", "value": version.version.to_string()}));
    tags.push(json!({"key": "millrace.approval", "value": version.approval.as_str()}));
    if let Some(artifact) = version.artifact_id {
        tags.push(json!({"key": "millrace.artifact_id", "value": artifact.to_string()}));
    }
    let created = client
        .post(
            "model-versions/create",
            &json!({
                "name": version.name,
                "source": source,
                "run_id": remote.run_id,
                "description": version.description,
                "tags": tags,
            }),
        )
        .await?;
    let remote_version = created["model_version"]["version"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            created["model_version"]["version"]
                .as_i64()
                .map(|v| v.to_string())
        })
        .unwrap_or_default();
    // What the version is now here: the aliases still on it, its stage.
    let now = mirror
        .source
        .store
        .get_model_version(&version.name, version.version)
        .await
        .map_err(|error| mirror.local_error(error.to_string()))?;
    for alias in &now.aliases {
        client
            .post(
                "registered-models/alias",
                &json!({"name": version.name, "alias": alias, "version": remote_version}),
            )
            .await?;
    }
    if now.current_stage != Stage::None {
        client
            .post(
                "model-versions/transition-stage",
                &json!({
                    "name": version.name,
                    "version": remote_version,
                    "stage": now.current_stage.as_str(),
                    "archive_existing_versions": false,
                }),
            )
            .await?;
    }
    Ok(MirroredVersion {
        name: version.name.clone(),
        local_version: version.version,
        remote_version,
        aliases: now.aliases,
    })
}

/// Deletes the versions there that `runs` registered (a half-written mirror's).
pub(super) async fn delete_versions_of_runs(
    client: &MlflowClient,
    runs: &[String],
) -> Result<(), ServerError> {
    for chunk in runs.chunks(50) {
        let quoted: Vec<String> = chunk.iter().map(|id| format!("'{id}'")).collect();
        let found = client
            .get(
                "model-versions/search",
                &[
                    ("filter", &format!("run_id IN ({})", quoted.join(", "))),
                    ("max_results", "10000"),
                ],
            )
            .await?;
        for version in found["model_versions"].as_array().into_iter().flatten() {
            let (Some(name), Some(number)) =
                (version["name"].as_str(), version["version"].as_str())
            else {
                continue;
            };
            client
                .delete(
                    "model-versions/delete",
                    &json!({"name": name, "version": number}),
                )
                .await
                .map(drop)
                .or_else(|error| {
                    if is_code(&error, "RESOURCE_DOES_NOT_EXIST") {
                        Ok(())
                    } else {
                        Err(error)
                    }
                })?;
        }
    }
    Ok(())
}
