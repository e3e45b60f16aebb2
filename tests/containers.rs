//! Pipelines in real containers (podman, as `cargo xtask test` sets it up: `CONTAINERS_CONF` and
//! `MILLRACE_CONTAINER_BASE`, a base image built from Debian's packages): `image build` builds
//! the image of an example binary, and `run --containers` runs the examples with every
//! component node in a container of it, with the same results as a local run. (Like
//! `tests/examples.rs`, this runs the example binaries that `cargo test` builds.) Without the
//! setup every test says it was skipped and why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

mod example_binaries;

use example_binaries::{example_in, node_states};

/// The base image the test setup built, or `None` (said) without it.
fn container_base(test: &str) -> Option<String> {
    match std::env::var("MILLRACE_CONTAINER_BASE") {
        Ok(base) if !base.is_empty() => Some(base),
        _ => {
            // Straight to the terminal, past the harness's capture: a plain `cargo test` shows
            // which suites skipped.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (containers {test}): podman not set up (MILLRACE_CONTAINER_BASE is not \
                 set): run `cargo xtask test`"
            );
            None
        }
    }
}

fn podman(arguments: &[&str]) -> Output {
    Command::new("podman").args(arguments).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds example `name`'s image (from `dir`, with `env`) on `base`: what `image build --json`
/// says. One build at a time: the suites' tests share images.
fn build_image(dir: &Path, name: &str, base: &str, env: &[(&str, &str)]) -> serde_json::Value {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = example_in(dir, name)
        .envs(env.iter().copied())
        .args(["image", "build", "--base", base, "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs example `name` in `dir` with `arguments`: success and the JSON summary.
fn run(
    dir: &Path,
    name: &str,
    arguments: &[&str],
    env: &[(&str, &str)],
) -> (bool, serde_json::Value) {
    let output = example_in(dir, name)
        .envs(env.iter().copied())
        .args(arguments)
        .arg("--json")
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{name} {arguments:?}: {}", text(&output.stderr)));
    (output.status.success(), summary)
}

/// The files of the artifacts of `pipeline` under `dir/artifacts`, by `node/output/file`
/// (artifact ids depend on the order nodes happened to finish in), without the task logs; JSON
/// with the run's id (unless empty) replaced and timings (`*_ms`) left out.
fn artifact_files(dir: &Path, pipeline: &str, run_id: &str) -> BTreeMap<String, String> {
    fn walk(path: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(path).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == ".logs") {
                continue;
            }
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    fn without_timings(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|key, _| !key.ends_with("_ms"));
                map.values_mut().for_each(without_timings);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(without_timings),
            _ => {}
        }
    }
    let root = dir.join("artifacts").join(pipeline);
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative: Vec<String> = path
                .strip_prefix(&root)
                .unwrap()
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .filter(|part| part.parse::<u64>().is_err())
                .collect();
            let bytes = std::fs::read(&path).unwrap();
            let content = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(mut json) => {
                    without_timings(&mut json);
                    let json = json.to_string();
                    if run_id.is_empty() {
                        json
                    } else {
                        json.replace(run_id, "<run>")
                    }
                }
                Err(_) => format!("{} bytes, FNV-1a {}", bytes.len(), fnv_hex(&bytes)),
            };
            (relative.join("/"), content)
        })
        .collect()
}

fn fnv_hex(bytes: &[u8]) -> String {
    // std only: a 64-bit FNV-1a is enough to tell files apart here.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Runs `name` locally in one directory and in containers in another, with the same
/// arguments: the two summaries, after checking that every node had the same end and every
/// artifact the same content.
fn local_and_in_containers(
    name: &str,
    pipeline: &str,
    arguments: &[&str],
    container_arguments: &[&str],
    base: &str,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let (local, contained) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ok, local_summary) = run(local.path(), name, arguments, &[]);
    assert!(ok, "{local_summary:#}");
    build_image(contained.path(), name, base, &[]);
    let with_containers: Vec<&str> = arguments
        .iter()
        .chain(&["--containers"])
        .chain(container_arguments)
        .copied()
        .collect();
    let (ok, contained_summary) = run(contained.path(), name, &with_containers, &[]);
    assert!(ok, "{contained_summary:#}");
    assert_eq!(node_states(&local_summary), node_states(&contained_summary));
    let local_files = artifact_files(
        local.path(),
        pipeline,
        local_summary["run_id"].as_str().unwrap(),
    );
    let contained_files = artifact_files(
        contained.path(),
        pipeline,
        contained_summary["run_id"].as_str().unwrap(),
    );
    assert!(!local_files.is_empty());
    assert_eq!(local_files, contained_files);
    (local, contained)
}

/// Whether node `node` of `pipeline` ran in a container in `dir`: its task log holds what
/// `run-node` printed there.
fn ran_in_a_container(dir: &Path, pipeline: &str, node: &str) -> bool {
    let logs = dir
        .join("artifacts")
        .join(pipeline)
        .join(node)
        .join(".logs");
    let Ok(runs) = std::fs::read_dir(&logs) else {
        return false;
    };
    runs.filter_map(Result::ok).any(|run| {
        std::fs::read_to_string(run.path().join("attempt-0/stdout.log"))
            .is_ok_and(|log| log.contains(&format!("node `{node}` of run")))
    })
}

