//! Validation of specs read from JSON: every problem at once, with node ids, and no panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use millrace::prelude::*;
use millrace::{Error, Problem, ValidationIssue};
use proptest::prelude::*;
use serde_json::{Value, json};

fn issues_of(spec: Value) -> Vec<ValidationIssue> {
    let spec: PipelineSpec = serde_json::from_value(spec).unwrap();
    match Pipeline::from_spec(spec) {
        Ok(_) => Vec::new(),
        Err(error) => error.issues().to_vec(),
    }
}

#[allow(clippy::needless_pass_by_value)] // Reads as a JSON literal at the call sites.
fn component(id: &str, kind: &str, config: Value, inputs: Value, outputs: Value) -> Value {
    json!({
        "id": id,
        "task": {"type": "component", "kind": kind, "version": 1, "config": config},
        "inputs": inputs,
        "outputs": outputs,
    })
}

fn channel(artifact_type: &str, node: &str, output: &str) -> Value {
    json!({"artifact_type": artifact_type, "channel": {"node": node, "output": output}})
}

fn output(artifact_type: &str) -> Value {
    json!({"artifact_type": artifact_type})
}

/// A spec with one fault of every kind, each in its own node.
fn faulty_spec() -> Value {
    let examples = json!({"examples": output("Examples")});
    let span_of = |node: &str| {
        json!({"op": "compare",
               "left": {"operand": "artifact_property", "channel": {"node": node, "output": "examples"}, "property": "span"},
               "comparison": "gt",
               "right": {"operand": "literal", "value": 0}})
    };
    let mut loop_a = component(
        "loop_a",
        "test.ExampleGen",
        json!({"pattern": "a"}),
        json!({}),
        examples.clone(),
    );
    loop_a["options"] = json!({"when": span_of("loop_b")});
    let mut loop_b = component(
        "loop_b",
        "test.ExampleGen",
        json!({"pattern": "b"}),
        json!({}),
        examples.clone(),
    );
    loop_b["options"] = json!({"when": span_of("loop_a")});
    let mut greedy = component(
        "greedy",
        "test.ExampleGen",
        json!({"pattern": "g"}),
        json!({}),
        examples.clone(),
    );
    greedy["options"] = json!({"resources": {"cpu": "lots"}, "retry": {"multiplier": 0.5}});

    json!({
        "schema_version": "millrace.pipeline/v1",
        "name": "faulty",
        "parameters": [
            {"name": "epochs", "type": "int", "default": "three"},
            {"name": "rate", "type": "double", "default": 0.1}
        ],
        "nodes": [
            component("ingest", "test.ExampleGen", json!({"pattern": "*.csv"}), json!({}), examples.clone()),
            component("1bad", "test.ExampleGen", json!({"pattern": "x"}), json!({}), examples.clone()),
            component("dup", "test.ExampleGen", json!({"pattern": "x"}), json!({}), examples.clone()),
            component("dup", "test.ExampleGen", json!({"pattern": "y"}), json!({}), examples.clone()),
            component("mystery", "test.Nope", json!({}), json!({}), json!({})),
            component("bogus_output", "test.ExampleGen", json!({"pattern": "x"}), json!({}), json!({"examples": output("Bogus")})),
            component("dangling", "test.StatisticsGen", json!({}),
                json!({"examples": channel("Examples", "ghost", "examples")}),
                json!({"statistics": output("ExampleStatistics")})),
            component("no_inputs", "test.SchemaGen", json!({}), json!({}), json!({"schema": output("Schema")})),
            component("trainer", "test.Trainer",
                json!({"learning_rate": "fast", "epochs": {"$param": "epochs"}}),
                json!({"examples": channel("Examples", "ingest", "examples"),
                       "schema": channel("Schema", "ingest", "examples")}),
                json!({"model": output("Model")})),
            component("unknown_param", "test.ExampleGen", json!({"pattern": {"$param": "nope"}}), json!({}), examples),
            component("echo", "test.Echo", json!({"text": "{{parameters.missing}}"}), json!({}), json!({})),
            loop_a,
            loop_b,
            greedy
        ],
        "exit_handler": "nobody",
        "schedule": {"cron": "0 25 * * *"}
    })
}

