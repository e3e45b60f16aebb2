"""The Python compilers beside `benches/engine_export.rs`: the kfp SDK compiling a pipeline of
N container tasks to its PipelineSpec YAML, and hera building an Argo Workflow of N DAG tasks and
writing its YAML — the same shapes (a chain, and a fan-out from one source; a float pipeline
parameter handed to every task) that Millrace compiles.

Usage: python engine_export.py [N ...]   (default 1000; repeats: 5, the first one discarded)
Prints one line per compiler, shape and size: the median and fastest time in ms.
"""

import os
import statistics
import sys
import tempfile
import time

from hera.workflows import DAG, Container, Parameter, Workflow
from kfp import compiler, dsl


@dsl.container_component
def step(factor: float):
    return dsl.ContainerSpec(
        image="registry.example/bench:1",
        command=["/usr/local/bin/bench"],
        args=["run-node", "--node", "n", "--param", dsl.ConcatPlaceholder(["factor=", factor])],
    )


def kfp_compile(nodes, fan_out, path):
    @dsl.pipeline(name="bench")
    def bench(factor: float = 1.5):
        first = step(factor=factor).set_caching_options(False)
        previous = first
        for _ in range(1, nodes):
            task = step(factor=factor).set_caching_options(False)
            task.after(first if fan_out else previous)
            previous = task

    compiler.Compiler().compile(bench, path)


def hera_compile(nodes, fan_out, path):
    with Workflow(
        generate_name="bench-",
        entrypoint="main",
        arguments=[Parameter(name="factor", value="1.5")],
    ) as workflow:
        template = Container(
            name="step",
            image="registry.example/bench:1",
            command=["/usr/local/bin/bench"],
            args=["run-node", "--node", "n", "--param", "factor={{workflow.parameters.factor}}"],
        )
        with DAG(name="main"):
            first = template(name="n0")
            previous = first
            for index in range(1, nodes):
                task = template(name=f"n{index}")
                (first if fan_out else previous) >> task
                previous = task
    with open(path, "w") as file:
        file.write(workflow.to_yaml())


def timed(function, nodes, fan_out, repeats=5):
    times = []
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "out.yaml")
        for _ in range(repeats + 1):
            started = time.perf_counter()
            function(nodes, fan_out, path)
            times.append((time.perf_counter() - started) * 1000)
    times = times[1:]
    return statistics.median(times), min(times)


def main():
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000]
    for nodes in sizes:
        for name, function in [("kfp", kfp_compile), ("hera", hera_compile)]:
            for shape, fan_out in [("chain", False), ("fan_out", True)]:
                median, fastest = timed(function, nodes, fan_out)
                print(f"{name:5} {shape:8} {nodes:6} nodes: median {median:8.1f} ms, fastest {fastest:8.1f} ms", flush=True)


if __name__ == "__main__":
    main()
