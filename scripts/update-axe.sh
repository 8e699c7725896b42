#!/usr/bin/env bash
# Replaces the axe-core kept in internal/a11y with a release from the npm registry
# (default: the newest 4.x), after checking it against the integrity hash axe-core
# publishes for it. Then run the accessibility tests: a new release may add rules.
#   scripts/update-axe.sh [4.14.1]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "update-axe: npm is needed (apt-get install npm)" >&2; exit 1; }
want="${1:-4}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@$want" >/dev/null && tar xzf axe-core-*.tgz)
version="$(node -p 'require(process.argv[1]).version' "$tmp/package/package.json")"
integrity="$(node -p 'require(process.argv[1])[process.argv[2]]["axe.min.js"]' "$tmp/package/sri-history.json" "$version")"
actual="sha256-$(openssl dgst -sha256 -binary "$tmp/package/axe.min.js" | openssl base64 -A)"
if [ "$integrity" != "$actual" ]; then
  echo "update-axe: axe.min.js of $version hashes to $actual, but axe-core publishes $integrity" >&2
  exit 1
fi
cp "$tmp/package/axe.min.js" internal/a11y/axe.min.js
cp "$tmp/package/LICENSE" internal/a11y/LICENSE-axe-core
cp "$tmp/package/LICENSE-3RD-PARTY.txt" internal/a11y/LICENSE-axe-core-3RD-PARTY.txt
sed -i -E "s|^(\tVersion   = )\"[^\"]*\"|\1\"$version\"|; s|^(\tIntegrity = )\"[^\"]*\"|\1\"$integrity\"|" internal/a11y/a11y.go
echo "update-axe: axe-core $version ($integrity) in internal/a11y"