fn has(issues: &[ValidationIssue], node: Option<&str>, matches: impl Fn(&Problem) -> bool) -> bool {
    issues
        .iter()
        .any(|issue| issue.node.as_deref() == node && matches(&issue.problem))
}

#[test]
fn a_spec_with_many_faults_reports_every_one_with_its_node() {
    let issues = issues_of(faulty_spec());
    type Expectation = (
        &'static str,
        Option<&'static str>,
        Box<dyn Fn(&Problem) -> bool>,
    );
    let expectations: Vec<Expectation> = vec![
        (
            "invalid id",
            Some("1bad"),
            Box::new(|p| matches!(p, Problem::InvalidNodeId(_))),
        ),
        (
            "duplicate id",
            Some("dup"),
            Box::new(|p| matches!(p, Problem::DuplicateNodeId(_))),
        ),
        (
            "unknown kind",
            Some("mystery"),
            Box::new(|p| matches!(p, Problem::UnknownComponentKind(k) if k == "test.Nope")),
        ),
        (
            "unknown artifact type",
            Some("bogus_output"),
            Box::new(|p| matches!(p, Problem::UnknownArtifactType(t) if t.contains("Bogus"))),
        ),
        (
            "dangling reference",
            Some("dangling"),
            Box::new(|p| matches!(p, Problem::DanglingReference { .. })),
        ),
        (
            "missing required input",
            Some("no_inputs"),
            Box::new(
                |p| matches!(p, Problem::MissingRequiredInput { input, .. } if input == "statistics"),
            ),
        ),
        (
            "type mismatch on an edge",
            Some("trainer"),
            Box::new(
                |p| matches!(p, Problem::TypeMismatch { input, found, .. } if input == "schema" && found == "Examples"),
            ),
        ),
        (
            "bad config value",
            Some("trainer"),
            Box::new(|p| matches!(p, Problem::InvalidConfig(why) if why.contains("fast"))),
        ),
        (
            "bad parameter default",
            None,
            Box::new(
                |p| matches!(p, Problem::BadParameterDefault { name, .. } if name == "epochs"),
            ),
        ),
        (
            "unknown parameter",
            Some("unknown_param"),
            Box::new(|p| matches!(p, Problem::UnknownParameter { name, .. } if name == "nope")),
        ),
        (
            "bad placeholder",
            Some("echo"),
            Box::new(|p| matches!(p, Problem::InvalidPlaceholder(why) if why.contains("missing"))),
        ),
        (
            "cycle",
            Some("loop_a"),
            Box::new(|p| matches!(p, Problem::Cycle(ids) if ids == &["loop_a", "loop_b"])),
        ),
        (
            "bad resources",
            Some("greedy"),
            Box::new(|p| matches!(p, Problem::InvalidOption(why) if why.contains("lots"))),
        ),
        (
            "bad retry",
            Some("greedy"),
            Box::new(|p| matches!(p, Problem::InvalidOption(why) if why.contains("multiplier"))),
        ),
        (
            "bad exit handler",
            None,
            Box::new(|p| matches!(p, Problem::InvalidExitHandler(_))),
        ),
        (
            "bad schedule",
            None,
            Box::new(|p| matches!(p, Problem::InvalidSchedule(why) if why.contains("hour"))),
        ),
    ];
    let missing: Vec<&str> = expectations
        .iter()
        .filter(|(_, node, matches)| !has(&issues, *node, matches))
        .map(|(name, _, _)| *name)
        .collect();
    assert!(
        missing.is_empty(),
        "not reported: {missing:?}\nreported:\n{issues:#?}"
    );
}

