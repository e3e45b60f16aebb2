//! Tracking's conformance suite: experiments, runs, parameters, tags and metric histories on
//! every backend (in memory, SQLite, and PostgreSQL when `cargo xtask test` provides one).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

#[macro_use]
mod common;

use std::sync::Arc;

use millrace_metadata::tracking::{
    DEFAULT_EXPERIMENT, LifecycleStage, LogBatch, Metric, MetricPoint, NewExperiment, NewRun,
    RunSearch, RunStatus, RunSubject, RunUpdate, TRACKED_RUN_EXECUTION, ViewType,
};
use millrace_metadata::{ExecutionState, MetadataError, MetadataStore, NodeQuery};

type Store = Arc<dyn MetadataStore>;

conformance!(
    an_experiment_is_made_once_and_found_by_id_and_by_name,
    a_run_started_by_a_script_is_an_execution_of_its_experiment,
    parameters_never_change_and_tags_take_the_last_value,
    a_curve_comes_back_by_step_whole_with_its_latest_point,
    a_refused_batch_writes_nothing,
    unknown_runs_and_experiments_are_not_found,
    searches_page_through_runs_newest_first,
    deleted_runs_are_hidden_and_refuse_writes_until_restored,
    searches_filter_and_order_with_mlflows_grammar,
);

async fn experiment(store: &Store, name: &str) -> i64 {
    store
        .create_experiment(&NewExperiment {
            name: name.to_owned(),
            ..NewExperiment::default()
        })
        .await
        .unwrap()
        .experiment_id
}

async fn script_run(store: &Store, experiment_id: i64) -> String {
    store
        .create_run(&NewRun::started_by(
            "ada",
            experiment_id,
            RunSubject::NewExecution,
        ))
        .await
        .unwrap()
        .info
        .run_id
}

fn points(key: &str, steps: std::ops::Range<i64>) -> LogBatch {
    LogBatch {
        metrics: steps
            .map(|step| Metric {
                key: key.to_owned(),
                point: MetricPoint {
                    value: 1.0 / (step as f64 + 1.0),
                    timestamp: 1_000 + step,
                    step,
                },
            })
            .collect(),
        ..LogBatch::default()
    }
}

