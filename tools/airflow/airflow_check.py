"""What the Airflow test suite asks of the real Airflow, in one process (Airflow's start-up is
the expensive part): load a dags folder into a DagBag, and run DAGs with `dag.test()`.

    python airflow_check.py load
    python airflow_check.py test DAG_ID [CONF_JSON] [DAG_ID [CONF_JSON] ...]

Needs AIRFLOW_HOME with a migrated database (`airflow db migrate`) and
AIRFLOW__CORE__DAGS_FOLDER naming the folder of the DAG files. Prints one JSON document.
"""

import json
import os
import sys
import time


def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def load():
    started = time.perf_counter()
    bag = dag_bag()
    seconds = time.perf_counter() - started
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "tasks": sorted(dag.task_ids),
            "edges": sorted(
                [upstream, task.task_id]
                for task in dag.tasks
                for upstream in task.upstream_task_ids
            ),
            "params": {name: dag.params[name] for name in dag.params},
            "doc_md": dag.doc_md,
            "description": dag.description,
            "tags": sorted(dag.tags),
            "schedule": getattr(dag.timetable, "expression", None),
            "timetable": type(dag.timetable).__name__,
            "timezone": str(getattr(dag.timetable, "timezone", "")),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "trigger_rules": {task.task_id: str(task.trigger_rule) for task in dag.tasks},
            "retries": {task.task_id: task.retries for task in dag.tasks},
            "pools": {task.task_id: task.pool for task in dag.tasks},
            "operators": {task.task_id: type(task).__name__ for task in dag.tasks},
            # What a pod's image renders to (it is written as a literal, never a template).
            "images": {
                task.task_id: getattr(task.image, "value", task.image)
                for task in dag.tasks
                if getattr(task, "image", None)
            },
        }
    return {"dags": dags, "import_errors": dict(bag.import_errors), "seconds": seconds}


def test(pairs):
    bag = dag_bag()
    if bag.import_errors:
        return {"import_errors": dict(bag.import_errors)}
    runs = []
    for dag_id, conf in pairs:
        started = time.perf_counter()
        run = bag.dags[dag_id].test(run_conf=conf)
        states = {}
        for instance in run.get_task_instances():
            states[instance.task_id] = {
                "state": str(instance.state) if instance.state else None,
                "try_number": instance.try_number,
            }
        runs.append(
            {
                "dag_id": dag_id,
                "run_id": run.run_id,
                "state": str(run.state),
                "tasks": states,
                "seconds": time.perf_counter() - started,
            }
        )
    return {"runs": runs}


def main():
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "load":
        result = load()
    elif command == "test":
        pairs = []
        while arguments:
            dag_id = arguments.pop(0)
            conf = None
            if arguments and arguments[0].startswith("{"):
                conf = json.loads(arguments.pop(0))
            pairs.append((dag_id, conf))
        result = test(pairs)
    else:
        sys.exit(f"unknown command {command}")
    print("MILLRACE_RESULT " + json.dumps(result, default=str))


if __name__ == "__main__":
    main()
