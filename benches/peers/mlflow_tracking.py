"""The tracking workload of issue 15 through MLflow's own Python client, against any
MLflow-compatible tracking server — the real `mlflow server` and Millrace's `serve` alike:

    python mlflow_tracking.py TRACKING_URI [--runs 10000] [--points 100000] [--label NAME]

1. `log_batch` of 1,000 metrics into one run (10 keys x 100 steps), median of 20;
2. creating N runs, each with two params and two metrics in one `log_batch`;
3. `search_runs` over them with a filter and an order: the first page of 1,000, and all pages;
4. `get_metric_history` of one metric of P points (logged first in batches of 1,000).

Prints one JSON object per measurement.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402


def report(label, name, seconds, **extra):
    print(json.dumps({"server": label, "measurement": name, "ms": round(seconds * 1000, 3), **extra}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--points", type=int, default=100000)
    parser.add_argument("--label", default="server")
    args = parser.parse_args()
    client = MlflowClient(tracking_uri=args.uri)
    experiment = client.create_experiment(f"bench-{os.getpid()}-{time.time_ns()}")

    run = client.create_run(experiment).info.run_id
    samples = []
    for repeat in range(20):
        metrics = [
            Metric(f"m{key}", 1.0 / (step + 1), 1796000000000 + step, repeat * 100 + step)
            for key in range(10)
            for step in range(100)
        ]
        started = time.perf_counter()
        client.log_batch(run, metrics=metrics)
        samples.append(time.perf_counter() - started)
    report(args.label, "log_batch_1000_metrics", statistics.median(samples))

    started = time.perf_counter()
    for index in range(args.runs):
        run_id = client.create_run(experiment).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("rmse", 3.0 + (index % 100) / 50.0, 0, 0), Metric("mae", 2.0, 0, 0)],
            params=[Param("max_depth", str(index % 16)), Param("trees", "40")],
        )
    elapsed = time.perf_counter() - started
    report(args.label, "create_runs", elapsed, runs=args.runs, runs_per_s=round(args.runs / elapsed))

    query = dict(filter_string="metrics.rmse < 4 and params.max_depth = '8'", order_by=["metrics.rmse ASC"])
    first, every = [], []
    for _ in range(5):
        started = time.perf_counter()
        page = client.search_runs([experiment], max_results=1000, **query)
        first.append(time.perf_counter() - started)
        started = time.perf_counter()
        found, token = 0, None
        while True:
            page = client.search_runs([experiment], max_results=1000, page_token=token, **query)
            found += len(page)
            token = page.token
            if not token:
                break
        every.append(time.perf_counter() - started)
    report(args.label, "search_runs_first_page", statistics.median(first), found=found)
    report(args.label, "search_runs_all_pages", statistics.median(every))
    unfiltered = []
    for _ in range(5):
        started = time.perf_counter()
        client.search_runs([experiment], max_results=1000)
        unfiltered.append(time.perf_counter() - started)
    report(args.label, "search_runs_unfiltered_first_page", statistics.median(unfiltered))

    run = client.create_run(experiment).info.run_id
    started = time.perf_counter()
    for first_step in range(0, args.points, 1000):
        count = min(1000, args.points - first_step)
        client.log_batch(run, metrics=[Metric("loss", 1.0 / (s + 1), 1796000000000 + s, s) for s in range(first_step, first_step + count)])
    report(args.label, "log_history", time.perf_counter() - started, points=args.points)
    reads = []
    for _ in range(3):
        started = time.perf_counter()
        history = client.get_metric_history(run, "loss")
        reads.append(time.perf_counter() - started)
        assert len(history) == args.points, len(history)
    report(args.label, "read_history", statistics.median(reads), points=args.points)


if __name__ == "__main__":
    main()
