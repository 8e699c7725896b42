#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on loopback, its URL in
# NPS_TEST_POSTGRES. Tests run it with fsync off for speed; benchmarks set PG_FSYNC=on so
# its figures mean what they would in production. The server lives in a temporary directory and is stopped and removed
# afterwards, whatever the command's outcome.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ]; then
  echo "with-postgres: PostgreSQL is not installed (make deps installs it)" >&2
  exit 1
fi
DIR=$(mktemp -d /tmp/npspg.XXXXXX)
PORT=$((30000 + RANDOM % 20000))
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root: use its own system user.
  chown postgres "$DIR"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"${as_pg[@]}" "$PGBIN/initdb" -D "$DIR/data" -U nps --auth=trust -E UTF8 --no-locale >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-off} -c max_connections=300" start >/dev/null
"${as_pg[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U nps npstest
export NPS_TEST_POSTGRES="postgres://nps@127.0.0.1:$PORT/npstest?sslmode=disable"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT"
"$@"
