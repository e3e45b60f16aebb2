//! Registration by name: what this binary can rebuild from the IR.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use millrace::Registry;

/// The artifact types every Millrace binary knows. A type dropped from registration (for
/// example a component crate no longer linked in) changes this list and fails the test.
#[test]
fn the_standard_artifact_types_are_registered() {
    let names = Registry::global().artifact_type_names();
    let standard = [
        "Dataset",
        "ExampleAnomalies",
        "ExampleStatistics",
        "Examples",
        "HyperParameters",
        "InferenceResult",
        "InfraBlessing",
        "Metrics",
        "Model",
        "ModelBlessing",
        "ModelEvaluation",
        "PushedModel",
        "Schema",
        "TransformGraph",
    ];
    assert_eq!(names, standard);
}

/// The component kinds registered in this test binary: the standard components the facade
/// links in (feature `data`), and the ones `tests/common` declares, by the function macro and
/// by `register_component!`. A standard component dropped from registration fails the test.
#[test]
fn the_registered_component_kinds_are_exactly_the_declared_ones() {
    assert_eq!(
        Registry::global().component_kinds(),
        vec![
            "millrace.BulkInferrer",
            "millrace.CsvExampleGen",
            "millrace.Evaluator",
            "millrace.ExampleValidator",
            "millrace.ImportExampleGen",
            "millrace.InfraValidator",
            "millrace.Pusher",
            "millrace.PythonTrainer",
            "millrace.Registrar",
            "millrace.SchemaGen",
            "millrace.StatisticsGen",
            "millrace.Trainer",
            "millrace.Transform",
            "millrace.Tuner",
            "test.Combine",
            "test.Echo",
            "test.Evaluator",
            "test.ExampleGen",
            "test.Notify",
            "test.Pusher",
            "test.SchemaGen",
            "test.Source",
            "test.StatisticsGen",
            "test.Trainer",
        ]
    );
    assert!(Registry::global().conflicts().is_empty());
}

#[test]
fn an_explicit_registry_rebuilds_a_component_from_its_config() {
    let mut registry = Registry::empty();
    registry.register::<common::Pusher>();
    assert_eq!(registry.component_kinds(), vec!["test.Pusher"]);
    // Registering a component registers the artifact types of its interface.
    assert_eq!(
        registry.artifact_type_names(),
        vec!["Model", "ModelBlessing", "PushedModel"]
    );
    let registration = registry.component("test.Pusher").unwrap();
    let component = registration
        .instantiate(serde_json::json!({"destination": "/srv"}))
        .unwrap();
    assert_eq!(component.kind(), "test.Pusher");
    let Err(error) = registration.instantiate(serde_json::json!({"destination": 3})) else {
        panic!("a number is not a destination");
    };
    assert!(error.contains("invalid type"), "{error}");
}

#[test]
fn two_different_components_under_one_kind_are_a_reported_conflict() {
    let mut registry = Registry::empty();
    registry.register::<common::Pusher>();
    registry.add_component(millrace::ComponentRegistration::of::<Impostor>());
    assert!(registry.conflict("test.Pusher").is_some());

    let pipeline = common::full_pipeline(0.1).unwrap();
    let mut conflicted = registry.clone();
    conflicted.merge(pipeline.registry());
    let error = millrace::Pipeline::from_spec_with_registry(pipeline.spec().clone(), &conflicted)
        .unwrap_err();
    assert!(
        error
            .issues()
            .iter()
            .any(|issue| matches!(issue.problem, millrace::Problem::RegistryConflict(_)))
    );
}

/// Claims the kind of `test.Pusher` with another interface.
#[derive(serde::Serialize, serde::Deserialize)]
struct Impostor;

impl millrace::Component for Impostor {
    const KIND: &'static str = "test.Pusher";
    type Inputs = ();
    type Outputs = ();
    fn execution(&self) -> millrace::Executor<'_> {
        millrace::Executor::Command(millrace::CommandSpec::new(["true"]))
    }
}
