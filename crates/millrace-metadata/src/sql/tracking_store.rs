//! `SqlStore`'s tracking: each call one transaction on a blocking thread, like the rest.

use async_trait::async_trait;

use crate::error::Result;
use crate::sql::{Backend, SqlStore};
use crate::tracking::ops;
use crate::tracking::{
    Experiment, LifecycleStage, LogBatch, MetricPoint, NewExperiment, NewRun, RunInfo, RunSearch,
    RunSearchPage, RunUpdate, TrackedRun, TrackingStore, ViewType,
};

#[async_trait]
impl<B: Backend> TrackingStore for SqlStore<B> {
    async fn create_experiment(&self, request: &NewExperiment) -> Result<Experiment> {
        let request = request.clone();
        self.run(true, move |tx| ops::create_experiment(tx, &request))
            .await
    }

    async fn get_experiment(&self, experiment_id: i64) -> Result<Experiment> {
        // Experiment 0 is made when first asked for: a write.
        self.run(experiment_id == 0, move |tx| {
            ops::get_experiment(tx, experiment_id)
        })
        .await
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let name = name.to_owned();
        let write = name == crate::tracking::DEFAULT_EXPERIMENT;
        self.run(write, move |tx| ops::get_experiment_by_name(tx, &name))
            .await
    }

    async fn pipeline_experiment(&self, context_id: i64, name: &str) -> Result<Experiment> {
        let name = name.to_owned();
        self.run(true, move |tx| {
            ops::pipeline_experiment(tx, context_id, &name)
        })
        .await
    }

    async fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        self.run(false, move |tx| ops::list_experiments(tx, view))
            .await
    }

    async fn update_experiment(
        &self,
        experiment_id: i64,
        name: Option<&str>,
        stage: Option<LifecycleStage>,
    ) -> Result<Experiment> {
        let name = name.map(str::to_owned);
        self.run(true, move |tx| {
            ops::update_experiment(tx, experiment_id, name.as_deref(), stage)
        })
        .await
    }

    async fn set_experiment_tag(&self, experiment_id: i64, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.run(true, move |tx| {
            ops::set_experiment_tag(tx, experiment_id, &key, &value)
        })
        .await
    }

    async fn create_run(&self, request: &NewRun) -> Result<TrackedRun> {
        let request = request.clone();
        self.run(true, move |tx| ops::create_run(tx, &request))
            .await
    }

    async fn get_run(&self, run_id: &str) -> Result<TrackedRun> {
        let run_id = run_id.to_owned();
        self.run(false, move |tx| ops::get_run(tx, &run_id)).await
    }

    async fn run_of_execution(&self, execution_id: i64) -> Result<Option<RunInfo>> {
        self.run(false, move |tx| ops::run_of_execution(tx, execution_id))
            .await
    }

    async fn child_runs(&self, run_id: &str) -> Result<Vec<TrackedRun>> {
        let run_id = run_id.to_owned();
        self.run(false, move |tx| ops::child_runs(tx, &run_id))
            .await
    }

    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<RunInfo> {
        let (run_id, update) = (run_id.to_owned(), update.clone());
        self.run(true, move |tx| ops::update_run(tx, &run_id, &update))
            .await
    }

    async fn set_run_lifecycle(&self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        let run_id = run_id.to_owned();
        self.run(true, move |tx| ops::set_run_lifecycle(tx, &run_id, stage))
            .await
    }

    async fn log_batch(&self, run_id: &str, batch: &LogBatch) -> Result<()> {
        // Checked before a transaction is opened: a refused batch costs no write.
        crate::tracking::check_batch(batch)?;
        let (run_id, batch) = (run_id.to_owned(), batch.clone());
        self.run(true, move |tx| ops::log_batch(tx, &run_id, &batch))
            .await
    }

    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let (run_id, key) = (run_id.to_owned(), key.to_owned());
        self.run(true, move |tx| ops::delete_run_tag(tx, &run_id, &key))
            .await
    }

    async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        let (run_id, key) = (run_id.to_owned(), key.to_owned());
        self.run(false, move |tx| ops::metric_history(tx, &run_id, &key))
            .await
    }

    async fn search_runs(&self, search: &RunSearch) -> Result<RunSearchPage> {
        let search = search.clone();
        self.run(false, move |tx| ops::search_runs(tx, &search))
            .await
    }
}
