#!/bin/sh
# Staging overhead of an object-store root: the taxi pipeline from an empty store with a local
# root, then with an s3:// root on the same machine's S3-compatible server (moto), alternating,
# ROUNDS times each; then an unchanged (fully cached) rerun of each. Prints JSON lines; the
# per-node overhead is (s3 - local) / 11 nodes.
#
#   benches/peers/s3_staging.sh [ROUNDS]        (default 5)
#
# Starts moto's server from the interop venv (MILLRACE_VENV, default
# /var/cache/millrace-ci/venv) unless S3_ENDPOINT and S3_BUCKET are set.
set -eu
ROUNDS=${1:-5}
VENV=${MILLRACE_VENV:-/var/cache/millrace-ci/venv}
cd "$(dirname "$0")/../.."
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
if [ -z "${S3_ENDPOINT:-}" ]; then
    PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
    MOTO=$!
    trap 'kill $MOTO' EXIT
    S3_ENDPOINT=http://127.0.0.1:$PORT
    S3_BUCKET=bench
    sleep 3
    "$VENV/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='$S3_ENDPOINT', region_name='us-east-1').create_bucket(Bucket='$S3_BUCKET')"
fi
export AWS_ENDPOINT_URL=$S3_ENDPOINT
cargo build --release -q --example taxi
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$(pwd)/$TARGET ;; esac
TAXI=$TARGET/release/examples/taxi
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"; [ -n "${MOTO:-}" ] && kill $MOTO' EXIT
cd "$SCRATCH"
seconds() { "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["duration_ms"] / 1000)'; }
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for kind in local s3; do
        dir=$SCRATCH/$kind-$round
        mkdir -p "$dir"
        if [ "$kind" = local ]; then root=$dir/artifacts; else root=s3://$S3_BUCKET/staging-$round; fi
        export MILLRACE_STORE=sqlite://$dir/metadata.sqlite MILLRACE_ROOT=$root MILLRACE_WORK_DIR=$dir/work
        first=$("$TAXI" run --json 2>/dev/null | seconds)
        cached=$("$TAXI" run --json 2>/dev/null | seconds)
        echo "{\"root\": \"$kind\", \"round\": $round, \"first_run_s\": $first, \"cached_rerun_s\": $cached}"
    done
    round=$((round + 1))
done
