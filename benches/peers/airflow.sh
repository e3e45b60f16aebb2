#!/usr/bin/env bash
# Airflow beside Millrace's export, on this machine:
#  - Airflow 3's DagBag parsing the 1,000-task DAG `compile --target airflow` writes, against a
#    hand-written equivalent (the same BashOperators and chain, as a person would write them);
#  - the overhead of one `run-node` task outside its component's work: process start, opening
#    the SQLite store, resolving inputs, recording and publishing (a node that writes one file).
#
#   benches/peers/airflow.sh
#
# Needs the Airflow venv `cargo xtask test` makes (AIRFLOW_PYTHON, default .venv-airflow/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${AIRFLOW_PYTHON:-.venv-airflow/bin/python}"
[[ -x $python ]] || { echo "no Airflow venv at $python: run cargo xtask test once, or set AIRFLOW_PYTHON" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/ours" "$out/handwritten"
MILLRACE_BENCH_WRITE_DAG="$out/ours/bench.py" cargo bench -q --bench airflow_export
"$python" benches/peers/airflow_dagbag.py "$out/ours/bench.py" "$out/handwritten/bench.py"

cargo build -q --release --example conformance
binary=target/release/examples/conformance
export MILLRACE_STORE="sqlite://$out/run-node.sqlite" MILLRACE_ROOT="$out/artifacts"
python3 - "$binary" <<'PY'
import statistics, subprocess, sys, time
binary = sys.argv[1]
times = []
for index in range(30):
    started = time.perf_counter()
    subprocess.run([binary, "run-node", "--run-id", f"bench-{index}", "--node", "cleanup"],
                   check=True, capture_output=True)
    times.append((time.perf_counter() - started) * 1000)
times = times[5:]  # the first runs create the store's tables and warm the page cache
print(f"run-node of a one-file node, {len(times)} runs: median {statistics.median(times):.1f} ms, "
      f"min {min(times):.1f} ms, max {max(times):.1f} ms")
PY
