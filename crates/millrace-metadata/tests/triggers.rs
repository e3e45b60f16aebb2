//! The trigger ledger's conformance suite, on every backend: each key fires once, even when
//! many claim it at once; a claim without a run is handed back after a crash; pauses persist.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

#[macro_use]
mod common;

use std::sync::Arc;

use millrace_metadata::MetadataStore;
use millrace_metadata::triggers::Claim;

type Store = Arc<dyn MetadataStore>;

conformance!(
    a_key_is_claimed_once_even_by_claims_racing_for_it,
    a_claim_without_a_run_is_handed_to_the_next_scheduler,
    fires_are_listed_newest_first_per_pipeline_and_trigger,
    a_pause_is_kept_and_lifted,
    the_fires_that_started_given_runs_are_found_by_run_id,
);

async fn a_key_is_claimed_once_even_by_claims_racing_for_it(store: Store, _: &tempfile::TempDir) {
    let claims = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .claim_trigger("taxi", "schedule", "2026-12-04T03:00:00Z")
                .await
                .unwrap()
        })
    });
    let mut new = 0;
    for claim in claims {
        if claim.await.unwrap() == Claim::New {
            new += 1;
        }
    }
    assert_eq!(new, 1);
    // Another pipeline's, or another trigger's, same key is its own.
    assert_eq!(
        store
            .claim_trigger("penguins", "schedule", "2026-12-04T03:00:00Z")
            .await
            .unwrap(),
        Claim::New
    );
    assert_eq!(
        store
            .claim_trigger("taxi", "new-data:example_gen", "2026-12-04T03:00:00Z")
            .await
            .unwrap(),
        Claim::New
    );
    match store
        .claim_trigger("taxi", "schedule", "2026-12-04T03:00:00Z")
        .await
        .unwrap()
    {
        Claim::Already(fire) => {
            assert_eq!(fire.key, "2026-12-04T03:00:00Z");
            assert!(fire.claimed_time > 0);
        }
        Claim::New => panic!("claimed twice"),
    }
}

async fn a_claim_without_a_run_is_handed_to_the_next_scheduler(
    store: Store,
    _: &tempfile::TempDir,
) {
    for key in ["span-3", "span-4"] {
        store
            .claim_trigger("taxi", "new-data:example_gen", key)
            .await
            .unwrap();
    }
    store
        .attach_run("taxi", "new-data:example_gen", "span-3", "run-a")
        .await
        .unwrap();
    let unstarted = store.unstarted_claims("taxi").await.unwrap();
    assert_eq!(
        unstarted
            .iter()
            .map(|fire| fire.key.as_str())
            .collect::<Vec<_>>(),
        ["span-4"]
    );
    assert!(store.unstarted_claims("penguins").await.unwrap().is_empty());
}

async fn fires_are_listed_newest_first_per_pipeline_and_trigger(
    store: Store,
    _: &tempfile::TempDir,
) {
    for key in ["a", "b", "c"] {
        store.claim_trigger("taxi", "schedule", key).await.unwrap();
        store
            .attach_run("taxi", "schedule", key, &format!("run-{key}"))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    store.claim_trigger("taxi", "backfill", "x").await.unwrap();
    let scheduled = store
        .trigger_fires("taxi", Some("schedule"), 2)
        .await
        .unwrap();
    assert_eq!(
        scheduled
            .iter()
            .map(|fire| fire.run_id.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["run-c", "run-b"]
    );
    assert_eq!(
        store.trigger_fires("taxi", None, 10).await.unwrap().len(),
        4
    );
    assert!(
        store
            .trigger_fires("other", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_pause_is_kept_and_lifted(store: Store, _: &tempfile::TempDir) {
    assert!(store.trigger_states("taxi").await.unwrap().is_empty());
    store
        .set_trigger_paused("taxi", "schedule", true)
        .await
        .unwrap();
    let states = store.trigger_states("taxi").await.unwrap();
    assert_eq!(
        (states[0].trigger.as_str(), states[0].paused),
        ("schedule", true)
    );
    store
        .set_trigger_paused("taxi", "schedule", false)
        .await
        .unwrap();
    let states = store.trigger_states("taxi").await.unwrap();
    assert_eq!(states.len(), 1);
    assert!(!states[0].paused);
}

async fn the_fires_that_started_given_runs_are_found_by_run_id(
    store: Store,
    _: &tempfile::TempDir,
) {
    for (trigger, key, run) in [
        ("schedule", "t1", "run-1"),
        ("new-data:example_gen", "span-2", "run-2"),
        ("schedule", "t3", "run-3"),
    ] {
        store.claim_trigger("taxi", trigger, key).await.unwrap();
        store.attach_run("taxi", trigger, key, run).await.unwrap();
    }
    store.claim_trigger("taxi", "schedule", "t4").await.unwrap();
    let wanted = ["run-2".to_owned(), "run-3".to_owned(), "manual".to_owned()];
    let mut found: Vec<(String, String)> = store
        .fires_of_runs("taxi", &wanted)
        .await
        .unwrap()
        .into_iter()
        .map(|fire| (fire.run_id.unwrap(), fire.trigger))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("run-2".to_owned(), "new-data:example_gen".to_owned()),
            ("run-3".to_owned(), "schedule".to_owned())
        ]
    );
    assert!(store.fires_of_runs("taxi", &[]).await.unwrap().is_empty());
    assert!(
        store
            .fires_of_runs("other", &wanted)
            .await
            .unwrap()
            .is_empty()
    );
}
