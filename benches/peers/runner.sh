#!/usr/bin/env bash
# Per-node overhead of Millrace's local runner beside Dagster, Prefect and TFX's LocalDagRunner,
# on this machine, one after the other, with no-op pipelines (chain and fan-out).
#
#   benches/peers/runner.sh [NODES]        (default 200)
#
# Every system runs with the same TMPDIR (BENCH_TMPDIR, default a fresh directory under
# /var/tmp): Millrace's artifact root and SQLite store, Dagster's instance and Prefect's
# database all live there. What a directory costs to make there is printed first, since a
# new node makes three (its node, output and staging directories) and on a much-churned ext4
# directory a mkdir alone can cost 0.3 ms.
#
# Needs a Python with dagster and prefect: PEERS_PYTHON (default: a venv it makes at
# .venv-peers with `pip install dagster prefect`), and a CPython 3.10 with ml-pipelines-sdk for
# TFX: TFX_PYTHON (default: a venv it makes at .venv-tfx from pyenv's 3.10).
set -euo pipefail
cd "$(dirname "$0")/../.."
nodes="${1:-200}"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"
if [[ ! -x $python ]]; then
  python3 -m venv .venv-peers
  .venv-peers/bin/pip install -q dagster prefect
  python=.venv-peers/bin/python
fi
tfx_python="${TFX_PYTHON:-.venv-tfx/bin/python}"
if [[ ! -x $tfx_python ]]; then
  base="$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python 2>/dev/null | tail -n 1)"
  [[ -n $base ]] || { echo "no CPython 3.10 for TFX: set TFX_PYTHON" >&2; exit 2; }
  "$base" -m venv .venv-tfx
  .venv-tfx/bin/pip install -q ml-pipelines-sdk
  tfx_python=.venv-tfx/bin/python
fi
out="$(mktemp -d)"
export TMPDIR="${BENCH_TMPDIR:-$(mktemp -d /var/tmp/millrace-runner-bench.XXXXXX)}"
trap 'rm -rf "$out"; [[ -n ${BENCH_TMPDIR:-} ]] || rm -rf "$TMPDIR"' EXIT
python3 - <<'PY'
import os, tempfile, time
d = tempfile.mkdtemp()
t = time.perf_counter()
for i in range(2000):
    os.mkdir(os.path.join(d, str(i)))
print(f"TMPDIR={tempfile.gettempdir()}: {(time.perf_counter() - t) / 2000 * 1e6:.0f} µs a mkdir")
PY
cargo bench -q -p millrace-runner --bench noop_pipeline -- "$nodes" >"$out/millrace.jsonl"
"$python" benches/peers/dagster_noop.py "$nodes" >"$out/dagster.jsonl" 2>/dev/null
"$python" benches/peers/prefect_noop.py "$nodes" >"$out/prefect.jsonl" 2>/dev/null
"$tfx_python" benches/peers/tfx_noop.py "$nodes" >"$out/tfx.jsonl" 2>/dev/null
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = {}
for name in ["millrace", "dagster", "prefect", "tfx"]:
    with open(os.path.join(out, f"{name}.jsonl")) as f:
        for r in map(json.loads, f):
            rows[(name, r["shape"])] = r["per_node_ms"]
print("| shape | Millrace | Dagster | ratio | Prefect | ratio | TFX LocalDagRunner | ratio |")
print("|---|---|---|---|---|---|---|---|")
for shape in ["chain", "fan_out"]:
    m = rows[("millrace", shape)]
    cells = [f"{m:.2f} ms"]
    for peer in ["dagster", "prefect", "tfx"]:
        p = rows[(peer, shape)]
        cells += [f"{p:.2f} ms", f"{p / m:.1f}×"]
    print(f"| {shape} | " + " | ".join(cells) + " |")
PY
