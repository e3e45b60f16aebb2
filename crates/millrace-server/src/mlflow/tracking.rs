//! MLflow's tracking endpoints: experiments, runs, their params, tags and metrics, run search
//! and metric histories, on the store's [`TrackingStore`](millrace_metadata::tracking::TrackingStore).

use std::collections::BTreeMap;

use millrace_metadata::tracking::{
    LifecycleStage, LogBatch, Metric, MetricPoint, NewExperiment, NewRun, RunSearch, RunStatus,
    RunSubject, RunUpdate, ViewType,
};
use serde_json::{Value, json};

use super::args::{Args, metric_value, page_offset, page_token};
use super::now_ms;
use super::shapes;
use crate::ServerState;
use crate::error::ApiError;

type Reply = Result<Value, ApiError>;

/// The most points one `get-history` page holds (the client asks for 25,000).
const MAX_HISTORY_PAGE: usize = 25_000;

fn experiment_id(args: &Args, key: &str) -> Result<i64, ApiError> {
    let text = args.required(key)?;
    text.parse()
        .map_err(|_| ApiError::invalid(format!("'{key}' must be an experiment id, not '{text}'")))
}

fn view(args: &Args, key: &str) -> ViewType {
    match args.text(key).as_deref() {
        Some("DELETED_ONLY") => ViewType::DeletedOnly,
        Some("ALL") => ViewType::All,
        _ => ViewType::ActiveOnly,
    }
}