#[test]
fn image_prints_the_containerfile_and_out_writes_it_without_an_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (code, printed, _) = example_binaries::text_of(
        dir.path(),
        "taxi",
        &["image", "--base", "localhost/debian:bookworm-slim"],
    );
    assert_eq!(code, Some(0));
    assert!(
        printed.contains("\nFROM localhost/debian:bookworm-slim\n"),
        "{printed}"
    );
    assert!(
        printed.contains("\nCOPY taxi /usr/local/bin/taxi\n"),
        "{printed}"
    );
    assert!(printed.contains("\nUSER millrace\n"), "{printed}");
    assert!(
        !printed.contains("python3"),
        "taxi trains in Rust: {printed}"
    );
    let (code, _, said) = example_binaries::text_of(
        dir.path(),
        "taxi",
        &[
            "image",
            "--base",
            "localhost/debian:bookworm-slim",
            "--out",
            "image/",
        ],
    );
    assert_eq!(code, Some(0), "{said}");
    let written = std::fs::read_to_string(dir.path().join("image/Containerfile")).unwrap();
    assert_eq!(written, printed);
    assert!(
        said.contains("wrote the Containerfile of `chicago-taxi`"),
        "{said}"
    );
}

#[test]
fn image_build_builds_an_image_that_runs_the_binary_as_a_non_root_user() {
    let Some(base) = container_base("image build") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let built = build_image(dir.path(), "hello", &base, &[]);
    let tag = built["tag"].as_str().unwrap();
    assert!(tag.starts_with("localhost/hello:"), "{built:#}");
    assert_eq!(built["engine"], "podman");
    assert!(
        built["size_bytes"].as_u64().unwrap() > 1_000_000,
        "{built:#}"
    );
    assert!(podman(&["image", "exists", tag]).status.success());
    let config = podman(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}}",
        tag,
    ]);
    assert_eq!(
        text(&config.stdout).trim(),
        r#"millrace ["/usr/local/bin/hello"]"#
    );
    // The binary in the image is this binary: it prints this pipeline's fingerprint.
    let validate = podman(&["run", "--rm", "--pull", "never", tag, "validate"]);
    let (_, local, _) = example_binaries::text_of(dir.path(), "hello", &["validate"]);
    assert_eq!(text(&validate.stdout), local, "{}", text(&validate.stderr));
}

#[test]
fn hello_runs_in_containers_with_the_same_results_as_locally() {
    let Some(base) = container_base("hello") else {
        return;
    };
    let (_, contained) = local_and_in_containers(
        "hello",
        "hello",
        &["run", "--param", "loud=true"],
        &[],
        &base,
    );
    for node in ["greet", "count_words", "shout"] {
        assert!(
            ran_in_a_container(contained.path(), "hello", node),
            "{node}"
        );
    }
}

#[test]
fn taxi_runs_in_containers_with_the_same_results_and_blessing_as_locally() {
    let Some(base) = container_base("taxi") else {
        return;
    };
    // The data is read where the binary was built to find it; the serving directory is
    // relative to the working directory, which containers share.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let (local, contained) = local_and_in_containers(
        "taxi",
        "chicago-taxi",
        &["run", "--param", "max_depth=4"],
        &["--mount", data.to_str().unwrap()],
        &base,
    );
    // The same blessing (its whole evaluation was compared above), and the model pushed.
    for dir in [&local, &contained] {
        let evaluation = artifact_files(dir.path(), "chicago-taxi", "")
            .remove("evaluator/evaluation/evaluation.json")
            .unwrap();
        let evaluation: serde_json::Value = serde_json::from_str(&evaluation).unwrap();
        assert_eq!(evaluation["blessed"], true, "{evaluation:#}");
        let manifest = dir.path().join("serving/taxi/1/manifest.json");
        assert!(manifest.is_file(), "{} was not pushed", manifest.display());
    }
    for node in ["example_gen", "trainer", "evaluator", "pusher"] {
        assert!(
            ran_in_a_container(contained.path(), "chicago-taxi", node),
            "{node}"
        );
    }
}

#[test]
fn a_node_whose_image_does_not_exist_fails_naming_node_and_image_and_records_nothing_live() {
    let Some(base) = container_base("missing image") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let missing = "localhost/millrace-missing:1";
    // With CONFORMANCE_IMAGE, node `echo` runs in that image; the other nodes (and the exit
    // handler) in the pipeline's. The variable changes the pipeline: the containers get it.
    let env = [("CONFORMANCE_IMAGE", missing)];
    build_image(dir.path(), "conformance", &base, &env);
    let (ok, summary) = run(
        dir.path(),
        "conformance",
        &[
            "run",
            "--containers",
            "--container-env",
            "CONFORMANCE_IMAGE",
        ],
        &env,
    );
    assert!(!ok, "{summary:#}");
    let echo = summary["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["node"] == "echo")
        .unwrap();
    assert_eq!(echo["state"], "failed", "{echo:#}");
    let message = echo["message"].as_str().unwrap();
    assert!(
        message.contains(missing) && message.contains("`echo`"),
        "{message}"
    );
    assert_eq!(node_states(&summary)["cleanup"], "complete", "{summary:#}");
    // Nothing of `echo` is LIVE (nothing of it was recorded at all).
    let output = example_in(dir.path(), "conformance")
        .envs(env)
        .args(["artifacts", "list", "--json"])
        .output()
        .unwrap();
    let artifacts: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let of_echo: Vec<&serde_json::Value> = artifacts
        .as_array()
        .unwrap()
        .iter()
        .filter(|artifact| {
            artifact["uri"]
                .as_str()
                .unwrap()
                .contains("/conformance/echo/")
        })
        .collect();
    assert!(of_echo.is_empty(), "{of_echo:#?}");
}

#[test]
fn run_containers_without_the_image_says_how_to_build_it() {
    let Some(_) = container_base("image not built") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = example_in(dir.path(), "hello")
        .args([
            "run",
            "--containers",
            "--image",
            "localhost/millrace-never-built:1",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("build it with `image build --tag localhost/millrace-never-built:1`"),
        "{stderr}"
    );
    assert!(!dir.path().join("artifacts").exists(), "nothing ran");
}
