#!/usr/bin/env python3
"""The peer of `runs mirror`: the same run written into an MLflow server by the `mlflow` client.

    mlflow_mirror.py TRACKING_URI MILLRACE_RUN_ID

Reads what Millrace's mirror wrote for MILLRACE_RUN_ID in experiment `chicago-taxi` (the
pipeline run, its nested runs with whole histories, its files, the versions it registered,
their files and aliases), downloads the files, and then — timed — writes the same into the
experiment `chicago-taxi-glue` the way MLflow glue code would: `create_run`, `log_batch`,
`log_artifact`, `create_model_version`, `set_registered_model_alias`, `set_terminated`.
Prints one JSON line: {"seconds": ..., "calls": ...}.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def files_of(client, run_id, target, path=None):
    found = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found.extend(files_of(client, run_id, target, item.path))
        else:
            found.append((item.path, client.download_artifacts(run_id, item.path, target)))
    return found


def snapshot(client, run):
    return {
        "name": run.info.run_name,
        "start": run.info.start_time,
        "end": run.info.end_time,
        "status": run.info.status,
        "params": run.data.params,
        "tags": {k: v for k, v in run.data.tags.items() if k != "mlflow.parentRunId"},
        "history": [m for key in run.data.metrics for m in client.get_metric_history(run.info.run_id, key)],
    }


def main():
    uri, millrace_run = sys.argv[1:3]
    client = MlflowClient(uri)
    source = client.get_experiment_by_name("chicago-taxi")
    parent = client.search_runs([source.experiment_id], f"tags.`millrace.run_id` = '{millrace_run}'")[0]
    children = client.search_runs([source.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    work = tempfile.mkdtemp()
    runs = [(snapshot(client, parent), files_of(client, parent.info.run_id, work), None)]
    for child in children:
        runs.append((snapshot(client, child), files_of(client, child.info.run_id, work), child.info.run_id))
    versions = [v for v in client.search_model_versions("name = 'taxi'") if v.run_id in {c.info.run_id for c in children}]
    versions = [(client.get_model_version("taxi", v.version), v.run_id) for v in versions]

    calls = 0
    started = time.perf_counter()
    experiment = client.get_experiment_by_name("chicago-taxi-glue")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("chicago-taxi-glue")
    calls += 1 if experiment else 2
    remote = {}
    parent_id = None
    for info, files, source_id in runs:
        tags = dict(info["tags"])
        if parent_id is not None:
            tags["mlflow.parentRunId"] = parent_id
        run = client.create_run(experiment_id, start_time=info["start"], tags=tags, run_name=info["name"])
        calls += 1
        if parent_id is None:
            parent_id = run.info.run_id
        remote[source_id] = run.info.run_id
        params = [Param(k, v) for k, v in info["params"].items()]
        metrics = [Metric(m.key, m.value, m.timestamp, m.step) for m in info["history"]]
        for i in range(0, max(len(params), len(metrics), 1), 100):
            client.log_batch(run.info.run_id, metrics=metrics[i:i + 100], params=params[i:i + 100])
            calls += 1
        for path, local in files:
            client.log_artifact(run.info.run_id, local, os.path.dirname(path) or None)
            calls += 1
        client.set_terminated(run.info.run_id, info["status"], info["end"])
        calls += 1
    for version, source_run in versions:
        try:
            client.create_registered_model("taxi-glue")
            calls += 1
        except mlflow.exceptions.MlflowException:
            calls += 1
        run_id = remote[source_run]
        source = f"{client.get_run(run_id).info.artifact_uri}/models/taxi/{version.tags['millrace.version']}"
        calls += 1
        made = client.create_model_version("taxi-glue", source, run_id, tags=version.tags)
        calls += 1
        for alias in version.aliases:
            client.set_registered_model_alias("taxi-glue", alias, made.version)
            calls += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "calls": calls}))


if __name__ == "__main__":
    main()
