#!/usr/bin/env bash
# make scale-demo: the scale-out layout on this machine, on loopback only, for a minute.
# A throwaway PostgreSQL (scripts/with-postgres.sh), three "npscollector serve" processes
# on one database, HAProxy in front of them checking /readyz twice a second, and a fleet
# of simulated kiosks and shoppers on survey links uploading through HAProxy. A third of
# the way in one collector is killed with SIGKILL (and started again), two thirds in
# another is restarted with SIGTERM as a rolling upgrade would; at the end the database
# is checked: every acknowledged response stored and counted once, every case opened
# once, every webhook event delivered, no digest twice. Everything stops by itself.
#
# The fleet and the checks are bench's TestScaleOutExactlyOnce (make test runs it small);
# this runs it bigger and keeps the HAProxy configuration and every log in $NPS_SCALE_DIR.
#   DEVICES=200 DURATION=60s scripts/scale-demo.sh [bin]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-bin}
export NPS_SCALE_DEVICES=${DEVICES:-200}
export NPS_SCALE_DURATION=${DURATION:-60s}
export NPS_SCALE_DIR=${NPS_SCALE_DIR:-$PWD/.run/scale-demo}
case "$BIN" in
  /*) export NPS_BIN_DIR=$BIN ;;
  *) export NPS_BIN_DIR=$PWD/$BIN ;;
esac

if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  echo "scale-demo: installing haproxy"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends haproxy >/dev/null
fi

rm -rf "$NPS_SCALE_DIR"
mkdir -p "$NPS_SCALE_DIR"
echo "scale-demo: $NPS_SCALE_DEVICES kiosks and $((NPS_SCALE_DEVICES / 10)) shoppers for $NPS_SCALE_DURATION through HAProxy to 3 collectors; logs in $NPS_SCALE_DIR"
scripts/with-postgres.sh go test -tags migrated_fynedo,sqlite_fts5 -count=1 -timeout 20m \
  -run '^TestScaleOutExactlyOnce$' -v ./bench/ | grep --line-buffered -E 'scaleout_test|^(--- |ok|FAIL|PASS)'
echo "scale-demo: HAProxy's view of it: $NPS_SCALE_DIR/haproxy.log; the collectors': $NPS_SCALE_DIR/collector*.log"
