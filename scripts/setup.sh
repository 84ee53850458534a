#!/usr/bin/env bash
# Installs every Debian package pvekit needs to build and test. Idempotent and
# non-interactive; run as root (or through sudo) on Debian 12.
set -euo pipefail

build_packages=(
  cmake g++ ninja-build pkg-config git ccache
  nlohmann-json3-dev libcurl4-openssl-dev libcpp-httplib-dev libssl-dev
  libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libseccomp-dev libcap-dev libsystemd-dev
  dpkg-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
)
test_peers=(
  python3 python3-proxmoxer python3-yaml python3-requests
  wrk openssl curl procps iproute2 tmux
  runc podman containerd busybox-static uidmap man-db
  btrfs-progs criu glpk-utils hyperfine etcd-server
  qemu-system-x86 qemu-utils debootstrap
)

missing=()
for p in "${build_packages[@]}" "${test_peers[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#build_packages[@]} build and ${#test_peers[@]} test packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