/// Answers `path` (after `/api/2.0/mlflow/`) if it is a tracking endpoint.
pub(crate) async fn handle(
    state: &ServerState,
    method: &str,
    path: &str,
    args: &Args,
) -> Option<Reply> {
    let store = &*state.store;
    Some(match (method, path) {
        ("POST", "experiments/create") => {
            async {
                let request = NewExperiment {
                    name: args.required("name")?,
                    artifact_location: args
                        .text("artifact_location")
                        .filter(|text| !text.is_empty()),
                    tags: args.key_values("tags")?.into_iter().collect(),
                };
                let created = store.create_experiment(&request).await?;
                Ok(json!({"experiment_id": created.experiment_id.to_string()}))
            }
            .await
        }
        ("GET", "experiments/get") => {
            async {
                let experiment = store
                    .get_experiment(experiment_id(args, "experiment_id")?)
                    .await?;
                Ok(json!({"experiment": shapes::experiment(&experiment)}))
            }
            .await
        }
        ("GET", "experiments/get-by-name") => {
            async {
                let name = args.required("experiment_name")?;
                match store.get_experiment_by_name(&name).await? {
                    Some(experiment) => Ok(json!({"experiment": shapes::experiment(&experiment)})),
                    None => Err(ApiError::not_found(format!(
                        "Could not find experiment with name '{name}'"
                    ))),
                }
            }
            .await
        }
        ("GET" | "POST", "experiments/search") => {
            async {
                let experiments = store.list_experiments(view(args, "view_type")).await?;
                let wanted = args.text("filter").unwrap_or_default();
                let name = wanted
                    .split_once('=')
                    .filter(|(left, _)| left.trim() == "name" || left.trim() == "attribute.name")
                    .map(|(_, right)| right.trim().trim_matches(['\'', '"']).to_owned());
                let listed: Vec<Value> = experiments
                    .iter()
                    .filter(|experiment| name.as_ref().is_none_or(|name| &experiment.name == name))
                    .map(shapes::experiment)
                    .collect();
                Ok(json!({"experiments": listed}))
            }
            .await
        }
        ("POST", "experiments/delete" | "experiments/restore") => {
            async {
                let stage = if path.ends_with("delete") {
                    LifecycleStage::Deleted
                } else {
                    LifecycleStage::Active
                };
                store
                    .update_experiment(experiment_id(args, "experiment_id")?, None, Some(stage))
                    .await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "experiments/update") => {
            async {
                let new_name = args.text("new_name");
                store
                    .update_experiment(
                        experiment_id(args, "experiment_id")?,
                        new_name.as_deref(),
                        None,
                    )
                    .await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "experiments/set-experiment-tag") => {
            async {
                store
                    .set_experiment_tag(
                        experiment_id(args, "experiment_id")?,
                        &args.required("key")?,
                        &args.text("value").unwrap_or_default(),
                    )
                    .await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/create") => {
            async {
                let tags: BTreeMap<String, String> = args.key_values("tags")?.into_iter().collect();
                let experiment = args
                    .text("experiment_id")
                    .filter(|id| !id.is_empty())
                    .map_or(Ok(0), |id| {
                        id.parse().map_err(|_| {
                            ApiError::invalid(format!("'{id}' is not an experiment id"))
                        })
                    })?;
                let user = args
                    .text("user_id")
                    .or_else(|| tags.get("mlflow.user").cloned())
                    .unwrap_or_default();
                let mut request = NewRun::started_by(user, experiment, RunSubject::NewExecution);
                request.name = args.text("run_name").filter(|name| !name.is_empty());
                request.start_time = args.int("start_time")?.unwrap_or_else(now_ms);
                request.parent_run_id = tags.get("mlflow.parentRunId").cloned();
                request.tags = tags;
                let run = store.create_run(&request).await?;
                Ok(json!({"run": shapes::run(&run)}))
            }
            .await
        }
        ("GET", "runs/get") => {
            async {
                let run = store.get_run(&args.run_id()?).await?;
                Ok(json!({"run": shapes::run(&run)}))
            }
            .await
        }
        ("POST", "runs/update") => {
            async {
                let status = args
                    .text("status")
                    .map(|text| text.parse::<RunStatus>())
                    .transpose()?;
                let update = RunUpdate {
                    status,
                    end_time: args.int("end_time")?,
                    name: args.text("run_name").filter(|name| !name.is_empty()),
                };
                let info = store.update_run(&args.run_id()?, &update).await?;
                Ok(json!({"run_info": shapes::run_info(&info)}))
            }
            .await
        }
        ("POST", "runs/delete" | "runs/restore") => {
            async {
                let stage = if path.ends_with("delete") {
                    LifecycleStage::Deleted
                } else {
                    LifecycleStage::Active
                };
                store.set_run_lifecycle(&args.run_id()?, stage).await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/log-metric") => {
            async {
                let batch = LogBatch::metric(
                    args.required("key")?,
                    metric_value(args.get("value"))?,
                    args.int("timestamp")?.unwrap_or_else(now_ms),
                    args.int("step")?.unwrap_or(0),
                );
                store.log_batch(&args.run_id()?, &batch).await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/log-parameter") => {
            async {
                let batch = LogBatch::param(
                    args.required("key")?,
                    args.text("value").unwrap_or_default(),
                );
                store.log_batch(&args.run_id()?, &batch).await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/set-tag") => {
            async {
                let batch = LogBatch::tag(
                    args.required("key")?,
                    args.text("value").unwrap_or_default(),
                );
                store.log_batch(&args.run_id()?, &batch).await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/delete-tag") => {
            async {
                store
                    .delete_run_tag(&args.run_id()?, &args.required("key")?)
                    .await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/log-batch") => {
            async {
                let mut batch = LogBatch {
                    params: args.key_values("params")?,
                    tags: args.key_values("tags")?,
                    ..LogBatch::default()
                };
                if let Some(Value::Array(metrics)) = args.get("metrics") {
                    for entry in metrics {
                        let key = entry
                            .get("key")
                            .and_then(Value::as_str)
                            .ok_or_else(|| ApiError::invalid("every metric needs a key"))?;
                        let number = |name: &str| entry.get(name).and_then(Value::as_i64);
                        batch.metrics.push(Metric {
                            key: key.to_owned(),
                            point: MetricPoint {
                                value: metric_value(entry.get("value"))?,
                                timestamp: number("timestamp").unwrap_or_else(now_ms),
                                step: number("step").unwrap_or(0),
                            },
                        });
                    }
                }
                store.log_batch(&args.run_id()?, &batch).await?;
                Ok(json!({}))
            }
            .await
        }
        ("POST", "runs/log-inputs" | "runs/log-model" | "runs/outputs") => {
            async {
                // Datasets and model references: the run must exist; what MLflow keeps here,
                // Millrace keeps as lineage (a logged model's OUTPUT event is made when it is).
                store.get_run(&args.run_id()?).await?;
                Ok(json!({}))
            }
            .await
        }
        ("GET" | "POST", "runs/search") => {
            async {
                let mut experiment_ids = Vec::new();
                for id in args.list("experiment_ids") {
                    experiment_ids.push(id.parse().map_err(|_| {
                        ApiError::invalid(format!("'{id}' is not an experiment id"))
                    })?);
                }
                let max_results = args.int("max_results")?.unwrap_or(1000);
                let search = RunSearch {
                    experiment_ids,
                    filter: args.text("filter").unwrap_or_default(),
                    order_by: args.list("order_by"),
                    view: view(args, "run_view_type"),
                    max_results: u32::try_from(max_results.max(0)).unwrap_or(u32::MAX),
                    offset: page_offset(args)?,
                    top_level_only: false,
                };
                let page = store.search_runs(&search).await?;
                let mut reply =
                    json!({"runs": page.runs.iter().map(shapes::run).collect::<Vec<_>>()});
                if let Some(next) = page.next_offset {
                    reply["next_page_token"] = json!(page_token(next));
                }
                Ok(reply)
            }
            .await
        }
        ("GET", "metrics/get-history") => {
            async {
                let key = args.required("metric_key")?;
                let points = store.metric_history(&args.run_id()?, &key).await?;
                let limit = args
                    .int("max_results")?
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(MAX_HISTORY_PAGE)
                    .min(MAX_HISTORY_PAGE);
                let offset = usize::try_from(page_offset(args)?).unwrap_or(usize::MAX);
                let page: Vec<Value> = points
                    .iter()
                    .skip(offset)
                    .take(limit)
                    .map(|point| shapes::metric(&key, point))
                    .collect();
                let mut reply = json!({"metrics": page});
                if offset.saturating_add(limit) < points.len() {
                    reply["next_page_token"] = json!(page_token((offset + limit) as u64));
                }
                Ok(reply)
            }
            .await
        }
        _ => return None,
    })
}
