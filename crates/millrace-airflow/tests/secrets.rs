//! The DAG file holds no secret: exported with the store `postgresql://user:s3cret@host/db`,
//! not one byte of the password is written — the tasks read the URL from an Airflow connection
//! — and a root with a credential is refused without repeating it.

#![allow(clippy::unwrap_used, clippy::panic)] // Tests fail loudly.

use millrace_airflow::{AirflowError, AirflowOptions, STORE_CONNECTION, export_dag};
use millrace_core::prelude::*;

fn pipeline() -> Pipeline {
    let mut builder = Pipeline::builder("secretive");
    builder.import("schema", Importer::<Schema>::new("data/schema.json"));
    builder.build().unwrap()
}

fn options(store: &str, root: &str) -> AirflowOptions {
    AirflowOptions {
        binary: "/opt/bin/secretive".into(),
        store: Some(store.into()),
        root: Some(root.into()),
    }
}

#[test]
fn a_store_password_is_read_from_a_connection_and_never_written() {
    let dag = export_dag(
        &pipeline(),
        &options("postgresql://user:s3cret@host/db", "/srv/artifacts"),
    )
    .unwrap();

    assert!(!dag.contains("s3cret"), "{dag}");
    assert!(
        dag.contains(&format!(
            "\"MILLRACE_STORE\": \"{{{{ conn.{STORE_CONNECTION}.get_uri() }}}}\""
        )),
        "{dag}"
    );
    assert!(dag.contains("postgresql://user:***@host/db"), "{dag}");
}

#[test]
fn a_store_without_a_password_is_written_as_it_is() {
    let dag = export_dag(
        &pipeline(),
        &options("postgres://mlmd@db:5432/mlmd", "/srv/artifacts"),
    )
    .unwrap();

    assert!(
        dag.contains("\"MILLRACE_STORE\": literal(\"postgres://mlmd@db:5432/mlmd\")"),
        "{dag}"
    );
    assert!(!dag.contains("conn."), "{dag}");
}

#[test]
fn a_root_with_a_credential_is_refused_without_repeating_it() {
    let error = export_dag(
        &pipeline(),
        &options("postgres://db/mlmd", "s3://AKIA:s3cret@bucket/root"),
    )
    .unwrap_err();

    assert!(matches!(error, AirflowError::SecretInOption { .. }));
    assert!(!error.to_string().contains("s3cret"), "{error}");
}
