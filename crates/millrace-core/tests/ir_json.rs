//! The IR's JSON is written by hand (for speed), and must be byte for byte what `serde_json`
//! writes for the same spec — compact (the canonical form the fingerprint hashes) and indented
//! (what `compile --target ir` writes) — for any spec at all, valid or not: odd strings that
//! need escaping, numbers of every kind, nested configurations, every kind of task, options and
//! conditions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly.

use millrace_core::Fingerprint;
use millrace_core::spec::{
    ChannelRef, Comparison, ConditionExpr, ConditionSpec, DataTrigger, InputSpec, NodeOptions,
    NodeSpec, Operand, OutputSpec, ParameterSpec, ParameterType, PipelineSpec, ResolverStrategy,
    Resources, RetryPolicy, ScheduleSpec, TaskSpec, TriggerRule,
};
use proptest::prelude::*;
use serde_json::Value;

/// Text of every kind: plain names, quotes, backslashes, control characters, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,12}",
        "[a-zA-Z0-9 \"\\\\/{}\\[\\]:,\u{0}-\u{1f}\u{7f}é✓🟠]{0,24}",
        "\\PC{0,16}",
    ]
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![0.0, -0.0, 1e-7, 1.5e300, 0.1, -2.5]).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn channel() -> impl Strategy<Value = ChannelRef> {
    (text(), text()).prop_map(|(node, output)| ChannelRef { node, output })
}

fn task() -> impl Strategy<Value = TaskSpec> {
    let strategy = prop_oneof![
        Just(ResolverStrategy::LatestArtifact),
        Just(ResolverStrategy::LatestBlessedModel),
        (
            any::<Option<i64>>(),
            any::<Option<i64>>(),
            any::<Option<u32>>()
        )
            .prop_map(|(min_span, max_span, latest_spans)| {
                ResolverStrategy::SpanRange {
                    min_span,
                    max_span,
                    latest_spans,
                }
            }),
        (text(), text()).prop_map(|(model, alias)| ResolverStrategy::ModelAlias { model, alias }),
    ];
    prop_oneof![
        3 => (text(), any::<u32>(), json())
            .prop_map(|(kind, version, config)| TaskSpec::Component { kind, version, config }),
        1 => strategy.prop_map(|strategy| TaskSpec::Resolver { strategy }),
        1 => (
            text(),
            any::<bool>(),
            prop::collection::btree_map(text(), json(), 0..3),
            prop::collection::btree_map(text(), json(), 0..3),
        )
            .prop_map(|(source_uri, reimport, properties, custom_properties)| {
                TaskSpec::Importer { source_uri, reimport, properties, custom_properties }
            }),
    ]
}

fn condition() -> impl Strategy<Value = ConditionSpec> {
    let operand = prop_oneof![
        (channel(), text(), any::<bool>()).prop_map(|(channel, property, custom)| {
            Operand::ArtifactProperty {
                channel,
                property,
                custom,
            }
        }),
        text().prop_map(|name| Operand::Parameter { name }),
        json().prop_map(|value| Operand::Literal { value }),
    ];
    let compare = (operand.clone(), operand).prop_map(|(left, right)| ConditionExpr::Compare {
        left,
        comparison: Comparison::Ge,
        right,
    });
    compare.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|conditions| ConditionExpr::All { conditions }),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|conditions| ConditionExpr::Any { conditions }),
            inner.prop_map(|condition| ConditionExpr::Not {
                condition: Box::new(condition)
            }),
        ]
    })
}

fn options() -> impl Strategy<Value = NodeOptions> {
    prop_oneof![
        3 => Just(NodeOptions::default()),
        1 => (
            any::<u32>(),
            any::<Option<u64>>(),
            any::<bool>(),
            prop::option::of(text()),
            prop::option::of(condition()),
            any::<Option<u32>>(),
        )
            .prop_map(|(retries, timeout_ms, cache, image, when, shards)| NodeOptions {
                retry: RetryPolicy::retries(retries),
                timeout_ms,
                cache,
                resources: Resources {
                    cpu: image.clone(),
                    memory: None,
                    gpu: shards,
                },
                image,
                trigger_rule: if cache { TriggerRule::AllDone } else { TriggerRule::default() },
                when,
                pool: None,
                shards,
            }),
    ]
}

fn node() -> impl Strategy<Value = NodeSpec> {
    (
        text(),
        task(),
        prop::collection::btree_map(
            text(),
            (text(), channel()).prop_map(|(artifact_type, channel)| InputSpec {
                artifact_type,
                channel,
            }),
            0..3,
        ),
        prop::collection::btree_map(
            text(),
            text().prop_map(|artifact_type| OutputSpec { artifact_type }),
            0..3,
        ),
        options(),
    )
        .prop_map(|(id, task, inputs, outputs, options)| NodeSpec {
            id,
            task,
            inputs,
            outputs,
            options,
        })
}

fn spec() -> impl Strategy<Value = PipelineSpec> {
    (
        (text(), prop::option::of(text()), prop::option::of(text())),
        prop::collection::vec(text(), 0..3),
        prop::collection::vec(
            (text(), prop::option::of(json()), prop::option::of(text())).prop_map(
                |(name, default, description)| ParameterSpec {
                    name,
                    parameter_type: ParameterType::Struct,
                    default,
                    description,
                },
            ),
            0..3,
        ),
        prop::collection::vec(node(), 0..6),
        prop::option::of(text()),
        prop::option::of((text(), any::<bool>(), any::<Option<u32>>()).prop_map(
            |(cron, catchup, max_active_runs)| ScheduleSpec {
                cron,
                start_date: None,
                catchup,
                max_active_runs,
                timezone: Some("UTC".to_owned()),
            },
        )),
        prop::collection::vec(
            (text(), any::<u32>())
                .prop_map(|(node, seconds)| DataTrigger::on(node).debounce_seconds(seconds)),
            0..2,
        ),
    )
        .prop_map(
            |(
                (name, description, root),
                tags,
                parameters,
                nodes,
                exit_handler,
                schedule,
                data_triggers,
            )| {
                let mut spec = PipelineSpec::new(name);
                spec.description = description;
                spec.root = root;
                spec.tags = tags;
                spec.parameters = parameters;
                spec.nodes = nodes;
                spec.exit_handler = exit_handler;
                spec.schedule = schedule;
                spec.data_triggers = data_triggers;
                spec
            },
        )
}

proptest! {
    // PROPTEST_CASES, when set, runs longer (or shorter).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(400)
    ))]

    #[test]
    fn the_canonical_json_is_serde_jsons_compact_text(spec in spec()) {
        prop_assert_eq!(spec.canonical_json(), serde_json::to_string(&spec).unwrap());
    }

    #[test]
    fn the_indented_json_is_serde_jsons_pretty_text(spec in spec()) {
        prop_assert_eq!(spec.to_json(), serde_json::to_string_pretty(&spec).unwrap());
    }

    #[test]
    fn the_fingerprint_hashes_serde_jsons_compact_text(spec in spec()) {
        prop_assert_eq!(spec.fingerprint(), Fingerprint::of_serialize(&spec));
    }
}

#[test]
fn an_empty_spec_is_written_as_serde_json_writes_it() {
    let spec = PipelineSpec::new("empty");
    assert_eq!(spec.canonical_json(), serde_json::to_string(&spec).unwrap());
    assert_eq!(spec.to_json(), serde_json::to_string_pretty(&spec).unwrap());
    assert_eq!(spec.fingerprint(), Fingerprint::of_serialize(&spec));
}
