#!/usr/bin/env bash
# Installs every Debian package pvekit needs to build and test. Idempotent and
# non-interactive; run as root (or through sudo) on Debian 12. With --check it
# only says what is missing (exit 1 if anything is).
set -euo pipefail
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

build_packages=(
  cmake g++ ninja-build pkg-config git ccache
  nlohmann-json3-dev libcurl4-openssl-dev libboost-dev libssl-dev
  libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libseccomp-dev libcap-dev libsystemd-dev
  dpkg-dev lld
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
)
test_peers=(
  python3 python3-proxmoxer python3-yaml python3-requests
  wrk openssl curl procps iproute2 tmux
  runc podman containerd busybox-static uidmap man-db
  btrfs-progs criu glpk-utils hyperfine etcd-server prometheus lintian
  qemu-system-x86 qemu-utils debootstrap
  chromium
  ca-certificates tzdata
)
# The dashboard's build runs npm ci (web/package-lock.json). A node and npm
# installed otherwise (NodeSource, nvm) are used as they are; Debian's
# otherwise.
command -v npm >/dev/null 2>&1 || build_packages+=(nodejs npm)

missing=()
for p in "${build_packages[@]}" "${test_peers[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#build_packages[@]} build and ${#test_peers[@]} test packages present"
  exit 0
fi

if [ "$check_only" = 1 ]; then
  echo "setup: ${#missing[@]} packages missing: ${missing[*]}"
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup: ${#missing[@]} packages missing: ${missing[*]}"
echo "setup: installing them with their dependencies (apt-get; 3-10 minutes on a fresh machine)"
started=$(date +%s)
$SUDO apt-get update -qq
# apt's own output reduced to a counter of the packages set up; the whole of
# it is shown when apt-get fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
total=0 done=0 last=-10
status=0
while IFS= read -r line; do
  printf '%s\n' "$line" >>"$log"
  # Upgraded packages are set up too; a package configured twice (a trigger
  # or a dependency cycle) must not take the count past 100 %.
  if [[ $line =~ ^([0-9]+)\ upgraded,\ ([0-9]+)\ newly\ installed ]]; then
    total=$((BASH_REMATCH[1] + BASH_REMATCH[2]))
  elif [[ $line == "Setting up "* ]] && [ "$total" -gt 0 ] && [ "$done" -lt "$total" ]; then
    done=$((done + 1))
    pct=$((done * 100 / total))
    if [ $((pct - last)) -ge 10 ] || [ "$done" = "$total" ]; then
      echo "setup:   set up $done of $total packages ($pct%)"
      last=$pct
    fi
  fi
done < <($SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1; echo "__apt_status=$?")
status=$(sed -n 's/^__apt_status=//p' "$log")
if [ "$status" != 0 ]; then
  grep -v '^__apt_status=' "$log" >&2
  echo "setup: apt-get install failed (exit $status)" >&2
  exit 1
fi
echo "setup: done in $(($(date +%s) - started)) s"
