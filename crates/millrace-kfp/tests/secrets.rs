//! The compiled pipeline holds no secret: a store or root with a credential is refused, and the
//! error does not repeat it; without one, the URL is written as it is.

#![allow(clippy::unwrap_used, clippy::panic)] // Tests fail loudly.

use millrace_core::prelude::*;
use millrace_kfp::{KfpError, KfpOptions, compile_pipeline_spec};

fn pipeline() -> Pipeline {
    let mut builder = Pipeline::builder("secretive");
    builder.import("schema", Importer::<Schema>::new("data/schema.json"));
    builder.build().unwrap()
}

fn options() -> KfpOptions {
    KfpOptions::new("/usr/local/bin/secretive").image("registry.example/secretive:1")
}

#[test]
fn a_store_with_a_password_is_refused_without_repeating_it() {
    let error = compile_pipeline_spec(
        &pipeline(),
        &options().store("postgresql://user:s3cret@host/db"),
    )
    .err()
    .unwrap();

    assert!(matches!(
        error,
        KfpError::SecretInOption {
            variable: "MILLRACE_STORE",
            ..
        }
    ));
    let message = error.to_string();
    assert!(!message.contains("s3cret"), "{message}");
    assert!(
        message.contains("postgresql://user:***@host/db"),
        "{message}"
    );
}

#[test]
fn a_root_with_a_credential_is_refused() {
    let error = compile_pipeline_spec(&pipeline(), &options().root("s3://AKIA:s3cret@b/root"))
        .err()
        .unwrap();

    assert!(!error.to_string().contains("s3cret"), "{error}");
}

#[test]
fn a_store_without_a_password_is_written_as_it_is() {
    let yaml = compile_pipeline_spec(&pipeline(), &options().store("postgres://mlmd@db/mlmd"))
        .unwrap()
        .to_yaml()
        .unwrap();

    assert!(yaml.contains("value: postgres://mlmd@db/mlmd"), "{yaml}");
}
