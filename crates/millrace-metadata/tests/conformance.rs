//! The conformance suite: every test runs against every backend — in memory, SQLite and
//! PostgreSQL (when `cargo xtask test` provides a server; otherwise that backend's tests say
//! they were skipped and why).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

#[macro_use]
mod common;

use std::sync::Arc;

use millrace_metadata::{
    Artifact, ArtifactAndEvent, ArtifactState, Association, Attribution, BaseType, Comparison,
    Context, Direction, Event, EventQuery, EventType, Execution, ExecutionState, LineageQuery,
    MetadataError, MetadataStore, NodeQuery, NodeType, OrderBy, OutputQuery, ParentContext,
    PathStep, PropertyType, PutExecution, TypeKind, Value,
};
use serde_json::json;

type Store = Arc<dyn MetadataStore>;

conformance!(
    types_are_created_extended_and_never_changed,
    artifacts_keep_every_kind_of_property_value,
    a_property_of_the_wrong_type_writes_nothing,
    names_are_unique_within_a_type,
    executions_and_contexts_round_trip,
    parent_contexts_form_a_dag,
    events_keep_their_paths_in_order,
    put_execution_writes_everything_in_one_transaction,
    put_execution_records_each_events_path_and_an_event_twice_once,
    put_execution_names_outputs_after_the_new_execution,
    a_failed_put_execution_writes_nothing,
    a_batch_of_executions_is_written_in_order_in_one_transaction,
    a_batch_with_one_bad_execution_writes_nothing,
    queries_filter_order_and_page,
    lineage_follows_events_within_the_hop_limit,
    the_cache_lookup_finds_the_newest_complete_execution_with_live_outputs,
    garbage_collection_removes_files_and_marks_deleted,
    pruning_keeps_the_newest_runs_and_shared_artifacts,
    a_nodes_outputs_come_newest_first_once_each_and_page_by_id,
    event_queries_filter_by_type_and_stop_at_the_limit,
);

async fn artifact_type(store: &Store) -> i64 {
    store
        .put_type(
            &NodeType::artifact("Examples")
                .property("span", PropertyType::Int)
                .property("weight", PropertyType::Double)
                .property("split_names", PropertyType::String)
                .property("schema", PropertyType::Struct)
                .property("proto", PropertyType::Proto)
                .property("validated", PropertyType::Boolean)
                .base(BaseType::Dataset),
        )
        .await
        .unwrap()
}

async fn execution_type(store: &Store) -> i64 {
    store
        .put_type(
            &NodeType::execution("Trainer")
                .property("epochs", PropertyType::Int)
                .base(BaseType::Train),
        )
        .await
        .unwrap()
}

async fn context_type(store: &Store, name: &str) -> i64 {
    store.put_type(&NodeType::context(name)).await.unwrap()
}

fn examples(type_id: i64, uri: &str, span: i64) -> Artifact {
    Artifact {
        type_id,
        uri: Some(uri.to_owned()),
        state: ArtifactState::Live,
        properties: [("span".to_owned(), Value::Int(span))].into(),
        ..Artifact::default()
    }
}

async fn types_are_created_extended_and_never_changed(store: Store, _dir: &tempfile::TempDir) {
    let id = artifact_type(&store).await;
    assert_eq!(
        artifact_type(&store).await,
        id,
        "putting the same type again is a no-op"
    );

    let extended = store
        .put_type(&NodeType::artifact("Examples").property("version", PropertyType::Int))
        .await
        .unwrap();
    assert_eq!(extended, id);
    let stored = store
        .get_type(TypeKind::Artifact, "Examples")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.properties.len(),
        7,
        "the new property is added, the old ones kept"
    );
    assert_eq!(stored.base_type, Some(BaseType::Dataset));

    let changed = store
        .put_type(&NodeType::artifact("Examples").property("span", PropertyType::String))
        .await;
    assert!(
        matches!(changed, Err(MetadataError::AlreadyExists(_))),
        "{changed:?}"
    );

    let wrong_base = store
        .put_type(&NodeType::artifact("Model").base(BaseType::Train))
        .await;
    assert!(
        matches!(wrong_base, Err(MetadataError::InvalidArgument(_))),
        "{wrong_base:?}"
    );

    execution_type(&store).await;
    let artifact_types = store.get_types(TypeKind::Artifact).await.unwrap();
    assert_eq!(
        artifact_types
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["Examples"]
    );
    assert_eq!(
        store.get_types(TypeKind::Execution).await.unwrap()[0].base_type,
        Some(BaseType::Train)
    );
    assert!(
        store
            .get_type(TypeKind::Context, "Examples")
            .await
            .unwrap()
            .is_none()
    );
}

