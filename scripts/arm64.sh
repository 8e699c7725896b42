#!/usr/bin/env bash
# Cross-compiles the kiosk and the collector for arm64 Linux (Raspberry Pi 4/5, ARM POS
# boxes) on an amd64 machine: scripts/arm64.sh VERSION OUTDIR. Debian's
# gcc-aarch64-linux-gnu compiles the cgo parts (go-sqlite3, Fyne's GLFW) and links them
# against the arm64 OpenGL/X11 libraries that dpkg multiarch installs under
# /usr/lib/aarch64-linux-gnu (make deps-package). Same flags as make build.
set -euo pipefail
VERSION=${1:-0.1.0}
OUT=${2:-bin/linux_arm64}
mkdir -p "$OUT"
echo "arm64: building npskiosk and npscollector $VERSION into $OUT"
CC=aarch64-linux-gnu-gcc CGO_ENABLED=1 GOOS=linux GOARCH=arm64 \
  PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
  go build -tags migrated_fynedo,sqlite_fts5 -trimpath -buildmode=pie \
  -ldflags "-s -w -X main.version=$VERSION" -o "$OUT/" ./cmd/npskiosk ./cmd/npscollector