#[test]
fn the_error_message_lists_every_problem_with_node_ids() {
    let spec: PipelineSpec = serde_json::from_value(faulty_spec()).unwrap();
    let error = Pipeline::from_spec(spec).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("pipeline `faulty` is invalid ("),
        "{message}"
    );
    for issue in error.issues() {
        assert!(
            message.contains(&issue.to_string()),
            "{issue} missing from\n{message}"
        );
    }
    assert!(message.contains(
        "node `trainer`: input `schema` expects Schema, but `ingest.examples` is Examples"
    ));
    assert!(message.contains("node `mystery`: unknown component kind `test.Nope`"));
}

#[test]
fn a_malformed_spec_names_line_and_column() {
    let error = PipelineSpec::from_json("{\n  \"name\": \"x\",\n  \"nodes\": [}\n").unwrap_err();
    let Error::SpecJson { line, column, .. } = error else {
        panic!("expected a JSON error, got {error}");
    };
    assert_eq!((line, column), (3, 13));
    let unknown_field = PipelineSpec::from_json(
        r#"{"schema_version": "millrace.pipeline/v1", "name": "x", "nodes": [], "colour": 1}"#,
    )
    .unwrap_err();
    assert!(
        unknown_field.to_string().contains("colour"),
        "{unknown_field}"
    );
}

#[test]
fn a_newer_schema_version_is_refused() {
    let issues =
        issues_of(json!({"schema_version": "millrace.pipeline/v9", "name": "x", "nodes": []}));
    assert!(has(&issues, None, |p| matches!(
        p,
        Problem::UnsupportedSchemaVersion { .. }
    )));
}

#[test]
fn an_explicit_registry_without_the_component_reports_it_unknown() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let empty = millrace::Registry::empty();
    let error = Pipeline::from_spec_with_registry(pipeline.spec().clone(), &empty).unwrap_err();
    assert!(has(error.issues(), Some("trainer"), |p| matches!(
        p,
        Problem::UnknownComponentKind(_)
    )));
    let mut registry = millrace::Registry::empty();
    registry.merge(pipeline.registry());
    assert!(Pipeline::from_spec_with_registry(pipeline.spec().clone(), &registry).is_ok());
}

#[test]
fn a_condition_on_an_undeclared_property_is_rejected_but_a_custom_one_is_allowed() {
    let mut p = Pipeline::builder("conditions");
    let ingest = p.add("ingest", common::ExampleGen::new("x"));
    p.add(
        "stats",
        common::StatisticsGen::new(ingest.examples)
            .when(ingest.examples.property("colour").eq("red")),
    );
    let error = p.build().unwrap_err();
    assert!(has(
        error.issues(),
        Some("stats"),
        |p| matches!(p, Problem::InvalidCondition(why) if why.contains("colour"))
    ));

    let mut p = Pipeline::builder("conditions");
    let ingest = p.add("ingest", common::ExampleGen::new("x"));
    p.add(
        "stats",
        common::StatisticsGen::new(ingest.examples)
            .when(ingest.examples.custom_property("colour").eq("red")),
    );
    assert!(p.build().is_ok());
}

#[test]
fn a_channel_from_another_builder_is_reported() {
    let mut first = Pipeline::builder("first");
    let foreign = first.add("ingest", common::ExampleGen::new("x"));
    let mut second = Pipeline::builder("second");
    second.add("stats", common::StatisticsGen::new(foreign.examples));
    let error = second.build().unwrap_err();
    assert!(has(error.issues(), Some("stats"), |p| matches!(
        p,
        Problem::ForeignChannel { .. }
    )));
}

#[test]
fn typed_api_problems_are_all_reported_at_build() {
    let mut p = Pipeline::builder("bad name!");
    let a = p.add("ingest", common::ExampleGen::new("x"));
    p.add("ingest", common::StatisticsGen::new(a.examples));
    p.add(
        "slow",
        common::Notify::new("x").timeout(std::time::Duration::ZERO),
    );
    let error = p.build().unwrap_err();
    let issues = error.issues();
    assert!(has(issues, None, |p| matches!(
        p,
        Problem::InvalidPipelineName(_)
    )));
    assert!(has(issues, Some("ingest"), |p| matches!(
        p,
        Problem::DuplicateNodeId(_)
    )));
    assert!(has(issues, Some("slow"), |p| matches!(
        p,
        Problem::InvalidOption(_)
    )));
}

