//! The S3-compatible server that `cargo xtask test` starts (moto's: `MILLRACE_TEST_S3_ENDPOINT`,
//! `MILLRACE_TEST_S3_BUCKET`), the stores beside it, and the example binaries run against it.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)] // Each suite uses some; tests fail loudly.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::example_binaries::example;

/// The S3 server, its bucket and the interop venv's Python, or `None` (said) without them.
pub struct S3 {
    /// The server's URL.
    pub endpoint: String,
    /// The bucket the tests share.
    pub bucket: String,
    /// The interop venv's Python (with boto3).
    pub python: PathBuf,
}

pub fn s3(test: &str) -> Option<S3> {
    let endpoint = std::env::var("MILLRACE_TEST_S3_ENDPOINT").ok();
    let python = std::env::var("MILLRACE_TEST_PYTHON").ok();
    match (endpoint, python) {
        (Some(endpoint), Some(python)) if !endpoint.is_empty() => Some(S3 {
            endpoint,
            bucket: std::env::var("MILLRACE_TEST_S3_BUCKET")
                .unwrap_or_else(|_| "millrace-test".to_owned()),
            python: PathBuf::from(python),
        }),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (object storage {test}): no S3-compatible server (MILLRACE_TEST_S3_ENDPOINT \
                 and MILLRACE_TEST_PYTHON are not set): run `cargo xtask test`, which starts moto's"
            );
            None
        }
    }
}

/// A unique prefix for one test, so tests share the bucket without seeing each other.
pub fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

impl S3 {
    /// A SQLite store in `dir`.
    pub fn store(&self, dir: &Path) -> String {
        format!("sqlite://{}", dir.join("metadata.sqlite").display())
    }

    /// A schema of its own on the suite's PostgreSQL server when there is one (what a
    /// distributed deployment uses), else SQLite in `dir`.
    pub fn shared_store(&self, dir: &Path, test: &str) -> String {
        let Some(server) = std::env::var("MILLRACE_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
        else {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (object storage {test} on PostgreSQL): MILLRACE_TEST_POSTGRES_URL is not \
                 set, so SQLite is used; `cargo xtask test` starts a server"
            );
            return self.store(dir);
        };
        let schema = unique("s3").replace('-', "_");
        let statement = format!("CREATE SCHEMA {schema}");
        let server_url = server.clone();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&server_url, postgres::NoTls).unwrap();
            client.batch_execute(&statement).unwrap();
        })
        .join()
        .unwrap();
        let separator = if server.contains('?') { '&' } else { '?' };
        format!("{server}{separator}options=-c%20search_path%3D{schema}")
    }

    /// Example `name` run in `dir` against the server, with its credentials and endpoint in
    /// the environment (the way a user's shell has them).
    pub fn example(&self, dir: &Path, name: &str, root: &str, store: &str) -> Command {
        let mut command = Command::new(example(name));
        command
            .env("MILLRACE_STORE", store)
            .env("MILLRACE_ROOT", root)
            .env("MILLRACE_WORK_DIR", dir.join("work"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env_remove("MILLRACE_LOG")
            .current_dir(dir);
        command
    }

    /// Runs `script` (Python, with `s3` a boto3 client and `bucket` the bucket) and parses what
    /// it prints as JSON.
    pub fn boto3(&self, script: &str) -> serde_json::Value {
        let program = format!(
            "import boto3, json\n\
             s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             bucket = '{}'\n{script}",
            self.endpoint, self.bucket
        );
        let output = Command::new(&self.python)
            .args(["-c", &program])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Every key under `prefix` with its size.
    pub fn objects(&self, prefix: &str) -> BTreeMap<String, u64> {
        let listed = self.boto3(&format!(
            "pages = s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix='{prefix}')\n\
             print(json.dumps({{o['Key']: o['Size'] for p in pages for o in p.get('Contents', [])}}))"
        ));
        serde_json::from_value(listed).unwrap()
    }
}
