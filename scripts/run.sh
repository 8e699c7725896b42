#!/usr/bin/env bash
# make run: the demo a newcomer sees first. A kiosk window with a month of simulated
# responses behind it, so the manager view (five taps in the top-left corner, PIN 1234)
# has something to show.
set -euo pipefail
BIN=${1:-bin}
DIR=${2:-.run}
mkdir -p "$DIR"
CONFIG="$DIR/kiosk.toml"

if [ ! -f "$CONFIG" ]; then
  hash=$(echo 1234 | "$BIN/npskiosk" pin-hash)
  cat >"$CONFIG" <<TOML
# Demo kiosk made by "make run". See README.md for every setting.
db = "$DIR/kiosk.db"
manager_pin_hash = "$hash"
TOML
fi
if [ ! -f "$DIR/kiosk.db" ]; then
  "$BIN/npskiosk" simulate --config "$CONFIG" --count 900 --days 30
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  source "$(dirname "$0")/xkiosk.sh"
  start_display 1280 800
  trap stop_all EXIT
  echo "No display here: the kiosk runs on the virtual display $DISPLAY."
  echo "Look at it with: DISPLAY=$DISPLAY scrot /tmp/kiosk.png"
fi
echo "Manager view: tap the top-left corner five times, PIN 1234. Ctrl-C stops."
exec_args=("$BIN/npskiosk" --config "$CONFIG" ${KIOSK_FLAGS:-})
"${exec_args[@]}"
