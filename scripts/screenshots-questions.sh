#!/usr/bin/env bash
# The kiosk's extra questions in the real window under Xvfb, landscape 1280x800 and
# portrait 800x1280: a survey file (the kiosk config's "survey") asks kiosks three extra
# questions, a single choice, a 1-5 rating and a text; xdotool taps a score, a reason,
# Next, an option, a rating and types the text on the on-screen keyboard; scrot takes
# docs/screenshots/kiosk_extra_questions_<size>.png; Submit; and the answers are read back
# from the kiosk's SQLite file. Run by scripts/screenshots.sh ("make screenshots"), or on
# its own: scripts/screenshots-questions.sh bin docs/screenshots.
set -euo pipefail
BIN=${1:-bin}
OUT=${2:-docs/screenshots}
WORK=$(mktemp -d)
source "$(dirname "$0")/xkiosk.sh"
ADDR=127.0.0.1:$((20000 + RANDOM % 20000))
trap 'kill ${COLLECTOR_PID:-} 2>/dev/null; stop_all; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

# The default survey with three questions for kiosks (the labels of the kiosk's tests,
# whose golden markup gives the tap positions below).
sed 's/^store_name = .*/store_name = "Main Street"/' "$(dirname "$0")/../assets/survey.toml" >"$WORK/survey.toml"
cat >>"$WORK/survey.toml" <<'TOML'

[[questions]]
key = "found"
kind = "single"
channels = ["kiosk"]
labels = { en = "Did you find everything you came for?", es = "¿Encontró todo lo que buscaba?", fr = "Avez-vous trouvé tout ce que vous cherchiez ?", de = "Haben Sie alles gefunden, was Sie gesucht haben?" }

[[questions.options]]
key = "yes"
labels = { en = "Yes", es = "Sí", fr = "Oui", de = "Ja" }

[[questions.options]]
key = "partly"
labels = { en = "Partly", es = "En parte", fr = "En partie", de = "Teilweise" }

[[questions.options]]
key = "no"
labels = { en = "No", es = "No", fr = "Non", de = "Nein" }

[[questions]]
key = "speed"
kind = "rating"
labels = { en = "How quick was checkout?", es = "¿Qué tan rápido fue pagar?", fr = "Le passage en caisse a-t-il été rapide ?", de = "Wie schnell ging es an der Kasse?" }

[[questions]]
key = "improve"
kind = "text"
channels = ["kiosk"]
labels = { en = "One thing we could do better?", es = "¿Qué podríamos mejorar?", fr = "Que pourrions-nous améliorer ?", de = "Was könnten wir besser machen?" }
TOML

# Tap positions per layout: score 8, the reason chip Staff, Next, the option Yes, the
# rating 4, the text field, the keys of "more tills", Done and Submit.
declare -A L=(
  [score]="973 472" [chip]="181 148" [next]="1138 736" [yes]="181 221" [four]="884 377" [field]="640 605"
  [m]="1181 600" [o]="1082 456" [r]="450 456" [e]="323 456" [space]="546 744" [t]="576 456" [i]="955 456"
  [l]="1201 528" [s]="218 528" [done]="1178 744" [submit]="1138 736")
declare -A P=(
  [score]="399 809" [chip]="214 234" [next]="658 1216" [yes]="214 221" [four]="548 457" [field]="400 685"
  [m]="736 1080" [o]="674 936" [r]="282 936" [e]="203 936" [space]="306 1224" [t]="360 936" [i]="595 936"
  [l]="747 1008" [s]="138 1008" [done]="698 1224" [submit]="658 1216")

want='{"found":["yes"],"improve":["more tills"],"speed":["4"]}'

# A kiosk records answers only once enrolled: a local collector gives its store the same
# survey (the kiosk's survey file shows it until the first pull).
start_collector "$BIN" "$WORK/collector.db" "$ADDR" "$WORK/collector.log"
"$BIN/npscollector" store add --db "$WORK/collector.db" --id S1 --name "Main Street" --timezone UTC >/dev/null
"$BIN/npscollector" survey set --db "$WORK/collector.db" --store S1 "$WORK/survey.toml" >/dev/null

capture() { # capture WIDTH HEIGHT LAYOUT
  local w=$1 h=$2
  local -n at=$3
  local sfx="${w}x${h}" db="$WORK/kiosk-$1.db"
  cat >"$WORK/kiosk.toml" <<TOML
db = "$db"
survey = "$WORK/survey.toml"
TOML
  code=$(device_code "$BIN" "$WORK/collector.db" S1 "Till $w")
  "$BIN/npskiosk" enroll --config "$WORK/kiosk.toml" --collector "http://$ADDR" --code "$code" >/dev/null
  start_display "$w" "$h"
  start_kiosk "$BIN" "$WORK/kiosk.toml" "$w" "$h"
  click ${at[score]}
  click ${at[chip]}
  click ${at[next]}
  click ${at[yes]}
  click ${at[four]}
  click ${at[field]}
  for k in m o r e space t i l l s; do click ${at[$k]}; done
  click ${at[done]}
  shot "$OUT/kiosk_extra_questions_$sfx.png"
  click ${at[submit]}
  sleep 0.5
  stop_all
  got=$(sqlite3 "$db" "SELECT answers FROM responses WHERE completed_at IS NOT NULL AND outcome = 'submitted'")
  if [ "$got" != "$want" ]; then
    echo "$sfx: the kiosk stored answers $got, want $want" >&2
    exit 1
  fi
  echo "$sfx: answers stored: $got"
}

capture 1280 800 L
capture 800 1280 P