async fn an_experiment_is_made_once_and_found_by_id_and_by_name(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let default = store.get_experiment(0).await.unwrap();
    assert_eq!(default.name, DEFAULT_EXPERIMENT);
    let id = experiment(&store, "forest").await;
    assert!(id > 0);
    let found = store
        .get_experiment_by_name("forest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.experiment_id, id);
    assert_eq!(
        found.artifact_location,
        format!("mlflow-artifacts:/mlflow/{id}")
    );
    assert_eq!(found.lifecycle_stage, LifecycleStage::Active);
    let again = store
        .create_experiment(&NewExperiment {
            name: "forest".into(),
            ..NewExperiment::default()
        })
        .await;
    assert!(
        matches!(again, Err(MetadataError::AlreadyExists(_))),
        "{again:?}"
    );
    assert!(
        store
            .get_experiment_by_name("nothing")
            .await
            .unwrap()
            .is_none()
    );
    store.set_experiment_tag(id, "team", "fares").await.unwrap();
    let renamed = store
        .update_experiment(id, Some("woods"), None)
        .await
        .unwrap();
    assert_eq!(renamed.name, "woods");
    assert_eq!(renamed.tags["team"], "fares");
    let names: Vec<String> = store
        .list_experiments(ViewType::ActiveOnly)
        .await
        .unwrap()
        .into_iter()
        .map(|experiment| experiment.name)
        .collect();
    assert_eq!(names, [DEFAULT_EXPERIMENT, "woods"]);
}

async fn a_run_started_by_a_script_is_an_execution_of_its_experiment(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let id = experiment(&store, "forest").await;
    let run_id = script_run(&store, id).await;
    assert_eq!(run_id.len(), 32, "MLflow's run ids are 32 hex digits");
    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(run.info.status, RunStatus::Running);
    assert_eq!(run.info.name, run_id);
    assert_eq!(run.tags["mlflow.runName"], run_id);
    assert_eq!(
        run.info.artifact_uri,
        format!("mlflow-artifacts:/mlflow/{id}/{run_id}/artifacts")
    );
    let execution_id = run.info.execution_id().unwrap();
    let execution = |store: Store| async move {
        store
            .get_executions(&NodeQuery::all().ids([execution_id]))
            .await
            .unwrap()
            .remove(0)
    };
    let recorded = execution(Arc::clone(&store)).await;
    assert_eq!(recorded.type_name.as_deref(), Some(TRACKED_RUN_EXECUTION));
    assert_eq!(recorded.last_known_state, ExecutionState::Running);
    let context = store.get_experiment(id).await.unwrap().context_id;
    let associated = store.get_associations(Some(&[context])).await.unwrap();
    assert!(
        associated
            .iter()
            .any(|link| link.execution_id == execution_id)
    );

    let ended = store
        .update_run(
            &run_id,
            &RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(5_000),
                name: Some("first".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (ended.status, ended.end_time),
        (RunStatus::Finished, Some(5_000))
    );
    assert_eq!(ended.name, "first");
    assert_eq!(
        execution(Arc::clone(&store)).await.last_known_state,
        ExecutionState::Complete
    );
    assert_eq!(
        store
            .run_of_execution(execution_id)
            .await
            .unwrap()
            .unwrap()
            .run_id,
        run_id
    );
}

async fn parameters_never_change_and_tags_take_the_last_value(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let run_id = script_run(&store, 0).await;
    store
        .log_batch(&run_id, &LogBatch::param("max_depth", "8"))
        .await
        .unwrap();
    store
        .log_batch(&run_id, &LogBatch::param("max_depth", "8"))
        .await
        .expect("logging the same value again is fine");
    let changed = store
        .log_batch(&run_id, &LogBatch::param("max_depth", "9"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        changed.contains("Changing param values is not allowed"),
        "{changed}"
    );
    store
        .log_batch(&run_id, &LogBatch::tag("team", "a"))
        .await
        .unwrap();
    store
        .log_batch(&run_id, &LogBatch::tag("team", "b"))
        .await
        .unwrap();
    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(run.params["max_depth"], "8");
    assert_eq!(run.tags["team"], "b");
    store.delete_run_tag(&run_id, "team").await.unwrap();
    assert!(
        !store
            .get_run(&run_id)
            .await
            .unwrap()
            .tags
            .contains_key("team")
    );
    assert!(matches!(
        store.delete_run_tag(&run_id, "team").await,
        Err(MetadataError::NotFound { .. })
    ));
}

async fn a_curve_comes_back_by_step_whole_with_its_latest_point(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let run_id = script_run(&store, 0).await;
    // Over several chunks, in batches that do not line up with them, newest steps first in
    // one batch: the history is ordered by step whatever the order of writes.
    for start in [1_400_i64, 700, 0] {
        store
            .log_batch(&run_id, &points("loss", start..(start + 700).min(2_000)))
            .await
            .unwrap();
    }
    for step in 2_000..2_010 {
        store
            .log_batch(&run_id, &LogBatch::metric("loss", 0.25, 9_000, step))
            .await
            .unwrap();
    }
    // The same point twice is stored once; NaN is a value like any other.
    store
        .log_batch(&run_id, &LogBatch::metric("loss", 0.25, 9_000, 2_009))
        .await
        .unwrap();
    store
        .log_batch(&run_id, &LogBatch::metric("odd", f64::NAN, 1, 0))
        .await
        .unwrap();
    let curve = store.metric_history(&run_id, "loss").await.unwrap();
    assert_eq!(curve.len(), 2_010);
    assert!(curve.windows(2).all(|pair| pair[0].step < pair[1].step));
    assert_eq!(curve[0].value, 1.0);
    assert_eq!(curve[2_009].step, 2_009);
    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(run.metrics["loss"].step, 2_009);
    assert_eq!(run.metrics["loss"].value, 0.25);
    assert!(run.metrics["odd"].value.is_nan());
    assert!(
        store.metric_history(&run_id, "odd").await.unwrap()[0]
            .value
            .is_nan()
    );
    assert!(
        store
            .metric_history(&run_id, "none")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_refused_batch_writes_nothing(store: Store, _dir: &tempfile::TempDir) {
    let run_id = script_run(&store, 0).await;
    store
        .log_batch(&run_id, &LogBatch::param("lr", "0.1"))
        .await
        .unwrap();
    // A good metric and tag beside a changed parameter: none of them is stored.
    let mut batch = points("loss", 0..10);
    batch.tags.push(("team".into(), "a".into()));
    batch.params.push(("lr".into(), "0.2".into()));
    assert!(store.log_batch(&run_id, &batch).await.is_err());
    let too_many = points("loss", 0..1_001);
    let refused = store
        .log_batch(&run_id, &too_many)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("at most 1000 metrics"), "{refused}");
    let bad_key = LogBatch::metric("../escape", 1.0, 0, 0);
    assert!(store.log_batch(&run_id, &bad_key).await.is_err());
    let run = store.get_run(&run_id).await.unwrap();
    assert!(run.metrics.is_empty());
    assert!(!run.tags.contains_key("team"));
    assert!(
        store
            .metric_history(&run_id, "loss")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn unknown_runs_and_experiments_are_not_found(store: Store, _dir: &tempfile::TempDir) {
    let not_found =
        |result: Result<_, MetadataError>| matches!(result, Err(MetadataError::NotFound { .. }));
    assert!(not_found(store.get_run("feedface").await.map(|_| ())));
    assert!(not_found(
        store
            .log_batch("feedface", &LogBatch::param("a", "b"))
            .await
    ));
    assert!(not_found(
        store.metric_history("feedface", "loss").await.map(|_| ())
    ));
    assert!(not_found(store.get_experiment(404).await.map(|_| ())));
    assert!(not_found(
        store
            .create_run(&NewRun::started_by("ada", 404, RunSubject::NewExecution))
            .await
            .map(|_| ())
    ));
    let mut with_parent = NewRun::started_by("ada", 0, RunSubject::NewExecution);
    with_parent.parent_run_id = Some("feedface".into());
    assert!(not_found(store.create_run(&with_parent).await.map(|_| ())));
}

async fn searches_page_through_runs_newest_first(store: Store, _dir: &tempfile::TempDir) {
    let id = experiment(&store, "forest").await;
    let mut made = Vec::new();
    for index in 0..7 {
        let mut request = NewRun::started_by("ada", id, RunSubject::NewExecution);
        request.start_time = 1_000 + index;
        made.push(store.create_run(&request).await.unwrap().info.run_id);
    }
    script_run(&store, 0).await; // another experiment's
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .search_runs(&RunSearch {
                experiment_ids: vec![id],
                max_results: 3,
                offset,
                ..RunSearch::default()
            })
            .await
            .unwrap();
        seen.extend(page.runs.into_iter().map(|run| run.info.run_id));
        match page.next_offset {
            Some(next) => offset = next,
            None => break,
        }
    }
    made.reverse();
    assert_eq!(seen, made);
}

async fn deleted_runs_are_hidden_and_refuse_writes_until_restored(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let id = experiment(&store, "forest").await;
    let run_id = script_run(&store, id).await;
    store
        .set_run_lifecycle(&run_id, LifecycleStage::Deleted)
        .await
        .unwrap();
    let search = |view| RunSearch {
        experiment_ids: vec![id],
        view,
        ..RunSearch::default()
    };
    assert!(
        store
            .search_runs(&search(ViewType::ActiveOnly))
            .await
            .unwrap()
            .runs
            .is_empty()
    );
    assert_eq!(
        store
            .search_runs(&search(ViewType::DeletedOnly))
            .await
            .unwrap()
            .runs
            .len(),
        1
    );
    assert!(
        store
            .log_batch(&run_id, &LogBatch::param("a", "b"))
            .await
            .is_err()
    );
    store
        .set_run_lifecycle(&run_id, LifecycleStage::Active)
        .await
        .unwrap();
    store
        .log_batch(&run_id, &LogBatch::param("a", "b"))
        .await
        .unwrap();
    assert_eq!(
        store
            .search_runs(&search(ViewType::All))
            .await
            .unwrap()
            .runs
            .len(),
        1
    );
}

async fn searches_filter_and_order_with_mlflows_grammar(store: Store, _dir: &tempfile::TempDir) {
    let id = experiment(&store, "forest").await;
    let mut made = std::collections::BTreeMap::new();
    for (depth, rmse, team) in [
        ("8", 3.5, "Fares"),
        ("8", 4.5, "fares"),
        ("4", 3.0, "Fares"),
        ("8", f64::NAN, "fares"),
        ("8", 2.5, "other"),
    ] {
        let run = script_run(&store, id).await;
        let mut batch = LogBatch::metric("evaluator.rmse", rmse, 0, 0);
        batch.params.push(("max_depth".into(), depth.into()));
        batch.tags.push(("team".into(), team.into()));
        store.log_batch(&run, &batch).await.unwrap();
        made.insert(run.clone(), (depth, rmse, team));
    }
    let unscored = script_run(&store, id).await; // no metric, no params
    let found = |filter: &str, order: &[&str]| {
        let store = Arc::clone(&store);
        let search = RunSearch {
            experiment_ids: vec![id],
            filter: filter.to_owned(),
            order_by: order.iter().map(|clause| (*clause).to_owned()).collect(),
            ..RunSearch::default()
        };
        async move {
            store
                .search_runs(&search)
                .await
                .unwrap()
                .runs
                .into_iter()
                .map(|run| run.info.run_id)
                .collect::<Vec<_>>()
        }
    };
    let rmse_of = |run: &String| made.get(run).map(|(_, rmse, _)| *rmse);
    let good = found(
        "metrics.`evaluator.rmse` < 4 and params.max_depth = '8'",
        &["metrics.`evaluator.rmse` ASC"],
    )
    .await;
    assert_eq!(
        good.iter().map(rmse_of).collect::<Vec<_>>(),
        [Some(2.5), Some(3.5)]
    );
    // Descending: runs without the metric come last; NaN after the numbers.
    let ordered = found("", &["metrics.`evaluator.rmse` DESC"]).await;
    assert_eq!(ordered.len(), 6);
    assert_eq!(rmse_of(&ordered[0]), Some(4.5));
    assert_eq!(ordered.last(), Some(&unscored));
    // LIKE is case-sensitive, ILIKE is not.
    assert_eq!(found("tags.team LIKE 'F%'", &[]).await.len(), 2);
    assert_eq!(found("tags.team ILIKE 'f%'", &[]).await.len(), 4);
    let by_id = found(&format!("attributes.run_id IN ('{unscored}', 'nope')"), &[]).await;
    assert_eq!(by_id, std::slice::from_ref(&unscored));
    let refused = store
        .search_runs(&RunSearch {
            experiment_ids: vec![id],
            filter: "metrics.rmse < 4 OR params.a = 'b'".into(),
            ..RunSearch::default()
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("no OR"), "{refused}");
}
