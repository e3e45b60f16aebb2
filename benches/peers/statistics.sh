#!/usr/bin/env bash
# StatisticsGen's profiling beside pandas, pyarrow, polars and TensorFlow Data Validation, on
# this machine, one after the other, on the same CSV files: the 15,002-row Chicago taxi sample
# and a generated 1,000,000-row × 9-column mixed file (54 MB).
#
#   benches/peers/statistics.sh [ROWS]        (default 1000000)
#
# Needs a Python with pandas, pyarrow and polars: PEERS_PYTHON (default: the venv
# `cargo xtask test` makes, .venv). TFDV runs when TFDV_PYTHON is set or .venv-tfdv exists
# (make it with: python3.11 -m venv .venv-tfdv && .venv-tfdv/bin/pip install
#  tensorflow-data-validation==1.16.1 tensorflow==2.16.2 apache-beam[gcp]==2.59.0
#  pyarrow==10.0.1 'pandas<2' — TFDV installs only with such pinned constraints).
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
python="${PEERS_PYTHON:-.venv/bin/python}"
[[ -x $python ]] || { echo "no Python with pandas/pyarrow/polars: run cargo xtask test once or set PEERS_PYTHON" >&2; exit 2; }
tfdv_python="${TFDV_PYTHON:-.venv-tfdv/bin/python}"
data_dir="target/bench-data"
mkdir -p "$data_dir"
mixed="$data_dir/mixed-$rows.csv"
[[ -f $mixed ]] || "$python" benches/peers/statistics_data.py "$rows" "$mixed"
cargo build -q --release --example profile
millrace() { # best of 3, single- and multi-threaded
  local best=999999 threads="$2"
  for _ in 1 2 3; do
    local seconds
    seconds="$(target/release/examples/profile "$1" --threads "$threads" | sed -n 's/.* rows profiled in \([0-9.]*\) s/\1/p')"
    best="$(python3 -c "print(min($best, $seconds))")"
  done
  echo "millrace-$threads-threads $best"
}
for file in examples/data/chicago_taxi/data.csv "$mixed"; do
  echo "== $file ($(du -h "$file" | cut -f1))"
  {
    millrace "$file" 1
    millrace "$file" 2
    "$python" benches/peers/statistics_peers.py "$file" 3
    if [[ -x $tfdv_python ]]; then
      "$tfdv_python" benches/peers/statistics_tfdv.py "$file" 1 2>/dev/null
      "$tfdv_python" benches/peers/statistics_tfdv.py "$file" 2 2>/dev/null
    fi
  } | python3 -c '
import sys
rows = [line.split() for line in sys.stdin if line.strip()]
ours = min(float(s) for name, s in rows if name.startswith("millrace"))
for name, seconds in rows:
    print(f"  {name:<24} {float(seconds):9.3f} s   {float(seconds) / ours:8.1f}x Millrace (best)")
'
done
