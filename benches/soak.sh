#!/usr/bin/env bash
# The soak (benches/soak.rs): runner processes on one PostgreSQL store, back-to-back taxi
# runs, random SIGKILLs and resumes, then checks that every run completed and nothing leaked.
#
#   benches/soak.sh [MINUTES] [WORKERS]        (default 30 minutes, 8 workers)
#
# Starts a throwaway PostgreSQL server (PostgreSQL 15 from Debian: initdb, pg_ctl; as root they
# run as the `postgres` user) on a free port of 127.0.0.1, and removes it afterwards; or uses
# MILLRACE_TEST_POSTGRES_URL when it is set (a database the soak may fill).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
workers="${2:-8}"
cargo bench -q --bench soak --no-run
url="${MILLRACE_TEST_POSTGRES_URL:-}"
if [[ -z $url ]]; then
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  data="$(mktemp -d /tmp/millrace-soak-pg.XXXXXX)"
  as_postgres=()
  if [[ $(id -u) == 0 ]]; then
    chown postgres "$data"
    as_postgres=(runuser -u postgres --)
  fi
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${as_postgres[@]}" "$bin/initdb" -A trust -U postgres -D "$data/db" >/dev/null
  "${as_postgres[@]}" "$bin/pg_ctl" -w -D "$data/db" -l "$data/log" \
    -o "-k $data -h 127.0.0.1 -p $port -c max_connections=200" start >/dev/null
  trap '"${as_postgres[@]}" "$bin/pg_ctl" -D "$data/db" -m fast stop >/dev/null; rm -rf "$data"' EXIT
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres millrace_soak
  url="postgresql://postgres@127.0.0.1:$port/millrace_soak"
fi
cargo bench -q --bench soak -- --store "$url" --minutes "$minutes" --workers "$workers"
