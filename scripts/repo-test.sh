#!/usr/bin/env bash
# Updates through the signed apt repository, in a clean Debian root (called by
# scripts/package-test.sh, which built the packages with REPO_URL and REPO_GNUPGHOME set
# to this test's): apt installs the kiosk and the collector from the repository after
# checking its signature (and refuses it under another key); a staged rollout at the
# collector takes the kiosk from 0.1.0 to 0.1.1 only once its store is in the stage;
# then a broken 0.1.2 is rolled out, npskiosk-update installs it, finds it failing, puts
# 0.1.1 back, and the collector hears "rolled_back"; a 0.1.3 whose postinst fails ends
# "failed", 0.1.1 back too. No systemd runs in the root: the
# updater is run as its timer would.
#
#   scripts/repo-test.sh DIST    (DIST holds npskiosk_0.1.{0,1}_amd64.deb and npscollector's)
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=$(cd "$1" && pwd)
: "${REPO_URL:?set by package-test.sh}" "${REPO_GNUPGHOME:?set by package-test.sh}"
export REPO_URL REPO_GNUPGHOME
CACHE=${DEBOOTSTRAP_CACHE:-/var/cache/npskiosk-package-test}
APTPORT=${REPO_URL##*:}
APTPORT=${APTPORT%%/*}
WORK=$(mktemp -d)
ROOT=$(mktemp -d /tmp/npsrepo.XXXXXX)
REPO=$WORK/repo
HPID="" CPID=""
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -n "$HPID" ] && kill "$HPID" 2>/dev/null
  umount "$ROOT/proc" 2>/dev/null || true
  rm -rf "$ROOT" "$WORK"
}
trap cleanup EXIT
fail() { echo "repo-test: FAIL: $*" >&2; exit 1; }
say() { echo "repo-test: $*"; }
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
DB=/var/lib/npscollector/collector.db
collector() { in_root npscollector "$@" --db $DB; }
kiosk_sync() { in_root runuser -u npskiosk -- npskiosk sync --once --config /etc/npskiosk/config.toml >"$WORK/sync.log" 2>&1 || { cat "$WORK/sync.log"; fail "sync --once"; }; }
# The collector writes heartbeats every 5 s; the CLI reads the database.
flushed() { sleep 6; }

[ -f "$CACHE/bookworm.tar" ] || fail "no $CACHE/bookworm.tar: scripts/package-test.sh makes it"
for v in 0.1.0 0.1.1; do
  for p in npskiosk npscollector; do [ -f "$DIST/${p}_${v}_amd64.deb" ] || fail "no $DIST/${p}_${v}_amd64.deb"; done
done

# The repository: stable 0.1.0, rollout 0.1.1, signed with the test's key.
scripts/repo.sh publish "$REPO" stable "$DIST"/npskiosk_0.1.0_amd64.deb "$DIST"/npscollector_0.1.0_amd64.deb >/dev/null
scripts/repo.sh publish "$REPO" rollout "$DIST"/npskiosk_0.1.1_amd64.deb "$DIST"/npscollector_0.1.1_amd64.deb >/dev/null
python3 -m http.server "$APTPORT" --bind 127.0.0.1 --directory "$REPO" >"$WORK/http.log" 2>&1 &
HPID=$!
for _ in $(seq 50); do curl -fsS "$REPO_URL/dists/stable/InRelease" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$REPO_URL/dists/stable/InRelease" | grep -q "BEGIN PGP SIGNED MESSAGE" || fail "the repository is not served signed at $REPO_URL"

tar -C "$ROOT" -xf "$CACHE/bookworm.tar"
chmod 0755 "$ROOT"
mount -t proc proc "$ROOT/proc"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# The source and key the kiosk package ships (make debs: scripts/repo.sh source), set up as
# docs/operations.md tells IT to on a new device, before the package is there.
mkdir -p "$ROOT/usr/share/npskiosk/apt"
cp "$DIST/apt/npskiosk-archive-keyring.gpg" "$ROOT/usr/share/npskiosk/apt/"
# First under another key: apt must refuse the repository.
GNUPGHOME="$WORK/other-gnupg" bash -c 'mkdir -m 700 -p "$GNUPGHOME" && gpg --batch --quiet --passphrase "" --quick-generate-key "not the repository" ed25519 sign 1d &&
  gpg --batch --export >"$0"' "$ROOT/tmp/other.gpg"
sed 's#^Signed-By: .*#Signed-By: /tmp/other.gpg#' "$DIST/apt/npskiosk.sources" >"$ROOT/etc/apt/sources.list.d/npskiosk.sources"
if out=$(in_root apt-get update 2>&1); then
  fail "apt-get update accepted the repository under another key"
fi
grep -q "NO_PUBKEY\|not signed\|signatures couldn't be verified" <<<"$out" || fail "apt-get update failed, but not on the signature: $out"
say "apt refuses the repository signed by a key its Signed-By does not name: $(grep -m1 -o 'NO_PUBKEY [0-9A-F]*\|is not signed' <<<"$out")"
cp "$DIST/apt/npskiosk.sources" "$ROOT/etc/apt/sources.list.d/npskiosk.sources"
out=$(in_root apt-get update 2>&1) || fail "apt-get update: $out"
grep -q "$REPO_URL stable InRelease" <<<"$out" || fail "apt-get update did not read the repository: $out"

say "install from the signed repository (stable: 0.1.0; rollout's 0.1.1 is NotAutomatic)"
in_root apt-get install -y -q --no-install-recommends npskiosk npscollector >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "install from the repository"; }
grep -q "$REPO_URL stable/main amd64 npskiosk amd64 0.1.0" "$WORK/install.log" || { cat "$WORK/install.log"; fail "npskiosk did not come from the repository"; }
[ "$(in_root npskiosk version)" = "npskiosk 0.1.0" ] || fail "npskiosk version"
cmp -s "$ROOT/usr/share/npskiosk/apt/npskiosk.sources" "$DIST/apt/npskiosk.sources" || fail "the package's npskiosk.sources differs from the one used"
in_root apt-get -s upgrade 2>&1 | grep -q "^Inst npskiosk" && fail "apt-get upgrade would take npskiosk from the rollout suite"
say "apt-get upgrade leaves npskiosk at 0.1.0: only a rollout's updater asks for 0.1.1"

PORT=$((APTPORT + 1))
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin npscollector serve --db $DB --addr 127.0.0.1:$PORT --metrics-addr off >"$WORK/collector.log" 2>&1 &
CPID=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$WORK/collector.log"; fail "collector"; }
collector store add --id S1 --name One --timezone UTC >/dev/null
collector store add --id S2 --name Two --timezone UTC >/dev/null
code=$(collector device add --store S1 --name Till --json | sed -n 's/.*"code": "\(.*\)".*/\1/p')
in_root runuser -u npskiosk -- npskiosk enroll --config /etc/npskiosk/config.toml --collector "http://127.0.0.1:$PORT" --code "$code" >/dev/null
in_root runuser -u npskiosk -- npskiosk simulate --config /etc/npskiosk/config.toml --count 10 --days 1 >/dev/null 2>&1
kiosk_sync
update() { in_root /usr/lib/npskiosk/npskiosk-update >"$WORK/update.log" 2>&1; }

say "stage 1: rollout of 0.1.1 to store S2 only: the kiosk (S1) is not asked"
collector rollout set --version 0.1.1 --stores S2
kiosk_sync
[ ! -e "$ROOT/var/lib/npskiosk/update-target" ] || fail "a kiosk outside the stage got a target: $(cat "$ROOT/var/lib/npskiosk/update-target")"
update || { cat "$WORK/update.log"; fail "updater with no target"; }
[ "$(in_root npskiosk version)" = "npskiosk 0.1.0" ] || fail "the kiosk moved outside the stage"

say "stage 2: rollout of 0.1.1 to 100% of the fleet: the updater installs it from the rollout suite"
collector rollout set --version 0.1.1 --percent 100
kiosk_sync
[ "$(cat "$ROOT/var/lib/npskiosk/update-target")" = 0.1.1 ] || fail "no target 0.1.1 after the heartbeat"
update || { cat "$WORK/update.log"; fail "upgrade through the rollout"; }
tail -n 1 "$WORK/update.log"
[ "$(in_root npskiosk version)" = "npskiosk 0.1.1" ] || fail "npskiosk version after the rollout"
grep -q '^state=upgraded$' "$ROOT/var/lib/npskiosk/update-state" || fail "state after the upgrade: $(cat "$ROOT/var/lib/npskiosk/update-state")"
kiosk_sync
flushed
collector device list | tee "$WORK/devices.txt"
grep -q "0\.1\.1 *on_target 0\.1\.1" "$WORK/devices.txt" || fail "device list does not show the kiosk on target"

say "promote 0.1.1 to stable; roll out a broken 0.1.2 (its npskiosk exits 1)"
scripts/repo.sh promote "$REPO" >/dev/null
mkdir "$WORK/broken"
dpkg-deb -R "$DIST/npskiosk_0.1.1_amd64.deb" "$WORK/broken/pkg"
sed -i 's/^Version: 0\.1\.1$/Version: 0.1.2/' "$WORK/broken/pkg/DEBIAN/control"
printf '#!/bin/sh\necho "npskiosk: this build is broken on purpose (repo-test)" >&2\nexit 1\n' >"$WORK/broken/pkg/usr/bin/npskiosk"
(cd "$WORK/broken/pkg" && find usr lib etc -type f -exec md5sum {} + >DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$WORK/broken/pkg" "$WORK/broken/npskiosk_0.1.2_amd64.deb" >/dev/null
scripts/repo.sh publish "$REPO" rollout "$WORK/broken/npskiosk_0.1.2_amd64.deb" >/dev/null
collector rollout set --version 0.1.2 --percent 100
kiosk_sync
[ "$(cat "$ROOT/var/lib/npskiosk/update-target")" = 0.1.2 ] || fail "no target 0.1.2 after the heartbeat"
update && { cat "$WORK/update.log"; fail "the updater said the broken upgrade worked"; }
grep "npskiosk-update:" "$WORK/update.log" | tail -n 2
[ "$(in_root npskiosk version)" = "npskiosk 0.1.1" ] || fail "the kiosk is not back on 0.1.1: $(in_root npskiosk version 2>&1)"
in_root dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' npskiosk | grep -q '^ii  *0\.1\.1$' || fail "dpkg: $(in_root dpkg -l npskiosk | tail -1)"
grep -q '^state=rolled_back$' "$ROOT/var/lib/npskiosk/update-state" || fail "state: $(cat "$ROOT/var/lib/npskiosk/update-state")"
grep -q '^target=0.1.2$' "$ROOT/var/lib/npskiosk/update-state" || fail "state's target"
# The kiosk still works: it captures, syncs, reports; the config and data are kept.
in_root runuser -u npskiosk -- npskiosk simulate --config /etc/npskiosk/config.toml --count 5 --days 1 >/dev/null 2>&1 || fail "capture after the rollback"
kiosk_sync
grep -q "uploaded 5; 0 waiting" "$WORK/sync.log" || fail "sync after the rollback: $(cat "$WORK/sync.log")"
update && fail "the updater tried the rolled-back version again"
grep -q "not trying it again" "$WORK/update.log" || fail "second run: $(cat "$WORK/update.log")"
say "a second run leaves 0.1.2 alone: $(grep -o 'not trying it again.*' "$WORK/update.log")"
flushed
collector device list | tee "$WORK/devices.txt"
grep -q "0\.1\.1 *rolled_back 0\.1\.2" "$WORK/devices.txt" || fail "device list does not show the rollback"
collector rollout status | tee "$WORK/rollout.txt"
grep -q "failed 1" "$WORK/rollout.txt" || fail "rollout status does not count the failure"

say "a 0.1.3 whose postinst fails: the install does not finish, 0.1.1 is put back"
mkdir "$WORK/broken3"
dpkg-deb -R "$DIST/npskiosk_0.1.1_amd64.deb" "$WORK/broken3/pkg"
sed -i 's/^Version: 0\.1\.1$/Version: 0.1.3/' "$WORK/broken3/pkg/DEBIAN/control"
printf '#!/bin/sh\necho "npskiosk postinst: broken on purpose (repo-test)" >&2\nexit 1\n' >"$WORK/broken3/pkg/DEBIAN/postinst"
dpkg-deb --root-owner-group -b "$WORK/broken3/pkg" "$WORK/broken3/npskiosk_0.1.3_amd64.deb" >/dev/null
scripts/repo.sh publish "$REPO" rollout "$WORK/broken3/npskiosk_0.1.3_amd64.deb" >/dev/null
collector rollout set --version 0.1.3 --percent 100
kiosk_sync
update && { cat "$WORK/update.log"; fail "the updater said the upgrade with a failing postinst worked"; }
grep "npskiosk-update:" "$WORK/update.log" | tail -n 1
in_root dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' npskiosk | grep -q '^ii  *0\.1\.1$' || fail "dpkg after the failed postinst: $(in_root dpkg -l npskiosk | tail -1)"
[ "$(in_root npskiosk version)" = "npskiosk 0.1.1" ] || fail "the kiosk is not back on 0.1.1 after the failed postinst"
grep -q '^state=failed$' "$ROOT/var/lib/npskiosk/update-state" || fail "state: $(cat "$ROOT/var/lib/npskiosk/update-state")"
kiosk_sync
flushed
collector device list | tee "$WORK/devices.txt"
grep -q "0\.1\.1 *failed 0\.1\.3" "$WORK/devices.txt" || fail "device list does not show the failed upgrade"
collector rollout halt
say "passed: signed install, staged upgrade 0.1.0→0.1.1, broken 0.1.2 rolled back and 0.1.3 (failing postinst) failed, with the kiosk on 0.1.1"