// ---- Random DAGs and random edits -------------------------------------------------------

/// A random valid DAG of `test.Source` and `test.Combine` nodes: node i reads only earlier
/// nodes, so the spec is acyclic.
fn random_dag(choices: &[(bool, usize, Option<usize>)]) -> Value {
    let mut nodes = Vec::new();
    for (index, (is_source, left, right)) in choices.iter().enumerate() {
        let id = format!("n{index}");
        let out = json!({"out": output("Dataset")});
        if index == 0 || *is_source {
            nodes.push(component(&id, "test.Source", json!({}), json!({}), out));
        } else {
            let mut inputs = serde_json::Map::new();
            inputs.insert(
                "left".into(),
                channel("Dataset", &format!("n{}", left % index), "out"),
            );
            if let Some(right) = right {
                inputs.insert(
                    "right".into(),
                    channel("Dataset", &format!("n{}", right % index), "out"),
                );
            }
            nodes.push(component(
                &id,
                "test.Combine",
                json!({}),
                Value::Object(inputs),
                out,
            ));
        }
    }
    json!({"schema_version": "millrace.pipeline/v1", "name": "random", "nodes": nodes})
}

fn dag_strategy() -> impl Strategy<Value = Vec<(bool, usize, Option<usize>)>> {
    prop::collection::vec(
        (any::<bool>(), 0usize..1000, prop::option::of(0usize..1000)),
        1..40,
    )
}

/// An edit of a JSON tree: walk to a node by indices, then replace, remove or duplicate it.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Duplicate(Vec<usize>),
}

fn leaf_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        "[a-z0-9_.{}$ -]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "n0",
            "n1",
            "out",
            "left",
            "Dataset",
            "Model",
            "test.Combine",
            "{{parameters.x}}",
            "$param"
        ])
        .prop_map(Value::from),
        Just(json!({"$param": "ghost"})),
        Just(json!({"node": "n0", "output": "out"})),
    ]
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let path = prop::collection::vec(0usize..64, 0..7);
    prop_oneof![
        (path.clone(), leaf_strategy()).prop_map(|(path, value)| Edit::Replace(path, value)),
        path.clone().prop_map(Edit::Remove),
        path.prop_map(Edit::Duplicate),
    ]
}

