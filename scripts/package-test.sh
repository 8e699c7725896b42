#!/usr/bin/env bash
# Installs the .deb packages into a clean Debian root (debootstrap) and checks what IT
# relies on: the binaries run, the units are there and pass systemd-analyze verify, the
# collector starts and answers /healthz, an upgrade from the previous version keeps the
# databases and the config, and purge removes what was installed. Then it runs the arm64
# packages' programs under qemu-user (scripts/arm64-test.sh), cross-builds the Windows kiosk
# and its MSI and checks both signatures verify and the MSI's tables (scripts/check-msi.sh).
# Between the two, scripts/repo-test.sh installs and upgrades through the signed apt
# repository and a staged rollout, and rolls back a broken upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=0.1.0
NEW=0.1.1
DIST=$(mktemp -d)
ROOT=$(mktemp -d /tmp/npsroot.XXXXXX)
CACHE=${DEBOOTSTRAP_CACHE:-/var/cache/npskiosk-package-test}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CPID=""
# The apt repository's test key and address (scripts/repo-test.sh serves it there); the
# packages are built with them, so the source they ship is the one the test uses.
export REPO_GNUPGHOME="$DIST/repo-gnupg" REPO_URL="http://127.0.0.1:$((20000 + RANDOM % 20000))"
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  umount "$ROOT/proc" 2>/dev/null || true
  rm -rf "$ROOT" "$DIST"
}
trap cleanup EXIT
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

for v in $OLD $NEW; do
  make --no-print-directory debs PKG_VERSION=$v DIST="$DIST" >/dev/null
