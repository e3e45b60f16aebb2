"""No-op pipelines in Prefect 3, for the per-node overhead beside Millrace's runner.

    python prefect_noop.py NODES

A chain (each task takes the previous task's result) and a fan-out (one source, every other
task takes it), as one flow each, with Prefect's local ephemeral API (SQLite) recording every
task run. Prints one JSON object per shape, like crates/millrace-runner/benches/noop_pipeline.rs.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The local API server starts slowly on a small machine, and there is no network to report to.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, task  # noqa: E402


@task
def noop(upstream=None):
    return 0 if upstream is None else upstream


@flow
def chain(nodes: int):
    value = noop()
    for _ in range(1, nodes):
        value = noop(value)
    return value


@flow
def fan_out(nodes: int):
    source = noop()
    for _ in range(1, nodes):
        noop(source)
    return source


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    fan_out(2)  # Start the local API once, outside the measurement.
    for shape, body in [("chain", chain), ("fan_out", fan_out)]:
        started = time.perf_counter()
        body(nodes)
        seconds = time.perf_counter() - started
        print(json.dumps({"system": "prefect", "shape": shape, "nodes": nodes,
                          "seconds": round(seconds, 3),
                          "per_node_ms": round(seconds * 1000 / nodes, 3)}), flush=True)


if __name__ == "__main__":
    main()
