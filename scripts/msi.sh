#!/usr/bin/env bash
# Builds the kiosk's Windows installer from packaging/windows/npskiosk.wxs with msitools'
# wixl: scripts/msi.sh EXE VERSION OUT.msi. wixl has no Secure attribute and no component
# conditions, so two rows are set afterwards with msibuild (SQL on the MSI's tables):
# COLLECTOR, KEY and NAME join SecureCustomProperties (a managed install passes them to
# the elevated part), and each provisioning registry value is written only when its
# property was given. Signing the .msi is scripts/windows.sh's job.
set -euo pipefail
EXE=$1
VERSION=$2
OUT=$3
# An MSI's ProductVersion is numeric (major.minor.build): 0.1.0~rc1 becomes 0.1.0.
msi_version=$(grep -Eo '^[0-9]+(\.[0-9]+){0,2}' <<<"$VERSION") || { echo "msi: version $VERSION is not numeric" >&2; exit 1; }
WXS=$(cd "$(dirname "$0")/.." && pwd)/packaging/windows/npskiosk.wxs
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# wixl finds a file's Source relative to the directory it runs in, not by absolute path.
cp "$EXE" "$WORK/npskiosk.exe"
rm -f "$OUT"
(cd "$WORK" && wixl -a x64 -D Version="$msi_version" -o "$OUT" "$WXS")
msibuild "$OUT" \
  -q "UPDATE Property SET Value='WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;COLLECTOR;KEY;NAME' WHERE Property='SecureCustomProperties'" \
  -q "UPDATE Component SET Condition='COLLECTOR' WHERE Component='ProvisionCollector'" \
  -q "UPDATE Component SET Condition='KEY' WHERE Component='ProvisionKey'" \
  -q "UPDATE Component SET Condition='NAME' WHERE Component='ProvisionName'"
