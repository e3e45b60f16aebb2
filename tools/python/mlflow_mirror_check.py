#!/usr/bin/env python3
"""Read a Millrace run mirrored into an MLflow server back through MLflow's own client.

    mlflow_mirror_check.py TRACKING_URI EXPERIMENT MILLRACE_RUN_ID

Prints one JSON document: the pipeline run (status, parameters, metrics, Millrace's tags), its
nested runs (name, parent, every metric's history as [step, value] pairs), every file of the
pipeline run, the versions of each registered model with their aliases, tags and source files,
and how many runs there carry the Millrace run id (a second mirror must not add any).
The Rust tests run it after `run --mlflow URL` against a real `mlflow server`.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def all_files(client, run_id, path=None):
    found = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found.extend(all_files(client, run_id, item.path))
        else:
            found.append(item.path)
    return sorted(found)


def main():
    uri, experiment_name, millrace_run = sys.argv[1:4]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(experiment_name)
    mirrored = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`millrace.run_id` = '{millrace_run}'",
    )
    parent = mirrored[0]
    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
        order_by=["attributes.run_name ASC"],
    )
    nested = {}
    for child in children:
        nested[child.info.run_name] = {
            "parent": child.data.tags.get("mlflow.parentRunId"),
            "status": child.info.status,
            "params": child.data.params,
            "histories": {
                key: [[m.step, m.value] for m in client.get_metric_history(child.info.run_id, key)]
                for key in child.data.metrics
            },
            "files": all_files(client, child.info.run_id),
        }
    models = {}
    for model in client.search_registered_models():
        versions = {}
        for version in client.search_model_versions(f"name = '{model.name}'"):
            with tempfile.TemporaryDirectory() as target:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=client.get_model_version_download_uri(model.name, version.version),
                    dst_path=target,
                )
                files = sorted(
                    os.path.relpath(os.path.join(root, name), local)
                    for root, _, names in os.walk(local)
                    for name in names
                )
            # Searches leave aliases out; the version itself has them.
            full = client.get_model_version(model.name, version.version)
            versions[version.version] = {
                "aliases": sorted(full.aliases),
                "tags": version.tags,
                "run_id": version.run_id,
                "stage": version.current_stage,
                "files": files,
            }
        models[model.name] = versions
    champion = None
    try:
        champion = client.get_model_version_by_alias("taxi", "champion").version
    except Exception:  # noqa: BLE001 - no champion is an answer too
        pass
    print(json.dumps({
        "mlflow_version": mlflow.__version__,
        "mirrors": len([run for run in mirrored if "mlflow.parentRunId" not in run.data.tags]),
        "run_id": parent.info.run_id,
        "status": parent.info.status,
        "run_name": parent.info.run_name,
        "params": parent.data.params,
        "metrics": parent.data.metrics,
        "tags": {key: value for key, value in parent.data.tags.items() if key.startswith("millrace.")},
        "files": all_files(client, parent.info.run_id),
        "nested": nested,
        "models": models,
        "champion": champion,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
