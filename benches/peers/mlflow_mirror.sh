#!/usr/bin/env bash
# `runs mirror` beside the MLflow glue a team would write, side by side on this machine: the taxi
# pipeline (release build) runs N times on a SQLite store; each run is mirrored by Millrace into
# a real `mlflow server` (3.17.2, SQLite backend, one worker), then the same content is written
# again by the `mlflow` client (benches/peers/mlflow_mirror.py). Prints each run's seconds, then
# the medians and their ratios (the run itself, Millrace's mirror, the Python client's).
#
#   benches/peers/mlflow_mirror.sh [PYTHON] [RUNS]
#
# PYTHON: an interpreter with mlflow 3.17.2 (default: $MILLRACE_MLFLOW_VENV/bin/python, or
# .venv-mlflow/bin/python, which `cargo xtask test` makes). RUNS: default 7.
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${1:-${MILLRACE_MLFLOW_VENV:-.venv-mlflow}/bin/python}"
runs="${2:-7}"
work="$(mktemp -d)"
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT
export MLFLOW_DISABLE_TELEMETRY=true
here="$PWD"

cargo build --release --example taxi >&2
binary="${CARGO_TARGET_DIR:-$here/target}/release/examples/taxi"
"$python" -m mlflow server --host 127.0.0.1 --port 5093 --workers 1 \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/mlflow-artifacts" \
  >"$work/mlflow.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do curl -sf http://127.0.0.1:5093/health >/dev/null && break; sleep 1; done

cd "$work"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); printf "%.3f" "$(echo "$end - $start" | bc)"; }
for depth in $(seq 3 $((runs + 2))); do
  run_seconds=$(seconds "$binary" run --param "max_depth=$depth" --json)
  run_id=$("$binary" runs list --limit 1 --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
  mirror_seconds=$(seconds "$binary" runs mirror "$run_id" --mlflow http://127.0.0.1:5093)
  peer=$("$python" "$here/benches/peers/mlflow_mirror.py" http://127.0.0.1:5093 "$run_id" | tail -1)
  echo "{\"run\": $run_seconds, \"mirror\": $mirror_seconds, \"peer\": $peer}"
done | tee "$work/figures.jsonl"
"$python" - "$work/figures.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
run = statistics.median(r["run"] for r in rows)
mirror = statistics.median(r["mirror"] for r in rows)
peer = statistics.median(r["peer"]["seconds"] for r in rows)
calls = statistics.median(r["peer"]["calls"] for r in rows)
print(f"median of {len(rows)}: run {run:.3f} s, runs mirror {mirror:.3f} s (process start included), "
      f"mlflow client {peer:.3f} s ({calls:.0f} calls, the interpreter's start and the reads not counted)")
print(f"the mlflow client takes {peer / mirror:.1f}x as long as runs mirror; the mirror adds {mirror / run:.2f}x a run's time")
PY
