#!/usr/bin/env bash
# Runs the metadata store workload with Millrace (its default durability, then ML-Metadata's
# own settings) and with Google's ml-metadata 1.17.1, one after the other on this machine, and
# prints the figures and the ratios as a Markdown table. Millrace's batched execution writes
# (100 a transaction) are set against ml-metadata's one call per execution.
#
#   benches/peers/metadata.sh [SCALE]        (SCALE 1.0 = the issue's 10,000 + 10,000 + 1,000)
#
# Needs the venv `cargo xtask test` makes (or MILLRACE_TEST_PYTHON pointing at a Python with
# ml-metadata 1.17.1).
set -euo pipefail
cd "$(dirname "$0")/../.."
scale="${1:-1.0}"
python="${MILLRACE_TEST_PYTHON:-${MILLRACE_VENV:-.venv}/bin/python}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

cargo bench -q -p millrace-metadata --bench store_workload --no-run
cargo bench -q -p millrace-metadata --bench store_workload -- --scale "$scale" --settings wal >"$out/wal.jsonl"
cargo bench -q -p millrace-metadata --bench store_workload -- --scale "$scale" --settings mlmd >"$out/mlmd.jsonl"
"$python" benches/peers/mlmd_workload.py --scale "$scale" >"$out/peer.jsonl"

"$python" - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return {r["workload"]: r for r in map(json.loads, f)}
wal, mlmd, peer = load("wal.jsonl"), load("mlmd.jsonl"), load("peer.jsonl")
def show(r):
    us = r["per_item_us"]
    return f"{us / 1000:.1f} ms" if us >= 1000 else f"{us:.0f} µs"
print("| workload | ml-metadata 1.17.1 | Millrace (WAL, default) | ratio | Millrace (ML-Metadata's settings) | ratio |")
print("|---|---|---|---|---|---|")
# ml-metadata writes an execution with its events in one call each (it has no batched form):
# Millrace's batched writes are compared with that.
rows = [
    ("put_artifacts_batch_100", "put_artifacts_batch_100"),
    ("put_execution_with_events", "put_execution_with_events"),
    ("put_executions_with_events_batch_100", "put_execution_with_events"),
    ("lineage_1000_chain_median", "lineage_1000_chain_median"),
]
for name, peer_name in rows:
    p, w, m = peer[peer_name], wal[name], mlmd[name]
    print(f"| {name} | {show(p)} | {show(w)} | {p['per_item_us'] / w['per_item_us']:.1f}× | {show(m)} | {p['per_item_us'] / m['per_item_us']:.1f}× |")
PY
