#!/usr/bin/env bash
# The tracking workload through MLflow's Python client, side by side: the real `mlflow server`
# (3.17.2, SQLite backend, one worker) and Millrace's `serve` (the hello example's binary, on a
# SQLite store), on this machine, then the same requests raw over HTTP (mlflow_raw_http.py: the
# servers' own share, without the client library). Prints each server's JSON lines, then the
# ratios.
#
#   benches/peers/mlflow_tracking.sh [PYTHON] [--runs 10000] [--points 100000]
#
# PYTHON: an interpreter with mlflow 3.17.2 (default: $MILLRACE_MLFLOW_VENV/bin/python, or
# .venv-mlflow/bin/python, which `cargo xtask test` makes).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${1:-${MILLRACE_MLFLOW_VENV:-.venv-mlflow}/bin/python}"
shift || true
work="$(mktemp -d)"
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT
export MLFLOW_DISABLE_TELEMETRY=true

cargo build --release --example hello >&2
binary="${CARGO_TARGET_DIR:-target}/release/examples/hello"

"$python" -m mlflow server --host 127.0.0.1 --port 5091 --workers 1 \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/mlflow-artifacts" \
  >"$work/mlflow.log" 2>&1 &
pids+=($!)
"$binary" serve --bind 127.0.0.1:5092 --store "sqlite://$work/millrace.sqlite" --root "$work/millrace-artifacts" \
  >"$work/millrace.log" 2>&1 &
pids+=($!)
for port in 5091 5092; do
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 1
  done
done

"$python" benches/peers/mlflow_tracking.py http://127.0.0.1:5092 --label millrace "$@" | tee "$work/millrace.jsonl"
"$python" benches/peers/mlflow_tracking.py http://127.0.0.1:5091 --label mlflow "$@" | tee "$work/mlflow.jsonl"
# The servers' own share: the same requests over one keep-alive connection, bodies built
# before the clock starts (fresh experiments, so the runs above do not count).
"$python" benches/peers/mlflow_raw_http.py http://127.0.0.1:5092 --label millrace "$@" | tee -a "$work/millrace.jsonl"
"$python" benches/peers/mlflow_raw_http.py http://127.0.0.1:5091 --label mlflow "$@" | tee -a "$work/mlflow.jsonl"
"$python" - "$work/millrace.jsonl" "$work/mlflow.jsonl" <<'PY'
import json, sys
ours = {row["measurement"]: row["ms"] for row in map(json.loads, open(sys.argv[1]))}
theirs = {row["measurement"]: row["ms"] for row in map(json.loads, open(sys.argv[2]))}
for name, ms in ours.items():
    print(f"{name:36s} millrace {ms:10.1f} ms   mlflow {theirs[name]:10.1f} ms   {theirs[name] / ms:6.1f}x")
PY
