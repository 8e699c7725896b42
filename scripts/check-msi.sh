#!/usr/bin/env bash
# Reads a kiosk installer back with msitools: scripts/check-msi.sh NPSKIOSK.MSI [EXE].
# The tables must hold what packaging/windows/npskiosk.wxs promises IT (the exe under
# Program Files, a Start-menu entry, COLLECTOR/KEY/NAME as secure public properties that
# land in HKLM\SOFTWARE\npskiosk\Provision only when given, KEY hidden from the log, a major
# upgrade), and msiextract must give back the exe (byte for byte EXE, when given).
set -euo pipefail
MSI=$1
EXE=${2:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "check-msi: $MSI: $*" >&2; exit 1; }
# msiinfo writes tables as IDT files: tab-separated, CRLF line ends.
table() { msiinfo export "$MSI" "$1" | tr -d '\r'; }
# has TABLE LINE: the exported table holds LINE (tab-separated fields) as a whole row.
has() {
  local rows
  rows=$(table "$1") || fail "no $1 table"
  grep -qxF "$2" <<<"$rows" || fail "$1 table has no row \"${2//$'\t'/|}\":"$'\n'"$rows"
}
tab=$'\t'
tables=$(msiinfo tables "$MSI") || fail "not an MSI"
for t in Property File Component Directory Shortcut Registry Upgrade Media; do
  grep -qx "$t" <<<"$tables" || fail "no $t table"
done
has Property "SecureCustomProperties${tab}WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;COLLECTOR;KEY;NAME"
has Property "MsiHiddenProperties${tab}KEY"
has Property "ALLUSERS${tab}1"
has Directory "INSTALLDIR${tab}ProgramFiles64Folder${tab}npskiosk"
# The exe (component KioskExe, its key path), in the first and only cabinet: its size and
# version columns are the exe's own.
table File | awk -F'\t' '$1 == "npskiosk.exe" && $2 == "KioskExe" && $3 == "npskiosk.exe" && $8 == 1 { ok = 1 } END { exit !ok }' \
  || fail "no File row for npskiosk.exe"
has Shortcut "StartMenuKiosk${tab}ProgramMenuFolder${tab}NPS kiosk${tab}KioskExe${tab}Kiosk${tab}${tab}In-store customer feedback kiosk${tab}${tab}${tab}${tab}${tab}INSTALLDIR${tab}${tab}${tab}${tab}"
for p in Collector:COLLECTOR Key:KEY Name:NAME; do
  name=${p%%:*} prop=${p#*:}
  # Root 2 is HKLM; the component (64-bit, a registry key path) is installed only when the
  # property is set.
  id=$(table Registry | awk -F'\t' -v n="$name" '$2 == "2" && $4 == n { print $1 }')
  [ -n "$id" ] || fail "no registry value $name"
  has Registry "$id${tab}2${tab}SOFTWARE\\npskiosk\\Provision${tab}$name${tab}[$prop]${tab}Provision$name"
  has Component "Provision$name${tab}$(table Component | awk -F'\t' -v c="Provision$name" '$1 == c { print $2 }')${tab}INSTALLDIR${tab}260${tab}$prop${tab}$id"
done
grep -q 'WIX_UPGRADE_DETECTED' <(table Upgrade) || fail "no major upgrade"
has LaunchCondition "NOT WIX_DOWNGRADE_DETECTED${tab}A newer NPS kiosk is already installed."
grep -q '^Template: x64;1033$' <(msiinfo suminfo "$MSI") || fail "not an x64 package"
msiextract -C "$WORK" "$MSI" >/dev/null || fail "msiextract"
[ -f "$WORK/npskiosk/npskiosk.exe" ] || fail "msiextract gave no npskiosk/npskiosk.exe"
if [ -n "$EXE" ]; then
  cmp -s "$EXE" "$WORK/npskiosk/npskiosk.exe" || fail "the exe inside differs from $EXE"
fi
echo "check-msi: $MSI: tables and contents as expected"
