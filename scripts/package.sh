#!/usr/bin/env bash
# Builds the pvekit .deb: lxcri, proxlb and pvesim with their man pages, bash
# completion, systemd units and default configs, from the CMake install rules.
#
#   scripts/package.sh                  configure and build a Release tree in build/package
#   PVEKIT_BUILD_DIR=DIR scripts/package.sh
#                                       package the programs already built in DIR (no compile)
#   PVEKIT_DEB_DIR=DIR                  where the .deb goes (default: build/)
#   scripts/package.sh --arch arm64     the arm64 .deb, cross-built in build/package-arm64 with
#                                       cmake/toolchains/aarch64-linux-gnu.cmake (scripts/arm64.sh
#                                       installs the cross toolchain); with PVEKIT_BUILD_DIR, that
#                                       tree must hold arm64 programs (the arm64 preset's build/arm64)
#
# Prints the path of the .deb on its last line.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
deb_dir=${PVEKIT_DEB_DIR:-$src/build}

die() {
  echo "package: error: $*" >&2
  exit 1
}

host_arch=$(dpkg --print-architecture)
arch=$host_arch
while [ $# -gt 0 ]; do
  case $1 in
    --arch)
      [ $# -ge 2 ] || die "--arch needs an architecture (amd64 or arm64)"
      arch=$2
      shift 2
      ;;
    *) die "unknown argument '$1' (usage: scripts/package.sh [--arch amd64|arm64])" ;;
  esac
done
# ELF e_machine of each architecture's programs: a tree built for another one
# must not be packaged under this name.
case $arch in
  amd64) elf_machine=62 ;;
  arm64) elf_machine=183 ;;
  *) die "--arch $arch: only amd64 and arm64 are supported" ;;
esac
toolchain=()
if [ "$arch" != "$host_arch" ]; then
  [ "$arch" = arm64 ] || die "--arch $arch: cross builds from $host_arch are set up for arm64 only"
  toolchain=(-DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchains/aarch64-linux-gnu.cmake")
  # dpkg-shlibdeps then reads the arm64 libraries' shlibs and symbols (the
  # :arm64 packages scripts/arm64.sh installs) and uses aarch64-linux-gnu-objdump.
  export DEB_HOST_ARCH=$arch
fi

for tool in cmake dpkg dpkg-deb dpkg-shlibdeps gzip; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian package dpkg-dev; see scripts/setup.sh)"
done

if [ -n "${PVEKIT_BUILD_DIR:-}" ]; then
  build=$(cd "$PVEKIT_BUILD_DIR" && pwd) || die "PVEKIT_BUILD_DIR $PVEKIT_BUILD_DIR: no such directory"
  [ -f "$build/CMakeCache.txt" ] || die "$build is not a configured CMake build directory"
  for program in lxcri proxlb pvesim; do
    [ -x "$build/apps/$program/$program" ] || die "$build/apps/$program/$program is not built"
  done
else
  build=$src/build/package
  if [ "$arch" != "$host_arch" ]; then
    build=$src/build/package-$arch
    command -v aarch64-linux-gnu-g++ >/dev/null ||
      die "aarch64-linux-gnu-g++ not found: scripts/arm64.sh installs the arm64 cross toolchain and libraries"
  fi
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${toolchain[@]}" \
    -DPVEKIT_BUILD_TESTS=OFF -DPVEKIT_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" --target lxcri proxlb pvesim
fi
for program in lxcri proxlb pvesim; do
  machine=$(od -An -tu2 -j18 -N2 "$build/apps/$program/$program" | tr -d ' ')
  [ "$machine" = "$elf_machine" ] ||
    die "$build/apps/$program/$program is not an $arch program (ELF machine $machine, want $elf_machine)"
done

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || die "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"

