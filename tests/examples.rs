//! Every example runs in the test suite: `cargo test` builds the example binaries, and these
//! tests run them as a user would. (`cargo test --test examples` alone does not rebuild the
//! examples; run `cargo build --examples` first, or the whole `cargo test`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::io::Write as _;
mod example_binaries;

use std::path::PathBuf;
use std::process::{Command, Output};

use example_binaries::{example, example_in, node_states as states, text_of};

fn run(name: &str, arguments: &[&str]) -> Output {
    let binary = example(name);
    assert!(
        binary.exists(),
        "{} is not built: run `cargo test` (which builds the examples) or `cargo build --examples`",
        binary.display()
    );
    let output = Command::new(&binary)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
    assert!(
        output.status.success(),
        "{name} {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn hello_compiles_to_an_ir_with_its_three_nodes() {
    let ir = stdout(&run("hello", &["compile", "--target", "ir"]));
    let spec: serde_json::Value = serde_json::from_str(&ir).unwrap();
    let ids: Vec<&str> = spec["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["greet", "count_words", "shout"]);
    assert_eq!(spec["nodes"][1]["task"]["kind"], "hello.CountWords");
}

#[test]
fn hello_draws_mermaid() {
    let drawing = stdout(&run("hello", &["graph", "--format", "mermaid"]));
    assert!(drawing.starts_with("flowchart TD"));
    assert!(drawing.contains("n0 -- \"greeting → text: Dataset\" --> n1"));
}

#[test]
fn hello_registers_its_components_for_other_processes() {
    let listing = stdout(&run("hello", &["registry", "--json"]));
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(
        listing["component_kinds"],
        serde_json::json!([
            "hello.CountWords",
            "hello.greet",
            "hello.shout",
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
            "millrace.Tuner"
        ])
    );
}

#[test]
fn the_fingerprint_is_the_same_in_two_runs_of_the_binary() {
    let first = stdout(&run("hello", &["validate"]));
    let second = stdout(&run("hello", &["validate"]));
    assert_eq!(first, second);
    assert!(first.contains("fingerprint"));
}

#[test]
fn custom_component_compiles_and_draws() {
    let ir = stdout(&run("custom_component", &["compile"]));
    let spec: serde_json::Value = serde_json::from_str(&ir).unwrap();
    assert_eq!(spec["nodes"].as_array().unwrap().len(), 5);
    let dot = stdout(&run("custom_component", &["graph", "--format", "dot"]));
    assert!(
        dot.contains("style=dashed"),
        "the resolver's query edge is dashed"
    );
    let listing = stdout(&run("custom_component", &["registry", "--json"]));
    assert!(
        listing.contains("WordCounts"),
        "the custom artifact type is registered"
    );
}

/// Runs an example binary in `dir` with the store and root there; returns the JSON summary.
fn run_in(dir: &std::path::Path, name: &str, arguments: &[&str]) -> (bool, serde_json::Value) {
    let mut with_json = arguments.to_vec();
    with_json.push("--json");
    let (code, stdout, _) = text_of(dir, name, &with_json);
    (
        code == Some(0),
        serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn hello_runs_then_is_cached_then_reruns_exactly_what_a_parameter_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, first) = run_in(dir.path(), "hello", &["run"]);
    assert!(ok, "{first:#}");
    assert_eq!(
        states(&first),
        [
            ("count_words", "complete"),
            ("greet", "complete"),
            ("shout", "skipped")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into()
    );

    let (ok, second) = run_in(dir.path(), "hello", &["run"]);
    assert!(ok);
    assert_eq!(states(&second)["greet"], "cached");
    assert_eq!(states(&second)["count_words"], "cached");

    // `loud` only affects `shout`'s condition: greet and count_words stay cached.
    let (ok, loud) = run_in(dir.path(), "hello", &["run", "--param", "loud=true"]);
    assert!(ok);
    assert_eq!(states(&loud)["greet"], "cached");
    assert_eq!(states(&loud)["count_words"], "cached");
    assert_eq!(states(&loud)["shout"], "complete");

    // `name` changes the greeting: everything downstream of it runs again.
    let (ok, renamed) = run_in(dir.path(), "hello", &["run", "--param", "name=Ada"]);
    assert!(ok);
    assert_eq!(states(&renamed)["greet"], "complete");
    assert_eq!(states(&renamed)["count_words"], "complete");
}

#[test]
fn invalid_parameters_are_rejected_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        ["run", "--param", "loud=maybe"],
        ["run", "--param", "colour=red"],
        ["run", "--param", "nonsense"],
    ] {
        let output = example_in(dir.path(), "hello").args(bad).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(
            !dir.path().join("metadata.sqlite").exists(),
            "{bad:?} wrote metadata"
        );
        assert!(
            !dir.path().join("artifacts").exists(),
            "{bad:?} wrote artifacts"
        );
    }
}

/// An example binary's command, run in `dir` with its metadata store and artifact root there.
#[test]
fn the_inspection_commands_report_runs_artifacts_lineage_and_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = run_in(dir.path(), "hello", &["run"]);
    let (_, _second) = run_in(dir.path(), "hello", &["run", "--param", "name=Ada"]);

    let (code, runs, _) = text_of(dir.path(), "hello", &["runs", "list", "--json"]);
    assert_eq!(code, Some(0));
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2);

    let run_id = first["run_id"].as_str().unwrap();
    let (_, shown, _) = text_of(dir.path(), "hello", &["runs", "show", run_id, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let states: Vec<&str> = shown["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["complete", "complete", "skipped"]);

    let (_, artifacts, _) = text_of(
        dir.path(),
        "hello",
        &["artifacts", "list", "--type", "Dataset", "--json"],
    );
    let artifacts: serde_json::Value = serde_json::from_str(&artifacts).unwrap();
    assert_eq!(
        artifacts.as_array().unwrap().len(),
        2,
        "one greeting per name"
    );
    let greeting = artifacts[1]["id"].as_i64().unwrap();

    let (_, lineage, _) = text_of(
        dir.path(),
        "hello",
        &["lineage", &greeting.to_string(), "--json"],
    );
    let lineage: serde_json::Value = serde_json::from_str(&lineage).unwrap();
    let nodes: Vec<&str> = lineage["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    assert!(
        nodes.contains(&"greet") && nodes.contains(&"count_words"),
        "{nodes:?}"
    );

    let (_, explained, _) = text_of(dir.path(), "hello", &["cache", "explain", "greet"]);
    assert!(explained.contains("not cached"), "{explained}");
    assert!(
        explained.contains(r#"`name` changed: "world" → "Ada""#),
        "{explained}"
    );
    let (_, _) = run_in(dir.path(), "hello", &["run"]);
    let (_, explained, _) = text_of(dir.path(), "hello", &["cache", "explain", "greet"]);
    assert!(explained.contains(": cached"), "{explained}");
}

#[test]
fn run_node_runs_one_node_of_a_run_and_refuses_another_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = text_of(
        dir.path(),
        "hello",
        &["run-node", "--run-id", "remote-1", "--node", "greet"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, _) = text_of(
        dir.path(),
        "hello",
        &[
            "run-node",
            "--run-id",
            "remote-1",
            "--node",
            "count_words",
            "--json",
        ],
    );
    assert_eq!(code, Some(0));
    let outcome: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(outcome["state"], "complete");
    let (_, shown, _) = text_of(dir.path(), "hello", &["runs", "show", "remote-1", "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let states: Vec<&str> = shown["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["complete", "complete", "not_started"],
        "exactly the two nodes ran"
    );

    let (code, _, err) = text_of(
        dir.path(),
        "custom_component",
        &["run-node", "--run-id", "remote-1", "--node", "tokenize"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("fingerprint"), "{err}");
    let (code, _, err) = text_of(
        dir.path(),
        "hello",
        &["run-node", "--run-id", "remote-1", "--node", "nope"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("has no node `nope`"), "{err}");
}

/// Five rounds, each on a new store: the two processes also race to create it. (Regression: a
/// "database is locked" once escaped while both switched the new file to WAL.)
#[test]
fn two_runs_of_one_pipeline_at_once_on_one_sqlite_store_both_complete() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let spawn = |name: &str| {
            example_in(dir.path(), "hello")
                .args(["run", "--param", &format!("name={name}"), "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = (spawn("Ann"), spawn("Bob"));
        for child in [first, second] {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(summary["succeeded"], true);
        }
    }
}

/// The serving versions of the taxi model in `dir`.
fn serving_versions(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("serving/taxi"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs example `name` on the newest span of `dir/spans/span-{SPAN}/*.csv` (`TAXI_DATA`);
/// its JSON summary.
fn run_on_spans(dir: &std::path::Path, name: &str) -> serde_json::Value {
    let output = example_in(dir, name)
        .env("TAXI_DATA", dir.join("spans/span-{SPAN}/*.csv"))
        .args(["run", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The latest evaluation of pipeline `pipeline` in `dir`.
fn latest_evaluation_of(dir: &std::path::Path, pipeline: &str) -> serde_json::Value {
    let evaluations = artifact_dirs(dir, pipeline, "evaluator", "evaluation");
    serde_json::from_slice(
        &std::fs::read(evaluations.last().unwrap().join("evaluation.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn taxi_pushes_only_models_under_the_threshold_and_better_than_the_last_blessed() {
    let dir = tempfile::tempdir().unwrap();
    let components = [
        "example_gen",
        "statistics_gen",
        "schema_gen",
        "example_validator",
        "transform",
        "trainer",
        "evaluator",
        "infra_validator",
        "pusher",
    ];
    // A shallow forest first: blessed (nothing to compare with yet), pushed as version 1.
    let (ok, first) = run_in(dir.path(), "taxi", &["run", "--param", "max_depth=4"]);
    assert!(ok, "{first:#}");
    assert!(
        components
            .iter()
            .all(|node| states(&first)[*node] == "complete")
    );
    assert_eq!(serving_versions(dir.path()), ["1"]);
    assert!(dir.path().join("serving/taxi/1/manifest.json").is_file());

    // Unchanged: every component node is served from the cache, nothing is pushed again.
    let (ok, again) = run_in(dir.path(), "taxi", &["run", "--param", "max_depth=4"]);
    assert!(ok, "{again:#}");
    for node in components {
        assert_eq!(states(&again)[node], "cached", "{node}: {again:#}");
    }
    assert_eq!(serving_versions(dir.path()), ["1"]);

    // The README's main job, with no arguments: the default, deeper forest beats the shallow
    // one and is pushed as version 2; the run's summary says where it went.
    let output = example_in(dir.path(), "taxi").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let pushed_to = dir.path().join("serving/taxi/2");
    assert!(
        text.contains(&format!("pushed as version 2 in {}", pushed_to.display())),
        "{text}"
    );
    let better = latest_evaluation_of(dir.path(), "chicago-taxi");
    assert_eq!(better["blessed"], true, "{better:#}");
    assert!(
        better["overall"]["rmse"].as_f64().unwrap() < better["baseline"]["rmse"].as_f64().unwrap(),
        "{better:#}"
    );
    assert_eq!(serving_versions(dir.path()), ["1", "2"]);

    // A stump of a forest: under the threshold but worse than version 2: not pushed.
    let (ok, worse) = run_in(dir.path(), "taxi", &["run", "--param", "max_depth=2"]);
    assert!(ok, "{worse:#}");
    assert_eq!(states(&worse)["trainer"], "complete");
    let evaluation = latest_evaluation_of(dir.path(), "chicago-taxi");
    assert_eq!(evaluation["blessed"], false, "{evaluation:#}");
    let checks = evaluation["checks"].as_array().unwrap();
    assert_eq!(checks[0]["passed"], true, "under rmse_max: {evaluation:#}");
    assert_eq!(
        checks[1]["passed"], false,
        "worse than the baseline: {evaluation:#}"
    );
    assert_eq!(serving_versions(dir.path()), ["1", "2"]);

    // A threshold no model meets: evaluated again, not blessed, not pushed.
    let (ok, strict) = run_in(dir.path(), "taxi", &["run", "--param", "rmse_max=0.5"]);
    assert!(ok, "{strict:#}");
    assert_eq!(states(&strict)["trainer"], "cached");
    assert_eq!(states(&strict)["evaluator"], "complete");
    assert_eq!(
        latest_evaluation_of(dir.path(), "chicago-taxi")["blessed"],
        false
    );
    assert_eq!(serving_versions(dir.path()), ["1", "2"]);
}

#[test]
fn hello_reruns_a_run_with_its_parameters_as_a_new_tracked_run() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, first) = run_in(dir.path(), "hello", &["run", "--param", "name=Ada"]);
    assert!(ok, "{first:#}");
    let first_id = first["run_id"].as_str().unwrap();
    let (ok, again) = run_in(dir.path(), "hello", &["rerun", first_id]);
    assert!(ok, "{again:#}");
    let again_id = again["run_id"].as_str().unwrap();
    assert_ne!(first_id, again_id);
    let (ok, compared) = run_in(
        dir.path(),
        "hello",
        &["runs", "compare", first_id, again_id],
    );
    assert!(ok, "{compared:#}");
    assert!(
        compared["params"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["differs"] == false),
        "a rerun has the run's parameters: {compared:#}"
    );
    let (code, _, stderr) = text_of(dir.path(), "hello", &["rerun", "no-such-run"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("there is no run `no-such-run`"), "{stderr}");
}

#[test]
fn taxi_registers_every_evaluated_model_and_the_better_one_holds_champion() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, deep) = run_in(dir.path(), "taxi", &["run", "--param", "max_depth=12"]);
    assert!(ok, "{deep:#}");
    let (ok, stump) = run_in(dir.path(), "taxi", &["run", "--param", "max_depth=2"]);
    assert!(ok, "{stump:#}");
    let (deep_id, stump_id) = (
        deep["run_id"].as_str().unwrap(),
        stump["run_id"].as_str().unwrap(),
    );
    // `runs compare` shows the parameter and the RMSE apart.
    let (ok, compared) = run_in(dir.path(), "taxi", &["runs", "compare", deep_id, stump_id]);
    assert!(ok, "{compared:#}");
    let row = |kind: &str, key: &str| {
        compared[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["key"] == key)
            .unwrap_or_else(|| panic!("no {kind} row {key}: {compared:#}"))
            .clone()
    };
    let depth = row("params", "max_depth");
    assert_eq!(depth["differs"], true);
    assert_eq!(depth["values"], serde_json::json!(["12", "2"]));
    let rmse = row("metrics", "evaluator.rmse");
    assert_eq!(rmse["differs"], true);
    let (deep_rmse, stump_rmse) = (
        rmse["values"][0].as_f64().unwrap(),
        rmse["values"][1].as_f64().unwrap(),
    );
    assert!(deep_rmse < stump_rmse, "{rmse:#}");
    assert_eq!(row("params", "trees")["differs"], false);
    // The better model holds `champion`; the other is version 2 without it.
    let (ok, shown) = run_in(dir.path(), "taxi", &["models", "show", "taxi"]);
    assert!(ok, "{shown:#}");
    let versions = shown["versions"].as_array().unwrap();
    let version = |number: i64| {
        versions
            .iter()
            .find(|version| version["version"] == number)
            .unwrap_or_else(|| panic!("no version {number}: {shown:#}"))
    };
    assert_eq!(version(1)["aliases"], serde_json::json!(["champion"]));
    assert_eq!(version(2)["aliases"], serde_json::json!([]));
    assert_eq!(version(2)["tags"]["blessed"], "false");
    assert_eq!(version(1)["tags"]["blessed"], "true");
    assert_eq!(version(1)["user_id"], "chicago-taxi.registrar");
    // The approval step and archiving, each a decision with who and why.
    let decided = |arguments: &[&str]| {
        let (ok, decided) = run_in(dir.path(), "taxi", arguments);
        assert!(ok, "{arguments:?}: {decided:#}");
        decided["model_version"].clone()
    };
    let approved = decided(&[
        "models",
        "approve",
        "taxi",
        "1",
        "--by",
        "grace",
        "--reason",
        "slices checked",
    ]);
    assert_eq!(approved["approval"], "approved", "{approved:#}");
    assert_eq!(approved["aliases"], serde_json::json!(["champion"]));
    let rejected = decided(&["models", "reject", "taxi", "2", "--reason", "too shallow"]);
    assert_eq!(rejected["approval"], "rejected", "{rejected:#}");
    let archived = decided(&["models", "archive", "taxi", "2"]);
    assert_eq!(archived["current_stage"], "Archived", "{archived:#}");
    // The champion is the deep run's Model artifact: lineage from the version to the run.
    let trainer_of = |summary: &serde_json::Value| {
        summary["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["node"] == "trainer")
            .unwrap()["execution_id"]
            .as_i64()
            .unwrap()
    };
    let (ok, lineage) = run_in(
        dir.path(),
        "taxi",
        &[
            "lineage",
            &version(1)["artifact_id"].to_string(),
            "--direction",
            "upstream",
        ],
    );
    assert!(ok, "{lineage:#}");
    assert!(
        lineage
            .to_string()
            .contains(&format!("\"id\":{}", trainer_of(&deep))),
        "the champion's lineage leads to the deep run's trainer: {lineage:#}"
    );
}

#[test]
fn taxi_retrains_on_a_new_span_and_compares_with_the_blessed_model() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/data/chicago_taxi/data.csv"),
    )
    .unwrap();
    let lines: Vec<&str> = original.lines().collect();
    // Span 1: the first two thirds of the trips; span 2, later: the last two thirds.
    let third = (lines.len() - 1) / 3;
    let write_span = |span: u32, rows: &[&str]| {
        let folder = dir.path().join(format!("spans/span-{span}"));
        std::fs::create_dir_all(&folder).unwrap();
        let mut text = format!("{}\n", lines[0]);
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(folder.join("trips.csv"), text).unwrap();
    };
    write_span(1, &lines[1..=2 * third]);
    let run_latest = || run_on_spans(dir.path(), "taxi");
    let first = run_latest();
    assert_eq!(states(&first)["pusher"], "complete");
    assert_eq!(serving_versions(dir.path()), ["1"]);
    assert!(latest_evaluation_of(dir.path(), "chicago-taxi")["baseline"].is_null());

    // Span 2 arrives: ingested, retrained, and evaluated against the model of span 1.
    write_span(2, &lines[third + 1..]);
    let second = run_latest();
    for node in ["example_gen", "transform", "trainer", "evaluator", "pusher"] {
        assert_eq!(states(&second)[node], "complete", "{node}: {second:#}");
    }
    let evaluation = latest_evaluation_of(dir.path(), "chicago-taxi");
    let baseline_rmse = evaluation["baseline"]["rmse"].as_f64();
    assert!(
        baseline_rmse.is_some(),
        "compared with span 1's model: {evaluation:#}"
    );
    let blessed = evaluation["blessed"].as_bool().unwrap();
    let expected: &[&str] = if blessed { &["1", "2"] } else { &["1"] };
    assert_eq!(serving_versions(dir.path()), expected, "{evaluation:#}");
    let statistics = artifact_dirs(dir.path(), "chicago-taxi", "statistics_gen", "statistics");
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(statistics.last().unwrap().join("statistics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["span"], 2);
}

/// The artifact files of `node`'s `output` under an example's root, newest execution last.
fn artifact_dirs(dir: &std::path::Path, pipeline: &str, node: &str, output: &str) -> Vec<PathBuf> {
    let base = dir.join("artifacts").join(pipeline).join(node).join(output);
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(&base)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let id = entry.file_name().to_str()?.parse().ok()?;
                    Some((id, entry.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, path)| path).collect()
}

#[test]
fn taxi_data_profiles_validates_and_transforms_with_reports() {
    let dir = tempfile::tempdir().unwrap();
    let output = example_in(dir.path(), "taxi_data").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pipeline = "chicago-taxi-data";

    let statistics = &artifact_dirs(dir.path(), pipeline, "statistics_gen", "statistics")[0];
    let report = std::fs::read_to_string(statistics.join("statistics.html")).unwrap();
    for feature in ["fare", "trip_miles", "payment_type", "company"] {
        assert!(report.contains(feature), "the report shows {feature}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(statistics.join("statistics.json")).unwrap())
            .unwrap();
    let rows: u64 = json["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["num_examples"].as_u64().unwrap())
        .sum();
    assert_eq!(rows, 15_002);

    let anomalies = &artifact_dirs(dir.path(), pipeline, "example_validator", "anomalies")[0];
    let found: serde_json::Value =
        serde_json::from_slice(&std::fs::read(anomalies.join("anomalies.json")).unwrap()).unwrap();
    assert_eq!(
        found["anomalies"],
        serde_json::json!([]),
        "the data agree with their own schema"
    );
    assert!(
        std::fs::read_to_string(anomalies.join("anomalies.html"))
            .unwrap()
            .contains("No anomalies")
    );

    let graph = &artifact_dirs(dir.path(), pipeline, "transform", "transform_graph")[0];
    let graph: serde_json::Value =
        serde_json::from_slice(&std::fs::read(graph.join("transform_graph.json")).unwrap())
            .unwrap();
    assert_eq!(graph["ops"].as_array().unwrap().len(), 10);
    let transformed = &artifact_dirs(dir.path(), pipeline, "transform", "transformed_examples")[0];
    // Transformed in two shards: the merged artifact holds each shard's part, per split.
    for split in ["Split-train", "Split-eval"] {
        let parts = std::fs::read_dir(transformed.join(split))
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|extension| extension == "parquet")
            })
            .count();
        assert_eq!(parts, 2, "{split}");
    }

    // Unchanged data: everything but the validator (which now has a previous span) is cached.
    let (ok, again) = run_in(dir.path(), "taxi_data", &["run"]);
    assert!(ok, "{again:#}");
    let again = states(&again);
    for node in ["example_gen", "statistics_gen", "schema_gen", "transform"] {
        assert_eq!(again[node], "cached", "{node}");
    }
}

#[test]
fn taxi_data_flags_drift_between_spans() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/data/chicago_taxi/data.csv"),
    )
    .unwrap();
    let span = |number: u32, fare_factor: f64| {
        let folder = dir.path().join(format!("spans/span-{number}"));
        std::fs::create_dir_all(&folder).unwrap();
        let mut text = String::new();
        for (index, line) in original.lines().enumerate() {
            let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
            if index > 0 && !fields[1].is_empty() {
                fields[1] = (fields[1].parse::<f64>().unwrap() * fare_factor).to_string();
            }
            text.push_str(&fields.join(","));
            text.push('\n');
        }
        std::fs::write(folder.join("trips.csv"), text).unwrap();
    };
    let run_span = || run_on_spans(dir.path(), "taxi_data");
    span(1, 1.0);
    run_span();
    // The next span's fares tripled: the fare distribution drifted, nothing else did.
    span(2, 3.0);
    run_span();
    let anomalies = artifact_dirs(
        dir.path(),
        "chicago-taxi-data",
        "example_validator",
        "anomalies",
    );
    let latest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(anomalies.last().unwrap().join("anomalies.json")).unwrap(),
    )
    .unwrap();
    let drifted: Vec<(&str, &str)> = latest["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["feature"].as_str().unwrap(), a["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        drifted,
        vec![("fare", "drift"), ("fare", "drift")],
        "{latest:#}"
    );
    let statistics = artifact_dirs(
        dir.path(),
        "chicago-taxi-data",
        "statistics_gen",
        "statistics",
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(statistics.last().unwrap().join("statistics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["span"], 2);
}

#[test]
fn multi_framework_lab_trains_every_framework_at_once_and_pushes_the_lowest_rmse_blessed_model() {
    let Some(python) = std::env::var_os("MILLRACE_TEST_TRAINERS_PYTHON").filter(|p| !p.is_empty())
    else {
        // Straight to the terminal, past the test harness's capture: a plain `cargo test`
        // shows which suites skipped.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (examples multi_framework): MILLRACE_TEST_TRAINERS_PYTHON is not set; \
             `cargo xtask test` installs TensorFlow, scikit-learn and XGBoost into a venv and \
             sets it"
        );
        return;
    };
    // PyTorch joins where the interpreter has it (its wheels are too large for CI).
    let has_torch = Command::new(&python)
        .args(["-c", "import torch"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_torch {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (examples multi_framework, PyTorch branch only): the trainers' venv has no \
             torch; the lab runs without it"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let pytorch = format!("pytorch={has_torch}");
    let output = example_in(dir.path(), "multi_framework")
        .env("MILLRACE_PYTHON", &python)
        .args(["run", "--parallelism", "4", "--json", "--param", &pytorch])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let run_id = summary["run_id"].as_str().unwrap();

    // The executions' start and end in the metadata store: every pair of trainers overlapped.
    let (_, shown, _) = text_of(
        dir.path(),
        "multi_framework",
        &["runs", "show", run_id, "--json"],
    );
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let row = |node: &str| -> serde_json::Value {
        shown["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["node"] == node)
            .unwrap_or_else(|| panic!("no node {node} in {shown:#}"))
            .clone()
    };
    let span = |node: &str| {
        let row = row(node);
        assert_eq!(row["state"], "complete", "{row}");
        (
            row["started_ms"].as_i64().unwrap(),
            row["finished_ms"].as_i64().unwrap(),
        )
    };
    let mut frameworks = vec!["tensorflow", "sklearn", "xgboost", "rust"];
    if has_torch {
        frameworks.push("pytorch");
    } else {
        assert_eq!(row("pytorch_trainer")["state"], "skipped");
        assert_eq!(row("pytorch_evaluator")["state"], "skipped");
    }
    let trainers: Vec<String> = frameworks.iter().map(|f| format!("{f}_trainer")).collect();
    for (index, first) in trainers.iter().enumerate() {
        for second in &trainers[index + 1..] {
            let (a, b) = (span(first), span(second));
            assert!(
                a.0 < b.1 && b.0 < a.1,
                "{first} {a:?} and {second} {b:?} do not overlap"
            );
        }
    }

    // Each framework's model was evaluated; the pushed one is the blessed one with the lowest
    // RMSE.
    let evaluations: Vec<(&str, f64, bool)> = frameworks
        .iter()
        .map(|framework| {
            let evaluator = format!("{framework}_evaluator");
            span(&evaluator);
            let dirs = artifact_dirs(dir.path(), "multi-framework", &evaluator, "evaluation");
            assert_eq!(dirs.len(), 1, "{evaluator}: {dirs:?}");
            let evaluation: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dirs[0].join("evaluation.json")).unwrap())
                    .unwrap();
            (
                *framework,
                evaluation["overall"]["rmse"].as_f64().unwrap(),
                evaluation["blessed"].as_bool().unwrap(),
            )
        })
        .collect();
    let best = evaluations
        .iter()
        .filter(|evaluation| evaluation.2)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or_else(|| panic!("no model was blessed: {evaluations:?}"));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("serving/multi_framework/1/manifest.json")).unwrap(),
    )
    .unwrap();
    let pushed = manifest["framework"].as_str().unwrap();
    let expected = match best.0 {
        "sklearn" => "scikit-learn",
        "rust" => "smartcore",
        other => other,
    };
    assert!(
        pushed.starts_with(expected),
        "pushed {pushed} but the evaluations (framework, RMSE, blessed) were {evaluations:?}"
    );
}

#[test]
fn penguins_classifies_three_species_blesses_on_accuracy_and_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let components = [
        "example_gen",
        "statistics_gen",
        "schema_gen",
        "example_validator",
        "transform",
        "trainer",
        "evaluator",
        "infra_validator",
        "pusher",
    ];
    // The run with no arguments, as the module doc runs it: blessed and pushed as version 1.
    let output = example_in(dir.path(), "penguins").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let pushed_to = dir.path().join("serving/penguins/1");
    assert!(
        text.contains(&format!("pushed as version 1 in {}", pushed_to.display())),
        "{text}"
    );
    let evaluation = latest_evaluation_of(dir.path(), "penguins");
    assert_eq!(evaluation["blessed"], true, "{evaluation:#}");
    let accuracy = evaluation["overall"]["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    assert!(evaluation["overall"]["macro_f1"].as_f64().unwrap() > 0.9);
    let classes = &evaluation["classification"]["classes"];
    assert_eq!(
        classes,
        &serde_json::json!(["Adelie", "Chinstrap", "Gentoo"])
    );
    for slice in [
        "island=Biscoe",
        "island=Dream",
        "island=Torgersen",
        "sex=female",
        "sex=male",
    ] {
        assert!(
            evaluation["slices"][slice]["accuracy"].is_f64(),
            "{slice}: {evaluation:#}"
        );
        assert!(evaluation["classification"]["slices"][slice]["confusion_matrix"].is_array());
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pushed_to.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["task"], "classification");
    assert_eq!(&manifest["signature"]["classes"], classes);
    let report = std::fs::read_to_string(
        artifact_dirs(dir.path(), "penguins", "evaluator", "evaluation")
            .last()
            .unwrap()
            .join("evaluation.html"),
    )
    .unwrap();
    assert!(
        report.contains("true \\ predicted"),
        "the confusion matrix is in the report"
    );

    // Unchanged: every component node is cached, nothing is pushed again.
    let (ok, again) = run_in(dir.path(), "penguins", &["run"]);
    assert!(ok, "{again:#}");
    for node in components {
        assert_eq!(states(&again)[node], "cached", "{node}: {again:#}");
    }

    // A forest of stumps: a new model, compared with the blessed one of the first run.
    let (ok, weak) = run_in(
        dir.path(),
        "penguins",
        &["run", "--param", "max_depth=1", "--param", "trees=3"],
    );
    assert!(ok, "{weak:#}");
    assert_eq!(states(&weak)["trainer"], "complete");
    let weak = latest_evaluation_of(dir.path(), "penguins");
    assert_eq!(
        weak["baseline"]["accuracy"].as_f64(),
        Some(accuracy),
        "{weak:#}"
    );
    let checks = weak["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{weak:#}");
    assert_eq!(weak["blessed"], false, "{weak:#}");

    // An accuracy no forest reaches: evaluated again, not blessed, not pushed.
    let (ok, strict) = run_in(
        dir.path(),
        "penguins",
        &["run", "--param", "accuracy_min=1"],
    );
    assert!(ok, "{strict:#}");
    assert_eq!(states(&strict)["trainer"], "cached");
    assert_eq!(states(&strict)["evaluator"], "complete");
    let strict = latest_evaluation_of(dir.path(), "penguins");
    assert_eq!(strict["blessed"], false, "{strict:#}");
    assert_eq!(strict["checks"][0]["passed"], false, "{strict:#}");
    assert!(!dir.path().join("serving/penguins/2").exists());
}

#[test]
fn multi_framework_gets_one_image_per_framework_in_its_containerfiles_and_kfp_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let output = example_in(dir.path(), "multi_framework")
        .env_remove("MILLRACE_PYTHON")
        .args(["image", "--all", "--base", "debian:bookworm-slim", "--out"])
        .arg(&images)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(&images)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let frameworks = [
        ("pytorch", "torch==2.15.0"),
        ("sklearn", "scikit-learn==1.9.1"),
        ("tensorflow", "tensorflow-cpu==2.21.0"),
        ("xgboost", "xgboost-cpu==3.2.0"),
    ];
    let mut expected = vec!["Containerfile".to_owned()];
    expected.extend(
        frameworks
            .iter()
            .map(|(name, _)| format!("localhost_multi-framework-{name}_latest.Containerfile")),
    );
    assert_eq!(files, expected);
    for (framework, _) in frameworks {
        let text = std::fs::read_to_string(images.join(format!(
            "localhost_multi-framework-{framework}_latest.Containerfile"
        )))
        .unwrap();
        assert!(
            text.starts_with(&format!(
                "# `localhost/multi-framework-{framework}:latest`: the image of the nodes \
                 {framework}_trainer, {framework}_evaluator"
            )),
            "{text}"
        );
        assert!(text.contains("\nFROM debian:bookworm-slim\n"), "{text}");
        for (other, pin) in frameworks {
            assert_eq!(text.contains(pin), other == framework, "{pin}:\n{text}");
        }
    }
    let own = std::fs::read_to_string(images.join("Containerfile")).unwrap();
    assert!(
        !own.contains("python3"),
        "no node of the pipeline's image runs Python:\n{own}"
    );

    // Compiled for Kubeflow Pipelines: one image per framework, the pipeline's for the rest.
    let compiled = dir.path().join("lab.yaml");
    let output = example_in(dir.path(), "multi_framework")
        .args([
            "compile",
            "--target",
            "kfp",
            "--image",
            "localhost/multi-framework:1",
        ])
        .arg("--out")
        .arg(&compiled)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let yaml = std::fs::read_to_string(&compiled).unwrap();
    let mut used: Vec<&str> = yaml
        .lines()
        .filter_map(|line| line.trim().strip_prefix("image: "))
        .collect();
    used.sort_unstable();
    used.dedup();
    assert_eq!(
        used,
        [
            "localhost/multi-framework-pytorch:latest",
            "localhost/multi-framework-sklearn:latest",
            "localhost/multi-framework-tensorflow:latest",
            "localhost/multi-framework-xgboost:latest",
            "localhost/multi-framework:1",
        ]
    );
}

#[test]
fn multi_framework_builds_its_scikit_learn_image_with_podman_and_the_framework_imports_in_it() {
    let base = std::env::var("MILLRACE_CONTAINER_BASE").unwrap_or_default();
    if base.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (examples multi_framework image build): MILLRACE_CONTAINER_BASE is not set; \
             `cargo xtask test` sets up podman and a Debian base image"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = "localhost/multi-framework-sklearn:test";
    // pip inside the build reaches PyPI through this machine's TLS-inspecting proxy: the build
    // trusts the host's CA bundle (a build-time volume), or it fails with CERTIFICATE_VERIFY_FAILED.
    let output = example_in(dir.path(), "multi_framework")
        .env_remove("MILLRACE_PYTHON")
        .args([
            "image",
            "build",
            "--node",
            "sklearn_trainer",
            "--base",
            &base,
        ])
        .args(["--tag", tag, "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let built: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(built["tag"], tag);
    let podman = |arguments: &[&str]| {
        let output = Command::new("podman").args(arguments).output().unwrap();
        assert!(
            output.status.success(),
            "podman {arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let versions = podman(&[
        "run",
        "--rm",
        "--entrypoint",
        "python3",
        tag,
        "-c",
        "import importlib.util, pyarrow, sklearn; \
         print(sklearn.__version__, pyarrow.__version__, importlib.util.find_spec('xgboost'))",
    ]);
    assert_eq!(
        versions.trim(),
        "1.9.1 26.0.1 None",
        "only scikit-learn is in its image"
    );
    // The image's entrypoint is the pipeline binary.
    let validated = podman(&["run", "--rm", tag, "validate"]);
    assert!(validated.contains("multi-framework"), "{validated}");
    podman(&["rmi", tag]);
}

#[test]
fn conformance_runs_locally_with_its_failure_skip_and_exit_handler() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, first) = run_in(dir.path(), "conformance", &["run"]);
    assert!(ok, "{first:#}");
    let states_of_first = states(&first);
    assert_eq!(states_of_first["skipped_count"], "skipped");
    assert_eq!(states_of_first["cleanup"], "complete");
    let message = std::fs::read_to_string(
        artifact_dirs(dir.path(), "conformance", "echo", "out")[0].join("message.txt"),
    )
    .unwrap();
    assert!(
        message.contains("{{ run_id }}") && message.contains("😀"),
        "{message}"
    );

    let (ok, failing) = run_in(dir.path(), "conformance", &["run", "--param", "fail=true"]);
    assert!(!ok, "a failed node fails the run");
    let states_of_failing = states(&failing);
    assert_eq!(states_of_failing["fragile"], "failed");
    // Without --keep-going the local runner starts nothing new after a failure.
    assert!(
        ["canceled", "upstream_failed"].contains(&states_of_failing["after_fragile"].as_str()),
        "{failing:#}"
    );
    // The exit handler runs (served from the cache: it has no inputs and the same config).
    assert!(
        ["complete", "cached"].contains(&states_of_failing["cleanup"].as_str()),
        "{failing:#}"
    );
}
