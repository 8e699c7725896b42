#!/usr/bin/env bash
# Regenerates third_party/fyne, the Fyne module the build uses (go.mod replaces
# fyne.io/fyne/v2 with it): the pristine release that go.mod requires, less what no build of
# ours reads (tests, test data, the fyne commands, the README's images), with
# third_party/fyne.patch applied (the render loop sleeps when idle, fyne-io/fyne#2506).
#
# To carry the patch to a new Fyne release: bump the version in go.mod's require line, run
# this script, fix the patch if it no longer applies, run it again, commit. To drop the
# patch once upstream sleeps when idle: delete the replace line, third_party/fyne,
# third_party/fyne.patch and this script, and bump the require line.
#
# DEST=dir writes the copy there instead (third_party's test compares the two).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${DEST:-third_party/fyne}

version=$(go list -m -f '{{.Version}}' fyne.io/fyne/v2)
# Outside the module, so that the replace does not apply and the module cache (or the proxy,
# checked against the checksum database) gives the pristine release.
src=$(cd / && GOFLAGS=-mod=mod go mod download -json "fyne.io/fyne/v2@$version" |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  echo "update-fyne: cannot download fyne.io/fyne/v2@$version" >&2
  exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
(cd "$src" && find . -type f ! -name '*_test.go' ! -path '*/testdata/*' ! -path './cmd/*' ! -path './img/*' -print0 |
  LC_ALL=C sort -z | tar --null -T - -cf -) | tar -xf - -C "$dest"
chmod -R u+w "$dest" # the module cache is read-only
# --fuzz=0: a patch that only applies loosely must be looked at, not carried on blindly.
patch --quiet --forward --fuzz=0 --no-backup-if-mismatch -p1 -d "$dest" <third_party/fyne.patch
echo "update-fyne: $dest is fyne.io/fyne/v2@$version with third_party/fyne.patch"
