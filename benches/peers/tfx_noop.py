"""No-op pipelines in TFX's LocalDagRunner, for the per-node overhead beside Millrace's runner.

    python tfx_noop.py NODES        (CPython 3.10 with ml-pipelines-sdk)

A chain (each component reads the previous one's output) and a fan-out (one source, every
other component reads it) of Python function components, run by `LocalDagRunner` with an
ML-Metadata SQLite store and caching off. Prints one JSON object per shape, like
crates/millrace-runner/benches/noop_pipeline.rs.
"""

import json
import logging
import os
import sys
import tempfile
import time

from absl import logging as absl_logging
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.orchestration import metadata, pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.types.artifact import Artifact


class Examples(Artifact):
    """A plain artifact type (the SDK alone does not offer TFX's standard ones)."""

    TYPE_NAME = "NoopExamples"


@component
def Source(out: OutputArtifact[Examples]):
    del out


@component
def Step(upstream: InputArtifact[Examples], out: OutputArtifact[Examples]):
    del upstream, out


def build(shape, nodes, root):
    components = [Source().with_id("n0")]
    for index in range(1, nodes):
        upstream = components[index - 1] if shape == "chain" else components[0]
        components.append(Step(upstream=upstream.outputs["out"]).with_id(f"n{index}"))
    return pipeline.Pipeline(
        pipeline_name=f"noop_{shape}",
        pipeline_root=os.path.join(root, "root"),
        components=components,
        enable_cache=False,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            os.path.join(root, f"{shape}.sqlite")),
    )


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as root:
        for shape in ["chain", "fan_out"]:
            started = time.perf_counter()
            LocalDagRunner().run(build(shape, nodes, root))
            seconds = time.perf_counter() - started
            print(json.dumps({"system": "tfx", "shape": shape, "nodes": nodes,
                              "seconds": round(seconds, 3),
                              "per_node_ms": round(seconds * 1000 / nodes, 3)}), flush=True)


if __name__ == "__main__":
    main()
