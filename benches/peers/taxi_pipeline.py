"""The Chicago taxi pipeline (examples/taxi/) end to end, split by node, with the time spent
outside model fitting.

    cargo build --release --example taxi
    python3 benches/peers/taxi_pipeline.py [RUNS]        (default 5)
    TAXI_BINARY=path/to/taxi python3 benches/peers/taxi_pipeline.py    (another build, to compare)

Each run starts from an empty store and artifact root (every node executes), then runs once more
unchanged (every component cached). Node times come from the metadata store's execution
timestamps (RUNNING recorded → COMPLETE recorded), fitting time from the trainer's `fit_seconds`
metric. Standard library only.
"""

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("TAXI_BINARY") or os.path.join(ROOT, "target", "release", "examples", "taxi")


def run(directory):
    env = dict(
        os.environ,
        MILLRACE_STORE="sqlite://" + os.path.join(directory, "metadata.sqlite"),
        MILLRACE_ROOT=os.path.join(directory, "artifacts"),
    )
    started = time.perf_counter()
    output = subprocess.run(
        [BINARY, "run", "--json"], cwd=directory, env=env, check=True, capture_output=True
    )
    wall = time.perf_counter() - started
    return wall, json.loads(output.stdout)


def node_times(directory, run_id):
    """node → (milliseconds, fit seconds or None) for the executions of `run_id`."""
    db = sqlite3.connect(os.path.join(directory, "metadata.sqlite"))
    rows = db.execute(
        """
        SELECT e.id, e.create_time_since_epoch, e.last_update_time_since_epoch,
               node.string_value, fit.double_value
        FROM Execution e
        JOIN ExecutionProperty node ON node.execution_id = e.id AND node.name = 'node_id'
        JOIN ExecutionProperty run ON run.execution_id = e.id AND run.name = 'run_id'
        LEFT JOIN ExecutionProperty fit ON fit.execution_id = e.id AND fit.name = 'metric.fit_seconds'
        WHERE run.string_value = ?
        """,
        (run_id,),
    ).fetchall()
    return {node: (end - start, fit) for _, start, end, node, fit in rows}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"{BINARY} is missing: cargo build --release --example taxi")
    first, cached, per_node, fits = [], [], {}, []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as directory:
            wall, summary = run(directory)
            first.append(wall)
            for node, (ms, fit) in node_times(directory, summary["run_id"]).items():
                per_node.setdefault(node, []).append(ms)
                if fit is not None:
                    fits.append(fit)
            wall, summary = run(directory)
            states = {n["node"]: n["state"] for n in summary["nodes"]}
            assert all(
                state == "cached" for node, state in states.items() if not node.startswith(("latest_", "previous_"))
            ), states
            cached.append(wall)
    median = statistics.median
    fit = median(fits)
    total = median(first)
    print(f"taxi pipeline, {runs} runs from an empty store (medians):")
    print(f"  end to end (process start to exit): {total * 1000:.0f} ms")
    print(f"  model fitting (trainer's fit_seconds): {fit * 1000:.0f} ms")
    print(f"  outside fitting: {(total - fit) * 1000:.0f} ms ({(total - fit) / total:.0%})")
    print(f"  unchanged rerun, fully cached: {median(cached) * 1000:.0f} ms")
    print("  per node (RUNNING → COMPLETE in the store):")
    for node, times in sorted(per_node.items(), key=lambda item: -median(item[1])):
        print(f"    {node:<22} {median(times):6.0f} ms")
    print(
        "  sum of node times: "
        f"{sum(median(times) for times in per_node.values()):.0f} ms (nodes overlap on 2 cores)"
    )


if __name__ == "__main__":
    main()