async fn artifacts_keep_every_kind_of_property_value(store: Store, _dir: &tempfile::TempDir) {
    let type_id = artifact_type(&store).await;
    let serde_json::Value::Object(schema) =
        json!({"features": ["fare", "tips"], "nested": {"x": 1.5, "ok": true, "none": null}})
    else {
        unreachable!()
    };
    let artifact = Artifact {
        type_id,
        uri: Some("/data/examples/1".into()),
        name: Some("examples-1".into()),
        external_id: Some("ext-examples-1".into()),
        state: ArtifactState::Pending,
        properties: [
            ("span".to_owned(), Value::Int(-7)),
            ("weight".to_owned(), Value::Double(0.25)),
            (
                "split_names".to_owned(),
                Value::String("[\"train\",\"eval\"] ünïcode".into()),
            ),
            ("schema".to_owned(), Value::Struct(schema.clone())),
            (
                "proto".to_owned(),
                Value::Proto {
                    type_url: "type.googleapis.com/google.protobuf.Value".into(),
                    value: vec![0x1a, 0x01, b'x'],
                },
            ),
            ("validated".to_owned(), Value::Bool(true)),
        ]
        .into(),
        custom_properties: [
            ("int".to_owned(), Value::Int(i64::MAX)),
            ("double".to_owned(), Value::Double(1e-300)),
            ("string".to_owned(), Value::String(String::new())),
            ("struct".to_owned(), Value::Struct(schema)),
            ("bool".to_owned(), Value::Bool(false)),
        ]
        .into(),
        ..Artifact::default()
    };
    let id = store
        .put_artifacts(std::slice::from_ref(&artifact))
        .await
        .unwrap()[0];

    let read = store
        .get_artifacts(&NodeQuery::all().ids([id]))
        .await
        .unwrap();
    let read = &read[0];
    assert_eq!(read.properties, artifact.properties);
    assert_eq!(read.custom_properties, artifact.custom_properties);
    assert_eq!(read.state, ArtifactState::Pending);
    assert_eq!(read.type_name.as_deref(), Some("Examples"));
    assert!(read.create_time_since_epoch > 0);

    for query in [
        NodeQuery::all().of_type("Examples"),
        NodeQuery::all().named("examples-1"),
        NodeQuery::all().with_uri("/data/examples/1"),
        NodeQuery::all().external_ids(["ext-examples-1".to_owned()]),
    ] {
        let found = store.get_artifacts(&query).await.unwrap();
        assert_eq!(
            found.iter().map(|a| a.id).collect::<Vec<_>>(),
            [Some(id)],
            "{query:?}"
        );
    }

    // An update replaces the properties and moves the state on.
    let mut updated = read.clone();
    updated.state = ArtifactState::Live;
    updated.properties.remove("weight");
    updated
        .custom_properties
        .insert("note".into(), Value::String("published".into()));
    store.put_artifacts(&[updated.clone()]).await.unwrap();
    let reread = &store
        .get_artifacts(&NodeQuery::all().ids([id]))
        .await
        .unwrap()[0];
    assert_eq!(reread.state, ArtifactState::Live);
    assert_eq!(reread.properties, updated.properties);
    assert_eq!(reread.custom_properties, updated.custom_properties);
    assert!(reread.last_update_time_since_epoch >= read.last_update_time_since_epoch);
    assert_eq!(reread.create_time_since_epoch, read.create_time_since_epoch);
}

async fn a_property_of_the_wrong_type_writes_nothing(store: Store, _dir: &tempfile::TempDir) {
    let type_id = artifact_type(&store).await;
    let good = examples(type_id, "/a", 1);
    let mut bad = examples(type_id, "/b", 2);
    bad.properties
        .insert("span".into(), Value::String("two".into()));
    let result = store.put_artifacts(&[good.clone(), bad]).await;
    let Err(MetadataError::PropertyTypeMismatch {
        property,
        declared,
        found,
        ..
    }) = &result
    else {
        panic!("expected a property type mismatch, got {result:?}");
    };
    assert_eq!(
        (property.as_str(), *declared, *found),
        ("span", PropertyType::Int, PropertyType::String)
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("`span`") && message.contains("Int"),
        "{message}"
    );
    assert!(
        store
            .get_artifacts(&NodeQuery::all())
            .await
            .unwrap()
            .is_empty(),
        "nothing was written"
    );

    let mut undeclared = good;
    undeclared
        .properties
        .insert("colour".into(), Value::String("red".into()));
    let result = store.put_artifacts(&[undeclared]).await;
    assert!(
        matches!(&result, Err(MetadataError::UndeclaredProperty { property, .. }) if property == "colour"),
        "{result:?}"
    );

    let unknown_type = store.put_artifacts(&[examples(9999, "/c", 1)]).await;
    assert!(
        matches!(unknown_type, Err(MetadataError::InvalidArgument(_))),
        "{unknown_type:?}"
    );
}

async fn names_are_unique_within_a_type(store: Store, _dir: &tempfile::TempDir) {
    let type_id = artifact_type(&store).await;
    let mut first = examples(type_id, "/a", 1);
    first.name = Some("same".into());
    store.put_artifacts(&[first.clone()]).await.unwrap();
    let second = store.put_artifacts(&[first]).await;
    assert!(
        matches!(second, Err(MetadataError::AlreadyExists(_))),
        "{second:?}"
    );

    let run_type = context_type(&store, "pipeline_run").await;
    let run = Context {
        type_id: run_type,
        name: "run-1".into(),
        ..Context::default()
    };
    store
        .put_contexts(std::slice::from_ref(&run))
        .await
        .unwrap();
    assert!(matches!(
        store.put_contexts(&[run]).await,
        Err(MetadataError::AlreadyExists(_))
    ));
}

