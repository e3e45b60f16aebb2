//! MLflow on both sides of a pipeline binary, with the real tools:
//!
//! - the `mlflow` 3.17.2 client runs the acceptance snippet against `hello serve`, and what it
//!   logged reads back through the binary's own commands (`experiments list`, `runs search`,
//!   `runs metric`, `models show`, `lineage`) and through Google's `ml-metadata`;
//! - `taxi run --mlflow URL` mirrors two runs into a real `mlflow server` (3.17.2, SQLite
//!   backend, artifact proxy), read back through the MLflow client: parameters, metrics, the
//!   nodes' nested runs, the reports, the registered versions with `champion` where Millrace
//!   put it; a mirror is never written twice, a half-written one is replaced, and a server
//!   that is not there is a clear error after the run is safely recorded.
//!
//! Each test says SKIPPED, and why, when `cargo xtask test` did not give it its Python.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

mod example_binaries;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use example_binaries::{example_in, text_of};
use serde_json::Value;

/// The interpreter in `variable`, or `None` after saying the test is skipped.
fn python(variable: &str, what: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED ({what}): {variable} is not set; `cargo xtask test` installs it into a venv and sets it"
            );
            None
        }
    }
}

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tools/python")
        .join(name)
}

/// A background process, stopped when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `hello serve` on a free port in `dir`; its tracking URI.
fn serve(dir: &Path) -> (Background, String) {
    let mut child = example_in(dir, "hello")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let uri = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("MLFLOW_TRACKING_URI=").map(str::to_owned))
        .expect("`serve` prints MLFLOW_TRACKING_URI=...");
    (Background(child), uri)
}

