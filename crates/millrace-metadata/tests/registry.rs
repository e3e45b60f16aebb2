//! The model registry's conformance suite, on every backend.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use millrace_metadata::registry::{
    Approval, DECISION_EXECUTION, Decision, NewModelVersion, RegistrySearch, Stage,
};
use millrace_metadata::{
    Artifact, ArtifactState, EventQuery, EventType, MetadataError, MetadataStore, NodeQuery,
    NodeType, Value,
};

type Store = Arc<dyn MetadataStore>;

conformance!(
    versions_are_numbered_and_decisions_read_their_model_artifact,
    an_alias_points_at_one_version_and_leaves_rejected_or_archived_ones,
    a_registered_model_name_is_taken_once,
    moving_to_production_can_archive_the_previous_one,
    approvals_are_decided_once_by_someone,
    searches_find_versions_by_model_name,
);

async fn model_artifact(store: &Store, uri: &str) -> i64 {
    let type_id = store.put_type(&NodeType::artifact("Model")).await.unwrap();
    store
        .put_artifacts(&[Artifact {
            type_id,
            uri: Some(uri.to_owned()),
            state: ArtifactState::Live,
            ..Artifact::default()
        }])
        .await
        .unwrap()[0]
}

async fn register(store: &Store, name: &str, artifact_id: Option<i64>) -> i64 {
    store
        .create_model_version(&NewModelVersion {
            name: name.to_owned(),
            source: format!("/models/{}", artifact_id.unwrap_or_default()),
            artifact_id,
            decision: Decision::by("registrar", "blessed"),
            ..NewModelVersion::default()
        })
        .await
        .unwrap()
        .version
}

async fn versions_are_numbered_and_decisions_read_their_model_artifact(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let first = model_artifact(&store, "/models/1").await;
    let second = model_artifact(&store, "/models/2").await;
    assert_eq!(register(&store, "taxi", Some(first)).await, 1);
    assert_eq!(register(&store, "taxi", Some(second)).await, 2);
    let version = store.get_model_version("taxi", 2).await.unwrap();
    assert_eq!(version.artifact_id, Some(second));
    assert_eq!(version.approval, Approval::Pending);
    assert_eq!(version.current_stage, Stage::None);
    assert_eq!(version.user_id, "registrar");
    // The artifact belongs to the registered model's context; the registration is an
    // execution that read it, with who and why.
    let model = store.get_registered_model("taxi").await.unwrap();
    let attributed = store
        .get_attributions(Some(&[model.context_id]))
        .await
        .unwrap();
    assert!(attributed.iter().any(|link| link.artifact_id == second));
    let readers = store
        .get_events(&EventQuery::of_artifacts([second]).of_types([EventType::Input]))
        .await
        .unwrap();
    assert_eq!(readers.len(), 1);
    let decision = store
        .get_executions(&NodeQuery::all().ids([readers[0].execution_id]))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(decision.type_name.as_deref(), Some(DECISION_EXECUTION));
    assert_eq!(
        decision.custom_properties["action"],
        Value::from("register")
    );
    assert_eq!(decision.custom_properties["why"], Value::from("blessed"));
    assert_eq!(
        store.versions_of_artifact(second).await.unwrap()[0].version,
        2
    );
}

