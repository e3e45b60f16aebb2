//! A Python node that logs with the `mlflow` client inside a Millrace run: the launcher gives
//! it `MLFLOW_TRACKING_URI` and its own run, so its curve lands in the node's execution, on the
//! pipeline run (for `runs compare`), and the model it logs is a Model artifact the node's
//! execution produced.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use millrace_core::prelude::*;
use millrace_metadata::{EventQuery, EventType, NodeQuery};
use millrace_runner::LocalRunner;
use serde::{Deserialize, Serialize};

/// What the node runs: a training loop that logs with `mlflow`.
const SCRIPT: &str = r#"
import os, sys
import mlflow, numpy as np
from sklearn.linear_model import LinearRegression
epochs = int(sys.argv[2])
with mlflow.start_run():
    mlflow.log_param("lr", "0.01")
    for i in range(epochs):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    x = np.array([[1.0], [2.0], [3.0]])
    mlflow.sklearn.log_model(LinearRegression().fit(x, 2 * x[:, 0]), name="model")
open(os.path.join(sys.argv[1], "done.txt"), "w").write("ok")
"#;

/// Trains in Python, logging to MLflow.
#[derive(Debug, Serialize, Deserialize)]
struct MlflowTrainer {
    python: String,
    epochs: u32,
}

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
struct MlflowTrainerOutputs {
    #[allow(dead_code)] // Declares the output; no test wires it further.
    report: Channel<Metrics>,
}

impl Component for MlflowTrainer {
    const KIND: &'static str = "test.MlflowTrainer";
    type Inputs = ();
    type Outputs = MlflowTrainerOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(
            CommandSpec::new([self.python.as_str(), "-c", SCRIPT])
                .args(["{{outputs.report.uri}}".to_owned(), self.epochs.to_string()]),
        )
    }
}

fn pipeline(python: &str, epochs: u32) -> Pipeline {
    let mut p = Pipeline::builder("python-curves");
    p.add(
        "train",
        MlflowTrainer {
            python: python.to_owned(),
            epochs,
        }
        .with_inputs(()),
    );
    p.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_python_nodes_mlflow_curve_and_model_land_in_its_execution_and_in_runs_compare() {
    let Some(python) = common::python("MILLRACE_TEST_MLFLOW_PYTHON", "Python node with mlflow")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, root, server) = common::served(dir.path()).await;
    let runner = LocalRunner::new(Arc::clone(&store), &root).tracking_uri(server.uri());
    let short = runner
        .run(&pipeline(&python, 10), BTreeMap::new())
        .await
        .unwrap();
    assert!(short.succeeded, "{short:#?}");
    let long = runner
        .run(&pipeline(&python, 25), BTreeMap::new())
        .await
        .unwrap();
    assert!(long.succeeded, "{long:#?}");

    // The curve is in the node's run, which records the node's execution.
    let execution_id = long.node("train").unwrap().execution_id.unwrap();
    let node_run = store.run_of_execution(execution_id).await.unwrap().unwrap();
    assert_eq!(
        node_run.parent_run_id.as_deref(),
        Some(long.run_id.as_str())
    );
    let curve = store
        .metric_history(&node_run.run_id, "loss")
        .await
        .unwrap();
    assert_eq!(
        curve.iter().map(|point| point.step).collect::<Vec<_>>(),
        (0..25).collect::<Vec<_>>()
    );
    assert_eq!(
        store.get_run(&node_run.run_id).await.unwrap().params["lr"],
        "0.01"
    );

    // `runs compare` sees it on the pipeline runs.
    let comparison =
        millrace_runner::compare_runs(&*store, &[short.run_id.clone(), long.run_id.clone()])
            .await
            .unwrap();
    let loss = comparison
        .metrics
        .iter()
        .find(|row| row.key == "train.loss")
        .unwrap();
    assert_eq!(loss.values, [Some(0.1), Some(1.0 / 25.0)]);
    assert!(loss.differs);

    // The model it logged is a Model artifact the node's execution produced.
    let produced = store
        .get_events(&EventQuery::of_executions([execution_id]).of_types([EventType::Output]))
        .await
        .unwrap();
    let ids: Vec<i64> = produced.iter().map(|event| event.artifact_id).collect();
    let artifacts = store
        .get_artifacts(&NodeQuery::all().ids(ids))
        .await
        .unwrap();
    let model = artifacts
        .iter()
        .find(|artifact| artifact.type_name.as_deref() == Some("Model"))
        .expect("the logged model is an output of the node's execution");
    assert_eq!(model.state, millrace_metadata::ArtifactState::Live);
    assert!(
        std::path::Path::new(model.uri.as_deref().unwrap())
            .join("MLmodel")
            .is_file()
    );
    server.shutdown().await.unwrap();
}
