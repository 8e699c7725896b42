#!/usr/bin/env bash
# Runs a command with a throwaway Mailpit SMTP server on loopback: its SMTP address in
# NPS_TEST_SMTP, its HTTP API (where tests read the mail back) in NPS_TEST_MAILPIT. Mailpit
# is built from the Go module proxy the first time and kept in Go's bin folder.
set -euo pipefail
MAILPIT_VERSION=v1.33.1
BIN="$(go env GOPATH)/bin/mailpit"
# go version -m reads the version from the binary; "mailpit version" would ask GitHub.
if ! [ -x "$BIN" ] || ! go version -m "$BIN" 2>/dev/null | grep -q "mod[[:space:]]*github.com/axllent/mailpit[[:space:]]*$MAILPIT_VERSION"; then
  echo "with-mailpit: building mailpit $MAILPIT_VERSION (once)" >&2
  GOFLAGS= go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SMTP_PORT=$(free_port)
HTTP_PORT=$(free_port)
DIR=$(mktemp -d /tmp/npsmail.XXXXXX)
"$BIN" --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$HTTP_PORT" --database "$DIR/mail.db" \
  --smtp-disable-rdns --disable-version-check --quiet >"$DIR/log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/api/v1/messages" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/api/v1/messages" >/dev/null || { echo "with-mailpit: mailpit did not start:" >&2; cat "$DIR/log" >&2; exit 1; }
export NPS_TEST_SMTP="127.0.0.1:$SMTP_PORT" NPS_TEST_MAILPIT="http://127.0.0.1:$HTTP_PORT"
echo "with-mailpit: SMTP on $NPS_TEST_SMTP, API on $NPS_TEST_MAILPIT"
"$@"
