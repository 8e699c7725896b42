#!/usr/bin/env bash
# The newcomer's path through make run, tested without a terminal or a display: run.sh
# starts in a fresh directory on a free loopback port, prints the HQ dashboard's address
# and a demo user's e-mail and password; the test signs in with them as a browser would (CSRF cookie and
# form field), finds the demo store's responses on the overview once the kiosk has
# uploaded them, then presses Ctrl-C (SIGINT to the process group, as a terminal does).
# run.sh must exit 0, print no X I/O error and leave no X lock behind. A second start in
# the same directory must print the same password, and stop cleanly on SIGTERM. KEEP=1 keeps
# the working directory to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-bin}
WORK=$(mktemp -d)
RUN_PID="" DISPLAY_N=""

fail() {
  echo "run-test: FAIL: $*" >&2
  echo "run-test: run.sh printed:" >&2
  cat "$WORK/out" >&2 2>/dev/null || true
  echo "run-test: collector log (tail):" >&2
  tail -n 20 "$WORK/run/collector.log" >&2 2>/dev/null || true
  exit 1
}

# Whatever a failed run left: run.sh's session, then the collector and Xvfb it started in
# sessions of their own (found by this run's directory and the display's lock file).
cleanup() {
  local pid
  if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
    kill -TERM -- "-$RUN_PID" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$RUN_PID" 2>/dev/null || true
  fi
  for pid in $(pgrep -f -- "--db $WORK/run/collector.db" || true); do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$DISPLAY_N" ] && [ -f "/tmp/.X$DISPLAY_N-lock" ]; then
    pid=$(tr -d ' ' <"/tmp/.X$DISPLAY_N-lock")
    [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = Xvfb ] && kill -TERM "$pid" 2>/dev/null
  fi
  if [ -n "${KEEP:-}" ]; then echo "run-test: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

for _ in $(seq 50); do
  PORT=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break # nothing listens: free
done
URL_WANT="http://127.0.0.1:$PORT/"

# start: run.sh in a session of its own (setsid keeps its PID: this script has no job
# control), with SIGINT at its default (a background job of a script starts with it
# ignored, and a shell cannot trap a signal ignored on entry), no display, no terminal.
start() {
  : >"$WORK/out"
  env -u DISPLAY -u WAYLAND_DISPLAY HOME="$WORK/home" COLLECTOR_ADDR="127.0.0.1:$PORT" \
    env --default-signal=INT setsid scripts/run.sh "$BIN" "$WORK/run" >"$WORK/out" 2>&1 </dev/null &
  RUN_PID=$!
  for _ in $(seq 600); do
    grep -q '^HQ dashboard: ' "$WORK/out" && break
    kill -0 "$RUN_PID" 2>/dev/null || fail "run.sh ended before printing the dashboard"
    sleep 0.1
  done
  grep -q '^HQ dashboard: ' "$WORK/out" || fail "no 'HQ dashboard:' line within 60 s"
  [ "$(ps -o sid= -p "$RUN_PID" | tr -d ' ')" = "$RUN_PID" ] || fail "run.sh is not a session leader"
  local line
  line=$(grep '^HQ dashboard: ' "$WORK/out")
  DASH_URL=$(sed -n 's/^HQ dashboard: \(http[^ ]*\) .*/\1/p' <<<"$line")
  EMAIL=$(sed -n 's/.*sign in as \([^ ]*\) with password: .*/\1/p' <<<"$line")
  PASSWORD=$(sed -n 's/.*with password: \([^ ]*\)$/\1/p' <<<"$line")
  DISPLAY_N=$(sed -n 's/.*virtual display :\([0-9]*\)\..*/\1/p' "$WORK/out" | head -n 1)
  [ "$DASH_URL" = "$URL_WANT" ] || fail "dashboard address [$DASH_URL], want [$URL_WANT]"
  [ -n "$EMAIL" ] && [ ${#PASSWORD} -ge 10 ] || fail "no e-mail and password on the dashboard line: [$line]"
  [ -n "$DISPLAY_N" ] || fail "run.sh did not start a virtual display without \$DISPLAY"
}

# stop SIGNAL TARGET: sends the signal, waits up to 30 s, checks a clean end.
stop() {
  kill "-$1" -- "$2"
  local rc=0
  for _ in $(seq 300); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$RUN_PID" 2>/dev/null && fail "run.sh still runs 30 s after SIG$1"
  wait "$RUN_PID" || rc=$?
  RUN_PID=""
  [ "$rc" = 0 ] || fail "run.sh exited $rc after SIG$1, want 0"
  if grep -Eq 'X I/O error|XIO|fatal IO error' "$WORK/out"; then fail "an X I/O error after SIG$1"; fi
  if grep -q 'did not stop' "$WORK/out"; then fail "a process had to be killed after SIG$1"; fi
  if [ -e "/tmp/.X$DISPLAY_N-lock" ] || [ -e "/tmp/.X11-unix/X$DISPLAY_N" ]; then
    fail "/tmp/.X$DISPLAY_N-lock or /tmp/.X11-unix/X$DISPLAY_N left after SIG$1"
  fi
  if pgrep -f -- "$WORK/run/" >/dev/null; then fail "processes left after SIG$1: $(pgrep -af -- "$WORK/run/")"; fi
}

echo "run-test: first start in a fresh directory, collector on 127.0.0.1:$PORT"
start
[ "$(stat -c %a "$WORK/run/demo-password")" = 600 ] || fail "$WORK/run/demo-password is not 0600"
[ "$(cat "$WORK/run/demo-password")" = "$PASSWORD" ] || fail "demo-password does not hold the printed password"

# Sign in: the form sets the CSRF cookie and carries the same value in a hidden field.
JAR="$WORK/cookies"
curl -fsS --max-time 10 -c "$JAR" -b "$JAR" -o "$WORK/login.html" "${DASH_URL}login" || fail "GET /login"
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -n 1)
[ -n "$csrf" ] || fail "no CSRF field in the sign-in form"
code=$(curl -sS --max-time 10 -c "$JAR" -b "$JAR" -o "$WORK/signin.html" -w '%{http_code} %{redirect_url}' \
  --data-urlencode "csrf=$csrf" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" "${DASH_URL}login") || fail "POST /login"
[ "$code" = "303 $DASH_URL" ] || fail "sign-in answered [$code], want [303 $DASH_URL]: $(cat "$WORK/signin.html")"

# The overview counts the kiosk's responses once it has uploaded its month of them, and
# the stores page names the demo store. (The overview names stores only in its rankings,
# which need two stores.)
n=0
for _ in $(seq 60); do
  curl -fsS --max-time 10 -b "$JAR" -o "$WORK/overview.html" "$DASH_URL" || fail "GET / after signing in"
  n=$(sed -n 's/.*id="responses">\([0-9]*\)<.*/\1/p' "$WORK/overview.html" | head -n 1)
  [ "${n:-0}" -gt 0 ] && break
  sleep 0.5
done
grep -q 'id="responses"' "$WORK/overview.html" || fail "the overview (or the sign-in) did not show: $(head -c 600 "$WORK/overview.html")"
[ "${n:-0}" -gt 0 ] || fail "the overview shows no responses 30 s after the start"
curl -fsS --max-time 10 -b "$JAR" -o "$WORK/stores.html" "${DASH_URL}stores" || fail "GET /stores"
grep -q '>Main Street</a> <span class="muted">S001<' "$WORK/stores.html" || fail "the stores page does not list Main Street (S001)"
echo "run-test: signed in to $DASH_URL as the printed user; the overview counts $n responses, the stores page lists Main Street"

stop INT "-$RUN_PID" # Ctrl-C: SIGINT to the whole foreground process group
echo "run-test: Ctrl-C: exit 0, no X I/O error, no X lock left, nothing left running"

first_password=$PASSWORD
start
[ "$PASSWORD" = "$first_password" ] || fail "the second start printed another password"
stop TERM "$RUN_PID" # kill, systemd, make on SIGTERM: the script alone
echo "run-test: 2 passed, 0 failed (make run's newcomer path; a second start kept the sign-in and stopped on SIGTERM)"
