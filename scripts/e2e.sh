#!/usr/bin/env bash
# End-to-end: the real npskiosk binary, enrolled with a real collector, in a real window
# under Xvfb, driven with xdotool as a shopper would (a score, a reason, a comment typed
# on the on-screen keyboard, Submit); the row is read back from the SQLite file, then
# from the collector's. (A kiosk that is not enrolled records nothing: setup-screen.sh.)
set -euo pipefail
BIN=${1:-bin}
WORK=$(mktemp -d)
source "$(dirname "$0")/xkiosk.sh"
ADDR=127.0.0.1:$((20000 + RANDOM % 20000))
trap 'kill ${COLLECTOR_PID:-} 2>/dev/null; stop_all; rm -rf "$WORK"' EXIT

cat >"$WORK/kiosk.toml" <<TOML
db = "$WORK/kiosk.db"
hide_cursor = true
TOML
start_collector "$BIN" "$WORK/collector.db" "$ADDR" "$WORK/collector.log"
code=$(device_code "$BIN" "$WORK/collector.db" S1 "Till 1")
"$BIN/npskiosk" enroll --config "$WORK/kiosk.toml" --collector "http://$ADDR" --code "$code" >/dev/null
if [ "$(stat -c %a "$WORK/kiosk.toml")" != 600 ]; then
  echo "e2e: FAIL: the config holding the device token is not 0600" >&2
  exit 1
fi

start_display 1280 800
start_kiosk "$BIN" "$WORK/kiosk.toml" 1280 800

# Coordinates are those of the 1280x800 layout (kiosk/testdata/*_1280x800.xml).
click 1085 515          # score 9
click 180 147           # reason chip "Friendly staff"
click 600 330           # the comment box opens the on-screen keyboard
for key in "640 530" "454 458" "330 458" "89 530" "578 458"; do  # g r e a t
  click $key
done
click 1165 745          # Done
shot "$WORK/form.png"
click 1137 737          # Submit
sleep 0.5

row=$(sqlite3 "$WORK/kiosk.db" "SELECT score, outcome, reasons, comment FROM responses")
expected='9|submitted|["staff"]|great'
if [ "$row" != "$expected" ]; then
  echo "e2e: FAIL: the database holds [$row], want [$expected]" >&2
  cp "$WORK/form.png" /tmp/npskiosk-e2e-failed.png 2>/dev/null || true
  echo "e2e: the form before Submit is in /tmp/npskiosk-e2e-failed.png; kiosk log:" >&2
  cat "$WORK/kiosk.log" >&2
  exit 1
fi
if grep -q "Fyne error" "$WORK/kiosk.log"; then
  echo "e2e: FAIL: Fyne logged errors:" >&2
  cat "$WORK/kiosk.log" >&2
  exit 1
fi
stop_all

# The same response goes on to the collector: the window's worker may have sent it
# already; "npskiosk sync --once" sends what is left, headless, and it is in the
# collector's database once.
"$BIN/npskiosk" sync --once --config "$WORK/kiosk.toml" 2>>"$WORK/sync.log"
row=$(sqlite3 "$WORK/collector.db" "SELECT score, outcome, reasons, comment, store_id FROM responses")
if [ "$row" != '9|submitted|["staff"]|great|S1' ]; then
  echo "e2e: FAIL: the collector holds [$row]" >&2
  cat "$WORK/sync.log" "$WORK/collector.log" >&2
  exit 1
fi
# Read all of status before grep: grep -q stops at the match, and status writing its
# later lines into the closed pipe would fail the pipeline.
status=$("$BIN/npskiosk" status --config "$WORK/kiosk.toml")
grep -q "waiting:      0" <<<"$status" || {
  echo "e2e: FAIL: npskiosk status does not show an empty queue" >&2; exit 1; }
"$BIN/npskiosk" doctor --config "$WORK/kiosk.toml" >"$WORK/doctor.txt" || {
  echo "e2e: FAIL: npskiosk doctor on a healthy, enrolled kiosk:" >&2; cat "$WORK/doctor.txt" >&2; exit 1; }
echo "e2e: 2 passed, 0 failed (a tap in the real window reached the kiosk database, then the collector)"