fn apply(value: &mut Value, edit: &Edit) {
    let (path, action) = match edit {
        Edit::Replace(path, _) | Edit::Remove(path) | Edit::Duplicate(path) => (path, edit),
    };
    let mut target = value;
    for (depth, step) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let child_key = match &*target {
            Value::Object(map) if !map.is_empty() => {
                map.keys().nth(step % map.len()).cloned().map(Ok)
            }
            Value::Array(items) if !items.is_empty() => Some(Err(step % items.len())),
            _ => None,
        };
        let Some(key) = child_key else { break };
        if last {
            match (action, target, key) {
                (Edit::Replace(_, new), Value::Object(map), Ok(key)) => {
                    map.insert(key, new.clone());
                }
                (Edit::Replace(_, new), Value::Array(items), Err(i)) => items[i] = new.clone(),
                (Edit::Remove(_), Value::Object(map), Ok(key)) => {
                    map.remove(&key);
                }
                (Edit::Remove(_), Value::Array(items), Err(i)) => {
                    items.remove(i);
                }
                (Edit::Duplicate(_), Value::Array(items), Err(i)) => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                (Edit::Duplicate(_), Value::Object(map), Ok(key)) => {
                    let copy = map[&key].clone();
                    map.insert(format!("{key}_copy"), copy);
                }
                _ => {}
            }
            return;
        }
        target = match (target, key) {
            (Value::Object(map), Ok(key)) => match map.get_mut(&key) {
                Some(child) => child,
                None => return,
            },
            (Value::Array(items), Err(i)) => &mut items[i],
            _ => return,
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_dags_validate_in_topological_order(choices in dag_strategy()) {
        let spec: PipelineSpec = serde_json::from_value(random_dag(&choices)).unwrap();
        let pipeline = Pipeline::from_spec(spec).unwrap();
        let order: Vec<&str> = pipeline.nodes_in_order().map(|node| node.id.as_str()).collect();
        prop_assert_eq!(order.len(), choices.len());
        for node in pipeline.spec().nodes.iter() {
            for upstream in node.upstream_node_ids() {
                let position = |id: &str| order.iter().position(|other| *other == id);
                prop_assert!(position(upstream) < position(&node.id));
            }
        }
    }

    #[test]
    fn a_back_edge_is_reported_as_a_cycle_exactly_when_it_closes_one(choices in dag_strategy()) {
        prop_assume!(choices.len() >= 2);
        let last = choices.len() - 1;
        // Does the last node depend, transitively, on node 0?
        let dependencies = |index: usize| -> Vec<usize> {
            let (is_source, left, right) = choices[index];
            if index == 0 || is_source {
                Vec::new()
            } else {
                std::iter::once(left % index).chain(right.map(|right| right % index)).collect()
            }
        };
        let mut stack = vec![last];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(index) = stack.pop() {
            if seen.insert(index) {
                stack.extend(dependencies(index));
            }
        }
        let closes_cycle = seen.contains(&0);

        // Make node 0 read the last node.
        let mut spec = random_dag(&choices);
        spec["nodes"][0] = component("n0", "test.Combine", json!({}),
            json!({"left": channel("Dataset", &format!("n{last}"), "out")}),
            json!({"out": output("Dataset")}));
        let issues = issues_of(spec);
        if closes_cycle {
            prop_assert_eq!(issues.len(), 1, "{:?}", issues);
            let Problem::Cycle(ids) = &issues[0].problem else {
                panic!("expected a cycle, got {issues:?}");
            };
            prop_assert!(ids.contains(&"n0".to_owned()));
            let last_id = format!("n{last}");
            prop_assert!(ids.contains(&last_id));
        } else {
            prop_assert!(issues.is_empty(), "{:?}", issues);
        }
    }

    #[test]
    fn no_edit_makes_validation_panic(choices in dag_strategy(), edits in prop::collection::vec(edit_strategy(), 1..8)) {
        let mut spec = random_dag(&choices);
        for edit in &edits {
            apply(&mut spec, edit);
        }
        let text = spec.to_string();
        if let Ok(pipeline) = Pipeline::from_json(&text) {
            // Whatever validates also round-trips.
            let again = Pipeline::from_json(&pipeline.to_json()).unwrap();
            prop_assert_eq!(again.fingerprint(), pipeline.fingerprint());
        }
    }
}

/// Prints a report of a data set and, optionally, of a second one: a command component.
#[derive(serde::Serialize, serde::Deserialize)]
struct Report;

#[derive(millrace::Inputs)]
struct ReportInputs {
    main: Channel<Dataset>,
    extra: Option<Channel<Dataset>>,
}

impl millrace::Component for Report {
    const KIND: &'static str = "test.Report";
    type Inputs = ReportInputs;
    type Outputs = ();
    fn execution(&self) -> millrace::Executor<'_> {
        millrace::Executor::Command(CommandSpec::new([
            "report",
            "{{inputs.main.uri}}",
            "{{inputs.extra.uri}}",
        ]))
    }
}

#[test]
fn a_placeholder_of_an_unconnected_optional_input_is_reported_per_node() {
    let mut p = Pipeline::builder("reports");
    let data = p.add("data", common::Source::new());
    p.add(
        "with_extra",
        Report.with_inputs(ReportInputs {
            main: data.out,
            extra: Some(data.out),
        }),
    );
    p.add(
        "without_extra",
        Report.with_inputs(ReportInputs {
            main: data.out,
            extra: None,
        }),
    );
    let error = p.build().unwrap_err();
    assert_eq!(error.issues().len(), 1, "{error}");
    assert!(has(error.issues(), Some("without_extra"), |p| matches!(
        p,
        Problem::InvalidPlaceholder(why) if why.contains("input `extra` is not connected")
    )));
}