async fn executions_and_contexts_round_trip(store: Store, _dir: &tempfile::TempDir) {
    let trainer = execution_type(&store).await;
    let execution = Execution {
        type_id: trainer,
        name: Some("train-1".into()),
        last_known_state: ExecutionState::Running,
        properties: [("epochs".to_owned(), Value::Int(3))].into(),
        custom_properties: [("learning_rate".to_owned(), Value::Double(0.1))].into(),
        ..Execution::default()
    };
    let execution_id = store
        .put_executions(std::slice::from_ref(&execution))
        .await
        .unwrap()[0];
    let read = &store
        .get_executions(&NodeQuery::all().ids([execution_id]))
        .await
        .unwrap()[0];
    assert_eq!(read.last_known_state, ExecutionState::Running);
    assert_eq!(read.properties, execution.properties);
    assert_eq!(read.custom_properties, execution.custom_properties);

    let pipeline_type = store
        .put_type(&NodeType::context("pipeline").property("owner", PropertyType::String))
        .await
        .unwrap();
    let context = Context {
        type_id: pipeline_type,
        name: "taxi".into(),
        external_id: Some("pipeline/taxi".into()),
        properties: [("owner".to_owned(), Value::String("ml-team".into()))].into(),
        ..Context::default()
    };
    let context_id = store
        .put_contexts(std::slice::from_ref(&context))
        .await
        .unwrap()[0];
    let read = &store
        .get_contexts(&NodeQuery::all().of_type("pipeline").named("taxi"))
        .await
        .unwrap()[0];
    assert_eq!(read.id, Some(context_id));
    assert_eq!(read.properties, context.properties);

    store
        .put_attributions_and_associations(
            &[],
            &[
                Association {
                    context_id,
                    execution_id,
                },
                Association {
                    context_id,
                    execution_id,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_associations(None).await.unwrap(),
        [Association {
            context_id,
            execution_id
        }]
    );
    let in_context = store
        .get_executions(&NodeQuery::all().in_context(context_id))
        .await
        .unwrap();
    assert_eq!(in_context.len(), 1);
    let contexts = store
        .get_contexts(&NodeQuery {
            with_execution: Some(execution_id),
            ..NodeQuery::all()
        })
        .await
        .unwrap();
    assert_eq!(contexts[0].name, "taxi");
}

async fn parent_contexts_form_a_dag(store: Store, _dir: &tempfile::TempDir) {
    let pipeline_type = context_type(&store, "pipeline").await;
    let run_type = context_type(&store, "pipeline_run").await;
    let ids = store
        .put_contexts(&[
            Context {
                type_id: pipeline_type,
                name: "taxi".into(),
                ..Context::default()
            },
            Context {
                type_id: run_type,
                name: "run-1".into(),
                ..Context::default()
            },
            Context {
                type_id: run_type,
                name: "run-2".into(),
                ..Context::default()
            },
        ])
        .await
        .unwrap();
    let (pipeline, run_1, run_2) = (ids[0], ids[1], ids[2]);
    store
        .put_parent_contexts(&[
            ParentContext {
                child_id: run_1,
                parent_id: pipeline,
            },
            ParentContext {
                child_id: run_2,
                parent_id: pipeline,
            },
        ])
        .await
        .unwrap();
    let children = store
        .get_contexts(&NodeQuery {
            child_of: Some(pipeline),
            ..NodeQuery::all()
        })
        .await
        .unwrap();
    assert_eq!(
        children.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["run-1", "run-2"]
    );
    let parents = store
        .get_contexts(&NodeQuery {
            parent_of: Some(run_2),
            ..NodeQuery::all()
        })
        .await
        .unwrap();
    assert_eq!(parents[0].name, "taxi");

    let cycle = store
        .put_parent_contexts(&[ParentContext {
            child_id: pipeline,
            parent_id: run_1,
        }])
        .await;
    assert!(
        matches!(&cycle, Err(MetadataError::InvalidArgument(message)) if message.contains("cycle")),
        "{cycle:?}"
    );
    let self_loop = store
        .put_parent_contexts(&[ParentContext {
            child_id: run_1,
            parent_id: run_1,
        }])
        .await;
    assert!(self_loop.is_err());
    assert_eq!(store.get_parent_contexts(None).await.unwrap().len(), 2);
}

async fn events_keep_their_paths_in_order(store: Store, _dir: &tempfile::TempDir) {
    let type_id = artifact_type(&store).await;
    let trainer = execution_type(&store).await;
    let artifacts = store
        .put_artifacts(&[examples(type_id, "/a", 1), examples(type_id, "/b", 2)])
        .await
        .unwrap();
    let execution = store
        .put_executions(&[Execution {
            type_id: trainer,
            ..Execution::default()
        }])
        .await
        .unwrap()[0];
    let path = vec![
        PathStep::Key("examples".into()),
        PathStep::Index(1),
        PathStep::Key("nested".into()),
        PathStep::Index(0),
    ];
    store
        .put_events(&[
            Event {
                artifact_id: artifacts[0],
                execution_id: execution,
                event_type: EventType::Input,
                path: path.clone(),
                milliseconds_since_epoch: 0,
            },
            Event::new(artifacts[1], execution, EventType::Output, "model", 0),
        ])
        .await
        .unwrap();
    let events = store
        .get_events(&EventQuery::of_executions(vec![execution]))
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].path, path);
    assert_eq!(events[0].event_type, EventType::Input);
    assert!(events[0].milliseconds_since_epoch > 0);
    assert_eq!(
        events[1].path,
        [PathStep::Key("model".into()), PathStep::Index(0)]
    );

    let dangling = store
        .put_events(&[Event::new(9999, execution, EventType::Input, "x", 0)])
        .await;
    assert!(
        matches!(dangling, Err(MetadataError::InvalidArgument(_))),
        "{dangling:?}"
    );
}

