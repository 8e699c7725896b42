#!/usr/bin/env bash
# Checks the systemd units with systemd-analyze verify, pointing them at the binaries just
# built (the packaged paths do not exist on a build machine).
set -euo pipefail
BIN=$(cd "${1:-bin}" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if ! command -v systemd-analyze >/dev/null; then
  echo "check-packaging: systemd-analyze not installed, skipped" >&2
  exit 0
fi
status=0
for unit in packaging/systemd/*.service; do
  sed "s#/usr/bin/nps#$BIN/nps#g" "$unit" >"$WORK/$(basename "$unit")"
  if ! out=$(systemd-analyze verify "$WORK/$(basename "$unit")" 2>&1) || [ -n "$out" ]; then
    echo "check-packaging: $unit: $out" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "check-packaging: $(ls packaging/systemd/*.service | wc -l) units verified"
exit $status
