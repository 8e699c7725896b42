#!/usr/bin/env bash
# Screenshots of every screen of the real kiosk window under Xvfb, landscape 1280x800
# and portrait 800x1280, into docs/screenshots/. Run by "make screenshots"; look at them
# after any change to the UI.
set -euo pipefail
BIN=${1:-bin}
OUT=${2:-docs/screenshots}
WORK=$(mktemp -d)
source "$(dirname "$0")/xkiosk.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

# A collector on loopback, so the manager view shows a kiosk that syncs.
ADDR=127.0.0.1:$((20000 + RANDOM % 20000))
trap 'kill ${COLLECTOR_PID:-} 2>/dev/null; stop_all; rm -rf "$WORK"' EXIT
start_collector "$BIN" "$WORK/collector.db" "$ADDR" "$WORK/collector.log"
code=$(device_code "$BIN" "$WORK/collector.db" S001 "Till 1")

hash=$(echo 1234 | "$BIN/npskiosk" pin-hash)
cat >"$WORK/kiosk.toml" <<TOML
db = "$WORK/kiosk.db"
manager_pin_hash = "$hash"
TOML
"$BIN/npskiosk" enroll --config "$WORK/kiosk.toml" --collector "http://$ADDR" --code "$code" >/dev/null
"$BIN/npskiosk" simulate --config "$WORK/kiosk.toml" --count 900 --days 30 --seed 42 >/dev/null

# Tap positions per layout: score 3 (a spot it keeps when "Change score" adds a line
# under the scores), a reason chip ("Waiting time"), the comment box, keys g r e a t,
# Done, the consent box, Change score, Submit, PIN keys 1 2 3 4 and OK, the dashboard's
# Exit kiosk and the Cancel of its confirmation.
declare -A L=(
  [score]="417 470" [chip]="180 227" [comment]="600 330"
  [g]="640 530" [r]="450 458" [e]="324 458" [a]="78 530" [t]="577 458"
  [done]="1165 745" [consent]="600 420" [change]="162 736" [submit]="1137 737"
  [p1]="457 267" [p2]="639 267" [p3]="822 267" [p4]="457 362" [ok]="822 555"
  [exit]="1146 56" [cancel]="508 499")
declare -A P=(
  [score]="462 730" [chip]="200 449" [comment]="400 633"
  [g]="400 1010" [r]="282 937" [e]="203 937" [a]="51 1010" [t]="361 937"
  [done]="697 1224" [consent]="400 721" [change]="162 1216" [submit]="657 1216"
  [p1]="217 505" [p2]="400 505" [p3]="582 505" [p4]="217 601" [ok]="582 795"
  [exit]="362 142" [cancel]="268 739")

capture() { # capture NAME WIDTH HEIGHT LAYOUT
  local name=$1 w=$2 h=$3
  local -n at=$4
  local sfx="${w}x${h}"
  start_display "$w" "$h"
  start_kiosk "$BIN" "$WORK/kiosk.toml" "$w" "$h"
  shot "$OUT/rating_$sfx.png"
  click ${at[score]}
  click ${at[chip]}
  click ${at[comment]}
  for k in g r e a t; do click ${at[$k]}; done
  shot "$OUT/keyboard_$sfx.png"
  click ${at[done]}
  click ${at[consent]}
  shot "$OUT/followup_$sfx.png"
  click ${at[change]}
  shot "$OUT/change_score_$sfx.png"
  click ${at[score]}                     # the same score: back to the follow-up as it was
  click ${at[submit]}
  shot "$OUT/thanks_$sfx.png"
  sleep 4.5
  click ${at[score]}
  sleep 26                               # the idle prompt shows 5 s before the 30 s reset
  shot "$OUT/still_there_$sfx.png"
  sleep 5
  for _ in 1 2 3 4 5; do xdotool mousemove 40 40 click 1; sleep 0.1; done
  sleep 0.3
  click ${at[p1]}; click ${at[p2]}
  shot "$OUT/pin_$sfx.png"
  click ${at[p3]}; click ${at[p4]}; click ${at[ok]}
  sleep 0.5
  shot "$OUT/manager_$sfx.png"
  xdotool mousemove $((w / 2)) $((h / 2))
  for _ in $(seq 15); do xdotool click 5; done
  sleep 0.5
  shot "$OUT/manager_scrolled_$sfx.png"
  click ${at[exit]}
  shot "$OUT/exit_confirm_$sfx.png"
  click ${at[cancel]}
  stop_all
}

capture landscape 1280 800 L
capture portrait 800 1280 P
# The extra questions a survey may ask of kiosks, answered in the window too.
"$(dirname "$0")/screenshots-questions.sh" "$BIN" "$OUT"
# A kiosk that is not set up, set up on its own screen.
"$(dirname "$0")/setup-screen.sh" "$BIN" "$OUT"
ls "$OUT"
