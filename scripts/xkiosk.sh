# shellcheck shell=bash
# Helpers to run the real kiosk window under Xvfb and drive it as a person would, with
# xdotool clicks and scrot screenshots. Sourced by e2e.sh and screenshots.sh.

# start_display WIDTH HEIGHT: starts Xvfb on a free display and exports DISPLAY. Xvfb runs
# in a session of its own (setsid; in a script it keeps its PID), so the terminal's Ctrl-C
# does not end it under a kiosk that is still drawing: stop_display ends it, last.
start_display() {
  local n=90
  while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
  setsid Xvfb ":$n" -screen 0 "${1}x${2}x24" -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$! XVFB_DISPLAY=$n
  export DISPLAY=":$n"
  for _ in $(seq 50); do xdotool getdisplaygeometry >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "Xvfb did not start on $DISPLAY" >&2
  return 1
}

# stop_display: ends Xvfb with SIGTERM, so it removes its /tmp/.X<n>-lock and
# /tmp/.X11-unix/X<n>, and waits for it. Fails if they are left behind (removing them when
# the lock names our Xvfb, which stop_pid had to kill).
stop_display() {
  [ -n "${XVFB_PID:-}" ] || return 0
  local pid=$XVFB_PID n=$XVFB_DISPLAY
  XVFB_PID=""
  stop_pid "$pid" Xvfb 10 || true
  if [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; then
    echo "Xvfb :$n left /tmp/.X$n-lock or /tmp/.X11-unix/X$n behind" >&2
    if [ "$(tr -d ' ' <"/tmp/.X$n-lock" 2>/dev/null)" = "$pid" ]; then
      rm -f "/tmp/.X$n-lock" "/tmp/.X11-unix/X$n"
    fi
    return 1
  fi
}

# stop_pid PID NAME [SECONDS]: SIGTERM to a child of this shell, up to SECONDS (default 10)
# for it to end, then SIGKILL; reaps it and returns its exit status.
stop_pid() {
  local pid=$1 i rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < ${3:-10} * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$2 did not stop within ${3:-10} s of SIGTERM: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return $rc
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

# stop_all: the kiosk, then the display it draws on.
stop_all() {
  if [ -n "${KIOSK_PID:-}" ]; then
    stop_pid "$KIOSK_PID" npskiosk 10 || true
    KIOSK_PID=""
  fi
  stop_display || true
}

# click X Y: a tap, then a moment for the screen to change.
click() {
  xdotool mousemove "$1" "$2" click 1
  sleep "${PAUSE:-0.25}"
}

shot() { scrot -o "$1"; }

# start_collector BIN DB ADDR LOG [CONTACT_KEYS]: starts "npscollector serve" and waits for
# /healthz, with the contact key file CONTACT_KEYS when given. Like Xvfb it runs in a
# session of its own, so it outlives the Ctrl-C that stops the kiosk.
start_collector() {
  setsid "$1/npscollector" serve --addr "$3" --metrics-addr 127.0.0.1:0 --db "$2" --contact-keys "${5:-}" >"$4" 2>&1 &
  COLLECTOR_PID=$!
  for _ in $(seq 100); do
    curl -fsS "http://$3/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the collector did not start; its log:" >&2
  cat "$4" >&2
  return 1
}

# stop_collector: ends the collector with SIGTERM and waits for it.
stop_collector() {
  [ -n "${COLLECTOR_PID:-}" ] || return 0
  local pid=$COLLECTOR_PID
  COLLECTOR_PID=""
  stop_pid "$pid" npscollector 10
}

# device_code BIN DB STORE NAME: registers a kiosk of STORE (adding the store, in UTC, if
# it is new) and prints its one-time enrollment code.
device_code() {
  "$1/npscollector" store add --db "$2" --id "$3" --name "Main Street" --timezone "${TZNAME:-UTC}" >/dev/null 2>&1 || true
  "$1/npscollector" device add --db "$2" --store "$3" --name "$4" --json | sed -n 's/.*"code": "\(.*\)".*/\1/p'
}
