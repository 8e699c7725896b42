#!/usr/bin/env bash
# A kiosk that was never enrolled, in the real window under Xvfb, set up by a technician
# on its own screen: it shows "not set up" and records no tap; xdotool taps Set up, types
# the collector's address, the enrollment code and the setup PIN from npscollector device
# add on the on-screen keyboard, tests the connection, sees the store, confirms; then the
# survey shows, a tap is recorded and reaches the collector. Screenshots go to OUT when
# given (make screenshots: docs/screenshots/kiosk_setup_*.png, shown in the README).
# Usage: scripts/setup-screen.sh BIN [OUT]
set -euo pipefail
BIN=${1:-bin}
OUT=${2:-}
WORK=$(mktemp -d)
source "$(dirname "$0")/xkiosk.sh"
ADDR=127.0.0.1:$((20000 + RANDOM % 20000))
trap 'kill ${COLLECTOR_PID:-} 2>/dev/null; stop_all; rm -rf "$WORK"' EXIT
fail() {
  echo "setup-screen: FAIL: $*" >&2
  shot "$WORK/failed.png" 2>/dev/null && cp "$WORK/failed.png" /tmp/npskiosk-setup-failed.png
  echo "setup-screen: the screen is in /tmp/npskiosk-setup-failed.png; kiosk log:" >&2
  cat "$WORK/kiosk.log" >&2
  exit 1
}

start_collector "$BIN" "$WORK/collector.db" "$ADDR" "$WORK/collector.log"
"$BIN/npscollector" store add --db "$WORK/collector.db" --id S042 --name "Main Street" --timezone UTC >/dev/null
added=$("$BIN/npscollector" device add --db "$WORK/collector.db" --store S042 --name "Till 3" --json)
code=$(sed -n 's/.*"code": "\(.*\)".*/\1/p' <<<"$added")
pin=$(sed -n 's/.*"setup_pin": "\(.*\)".*/\1/p' <<<"$added")
if [ ${#code} != 11 ] || [ ${#pin} != 6 ]; then fail "device add printed no code and setup PIN: $added"; fi

# A fresh install's config: no collector. (Plain HTTP works on loopback only.)
cat >"$WORK/kiosk.toml" <<TOML
db = "$WORK/kiosk.db"
hide_cursor = true
TOML

start_display 1280 800
start_kiosk "$BIN" "$WORK/kiosk.toml" 1280 800
[ -n "$OUT" ] && shot "$OUT/kiosk_not_set_up_1280x800.png"
# Where the score 9 would be: a kiosk that is not set up records nothing.
click 1085 472
[ "$(sqlite3 "$WORK/kiosk.db" "SELECT count(*) FROM responses")" = 0 ] || fail "a kiosk that is not set up recorded a tap"
grep -q "not enrolled: it shows the setup screen" "$WORK/kiosk.log" || fail "the kiosk did not say it is not set up"

# Key positions of the 1280x800 setup form (kiosk/testdata/setup_form_1280x800.xml).
declare -A K=(
  [1]="82 400" [2]="206 400" [3]="330 400" [4]="454 400" [5]="578 400" [6]="702 400" [7]="826 400"
  [8]="950 400" [9]="1074 400" [0]="1198 400"
  [q]="82 472" [w]="206 472" [e]="330 472" [r]="454 472" [t]="578 472" [y]="702 472" [u]="826 472"
  [i]="950 472" [o]="1074 472" [p]="1198 472"
  [a]="88 544" [s]="225 544" [d]="363 544" [f]="501 544" [g]="639 544" [h]="776 544" [j]="914 544"
  [k]="1052 544" [l]="1190 544"
  [z]="108 616" [x]="285 616" [c]="462 616" [v]="639 616" [b]="816 616" [n]="993 616" [m]="1170 616"
  [.]="188 688" [-]="414 688" [:]="1090 688" [/]="1203 688"
  [delete]="998 760" [done]="1166 760" [check]="1106 112")
# type_keys TEXT: taps TEXT's keys on the on-screen keyboard (the code's capitals as
# small letters: the code field types capitals).
type_keys() {
  local text=${1,,} i
  for ((i = 0; i < ${#text}; i++)); do
    # shellcheck disable=SC2086 # "X Y"
    PAUSE=0.08 click ${K[${text:i:1}]}
  done
}
press() {
  # shellcheck disable=SC2086
  click ${K[$1]}
}

click 640 519 # Set up
for _ in 1 2 3 4 5 6 7 8; do PAUSE=0.08 press delete; done # the "https://" it starts with
type_keys "http://$ADDR"
press done
type_keys "$code"
press done
type_keys "$pin"
[ -n "$OUT" ] && shot "$OUT/kiosk_setup_form_1280x800.png"
press check
for _ in $(seq 50); do grep -q "setup: connection test" "$WORK/kiosk.log" && break; sleep 0.1; done
sleep 0.5
grep -q "setup: connection test passed.*store=S042" "$WORK/kiosk.log" || fail "the connection test did not pass"
shot "$WORK/confirm.png"
[ -n "$OUT" ] && cp "$WORK/confirm.png" "$OUT/kiosk_setup_confirm_1280x800.png"
grep -q '^\[collector\]' "$WORK/kiosk.toml" && fail "the connection test enrolled the kiosk"

click 764 630 # Confirm and start
for _ in $(seq 50); do grep -q "the survey starts" "$WORK/kiosk.log" && break; sleep 0.1; done
sleep 0.5
grep -q 'device_id' "$WORK/kiosk.toml" || fail "the kiosk's config holds no device after setup"
[ "$(stat -c %a "$WORK/kiosk.toml")" = 600 ] || fail "the config holding the device token is not 0600"
enrolled=$(sqlite3 "$WORK/collector.db" "SELECT name FROM devices WHERE enrolled_at IS NOT NULL")
[ "$enrolled" = "Till 3" ] || fail "the collector has [$enrolled] enrolled, want Till 3"

click 1085 472 # 9 on the rating screen, now that the kiosk is set up
[ "$(sqlite3 "$WORK/kiosk.db" "SELECT count(*) FROM responses WHERE score = 9")" = 1 ] || fail "the tap after setup was not recorded"
click 1137 737 # Submit
for _ in $(seq 100); do
  [ "$(sqlite3 "$WORK/collector.db" "SELECT count(*) FROM responses WHERE store_id = 'S042'")" = 1 ] && break
  sleep 0.2
done
[ "$(sqlite3 "$WORK/collector.db" "SELECT count(*) FROM responses WHERE store_id = 'S042'")" = 1 ] || fail "the response did not reach the collector"
echo "setup-screen: passed (not set up, then set up on screen with code and setup PIN; a tap reached the collector)"
