"""The metadata workload of benches/../store_workload.rs, run with Google's ml-metadata.

    python mlmd_workload.py [--scale 1.0]

Prints one JSON object per measurement, the same shape the Rust benchmark prints:
10,000 artifacts put in batches of 100; 10,000 put_execution calls, each with one input,
one new output, two events and a context; the upstream lineage of a 1,000-execution chain.
ml-metadata stops a lineage query at 100 hops, so the whole chain takes repeated calls from
the frontier; they are timed together. The store is a SQLite file with ml-metadata's own
settings (rollback journal, fsync at every commit).
"""

import argparse
import json
import os
import tempfile
import time

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb


def open_store(path):
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


def types(store):
    examples = pb.ArtifactType(name="Examples")
    examples.properties["span"] = pb.INT
    return (
        store.put_artifact_type(examples),
        store.put_execution_type(pb.ExecutionType(name="Trainer")),
        store.put_context_type(pb.ContextType(name="pipeline_run")),
    )


def artifact(type_id, uri, span):
    result = pb.Artifact(type_id=type_id, uri=uri, state=pb.Artifact.LIVE)
    result.properties["span"].int_value = span
    return result


def event(kind, key):
    result = pb.Event(type=kind)
    result.path.steps.add().key = key
    result.path.steps.add().index = 0
    return result


def report(name, count, seconds):
    print(json.dumps({"system": "ml-metadata", "settings": "mlmd", "workload": name,
                      "count": count, "seconds": round(seconds, 6),
                      "per_item_us": round(seconds * 1e6 / count, 3)}), flush=True)


def chain(store, type_ids, count, prefix):
    examples_type, trainer_type, run_type = type_ids
    [context_id] = store.put_contexts([pb.Context(type_id=run_type, name="run-1")])
    context = store.get_contexts_by_id([context_id])[0]
    [first] = store.put_artifacts([artifact(examples_type, f"/{prefix}/0", 0)])
    current = store.get_artifacts_by_id([first])[0]
    started = time.perf_counter()
    for index in range(count):
        execution = pb.Execution(type_id=trainer_type, last_known_state=pb.Execution.COMPLETE)
        output = artifact(examples_type, f"/{prefix}/out/{index}", index)
        _, [_, output_id], _ = store.put_execution(
            execution,
            [(current, event(pb.Event.INPUT, "examples")),
             (output, event(pb.Event.OUTPUT, "model"))],
            [context])
        output.id = output_id
        current = output
    return time.perf_counter() - started, current.id


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    arguments = parser.parse_args()
    artifacts_total = int(10_000 * arguments.scale)
    executions_total = int(10_000 * arguments.scale)
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(os.path.join(directory, "artifacts.sqlite"))
        examples_type, _, _ = types(store)
        started = time.perf_counter()
        for batch in range(artifacts_total // 100):
            store.put_artifacts([artifact(examples_type, f"/a/{batch}/{index}", index)
                                 for index in range(100)])
        report("put_artifacts_batch_100", artifacts_total, time.perf_counter() - started)

        store = open_store(os.path.join(directory, "executions.sqlite"))
        seconds, _ = chain(store, types(store), executions_total, "e")
        report("put_execution_with_events", executions_total, seconds)

        store = open_store(os.path.join(directory, "chain.sqlite"))
        _, last = chain(store, types(store), 1_000, "c")
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            artifacts, executions, frontier = {last}, set(), [last]
            while frontier:
                options = pb.LineageSubgraphQueryOptions(
                    starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
                        filter_query="id IN (%s)" % ",".join(map(str, frontier))),
                    max_num_hops=100,
                    direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
                graph = store.get_lineage_subgraph(options, ["artifacts", "executions", "events"])
                found = {a.id for a in graph.artifacts}
                executions |= {e.id for e in graph.executions}
                new = found - artifacts
                artifacts |= found
                # Continue from the oldest artifacts reached: the chain goes on behind them.
                frontier = sorted(new)[:1] if new else []
            samples.append(time.perf_counter() - started)
            assert len(executions) == 1_000 and len(artifacts) == 1_001, (len(executions), len(artifacts))
        samples.sort()
        report("lineage_1000_chain_median", 1, samples[len(samples) // 2])


if __name__ == "__main__":
    main()
