//! MLflow's model-registry endpoints on the store's
//! [`RegistryStore`](millrace_metadata::registry::RegistryStore): every change is a decision
//! recorded in lineage, made by `mlflow-api` unless the request's run names its user.

use millrace_metadata::registry::{Decision, NewModelVersion, RegistrySearch, Stage};
use serde_json::{Value, json};

use super::args::{Args, page_offset, page_token};
use super::models::resolve_source;
use super::shapes;
use crate::ServerState;
use crate::error::ApiError;

type Reply = Result<Value, ApiError>;

/// Who the registry records for a change made through the API.
const API_USER: &str = "mlflow-api";

fn decision(why: &str) -> Decision {
    Decision::by(API_USER, why)
}

fn version(args: &Args) -> Result<i64, ApiError> {
    let text = args.required("version")?;
    text.parse()
        .map_err(|_| ApiError::invalid(format!("'{text}' is not a model version number")))
}

fn search(args: &Args, default_limit: i64) -> Result<RegistrySearch, ApiError> {
    Ok(RegistrySearch {
        filter: args.text("filter").unwrap_or_default(),
        order_by: args.list("order_by"),
        max_results: u32::try_from(args.int("max_results")?.unwrap_or(default_limit).max(0))
            .unwrap_or(u32::MAX),
        offset: page_offset(args)?,
    })
}

