#!/usr/bin/env bash
# The signed apt repository of the kiosk and collector packages (reprepro), and the apt
# source the kiosk package ships (not enabled) to reach it.
#
#   scripts/repo.sh source OUTDIR             npskiosk.sources + npskiosk-archive-keyring.gpg
#   scripts/repo.sh publish REPO SUITE DEB…   adds the .debs to SUITE (stable or rollout), signed
#   scripts/repo.sh promote REPO              copies what rollout holds into stable
#
# Two suites: "stable", what apt upgrade installs, and "rollout", marked NotAutomatic, so
# that apt installs its versions only when asked for one by version: what npskiosk-update
# does for the kiosks a staged rollout at the collector takes in. stable keeps the version
# a failed upgrade rolls back to. reprepro keeps one version of a package per suite.
#
# The signing key: REPO_KEY (a fingerprint) in REPO_GNUPGHOME (default .repo-gnupg here,
# ignored by git). Without REPO_KEY the first secret key there is used, and when there
# is none a key without a passphrase is made for development and tests: release builds
# pass their own. Only the public key leaves that folder. REPO_URL is the repository's
# address as kiosks reach it (default a placeholder to edit).
set -euo pipefail
cd "$(dirname "$0")/.."
export GNUPGHOME=${REPO_GNUPGHOME:-$PWD/.repo-gnupg}
REPO_URL=${REPO_URL:-https://apt.example.invalid/npskiosk}
KEYRING_PATH=/usr/share/npskiosk/apt/npskiosk-archive-keyring.gpg

die() { echo "repo: $*" >&2; exit 1; }

# key prints the signing key's fingerprint, making a development key when there is none.
key() {
  if [ -n "${REPO_KEY:-}" ]; then
    echo "$REPO_KEY"
    return
  fi
  mkdir -p "$GNUPGHOME"
  chmod 700 "$GNUPGHOME"
  local fpr
  fpr=$(gpg --batch --quiet --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')
  if [ -z "$fpr" ]; then
    echo "repo: no signing key in $GNUPGHOME: making one for development (no passphrase; release builds set REPO_KEY)" >&2
    gpg --batch --quiet --passphrase '' --quick-generate-key "npskiosk development repository <kiosk@npskiosk.invalid>" ed25519 sign 1y
    fpr=$(gpg --batch --quiet --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" {print $10; exit}')
  fi
  echo "$fpr"
}

source_files() {
  local out=$1 fpr
  fpr=$(key)
  mkdir -p "$out"
  gpg --batch --quiet --yes --export "$fpr" >"$out/npskiosk-archive-keyring.gpg"
  [ -s "$out/npskiosk-archive-keyring.gpg" ] || die "no public key $fpr in $GNUPGHOME"
  cat >"$out/npskiosk.sources" <<EOF
# The npskiosk apt repository: not enabled by the package. To enable it (as root):
#   cp /usr/share/npskiosk/apt/npskiosk.sources /etc/apt/sources.list.d/
#   apt-get update
# apt checks the repository's signature against the key named by Signed-By, shipped
# beside this file. "stable" is what apt upgrade installs; "rollout" holds the version a
# staged rollout offers, installed only when npskiosk-update asks for it by version.
# See /usr/share/doc/npskiosk and docs/operations.md, "Updates".
Types: deb
URIs: $REPO_URL
Suites: stable rollout
Components: main
Signed-By: $KEYRING_PATH
EOF
}

init_repo() {
  local repo=$1 fpr
  fpr=$(key)
  mkdir -p "$repo/conf"
  cat >"$repo/conf/distributions" <<EOF
Origin: npskiosk
Label: npskiosk
Suite: stable
Codename: stable
Architectures: amd64 arm64
Components: main
Description: npskiosk packages: the released version
SignWith: $fpr

Origin: npskiosk
Label: npskiosk
Suite: rollout
Codename: rollout
Architectures: amd64 arm64
Components: main
Description: npskiosk packages: the version being rolled out (installed only when asked for)
NotAutomatic: yes
SignWith: $fpr
EOF
  gpg --batch --quiet --yes --export "$fpr" >"$repo/npskiosk-archive-keyring.gpg"
}

case "${1:-}" in
  source)
    [ $# -eq 2 ] || die "usage: repo.sh source OUTDIR"
    source_files "$2"
    ;;
  publish)
    [ $# -ge 4 ] || die "usage: repo.sh publish REPO stable|rollout DEB…"
    repo=$(mkdir -p "$2" && cd "$2" && pwd)
    suite=$3
    shift 3
    case $suite in stable | rollout) ;; *) die "suite $suite: stable or rollout" ;; esac
    init_repo "$repo"
    for deb in "$@"; do
      reprepro -b "$repo" --silent includedeb "$suite" "$deb"
    done
    reprepro -b "$repo" export >/dev/null # every suite: apt wants a Release for each it lists
    echo "repo: $suite of $repo:"
    reprepro -b "$repo" list "$suite"
    ;;
  promote)
    [ $# -eq 2 ] || die "usage: repo.sh promote REPO"
    repo=$(cd "$2" && pwd)
    init_repo "$repo"
    reprepro -b "$repo" --silent copy stable rollout npskiosk npscollector
    echo "repo: stable of $repo:"
    reprepro -b "$repo" list stable
    ;;
  *)
    die "usage: repo.sh source OUTDIR | publish REPO SUITE DEB… | promote REPO"
    ;;
esac
