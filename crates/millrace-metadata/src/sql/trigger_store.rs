//! `SqlStore`'s trigger ledger: each call one transaction on a blocking thread.

use async_trait::async_trait;

use crate::error::Result;
use crate::sql::{Backend, SqlStore};
use crate::triggers::{Claim, TriggerFire, TriggerState, TriggerStore, ops};

#[async_trait]
impl<B: Backend> TriggerStore for SqlStore<B> {
    async fn claim_trigger(&self, pipeline: &str, trigger: &str, key: &str) -> Result<Claim> {
        let (pipeline, trigger, key) = (pipeline.to_owned(), trigger.to_owned(), key.to_owned());
        self.run(true, move |tx| ops::claim(tx, &pipeline, &trigger, &key))
            .await
    }

    async fn attach_run(
        &self,
        pipeline: &str,
        trigger: &str,
        key: &str,
        run_id: &str,
    ) -> Result<()> {
        let (pipeline, trigger, key, run_id) = (
            pipeline.to_owned(),
            trigger.to_owned(),
            key.to_owned(),
            run_id.to_owned(),
        );
        self.run(true, move |tx| {
            ops::attach_run(tx, &pipeline, &trigger, &key, &run_id)
        })
        .await
    }

    async fn unstarted_claims(&self, pipeline: &str) -> Result<Vec<TriggerFire>> {
        let pipeline = pipeline.to_owned();
        self.run(false, move |tx| ops::unstarted(tx, &pipeline))
            .await
    }

    async fn trigger_fires(
        &self,
        pipeline: &str,
        trigger: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TriggerFire>> {
        let (pipeline, trigger) = (pipeline.to_owned(), trigger.map(str::to_owned));
        self.run(false, move |tx| {
            ops::fires(tx, &pipeline, trigger.as_deref(), limit)
        })
        .await
    }

    async fn fires_of_runs(&self, pipeline: &str, run_ids: &[String]) -> Result<Vec<TriggerFire>> {
        let (pipeline, run_ids) = (pipeline.to_owned(), run_ids.to_vec());
        self.run(false, move |tx| ops::fires_of_runs(tx, &pipeline, &run_ids))
            .await
    }

    async fn latest_key(&self, pipeline: &str, trigger: &str) -> Result<Option<String>> {
        let (pipeline, trigger) = (pipeline.to_owned(), trigger.to_owned());
        self.run(false, move |tx| ops::latest_key(tx, &pipeline, &trigger))
            .await
    }

    async fn set_trigger_paused(&self, pipeline: &str, trigger: &str, paused: bool) -> Result<()> {
        let (pipeline, trigger) = (pipeline.to_owned(), trigger.to_owned());
        self.run(true, move |tx| {
            ops::set_paused(tx, &pipeline, &trigger, paused)
        })
        .await
    }

    async fn trigger_states(&self, pipeline: &str) -> Result<Vec<TriggerState>> {
        let pipeline = pipeline.to_owned();
        self.run(false, move |tx| ops::states(tx, &pipeline)).await
    }
}
