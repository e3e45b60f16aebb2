"""The server's own share of the tracking workload: MLflow's REST API driven over one
keep-alive HTTP connection with request bodies built before the clock starts, so that what is
timed is the request, the server's work and reading the reply — not a client library's objects:

    python mlflow_raw_http.py TRACKING_URI [--runs 10000] [--label NAME]

1. `runs/log-batch` of 1,000 metrics into one run (10 keys x 100 steps), median of 20;
2. creating N runs with `runs/create` and one `runs/log-batch` each (two params, two metrics);
3. `runs/search` over them with a filter and an order, first page of 1,000, median of 5;
4. the same unfiltered, median of 5.

Prints one JSON object per measurement (names prefixed `raw_`), as mlflow_tracking.py does.
Standard library only.
"""

import argparse
import http.client
import json
import os
import statistics
import time
import urllib.parse


def report(label, name, seconds, **extra):
    print(json.dumps({"server": label, "measurement": f"raw_{name}", "ms": round(seconds * 1000, 3), **extra}), flush=True)


class Api:
    def __init__(self, uri):
        parsed = urllib.parse.urlparse(uri)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port)

    def post(self, endpoint, body: bytes) -> bytes:
        self.connection.request(
            "POST", f"/api/2.0/mlflow/{endpoint}", body=body, headers={"Content-Type": "application/json"}
        )
        reply = self.connection.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{endpoint}: {reply.status} {data[:300]!r}")
        return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--points", type=int, default=0, help="ignored (mlflow_tracking.py's)")
    parser.add_argument("--label", default="server")
    args = parser.parse_args()
    api = Api(args.uri)
    name = f"raw-bench-{os.getpid()}-{time.time_ns()}"
    experiment = json.loads(api.post("experiments/create", json.dumps({"name": name}).encode()))["experiment_id"]

    def create_run():
        reply = api.post("runs/create", json.dumps({"experiment_id": experiment, "start_time": 1796000000000}).encode())
        return json.loads(reply)["run"]["info"]["run_id"]

    run = create_run()
    bodies = [
        json.dumps({
            "run_id": run,
            "metrics": [
                {"key": f"m{key}", "value": 1.0 / (step + 1), "timestamp": 1796000000000 + step, "step": repeat * 100 + step}
                for key in range(10)
                for step in range(100)
            ],
        }).encode()
        for repeat in range(20)
    ]
    samples = []
    for body in bodies:
        started = time.perf_counter()
        api.post("runs/log-batch", body)
        samples.append(time.perf_counter() - started)
    report(args.label, "log_batch_1000_metrics", statistics.median(samples))

    started = time.perf_counter()
    for index in range(args.runs):
        run_id = create_run()
        api.post("runs/log-batch", json.dumps({
            "run_id": run_id,
            "metrics": [
                {"key": "rmse", "value": 3.0 + (index % 100) / 50.0, "timestamp": 0, "step": 0},
                {"key": "mae", "value": 2.0, "timestamp": 0, "step": 0},
            ],
            "params": [{"key": "max_depth", "value": str(index % 16)}, {"key": "trees", "value": "40"}],
        }).encode())
    elapsed = time.perf_counter() - started
    report(args.label, "create_runs", elapsed, runs=args.runs, runs_per_s=round(args.runs / elapsed))

    for measurement, query in [
        ("search_runs_first_page", {"filter": "metrics.rmse < 4 and params.max_depth = '8'", "order_by": ["metrics.rmse ASC"]}),
        ("search_runs_unfiltered_first_page", {}),
    ]:
        body = json.dumps({"experiment_ids": [experiment], "max_results": 1000, **query}).encode()
        times, size = [], 0
        for _ in range(5):
            started = time.perf_counter()
            size = len(api.post("runs/search", body))
            times.append(time.perf_counter() - started)
        report(args.label, measurement, statistics.median(times), reply_bytes=size)


if __name__ == "__main__":
    main()
