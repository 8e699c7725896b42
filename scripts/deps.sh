#!/usr/bin/env bash
# Installs the system packages the build and the tests need, only when one is missing,
# so that a fresh Debian/Ubuntu machine needs nothing installed by hand. Quick when all
# is present: it asks dpkg, not the network.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

packages=(
  gcc pkg-config            # cgo: go-sqlite3 and Fyne's GL driver
  libgl1-mesa-dev xorg-dev  # Fyne's OpenGL/X11 headers
  xvfb xdotool scrot       # the kiosk window under a virtual display, driven like a person
  sqlite3 curl              # the end-to-end test reads the databases as IT would
  postgresql                # the collector's tests and benchmarks on PostgreSQL
  haproxy                   # several collectors behind a load balancer (make scale-demo, bench's scale-out test)
  chromium fonts-liberation # the HQ dashboard tested in a real browser
  xinit                     # systemd-analyze verify of the kiosk session unit
  tzdata ca-certificates
  patch                     # third_party/fyne: the Fyne patch is checked against the release
  wixl msitools             # the Windows installer's source built and read back (check-packaging)
)

# "scripts/deps.sh package" adds what make package and make package-test need.
if [ "${1:-}" = "package" ]; then
  packages+=(
    lintian debootstrap                       # lint the .debs, install them in a clean root
    reprepro                                  # make repo: the signed apt repository of both packages
    gcc-mingw-w64-x86-64 osslsigncode openssl # the signed Windows build
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static # the arm64 build, run under qemu
  )
  # The arm64 kiosk links the arm64 OpenGL/X11 libraries (Fyne's GLFW): Debian's multiarch
  # installs them beside the amd64 ones, and the arm64 sqlite/ld.so let qemu run the binaries.
  if [ "$(dpkg --print-architecture)" != arm64 ]; then
    arm64=(libc6:arm64 libgl1-mesa-dev:arm64 libx11-dev:arm64 libxcursor-dev:arm64 libxrandr-dev:arm64
      libxinerama-dev:arm64 libxi-dev:arm64 libxxf86vm-dev:arm64 libxext-dev:arm64)
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      echo "deps: adding the arm64 architecture (dpkg multiarch)"
      $sudo dpkg --add-architecture arm64
    fi
    packages+=("${arm64[@]}")
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

go mod download