async fn an_alias_points_at_one_version_and_leaves_rejected_or_archived_ones(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    for _ in 0..3 {
        register(&store, "taxi", None).await;
    }
    let who = Decision::by("ada", "better RMSE");
    store.set_alias("taxi", "champion", 1, &who).await.unwrap();
    store.set_alias("taxi", "champion", 2, &who).await.unwrap();
    assert_eq!(
        store
            .get_version_by_alias("taxi", "champion")
            .await
            .unwrap()
            .version,
        2
    );
    assert!(
        store
            .get_model_version("taxi", 1)
            .await
            .unwrap()
            .aliases
            .is_empty()
    );
    assert_eq!(
        store.get_registered_model("taxi").await.unwrap().aliases,
        BTreeMap::from([("champion".to_owned(), 2)])
    );
    for bad in ["latest", "v3", "a b", ""] {
        assert!(
            store.set_alias("taxi", bad, 1, &who).await.is_err(),
            "{bad}"
        );
    }
    store
        .decide("taxi", 2, Approval::Rejected, &who)
        .await
        .unwrap();
    assert!(matches!(
        store.get_version_by_alias("taxi", "champion").await,
        Err(MetadataError::NotFound { .. })
    ));
    let refused = store
        .set_alias("taxi", "champion", 2, &who)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("rejected"), "{refused}");
    store
        .set_alias("taxi", "challenger", 3, &who)
        .await
        .unwrap();
    store
        .transition_stage("taxi", 3, Stage::Archived, false, &who)
        .await
        .unwrap();
    assert!(
        store
            .get_model_version("taxi", 3)
            .await
            .unwrap()
            .aliases
            .is_empty()
    );
}

async fn a_registered_model_name_is_taken_once(store: Store, _dir: &tempfile::TempDir) {
    store
        .create_registered_model("taxi", "fares", &BTreeMap::new())
        .await
        .unwrap();
    let again = store
        .create_registered_model("taxi", "", &BTreeMap::new())
        .await;
    assert!(
        matches!(again, Err(MetadataError::AlreadyExists(_))),
        "{again:?}"
    );
    assert!(matches!(
        store.get_registered_model("nothing").await,
        Err(MetadataError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_model_version("taxi", 9).await,
        Err(MetadataError::NotFound { .. })
    ));
    assert!(
        store
            .create_registered_model("a/b", "", &BTreeMap::new())
            .await
            .is_err()
    );
}

async fn moving_to_production_can_archive_the_previous_one(store: Store, _dir: &tempfile::TempDir) {
    register(&store, "taxi", None).await;
    register(&store, "taxi", None).await;
    let who = Decision::by("ada", "rollout");
    store
        .transition_stage("taxi", 1, Stage::Production, false, &who)
        .await
        .unwrap();
    store
        .transition_stage("taxi", 2, Stage::Production, true, &who)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_model_version("taxi", 1)
            .await
            .unwrap()
            .current_stage,
        Stage::Archived
    );
    let latest = store
        .latest_versions("taxi", &[Stage::Production])
        .await
        .unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].version, 2);
    assert_eq!("production".parse::<Stage>().unwrap(), Stage::Production);
}

async fn approvals_are_decided_once_by_someone(store: Store, _dir: &tempfile::TempDir) {
    register(&store, "taxi", None).await;
    assert!(
        store
            .decide("taxi", 1, Approval::Approved, &Decision::by("", "no name"))
            .await
            .is_err()
    );
    let approved = store
        .decide(
            "taxi",
            1,
            Approval::Approved,
            &Decision::by("grace", "checked the slices"),
        )
        .await
        .unwrap();
    assert_eq!(approved.approval, Approval::Approved);
    let again = store
        .decide(
            "taxi",
            1,
            Approval::Rejected,
            &Decision::by("grace", "changed my mind"),
        )
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already approved"), "{again}");
}

async fn searches_find_versions_by_model_name(store: Store, _dir: &tempfile::TempDir) {
    register(&store, "taxi", None).await;
    register(&store, "taxi", None).await;
    register(&store, "penguins", None).await;
    let page = store
        .search_model_versions(&RegistrySearch {
            filter: "name = 'taxi'".into(),
            ..RegistrySearch::default()
        })
        .await
        .unwrap();
    let mut versions: Vec<(String, i64)> = page
        .items
        .into_iter()
        .map(|version| (version.name, version.version))
        .collect();
    versions.sort();
    assert_eq!(versions, [("taxi".to_owned(), 1), ("taxi".to_owned(), 2)]);
    let models = store
        .search_registered_models(&RegistrySearch::default())
        .await
        .unwrap();
    assert_eq!(models.items.len(), 2);
}
