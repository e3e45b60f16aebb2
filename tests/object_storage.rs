//! Artifact roots on an object store, end to end: the example binaries with `--root s3://…`
//! against a real S3-compatible server (moto's, started by `cargo xtask test`:
//! `MILLRACE_TEST_S3_ENDPOINT`, `MILLRACE_TEST_S3_BUCKET`), the store in PostgreSQL when
//! `MILLRACE_TEST_POSTGRES_URL` is set. What is in the bucket is checked with `boto3` from the
//! interop venv (`MILLRACE_TEST_PYTHON`), and the store with ml-metadata itself. Without the
//! server every test says it was skipped and why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod example_binaries;
mod s3_server;
mod serving;

use example_binaries::node_states;
use s3_server::{S3, s3, unique};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `command` with `--json`: success, the summary and stderr.
fn run_json(command: &mut Command) -> (bool, serde_json::Value, String) {
    let output: Output = command.arg("--json").output().unwrap();
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output.status.success(), summary, text(&output.stderr))
}

/// The artifacts in the store as ml-metadata reads them: (uri, state).
fn mlmd_artifacts(python: &Path, store_file: &Path) -> Vec<(String, String)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/python/mlmd_dump.py");
    let output = Command::new(python)
        .arg(&script)
        .arg(store_file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let dump: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    dump["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|artifact| {
            (
                artifact["uri"].as_str().unwrap_or_default().to_owned(),
                artifact["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The LIVE artifacts' URIs of example `name`, through its `artifacts list --json`.
fn live_uris(s3: &S3, dir: &Path, name: &str, root: &str, store: &str) -> Vec<String> {
    let output = s3
        .example(dir, name, root, store)
        .args(["artifacts", "list", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|artifact| artifact["state"] == "LIVE")
        .filter_map(|artifact| artifact["uri"].as_str().map(str::to_owned))
        .filter(|uri| uri.starts_with("s3://"))
        .collect()
}

/// Checks every LIVE artifact of example `name` is whole in the bucket: its manifest is there
/// and lists files that all exist with their sizes. Returns how many artifacts were checked.
fn assert_live_artifacts_are_whole(
    s3: &S3,
    dir: &Path,
    name: &str,
    root: &str,
    store: &str,
) -> usize {
    let uris = live_uris(s3, dir, name, root, store);
    let prefixes: Vec<String> = uris
        .iter()
        .map(|uri| {
            uri.strip_prefix(&format!("s3://{}/", s3.bucket))
                .unwrap()
                .to_owned()
        })
        .collect();
    // One boto3 session reads every manifest and lists every artifact's objects.
    let problems = s3.boto3(&format!(
        "problems = []\n\
         for prefix in {prefixes:?}:\n\
         \x20   try:\n\
         \x20       manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + '/.millrace-manifest.json')['Body'].read())\n\
         \x20   except Exception as error:\n\
         \x20       problems.append(f'{{prefix}}: no manifest ({{error}})'); continue\n\
         \x20   pages = s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix + '/')\n\
         \x20   sizes = {{o['Key']: o['Size'] for p in pages for o in p.get('Contents', [])}}\n\
         \x20   for f in manifest['files']:\n\
         \x20       key = prefix + '/' + f['path']\n\
         \x20       if sizes.get(key) != f['size']:\n\
         \x20           problems.append(f'{{key}}: {{sizes.get(key)}} bytes, manifest says {{f[\"size\"]}}')\n\
         print(json.dumps(problems))"
    ));
    assert_eq!(
        problems,
        serde_json::json!([]),
        "LIVE artifacts with missing or partial objects"
    );
    uris.len()
}

#[test]
fn the_taxi_pipeline_runs_on_an_s3_root_pushes_and_reruns_fully_from_the_cache() {
    let Some(s3) = s3("taxi on s3") else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("taxi");
    let root = format!("s3://{}/{prefix}", s3.bucket);
    let store = s3.shared_store(dir.path(), "taxi");

    let (ok, first, stderr) = run_json(s3.example(dir.path(), "taxi", &root, &store).arg("run"));
    assert!(ok, "{stderr}");
    assert!(
        node_states(&first)
            .values()
            .all(|state| state == "complete"),
        "{first:#}"
    );
    let pushed = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["node"] == "pusher")
        .unwrap();
    assert!(
        pushed["message"].as_str().unwrap().contains("pushed"),
        "{pushed}"
    );

    // Every artifact is in the bucket, whole, under the root — and nothing was written into a
    // local directory named after the URL.
    let objects = s3.objects(&format!("{prefix}/"));
    assert!(
        objects
            .keys()
            .any(|key| key.contains("/trainer/model/") && key.ends_with("/model.json")),
        "{objects:#?}"
    );
    assert!(!dir.path().join("s3:").exists());
    assert!(assert_live_artifacts_are_whole(&s3, dir.path(), "taxi", &root, &store) >= 10);
    // The statistics report is readable from the bucket.
    assert!(
        objects.keys().any(|key| key.ends_with(".html")),
        "no HTML report in {objects:#?}"
    );

    // An unchanged rerun, from a fresh working directory (another machine): fully cached.
    let (ok, second, stderr) = run_json(
        s3.example(dir.path(), "taxi", &root, &store)
            .env("MILLRACE_WORK_DIR", dir.path().join("work-2"))
            .arg("run"),
    );
    assert!(ok, "{stderr}");
    for (node, state) in node_states(&second) {
        assert!(
            state == "cached"
                || node.starts_with("latest_")
                || node.starts_with("previous_")
                || node == "champion",
            "{node} was {state} on an unchanged rerun"
        );
    }
}

#[test]
fn ml_metadata_reads_the_s3_uris_and_gc_removes_the_objects_of_pruned_artifacts() {
    let Some(s3) = s3("gc") else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("gc");
    let root = format!("s3://{}/{prefix}", s3.bucket);
    let store = s3.store(dir.path());
    for name in ["world", "monde"] {
        let (ok, _, stderr) = run_json(s3.example(dir.path(), "hello", &root, &store).args([
            "run",
            "--param",
            &format!("name={name}"),
        ]));
        assert!(ok, "{stderr}");
    }
    // ml-metadata itself reads the store and sees the real s3:// URIs.
    let artifacts = mlmd_artifacts(&s3.python, &dir.path().join("metadata.sqlite"));
    assert!(
        artifacts
            .iter()
            .filter(|(uri, state)| uri.starts_with(&format!("{root}/hello/")) && state == "LIVE")
            .count()
            >= 2,
        "{artifacts:#?}"
    );
    let before = s3.objects(&format!("{prefix}/"));
    let (ok, collected, stderr) =
        run_json(
            s3.example(dir.path(), "hello", &root, &store)
                .args(["gc", "--keep-last", "1"]),
        );
    assert!(ok, "{stderr}");
    let removed: Vec<String> = collected["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|artifact| artifact["uri"].as_str().unwrap().to_owned())
        .collect();
    assert!(!removed.is_empty(), "{collected:#}");
    let after = s3.objects(&format!("{prefix}/"));
    for uri in &removed {
        let key = uri.strip_prefix(&format!("s3://{}/", s3.bucket)).unwrap();
        assert!(
            before.keys().any(|k| k.starts_with(&format!("{key}/"))),
            "{key} had objects before"
        );
        assert!(
            !after.keys().any(|k| k.starts_with(&format!("{key}/"))),
            "{key} still has objects after gc: {after:#?}"
        );
    }
    // What the newest run produced is still whole.
    assert!(assert_live_artifacts_are_whole(&s3, dir.path(), "hello", &root, &store) >= 1);
}

#[test]
fn killed_at_ten_moments_during_uploads_then_resumed_no_live_artifact_is_missing_an_object() {
    let Some(s3) = s3("crash during uploads") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("crash");
    let root = format!("s3://{}/{prefix}", s3.bucket);
    let store = s3.store(dir.path());
    // Small parts, so that uploads take many requests and a kill lands among them.
    let mut completed_runs = 0;
    for moment in 0..10_u64 {
        let mut child = s3
            .example(dir.path(), "taxi", &root, &store)
            .args([
                "run",
                "--json",
                "--param",
                &format!("trees={}", 20 + moment),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + 90 * moment));
        // SIGKILL: no handler runs, nothing is cleaned up.
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            completed_runs += 1;
        }
        assert_live_artifacts_are_whole(&s3, dir.path(), "taxi", &root, &store);
    }
    // Resume every interrupted run: each completes.
    let listed = s3
        .example(dir.path(), "taxi", &root, &store)
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let interrupted: Vec<String> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["state"] != "succeeded")
        .map(|run| run["run_id"].as_str().unwrap().to_owned())
        .collect();
    // A kill that lands before the process registered its run leaves no run (nothing to
    // resume); one that lands later leaves an interrupted run; none leaves more than one.
    let recorded = runs.as_array().unwrap().len();
    assert!(recorded <= 10, "{runs:#}: more runs than processes");
    assert!(
        interrupted.len() + completed_runs <= recorded,
        "{runs:#}: {completed_runs} processes succeeded"
    );
    assert!(!interrupted.is_empty(), "no kill landed during a run");
    for run_id in &interrupted {
        let (ok, summary, stderr) = run_json(
            s3.example(dir.path(), "taxi", &root, &store)
                .args(["run", "--resume", run_id]),
        );
        assert!(ok, "resuming {run_id}: {stderr}\n{summary:#}");
    }
    assert!(assert_live_artifacts_are_whole(&s3, dir.path(), "taxi", &root, &store) >= 10);
    // The abandoned attempts' objects are garbage, and collecting it leaves the live ones whole.
    let (ok, _, stderr) = run_json(s3.example(dir.path(), "taxi", &root, &store).arg("gc"));
    assert!(ok, "{stderr}");
    assert!(assert_live_artifacts_are_whole(&s3, dir.path(), "taxi", &root, &store) >= 10);
}

#[test]
fn an_unreachable_server_a_missing_bucket_and_missing_credentials_fail_before_anything_runs() {
    let Some(s3) = s3("bad roots") else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = s3.store(dir.path());
    // Root, extra environment, what the error says.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case<'_>; 3] = [
        (
            "s3://millrace-test/x",
            vec![("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
            "unreachable",
        ),
        (
            "s3://no-such-bucket-here/x",
            vec![],
            "bucket does not exist",
        ),
        (
            "s3:/millrace-test/x",
            vec![],
            "a URL needs `s3://` (two slashes)",
        ),
    ];
    for (root, env, expected) in cases {
        let output = s3
            .example(dir.path(), "hello", root, &store)
            .envs(env)
            .arg("run")
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains(expected), "{root}: {stderr}");
        assert!(
            stderr.contains(root.trim_end_matches("/x")),
            "{root}: the error names the URL: {stderr}"
        );
        assert!(!dir.path().join("s3:").exists());
    }
    // Without credentials (and no instance role to fall back on).
    let output = s3
        .example(
            dir.path(),
            "hello",
            &format!("s3://{}/x", s3.bucket),
            &store,
        )
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("run")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("credentials"), "{stderr}");
    // Nothing ran, so nothing was recorded.
    let listed = s3
        .example(dir.path(), "hello", "unused", &store)
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs.as_array().map_or(0, Vec::len), 0, "{runs:#}");
}

#[test]
fn a_bucket_that_denies_a_nodes_writes_fails_that_node_naming_it_and_the_url_with_nothing_live() {
    let Some(s3) = s3("denied writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bucket = unique("deny").to_ascii_lowercase();
    let bucket = &bucket[..bucket.len().min(60)];
    // The bucket takes writes, except under the trainer's outputs.
    s3.boto3(&format!(
        "s3.create_bucket(Bucket='{bucket}')\n\
         s3.put_bucket_policy(Bucket='{bucket}', Policy=json.dumps({{'Version': '2012-10-17', \
         'Statement': [{{'Effect': 'Deny', 'Principal': '*', 'Action': 's3:PutObject', \
         'Resource': 'arn:aws:s3:::{bucket}/root/chicago-taxi/trainer/*'}}]}}))\n\
         print('{{}}')"
    ));
    let root = format!("s3://{bucket}/root");
    let store = s3.store(dir.path());
    let (ok, summary, stderr) = run_json(s3.example(dir.path(), "taxi", &root, &store).arg("run"));
    assert!(!ok);
    let trainer = summary["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{stderr}"))
        .iter()
        .find(|node| node["node"] == "trainer")
        .unwrap();
    assert_eq!(trainer["state"], "failed", "{summary:#}");
    let message = trainer["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("s3://{bucket}/root/chicago-taxi/trainer/")),
        "{message}"
    );
    assert!(message.contains("not allowed"), "{message}");
    // The trainer's output was never marked LIVE.
    assert!(
        !live_uris(&s3, dir.path(), "taxi", &root, &store)
            .iter()
            .any(|uri| uri.contains("/trainer/")),
    );
}

/// Uploads `file` to `key` of the test bucket.
fn upload(s3: &S3, file: &Path, key: &str) {
    let done = s3.boto3(&format!(
        "s3.upload_file({:?}, bucket, {key:?})\nprint(json.dumps(True))",
        file.display().to_string()
    ));
    assert_eq!(done, serde_json::Value::Bool(true));
}

#[test]
fn taxi_ingests_its_spans_from_a_bucket_and_serve_runs_a_span_uploaded_later() {
    let Some(s3) = s3("inputs in a bucket") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("trips");
    let trips = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/chicago_taxi/data.csv");
    upload(&s3, &trips, &format!("{prefix}/span-1/data.csv"));
    let input = format!("s3://{}/{prefix}/span-{{SPAN}}/*.csv", s3.bucket);
    let store = s3.store(dir.path());
    let root = dir.path().join("artifacts").display().to_string();
    let taxi = |arguments: &[&str]| {
        let mut command = s3.example(dir.path(), "taxi", &root, &store);
        command
            .args(arguments)
            .env("TAXI_DATA", &input)
            .env("TAXI_DEBOUNCE", "1")
            .env("TAXI_SERVING", dir.path().join("serving"));
        command
    };

    // A run lists the bucket, fetches span 1 and ingests it; a second is served from the
    // cache (the objects' keys, sizes and times are the fingerprint).
    let (ok, first, stderr) = run_json(&mut taxi(&["run"]));
    assert!(ok, "{stderr}");
    assert_eq!(node_states(&first)["example_gen"], "complete");
    let (ok, again, stderr) = run_json(&mut taxi(&["run"]));
    assert!(ok, "{stderr}");
    assert_eq!(node_states(&again)["example_gen"], "cached");

    // `serve` watches the bucket: span 1 is its baseline; span 2, uploaded, runs.
    let served = serving::serve(taxi(&["serve", "--bind", "127.0.0.1:0"]));
    serving::wait_for("the data trigger's baseline", || {
        serving::page(&served.url, "/schedules")
            .contains("none: present when watching began")
            .then_some(())
    });
    upload(&s3, &trips, &format!("{prefix}/span-2/data.csv"));
    let (_, row) = serving::wait_for("the run of span 2", || {
        serving::run_rows(&serving::page(&served.url, "/runs"))
            .into_iter()
            .find(|(run, row)| run == "new-data-example_gen-span-2" && row.contains("succeeded"))
    });
    assert!(row.contains("new data (example_gen)"), "{row}");
    let node = serving::page(
        &served.url,
        "/runs/new-data-example_gen-span-2/nodes/example_gen",
    );
    assert!(node.contains("span 2 (1 file(s))"), "{node}");
}