/// The artifact, execution, run-context and node-context types a pipeline
/// run's `put_execution` needs, in that order.
async fn run_types(store: &Store) -> (i64, i64, i64, i64) {
    (
        artifact_type(store).await,
        execution_type(store).await,
        context_type(store, "pipeline_run").await,
        context_type(store, "node").await,
    )
}

/// The types of [`run_types`] and an input artifact, `/in`, to run on.
async fn run_types_and_input(store: &Store) -> ((i64, i64, i64, i64), i64) {
    let types = run_types(store).await;
    let input = store
        .put_artifacts(&[examples(types.0, "/in", 1)])
        .await
        .unwrap()[0];
    (types, input)
}

/// A run of one node: its execution, input and output, in the run's and node's contexts.
fn run_request(
    store_types: (i64, i64, i64, i64),
    input: i64,
    run: &str,
    uri: &str,
) -> PutExecution {
    let (examples_type, trainer, run_type, node_type) = store_types;
    PutExecution {
        execution: Execution {
            type_id: trainer,
            last_known_state: ExecutionState::Complete,
            ..Execution::default()
        },
        artifacts: vec![
            ArtifactAndEvent {
                artifact: Artifact {
                    id: Some(input),
                    ..examples(examples_type, "/in", 1)
                },
                event: Some((
                    EventType::Input,
                    vec![PathStep::Key("examples".into()), PathStep::Index(0)],
                )),
            },
            ArtifactAndEvent {
                artifact: examples(examples_type, uri, 2),
                event: Some((
                    EventType::Output,
                    vec![PathStep::Key("model".into()), PathStep::Index(0)],
                )),
            },
        ],
        contexts: vec![
            Context {
                type_id: run_type,
                name: run.into(),
                ..Context::default()
            },
            Context {
                type_id: node_type,
                name: "taxi.trainer".into(),
                ..Context::default()
            },
        ],
    }
}

async fn put_execution_writes_everything_in_one_transaction(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let (types, input) = run_types_and_input(&store).await;
    let first = store
        .put_execution(&run_request(types, input, "run-1", "/out/1"))
        .await
        .unwrap();
    assert_eq!(first.artifact_ids[0], input, "the existing input is reused");
    assert_eq!(first.context_ids.len(), 2);
    let second = store
        .put_execution(&run_request(types, input, "run-2", "/out/2"))
        .await
        .unwrap();
    assert_eq!(
        second.context_ids[1], first.context_ids[1],
        "the node context is reused by name"
    );
    assert_ne!(second.context_ids[0], first.context_ids[0]);

    let events = store
        .get_events(&EventQuery::of_executions(vec![first.execution_id]))
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    let node_artifacts = store
        .get_artifacts(&NodeQuery::all().in_context(first.context_ids[1]))
        .await
        .unwrap();
    assert_eq!(
        node_artifacts.len(),
        3,
        "the input and both outputs are attributed to the node"
    );
    let run_executions = store
        .get_executions(&NodeQuery::all().in_context(first.context_ids[0]))
        .await
        .unwrap();
    assert_eq!(run_executions.len(), 1);
}

async fn put_execution_records_each_events_path_and_an_event_twice_once(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let (types, input) = run_types_and_input(&store).await;
    let mut request = run_request(types, input, "run-1", "/out/1");
    // The same input a second time under another path: one event, with the first path.
    let mut again = request.artifacts[0].clone();
    again.event = Some((EventType::Input, vec![PathStep::Key("again".into())]));
    request.artifacts.push(again);
    let written = store.put_execution(&request).await.unwrap();

    let events = store
        .get_events(&EventQuery::of_executions(vec![written.execution_id]))
        .await
        .unwrap();
    let paths: Vec<(i64, EventType, Vec<PathStep>)> = events
        .iter()
        .map(|event| (event.artifact_id, event.event_type, event.path.clone()))
        .collect();
    assert_eq!(
        paths,
        [
            (
                input,
                EventType::Input,
                vec![PathStep::Key("examples".into()), PathStep::Index(0)]
            ),
            (
                written.artifact_ids[1],
                EventType::Output,
                vec![PathStep::Key("model".into()), PathStep::Index(0)]
            ),
        ]
    );
}

