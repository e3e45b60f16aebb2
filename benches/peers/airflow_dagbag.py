"""Times Airflow's DagBag on the DAG Millrace wrote and on a hand-written equivalent.

    python airflow_dagbag.py OURS.py HANDWRITTEN.py

Writes HANDWRITTEN.py itself (1,000 BashOperators in a chain, as a person would write them),
then parses each file 9 times, interleaved, in this process after one warm-up and prints the
medians.
"""

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

HANDWRITTEN = '''import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param, chain

with DAG(
    dag_id="bench_handwritten",
    params={"factor": Param(1.5, type="number")},
    schedule=None,
    catchup=False,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
) as dag:
    tasks = [
        BashOperator(
            task_id=f"n{index}",
            bash_command=f"/opt/millrace/bench run-node --run-id {{{{ run_id }}}} --node n{index}",
            env={"MILLRACE_STORE": "postgres://millrace@db/millrace", "MILLRACE_PARAMS_JSON": '{"factor": {{ params.factor | tojson }}}'},
            append_env=True,
            retries=0,
        )
        for index in range(1000)
    ]
    chain(*tasks)
'''


def parse(path):
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=path)
    seconds = time.perf_counter() - started
    if bag.import_errors:
        sys.exit(f"{path}: {bag.import_errors}")
    (dag,) = bag.dags.values()
    return seconds, len(dag.tasks)


def main():
    ours, handwritten = sys.argv[1], sys.argv[2]
    with open(handwritten, "w") as out:
        out.write(HANDWRITTEN)
    parse(handwritten)  # imports Airflow and the operators once
    # Interleaved, so that load drifting on a shared machine affects both alike.
    runs = {"millrace": [], "handwritten": []}
    for _ in range(9):
        for name, path in [("millrace", ours), ("handwritten", handwritten)]:
            runs[name].append(parse(path))
    results = {
        name: (statistics.median(seconds for seconds, _ in parsed), parsed[0][1])
        for name, parsed in runs.items()
    }
    for name, (seconds, tasks) in results.items():
        print(f"DagBag {name:<12} {tasks} tasks: median {seconds * 1000:.0f} ms")
    ratio = results["millrace"][0] / results["handwritten"][0]
    print(f"millrace / handwritten: {ratio:.2f}")


if __name__ == "__main__":
    main()