done
# PACKAGE_TEST_QUICK=1 leaves out the arm64 and Windows builds (minutes each), while
# iterating; make package-test runs everything.
QUICK=${PACKAGE_TEST_QUICK:-}
debs=("$DIST"/*_"${NEW}"_amd64.deb)
if [ -z "$QUICK" ]; then
  # The arm64 packages of the new version (a cross build: scripts/arm64.sh).
  make --no-print-directory debs-arm64 PKG_VERSION=$NEW DIST="$DIST" >/dev/null
  debs+=("$DIST"/*_"${NEW}"_arm64.deb)
fi
ls "${debs[@]}" >/dev/null
if command -v lintian >/dev/null; then
  # Warnings fail too, so the packages stay clean (what is left are I: notes: cgo's
  # hardening flags, no init.d script).
  lintian --fail-on warning "${debs[@]}" >"$DIST/lintian.txt" 2>&1 \
    || { cat "$DIST/lintian.txt"; fail "lintian reports errors or warnings"; }
  echo "package-test: lintian: no errors, no warnings"
fi

# A clean bookworm root, cached as a tarball between runs on the same machine.
mkdir -p "$CACHE"
if [ ! -f "$CACHE/bookworm.tar" ]; then
  echo "package-test: debootstrap bookworm (first run on this machine, a few minutes)"
  debootstrap --variant=minbase --include=systemd,curl,ca-certificates,adduser,passwd \
    bookworm "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; fail "debootstrap"; }
  tar -C "$ROOT" -cf "$CACHE/bookworm.tar" .
else
  tar -C "$ROOT" -xf "$CACHE/bookworm.tar"
fi
chmod 0755 "$ROOT" # the tree's root (a mktemp dir, 0700): every user inside must enter it
mount -t proc proc "$ROOT/proc"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
cp "$DIST"/*.deb "$ROOT/tmp/"
in_root apt-get update -qq >/dev/null

echo "package-test: install $OLD"
in_root apt-get install -y -qq --no-install-recommends \
  /tmp/npskiosk_${OLD}_amd64.deb /tmp/npscollector_${OLD}_amd64.deb >/dev/null 2>"$DIST/install.log" \
  || { cat "$DIST/install.log"; fail "install"; }
[ "$(in_root npskiosk version)" = "npskiosk $OLD" ] || fail "npskiosk version"
[ "$(in_root npscollector version)" = "npscollector $OLD" ] || fail "npscollector version"
for unit in npscollector.service npskiosk.service npskiosk-sync.service; do
  [ -f "$ROOT/lib/systemd/system/$unit" ] || fail "$unit missing"
done
# npskiosk.service runs xinit, a recommended package: verify the units that need only ours.
out=$(in_root systemd-analyze verify /lib/systemd/system/npscollector.service /lib/systemd/system/npskiosk-sync.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
getent_out=$(in_root getent passwd npskiosk) || fail "no npskiosk user"
# postinst enables the collector as dh_installsystemd would (deb-systemd-helper).
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/npscollector.service" ] || fail "npscollector.service not enabled"
[ "$(in_root stat -c %U:%a /etc/npskiosk/config.toml)" = "npskiosk:600" ] || fail "config.toml owner/mode"
# postinst makes the contact key file, readable by the service's group only.
[ "$(in_root stat -c %U:%G:%a /etc/npscollector/contact-keys.pem)" = "root:npscollector:640" ] || fail "contact-keys.pem owner/mode"
contact_key=$(in_root npscollector contact-key list --file /etc/npscollector/contact-keys.pem) || fail "contact-key list"

echo "package-test: collector answers /healthz; seed both databases"
PORT=$((20000 + RANDOM % 20000))
# Not through in_root: a backgrounded function is a subshell, and $! would be its PID.
MPORT=$((PORT + 1))
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin npscollector serve --db /var/lib/npscollector/collector.db \
  --addr 127.0.0.1:$PORT --metrics-addr 127.0.0.1:$MPORT --contact-keys /etc/npscollector/contact-keys.pem >"$DIST/collector.log" 2>&1 &
CPID=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' || fail "healthz"
curl -fsS "http://127.0.0.1:$PORT/healthz" | grep -q "\"contact_key_id\":\"${contact_key%% *}\"" || fail "healthz names no contact key"
# /metrics is served on the metrics address only; the public one refuses it.
metrics=$(curl -fsS "http://127.0.0.1:$MPORT/metrics") || fail "metrics on --metrics-addr"
grep -q '^npscollector_http_requests_total' <<<"$metrics" || fail "metrics on --metrics-addr"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" = 404 ] || fail "/metrics answered on the public address"
in_root npscollector store add --db /var/lib/npscollector/collector.db --id S1 --name Test --timezone UTC >/dev/null
code=$(in_root npscollector device add --db /var/lib/npscollector/collector.db --store S1 --name Till --json | sed -n 's/.*"code": "\(.*\)".*/\1/p')
in_root runuser -u npskiosk -- npskiosk enroll --config /etc/npskiosk/config.toml --collector "http://127.0.0.1:$PORT" --code "$code" >/dev/null
in_root runuser -u npskiosk -- npskiosk simulate --config /etc/npskiosk/config.toml --count 40 --days 3 >/dev/null 2>&1
in_root runuser -u npskiosk -- npskiosk sync --once --config /etc/npskiosk/config.toml >/dev/null 2>&1 || fail "sync --once"
kill $CPID; wait $CPID 2>/dev/null || true
CPID=""
echo "# kept across upgrades" >>"$ROOT/etc/npskiosk/config.toml"

echo "package-test: upgrade to $NEW"
in_root apt-get install -y -qq --no-install-recommends \
  /tmp/npskiosk_${NEW}_amd64.deb /tmp/npscollector_${NEW}_amd64.deb >/dev/null 2>"$DIST/upgrade.log" \
  || { cat "$DIST/upgrade.log"; fail "upgrade"; }
[ "$(in_root npskiosk version)" = "npskiosk $NEW" ] || fail "npskiosk version after upgrade"
grep -q "kept across upgrades" "$ROOT/etc/npskiosk/config.toml" || fail "config replaced by the upgrade"
[ "$(in_root npscollector contact-key list --file /etc/npscollector/contact-keys.pem)" = "$contact_key" ] || fail "contact key file changed by the upgrade"
grep -Eq "^token = [\"']dev_" "$ROOT/etc/npskiosk/config.toml" || fail "device token lost"
status=$(in_root runuser -u npskiosk -- npskiosk status --json --config /etc/npskiosk/config.toml 2>&1) || true
echo "$status" | grep -q '"synced": 40' || fail "kiosk database after upgrade: $status"
n=$(in_root npscollector export --db /var/lib/npscollector/collector.db 2>/dev/null | tail -n +2 | wc -l)
[ "$n" = 40 ] || fail "collector database after upgrade holds $n responses, want 40"

echo "package-test: purge"
in_root apt-get purge -y -qq npskiosk npscollector >/dev/null 2>&1 || fail "purge"
for p in /usr/bin/npskiosk /usr/bin/npscollector /var/lib/npskiosk /etc/npskiosk /var/lib/npscollector /etc/npscollector /lib/systemd/system/npscollector.service \
  /etc/systemd/system/multi-user.target.wants/npscollector.service; do
  [ ! -e "$ROOT$p" ] || fail "$p left after purge"
done
in_root getent passwd npskiosk >/dev/null && fail "npskiosk user left after purge"
in_root getent group npscollector >/dev/null && fail "npscollector group left after purge"

echo "package-test: updates through the signed apt repository"
umount "$ROOT/proc" 2>/dev/null || true
scripts/repo-test.sh "$DIST" || fail "apt repository and staged rollout"

if [ -n "$QUICK" ]; then
  echo "package-test: PACKAGE_TEST_QUICK: arm64 and Windows left out"
  exit 0
fi

echo "package-test: arm64 packages under qemu-user"
scripts/arm64-test.sh "$DIST" $NEW || fail "arm64"

echo "package-test: Windows kiosk"
scripts/windows.sh $NEW "$DIST" >"$DIST/windows.log" 2>&1 || { cat "$DIST/windows.log"; fail "windows build or signature"; }
[ "$(grep -c "Signature verification: ok" "$DIST/windows.log")" = 2 ] || { cat "$DIST/windows.log"; fail "npskiosk.exe or npskiosk.msi signature does not verify"; }
scripts/check-msi.sh "$DIST/npskiosk.msi" "$DIST/npskiosk.exe" || fail "npskiosk.msi"
echo "package-test: 4 passed, 0 failed (deb: install, units, healthz, upgrade $OLD→$NEW keeping data, purge; apt repository: signed install, staged rollout, broken upgrade rolled back; arm64 debs: lintian, enroll/capture/sync/doctor and store tests under qemu-user; exe and msi: built, signed, verified, MSI tables read back)"
