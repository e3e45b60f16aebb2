#!/bin/sh
# Uploads and downloads one large artifact through Millrace's storage (the launcher's path:
# publish with the manifest last, then a verified download into an empty cache) and through
# boto3's transfer manager, on the same S3-compatible server, one after the other, ROUNDS times.
#
#   benches/peers/s3_transfer.sh [MIB] [ROUNDS]        (default 1024 MiB, 3 rounds)
#
# Needs the interop venv (MILLRACE_VENV, default /var/cache/millrace-ci/venv) with moto and
# boto3, which `cargo xtask test` installs. Starts moto's server on a free port unless
# S3_ENDPOINT is set (then S3_BUCKET must exist there).
set -eu
MIB=${1:-1024}
ROUNDS=${2:-3}
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
cargo build --release -q -p millrace-storage --example transfer
BIN=${CARGO_TARGET_DIR:-target}/release/examples/transfer
round=1
while [ "$round" -le "$ROUNDS" ]; do
    "$BIN" "s3://$S3_BUCKET/millrace" "$MIB"
    "$VENV/bin/python" benches/peers/s3_transfer_boto3.py "$S3_ENDPOINT" "$S3_BUCKET" "$MIB"
    round=$((round + 1))
done
