#!/usr/bin/env bash
# Install every Debian package wisp's build, tests and benchmarks need.
# Idempotent: quiet and fast when everything is already present.
set -euo pipefail

packages=(
  build-essential            # gcc, make, binutils
  qemu-system-x86            # the test runner (TCG) and the KVM monitor for now
  qemu-utils                 # qemu-img for --format qcow2
  e2fsprogs                  # mke2fs -d, e2fsck, debugfs
  musl-tools                 # musl-gcc for static guest test programs
  cpio                       # reference cpio for tests
  python3-pytest             # system tests
  busybox-static             # a real static program to run
  linux-image-amd64          # the Linux guest baseline in bench/
  lua5.4 sqlite3             # real dynamic programs for the ABI tests
  file
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
