#!/usr/bin/env bash
# make run: the demo a newcomer sees first. A local collector with its HQ dashboard, and a
# kiosk window enrolled with it, with a month of simulated responses behind it so the
# manager view (five taps in the top-left corner, PIN 1234) and the dashboard have
# something to show. Ctrl-C (or SIGTERM) stops the kiosk, then the collector, then the
# virtual display if it started one, and exits 0; so does "Exit kiosk" in the window.
# shellcheck disable=SC2317 # functions that run from traps
set -euo pipefail
BIN=${1:-bin}
DIR=${2:-.run}
ADDR=${COLLECTOR_ADDR:-127.0.0.1:8787}
mkdir -p "$DIR"
CONFIG="$DIR/kiosk.toml"
CDB="$DIR/collector.db"
PASSWORD_FILE="$DIR/demo-password" # the dashboard sign-in, kept so every run shows the same one
# shellcheck disable=SC2034 # read by xkiosk.sh
TZNAME=$(cat /etc/timezone 2>/dev/null || echo UTC)

# shellcheck disable=SC2034 # read by xkiosk.sh
WORK=$DIR
# shellcheck source=scripts/xkiosk.sh
source "$(dirname "$0")/xkiosk.sh"

# Stops what runs, in order: the kiosk first (it quits its window on SIGTERM, while the
# display and the collector it talks to are still there), then the collector, then Xvfb.
# Prints nothing when all goes well.
stop_demo() {
  local rc=0
  if [ -n "${KIOSK_PID:-}" ]; then
    stop_pid "$KIOSK_PID" npskiosk 15 || rc=$?
    KIOSK_PID=""
  fi
  terminal_back
  stop_collector || true
  stop_display || true
  return "$rc"
}
# INT, TERM: a stop asked for. Once the kiosk runs, its ending on the signal (or on the one
# the terminal sent it too) is a clean end, and anything else it reports is passed on.
# During the set-up the stop is an interruption (130). A second Ctrl-C does not cut the
# orderly stop short (each step is bounded).
on_signal() {
  trap '' INT TERM
  local rc=0
  stop_demo || rc=$?
  [ -n "$kiosk_started" ] || exit 130
  case $rc in 0 | 130 | 143) exit 0 ;; *) exit "$rc" ;; esac
}
kiosk_started=""
trap on_signal INT TERM
trap 'stop_demo || true' EXIT

# On a terminal, the kiosk runs as the terminal's foreground process group, as a shell with
# job control would run it: Ctrl-C then reaches the kiosk alone, which quits, and this
# script (and make above it, which would otherwise end itself with SIGINT after the
# recipe) finishes normally. terminal_back hands the terminal back to this script's group.
# Both use perl's POSIX module (perl-base, on every Debian and Ubuntu system).
foreground=""
if [ -t 0 ] && command -v perl >/dev/null && perl -MPOSIX -e 'exit(POSIX::tcgetpgrp(0) == getpgrp() ? 0 : 1)' 2>/dev/null; then
  foreground=1
fi
terminal_back() {
  [ -n "$foreground" ] || return 0
  perl -MPOSIX -e '$SIG{TTOU} = "IGNORE"; POSIX::tcsetpgrp(0, getpgrp())' 2>/dev/null || true
}
run_kiosk() {
  if [ -n "$foreground" ]; then
    perl -MPOSIX -e 'setpgid(0, 0); $SIG{TTOU} = "IGNORE"; POSIX::tcsetpgrp(0, getpgrp());
      $SIG{TTOU} = "DEFAULT"; exec(@ARGV) or die "exec $ARGV[0]: $!\n"' -- "$@" <&0 & # <&0: not /dev/null
  else
    "$@" &
  fi
  KIOSK_PID=$! kiosk_started=1
}

# The local collector's contact key, made once: the kiosk is handed it at enrollment and
# seals the shoppers' contacts to it; the dashboard shows them opened.
KEYS="$DIR/contact-keys.pem"
if [ ! -f "$KEYS" ]; then
  "$BIN/npscollector" contact-key create --file "$KEYS" >/dev/null
fi
start_collector "$BIN" "$CDB" "$ADDR" "$DIR/collector.log" "$KEYS"

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

# A demo user to sign in to the dashboard with: the password is made once and kept, and
# the user is added again when the collector no longer knows it (its database was removed).
EMAIL=demo@example.com
if [ ! -s "$PASSWORD_FILE" ]; then
  (umask 077 && head -c 12 /dev/urandom | base64 | tr -d '/+=\n' >"$PASSWORD_FILE.tmp") && mv "$PASSWORD_FILE.tmp" "$PASSWORD_FILE"
fi
password=$(cat "$PASSWORD_FILE")
if ! "$BIN/npscollector" user list --db "$CDB" --json | grep -q "\"$EMAIL\""; then
  "$BIN/npscollector" user add --db "$CDB" --email "$EMAIL" --name "Demo HQ" --password-file "$PASSWORD_FILE" --alerts none >/dev/null
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  start_display 1280 800
  echo "No display here: the kiosk runs on the virtual display $DISPLAY."
  echo "Look at it with: DISPLAY=$DISPLAY scrot /tmp/kiosk.png"
fi
echo "Collector: http://$ADDR (log: $DIR/collector.log). Kiosk: $CONFIG"
echo "HQ dashboard: http://$ADDR/  sign in as $EMAIL with password: $password"
echo "Manager view: tap the top-left corner five times, PIN 1234. Ctrl-C stops."
echo "Collector commands on this demo: NPSCOLLECTOR_DB=$CDB $BIN/npscollector device list"
# shellcheck disable=SC2086 # KIOSK_FLAGS is a list of flags
run_kiosk "$BIN/npskiosk" --config "$CONFIG" ${KIOSK_FLAGS:-}

# The window closed by itself ("Exit kiosk", or an error): pass its status on.
rc=0
wait "$KIOSK_PID" || rc=$?
KIOSK_PID=""
exit $rc
