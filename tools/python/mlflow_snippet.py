"""The acceptance snippet of Millrace's MLflow API: the calls a training script makes with the
official `mlflow` client, run unchanged against any MLflow-compatible tracking server.

    python mlflow_snippet.py TRACKING_URI

Prints one JSON object of everything it observed; exits non-zero naming the first step that
failed. Works with the MLflow 3 client (and MLflow 2's, which logs models with artifact_path=).
"""

import json
import os
import sys
import tempfile
import traceback

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

observed = {"mlflow_version": mlflow.__version__}
step = "start"


def main(uri):
    global step
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    step = "set_experiment"
    experiment = mlflow.set_experiment("demo-exp")
    observed["experiment_id"] = experiment.experiment_id
    step = "start_run"
    with mlflow.start_run(run_name="r1") as run:
        run_id = run.info.run_id
        observed["run_id"] = run_id
        step = "log_param"
        mlflow.log_param("lr", 0.01)
        step = "log_metric"
        for i in range(20):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        step = "set_tag"
        mlflow.set_tag("team", "fares")
        step = "log_batch"
        mlflow.log_params({"max_depth": 8, "trees": 40})
        mlflow.log_metrics({"rmse": 3.9, "mae": 2.1}, step=3)
        step = "log_artifact"
        with tempfile.TemporaryDirectory() as scratch:
            notes = os.path.join(scratch, "notes.txt")
            with open(notes, "w") as handle:
                handle.write("hello")
            mlflow.log_artifact(notes)
            mlflow.log_artifact(notes, "docs")
        step = "log_model"
        features = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
        target = features @ np.array([2.0, -1.0]) + 0.5
        model = LinearRegression().fit(features, target)
        if int(mlflow.__version__.split(".")[0]) >= 3:
            mlflow.sklearn.log_model(model, name="model")
        else:
            mlflow.sklearn.log_model(model, artifact_path="model")
    step = "search_runs"
    found = mlflow.search_runs(
        experiment_names=["demo-exp"], filter_string="metrics.loss < 1", order_by=["metrics.loss ASC"]
    )
    observed["searched"] = list(found["run_id"])
    observed["searched_max_depth"] = list(found["params.max_depth"])
    step = "get_metric_history"
    history = client.get_metric_history(run_id, "loss")
    observed["loss_steps"] = [point.step for point in history]
    observed["loss_last"] = history[-1].value
    step = "get_run"
    finished = client.get_run(run_id)
    observed["status"] = finished.info.status
    observed["params"] = dict(finished.data.params)
    observed["tags_team"] = finished.data.tags.get("team")
    step = "list_artifacts"
    observed["artifacts"] = sorted(entry.path for entry in client.list_artifacts(run_id))
    observed["docs"] = sorted(entry.path for entry in client.list_artifacts(run_id, "docs"))
    step = "download_artifacts"
    with tempfile.TemporaryDirectory() as scratch:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes.txt", dst_path=scratch)
        with open(path) as handle:
            observed["downloaded"] = handle.read()
    step = "register_model"
    if int(mlflow.__version__.split(".")[0]) >= 3:
        logged = mlflow.search_logged_models(experiment_ids=[experiment.experiment_id], output_format="list")
        source = f"models:/{logged[0].model_id}"
    else:
        source = f"runs:/{run_id}/model"
    version = mlflow.register_model(source, "taxi")
    observed["version"] = version.version
    second = mlflow.register_model(source, "taxi")
    observed["second_version"] = second.version
    step = "set_registered_model_alias"
    client.set_registered_model_alias("taxi", "champion", version.version)
    step = "get_model_version_by_alias"
    champion = client.get_model_version_by_alias("taxi", "champion")
    observed["champion"] = champion.version
    observed["champion_aliases"] = list(champion.aliases)
    step = "transition_model_version_stage"
    moved = client.transition_model_version_stage("taxi", second.version, "Production")
    observed["stage"] = moved.current_stage
    step = "search_model_versions"
    versions = client.search_model_versions("name='taxi'")
    observed["versions"] = sorted(v.version for v in versions)
    step = "set_model_version_tag"
    client.set_model_version_tag("taxi", version.version, "validated", "yes")
    observed["version_tags"] = dict(client.get_model_version("taxi", version.version).tags)
    step = "search_registered_models"
    observed["registered_models"] = [model.name for model in client.search_registered_models()]
    step = "pyfunc.load_model"
    loaded = mlflow.pyfunc.load_model("models:/taxi@champion")
    observed["prediction"] = float(loaded.predict(np.array([[1.0, 1.0]]))[0])
    observed["expected_prediction"] = float(model.predict(np.array([[1.0, 1.0]]))[0])
    step = "errors"
    try:
        client.get_run("0" * 32)
        observed["unknown_run"] = "found"
    except mlflow.exceptions.MlflowException as error:
        observed["unknown_run"] = error.error_code
    try:
        client.create_registered_model("taxi")
        observed["duplicate_model"] = "created"
    except mlflow.exceptions.MlflowException as error:
        observed["duplicate_model"] = error.error_code
    try:
        mlflow.search_runs(experiment_names=["demo-exp"], filter_string="metrics.loss <")
        observed["invalid_filter"] = "accepted"
    except mlflow.exceptions.MlflowException as error:
        observed["invalid_filter"] = error.error_code


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception:  # noqa: BLE001 - report the failing step and its trace
        traceback.print_exc()
        print(json.dumps({"failed_step": step, **observed}))
        sys.exit(1)
    print(json.dumps(observed))
