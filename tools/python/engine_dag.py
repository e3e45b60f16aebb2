"""Reads a compiled KFP PipelineSpec or Argo manifest through the engine's own loader and prints
the DAG it describes, in Millrace's terms, as JSON.

Usage: python engine_dag.py kfp PIPELINE.yaml
       python engine_dag.py argo MANIFEST.yaml

The test beside the pipeline IR (tests/engine_targets.rs) compares this with the IR: every
figure here comes from the loaded file, never from Millrace's code, so the comparison checks
the compilers rather than repeating them.

- kfp: `kfp.components.load_component_from_file` loads the file, and the spec is parsed into
  `pipeline_spec_pb2.PipelineSpec` with unknown fields rejected; the DAG is read from the parsed
  protobuf.
- argo: hera's models of Argo's API (`hera.workflows.models`) validate the manifest, and dumping
  the model gives the same document back (a field the models do not know would be dropped).

The output:
    {"description": str | null,
     "parameters": {name: {"type": str | null, "default": value, "description": str | null}},
     "tasks": {node_id: {"upstream": [node_id], "trigger": "all_success" | "all_done" |
                         "one_failed", "retries": int, "backoff_ms": [initial, max] | null,
                         "backoff_factor": float | null, "image": str, "params": [name],
                         "command": [str], "skip_wrapper": bool,
                         "shards": null | {"items": [str], "command": [str], "image": str}}},
     "exit_handler": node_id | null}
Node ids come from each task's `run-node --node ID` arguments. `skip_wrapper`: the command is
run-node inside KFP's `sh -c` wrapper that reports a skip (exit 99) as success. `shards`: a
sharded node's fan-out (KFP's ParallelFor, Argo's withItems): the shard indices and the shard
task's command, whose `--shard` argument is the engine's placeholder of the item; the node's own
task is the merge, after the shards.
"""

import json
import re
import sys

import yaml

