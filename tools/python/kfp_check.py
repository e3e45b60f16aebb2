"""Checks a KFP v2 PipelineSpec YAML the way Kubeflow Pipelines and Vertex AI read it.

Usage: python kfp_check.py PIPELINE.yaml

1. `kfp.components.load_component_from_file` loads it (kfp parses it into the IR protobuf).
2. The first document round-trips through `pipeline_spec_pb2.PipelineSpec` with
   `json_format.ParseDict(..., ignore_unknown_fields=False)` and back, unchanged.
3. Every reference resolves: component refs, executor labels, dependent tasks (within their
   DAG), component input parameters (in the enclosing component's inputs), and every
   `{{$.inputs.parameters['x']}}` placeholder of an executor (in its component's inputs).

Prints `OK` and exits 0, or prints every problem and exits 1.
"""

import re
import sys

import yaml
from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2

PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']*)'\]\}\}")


def references(spec):
    problems = []
    comps = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})

    def input_names(component):
        return set(component.get("inputDefinitions", {}).get("parameters", {}))

    def check_dag(where, component):
        tasks = component["dag"].get("tasks", {})
        available = input_names(component)
        for name, task in tasks.items():
            ref = task.get("componentRef", {}).get("name")
            if ref not in comps:
                problems.append(f"{where}: task {name}: component {ref!r} does not exist")
            for upstream in task.get("dependentTasks", []):
                if upstream not in tasks:
                    problems.append(f"{where}: task {name}: dependent task {upstream!r} is not in its DAG")
            if task.get("taskInfo", {}).get("name") != name:
                problems.append(f"{where}: task {name}: taskInfo.name differs")
            callee_inputs = input_names(comps.get(ref, {}))
            for key, value in task.get("inputs", {}).get("parameters", {}).items():
                if key not in callee_inputs:
                    problems.append(f"{where}: task {name}: input {key!r} is not an input of {ref}")
                source = value.get("componentInputParameter")
                if source is not None and source not in available:
                    problems.append(f"{where}: task {name}: input {key!r} reads {source!r}, not an input of {where}")

    check_dag("root", spec["root"])
    for name, component in comps.items():
        if "dag" in component:
            check_dag(name, component)
            continue
        label = component.get("executorLabel")
        executor = executors.get(label)
        if executor is None:
            problems.append(f"{name}: executor {label!r} does not exist")
            continue
        container = executor["container"]
        for text in container.get("command", []) + container.get("args", []):
            for parameter in PLACEHOLDER.findall(text):
                if parameter not in input_names(component):
                    problems.append(f"{label}: placeholder of {parameter!r}, not an input of {name}")
    used = {task["componentRef"]["name"]
            for component in [spec["root"], *comps.values()] if "dag" in component
            for task in component["dag"].get("tasks", {}).values()}
    for name in comps:
        if name not in used:
            problems.append(f"component {name} is used by no task")
    return problems


def main(path):
    problems = []
    try:
        components.load_component_from_file(path)
    except Exception as error:  # noqa: BLE001 - every failure is a finding
        problems.append(f"kfp.components.load_component_from_file: {type(error).__name__}: {error}")
    with open(path, encoding="utf-8") as file:
        documents = list(yaml.safe_load_all(file))
    spec = documents[0]
    try:
        message = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
        again = json_format.MessageToDict(message)
        if again != spec:
            problems.append(f"the IR protobuf round trip changed the document:\n{again}")
    except Exception as error:  # noqa: BLE001
        problems.append(f"pipeline_spec_pb2.PipelineSpec: {type(error).__name__}: {error}")
    problems.extend(references(spec))
    for problem in problems:
        print(problem)
    if not problems:
        print("OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
