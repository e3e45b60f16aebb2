"""No-op pipelines in Dagster, for the per-node overhead beside Millrace's runner.

    python dagster_noop.py NODES

A chain (each op takes the previous op's output) and a fan-out (one source, every other op
takes it), executed in process with a durable SQLite-backed instance (`DagsterInstance.local_temp`).
Prints one JSON object per shape, like crates/millrace-runner/benches/noop_pipeline.rs.
"""

import json
import sys
import time

from dagster import DagsterInstance, In, Nothing, Out, graph, op


def noop_op(name, with_input):
    if with_input:
        @op(name=name, ins={"upstream": In(int)}, out=Out(int))
        def step(upstream):
            return upstream
    else:
        @op(name=name, out=Out(int))
        def step():
            return 0
    return step


def build(shape, nodes):
    ops = [noop_op(f"n{i}", i > 0) for i in range(nodes)]

    @graph(name=f"noop_{shape}")
    def pipeline():
        outputs = [ops[0]()]
        for index in range(1, nodes):
            upstream = outputs[index - 1] if shape == "chain" else outputs[0]
            outputs.append(ops[index](upstream))

    return pipeline.to_job()


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with DagsterInstance.local_temp() as instance:
        for shape in ["chain", "fan_out"]:
            job = build(shape, nodes)
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance)
            seconds = time.perf_counter() - started
            assert result.success
            print(json.dumps({"system": "dagster", "shape": shape, "nodes": nodes,
                              "seconds": round(seconds, 3),
                              "per_node_ms": round(seconds * 1000 / nodes, 3)}), flush=True)


if __name__ == "__main__":
    main()
