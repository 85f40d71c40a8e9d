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
  # networking tests and benchmarks (tests/system/test_net_apps.py, bench/net_bench.py):
  # real servers for the guest, and their clients and load generators on the host
  "nginx-light|nginx"        # nginx with the dav module (PUT uploads); Debian 13 has no -light
  redis-server redis-tools   # redis-server; redis-cli and redis-benchmark
  iperf3
  curl
  wrk                        # HTTP load generator
  iproute2                   # ip netns and ip tuntap for the loss/reorder test
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for entry in "${packages[@]}"; do
  # "a|b": any one of them will do; the first this release has is installed.
  IFS='|' read -r -a alts <<< "$entry"
  ok=0
  for p in "${alts[@]}"; do installed "$p" && ok=1 && break; done
  [ $ok -eq 1 ] && continue
  pick=""
  if [ ${#alts[@]} -gt 1 ]; then
    for attempt in 1 2; do
      for p in "${alts[@]}"; do
        if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then pick="$p"; break; fi
      done
      [ -n "$pick" ] && break
      # No package lists yet on a fresh machine: fetch them, then look again.
      [ "$(id -u)" -eq 0 ] && apt-get update -qq >/dev/null 2>&1 || sudo apt-get update -qq >/dev/null 2>&1 || true
    done
  fi
  missing+=("${pick:-${alts[0]}}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