async fn a_failed_put_execution_writes_nothing(store: Store, _dir: &tempfile::TempDir) {
    let (types, input) = run_types_and_input(&store).await;
    let mut request = run_request(types, input, "run-1", "/out/1");
    request.artifacts[1]
        .artifact
        .properties
        .insert("span".into(), Value::Double(2.0));
    assert!(store.put_execution(&request).await.is_err());
    assert!(
        store
            .get_executions(&NodeQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_artifacts(&NodeQuery::all()).await.unwrap().len(),
        1
    );
    assert!(
        store
            .get_contexts(&NodeQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .get_events(&EventQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_batch_of_executions_is_written_in_order_in_one_transaction(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let (types, input) = run_types_and_input(&store).await;
    let mut first = run_request(types, input, "run-1", "/out/1");
    first.execution.last_known_state = ExecutionState::Running;
    first.artifacts[1].artifact.state = ArtifactState::Pending;
    let written = store
        .put_executions_with_events(&[first.clone()])
        .await
        .unwrap();
    let (execution, output) = (written[0].execution_id, written[0].artifact_ids[1]);

    // One batch: the first execution completes (its output goes LIVE), a second starts
    // reading that output, and a third in another run is new — as a runner's publish and its
    // successors' starts.
    let mut complete = first;
    complete.execution.id = Some(execution);
    complete.execution.last_known_state = ExecutionState::Complete;
    complete.artifacts.truncate(1);
    complete.artifacts.push(ArtifactAndEvent {
        artifact: Artifact {
            id: Some(output),
            state: ArtifactState::Live,
            ..examples(types.0, "/out/1", 2)
        },
        event: None,
    });
    let mut reader = run_request(types, output, "run-1", "/out/2");
    reader.execution.last_known_state = ExecutionState::Running;
    let other_run = run_request(types, input, "run-2", "/out/3");
    let results = store
        .put_executions_with_events(&[complete, reader, other_run])
        .await
        .unwrap();
    assert_eq!(results.len(), 3, "one result a request, in order");
    assert_eq!(results[0].execution_id, execution);
    assert_eq!(
        results[1].artifact_ids[0], output,
        "the reader's input is the output the batch made LIVE"
    );
    assert_eq!(
        results[1].context_ids[0], results[0].context_ids[0],
        "requests of one run share its context"
    );
    assert_ne!(results[2].context_ids[0], results[0].context_ids[0]);
    let live = store
        .get_artifacts(&NodeQuery::all().ids([output]))
        .await
        .unwrap();
    assert_eq!(live[0].state, ArtifactState::Live);
    let in_run = store
        .get_executions(&NodeQuery::all().in_context(results[0].context_ids[0]))
        .await
        .unwrap();
    let states: Vec<ExecutionState> = in_run.iter().map(|e| e.last_known_state).collect();
    assert_eq!(
        states,
        [ExecutionState::Complete, ExecutionState::Running],
        "the update and the new execution, in the run's context"
    );
    assert!(
        store
            .put_executions_with_events(&[])
            .await
            .unwrap()
            .is_empty(),
        "an empty batch writes nothing and succeeds"
    );
}

async fn a_batch_with_one_bad_execution_writes_nothing(store: Store, _dir: &tempfile::TempDir) {
    let (types, input) = run_types_and_input(&store).await;
    let good = run_request(types, input, "run-1", "/out/1");
    let mut bad = run_request(types, input, "run-2", "/out/2");
    bad.artifacts[1]
        .artifact
        .properties
        .insert("span".into(), Value::Double(2.0));
    let error = store
        .put_executions_with_events(&[good, bad])
        .await
        .expect_err("a property of the wrong type fails the batch");
    assert!(error.to_string().contains("span"), "{error}");
    assert!(
        store
            .get_executions(&NodeQuery::all())
            .await
            .unwrap()
            .is_empty(),
        "not even the good request is written"
    );
    assert_eq!(
        store.get_artifacts(&NodeQuery::all()).await.unwrap().len(),
        1
    );
    assert!(
        store
            .get_contexts(&NodeQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn queries_filter_order_and_page(store: Store, _dir: &tempfile::TempDir) {
    let type_id = artifact_type(&store).await;
    let mut artifacts = Vec::new();
    for span in 1..=10 {
        let mut artifact = examples(type_id, &format!("/e/{span}"), span);
        artifact
            .properties
            .insert("weight".into(), Value::Double(span as f64 / 10.0));
        artifact
            .properties
            .insert("validated".into(), Value::Bool(span % 2 == 0));
        artifact.custom_properties.insert(
            "owner".into(),
            Value::String(if span <= 3 { "alice" } else { "bob" }.into()),
        );
        artifacts.push(artifact);
    }
    store.put_artifacts(&artifacts).await.unwrap();
    let spans = |found: &[Artifact]| -> Vec<i64> {
        found
            .iter()
            .map(|artifact| match artifact.properties["span"] {
                Value::Int(span) => span,
                _ => panic!("span is an int"),
            })
            .collect()
    };
    let at_least_8 = store
        .get_artifacts(&NodeQuery::all().where_property("span", Comparison::Ge, 8))
        .await
        .unwrap();
    assert_eq!(spans(&at_least_8), [8, 9, 10]);
    let light = store
        .get_artifacts(&NodeQuery::all().where_property("weight", Comparison::Lt, 0.25))
        .await
        .unwrap();
    assert_eq!(spans(&light), [1, 2]);
    let validated_by_bob = store
        .get_artifacts(
            &NodeQuery::all()
                .where_property("validated", Comparison::Eq, true)
                .where_custom_property("owner", Comparison::Eq, "bob"),
        )
        .await
        .unwrap();
    assert_eq!(spans(&validated_by_bob), [4, 6, 8, 10]);
    let not_alice = store
        .get_artifacts(&NodeQuery::all().where_custom_property("owner", Comparison::Ne, "alice"))
        .await
        .unwrap();
    assert_eq!(not_alice.len(), 7);

    let page = store
        .get_artifacts(
            &NodeQuery::all()
                .order_by(OrderBy::CreateTime)
                .descending()
                .limit(3)
                .offset(2),
        )
        .await
        .unwrap();
    assert_eq!(spans(&page), [8, 7, 6]);
    let rest = store
        .get_artifacts(&NodeQuery::all().offset(8))
        .await
        .unwrap();
    assert_eq!(spans(&rest), [9, 10]);
    let live = store
        .get_artifacts(&NodeQuery::all().states([ArtifactState::Live.code()]))
        .await
        .unwrap();
    assert_eq!(live.len(), 10);
    assert!(
        store
            .get_artifacts(&NodeQuery::all().ids([]))
            .await
            .unwrap()
            .is_empty()
    );

    let struct_filter = store
        .get_artifacts(&NodeQuery::all().where_property(
            "schema",
            Comparison::Eq,
            Value::Struct(Default::default()),
        ))
        .await;
    assert!(matches!(
        struct_filter,
        Err(MetadataError::InvalidArgument(_))
    ));
}

/// A chain `a0 → e1 → a1 → e2 → ... → a_n`: each execution reads the previous artifact and
/// writes the next. Returns the artifact and execution ids.
pub(crate) async fn chain(store: &Store, length: usize) -> (Vec<i64>, Vec<i64>) {
    let type_id = artifact_type(store).await;
    let trainer = execution_type(store).await;
    let mut artifacts = store
        .put_artifacts(&[examples(type_id, "/chain/0", 0)])
        .await
        .unwrap();
    let mut executions = Vec::new();
    for step in 1..=length {
        let previous = *artifacts.last().unwrap();
        let result = store
            .put_execution(&PutExecution {
                execution: Execution {
                    type_id: trainer,
                    last_known_state: ExecutionState::Complete,
                    ..Execution::default()
                },
                artifacts: vec![
                    ArtifactAndEvent {
                        artifact: Artifact {
                            id: Some(previous),
                            ..examples(type_id, &format!("/chain/{}", step - 1), 0)
                        },
                        event: Some((EventType::Input, vec![PathStep::Key("in".into())])),
                    },
                    ArtifactAndEvent {
                        artifact: examples(type_id, &format!("/chain/{step}"), step as i64),
                        event: Some((EventType::Output, vec![PathStep::Key("out".into())])),
                    },
                ],
                contexts: vec![],
            })
            .await
            .unwrap();
        executions.push(result.execution_id);
        artifacts.push(result.artifact_ids[1]);
    }
    (artifacts, executions)
}

async fn lineage_follows_events_within_the_hop_limit(store: Store, _dir: &tempfile::TempDir) {
    let (artifacts, executions) = chain(&store, 5).await;
    let lineage = |artifact_ids: Vec<i64>, direction, max_hops| LineageQuery {
        artifact_ids,
        execution_ids: vec![],
        direction,
        max_hops,
    };
    let ids = |graph: &millrace_metadata::LineageGraph| -> (Vec<i64>, Vec<i64>) {
        (
            graph.artifacts.iter().filter_map(|a| a.id).collect(),
            graph.executions.iter().filter_map(|e| e.id).collect(),
        )
    };

    // Downstream from a2 within 3 hops: a2 → e3 → a3 → e4.
    let down = store
        .get_lineage(&lineage(vec![artifacts[2]], Direction::Downstream, 3))
        .await
        .unwrap();
    assert_eq!(
        ids(&down),
        (
            vec![artifacts[2], artifacts[3]],
            vec![executions[2], executions[3]]
        )
    );
    assert_eq!(down.events.len(), 3);

    // Upstream from a2 without a practical limit: everything before it.
    let up = store
        .get_lineage(&lineage(vec![artifacts[2]], Direction::Upstream, 100))
        .await
        .unwrap();
    assert_eq!(
        ids(&up),
        (artifacts[..=2].to_vec(), executions[..2].to_vec())
    );

    // Both ways within 2 hops of a2: a1, e2, a2, e3, a3.
    let both = store
        .get_lineage(&lineage(vec![artifacts[2]], Direction::Both, 2))
        .await
        .unwrap();
    assert_eq!(
        ids(&both),
        (artifacts[1..=3].to_vec(), executions[1..=2].to_vec())
    );

    // Zero hops: just the start.
    let none = store
        .get_lineage(&lineage(vec![artifacts[2]], Direction::Both, 0))
        .await
        .unwrap();
    assert_eq!(ids(&none), (vec![artifacts[2]], vec![]));

    // From an execution.
    let from_execution = store
        .get_lineage(&LineageQuery {
            artifact_ids: vec![],
            execution_ids: vec![executions[0]],
            direction: Direction::Downstream,
            max_hops: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        ids(&from_execution),
        (vec![artifacts[1]], vec![executions[0]])
    );
}

async fn the_cache_lookup_finds_the_newest_complete_execution_with_live_outputs(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let type_id = artifact_type(&store).await;
    let trainer = execution_type(&store).await;
    let cache_type = context_type(&store, millrace_metadata::store::EXECUTION_CACHE_CONTEXT).await;
    let cached_run = |uri: &str, state| PutExecution {
        execution: Execution {
            type_id: trainer,
            last_known_state: state,
            ..Execution::default()
        },
        artifacts: vec![ArtifactAndEvent {
            artifact: examples(type_id, uri, 1),
            event: Some((
                EventType::Output,
                vec![PathStep::Key("model".into()), PathStep::Index(0)],
            )),
        }],
        contexts: vec![Context {
            type_id: cache_type,
            name: "key-1".into(),
            ..Context::default()
        }],
    };
    assert!(
        store
            .find_cached_execution("key-1")
            .await
            .unwrap()
            .is_none()
    );
    let older = store
        .put_execution(&cached_run("/m/1", ExecutionState::Complete))
        .await
        .unwrap();
    let newer = store
        .put_execution(&cached_run("/m/2", ExecutionState::Complete))
        .await
        .unwrap();
    store
        .put_execution(&cached_run("/m/3", ExecutionState::Failed))
        .await
        .unwrap();

    let hit = store.find_cached_execution("key-1").await.unwrap().unwrap();
    assert_eq!(hit.execution.id, Some(newer.execution_id));
    assert_eq!(hit.outputs[0].1.uri.as_deref(), Some("/m/2"));

    store
        .mark_artifacts_for_deletion(&newer.artifact_ids)
        .await
        .unwrap();
    let fallback = store.find_cached_execution("key-1").await.unwrap().unwrap();
    assert_eq!(
        fallback.execution.id,
        Some(older.execution_id),
        "an execution whose outputs are gone is no hit"
    );
    assert!(
        store
            .find_cached_execution("key-2")
            .await
            .unwrap()
            .is_none()
    );
}

async fn garbage_collection_removes_files_and_marks_deleted(store: Store, dir: &tempfile::TempDir) {
    let type_id = artifact_type(&store).await;
    let keep = dir.path().join("keep");
    let remove = dir.path().join("remove");
    let stuck = dir.path().join("stuck");
    for path in [&keep, &remove, &stuck] {
        std::fs::create_dir_all(path).unwrap();
        std::fs::write(path.join("data.parquet"), b"bytes").unwrap();
    }
    let ids = store
        .put_artifacts(&[
            examples(type_id, keep.to_str().unwrap(), 1),
            examples(type_id, remove.to_str().unwrap(), 2),
            examples(type_id, stuck.to_str().unwrap(), 3),
        ])
        .await
        .unwrap();
    store.mark_artifacts_for_deletion(&ids[1..]).await.unwrap();
    let stuck_uri = stuck.to_str().unwrap().to_owned();
    let report = store
        .collect_garbage(&|artifact: &Artifact| {
            if artifact.uri.as_deref() == Some(stuck_uri.as_str()) {
                Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "read-only volume",
                ))
            } else {
                millrace_metadata::remove_local_files(artifact)
            }
        })
        .await
        .unwrap();
    assert_eq!(report.deleted, [ids[1]]);
    assert_eq!(report.failed.len(), 1);
    assert!(keep.exists() && !remove.exists() && stuck.exists());
    let states: Vec<ArtifactState> = store
        .get_artifacts(&NodeQuery::all().ids(ids.clone()))
        .await
        .unwrap()
        .iter()
        .map(|artifact| artifact.state)
        .collect();
    assert_eq!(
        states,
        [
            ArtifactState::Live,
            ArtifactState::Deleted,
            ArtifactState::MarkedForDeletion
        ]
    );
}

async fn pruning_keeps_the_newest_runs_and_shared_artifacts(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let type_id = artifact_type(&store).await;
    let pipeline_type = context_type(&store, "pipeline").await;
    let run_type = context_type(&store, "pipeline_run").await;
    let pipeline = store
        .put_contexts(&[Context {
            type_id: pipeline_type,
            name: "taxi".into(),
            ..Context::default()
        }])
        .await
        .unwrap()[0];
    let shared = store
        .put_artifacts(&[examples(type_id, "/shared", 0)])
        .await
        .unwrap()[0];
    let mut runs = Vec::new();
    let mut outputs = Vec::new();
    for index in 0..4 {
        let run = store
            .put_contexts(&[Context {
                type_id: run_type,
                name: format!("run-{index}"),
                ..Context::default()
            }])
            .await
            .unwrap()[0];
        store
            .put_parent_contexts(&[ParentContext {
                child_id: run,
                parent_id: pipeline,
            }])
            .await
            .unwrap();
        let output = store
            .put_artifacts(&[examples(type_id, &format!("/out/{index}"), index)])
            .await
            .unwrap()[0];
        store
            .put_attributions_and_associations(
                &[
                    Attribution {
                        context_id: run,
                        artifact_id: output,
                    },
                    Attribution {
                        context_id: run,
                        artifact_id: shared,
                    },
                ],
                &[],
            )
            .await
            .unwrap();
        runs.push(run);
        outputs.push(output);
        // Distinct creation times, so that "newest" is well defined.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let report = store.prune_runs("taxi", i64::MAX, 2).await.unwrap();
    assert_eq!(report.runs, [runs[1], runs[0]]);
    assert_eq!(report.marked_artifacts, [outputs[0], outputs[1]]);
    let shared_state = store
        .get_artifacts(&NodeQuery::all().ids([shared]))
        .await
        .unwrap()[0]
        .state;
    assert_eq!(
        shared_state,
        ArtifactState::Live,
        "an artifact a kept run uses is kept"
    );
    let missing = store.prune_runs("nope", 0, 1).await;
    assert!(
        matches!(&missing, Err(MetadataError::NotFound { kind: "pipeline", name: Some(name), .. }) if name == "nope"),
        "{missing:?}"
    );
}

async fn put_execution_names_outputs_after_the_new_execution(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let examples_type = artifact_type(&store).await;
    let trainer = execution_type(&store).await;
    let result = store
        .put_execution(&PutExecution {
            execution: Execution {
                type_id: trainer,
                ..Execution::default()
            },
            artifacts: vec![ArtifactAndEvent {
                artifact: examples(examples_type, "/root/trainer/model/{execution_id}", 1),
                event: None,
            }],
            contexts: vec![],
        })
        .await
        .unwrap();
    let stored = store
        .get_artifacts(&NodeQuery::all().ids(result.artifact_ids))
        .await
        .unwrap();
    assert_eq!(
        stored[0].uri.as_deref(),
        Some(format!("/root/trainer/model/{}", result.execution_id).as_str())
    );
}

async fn a_nodes_outputs_come_newest_first_once_each_and_page_by_id(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    let (types, input) = run_types_and_input(&store).await;
    let mut produced = Vec::new();
    for (run, uri, span) in [("run-1", "/out/1", 3), ("run-2", "/out/2", 4)] {
        let mut request = run_request(types, input, run, uri);
        request.artifacts[1]
            .artifact
            .properties
            .insert("span".into(), Value::Int(span));
        let written = store.put_execution(&request).await.unwrap();
        produced.push((written.artifact_ids[1], written.context_ids[1]));
    }
    let [(first, node), (second, _)] = produced[..] else {
        panic!("two executions were written");
    };
    // A third run reuses the first output (as a cached execution does): it is found once.
    let mut reuse = run_request(types, input, "run-3", "/out/1");
    reuse.artifacts[1].artifact.id = Some(first);
    reuse.artifacts[1]
        .artifact
        .properties
        .insert("span".into(), Value::Int(3));
    store.put_execution(&reuse).await.unwrap();
    // Another node reads the second output under the same key: reading is not producing.
    let mut reader = run_request(types, second, "run-3", "/out/3");
    reader.artifacts[0].artifact = Artifact {
        id: Some(second),
        ..examples(types.0, "/out/2", 4)
    };
    reader.artifacts[0].event = Some((
        EventType::Input,
        vec![PathStep::Key("model".into()), PathStep::Index(0)],
    ));
    reader.artifacts.truncate(1);
    reader.contexts[1].name = "taxi.evaluator".into();
    let evaluator = store.put_execution(&reader).await.unwrap().context_ids[1];

    let ids = |artifacts: Vec<Artifact>| -> Vec<i64> {
        artifacts
            .iter()
            .map(|artifact| artifact.id.unwrap())
            .collect()
    };
    let all = store
        .get_output_artifacts(&OutputQuery::new(node, "model"))
        .await
        .unwrap();
    assert_eq!(
        ids(all),
        [second, first],
        "newest first, each once, no input"
    );
    assert!(
        store
            .get_output_artifacts(&OutputQuery::new(node, "examples"))
            .await
            .unwrap()
            .is_empty(),
        "the node only read its examples"
    );
    assert!(
        store
            .get_output_artifacts(&OutputQuery::new(evaluator, "model"))
            .await
            .unwrap()
            .is_empty(),
        "the evaluator read the model, it did not write it"
    );
    let newest = store
        .get_output_artifacts(&OutputQuery::new(node, "model").limit(1))
        .await
        .unwrap();
    assert_eq!(ids(newest), [second]);
    let older = store
        .get_output_artifacts(&OutputQuery::new(node, "model").before(second))
        .await
        .unwrap();
    assert_eq!(ids(older), [first]);
    let spans = store
        .get_output_artifacts(&OutputQuery::new(node, "model").where_property(
            "span",
            Comparison::Le,
            3,
        ))
        .await
        .unwrap();
    assert_eq!(ids(spans), [first]);
    store
        .set_artifact_states(&[second], ArtifactState::Abandoned)
        .await
        .unwrap();
    let live = store
        .get_output_artifacts(&OutputQuery::new(node, "model").states([ArtifactState::Live.code()]))
        .await
        .unwrap();
    assert_eq!(ids(live), [first]);

    let page = store
        .get_artifacts(
            &NodeQuery::all()
                .order_by(OrderBy::Id)
                .descending()
                .before(second)
                .limit(1),
        )
        .await
        .unwrap();
    assert_eq!(ids(page), [first], "keyset paging: the next id below");
}

async fn event_queries_filter_by_type_and_stop_at_the_limit(
    store: Store,
    _dir: &tempfile::TempDir,
) {
    // a0 → e1 → a1 → e2 → a2: a1 is e1's output and e2's input.
    let (artifacts, executions) = chain(&store, 2).await;
    let of_a1 = |query: EventQuery| {
        let store = Arc::clone(&store);
        async move {
            store
                .get_events(&query)
                .await
                .unwrap()
                .iter()
                .map(|event| (event.execution_id, event.event_type))
                .collect::<Vec<_>>()
        }
    };
    let every = of_a1(EventQuery::of_artifacts([artifacts[1]])).await;
    assert_eq!(
        every,
        [
            (executions[0], EventType::Output),
            (executions[1], EventType::Input)
        ],
        "by execution"
    );
    let readers =
        of_a1(EventQuery::of_artifacts([artifacts[1]]).of_types([EventType::Input])).await;
    assert_eq!(readers, [(executions[1], EventType::Input)]);
    let first = of_a1(EventQuery::of_artifacts([artifacts[1]]).limit(1)).await;
    assert_eq!(
        first,
        [(executions[0], EventType::Output)],
        "the producer comes first"
    );
    assert!(
        of_a1(EventQuery::of_artifacts([artifacts[1]]).of_types([]))
            .await
            .is_empty()
    );
}