# dpkg-shlibdeps wants the Debian source layout: debian/control and the
# package's files under debian/<package>.
work=$(mktemp -d "${TMPDIR:-/tmp}/pvekit-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/debian/pvekit

# Every install rule must find its file: a missing man page or config is an
# error here, not a package without it.
DESTDIR=$root cmake --install "$build" --prefix /usr --strip >"$work/install.log" 2>&1 ||
  die "cmake --install failed: $(grep -m1 -i 'error' "$work/install.log" || tail -n 3 "$work/install.log")"
for f in usr/bin/{lxcri,proxlb,pvesim} usr/share/man/man1/{lxcri,proxlb,pvesim}.1 \
  usr/share/bash-completion/completions/{lxcri,proxlb,pvesim} \
  lib/systemd/system/{pvesim.service,proxlb.service} \
  etc/default/pvesim etc/proxlb/proxlb.yaml etc/pvekit/lxcri.json; do
  [ -f "$root/$f" ] || die "/$f was not installed (is $build configured from this tree? run cmake --build $build)"
done
# lxcri's helpers (lib/pvekit, or lib/<multiarch>/pvekit with --prefix /usr at configure).
helpers=$(cd "$root" && find usr/lib -path '*/pvekit/lxcri-*' -type f)
for helper in lxcri-proxmox lxcri-systemd; do
  grep -q "/$helper\$" <<<"$helpers" || die "lxcri's helper $helper was not installed (run cmake --build $build)"
done

# Debian policy: man pages compressed with gzip -9n.
find "$root/usr/share/man" -type f -name '*.[1-9]' -exec gzip -9n {} +

# The compiler's version string (.comment) is not needed at run time; dh_strip
# drops it too. The tree's objcopy, which knows the binaries' architecture.
objcopy=$(sed -n 's/^CMAKE_OBJCOPY:FILEPATH=//p' "$build/CMakeCache.txt")
[ -x "$objcopy" ] || die "no objcopy in $build/CMakeCache.txt (CMAKE_OBJCOPY)"
for binary in usr/bin/lxcri usr/bin/proxlb usr/bin/pvesim $helpers; do
  "$objcopy" --remove-section=.comment "$root/$binary" || die "objcopy could not strip .comment from /$binary"
done

# The changelog's first entry is the package's version and maintainer: the
# one place both are written down.
changelog=$src/packaging/debian/changelog
changelog_version=$(sed -n '1s/^pvekit (\([^)]*\)).*/\1/p' "$changelog")
[ "$changelog_version" = "$version" ] ||
  die "packaging/debian/changelog starts with version '$changelog_version', CMake's project version is $version: add a changelog entry"
maintainer=$(sed -n '0,/^ -- /s/^ -- \(.*>\)  .*/\1/p' "$changelog")
[ -n "$maintainer" ] || die "packaging/debian/changelog: no ' -- Name <address>  date' line"
doc=$root/usr/share/doc/pvekit
install -d "$doc" "$root/usr/share/lintian/overrides"
gzip -9n <"$changelog" >"$doc/changelog.gz"
install -m 0644 "$src/packaging/debian/copyright" "$doc/copyright"
install -m 0644 "$src/packaging/debian/lintian-overrides" "$root/usr/share/lintian/overrides/pvekit"

# Debian policy 7.8: a package that links static archives names their sources
# in Built-Using, so that their source stays available for its licence.
static_archives=$(sed -n 's/^PVEKIT_\(LIBCAP\|LIBSECCOMP\|YAML_CPP\)_ARCHIVE:FILEPATH=//p' "$build/CMakeCache.txt")
# The compiler as CMake found it (a toolchain file's is not in the cache).
compiler=$(sed -n 's/^set(CMAKE_CXX_COMPILER "\(.*\)")$/\1/p' "$build"/CMakeFiles/*/CMakeCXXCompiler.cmake | head -n 1)
[ -x "$compiler" ] || die "no C++ compiler in $build/CMakeFiles/*/CMakeCXXCompiler.cmake"
for archive in libc.a libstdc++.a libgcc.a; do
  static_archives+=" $(readlink -f "$("$compiler" -print-file-name=$archive)")"
done
# An archive from a -dev package unpacked beside the system (the arm64 cross
# build's yaml-cpp, docs/packaging.md "arm64") is named by that package's
# Debian changelog, whose first line is "<source> (<version>) ...".
built_using_sources=()
for archive in $static_archives; do
  owner=$(dpkg -S "$archive" 2>/dev/null | head -n 1 | sed 's/: .*//') || true
  if [ -n "$owner" ]; then
    built_using_sources+=("$(dpkg-query -W -f='${source:Package} (= ${source:Version})' "$owner")")
    continue
  fi
  unpacked_root=${archive%%/usr/lib/*}
  source_line=""
  if [ -n "$unpacked_root" ] && [ "$unpacked_root" != "$archive" ]; then
    for changelog_debian in "$unpacked_root"/usr/share/doc/*/changelog.Debian.gz; do
      [ -f "$changelog_debian" ] && source_line=$(zcat "$changelog_debian" | head -n 1) && break
    done
  fi
  [[ $source_line =~ ^([a-z0-9][a-z0-9+.-]+)\ \(([^\)]+)\) ]] ||
    die "no Debian package owns $archive (linked statically), and no Debian changelog names its source"
  built_using_sources+=("${BASH_REMATCH[1]} (= ${BASH_REMATCH[2]})")
done
built_using=$(printf '%s\n' "${built_using_sources[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

mkdir -p "$root/DEBIAN"
printf 'Source: pvekit\n\nPackage: pvekit\nArchitecture: any\n' >"$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O debian/pvekit/usr/bin/* $(printf 'debian/pvekit/%s ' $helpers) 2>"$work/shlibdeps.log" |
  sed -n 's/^shlibs:Depends=//p') || die "dpkg-shlibdeps failed: $(tail -n 3 "$work/shlibdeps.log")"
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies of the programs"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

cat >"$root/DEBIAN/control" <<EOF
Package: pvekit
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Built-Using: $built_using
Suggests: podman | containerd
Section: admin
Priority: optional
Description: Proxmox VE toolkit: OCI runtime, load balancer, API simulator
 lxcri is an OCI container runtime with runc's command line (podman and
 containerd can use it in runc's place).
 .
 proxlb balances guests across the nodes of a Proxmox VE cluster, with
 ProxLB's configuration layout; proxlb.service runs it as a daemon.
 .
 pvesim simulates a Proxmox VE 9.1 cluster behind the PVE HTTP API, for
 tests, demos and rehearsing proxlb runs.
EOF

(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
# dpkg --verify checks files against md5sums; conffiles have their own sums.
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"

units="pvesim.service proxlb.service"
# Maintainer scripts never start or enable a service: the admin does, after
# writing the config. Under `dpkg --root` (DPKG_ROOT set) they leave the
# running system alone. Units are restarted and stopped through
# deb-systemd-invoke (init-system-helpers, essential), which honours
# policy-rc.d in chroots and image builds.
cat >"$root/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ] && [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
  # On upgrade, a pvesim or proxlb the admin started runs the new binary; a stopped one stays stopped.
  if [ -n "\$2" ]; then
    deb-systemd-invoke try-restart $units >/dev/null || true
  fi
fi
EOF
cat >"$root/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop $units >/dev/null 2>&1 || true
fi
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # Links left by `systemctl enable`, which the admin may have run.
  rm -f "${DPKG_ROOT:-}/etc/systemd/system/multi-user.target.wants/pvesim.service" \
        "${DPKG_ROOT:-}/etc/systemd/system/multi-user.target.wants/proxlb.service"
fi
if { [ "$1" = remove ] || [ "$1" = purge ]; } && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$deb_dir"
deb=$deb_dir/pvekit_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
