#!/usr/bin/env bash
# Cross-compiles the kiosk for Windows POS terminals with mingw-w64, wraps it in an MSI
# (scripts/msi.sh, msitools' wixl) and signs both with osslsigncode. The certificate and key come from SIGN_CERT and SIGN_KEY (PEM files);
# without them a throwaway self-signed pair is made, good for testing the pipeline only.
set -euo pipefail
VERSION=${1:-0.1.0}
OUT=${2:-dist}
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "windows: building npskiosk.exe $VERSION"
CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
  go build -tags migrated_fynedo,sqlite_fts5 -trimpath \
  -ldflags "-s -w -H windowsgui -X main.version=$VERSION" \
  -o "$WORK/npskiosk-unsigned.exe" ./cmd/npskiosk

cert=${SIGN_CERT:-}
key=${SIGN_KEY:-}
if [ -z "$cert" ] || [ -z "$key" ]; then
  echo "windows: SIGN_CERT/SIGN_KEY not set: signing with a throwaway self-signed certificate (not for release)"
  cert="$WORK/cert.pem" key="$WORK/key.pem"
  openssl req -x509 -newkey rsa:3072 -nodes -keyout "$key" -out "$cert" -days 2 \
    -subj "/CN=npskiosk test signing" -addext "extendedKeyUsage=codeSigning" 2>/dev/null
fi
osslsigncode sign -certs "$cert" -key "$key" -n "NPS kiosk" -i "https://github.com/npskiosk/npskiosk" \
  -in "$WORK/npskiosk-unsigned.exe" -out "$OUT/npskiosk.exe" >/dev/null
osslsigncode verify -CAfile "$cert" -in "$OUT/npskiosk.exe" | grep -E "Signature verification: ok|Number of verified signatures"
echo "windows: $OUT/npskiosk.exe signed and verified"

echo "windows: building npskiosk.msi around the signed exe"
"$(dirname "$0")/msi.sh" "$OUT/npskiosk.exe" "$VERSION" "$WORK/npskiosk-unsigned.msi"
osslsigncode sign -certs "$cert" -key "$key" -n "NPS kiosk" -i "https://github.com/npskiosk/npskiosk" \
  -in "$WORK/npskiosk-unsigned.msi" -out "$OUT/npskiosk.msi" >/dev/null
osslsigncode verify -CAfile "$cert" -in "$OUT/npskiosk.msi" | grep -E "Signature verification: ok|Number of verified signatures"
echo "windows: $OUT/npskiosk.msi signed and verified"
