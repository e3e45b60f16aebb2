//! Exported DAGs in the real Apache Airflow 3.3.2 (`cargo xtask test` installs it into a venv
//! and sets `MILLRACE_TEST_AIRFLOW_PYTHON`): they load into a DagBag with the pipelines' tasks
//! and edges, and `dag.test()` runs them — `airflow dags test` in one process, with no scheduler
//! or webserver — with the metadata in SQLite and in PostgreSQL. (Like `tests/examples.rs`, this
//! runs the example binaries that `cargo test` builds.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod example_binaries;

use example_binaries::{example, node_states};
use millrace::metadata::{EventQuery, MetadataStore, NodeQuery};

/// The conformance example's hostile text (`examples/conformance.rs`).
const HOSTILE: &str = "It's \"quoted\"\nnew line\t{{ run_id }} {% if %} ''' \"\"\" \\ $HOME `date` ; rm -rf / café → 😀";

/// An Airflow home with a migrated database and a dags folder, or `None` (said) without Airflow.
struct Airflow {
    python: PathBuf,
    home: tempfile::TempDir,
}

impl Airflow {
    fn new(suite: &str) -> Option<Airflow> {
        let python = match std::env::var_os("MILLRACE_TEST_AIRFLOW_PYTHON") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => {
                // Straight to the terminal, past the test harness's capture: a plain `cargo test`
                // shows which suites skipped.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED (airflow {suite}): MILLRACE_TEST_AIRFLOW_PYTHON is not set; `cargo \
                     xtask test` installs Apache Airflow 3.3.2 into a venv and sets it"
                );
                return None;
            }
        };
        let airflow = Airflow {
            python,
            home: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(airflow.dags()).unwrap();
        let output = airflow
            .command(&airflow.cli())
            .args(["db", "migrate"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "airflow db migrate: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(airflow)
    }

    /// A SQLite metadata store in the Airflow home.
    fn sqlite_store(&self) -> String {
        format!(
            "sqlite://{}",
            self.home.path().join("millrace.sqlite").display()
        )
    }

    /// The venv's `airflow` command.
    fn cli(&self) -> PathBuf {
        self.python.parent().unwrap().join("airflow")
    }

    fn dags(&self) -> PathBuf {
        self.home.path().join("dags")
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("AIRFLOW_HOME", self.home.path())
            .env("AIRFLOW__CORE__DAGS_FOLDER", self.dags())
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env("PYTHONWARNINGS", "ignore")
            .current_dir(self.home.path());
        command
    }

    /// Writes the DAG of a pipeline built here into the dags folder (its binary a made-up
    /// path, its store unused); returns the DAG's source.
    fn export_pipeline(&self, pipeline: &millrace::prelude::Pipeline) -> String {
        let options = millrace::airflow::AirflowOptions {
            binary: format!("/usr/local/bin/{}", pipeline.name()),
            store: Some("sqlite:///unused.sqlite".to_owned()),
            root: None,
        };
        let source = millrace::airflow::export_dag(pipeline, &options).unwrap();
        std::fs::write(
            self.dags().join(millrace::airflow::dag_file_name(pipeline)),
            &source,
        )
        .unwrap();
        source
    }

    /// Writes the DAG of example `name` into the dags folder, its tasks using `store`.
    fn export(&self, name: &str, store: &str) {
        let root = self.home.path().join("artifacts");
        let output = Command::new(example(name))
            .args(["compile", "--target", "airflow", "--out"])
            .arg(self.dags())
            .args(["--store", store, "--root"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs `tools/airflow/airflow_check.py` with `arguments`; its JSON result.
    fn check(&self, arguments: &[&str]) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/airflow/airflow_check.py");
        let output = self
            .command(&self.python)
            .arg(script)
            .args(arguments)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let result = stdout
            .lines()
            .find_map(|line| line.strip_prefix("MILLRACE_RESULT "))
            .unwrap_or_else(|| {
                panic!(
                    "no result from airflow_check.py {arguments:?}: {stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        serde_json::from_str(result).unwrap()
    }
}

/// The IR of example `name`: node ids and dependency edges `(upstream, downstream)`.
fn pipeline_shape(
    name: &str,
) -> (
    BTreeSet<String>,
    BTreeSet<(String, String)>,
    serde_json::Value,
) {
    let output = Command::new(example(name))
        .args(["compile"])
        .output()
        .unwrap();
    let ir: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for node in ir["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap().to_owned();
        if let Some(inputs) = node["inputs"].as_object() {
            for input in inputs.values() {
                let upstream = input["channel"]["node"].as_str().unwrap().to_owned();
                edges.insert((upstream, id.clone()));
            }
        }
        nodes.insert(id);
    }
    (nodes, edges, ir)
}

fn dag_shape(dag: &serde_json::Value) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let tasks = dag["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task.as_str().unwrap().to_owned())
        .collect();
    let edges = dag["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                edge[0].as_str().unwrap().to_owned(),
                edge[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (tasks, edges)
}

#[test]
fn exported_dags_load_into_a_dagbag_with_the_pipelines_tasks_and_edges() {
    let Some(airflow) = Airflow::new("dagbag") else {
        return;
    };
    for name in ["hello", "taxi", "conformance"] {
        airflow.export(name, "sqlite:///unused.sqlite");
    }
    let loaded = airflow.check(&["load"]);
    assert_eq!(loaded["import_errors"], serde_json::json!({}), "{loaded:#}");
    for (name, dag_id) in [("hello", "hello"), ("taxi", "chicago-taxi")] {
        let (nodes, edges, _) = pipeline_shape(name);
        let (tasks, dag_edges) = dag_shape(&loaded["dags"][dag_id]);
        assert_eq!(tasks, nodes, "{name}");
        assert_eq!(dag_edges, edges, "{name}");
    }

    // The conformance pipeline: its edges, the exit handler after every other task, the
    // watcher, and the hostile strings passed through literally.
    let (nodes, mut edges, _) = pipeline_shape("conformance");
    let dag = &loaded["dags"]["conformance"];
    let (tasks, dag_edges) = dag_shape(dag);
    let mut expected_tasks = nodes.clone();
    expected_tasks.insert("millrace_watcher".to_owned());
    assert_eq!(tasks, expected_tasks);
    for node in nodes.iter().filter(|node| *node != "cleanup") {
        edges.insert((node.clone(), "cleanup".to_owned()));
        edges.insert((node.clone(), "millrace_watcher".to_owned()));
    }
    assert_eq!(dag_edges, edges);
    assert_eq!(dag["trigger_rules"]["cleanup"], "TriggerRule.ALL_DONE");
    assert_eq!(dag["retries"]["flaky"], 2);
    assert_eq!(dag["pools"]["after_fragile"], "default_pool");
    assert_eq!(dag["schedule"], "30 3 * * 1-5");
    assert_eq!(dag["timetable"], "CronTriggerTimetable");
    assert_eq!(dag["timezone"], "UTC");
    assert_eq!(dag["catchup"], false);
    assert_eq!(dag["max_active_runs"], 1);
    assert_eq!(dag["start_date"], "2026-06-01T00:00:00+00:00");
    assert_eq!(dag["operators"]["echo"], "BashOperator");
    assert_eq!(dag["params"]["message"], HOSTILE);
    assert_eq!(
        dag["doc_md"]
            .as_str()
            .unwrap()
            .lines()
            .take(3)
            .collect::<Vec<_>>()
            .join("\n"),
        format!(
            "Exporter conformance.\n{}",
            HOSTILE.lines().take(2).collect::<Vec<_>>().join("\n")
        )
    );
    assert!(
        dag["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tag| tag == HOSTILE),
        "{dag:#}"
    );
}

/// Counts of a store's executions by state, artifacts by type and state, and events by type.
async fn lineage_counts(store: &dyn MetadataStore) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for execution in store.get_executions(&NodeQuery::all()).await.unwrap() {
        let node = execution
            .custom_properties
            .get("node_id")
            .map(|value| value.to_json().to_string())
            .unwrap_or_default();
        *counts
            .entry(format!("execution {node} {:?}", execution.last_known_state))
            .or_default() += 1;
    }
    for artifact in store.get_artifacts(&NodeQuery::all()).await.unwrap() {
        *counts
            .entry(format!(
                "artifact {} {:?}",
                artifact.type_name.unwrap_or_default(),
                artifact.state
            ))
            .or_default() += 1;
    }
    for event in store.get_events(&EventQuery::default()).await.unwrap() {
        *counts
            .entry(format!("event {:?}", event.event_type))
            .or_default() += 1;
    }
    counts
}

/// Runs hello and taxi in Airflow with the metadata at `store`, and locally with a fresh SQLite
/// store; the lineage recorded is the same.
fn runs_like_a_local_run(airflow: &Airflow, store: &str) {
    airflow.export("hello", store);
    airflow.export("taxi", store);
    let ran = airflow.check(&["test", "hello", "chicago-taxi"]);
    for run in ran["runs"].as_array().unwrap() {
        assert_eq!(run["state"], "success", "{run:#}");
        for (task, state) in run["tasks"].as_object().unwrap() {
            let expected = if task == "shout" {
                "skipped"
            } else {
                "success"
            };
            assert_eq!(state["state"], expected, "{task}: {run:#}");
        }
    }

    let local = tempfile::tempdir().unwrap();
    let local_store = format!(
        "sqlite://{}",
        local.path().join("metadata.sqlite").display()
    );
    for name in ["hello", "taxi"] {
        let output = Command::new(example(name))
            .args(["run", "--store", &local_store, "--root"])
            .arg(local.path().join("artifacts"))
            .env("TAXI_SERVING", local.path().join("serving"))
            .current_dir(local.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (in_airflow, locally) = runtime.block_on(async {
        let in_airflow = millrace::metadata::connect(store).await.unwrap();
        let locally = millrace::metadata::connect(&local_store).await.unwrap();
        (
            lineage_counts(&*in_airflow).await,
            lineage_counts(&*locally).await,
        )
    });
    assert_eq!(in_airflow, locally);
}

#[test]
fn hello_and_taxi_run_in_airflow_as_they_run_locally_on_sqlite() {
    let Some(airflow) = Airflow::new("sqlite") else {
        return;
    };
    let store = airflow.sqlite_store();
    runs_like_a_local_run(&airflow, &store);
}

#[test]
fn hello_and_taxi_run_in_airflow_as_they_run_locally_on_postgres() {
    let server = match std::env::var("MILLRACE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            // Straight to the terminal, past the test harness's capture: a plain `cargo test`
            // shows which suites skipped.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (airflow postgres): MILLRACE_TEST_POSTGRES_URL is not set; `cargo xtask \
                 test` starts a throwaway server and sets it"
            );
            return;
        }
    };
    let Some(airflow) = Airflow::new("postgres") else {
        return;
    };
    // A schema of its own on the shared test server.
    let schema = format!("airflow_{}", std::process::id());
    let statement = format!("CREATE SCHEMA {schema}");
    let server_url = server.clone();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&server_url, postgres::NoTls).unwrap();
        client.batch_execute(&statement).unwrap();
    })
    .join()
    .unwrap();
    let separator = if server.contains('?') { '&' } else { '?' };
    let store = format!("{server}{separator}options=-c%20search_path%3D{schema}");
    runs_like_a_local_run(&airflow, &store);
}

/// The states of a run's nodes in the store, as `runs show` reports them.
fn stored_states(store: &str, run_id: &str) -> BTreeMap<String, String> {
    let output = Command::new(example("conformance"))
        .args(["runs", "show", run_id, "--json", "--store", store])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("runs show: {}", String::from_utf8_lossy(&output.stderr)));
    node_states(&shown)
}

#[test]
fn failures_retries_skips_the_exit_handler_caching_and_hostile_strings() {
    let Some(airflow) = Airflow::new("conformance") else {
        return;
    };
    let store = airflow.sqlite_store();
    airflow.export("conformance", &store);
    let attempts = airflow.home.path().join("attempts");
    let conf = serde_json::json!({ "attempts_dir": attempts.display().to_string() }).to_string();
    // Another hostile message through the run's configuration, as a user triggering it would.
    let message = "conf: \"{{ dag_run }}\" '; exit 3; ' \\n ünïcødé";
    let with_message = serde_json::json!({
        "attempts_dir": attempts.display().to_string(),
        "message": message,
    })
    .to_string();
    let failing = serde_json::json!({
        "attempts_dir": attempts.display().to_string(),
        "message": message,
        "fail": true,
    })
    .to_string();
    let ran = airflow.check(&[
        "test",
        "conformance",
        &conf,
        "conformance",
        &conf,
        "conformance",
        &with_message,
        "conformance",
        &failing,
    ]);
    let runs = ran["runs"].as_array().unwrap();
    let state = |run: &serde_json::Value, task: &str| {
        (
            run["tasks"][task]["state"]
                .as_str()
                .unwrap_or("none")
                .to_owned(),
            run["tasks"][task]["try_number"].as_i64().unwrap_or(0),
        )
    };

    // First run: the flaky node fails its first try and succeeds on Airflow's retry; the node
    // whose condition is false is skipped; the watcher has nothing to do.
    let first = &runs[0];
    assert_eq!(first["state"], "success", "{first:#}");
    assert_eq!(state(first, "flaky"), ("success".to_owned(), 2));
    assert_eq!(state(first, "skipped_count").0, "skipped");
    assert_eq!(state(first, "millrace_watcher").0, "skipped");
    assert_eq!(state(first, "cleanup").0, "success");
    // The messages `echo` wrote, oldest first (runs 1 and 3 executed it; 2 and 4 reused it).
    let root = airflow.home.path().join("artifacts/conformance/echo/out");
    let messages = || {
        let mut dirs: Vec<(u64, PathBuf)> = std::fs::read_dir(&root)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter_map(|dir| Some((dir.file_name()?.to_str()?.parse().ok()?, dir)))
            .collect();
        dirs.sort();
        dirs.into_iter()
            .map(|(_, dir)| std::fs::read_to_string(dir.join("message.txt")).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(messages()[0], HOSTILE, "the default arrives byte for byte");

    // Second run, unchanged: Airflow runs every task, Millrace serves every node from the cache.
    let second = &runs[1];
    assert_eq!(second["state"], "success", "{second:#}");
    let states = stored_states(&store, second["run_id"].as_str().unwrap());
    for (node, node_state) in &states {
        let expected = match node.as_str() {
            "skipped_count" => "skipped",
            _ => "cached",
        };
        assert_eq!(node_state, expected, "{node}: {states:?}");
    }

    // Third run: a hostile message from the run's configuration arrives literally.
    assert_eq!(runs[2]["state"], "success", "{:#}", runs[2]);
    assert_eq!(messages(), [HOSTILE, message]);

    // Fourth run: `fragile` fails, its downstream task is upstream_failed, the exit handler
    // still runs, and the watcher fails the run.
    let fourth = &runs[3];
    assert_eq!(fourth["state"], "failed", "{fourth:#}");
    assert_eq!(state(fourth, "fragile"), ("failed".to_owned(), 1));
    assert_eq!(state(fourth, "after_fragile").0, "upstream_failed");
    assert_eq!(state(fourth, "cleanup").0, "success");
    assert_eq!(state(fourth, "millrace_watcher").0, "failed");
}

#[test]
fn run_node_refuses_a_dag_of_another_build() {
    let output = Command::new(example("hello"))
        .args([
            "run-node",
            "--run-id",
            "r1",
            "--node",
            "greet",
            "--fingerprint",
            "0123",
        ])
        .env("MILLRACE_STORE", "memory://")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("different builds"), "{stderr}");
}

#[test]
fn a_node_with_an_image_becomes_a_kubernetes_pod() {
    let Some(airflow) = Airflow::new("kubernetes") else {
        return;
    };
    let output = Command::new(example("conformance"))
        .args(["compile", "--target", "airflow", "--out"])
        .arg(airflow.dags())
        .args(["--binary", "/usr/local/bin/conformance"])
        .env("CONFORMANCE_IMAGE", "registry.example/conformance:1.0")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let loaded = airflow.check(&["load"]);
    assert_eq!(loaded["import_errors"], serde_json::json!({}), "{loaded:#}");
    let dag = &loaded["dags"]["conformance"];
    assert_eq!(dag["operators"]["echo"], "KubernetesPodOperator");
    assert_eq!(dag["images"]["echo"], "registry.example/conformance:1.0");
    assert_eq!(dag["operators"]["flaky"], "BashOperator");
}

#[test]
fn the_airflow_dags_test_command_runs_hello() {
    let Some(airflow) = Airflow::new("dags test") else {
        return;
    };
    let store = airflow.sqlite_store();
    airflow.export("hello", &store);
    let output = airflow
        .command(&airflow.cli())
        .args([
            "dags",
            "test",
            "hello",
            "-c",
            r#"{"name": "Airflow \"CLI\" {{ ti }}", "loud": true}"#,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "airflow dags test: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The run is in Millrace's store, every node complete.
    let listed = Command::new(example("hello"))
        .args(["runs", "list", "--json", "--store", &store])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs:#}");
    assert_eq!(runs[0]["nodes"]["complete"], 3, "{runs:#}");
    let shouted = std::fs::read_dir(airflow.home.path().join("artifacts/hello/shout"))
        .unwrap()
        .flat_map(|output| std::fs::read_dir(output.unwrap().path()).unwrap())
        .map(|dir| std::fs::read_to_string(dir.unwrap().path().join("greeting.txt")).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(shouted, ["HELLO, AIRFLOW \"CLI\" {{ TI }}!\n"]);
}

/// A pipeline with a sharded StatisticsGen (on the workers) and a sharded BulkInferrer (in an
/// image), compiled in process.
fn sharded_pipeline() -> millrace::prelude::Pipeline {
    use millrace::components::model::{Algorithm, BulkInferrer, Trainer};
    use millrace::components::{CsvExampleGen, SchemaGen, StatisticsGen};
    use millrace::prelude::*;
    let mut p = Pipeline::builder("sharded");
    let ingest = p.add("example_gen", CsvExampleGen::new("data/*.csv"));
    let stats = p.add(
        "statistics_gen",
        StatisticsGen::new(ingest.examples).shards(4).retries(2),
    );
    p.add("schema_gen", SchemaGen::new(stats.statistics));
    let trained = p.add(
        "trainer",
        Trainer::new(ingest.examples, Algorithm::LinearRegression, "fare"),
    );
    p.add(
        "bulk_inferrer",
        BulkInferrer::new(ingest.examples, trained.model)
            .shards(3)
            .image("registry.example/sharded:1"),
    );
    p.build().unwrap()
}

#[test]
fn a_sharded_node_is_a_mapped_task_before_its_merge_in_a_dagbag() {
    let Some(airflow) = Airflow::new("sharded") else {
        return;
    };
    airflow.export_pipeline(&sharded_pipeline());
    let loaded = airflow.check(&["load"]);
    assert_eq!(loaded["import_errors"], serde_json::json!({}), "{loaded:#}");
    let dag = &loaded["dags"]["sharded"];
    let (tasks, edges) = dag_shape(dag);
    for task in [
        "statistics_gen.shards",
        "statistics_gen",
        "bulk_inferrer.shards",
    ] {
        assert!(tasks.contains(task), "{task}: {tasks:?}");
    }
    for (upstream, downstream) in [
        ("example_gen", "statistics_gen.shards"),
        ("statistics_gen.shards", "statistics_gen"),
        ("statistics_gen", "schema_gen"),
        ("trainer", "bulk_inferrer.shards"),
        ("bulk_inferrer.shards", "bulk_inferrer"),
    ] {
        assert!(
            edges.contains(&(upstream.to_owned(), downstream.to_owned())),
            "{upstream} >> {downstream}: {edges:?}"
        );
    }
    assert!(!edges.contains(&("example_gen".to_owned(), "statistics_gen".to_owned())));
    // Mapped operators: Airflow expands them into one instance per shard at run time.
    assert_eq!(
        dag["operators"]["statistics_gen.shards"], "MappedOperator",
        "{dag:#}"
    );
    assert_eq!(
        dag["operators"]["bulk_inferrer.shards"], "MappedOperator",
        "{dag:#}"
    );
    assert_eq!(dag["retries"]["statistics_gen.shards"], 2, "{dag:#}");
}

#[test]
fn a_schedule_in_a_time_zone_is_read_in_that_zone_by_airflow() {
    use millrace::prelude::*;
    let Some(airflow) = Airflow::new("zoned") else {
        return;
    };
    let mut p = Pipeline::builder("zoned");
    p.import("schema", Importer::<Schema>::new("data/schema.json"));
    p.schedule(
        Schedule::cron("30 3 * * *")
            .start_date("2026-06-01")
            .timezone("Europe/Paris"),
    );
    let source = airflow.export_pipeline(&p.build().unwrap());
    assert!(
        source.contains("pendulum.timezone(\"Europe/Paris\")"),
        "{source}"
    );
    let loaded = airflow.check(&["load"]);
    assert_eq!(loaded["import_errors"], serde_json::json!({}), "{loaded:#}");
    let dag = &loaded["dags"]["zoned"];
    assert_eq!(dag["timetable"], "CronTriggerTimetable");
    // Midnight in Paris, summer time (Airflow keeps it in UTC): the DAG's time zone is
    // Paris, so its cron fires at 03:30 there.
    assert_eq!(dag["start_date"], "2026-05-31T22:00:00+00:00", "{dag:#}");
    assert_eq!(dag["timezone"], "Europe/Paris", "{dag:#}");
}
