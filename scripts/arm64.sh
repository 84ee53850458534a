#!/usr/bin/env bash
# The arm64 build, outside CI (docs/packaging.md, "arm64" says why): installs
# Debian's cross toolchain, the arm64 libraries and qemu-user, cross-builds
# everything with the `arm64` preset (build/arm64), runs the tests labelled
# arm64 under qemu-user (each domain's unit tests and a smoke test of the
# programs) and builds pvekit_<version>_arm64.deb with scripts/package.sh.
# Idempotent; run as root (or through sudo) on Debian 12 amd64.
#
#   scripts/arm64.sh            all of it
#   scripts/arm64.sh --setup    only install what the cross build needs
#
# Extra arguments after the option go to ctest (e.g. -R unit.arm64.core).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/progress.sh

setup_only=0
if [ "${1:-}" = "--setup" ]; then
  setup_only=1
  shift
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# The :arm64 packages co-install with the host's (Multi-Arch: same) and
# header-only or arch-independent ones (nlohmann-json, Boost, CLI11) serve
# both architectures from the host. libyaml-cpp-dev cannot (its arm64 flavour
# would remove the amd64 one): only its runtime library is installed, and the
# -dev package is unpacked into $extra_root, which the toolchain file searches.
arm64_packages=(
  crossbuild-essential-arm64 qemu-user-static
  libcurl4-openssl-dev:arm64 libssl-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64
  libseccomp-dev:arm64 libcap-dev:arm64 libsystemd-dev:arm64
  libgtest-dev:arm64 libgmock-dev:arm64 libyaml-cpp0.7:arm64
)
extra_root=/opt/pvekit-cross/arm64

phase "checking the arm64 cross toolchain and libraries" "seconds; about 2 minutes when it installs them"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi
missing=()
for p in "${arm64_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "arm64: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # --no-remove: never trade a host package for an arm64 one.
  $SUDO apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}" >/dev/null
fi
yaml_version=$(dpkg-query -W -f='${Version}' libyaml-cpp0.7:arm64)
stamp=$extra_root/libyaml-cpp-dev.version
if [ "$(cat "$stamp" 2>/dev/null)" != "$yaml_version" ]; then
  echo "arm64: unpacking libyaml-cpp-dev:arm64 $yaml_version into $extra_root"
  download=$(mktemp -d)
  (cd "$download" && apt-get download -q "libyaml-cpp-dev:arm64=$yaml_version" >/dev/null)
  $SUDO rm -rf "$extra_root"
  $SUDO mkdir -p "$extra_root"
  $SUDO dpkg-deb -x "$download"/libyaml-cpp-dev_*_arm64.deb "$extra_root"
  rm -rf "$download"
  # The unpacked package's links and CMake files name the shared library
  # beside them; it is installed in the multiarch directory.
  for so in /usr/lib/aarch64-linux-gnu/libyaml-cpp.so.*; do
    $SUDO ln -sf "$so" "$extra_root/usr/lib/aarch64-linux-gnu/$(basename "$so")"
  done
  echo "$yaml_version" | $SUDO tee "$stamp" >/dev/null
fi
[ "$setup_only" = 1 ] && exit 0

if [ -f build/arm64/build.ninja ]; then
  phase "configuring" "already configured: cmake reruns itself if needed"
else
  phase "configuring (cmake --preset arm64)" "about 10 s"
  cmake --preset arm64 >/dev/null
fi
phase "cross-building everything for arm64 (2 jobs)" "40 CPU-minutes from scratch: 20+ minutes on 2 idle cores, seconds when up to date"
build_with_progress --preset arm64
phase "running the arm64 tests under qemu-user (ctest -L arm64)" "about 11 minutes, 9.5 of them unit.arm64.balance"
status=0
ctest --preset arm64 "$@" || status=$?
phase "packaging pvekit_<version>_arm64.deb" "seconds"
deb=$(PVEKIT_BUILD_DIR=build/arm64 bash scripts/package.sh --arch arm64 | tail -n 1)
dpkg-deb -f "$deb" Architecture Depends
echo "$deb"
phase_summary "arm64 tests $([ "$status" = 0 ] && echo passed || echo FAILED), package $deb"
exit "$status"