DONE = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted"]
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def duration_ms(text):
    """`1s`, `1.5s`, `2m`, `1h30m` (Go and protobuf durations) or plain seconds, in ms."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return int(round(float(text) * 1000))
    match = DURATION.match(str(text))
    if not match or not any(match.groups()):
        return int(round(float(text) * 1000))
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return int(round(((hours * 60 + minutes) * 60 + seconds) * 1000))


def unwrapped(command):
    """A command without the `sh -c '"$0" "$@"; ...'` wrapper that turns run-node's skip exit
    code into success (KFP has no skipped state), and whether it had one."""
    if command[:2] == ["sh", "-c"] and len(command) > 3 and command[2].startswith('"$0" "$@"'):
        return command[3:], True
    return command, False


def node_of(arguments):
    """The node id of a `run-node ... --node ID ...` command line."""
    if "run-node" not in arguments or "--node" not in arguments:
        raise SystemExit(f"not a run-node command: {arguments}")
    return arguments[arguments.index("--node") + 1]


def passed_params(arguments):
    return sorted(
        arguments[index + 1].split("=", 1)[0]
        for index, argument in enumerate(arguments)
        if argument == "--param"
    )


def kfp(path):
    from google.protobuf import json_format
    from kfp import components
    from kfp.pipeline_spec import pipeline_spec_pb2

    components.load_component_from_file(path)
    with open(path) as file:
        document = next(yaml.safe_load_all(file))
    message = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(document, message, ignore_unknown_fields=False)
    spec = json_format.MessageToDict(message)

    comps = spec.get("components", {})
    executors = spec["deploymentSpec"]["executors"]

    def executor_of(component_name):
        label = comps[component_name].get("executorLabel")
        return None if label is None else executors[label]["container"]

    # Task name -> node id, over every DAG (the root's and the groups'); a sharded node's
    # fan-out is a ParallelFor (a task with a parameterIterator over a DAG of one shard task).
    dags = [spec["root"]["dag"]] + [c["dag"] for c in comps.values() if "dag" in c]
    node_by_task = {}
    loops = {}
    for dag in dags:
        for name, task in dag.get("tasks", {}).items():
            if "parameterIterator" in task:
                inner = list(comps[task["componentRef"]["name"]]["dag"]["tasks"].values())
                if len(inner) != 1:
                    raise SystemExit(f"loop {name}: {len(inner)} tasks, not one shard task")
                container = executor_of(inner[0]["componentRef"]["name"])
                command, _ = unwrapped(container.get("command", []) + container.get("args", []))
                items = json.loads(task["parameterIterator"]["items"]["raw"])
                loops[name] = {
                    "node": node_of(command),
                    "items": items,
                    "upstream": task.get("dependentTasks", []),
                    "command": command,
                    "image": container["image"],
                }
                continue
            container = executor_of(task["componentRef"]["name"])
            if container is not None and "--shard" not in container.get("args", []):
                node_by_task[name] = node_of(container.get("args", []))

    tasks = {}
    exit_handler = None
    for dag in dags:
        for name, task in dag.get("tasks", {}).items():
            if name not in node_by_task:
                continue  # a group (the exit handler's body, a shard loop) or a shard task
            node = node_by_task[name]
            container = executor_of(task["componentRef"]["name"])
            upstream = []
            shards = None
            for dependency in task.get("dependentTasks", []):
                if dependency in loops and loops[dependency]["node"] == node:
                    # The merge waits for the node's shards, which wait for its upstream.
                    loop = loops[dependency]
                    upstream += loop["upstream"]
                    shards = {key: loop[key] for key in ("items", "command", "image")}
                else:
                    upstream.append(dependency)
            groups = [u for u in upstream if u not in node_by_task]
            strategy = task.get("triggerPolicy", {}).get("strategy")
            if groups:
                # The task after the group that holds every other task: KFP's exit handler.
                if strategy != "ALL_UPSTREAM_TASKS_COMPLETED" or len(upstream) != 1:
                    raise SystemExit(f"task {name}: after a group, but not as an exit handler")
                exit_handler = node
            trigger = {
                None: "all_success",
                "ALL_UPSTREAM_TASKS_SUCCEEDED": "all_success",
                "ALL_UPSTREAM_TASKS_COMPLETED": "all_done",
            }[strategy]
            retry = task.get("retryPolicy", {})
            retries = int(retry.get("maxRetryCount", 0))
            arguments = container.get("args", [])
            command, skip_wrapper = unwrapped(container.get("command", []) + arguments)
            tasks[node] = {
                "upstream": sorted(node_by_task[u] for u in upstream if u in node_by_task),
                "trigger": trigger,
                "retries": retries,
                "backoff_ms": [
                    duration_ms(retry.get("backoffDuration")),
                    duration_ms(retry.get("backoffMaxDuration")),
                ]
                if retries
                else None,
                "backoff_factor": retry.get("backoffFactor") if retries else None,
                "image": container["image"],
                "params": passed_params(arguments),
                "command": command,
                "skip_wrapper": skip_wrapper,
                "shards": shards,
            }

    parameters = {
        name: {
            "type": definition.get("parameterType"),
            "default": definition.get("defaultValue"),
            "description": definition.get("description"),
        }
        for name, definition in spec["root"].get("inputDefinitions", {}).get("parameters", {}).items()
    }
    return {
        "description": spec["pipelineInfo"].get("description"),
        "parameters": parameters,
        "tasks": tasks,
        "exit_handler": exit_handler,
    }


def trigger_of(expression):
    """Millrace's trigger rule and the upstream tasks of an Argo `depends` expression."""
    terms = re.findall(r"([A-Za-z0-9][A-Za-z0-9-]*)\.([A-Za-z]+)", expression)
    upstream = sorted({task for task, _ in terms})
    results = {}
    for task, result in terms:
        results.setdefault(task, []).append(result)
    conjunctions = [part.strip() for part in expression.split("&&")]
    disjunctions = [part.strip() for part in expression.split("||")]
    if all(results[task] == ["Succeeded"] for task in upstream) and len(conjunctions) == len(upstream):
        return "all_success", upstream
    if all(results[task] == DONE for task in upstream) and len(conjunctions) == len(upstream):
        return "all_done", upstream
    if all(results[task] == ["Failed"] for task in upstream) and len(disjunctions) == len(upstream):
        return "one_failed", upstream
    raise SystemExit(f"depends expression of no trigger rule: {expression}")


