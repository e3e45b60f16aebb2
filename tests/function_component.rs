//! Components execute in process as the runner will run them: with an `ExecutionContext`
//! holding resolved inputs, allocated outputs and substituted parameters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::collections::BTreeMap;

use millrace::prelude::*;
use millrace::{ArtifactInstance, Executor, Placeholder};

/// The default parameter values, with the one required parameter set.
fn parameters_of(pipeline: &Pipeline) -> BTreeMap<String, serde_json::Value> {
    let overrides = BTreeMap::from([("destination".to_owned(), "/srv".to_owned())]);
    pipeline.parameter_values(&overrides).unwrap()
}

async fn execute(
    pipeline: &Pipeline,
    node: &str,
    parameters: &BTreeMap<String, serde_json::Value>,
    context: &mut ExecutionContext,
) -> Result<(), ComponentError> {
    let component = pipeline.instantiate(node, parameters).unwrap();
    match component.execution() {
        Executor::InProcess(executor) => executor.execute(context).await,
        Executor::Command(command) => panic!("{node} is a command: {command:?}"),
    }
}

#[tokio::test]
async fn a_function_component_receives_its_parameters_and_records_properties() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = common::full_pipeline(0.1).unwrap();
    let mut parameters = parameters_of(&pipeline);
    parameters.insert("learning_rate".into(), 0.5.into());

    let mut context = ExecutionContext::new("chicago-taxi", "run-1", "example_gen");
    context.add_output("examples", ArtifactInstance::new("Examples", dir.path()));
    execute(&pipeline, "example_gen", &parameters, &mut context)
        .await
        .unwrap();

    assert_eq!(
        std::fs::read_to_string(dir.path().join("pattern.txt")).unwrap(),
        "data/taxi/*.csv"
    );
    let outputs = context.output_artifacts();
    assert_eq!(outputs["examples"].properties["span"], 1);
}

#[tokio::test]
async fn a_missing_input_is_an_error_naming_node_and_input() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let parameters = parameters_of(&pipeline);
    let mut context = ExecutionContext::new("chicago-taxi", "run-1", "statistics_gen");
    let error = execute(&pipeline, "statistics_gen", &parameters, &mut context)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "node `statistics_gen`: input `examples` has no artifact"
    );
}

#[test]
fn runtime_parameters_are_substituted_into_configurations() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let overrides = BTreeMap::from([
        ("destination".to_owned(), "/srv".to_owned()),
        ("epochs".to_owned(), "7".to_owned()),
    ]);
    let parameters = pipeline.parameter_values(&overrides).unwrap();
    assert_eq!(parameters["epochs"], 7);
    assert_eq!(parameters["learning_rate"], 0.1);
    assert!(pipeline.instantiate("trainer", &parameters).is_ok());

    let missing = pipeline.parameter_values(&BTreeMap::new()).unwrap_err();
    assert!(missing.to_string().contains("destination"), "{missing}");
    let wrong_type = pipeline
        .parameter_values(&BTreeMap::from([
            ("destination".to_owned(), "/srv".to_owned()),
            ("epochs".to_owned(), "many".to_owned()),
        ]))
        .unwrap_err();
    assert!(wrong_type.to_string().contains("epochs"), "{wrong_type}");
    let unknown = pipeline
        .parameter_values(&BTreeMap::from([("colour".to_owned(), "red".to_owned())]))
        .unwrap_err();
    assert!(unknown.to_string().contains("colour"), "{unknown}");
}

#[test]
fn a_command_component_expands_its_placeholders() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let parameters = parameters_of(&pipeline);
    let component = pipeline.instantiate("pusher", &parameters).unwrap();
    let Executor::Command(command) = component.execution() else {
        panic!("the pusher is a command component");
    };
    let expanded = command
        .expand(|placeholder| match placeholder {
            Placeholder::InputUri(name) => Some(format!("/root/{name}")),
            Placeholder::OutputUri(name) => Some(format!("/out/{name}")),
            Placeholder::RunId => Some("run-7".into()),
            _ => None,
        })
        .unwrap();
    assert_eq!(expanded.command, ["cp", "-r", "/root/model"]);
    assert_eq!(expanded.args, ["serving/taxi", "/out/pushed"]);
    assert_eq!(expanded.env["RUN_ID"], "run-7");
}

#[test]
fn conditions_evaluate_against_artifact_properties() {
    let pipeline = common::full_pipeline(0.1).unwrap();
    let condition = pipeline
        .node("pusher")
        .unwrap()
        .options
        .when
        .clone()
        .unwrap();
    let blessed = |value: bool| {
        condition.evaluate(&mut |operand| match operand {
            millrace::condition::Operand::ArtifactProperty {
                channel, property, ..
            } if channel.node == "evaluator" && property == "blessed" => Some(value.into()),
            _ => None,
        })
    };
    assert_eq!(blessed(true), Ok(true));
    assert_eq!(blessed(false), Ok(false));
}
