# Helpers to run the real kiosk window under Xvfb and drive it as a person would, with
# xdotool clicks and scrot screenshots. Sourced by e2e.sh and screenshots.sh.

# start_display WIDTH HEIGHT: starts Xvfb on a free display and exports DISPLAY.
start_display() {
  local n=90
  while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 "${1}x${2}x24" -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$!
  export DISPLAY=":$n"
  for _ in $(seq 50); do xdotool getdisplaygeometry >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "Xvfb did not start on $DISPLAY" >&2
  return 1
}

# start_kiosk BIN CONFIG WIDTH HEIGHT: opens the kiosk and waits for its window.
start_kiosk() {
  "$1/npskiosk" --config "$2" --window-size "${3}x${4}" >"$WORK/kiosk.log" 2>&1 &
  KIOSK_PID=$!
  if ! timeout 30 xdotool search --sync --name "NPS kiosk" >/dev/null; then
    echo "kiosk window did not appear; its log:" >&2
    cat "$WORK/kiosk.log" >&2
    return 1
  fi
  sleep 1.5 # first frame
}

stop_all() {
  [ -n "${KIOSK_PID:-}" ] && kill "$KIOSK_PID" 2>/dev/null && wait "$KIOSK_PID" 2>/dev/null
  [ -n "${XVFB_PID:-}" ] && kill "$XVFB_PID" 2>/dev/null
  KIOSK_PID="" XVFB_PID=""
}

# click X Y: a tap, then a moment for the screen to change.
click() {
  xdotool mousemove "$1" "$2" click 1
  sleep "${PAUSE:-0.25}"
}

shot() { scrot -o "$1"; }

# start_collector BIN DB ADDR LOG: starts "npscollector serve" and waits for /healthz.
start_collector() {
  "$1/npscollector" serve --addr "$3" --db "$2" >"$4" 2>&1 &
  COLLECTOR_PID=$!
  for _ in $(seq 100); do
    curl -fsS "http://$3/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the collector did not start; its log:" >&2
  cat "$4" >&2
  return 1
}

# device_code BIN DB STORE NAME: registers a kiosk of STORE (adding the store, in UTC, if
# it is new) and prints its one-time enrollment code.
device_code() {
  "$1/npscollector" store add --db "$2" --id "$3" --name "Main Street" --timezone "${TZNAME:-UTC}" >/dev/null 2>&1 || true
  "$1/npscollector" device add --db "$2" --store "$3" --name "$4" --json | sed -n 's/.*"code": "\(.*\)".*/\1/p'
}