def argo(path):
    from hera.workflows import models

    with open(path) as file:
        manifest = next(document for document in yaml.safe_load_all(file) if document)
    model = getattr(models, manifest["kind"]).model_validate(manifest)
    back = json.loads(model.model_dump_json(by_alias=True, exclude_none=True))
    if back != manifest:
        raise SystemExit("hera's models changed the manifest:\n" + json.dumps(back, indent=1))

    spec = manifest["spec"]
    if manifest["kind"] == "CronWorkflow":
        spec = spec["workflowSpec"]
    templates = {template["name"]: template for template in spec["templates"]}

    def container_node(template_name):
        container = templates[template_name]["container"]
        return node_of(container.get("args", [])), templates[template_name], container

    def entry(template, container, upstream, trigger, shards=None):
        retry = template.get("retryStrategy")
        retries = int(retry["limit"]) if retry else 0
        backoff = (retry or {}).get("backoff", {})
        arguments = container.get("args", [])
        return {
            "upstream": upstream,
            "trigger": trigger,
            "retries": retries,
            "backoff_ms": [duration_ms(backoff.get("duration")), duration_ms(backoff.get("cap"))]
            if retries
            else None,
            "backoff_factor": float(backoff["factor"]) if retries and "factor" in backoff else None,
            "image": container["image"],
            "params": passed_params(arguments),
            "command": container.get("command", []) + arguments,
            "skip_wrapper": False,
            "shards": shards,
        }

    def upstream_of(task):
        if "dependencies" in task:
            raise SystemExit(f"task {task['name']}: `dependencies` instead of `depends`")
        if "depends" in task:
            return trigger_of(task["depends"])
        return "all_success", []

    dag_tasks = templates[spec["entrypoint"]]["dag"]["tasks"]
    # A sharded node's fan-out: a task over `withItems`, each item a shard index handed to the
    # shard template's `--shard` through the task's `shard` argument.
    loops = {}
    for task in dag_tasks:
        if "withItems" in task:
            node, _, container = container_node(task["template"])
            arguments = {p["name"]: p["value"] for p in task.get("arguments", {}).get("parameters", [])}
            if arguments.get("shard") != "{{item}}":
                raise SystemExit(f"task {task['name']}: the items do not reach the shard argument")
            loops[task["name"]] = {
                "node": node,
                "items": task["withItems"],
                "upstream": upstream_of(task)[1],
                "command": container.get("command", []) + container.get("args", []),
                "image": container["image"],
            }
    node_by_task = {
        task["name"]: container_node(task["template"])[0]
        for task in dag_tasks
        if "withItems" not in task
    }
    tasks = {}
    for task in dag_tasks:
        if "withItems" in task:
            continue
        node, template, container = container_node(task["template"])
        trigger, upstream_tasks = upstream_of(task)
        upstream = []
        shards = None
        for name in upstream_tasks:
            if name in loops and loops[name]["node"] == node:
                loop = loops[name]
                upstream += [node_by_task[u] for u in loop["upstream"]]
                shards = {key: loop[key] for key in ("items", "command", "image")}
            else:
                upstream.append(node_by_task[name])
        tasks[node] = entry(template, container, sorted(upstream), trigger, shards)
    exit_handler = None
    if "onExit" in spec:
        exit_handler, template, container = container_node(spec["onExit"])
        tasks[exit_handler] = entry(template, container, [], "all_done")

    parameters = {
        parameter["name"]: {
            "type": None,
            "default": parameter.get("value"),
            "description": parameter.get("description"),
        }
        for parameter in spec.get("arguments", {}).get("parameters", [])
    }
    annotations = manifest["metadata"].get("annotations", {})
    return {
        "description": annotations.get("workflows.argoproj.io/description"),
        "parameters": parameters,
        "tasks": tasks,
        "exit_handler": exit_handler,
    }


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("kfp", "argo"):
        raise SystemExit(__doc__)
    reader = kfp if sys.argv[1] == "kfp" else argo
    print(json.dumps(reader(sys.argv[2]), indent=1, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