/// Answers `path` if it is a registry endpoint.
pub(crate) async fn handle(
    state: &ServerState,
    method: &str,
    path: &str,
    args: &Args,
) -> Option<Reply> {
    let store = &*state.store;
    Some(match (method, path) {
        ("POST", "registered-models/create") => async {
            let tags = args.key_values("tags")?.into_iter().collect();
            let model = store
                .create_registered_model(
                    &args.required("name")?,
                    &args.text("description").unwrap_or_default(),
                    &tags,
                )
                .await?;
            Ok(json!({"registered_model": shapes::registered_model(&model)}))
        }
        .await,
        ("GET", "registered-models/get") => async {
            let model = store.get_registered_model(&args.required("name")?).await?;
            Ok(json!({"registered_model": shapes::registered_model(&model)}))
        }
        .await,
        ("POST", "registered-models/rename") => async {
            let model = store
                .rename_registered_model(&args.required("name")?, &args.required("new_name")?)
                .await?;
            Ok(json!({"registered_model": shapes::registered_model(&model)}))
        }
        .await,
        ("PATCH", "registered-models/update") => async {
            let model = store
                .update_registered_model(
                    &args.required("name")?,
                    &args.text("description").unwrap_or_default(),
                )
                .await?;
            Ok(json!({"registered_model": shapes::registered_model(&model)}))
        }
        .await,
        ("DELETE", "registered-models/delete") => async {
            store.delete_registered_model(&args.required("name")?).await?;
            Ok(json!({}))
        }
        .await,
        ("GET" | "POST", "registered-models/search") => async {
            let page = store.search_registered_models(&search(args, 100)?).await?;
            let mut reply = json!({"registered_models": page.items.iter().map(shapes::registered_model).collect::<Vec<_>>()});
            if let Some(next) = page.next_offset {
                reply["next_page_token"] = json!(page_token(next));
            }
            Ok(reply)
        }
        .await,
        ("GET" | "POST", "registered-models/get-latest-versions") => async {
            let stages = args
                .list("stages")
                .iter()
                .map(|stage| stage.parse::<Stage>())
                .collect::<Result<Vec<_>, _>>()?;
            let versions = store.latest_versions(&args.required("name")?, &stages).await?;
            Ok(json!({"model_versions": versions.iter().map(shapes::model_version).collect::<Vec<_>>()}))
        }
        .await,
        ("POST", "registered-models/set-tag") => async {
            let value = args.text("value").unwrap_or_default();
            store
                .set_registered_model_tag(&args.required("name")?, &args.required("key")?, Some(&value))
                .await?;
            Ok(json!({}))
        }
        .await,
        ("DELETE", "registered-models/delete-tag") => async {
            store
                .set_registered_model_tag(&args.required("name")?, &args.required("key")?, None)
                .await?;
            Ok(json!({}))
        }
        .await,
        ("POST", "registered-models/alias") => async {
            store
                .set_alias(
                    &args.required("name")?,
                    &args.required("alias")?,
                    version(args)?,
                    &decision("set through MLflow's API"),
                )
                .await?;
            Ok(json!({}))
        }
        .await,
        ("DELETE", "registered-models/alias") => async {
            store
                .delete_alias(
                    &args.required("name")?,
                    &args.required("alias")?,
                    &decision("removed through MLflow's API"),
                )
                .await?;
            Ok(json!({}))
        }
        .await,
        ("GET", "registered-models/alias") => async {
            let found = store
                .get_version_by_alias(&args.required("name")?, &args.required("alias")?)
                .await?;
            Ok(json!({"model_version": shapes::model_version(&found)}))
        }
        .await,
        ("POST", "model-versions/create") => async {
            let name = args.required("name")?;
            let source = args.required("source")?;
            let run_id = args.text("run_id").filter(|id| !id.is_empty());
            let model_id = args.text("model_id");
            let resolved = resolve_source(state, &source, run_id.as_deref(), model_id.as_deref()).await?;
            let who = match &run_id {
                Some(run) => store.get_run(run).await?.info.user_id,
                None => API_USER.to_owned(),
            };
            let created = store
                .create_model_version(&NewModelVersion {
                    name,
                    source,
                    artifact_id: resolved.artifact_id,
                    storage_location: Some(resolved.storage_location),
                    run_id,
                    run_link: args.text("run_link").unwrap_or_default(),
                    description: args.text("description").unwrap_or_default(),
                    tags: args.key_values("tags")?.into_iter().collect(),
                    decision: Decision::by(if who.is_empty() { API_USER.to_owned() } else { who }, "registered through MLflow's API"),
                })
                .await?;
            Ok(json!({"model_version": shapes::model_version(&created)}))
        }
        .await,
        ("GET", "model-versions/get") => async {
            let found = store.get_model_version(&args.required("name")?, version(args)?).await?;
            Ok(json!({"model_version": shapes::model_version(&found)}))
        }
        .await,
        ("PATCH", "model-versions/update") => async {
            let updated = store
                .update_model_version(
                    &args.required("name")?,
                    version(args)?,
                    &args.text("description").unwrap_or_default(),
                )
                .await?;
            Ok(json!({"model_version": shapes::model_version(&updated)}))
        }
        .await,
        ("DELETE", "model-versions/delete") => async {
            store.delete_model_version(&args.required("name")?, version(args)?).await?;
            Ok(json!({}))
        }
        .await,
        ("GET" | "POST", "model-versions/search") => async {
            let page = store.search_model_versions(&search(args, 10_000)?).await?;
            let mut reply = json!({"model_versions": page.items.iter().map(shapes::model_version).collect::<Vec<_>>()});
            if let Some(next) = page.next_offset {
                reply["next_page_token"] = json!(page_token(next));
            }
            Ok(reply)
        }
        .await,
        ("GET", "model-versions/get-download-uri") => async {
            let found = store.get_model_version(&args.required("name")?, version(args)?).await?;
            Ok(json!({"artifact_uri": found.storage_location}))
        }
        .await,
        ("POST", "model-versions/transition-stage") => async {
            let stage: Stage = args.required("stage")?.parse()?;
            let moved = store
                .transition_stage(
                    &args.required("name")?,
                    version(args)?,
                    stage,
                    args.flag("archive_existing_versions"),
                    &decision("stage moved through MLflow's API"),
                )
                .await?;
            Ok(json!({"model_version": shapes::model_version(&moved)}))
        }
        .await,
        ("POST", "model-versions/set-tag") => async {
            let value = args.text("value").unwrap_or_default();
            store
                .set_model_version_tag(&args.required("name")?, version(args)?, &args.required("key")?, Some(&value))
                .await?;
            Ok(json!({}))
        }
        .await,
        ("DELETE", "model-versions/delete-tag") => async {
            store
                .set_model_version_tag(&args.required("name")?, version(args)?, &args.required("key")?, None)
                .await?;
            Ok(json!({}))
        }
        .await,
        _ => return None,
    })
}
