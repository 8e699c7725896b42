#!/usr/bin/env bash
# make run: the demo a newcomer sees first. A local collector, and a kiosk window enrolled
# with it, with a month of simulated responses behind it so the manager view (five taps in
# the top-left corner, PIN 1234) has something to show. Ctrl-C or "Exit kiosk" stops both.
set -euo pipefail
BIN=${1:-bin}
DIR=${2:-.run}
ADDR=${COLLECTOR_ADDR:-127.0.0.1:8787}
mkdir -p "$DIR"
CONFIG="$DIR/kiosk.toml"
CDB="$DIR/collector.db"
TZNAME=$(cat /etc/timezone 2>/dev/null || echo UTC)

WORK=$DIR
source "$(dirname "$0")/xkiosk.sh"
cleanup() { kill "${COLLECTOR_PID:-}" 2>/dev/null || true; [ -n "${XVFB_PID:-}" ] && kill "$XVFB_PID" 2>/dev/null; true; }
trap cleanup EXIT
start_collector "$BIN" "$CDB" "$ADDR" "$DIR/collector.log"

if [ ! -f "$CONFIG" ]; then
  code=$(device_code "$BIN" "$CDB" S001 "Demo kiosk")
  hash=$(echo 1234 | "$BIN/npskiosk" pin-hash)
  cat >"$CONFIG" <<TOML
db = "$DIR/kiosk.db"
manager_pin_hash = "$hash"
TOML
  "$BIN/npskiosk" enroll --config "$CONFIG" --collector "http://$ADDR" --code "$code"
  "$BIN/npskiosk" simulate --config "$CONFIG" --count 900 --days 30
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  start_display 1280 800
  echo "No display here: the kiosk runs on the virtual display $DISPLAY."
  echo "Look at it with: DISPLAY=$DISPLAY scrot /tmp/kiosk.png"
fi
echo "Collector: http://$ADDR (log: $DIR/collector.log). Kiosk: $CONFIG"
echo "Manager view: tap the top-left corner five times, PIN 1234. Ctrl-C stops."
"$BIN/npskiosk" --config "$CONFIG" ${KIOSK_FLAGS:-}