/// A real `mlflow server` (SQLite backend, artifacts served through its proxy) in `dir`,
/// once it answers `/health`; its tracking URI.
fn mlflow_server(python: &str, dir: &Path) -> (Background, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("mlflow-server.log")).unwrap();
    let mut server = Background(
        Command::new(python)
            .args([
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--workers",
                "1",
            ])
            .args(["--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(dir.join("mlflow-artifacts"))
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // Started when it answers; a server that exits is a failure with its log. (Not a timing
    // assertion: the loop ends when the server answers or stops.)
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("mlflow-server.log")).unwrap_or_default();
            panic!("mlflow server exited with {status}: {log}");
        }
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.ends_with("OK") {
                return (server, format!("http://127.0.0.1:{port}"));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// Runs `python script arguments…`; its output (or its last line, after a script's chatter)
/// as JSON.
fn python_json(python: &str, script: &Path, arguments: &[&str]) -> Value {
    let output = Command::new(python)
        .arg(script)
        .args(arguments)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} {arguments:?}: {stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout)
        .or_else(|_| serde_json::from_str(stdout.lines().last().unwrap_or_default()))
        .unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

/// Runs an example in `dir` with `--json`; its output as JSON, after checking it succeeded.
fn json_of(dir: &Path, name: &str, arguments: &[&str]) -> Value {
    let mut with_json = arguments.to_vec();
    with_json.push("--json");
    let (code, stdout, stderr) = text_of(dir, name, &with_json);
    assert_eq!(code, Some(0), "{name} {arguments:?}: {stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

#[test]
fn the_snippets_records_read_back_through_the_cli_and_ml_metadata() {
    let Some(mlflow) = python("MILLRACE_TEST_MLFLOW_PYTHON", "MLflow 3.17.2 client") else {
        return;
    };
    let Some(mlmd) = python("MILLRACE_TEST_PYTHON", "ml-metadata") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, uri) = serve(dir.path());
    let seen = python_json(&mlflow, &script("mlflow_snippet.py"), &[&uri]);
    drop(server);
    let run_id = seen["run_id"].as_str().unwrap();

    // The binary's own commands.
    let experiments = json_of(dir.path(), "hello", &["experiments", "list"]);
    assert!(
        experiments["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|experiment| experiment["name"] == "demo-exp"),
        "{experiments:#}"
    );
    let search = |filter: &'static str| {
        [
            "runs",
            "search",
            "--experiment",
            "demo-exp",
            "--filter",
            filter,
        ]
    };
    let searched = json_of(
        dir.path(),
        "hello",
        &search("params.max_depth = '8' and metrics.loss < 1"),
    );
    let runs = searched["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{searched:#}");
    assert_eq!(runs[0]["info"]["run_id"], run_id);
    assert_eq!(runs[0]["params"]["lr"], "0.01");
    // A filter MLflow's grammar does not have is a usage error (exit 2) that says why.
    let (code, _, stderr) = text_of(dir.path(), "hello", &search("params.max_depth == 8"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("max_depth"), "{stderr}");
    let curve = json_of(dir.path(), "hello", &["runs", "metric", run_id, "loss"]);
    let steps: Vec<i64> = curve["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, (0..20).collect::<Vec<_>>(), "{curve:#}");
    let shown = json_of(dir.path(), "hello", &["models", "show", "taxi"]);
    let versions = shown["versions"].as_array().unwrap();
    let champion = versions
        .iter()
        .find(|version| version["aliases"] == serde_json::json!(["champion"]))
        .unwrap_or_else(|| panic!("no champion: {shown:#}"));
    assert_eq!(champion["version"], 1);
    let model_id = champion["artifact_id"].as_i64().unwrap();
    let lineage = json_of(
        dir.path(),
        "hello",
        &["lineage", &model_id.to_string(), "--direction", "upstream"],
    );
    assert!(
        lineage.to_string().contains(run_id),
        "the champion's lineage leads to the script's run: {lineage:#}"
    );

    // Google's ml-metadata reads the same: the run is an execution of the experiment's
    // context that produced the Model artifact the champion is; decisions are executions too.
    let dump = python_json(
        &mlmd,
        &script("mlmd_dump.py"),
        &[dir.path().join("metadata.sqlite").to_str().unwrap()],
    );
    let of_type = |kind: &str, type_name: &str| -> Vec<Value> {
        dump[kind]
            .as_array()
            .unwrap()
            .iter()
            .filter(|node| node["type"] == type_name)
            .cloned()
            .collect()
    };
    let run = of_type("executions", "millrace.TrackedRun");
    assert_eq!(run.len(), 1, "{dump:#}");
    assert_eq!(run[0]["name"], run_id);
    let run_execution = run[0]["id"].as_i64().unwrap();
    assert!(!of_type("executions", "millrace.RegistryDecision").is_empty());
    let models = of_type("artifacts", "Model");
    assert!(
        models.iter().any(|model| model["id"] == model_id),
        "{dump:#}"
    );
    assert!(
        dump["events"].as_array().unwrap().iter().any(|event| {
            event["type"] == "OUTPUT"
                && event["execution_id"] == run_execution
                && event["artifact_id"] == model_id
        }),
        "the run produced the champion: {dump:#}"
    );
    let experiment = of_type("contexts", "millrace.Experiment");
    assert_eq!(experiment[0]["name"], "demo-exp");
    assert!(dump["associations"].as_array().unwrap().iter().any(|link| {
        link["context_id"] == experiment[0]["id"] && link["execution_id"] == run_execution
    }));
}

/// The mirror of Millrace run `run_id`, read back through the MLflow client.
fn mirrored(python: &str, uri: &str, run_id: &str) -> Value {
    python_json(
        python,
        &script("mlflow_mirror_check.py"),
        &[uri, "chicago-taxi", run_id],
    )
}

#[test]
fn taxi_runs_mirror_into_a_real_mlflow_server_once_with_reports_curves_and_the_champion() {
    let Some(python) = python("MILLRACE_TEST_MLFLOW_PYTHON", "MLflow 3.17.2 server") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_server, uri) = mlflow_server(&python, dir.path());
    let deep = json_of(
        dir.path(),
        "taxi",
        &["run", "--param", "max_depth=12", "--mlflow", &uri],
    );
    let stump = json_of(
        dir.path(),
        "taxi",
        &["run", "--param", "max_depth=2", "--mlflow", &uri],
    );
    let deep_id = deep["run_id"].as_str().unwrap();
    let stump_id = stump["run_id"].as_str().unwrap();

    let there = mirrored(&python, &uri, deep_id);
    assert_eq!(there["mirrors"], 1, "{there:#}");
    assert_eq!(there["status"], "FINISHED");
    assert_eq!(there["run_name"], deep_id);
    assert_eq!(there["params"]["max_depth"], "12");
    assert_eq!(there["tags"]["millrace.mirror"], "complete");
    assert_eq!(there["tags"]["millrace.state.trainer"], "complete");
    assert!(
        there["tags"]["millrace.summary.evaluator"]
            .as_str()
            .unwrap()
            .starts_with("blessed"),
        "{there:#}"
    );
    // The metrics are Millrace's, to the last digit.
    let compared = json_of(dir.path(), "taxi", &["runs", "compare", deep_id, stump_id]);
    let local_rmse = compared["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["key"] == "evaluator.rmse")
        .unwrap()["values"][0]
        .clone();
    assert_eq!(there["metrics"]["evaluator.rmse"], local_rmse);
    // The reports, and a nested run per node that tracked something.
    for report in [
        "reports/statistics_gen/statistics.html",
        "reports/example_validator/anomalies.html",
        "reports/evaluator/evaluation.html",
    ] {
        assert!(
            there["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|file| file == report),
            "{report}: {there:#}"
        );
    }
    let trainer = &there["nested"]["trainer"];
    assert_eq!(trainer["parent"], there["run_id"]);
    assert_eq!(
        trainer["histories"]["train_rmse"].as_array().unwrap().len(),
        1
    );

    // Both versions are there, `champion` on the better one as here, with the model's files.
    let here = json_of(dir.path(), "taxi", &["models", "show", "taxi"]);
    let local_champion = here["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|version| version["aliases"] == serde_json::json!(["champion"]))
        .unwrap()["version"]
        .to_string();
    let after_both = mirrored(&python, &uri, stump_id);
    let versions = after_both["models"]["taxi"].as_object().unwrap();
    assert_eq!(versions.len(), 2, "{after_both:#}");
    let champion = &versions[after_both["champion"].as_str().unwrap()];
    assert_eq!(
        champion["tags"]["millrace.version"],
        local_champion.as_str()
    );
    assert_eq!(champion["aliases"], serde_json::json!(["champion"]));
    assert!(
        champion["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|file| file == "model.json"),
        "{champion:#}"
    );
    assert_eq!(after_both["params"]["max_depth"], "2");

    // Mirroring again writes nothing.
    let again = json_of(
        dir.path(),
        "taxi",
        &["runs", "mirror", deep_id, "--mlflow", &uri],
    );
    assert_eq!(again["already_mirrored"], true, "{again:#}");
    assert_eq!(again["run_id"], there["run_id"]);
    assert_eq!(mirrored(&python, &uri, deep_id)["mirrors"], 1);
}

#[test]
fn a_half_written_mirror_is_replaced_and_a_missing_server_is_a_clear_error_after_the_run() {
    let Some(python) = python("MILLRACE_TEST_MLFLOW_PYTHON", "MLflow 3.17.2 server") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // No server at this address: the run is recorded, the mirror fails and says how to retry.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{closed}");
    let (code, stdout, stderr) =
        text_of(dir.path(), "taxi", &["run", "--json", "--mlflow", &nowhere]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach the MLflow server"),
        "{stderr}"
    );
    let run: Value = serde_json::from_str(&stdout).unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    assert_eq!(run["succeeded"], true);
    assert!(
        stderr.contains(&format!("runs mirror {run_id} --mlflow {nowhere}")),
        "{stderr}"
    );

    // A mirror that stopped half-way (made here by hand: the pipeline run's run without
    // `millrace.mirror = complete`) is deleted, and the run mirrored whole.
    let (_server, uri) = mlflow_server(&python, dir.path());
    let half = Command::new(&python)
        .arg("-c")
        .arg(format!(
            "import mlflow; c = mlflow.MlflowClient('{uri}'); \
             e = c.create_experiment('chicago-taxi'); \
             r = c.create_run(e, tags={{'millrace.run_id': '{run_id}', 'millrace.mirror': 'writing'}}); \
             print(r.info.run_id)"
        ))
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
    assert!(
        half.status.success(),
        "{}",
        String::from_utf8_lossy(&half.stderr)
    );
    let half_id = String::from_utf8_lossy(&half.stdout).trim().to_owned();
    let report = json_of(
        dir.path(),
        "taxi",
        &["runs", "mirror", run_id, "--mlflow", &uri],
    );
    assert_eq!(report["already_mirrored"], false, "{report:#}");
    assert_ne!(report["run_id"], half_id.as_str());
    assert_eq!(
        report["versions"][0]["aliases"],
        serde_json::json!(["champion"])
    );
    let there = mirrored(&python, &uri, run_id);
    assert_eq!(there["mirrors"], 1, "{there:#}");
    assert_eq!(there["run_id"], report["run_id"]);
    assert_eq!(there["tags"]["millrace.mirror"], "complete");
}
