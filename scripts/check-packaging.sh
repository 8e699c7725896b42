#!/usr/bin/env bash
# Checks the systemd units with systemd-analyze verify, pointing them at the binaries just
# built (the packaged paths do not exist on a build machine).
set -euo pipefail
BIN=$(cd "${1:-bin}" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The packages ship the Debian changelog and the manual pages gzipped (nfpm copies files
# as they are): each .gz must be its source, compressed with "gzip -9n".
for src in packaging/changelog packaging/man/*.1; do
  if ! gzip -dc "$src.gz" 2>/dev/null | cmp -s - "$src"; then
    echo "check-packaging: $src.gz is not $src: run gzip -9n -c $src >$src.gz" >&2
    exit 1
  fi
done
if command -v man >/dev/null; then
  for page in packaging/man/*.1; do
    if out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) && [ -z "$out" ]; then
      continue
    fi
    echo "check-packaging: $page: $out" >&2
    exit 1
  done
fi
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
