#!/usr/bin/env bash
# Per-node overhead of Millrace's local runner beside Dagster and Prefect, on this machine, one
# after the other, with no-op pipelines (chain and fan-out).
#
#   benches/peers/runner.sh [NODES]        (default 200)
#
# Needs a Python with dagster and prefect: PEERS_PYTHON (default: a venv it makes at
# .venv-peers with `pip install dagster prefect`). TFX's LocalDagRunner (ml-pipelines-sdk)
# needs CPython 3.10, which this machine kind does not offer; it is not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
nodes="${1:-200}"
python="${PEERS_PYTHON:-.venv-peers/bin/python}"
if [[ ! -x $python ]]; then
  python3 -m venv .venv-peers
  .venv-peers/bin/pip install -q dagster prefect
  python=.venv-peers/bin/python
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo bench -q -p millrace-runner --bench noop_pipeline -- "$nodes" >"$out/millrace.jsonl"
"$python" benches/peers/dagster_noop.py "$nodes" >"$out/dagster.jsonl" 2>/dev/null
"$python" benches/peers/prefect_noop.py "$nodes" >"$out/prefect.jsonl" 2>/dev/null
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = {}
for name in ["millrace", "dagster", "prefect"]:
    with open(os.path.join(out, f"{name}.jsonl")) as f:
        for r in map(json.loads, f):
            rows[(name, r["shape"])] = r["per_node_ms"]
print("| shape | Millrace | Dagster | ratio | Prefect | ratio |")
print("|---|---|---|---|---|---|")
for shape in ["chain", "fan_out"]:
    m, d, p = rows[("millrace", shape)], rows[("dagster", shape)], rows[("prefect", shape)]
    print(f"| {shape} | {m:.2f} ms | {d:.2f} ms | {d / m:.1f}× | {p:.2f} ms | {p / m:.1f}× |")
PY
