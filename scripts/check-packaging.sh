#!/usr/bin/env bash
# Checks the packaging sources: the gzipped changelog and manual pages, the Windows installer
# (built around a stand-in exe and read back with msitools) and the systemd units with
# systemd-analyze verify, pointing them at the binaries just built (the packaged paths do not
# exist on a build machine).
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
# The real npskiosk.exe is a cross build of minutes (make package); the installer's tables do
# not depend on what the exe holds, so a stand-in is enough to check them here.
if command -v wixl >/dev/null && command -v msiinfo >/dev/null; then
  printf 'MZ stand-in for npskiosk.exe\n' >"$WORK/npskiosk.exe"
  scripts/msi.sh "$WORK/npskiosk.exe" 0.1.0 "$WORK/npskiosk.msi"
  scripts/check-msi.sh "$WORK/npskiosk.msi" "$WORK/npskiosk.exe"
else
  echo "check-packaging: wixl/msitools not installed, the Windows installer not checked" >&2
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "check-packaging: systemd-analyze not installed, skipped" >&2
  exit 0
fi
status=0
# The kiosk's updater is a shell script: sh, not bash (a kiosk has both, but keep it small).
if command -v shellcheck >/dev/null; then
  shellcheck -s sh packaging/kiosk/npskiosk-update || status=1
fi
for unit in packaging/systemd/*.service; do
  sed -e "s#/usr/bin/nps#$BIN/nps#g" -e "s#/usr/lib/npskiosk/npskiosk-update#$PWD/packaging/kiosk/npskiosk-update#g" "$unit" >"$WORK/$(basename "$unit")"
done
for unit in packaging/systemd/*.service packaging/systemd/*.timer; do
  [ -f "$WORK/$(basename "$unit")" ] || cp "$unit" "$WORK/"
  if ! out=$(systemd-analyze verify "$WORK/$(basename "$unit")" 2>&1) || [ -n "$out" ]; then
    echo "check-packaging: $unit: $out" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "check-packaging: $(ls packaging/systemd/*.service packaging/systemd/*.timer | wc -l) units verified"
exit $status
